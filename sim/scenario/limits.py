"""How big a run may be: checked at validation, before anything is allocated.

A run draws every first call of the horizon at once, so a typo (``weekday_factors: {mon:
100001}``) would ask for gigabytes. :func:`expected_calls` is checked against
:data:`MAX_CALLS` (raise it with ``--max-calls``); calls made again (redials, call-backs) are
capped per simulated minute at run time, so a loop that makes no progress in simulated time
stops with a clear error instead of running forever.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

__all__ = ["AGAIN_FACTOR", "AGAIN_FLOOR", "MAX_CALLS", "call_limit", "max_calls"]

MAX_CALLS = 5_000_000
"""Expected first calls in one replication (about 0.6 GB of call records)."""

AGAIN_FACTOR = 20
"""Calls made again (redials, call-backs, complaints) scheduled in one simulated minute may be at
most this many times the average first calls a minute, or :data:`AGAIN_FLOOR`, the larger."""

AGAIN_FLOOR = 5000
"""Calls made again allowed in any simulated minute, however few the first calls."""

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
