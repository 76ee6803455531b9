"""Callbacks at a later time for the business flows, on the cheapest queue the model offers.

``schedule = scheduler(env)``, then ``schedule(delay, fn, value)`` calls ``fn(time, value)``
``delay`` seconds from now (``time`` is the clock then). Where the environment keeps an agenda
of its own (``env.later``, the calls' cheap event queue) the flows use it; else SimPy, through
:func:`sim.model.events.call_later`. Both run events in the order SimPy would (time, then the
order of scheduling), so the choice changes no result, only the cost of an event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import simpy

from sim.model.events import call_later

__all__ = ["Schedule", "scheduler"]

Schedule = Callable[[float, Callable[[float, Any], None], Any], None]
"""``schedule(delay, fn, value)``: ``fn(time, value)`` after ``delay`` seconds."""


def scheduler(env: simpy.Environment) -> Schedule:
    """The ``schedule`` of ``env`` (see the module)."""
    later = getattr(env, "later", None)
    if later is not None:
        return later

    def run(event) -> None:
        fn, value = event.value
        fn(env.now, value)

    def schedule(delay: float, fn: Callable[[float, Any], None], value: Any = None) -> None:
        call_later(env, delay, run, (fn, value))

    return schedule
