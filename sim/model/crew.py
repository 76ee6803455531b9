"""Teams that work opening hours and serve one queue of tasks: back-office staff and couriers.

Owns opening windows, the queue (a heap ordered by a key the owner chooses) and matching tasks
to free workers. What a task means, how long it takes and what follows belong to the owner
(:mod:`sim.model.back_office`, :mod:`sim.model.delivery`).
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
from collections.abc import Callable, Hashable

import numpy as np
import simpy

from sim.model.events import call_later
from sim.scenario.schema import Hours
from sim.scenario.units import DAY, WEEKDAYS

__all__ = ["Crew", "Opening"]


class Opening:
    """When a team works: sorted, disjoint windows ``[open, close)`` over the horizon, seconds."""

    def __init__(self, opens: list[float], closes: list[float]):
        self.opens, self.closes = opens, closes

    @classmethod
    def from_hours(cls, hours: Hours | None, start_weekday: str, days: int) -> Opening:
        """Windows of ``hours`` for days ``-1 .. days`` (day -1 may run past midnight)."""
        if hours is None:
            hours = Hours()
        first = WEEKDAYS.index(start_weekday)
        windows = []
        for d in range(-1, days + 1):
            if hours.days is None or WEEKDAYS[(first + d) % 7] in hours.days:
                start = d * DAY + hours.start_s
                windows.append([start, start + hours.length_s])
        merged: list[list[float]] = []
        for w in windows:
            if merged and w[0] <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], w[1])
            else:
                merged.append(w)
        return cls([max(w[0], 0.0) for w in merged], [w[1] for w in merged])

    def next_open(self, t: float) -> float:
        """The first time >= ``t`` inside the hours (inf if none is left)."""
        i = bisect.bisect_right(self.opens, t) - 1
        if i >= 0 and t < self.closes[i]:
            return t
        return self.opens[i + 1] if i + 1 < len(self.opens) else math.inf

    def is_open(self, t: float) -> bool:
        return self.next_open(t) == t

    def open_time(self, edges: np.ndarray) -> np.ndarray:
        """Seconds inside the hours in each bin ``[edges[k], edges[k+1])``."""
        opens, closes = np.asarray(self.opens), np.asarray(self.closes)
        lo = np.maximum(opens[None, :], edges[:-1, None])
        hi = np.minimum(closes[None, :], edges[1:, None])
        return np.clip(hi - lo, 0.0, None).sum(axis=1)


class Crew:
    """``size`` workers who, inside their hours, take the queued task with the smallest key.

    A task that is running when the hours end is finished (overtime); no task starts outside
    the hours. ``work(task)`` is called when a worker takes a task and returns its duration in
    seconds; ``done(task)`` is called when it ends. Both are the owner's story.
    """

    def __init__(
        self,
        env: simpy.Environment,
        size: int,
        opening: Opening,
        work: Callable[[Hashable], float],
        done: Callable[[Hashable], None],
        horizon: float,
    ):
        self.env, self.size, self.opening = env, size, opening
        self.work, self.done = work, done
        self.idle = size
        self._heap: list = []
        self._seq = itertools.count()
        if size > 0:
            for t in opening.opens:
                if 0 < t < horizon:
                    call_later(env, t, self._dispatch)

    def submit(self, task: Hashable, key: float, at: float | None = None) -> None:
        """Queue ``task`` (ordered by ``key``, then by submission) from time ``at`` on."""
        now = self.env.now
        if at is not None and at > now:
            call_later(self.env, at - now, self._arrive, (task, key))
            return
        heapq.heappush(self._heap, (key, next(self._seq), task))
        self._dispatch()

    def __len__(self) -> int:
        """Tasks waiting in the queue."""
        return len(self._heap)

    def _arrive(self, event) -> None:
        task, key = event.value
        self.submit(task, key)

    def _dispatch(self, _event=None) -> None:
        if not self.idle or not self._heap or not self.opening.is_open(self.env.now):
            return
        while self.idle and self._heap:
            _, _, task = heapq.heappop(self._heap)
            self.idle -= 1
            call_later(self.env, self.work(task), self._finish, task)

    def _finish(self, event) -> None:
        self.idle += 1
        self.done(event.value)
        self._dispatch()
