"""Teams that work opening hours and serve one queue of tasks: back-office staff and couriers.

Owns opening windows, the queue (a heap ordered by a key the owner chooses) and matching tasks
to free workers. What a task means, how long it takes and what follows belong to the owner
(:mod:`sim.model.back_office`, :mod:`sim.model.delivery`).

A task submitted for a later time costs an event only if someone may be free to take it then:
it waits on a heap of tasks to come, and the crew keeps one wake-up on the agenda, at the time
the first of them joins, only while a worker is idle and that time is inside the hours. Tasks
that join outside the hours (most back-office work is registered at night or at the weekend,
couriers' orders wait for the morning) are taken in by the next opening's dispatch, and those
that join while everyone is busy by the dispatch of the next worker to finish. The tasks start
at the same moments, in the same order, as with an event for each of them (tested), but at a
tie: a task that joins at the very instant a worker finishes may be seen after the finish.
"""

from __future__ import annotations

import itertools
import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Hashable
from heapq import heappop, heappush
from typing import Generic, TypeVar

from sim.model.calendar import Opening
from sim.model.events import ModelEnvironment

__all__ = ["Crew"]

Task = TypeVar("Task", bound=Hashable)
"""What the owner queues (an order id, a (kind, id) pair)."""


class Crew(Generic[Task]):
    """``size`` workers who, inside their hours, take the queued task with the smallest key.

    Equal keys: the task that joined the queue first (by time, then by submission). A task
    that is running when the hours end is finished (overtime); no task starts outside the
    hours. ``work(task, now)`` is called when a worker takes a task and returns its duration
    in seconds; ``done(task, now)`` is called when it ends. Both are the owner's story. The
    crew's events go on the agenda of the model's environment.
    """

    def __init__(
        self,
        env: ModelEnvironment,
        size: int,
        opening: Opening,
        work: Callable[[Task, float], float],
        done: Callable[[Task, float], None],
        horizon: float,
    ):
        self.env, self.size, self.opening = env, size, opening
        self.work, self.done = work, done
        self.idle = size
        self._agenda, self._next_seq = env.agenda, env.next_seq
        self._queue: list[tuple[float, float, int, Task]] = []  # (key, joined, n, task)
        self._later: list[tuple[float, tuple]] = []  # (joins, its queue entry)
        self._wake_at = math.inf  # the time of the wake-up on the agenda (inf: none)
        self._n = itertools.count().__next__
        self._opens, self._closes = opening.opens, opening.closes
        # open, close, open, ...: an odd number of them below t <=> open < t <= close
        self._bounds = [t for w in zip(opening.opens, opening.closes, strict=True) for t in w]
        self._open_from, self._open_until = math.inf, -math.inf  # the window found last
        if size > 0:
            for t in opening.opens:
                if 0 < t < horizon:
                    heappush(self._agenda, (env.clock + t, self._next_seq(), self._open, None))

    def submit(self, task: Task, key: float, at: float | None = None) -> None:
        """Queue ``task`` (ordered by ``key``) from time ``at`` on (default: now)."""
        now = self.env.clock
        if at is None or at <= now:
            heappush(self._queue, (key, now, self._n(), task))
            self._dispatch(now)
            return
        joins = now + (at - now)  # the time an event after at - now seconds comes, exactly
        heappush(self._later, (joins, (key, joins, self._n(), task)))
        if self.idle and joins < self._wake_at:
            self._wake(joins)

    def __len__(self) -> int:
        """Tasks waiting in the queue (their time has come, nobody has taken them)."""
        self._take_in(self.env.clock)
        return len(self._queue)

    def _take_in(self, now: float) -> None:
        """Move the tasks whose time has come into the queue (in any order: the queue's
        order is total)."""
        later, queue = self._later, self._queue
        while later and later[0][0] <= now:
            heappush(queue, heappop(later)[1])

    def _wake(self, at: float) -> None:
        """A dispatch at ``at``, when the first task to come joins, if that is inside the
        hours (at a close: harmless); else the next opening's dispatch takes it in."""
        if bisect_left(self._bounds, at) & 1:
            self._wake_at = at
            heappush(self._agenda, (at, self._next_seq(), self._woken, None))

    def _woken(self, now: float, _value) -> None:
        if now == self._wake_at:  # else an earlier wake-up took its place
            self._wake_at = math.inf
            self._dispatch(now)

    def _open(self, now: float, _value) -> None:
        self._dispatch(now)

    def _finish(self, now: float, task: Task) -> None:
        self.idle += 1
        self.done(task, now)
        self._dispatch(now)

    def _dispatch(self, now: float) -> None:
        """Free workers take the best tasks whose time has come, if inside the hours; if some
        are still free, a wake-up for the first task to come."""
        if not self.idle:
            return
        later, queue = self._later, self._queue
        if later and later[0][0] <= now:
            self._take_in(now)
        if queue and (self._open_from <= now < self._open_until or self._find_window(now)):
            agenda, next_seq, work, finish = self._agenda, self._next_seq, self.work, self._finish
            while queue:
                task = heappop(queue)[3]
                self.idle -= 1
                heappush(agenda, (now + work(task, now), next_seq(), finish, task))
                if not self.idle:
                    return
        if later and later[0][0] < self._wake_at:
            self._wake(later[0][0])

    def _find_window(self, now: float) -> bool:
        """Whether ``now`` is inside the hours (the window found is kept for the next time)."""
        i = bisect_right(self._opens, now) - 1
        if i < 0 or now >= self._closes[i]:
            return False
        self._open_from, self._open_until = self._opens[i], self._closes[i]
        return True
