"""How big a run or an input may be: checked at validation, before anything is allocated.

Call logs have their own bounds (rows, days, distinct names, durations): see
:mod:`sim.fit.calllog`.

A run draws the number of first calls of the whole horizon before it starts (and a run with
records reserves their rows), so a typo (``weekday_factors: {mon: 100001}``) would ask for
gigabytes. The expected first calls (:func:`sim.scenario.cross_checks.expected_calls`) are
checked against :data:`MAX_CALLS` (raise it with ``--max-calls``); calls made again (redials,
call-backs) are capped at run time per simulated minute and in the run so far, relative to the
first calls, so a loop (no progress in simulated time, or callers who call again faster than
they are served) stops with a clear error instead of running for hours.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

__all__ = [
    "AGAIN_FACTOR",
    "AGAIN_FLOOR",
    "MAX_AGENTS",
    "MAX_CALLS",
    "MAX_CALL_SECONDS",
    "MAX_LOG_DAYS",
    "MAX_LOG_ROWS",
    "MAX_NAMES",
    "MAX_REPLICATIONS",
    "MAX_SLOTS",
    "call_limit",
    "max_calls",
]

MAX_CALLS = 5_000_000
"""Expected first calls in one replication (about 0.6 GB of call records)."""

AGAIN_FACTOR = 20
"""Calls made again (redials, call-backs, complaints) scheduled in one simulated minute may be at
most this many times the average first calls a minute, and in the run so far this many times
the first calls arrived by then; or :data:`AGAIN_FLOOR`, the larger. Real plans stay far below
(the bundled scenarios: under 1.5 calls made again per first call)."""

AGAIN_FLOOR = 5000
"""Calls made again allowed in any simulated minute, and in a run, however few the first calls."""

MAX_REPLICATIONS = 100_000
"""Replications of one scenario or sweep point (a file's ``replications:``, ``--replications``,
``--verify``): a typo of a few zeros must be an error, not a run that never ends."""

MAX_SLOTS = 1_000_000
"""Reporting intervals over the horizon (days x intervals a day): rows of intervals.csv."""

MAX_LOG_ROWS = 10_000_000
"""Rows of one call log: a year of a center taking 27,000 calls a day. Reading holds about 110
bytes a row at its peak plus about 250 MiB (``benchmarks/bench_fit.py --memory``, in
docs/call-log.md), 1.3 GB at the limit; the fit needs a few times that, well inside a 24 GiB
machine, while a 20-million-row log is refused at once instead of running out of memory."""

MAX_LOG_DAYS = 3660
"""Days from a call log's first arrival to its last (ten years): the fit allocates per day and
interval, so a stray date (1900, 2199) must be an error, not gigabytes."""

MAX_NAMES = 1000
"""Distinct call types, customer tiers or agent groups in a call log: each becomes a part of
the fitted model (tiers pairwise), so one distinct value per row must be refused."""

MAX_AGENTS = 100_000
"""Distinct agents in a call log (they are only counted per interval, so more are allowed)."""

MAX_CALL_SECONDS = 86_400.0
"""A wait, handle time or after-call work longer than a day is a bad row, never a number the
fit divides by."""

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
