"""The model's event loop: SimPy's event queue, plus an agenda for the calls' own events.

A call costs an arrival and two or three timed events (patience, overflow timer, agent
release), so their price sets the speed of the model. Those timed events never become SimPy
events: :class:`ModelEnvironment` keeps them on its *agenda*, a plain heap of
``(time, seq, fn, value)`` tuples run as ``fn(time, value)`` (the router and the callers push
onto it with :meth:`ModelEnvironment.later` or directly; so do the business flows, through
:mod:`sim.model.schedule`). The rest (staffing changes, any SimPy process) is scheduled on SimPy
through its public API (``Environment.schedule``; :func:`call_later` for a callback) and runs
in ``Environment.step``.
``benchmarks/bench_events.py`` times the loop alone: an arrival with one follow-up event costs
about twice as much with that event on SimPy as with it on the agenda.

:meth:`ModelEnvironment.run_feeding` merges three sorted sources: the first calls, drawn in
advance (never on a heap), the agenda, and SimPy's queue (``peek``, ``step``). SimPy's next
event has a *sentinel* on the agenda, ``(its time, -1, step SimPy, None)``, pushed when
something is scheduled on SimPy earlier than its next event and after each SimPy step, so the
loop looks at the agenda's top only (3 % of an M/M/50+M run went to asking SimPy's queue at
every event); a sentinel whose event another one stepped is dropped. The order is SimPy's own
contract, (time, then the order of scheduling), over all of them:

1. Agenda entries and :func:`call_later` events take their sequence numbers from one counter.
   At equal times, a :func:`call_later` event first runs the agenda entries scheduled before
   it, so events run in scheduling order whichever source holds them (what one SimPy queue did).
2. Events put on SimPy any other way (a ``Timeout``, a ``Process``) carry no sequence number:
   they run before the agenda entries of their time.
3. A first call due at ``t`` is handed over after every event due at or before ``t``, as if it
   had been scheduled last.

The clock: ``env.now`` is the time of the event being handled, whichever source it came from.
SimPy's own clock moves only when SimPy steps, so it lags during agenda events; it is never
written. Anything scheduled on SimPy lands at ``env.now + delay`` of the model's clock: the
delay handed to ``Environment.schedule`` is corrected so that SimPy's sum is exactly that time.
So code run from an agenda event (a handled call creating an order) and SimPy processes see
the same, correct time. Rarely no float delay gives it (SimPy's clock has bits finer than the
time's spacing and the sum ties: about 1 in 30 when SimPy's clock lags by days, 1 in 200,000
by minutes): the event then sits one ulp later on SimPy's queue, never earlier, and a
:func:`call_later` handler still sees its exact time; only an agenda entry of that very time
scheduled after it could run first.
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

__all__ = ["ModelEnvironment", "call_later", "run_feeding"]

FEED_CHUNK = 4096  # arrivals converted to Python floats at a time
_END = (math.inf, math.inf, None, None)  # stays at the bottom of the agenda: no empty checks
_SENTINEL_SEQ = -1  # a sentinel of SimPy's next event runs before the agenda's of its time
_simpy_schedule = simpy.Environment.schedule
_simpy_step = simpy.Environment.step


class _Callback:
    """A SimPy-compatible event that is already triggered and runs ``fn(self)`` in order."""

    __slots__ = ("at", "callbacks", "fn", "seq", "value")
    _ok = True  # it never fails (a class attribute: one write less per event)

    def __init__(self, run, fn: Callable[[Any], None], value: Any, at: float, seq: int):
        self.callbacks = [run]
        self.fn, self.value, self.at, self.seq = fn, value, at, seq


class ModelEnvironment(simpy.Environment):
    """A SimPy environment whose ``now`` is the model's clock and which runs the agenda too.

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
        self._stepping = False  # SimPy is handling an event (its sentinels wait, see _simpy_due)
        self._run_callback_bound = self._run_callback
        self._simpy_due_bound = self._simpy_due

    @property
    def now(self) -> float:
        """The time of the event being handled (SimPy's clock may lag, see the module)."""
        return self.clock

    def schedule(self, event, priority=NORMAL, delay=0.0) -> None:
        """SimPy's ``schedule``, at exactly ``now + delay`` of the model's clock."""
        self._schedule_at(event, priority, self.clock + delay)

    def _schedule_at(self, event, priority, at: float) -> None:
        behind = self._simpy_clock
        delay = at - behind
        if behind + delay != at:  # SimPy adds its (lagging) clock to the delay: correct it
            delay = _delay_landing_at(behind, at, delay)
        _simpy_schedule(self, event, priority, delay)
        landed = behind + delay  # what SimPy stored, as peek() would say
        if landed < self._simpy_next:
            self._simpy_next = landed
            heappush(self.agenda, (landed, _SENTINEL_SEQ, self._simpy_due_bound, None))

    def _simpy_due(self, at: float, _value) -> None:
        """A sentinel came off the agenda: step SimPy if its next event is due now. Others are
        stale (an earlier sentinel stepped that event) or met while SimPy steps (the drain of
        rule 1): dropped, since every step leaves a sentinel for SimPy's next event."""
        if at == self._simpy_next and not self._stepping:
            self._step_simpy()

    def _step_simpy(self) -> None:
        """SimPy's next event is due: step it, then put a sentinel for the one after."""
        self.clock = self._simpy_clock = self._simpy_next
        self._stepping = True
        try:
            _simpy_step(self)
        finally:
            self._stepping = False
        after = self._simpy_next = self.peek()
        if after < math.inf:
            heappush(self.agenda, (after, _SENTINEL_SEQ, self._simpy_due_bound, None))

    def later(self, delay: float, fn: Callable[[float, Any], None], value: Any = None) -> None:
        """Put ``fn(time, value)`` on the agenda, ``delay`` seconds from now."""
        heappush(self.agenda, (self.clock + delay, self.next_seq(), fn, value))

    def _run_callback(self, event: _Callback) -> None:
        """SimPy runs a :func:`call_later` event: first the agenda entries of its time that
        were scheduled before it (rule 1), then its function."""
        agenda, at = self.agenda, event.at
        if agenda[0][0] <= at:  # rare: a tie (or an event one ulp late, _delay_landing_at)
            key = (at, event.seq)
            while agenda[0] < key:  # (time, seq) decide; fn is never compared (seq is unique)
                t, _, fn, value = heappop(agenda)
                self.clock = t
                fn(t, value)
        self.clock = at
        event.fn(event)

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
                while agenda[0][0] <= t:  # events due at or before t first (rule 3)
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


def call_later(
    env: simpy.Environment, delay: float, fn: Callable[[Any], None], value: Any = None
) -> None:
    """On SimPy: call ``fn(event)`` after ``delay`` seconds, with ``event.value`` = ``value``.

    The event is a slotted object that is already triggered (``Environment.step`` needs no more
    of an event than ``callbacks`` and ``_ok``), a third of the cost of a ``Timeout``. On a
    :class:`ModelEnvironment` it keeps its place in the order of the agenda's entries (rule 1);
    a plain ``simpy.Environment`` runs it as SimPy orders it.
    """
    if not isinstance(env, ModelEnvironment):
        at = env.now + delay
        env.schedule(_Callback(fn, fn, value, at, -1), NORMAL, delay)  # type: ignore[arg-type]
        return
    at = env.clock + delay
    event = _Callback(env._run_callback_bound, fn, value, at, env.next_seq())
    env._schedule_at(event, NORMAL, at)


def run_feeding(
    env: ModelEnvironment,
    until: float,
    times: np.ndarray,
    items: np.ndarray | range,
    feed: Callable[[float, Any], None],
) -> None:
    """:meth:`ModelEnvironment.run_feeding` (the entry point of :func:`sim.model.simulate`)."""
    env.run_feeding(until, times, items, feed)
