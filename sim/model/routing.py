"""Agent selection: which free agent answers a call that may be answered now.

The router (:mod:`sim.model.contact_center`) asks its policy when a call reaches the queue, and
again when an overflow step (``after:``) makes more groups eligible for it. The policy gets the
eligible groups in route order and returns ``(group, agent)`` with that agent taken off the idle
stack, or None when none of them has a free agent. Like Ciw's routing objects, a policy is one
small class with one method; adding a rule is a class here and a name in
:mod:`sim.scenario.routing_schema`.

A call takes its agent whole (:mod:`sim.model.agents`), so a policy chooses among *empty*
agents (the pool's free stacks), and ``least_busy`` counts an agent busy for the whole of each
call. Slot work (chats) is placed on agents with room through the pool
(:meth:`~sim.model.agents.AgentPool.take_slot`), not through these policies.

When an agent frees up, the choice among waiting calls is not a policy: tier priority, then
the longest wait (``QueueIndex.pick`` in :mod:`sim.model.queues`).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sim.scenario.distributions import uniforms
from sim.scenario.units import DAY

if TYPE_CHECKING:
    from sim.model.agents import AgentPool
    from sim.model.streams import Streams

__all__ = ["POLICIES", "LeastBusy", "LongestIdle", "Ordered", "RandomAgent", "RoutingPolicy"]


class RoutingPolicy:
    """Picks the agent for one call among the free agents of ``groups``.

    ``idle[g]`` is the stack of empty agents of group ``g`` (pushed when they become free, so
    the bottom one has been free longest): the agent pool's (:attr:`AgentPool.free`).
    """

    tracks_work = False
    """True when the router must report every call it assigns (:meth:`assigned`)."""

    def __init__(self, idle: list[list[int]]):
        self.idle = idle

    @classmethod
    def create(cls, pool: AgentPool, streams: Streams) -> RoutingPolicy:
        """The policy for the agents of ``pool``, taking from it only what the rule reads."""
        return cls(pool.free)

    def pick(self, groups: Sequence[int], now: float) -> tuple[int, int] | None:
        """``(group, agent)`` with that agent taken off its free stack, or None."""
        raise NotImplementedError

    def assigned(self, g: int, start: float, end: float) -> None:
        """An agent of group ``g`` is busy with a call from ``start`` to ``end``."""


class Ordered(RoutingPolicy):
    """The first group in route order with a free agent; in it, the agent freed last
    (specialists first: the classic ordered skill list)."""

    def pick(self, groups: Sequence[int], now: float) -> tuple[int, int] | None:
        idle = self.idle
        for g in groups:
            if idle[g]:
                return g, idle[g].pop()
        return None


class LongestIdle(RoutingPolicy):
    """The free agent idle longest across all eligible groups (ties: route order)."""

    def __init__(self, idle: list[list[int]], idle_since: list[float]):
        super().__init__(idle)
        self.idle_since = idle_since  # per agent id: when it last became free

    @classmethod
    def create(cls, pool: AgentPool, streams: Streams) -> RoutingPolicy:
        return cls(pool.free, pool.free_since)

    def pick(self, groups: Sequence[int], now: float) -> tuple[int, int] | None:
        idle, since = self.idle, self.idle_since
        best, best_t = -1, math.inf
        for g in groups:
            if idle[g] and since[idle[g][0]] < best_t:
                best, best_t = g, since[idle[g][0]]
        return None if best < 0 else (best, idle[best].pop(0))


class RandomAgent(RoutingPolicy):
    """Uniform over all free agents of the eligible groups (a group is drawn with chance
    proportional to its free agents), from the stream ``routing.random``."""

    def __init__(self, idle: list[list[int]], streams: Streams):
        super().__init__(idle)
        self._u = uniforms(streams("routing.random"))

    @classmethod
    def create(cls, pool: AgentPool, streams: Streams) -> RoutingPolicy:
        return cls(pool.free, streams)

    def pick(self, groups: Sequence[int], now: float) -> tuple[int, int] | None:
        idle = self.idle
        free = sum(len(idle[g]) for g in groups)
        if not free:
            return None
        k = int(self._u() * free)
        for g in groups:
            if k < len(idle[g]):
                return g, idle[g].pop(k)
            k -= len(idle[g])
        raise AssertionError("unreachable: k < free")


class LeastBusy(RoutingPolicy):
    """The eligible group with a free agent and the lowest occupancy so far today (busy
    agent time / agent time present since midnight; ties: route order); in it, the agent
    freed last."""

    tracks_work = True

    def __init__(self, idle: list[list[int]], staff_times, staff_counts):
        super().__init__(idle)
        self._times, self._counts = staff_times, staff_counts
        n = len(idle)
        self._running: list[list[tuple[float, float]]] = [[] for _ in range(n)]  # (end, start)
        self._done = [0.0] * n  # busy seconds today of calls already finished
        self._day = [0] * n

    @classmethod
    def create(cls, pool: AgentPool, streams: Streams) -> RoutingPolicy:
        return cls(pool.free, pool.staff_log.times, pool.staff_log.present)

    def assigned(self, g: int, start: float, end: float) -> None:
        heapq.heappush(self._running[g], (end, start))

    def pick(self, groups: Sequence[int], now: float) -> tuple[int, int] | None:
        idle = self.idle
        best, best_occ = -1, math.inf
        for g in groups:
            if idle[g]:
                occ = self.occupancy_today(g, now)
                if occ < best_occ:
                    best, best_occ = g, occ
        return None if best < 0 else (best, idle[best].pop())

    def occupancy_today(self, g: int, now: float) -> float:
        """Busy / present agent time of group ``g`` from midnight to ``now`` (0 at midnight)."""
        day = int(now // DAY)
        midnight = day * DAY
        if self._day[g] != day:
            self._day[g], self._done[g] = day, 0.0
        running = self._running[g]
        while running and running[0][0] <= now:
            end, start = heapq.heappop(running)
            self._done[g] += max(0.0, end - max(start, midnight))
        busy = self._done[g] + sum(now - max(start, midnight) for _, start in running)
        present = _integral_since(self._times[g], self._counts[g], midnight, now)
        return busy / present if present > 0 else 0.0


def _integral_since(times: list[float], counts: list[int], t0: float, t1: float) -> float:
    """Integral over [t0, t1) of the step function ``counts[i]`` from ``times[i]`` on."""
    total, upper = 0.0, t1
    for i in range(len(times) - 1, -1, -1):
        lower = max(times[i], t0)
        if lower < upper:
            total += counts[i] * (upper - lower)
        upper = min(upper, times[i])
        if times[i] <= t0:
            break
    return total


POLICIES: dict[str, type[RoutingPolicy]] = {
    "ordered": Ordered,
    "longest_idle": LongestIdle,
    "random": RandomAgent,
    "least_busy": LeastBusy,
}
"""Policy classes by their name in ``routing.agent_selection``."""
