"""The agents: who is on duty, who is free, and the one path by which work ends on an agent.

An agent belongs to one group. It is free (on its group's stack of free agents) or holds one
piece of work. Work starts on an agent through a work source (:class:`WorkSource`; the call
queues of :class:`~sim.model.contact_center.ContactCenter` today), which writes its records
and puts the end of the work on the agenda as ``(end, seq, pool.release, agent)``; when it
comes, :meth:`AgentPool.release` frees the agent: it leaves if its shift is over, else it
asks the work sources of its group, in their order, for its next piece of work, else it waits
on the free stack. Which free agent takes an arriving piece of work is the routing policy's
choice (:mod:`sim.model.routing`), made through :attr:`AgentPool.free` and
:attr:`AgentPool.free_since`.

Adding a kind of work that agents take when they free up (a call-back queue, an e-mail
backlog) is a new :class:`WorkSource` handed to :meth:`AgentPool.add_source`, not an edit of
the pool or the router.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from sim.records.staff import StaffLog

__all__ = ["AgentPool", "WorkSource"]


class WorkSource(Protocol):
    """Work that waits for a free agent. The source adds the items it holds and removes to
    :attr:`AgentPool.pending` (while that is 0, a freed agent asks no source).
    ``take(g, now)`` removes and returns the best item group ``g`` may take now, or None;
    ``begin(now, item, g, agent)`` starts it on ``agent``: the source writes its records and
    pushes ``(end, seq, pool.release, agent)`` onto the agenda."""

    take: Callable[[int, float], int | None]
    begin: Callable[[float, int, int, int], None]


class AgentPool:
    """The agents of every group: free stacks, on-duty counts, overtime, the staff log.

    ``free[g]`` is the stack of free agents of group ``g``, pushed when they become free, so
    the bottom one has been free longest; ``free_since[agent]`` is when it last became free.
    Policies pop the agent they choose off ``free[g]``.
    """

    def __init__(self, groups: list[str]):
        n = len(groups)
        self.free: list[list[int]] = [[] for _ in range(n)]
        self.free_since: list[float] = []  # per agent
        self.group_of: list[int] = []  # per agent
        self.present = [0] * n  # on duty, plus those finishing work after their shift
        self.leaving = [0] * n  # of those, how many leave when their work ends
        self._off_duty: list[list[int]] = [[] for _ in range(n)]
        self.staff_log = StaffLog(groups)
        self.sources: list[list[tuple[Callable, Callable]]] = [[] for _ in range(n)]
        """Per group: the ``take`` and ``begin`` of its work sources, in the order asked."""
        self.pending = [0]
        """Work waiting in all sources (kept by the sources): while none, a freed agent asks
        no source (most agents free up with nothing waiting)."""
        self.on_empty: Callable[[float, int], None] | None = None
        """Called ``(now, g)`` when the last agent of group ``g`` leaves after overtime."""
        self.release = self._release_path()

    def add_source(self, g: int, source: WorkSource) -> None:
        """A freed agent of group ``g`` asks ``source`` after those added before it."""
        self.sources[g].append((source.take, source.begin))

    def on_duty(self, g: int) -> int:
        """Agents of group ``g`` on duty now (present and not leaving)."""
        return self.present[g] - self.leaving[g]

    def set_staff(self, now: float, g: int, target: int) -> None:
        """``target`` agents of group ``g`` on duty from ``now``: new ones take waiting work or
        become free; free ones go off duty at once, busy ones when their work ends."""
        on_duty = self.present[g] - self.leaving[g]
        if target > on_duty:
            extra = target - on_duty
            stay = min(extra, self.leaving[g])  # agents about to leave stay on instead
            self.leaving[g] -= stay
            for _ in range(extra - stay):
                off = self._off_duty[g]
                agent = off.pop() if off else self._new_agent(g)
                self.present[g] += 1
                self.release(now, agent)  # free: takes waiting work or waits
        elif target < on_duty:
            surplus = on_duty - target
            free = self.free[g]
            while surplus and free:
                self._off_duty[g].append(free.pop())
                self.present[g] -= 1
                surplus -= 1
            self.leaving[g] += surplus  # busy agents leave when their work is done (overtime)
        self.staff_log.record(g, now, self.present[g])

    def _new_agent(self, g: int) -> int:
        self.free_since.append(0.0)
        self.group_of.append(g)
        return len(self.group_of) - 1

    def _leave(self, now: float, g: int, agent: int) -> None:
        """A busy agent whose shift is over has finished its work: it leaves now."""
        self.leaving[g] -= 1
        self.present[g] -= 1
        self._off_duty[g].append(agent)
        self.staff_log.record(g, now, self.present[g])
        if self.on_empty is not None and self.present[g] == self.leaving[g]:
            self.on_empty(now, g)

    def _release_path(self) -> Callable[[float, int], None]:
        """``release(now, agent)`` as a closure over the pool's lists (cell reads, not
        attribute reads: it runs once per piece of work)."""
        group_of, leaving, sources, pending = (
            self.group_of,
            self.leaving,
            self.sources,
            self.pending,
        )
        free, free_since, leave = self.free, self.free_since, self._leave

        def release(now: float, agent: int) -> None:
            """``agent``'s work is done: it leaves if its shift is over, else it takes the
            next piece of work of its group's sources, in order, or waits."""
            g = group_of[agent]
            if leaving[g]:
                leave(now, g, agent)
                return
            if pending[0]:  # most agents free up with nothing waiting: no look
                for take, begin in sources[g]:
                    item = take(g, now)
                    if item is not None:
                        begin(now, item, g, agent)
                        return
            free[g].append(agent)
            free_since[agent] = now

        return release
