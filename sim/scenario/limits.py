"""How big a run may be: checked at validation, before anything is allocated.

A run draws every first call of the horizon at once, so a typo (``weekday_factors: {mon:
100001}``) would ask for gigabytes. :func:`expected_calls` is checked against
:data:`MAX_CALLS` (raise it with ``--max-calls``); calls made again (redials, call-backs) are
capped at run time relative to the first calls, so a loop that makes no progress stops.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

__all__ = ["AGAIN_FACTOR", "MAX_CALLS", "call_limit", "max_calls"]

MAX_CALLS = 5_000_000
"""Expected first calls in one replication (about 0.6 GB of call records)."""

AGAIN_FACTOR = 50
"""Calls made again (redials, call-backs, complaints) allowed per expected first call."""

_limit: ContextVar[int] = ContextVar("sim_max_calls", default=MAX_CALLS)


def max_calls() -> int:
    """The current limit on expected first calls per replication."""
    return _limit.get()


@contextlib.contextmanager
def call_limit(limit: int | None) -> Iterator[None]:
    """Use ``limit`` (``--max-calls``) instead of :data:`MAX_CALLS` inside the block."""
    if limit is None:
        yield
        return
    token = _limit.set(int(limit))
    try:
        yield
    finally:
        _limit.reset(token)
