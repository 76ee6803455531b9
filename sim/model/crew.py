"""Teams that work opening hours and serve one queue of tasks: back-office staff and couriers.

Owns opening windows, the queue (a heap ordered by a key the owner chooses) and matching tasks
to free workers. What a task means, how long it takes and what follows belong to the owner
(:mod:`sim.model.back_office`, :mod:`sim.model.delivery`).

A task submitted for a later time that falls outside the hours, or at the very moment they
open, costs no event: nobody can take it before the next opening, whose dispatch moves it into
the queue. Most back-office work is registered at night or at the weekend, and couriers' orders
wait for the morning, so this spares about half the events of the crews.
"""

from __future__ import annotations

import itertools
import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Hashable
from heapq import heappop, heappush
from typing import Generic, TypeVar

import simpy

from sim.model.calendar import Opening
from sim.model.schedule import scheduler

__all__ = ["Crew"]

Task = TypeVar("Task", bound=Hashable)
"""What the owner queues (an order id, a (kind, id) pair)."""


class Crew(Generic[Task]):
    """``size`` workers who, inside their hours, take the queued task with the smallest key.

    Equal keys: the task that joined the queue first (by time, then by submission). A task
    that is running when the hours end is finished (overtime); no task starts outside the
    hours. ``work(task, now)`` is called when a worker takes a task and returns its duration
    in seconds; ``done(task, now)`` is called when it ends. Both are the owner's story.
    """

    def __init__(
        self,
        env: simpy.Environment,
        size: int,
        opening: Opening,
        work: Callable[[Task, float], float],
        done: Callable[[Task, float], None],
        horizon: float,
    ):
        self.env, self.size, self.opening = env, size, opening
        self.work, self.done = work, done
        self.idle = size
        self._schedule = scheduler(env)
        self._queue: list[tuple[float, float, int, Task]] = []  # (key, joined, n, task)
        self._later: list[tuple[float, tuple]] = []  # (joins, its queue entry)
        self._n = itertools.count().__next__
        self._opens, self._closes = opening.opens, opening.closes
        # open, close, open, ...: an odd number of them below t <=> open < t <= close
        self._bounds = [t for w in zip(opening.opens, opening.closes, strict=True) for t in w]
        self._open_from, self._open_until = math.inf, -math.inf  # the window found last
        if size > 0:
            for t in opening.opens:
                if 0 < t < horizon:
                    self._schedule(t, self._open, None)

    def submit(self, task: Task, key: float, at: float | None = None) -> None:
        """Queue ``task`` (ordered by ``key``) from time ``at`` on (default: now)."""
        now = self.env.now
        if at is None or at <= now:
            heappush(self._queue, (key, now, self._n(), task))
            self._dispatch(now)
            return
        joins = now + (at - now)  # the time an event after at - now seconds comes, exactly
        if bisect_left(self._bounds, joins) & 1:  # inside the hours (or at a close: harmless)
            self._schedule(at - now, self._join, (key, joins, self._n(), task))
        else:  # before the hours open, or at the very opening: the opening's dispatch takes it
            heappush(self._later, (joins, (key, joins, self._n(), task)))

    def __len__(self) -> int:
        """Tasks waiting in the queue (their time has come, nobody has taken them)."""
        self._take_in(self.env.now)
        return len(self._queue)

    def _take_in(self, now: float) -> None:
        """Move the tasks whose time has come into the queue (in any order: the queue's
        order is total)."""
        later, queue = self._later, self._queue
        while later and later[0][0] <= now:
            heappush(queue, heappop(later)[1])

    def _open(self, now: float, _value) -> None:
        self._dispatch(now)

    def _join(self, now: float, entry: tuple[float, float, int, Task]) -> None:
        heappush(self._queue, entry)
        self._dispatch(now)

    def _finish(self, now: float, task: Task) -> None:
        self.idle += 1
        self.done(task, now)
        self._dispatch(now)

    def _dispatch(self, now: float) -> None:
        """Free workers take the best tasks whose time has come, if inside the hours."""
        if not self.idle:
            return
        if self._later and self._later[0][0] <= now:
            self._take_in(now)
        queue = self._queue
        if not queue:
            return
        if not self._open_from <= now < self._open_until:
            i = bisect_right(self._opens, now) - 1
            if i < 0 or now >= self._closes[i]:
                return
            self._open_from, self._open_until = self._opens[i], self._closes[i]
        schedule, work, finish = self._schedule, self.work, self._finish
        while self.idle and queue:
            task = heappop(queue)[3]
            self.idle -= 1
            schedule(work(task, now), finish, task)
