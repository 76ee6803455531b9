"""The model's event loop: its own agenda for its timed callbacks, beside SimPy's queue.

Every timed callback of the model (a call's patience, overflow timers, agent releases, staffing
changes, the business flows' events, the streaming reduction's daily tick) goes on the
*agenda* of :class:`ModelEnvironment`: a plain heap of ``(time, seq, fn, value)`` tuples run
as ``fn(time, value)``, put there with :meth:`ModelEnvironment.later` (the router's hot path
pushes its entries itself). None is a SimPy event: a call costs an arrival and two or three
timed events, so their price sets the speed of the model (``benchmarks/bench_events.py``: an
arrival with one follow-up event costs about half as much as on SimPy's queue).

The environment is still a ``simpy.Environment``, so SimPy processes run in it (the model has
none; a study may add one), through SimPy's public API alone: ``Environment.schedule`` puts
their events on SimPy's queue, ``peek`` and ``step`` take them off. Two things join the two
queues into one order:

1. SimPy's next event has a *sentinel* on the agenda, ``(its time, -1, step SimPy, None)``,
   pushed when something is scheduled on SimPy earlier than its next event and after each
   SimPy step, so the loop looks at the agenda's top only; a sentinel whose event another one
   stepped is dropped. A SimPy event due at ``t`` runs before the agenda's entries of ``t``.
2. SimPy's own clock moves only when SimPy steps: it lags during agenda events. Anything
   scheduled on SimPy lands at ``env.now + delay`` of the model's clock: the delay handed to
   ``Environment.schedule`` is corrected so that SimPy's sum is exactly that time (rarely no
   float delay gives it: the event then sits one ulp later, never earlier, and its handlers
   see that time).

At equal times, agenda entries run in the order they were put there; a first call fed by
:meth:`ModelEnvironment.run_feeding` due at ``t`` is handed over after every event due at or
before ``t``, as if it had been scheduled last. ``env.now`` is the time of the event being
handled, whichever source it came from.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from heapq import heappop, heappush
from itertools import count
from typing import Any

import numpy as np
import simpy
from simpy.core import NORMAL

__all__ = ["ModelEnvironment", "run_feeding"]

FEED_CHUNK = 4096  # arrivals converted to Python floats at a time
_END = (math.inf, math.inf, None, None)  # stays at the bottom of the agenda: no empty checks
_SENTINEL_SEQ = -1  # a sentinel of SimPy's next event runs before the agenda's of its time


class ModelEnvironment(simpy.Environment):
    """A SimPy environment whose ``now`` is the model's clock and which runs its agenda too.

    Run it with :meth:`run_feeding` or :meth:`run` (both sources); ``step`` handles the next
    event of either.
    """

    def __init__(self, initial_time: float = 0.0):
        super().__init__(initial_time)
        self.clock = float(initial_time)
        self.agenda: list[tuple] = [_END]
        self.next_seq: Callable[[], int] = count().__next__
        self._simpy_next = math.inf  # the time of SimPy's next event (= peek(), without a call)
        self._simpy_clock = self.clock  # SimPy's clock: the time of the event it stepped last
        self._simpy_due_bound = self._simpy_due

    @property
    def now(self) -> float:
        """The time of the event being handled (SimPy's clock may lag, see the module)."""
        return self.clock

    def later(self, delay: float, fn: Callable[[float, Any], None], value: Any = None) -> None:
        """Put ``fn(time, value)`` on the agenda, ``delay`` seconds from now."""
        heappush(self.agenda, (self.clock + delay, self.next_seq(), fn, value))

    def schedule(self, event, priority=NORMAL, delay=0.0) -> None:
        """SimPy's ``schedule``, at exactly ``now + delay`` of the model's clock."""
        at, behind = self.clock + delay, self._simpy_clock
        delay = at - behind
        if behind + delay != at:  # SimPy adds its (lagging) clock to the delay: correct it
            delay = _delay_landing_at(behind, at, delay)
        super().schedule(event, priority, delay)
        landed = behind + delay  # what SimPy stored, as peek() would say
        if landed < self._simpy_next:
            self._simpy_next = landed
            heappush(self.agenda, (landed, _SENTINEL_SEQ, self._simpy_due_bound, None))

    def _simpy_due(self, at: float, _value) -> None:
        """A sentinel came off the agenda: step SimPy if its next event is due now (others are
        stale: an earlier sentinel stepped that event), then put one for the event after."""
        if at != self._simpy_next:
            return
        self.clock = self._simpy_clock = at
        super().step()
        after = self._simpy_next = self.peek()
        if after < math.inf:
            heappush(self.agenda, (after, _SENTINEL_SEQ, self._simpy_due_bound, None))

    def step(self) -> None:
        """Handle the next event, from the agenda or from SimPy's queue (SimPy's
        ``EmptySchedule`` when there is none)."""
        agenda = self.agenda
        while True:
            at, _, fn, value = agenda[0]
            if at == math.inf:
                raise simpy.core.EmptySchedule()
            heappop(agenda)
            if fn is self._simpy_due_bound and at != self._simpy_next:
                continue  # a stale sentinel is no event
            self.clock = at
            fn(at, value)
            return

    def run(self, until: float | simpy.Event | None = None) -> None:
        """Handle every event due before ``until`` (default: until none is left), then set the
        clock to ``until``. Unlike SimPy's ``run``, ``until`` must be a time."""
        if isinstance(until, simpy.Event):
            raise TypeError("ModelEnvironment.run(until=...) takes a time, not an event")
        end = math.inf if until is None else float(until)  # a number here (not an Event)
        if end <= self.clock:
            raise ValueError(f"until ({end}) must be greater than the current time")
        agenda = self.agenda
        while agenda[0][0] < end:
            at, _, fn, value = heappop(agenda)
            self.clock = at
            fn(at, value)
        if until is not None:
            self.clock = end

    def run_feeding(
        self,
        until: float,
        times: np.ndarray,
        items: np.ndarray | range,
        feed: Callable[[float, Any], None],
    ) -> None:
        """Run to ``until``, calling ``feed(times[i], items[i])`` in turn (``times`` sorted).

        Times become Python floats ``FEED_CHUNK`` at a time, not for the whole horizon at once.
        """
        agenda, pop = self.agenda, heappop
        n = int(np.searchsorted(times, until, side="left"))  # times >= until never come
        for start in range(0, n, FEED_CHUNK):
            chunk = slice(start, min(start + FEED_CHUNK, n))
            chunk_items = items[chunk]
            if isinstance(chunk_items, np.ndarray):
                chunk_items = chunk_items.tolist()
            for t, item in zip(times[chunk].tolist(), chunk_items, strict=True):
                while agenda[0][0] <= t:  # events due at or before t first
                    at, _, fn, value = pop(agenda)
                    self.clock = at
                    fn(at, value)
                self.clock = t
                feed(t, item)
        if until > self.clock:
            self.run(until)


def _delay_landing_at(behind: float, at: float, delay: float) -> float:
    """The least delay whose float sum with ``behind`` is ``at`` or more: exactly ``at`` where
    float addition can give it, else one ulp later, never earlier."""
    while behind + delay > at:
        delay = math.nextafter(delay, -math.inf)
    while behind + delay < at:  # the sum never decreases as the delay grows
        delay = math.nextafter(delay, math.inf)
    return delay


def run_feeding(
    env: ModelEnvironment,
    until: float,
    times: np.ndarray,
    items: np.ndarray | range,
    feed: Callable[[float, Any], None],
) -> None:
    """:meth:`ModelEnvironment.run_feeding` (the entry point of :func:`sim.model.simulate`)."""
    env.run_feeding(until, times, items, feed)
