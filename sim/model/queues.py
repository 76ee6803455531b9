"""The waiting calls: one FIFO queue per (call type, tier), indexed per agent group.

A free agent takes, among the queues its group serves, the head with the best (tier priority,
queue entry), skipping heads that may reach the group only after a wait they have not yet
waited. Scanning every queue a group serves makes that cost grow with the number of call
types (one general group overflowing 200 types). Instead the group's queues are split into
classes of equal (tier priority, wait before this group); each class keeps its non-empty
queues in a heap by head entry time. Within a class the oldest head is the only candidate:
if it has not waited long enough, nobody younger has. So a pick looks at one head per class
(a handful), whatever the number of queues. A group that serves a single queue (a team of
specialists, one tier) needs no heap: its pick is that queue's head.

Heads change without the heaps being told (a call answered elsewhere or abandoned is removed
lazily, when it reaches the head; a pick pops a head): a heap entry may carry an older entry
time than its queue's head has now, never a younger one, because a queue is appended to in
entry-time order. Such an entry is corrected when it reaches the top of its heap, so the
corrected top is always the true oldest head of its class.
"""

from __future__ import annotations

from collections import deque
from heapq import heapify, heappop, heappush, heapreplace

from sim.records.calls import Outcome

__all__ = ["WAITING", "QueueIndex"]

WAITING = int(Outcome.WAITING)  # the outcome of a call while it sits in a queue


class QueueIndex:
    """The queues and, per group, the heaps of its non-empty queues.

    Parameters
    ----------
    n_queues : number of queues (call types x tiers).
    serves : per group, the queues it serves as ``(queue, after, tier priority, step)``, in
        the order that breaks ties (the first listed wins between equal heads); ``step`` is
        the route step whose wait :meth:`open_steps` may lift (0: none).
    outcome, entry : the call log's columns; a queued call is alive while its outcome is
        ``WAITING``, and ``entry[cid]`` is when it joined its queue.
    pending : a one-item list counting work that waits for agents (the agent pool's), kept
        up to date with the calls waiting here.

    The index also keeps the number of calls waiting and its integral over time (the
    queue-length figures): :meth:`append` and :meth:`pick` count the calls they add and take,
    :meth:`left` those that leave otherwise, :meth:`level` reads both, :meth:`size` the first.
    """

    def __init__(
        self,
        n_queues: int,
        serves: list[list[tuple[int, float, int, int]]],
        outcome,
        entry,
        pending: list[int] | None = None,
    ):
        self.queues: list[deque] = [deque() for _ in range(n_queues)]
        self._outcome, self._entry, self._serves = outcome, entry, serves
        # per group: classes (priority, after, heap of [head entry, position, queue])
        self._classes: list[list[tuple[int, float, list]]] = []
        # per queue: the (class heap, its group's listed flags, position) it is listed under
        self._members: list[list[tuple[list, list[bool], int]]] = []
        self._listed: list[list[bool]] = []  # per group, per position: has a heap entry
        # per group serving one queue: that queue and its wait (no heap: its head is the pick)
        self._single: list[tuple[deque, float] | None] = []
        self.open_steps([])
        self.append, self.pick, self.left, self.level, self.size = self._hot_path(
            [0] if pending is None else pending
        )

    def open_steps(self, step_open: list[bool]) -> None:
        """Steps whose wait is lifted (``step_open[step]``): their queues take calls at once.

        Rebuilds the classes and heaps (rare: when a group's on-duty count crosses zero), in
        place: :meth:`append` and :meth:`pick` hold these lists.
        """
        classes: list[list[tuple[int, float, list]]] = []
        members: list[list[tuple[list, list[bool], int]]] = [[] for _ in self.queues]
        listed_all: list[list[bool]] = []
        single: list[tuple[deque, float] | None] = []
        for served in self._serves:
            heaps: dict[tuple[int, float], list] = {}
            listed = [False] * len(served)
            listed_all.append(listed)
            if len(served) == 1:
                q, after, _, step = served[0]
                lifted = step < len(step_open) and step_open[step]
                single.append((self.queues[q], 0.0 if lifted else after))
                classes.append([])
                continue
            single.append(None)
            for pos, (q, after, prio, step) in enumerate(served):
                lifted = step < len(step_open) and step_open[step]
                heap = heaps.setdefault((prio, 0.0 if lifted else after), [])
                members[q].append((heap, listed, pos))
                queue = self.queues[q]
                if queue:  # a dead head's entry is older than the live one: fixed lazily
                    heap.append([self._entry[queue[0]], pos, q])
                    listed[pos] = True
            for heap in heaps.values():
                heapify(heap)
            classes.append([(prio, after, heap) for (prio, after), heap in heaps.items()])
        self._classes[:], self._members[:] = classes, members
        self._listed[:], self._single[:] = listed_all, single

    def _hot_path(self, pending: list[int]):
        """``append``, ``pick``, ``left`` and ``level`` as closures: cell reads, not
        attribute reads, per call; the count and its integral are cells they share."""
        queues, outcome, entry = self.queues, self._outcome, self._entry
        classes, members = self._classes, self._members
        listed_all, single = self._listed, self._single
        waiting, area, last = 0, 0.0, 0.0  # calls waiting, its time integral, counted up to

        def left(now: float, delta: int = -1) -> None:
            """``-delta`` calls left the queues at ``now`` other than by :meth:`pick`
            (abandoned, cut off, taken at an overflow step); 0: the integral up to ``now``;
            +1: a call waits outside the queues (held for its tier's answer delay)."""
            nonlocal waiting, area, last
            area += waiting * (now - last)
            last = now
            waiting += delta
            pending[0] += delta

        def level(now: float) -> tuple[int, float]:
            """The calls waiting at ``now`` and the integral of their number up to ``now``
            (counted up to ``now``: the same sums, in the same order, for any reader)."""
            left(now, 0)
            return waiting, area

        def size() -> int:
            """The calls waiting now."""
            return waiting

        def append(q: int, cid: int, now: float) -> None:
            """``cid`` joins queue ``q`` at ``now`` (its entry time, the latest of the queue)."""
            nonlocal waiting, area, last
            area += waiting * (now - last)
            last = now
            waiting += 1
            pending[0] += 1
            queue = queues[q]
            if not queue:  # empty: it becomes a candidate of every group serving it
                t_in = entry[cid]
                for heap, listed, pos in members[q]:
                    if not listed[pos]:
                        listed[pos] = True
                        heappush(heap, [t_in, pos, q])
            queue.append(cid)

        def pick(g: int, now: float) -> int | None:
            """Remove and return the best waiting call group ``g`` may take now, or None."""
            nonlocal waiting, area, last
            one = single[g]
            if one is not None:  # a group serving one queue: its head, once it may take it
                best, after = one
                while best and outcome[best[0]] != WAITING:
                    best.popleft()  # answered elsewhere or abandoned: lazy removal
                if not best or (after and now - entry[best[0]] < after):
                    return None
            else:
                best = None  # the best head's queue, then its tier priority, entry time, position
                best_prio = best_t = best_pos = 0
                for prio, after, heap in classes[g]:
                    while heap:  # bring the class's true oldest head to the top
                        top = heap[0]
                        queue = queues[top[2]]
                        while queue and outcome[queue[0]] != WAITING:
                            queue.popleft()  # answered elsewhere or abandoned: lazy removal
                        if not queue:
                            heappop(heap)
                            listed_all[g][top[1]] = False
                            continue
                        t_in = entry[queue[0]]
                        if t_in == top[0]:
                            break
                        top[0] = t_in  # stale: its head left since; sift it down, look again
                        if len(heap) > 1:
                            heapreplace(heap, top)
                    else:
                        continue  # no queue of this class has a call
                    if after and now - t_in < after:
                        continue  # FIFO: if the oldest head may not overflow yet, nobody may
                    if best is None or (prio, t_in, top[1]) < (best_prio, best_t, best_pos):
                        best, best_prio, best_t, best_pos = queue, prio, t_in, top[1]
                # the popped head's heap entries are now stale (older than the new head): lazily
                if best is None:
                    return None
            area += waiting * (now - last)
            last = now
            waiting -= 1
            pending[0] -= 1
            return best.popleft()

        return append, pick, left, level, size

    def drain(self, q: int) -> list[int]:
        """Empty queue ``q``: every call id in it (alive or not yet removed)."""
        queue = self.queues[q]
        cids = list(queue)
        queue.clear()  # its heap entries find it empty and drop out lazily
        return cids

    def queued(self):
        """Every call id still in a queue (alive or not yet removed)."""
        for queue in self.queues:
            yield from queue
