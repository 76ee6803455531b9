"""The agents: who is on duty, how much work each holds, and the one path by which work ends.

An agent of group ``g`` has ``capacity[g]`` slots (1 for every group today; chat concurrency
sets more). A piece of work takes either the whole agent (a voice call: only an empty agent
may take it, and while it holds it the agent takes nothing else) or one slot (a chat: an agent
holds up to ``capacity`` of them, never beside a whole item). So an agent is, at any time,
*empty* (on its group's stack :attr:`AgentPool.free`), holding one *whole* item, or holding
``held[agent]`` slot items (with room left it is on :attr:`AgentPool.room` of its group).

Work starts on an agent through a work source (:class:`WorkSource`; the call queues of
:class:`~sim.model.contact_center.ContactCenter` today) or an arrival routed to a free agent:
a whole item takes an agent popped off ``free[g]`` (a routing policy's choice,
:mod:`sim.model.routing`), a slot item one held with :meth:`AgentPool.hold_slot` (or
:meth:`AgentPool.take_slot`). The source writes its records and puts the end of the work on
the agenda as ``(end, seq, pool.release, agent)``; when it comes, :meth:`AgentPool.release`
frees what the item held (the whole agent, or one slot) and then, unless the agent's shift is
over, asks the work sources of its group, in their order, for work that fits the room left;
an agent left empty waits on the free stack.

A leaving agent (its group's staff fell) takes nothing new and leaves when it is empty: empty
agents leave at once; partly busy ones are chosen next; the rest of the cut falls on the first
agents of the group to free room.

Adding a kind of work that agents take when they free up (a call-back queue, an e-mail
backlog, chats) is a new :class:`WorkSource` handed to :meth:`AgentPool.add_source`, not an
edit of the pool or the router.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from sim.records.staff import StaffLog

__all__ = ["AgentPool", "WorkSource"]


class WorkSource(Protocol):
    """Work that waits for an agent. The source adds the items it holds and removes to
    :attr:`AgentPool.pending` (while that is 0, a freed agent asks no source).
    ``whole``: its items take the whole agent (True: a call) or one slot (False: a chat); the
    pool asks a source only when its items fit the agent's room.
    ``take(g, now)`` removes and returns the best item group ``g`` may take now, or None;
    ``begin(now, item, g, agent)`` starts it on ``agent``: the source writes its records and
    pushes ``(end, seq, pool.release, agent)`` onto the agenda."""

    whole: bool
    take: Callable[[int, float], int | None]
    begin: Callable[[float, int, int, int], None]


class AgentPool:
    """The agents of every group: their load, free stacks, on-duty counts, overtime, the staff
    log.

    ``free[g]`` is the stack of empty agents of group ``g``, pushed when they become empty, so
    the bottom one has been free longest; ``free_since[agent]`` is when it last became empty.
    Policies pop the agent they choose for a whole item off ``free[g]``. ``held[agent]`` is the
    slot items an agent holds (0 when empty or holding a whole item); ``room[g]`` the agents of
    ``g`` holding slot items with room for more, in the order they got room (insertion-ordered
    keys), findable for slot work besides the empty ones.
    """

    def __init__(self, groups: list[str]):
        n = len(groups)
        self.capacity = [1] * n
        """Slots of each agent of a group (slot items it may hold at once; :meth:`set_capacity`)."""
        self.free: list[list[int]] = [[] for _ in range(n)]
        self.free_since: list[float] = []  # per agent
        self.group_of: list[int] = []  # per agent
        self.held: list[int] = []  # per agent: slot items held
        self.room: list[dict[int, None]] = [{} for _ in range(n)]
        self.present = [0] * n  # on duty, plus those finishing work after their shift
        self.leaving = [0] * n  # busy agents to leave, not yet chosen: the next to free room
        self.draining: list[dict[int, None]] = [{} for _ in range(n)]
        """Per group: agents chosen to leave that still hold slot items (they take nothing)."""
        self._off_duty: list[list[int]] = [[] for _ in range(n)]
        self.staff_log = StaffLog(groups)
        self.sources: list[list[tuple[Callable, Callable]]] = [[] for _ in range(n)]
        """Per group: ``take`` and ``begin`` of its work sources, in the order an empty agent
        asks them (a slot source's ``begin`` also holds the slot and fills the room left)."""
        self._slot_sources: list[list[tuple[Callable, Callable]]] = [[] for _ in range(n)]
        self.pending = [0]
        """Work waiting in all sources (kept by the sources): while none, a freed agent asks
        no source (most agents free up with nothing waiting)."""
        self.on_empty: Callable[[float, int], None] | None = None
        """Called ``(now, g)`` when an agent of group ``g`` leaves and none is on duty."""
        self.release = self._release_path()

    def add_source(self, g: int, source: WorkSource, first: bool = False) -> None:
        """An agent of group ``g`` with room asks ``source`` after those added before it
        (``first``: before them; whole items only)."""
        if source.whole:
            self.sources[g].insert(
                0 if first else len(self.sources[g]), (source.take, source.begin)
            )
            return
        if first:
            raise ValueError("a slot source is asked after the sources added before it")
        self._slot_sources[g].append((source.take, source.begin))
        self.sources[g].append((source.take, self._begin_in_slot(source.begin)))

    def set_capacity(self, g: int, slots: int) -> None:
        """Agents of group ``g`` hold up to ``slots`` slot items at once (default 1); set
        before any of them comes on duty (their load is counted against it)."""
        if slots < 1 or self.present[g] or self._off_duty[g]:
            raise ValueError(f"capacity of group {g}: {slots} (>= 1, before its agents come)")
        self.capacity[g] = slots

    def on_duty(self, g: int) -> int:
        """Agents of group ``g`` on duty now (present and not leaving)."""
        return self.present[g] - self.leaving[g] - len(self.draining[g])

    def hold_slot(self, g: int, agent: int) -> None:
        """``agent`` of group ``g`` (empty and off the free stack, or on ``room[g]``) takes a
        slot item: it stays findable on ``room[g]`` while it has room left."""
        n = self.held[agent] + 1
        self.held[agent] = n
        if n < self.capacity[g]:
            self.room[g][agent] = None
        else:
            self.room[g].pop(agent, None)

    def take_slot(self, g: int) -> int | None:
        """An agent of group ``g`` for a slot item, its slot held: the partly busy agent that
        has had room longest (filling agents up keeps empty ones for whole items), else the
        empty agent freed last; None when every agent of ``g`` is full or busy whole."""
        room = self.room[g]
        if room:
            agent = next(iter(room))
        elif self.free[g]:
            agent = self.free[g].pop()
        else:
            return None
        self.hold_slot(g, agent)
        return agent

    def set_staff(self, now: float, g: int, target: int) -> None:
        """``target`` agents of group ``g`` on duty from ``now``: new ones take waiting work or
        become free; empty ones go off duty at once, busy ones when their work ends."""
        on_duty = self.on_duty(g)
        if target > on_duty:
            extra = target - on_duty
            stay = min(extra, self.leaving[g])  # agents about to leave stay on instead
            self.leaving[g] -= stay
            extra -= stay
            draining = self.draining[g]
            while extra and draining:  # so do chosen ones still finishing their slot items
                agent, _ = draining.popitem()
                extra -= 1
                self.room[g][agent] = None  # it took nothing since it was chosen: it has room
                self._fill(now, g, agent)
            for _ in range(extra):
                off = self._off_duty[g]
                agent = off.pop() if off else self._new_agent(g)
                self.present[g] += 1
                self.release(now, agent)  # empty: takes waiting work or waits
        elif target < on_duty:
            surplus = on_duty - target
            free = self.free[g]
            while surplus and free:
                self._off_duty[g].append(free.pop())
                self.present[g] -= 1
                surplus -= 1
            room, held = self.room[g], self.held
            while surplus and room:  # partly busy: the least loaded drains first
                agent = min(room, key=held.__getitem__)
                del room[agent]
                self.draining[g][agent] = None
                surplus -= 1
            self.leaving[g] += surplus  # the next busy agents to free room leave (overtime)
        self.staff_log.record(g, now, self.present[g])

    def _new_agent(self, g: int) -> int:
        self.free_since.append(0.0)
        self.group_of.append(g)
        self.held.append(0)
        return len(self.group_of) - 1

    def _leave(self, now: float, g: int, agent: int) -> None:
        """An agent whose shift is over is empty: it leaves now."""
        self.present[g] -= 1
        self._off_duty[g].append(agent)
        self.staff_log.record(g, now, self.present[g])
        if self.on_empty is not None and self.on_duty(g) == 0:
            self.on_empty(now, g)

    def _fill(self, now: float, g: int, agent: int) -> None:
        """``agent`` holds slot items and has room: it takes slot items from its group's slot
        sources, in order, while it has room and one of them has work."""
        held, cap, pending, sources = self.held, self.capacity[g], self.pending, self._slot_sources
        while held[agent] < cap and pending[0]:
            for take, begin in sources[g]:
                item = take(g, now)
                if item is not None:
                    self.hold_slot(g, agent)
                    begin(now, item, g, agent)
                    break
            else:
                return

    def _begin_in_slot(self, begin: Callable) -> Callable:
        """A slot source's ``begin`` as an empty agent's choice: hold the slot, begin the item,
        then fill the room left."""

        def begin_in_slot(now: float, item: int, g: int, agent: int) -> None:
            self.hold_slot(g, agent)
            begin(now, item, g, agent)
            self._fill(now, g, agent)

        return begin_in_slot

    def _end_slot(self, now: float, g: int, agent: int) -> None:
        """One of ``agent``'s slot items ends: it leaves when empty if chosen to leave (or the
        first of its group to free room while agents are to leave), else it takes work that
        fits its room, from its group's sources in order (any work once empty)."""
        n = self.held[agent] - 1
        self.held[agent] = n
        draining, room = self.draining[g], self.room[g]
        if agent in draining:
            if not n:
                del draining[agent]
                self._leave(now, g, agent)
            return
        if self.leaving[g]:  # chosen now: it takes nothing new
            self.leaving[g] -= 1
            room.pop(agent, None)
            if n:
                draining[agent] = None
            else:
                self._leave(now, g, agent)
            return
        if not n:
            room.pop(agent, None)
            self.release(now, agent)  # empty now: the whole-agent path below
            return
        room[agent] = None
        self._fill(now, g, agent)

    def _release_path(self) -> Callable[[float, int], None]:
        """``release(now, agent)`` as a closure over the pool's lists (cell reads, not
        attribute reads: it runs once per piece of work)."""
        group_of, leaving, sources, pending = (
            self.group_of,
            self.leaving,
            self.sources,
            self.pending,
        )
        free, free_since, held = self.free, self.free_since, self.held
        leave, end_slot = self._leave, self._end_slot

        def release(now: float, agent: int) -> None:
            """``agent``'s piece of work is done: a slot item frees its slot
            (:meth:`_end_slot`); a whole item leaves the agent empty: it leaves if its shift is
            over, else it takes the next piece of work of its group's sources, in order, or
            waits on the free stack."""
            g = group_of[agent]
            if held[agent]:
                end_slot(now, g, agent)
                return
            if leaving[g]:
                leaving[g] -= 1
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
