"""Cheap SimPy events for the per-call hot path, and a run loop that feeds pre-drawn arrivals.

A call costs two or three events (arrival, patience, agent release), so their price sets the
speed of the model. SimPy's ``Environment.step`` pops ``(time, priority, id, event)`` from
``env._queue`` and calls each of ``event.callbacks`` with the event; an event needs nothing
more than ``callbacks``, ``_ok`` and ``_value``. :func:`call_later` schedules such a slotted
object directly (a third of the cost of a ``Timeout``), and :func:`run_feeding` delivers the
first calls, drawn in advance and sorted, without putting them on the heap at all. Both rely
on SimPy 4's scheduling contract, pinned in ``pyproject.toml``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from heapq import heappush
from typing import Any

import simpy
from simpy.core import NORMAL

__all__ = ["call_later", "run_feeding"]


class _Callback:
    """A SimPy-compatible event that is already triggered and runs one callback."""

    __slots__ = ("_ok", "_value", "callbacks")

    def __init__(self, fn: Callable[[Any], None], value: Any):
        self.callbacks = [fn]
        self._ok = True
        self._value = value


def call_later(
    env: simpy.Environment, delay: float, fn: Callable[[Any], None], value: Any = None
) -> None:
    """Call ``fn(event)`` after ``delay`` seconds, with ``event._value`` set to ``value``."""
    heappush(env._queue, (env._now + delay, NORMAL, next(env._eid), _Callback(fn, value)))


def run_feeding(
    env: simpy.Environment,
    until: float,
    times: Sequence[float],
    items: Sequence[Any],
    feed: Callable[[Any], None],
) -> None:
    """Run to ``until``, handing ``items[i]`` to ``feed`` at ``times[i]`` (sorted).

    Events due at or before an item's time are processed first, exactly as if the item had
    been a scheduled event; the clock is then set to the item's time.
    """
    queue, step = env._queue, env.step
    for t, item in zip(times, items, strict=True):
        if t >= until:
            break
        while queue and queue[0][0] <= t:
            step()
        env._now = t
        feed(item)
    if env.now < until:
        env.run(until=until)
