"""The one scheduling helper of the model, on SimPy's public API, and the arrival feeder.

A call costs two or three events (arrival, patience, agent release), so their price sets the
speed of the model. :func:`call_later` hands SimPy (``Environment.schedule``) a slotted event
that is already triggered and runs one callback: ``Environment.step`` needs nothing more of an
event than ``callbacks`` and ``_ok`` (it reads ``_value`` only for a failed one), and this costs
a third of a ``Timeout``. The callback reads its argument from ``event.value``.

:func:`run_feeding` delivers the first calls, drawn in advance and sorted, without putting
them on the heap at all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import simpy
from simpy.core import NORMAL

__all__ = ["call_later", "run_feeding"]

FEED_CHUNK = 4096  # arrivals converted to Python floats at a time


class _Callback:
    """A SimPy-compatible event that is already triggered and runs ``fn(self)``."""

    __slots__ = ("callbacks", "value")
    _ok = True  # it never fails (a class attribute: one write less per event)

    def __init__(self, fn: Callable[[Any], None], value: Any):
        self.callbacks = [fn]
        self.value = value


def call_later(
    env: simpy.Environment, delay: float, fn: Callable[[Any], None], value: Any = None
) -> None:
    """Call ``fn(event)`` after ``delay`` seconds, with ``event.value`` set to ``value``."""
    env.schedule(_Callback(fn, value), NORMAL, delay)  # type: ignore[arg-type]  # duck-typed


def run_feeding(
    env: simpy.Environment,
    until: float,
    times: np.ndarray,
    items: np.ndarray,
    feed: Callable[[Any], None],
) -> None:
    """Run to ``until``, handing ``items[i]`` to ``feed`` at ``times[i]`` (sorted arrays).

    Events due at or before an item's time are processed first (``peek``, ``step``), exactly as
    if the item had been a scheduled event; then the clock is set to the item's time. That one
    write of ``env._now`` is the only SimPy internal the model writes (the router reads the
    clock as ``env._now`` too, sparing a property call per access): SimPy can advance its clock
    only by popping an event, and an event per arrival made the whole model 1.47x slower on
    M/M/50+M (``benchmarks/bench_events.py`` measures the feeding alone). Times become Python
    floats ``FEED_CHUNK`` at a time, not for the whole horizon at once.
    """
    peek, step = env.peek, env.step
    n = int(np.searchsorted(times, until, side="left"))  # times >= until never come
    for start in range(0, n, FEED_CHUNK):
        chunk = slice(start, min(start + FEED_CHUNK, n))
        for t, item in zip(times[chunk].tolist(), items[chunk].tolist(), strict=True):
            while peek() <= t:
                step()
            env._now = t
            feed(item)
    env.run(until=until)
