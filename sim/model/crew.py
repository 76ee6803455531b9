"""Teams that work opening hours and serve one queue of tasks: back-office staff and couriers.

Owns opening windows, the queue (a heap ordered by a key the owner chooses) and matching tasks
to free workers. What a task means, how long it takes and what follows belong to the owner
(:mod:`sim.model.back_office`, :mod:`sim.model.delivery`).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

import simpy

from sim.model.calendar import Opening
from sim.model.events import call_later

__all__ = ["Crew"]

Task = TypeVar("Task", bound=Hashable)
"""What the owner queues (an order id, a (kind, id) pair)."""


class Crew(Generic[Task]):
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
        work: Callable[[Task], float],
        done: Callable[[Task], None],
        horizon: float,
    ):
        self.env, self.size, self.opening = env, size, opening
        self.work, self.done = work, done
        self.idle = size
        self._heap: list[tuple[float, int, Task]] = []
        self._seq = itertools.count()
        if size > 0:
            for t in opening.opens:
                if 0 < t < horizon:
                    call_later(env, t, self._dispatch)

    def submit(self, task: Task, key: float, at: float | None = None) -> None:
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
