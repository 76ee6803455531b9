"""Chats: contacts an agent holds several of at once, a slot work source of the agent pool.

A call type of ``channel: chat`` arrives through the callers like any call (the same arrival,
tier, patience and handle-time draws, a row in the same call log, so every call KPI counts it),
but meets its agent here, not in the router: the door (:meth:`ChatDesk.door`) sends each
contact by its channel. An arriving chat takes a slot of an agent of the first group in its
route with room (:meth:`~sim.model.agents.AgentPool.take_slot`: the partly busy agent that
has had room longest, else an empty one), else it waits in its own queue of (call type,
tier), with tier priority and patience as calls do (:class:`~sim.model.queues.QueueIndex`);
an ``after:`` step of its route opens that group to it once it has waited that long. An
agent of group ``g`` holds up to ``agents.groups.g.concurrency`` chats, never beside a voice
call (the pool keeps whole and slot items apart).

A chat begun while its agent holds ``k`` chats in all (this one counted) lasts its handle
time x the group's ``handle_time_factor`` x ``1 + concurrency_slowdown x (k - 1)``, fixed at
its start (a chat does not slow down when others join later). Chats have no after-call work,
and the router's answer delay, skip rule and closing-time disconnect do not apply to them;
the mean queue length counts the chats waiting with the calls.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from heapq import heappush

from sim.model.agents import AgentPool
from sim.model.callers import door_by_type
from sim.model.events import ModelEnvironment
from sim.model.queues import WAITING, QueueIndex
from sim.records.calls import CallLog, Outcome
from sim.scenario.schema import Scenario

__all__ = ["ChatDesk"]

_ANSWERED = int(Outcome.ANSWERED)
_ABANDONED = int(Outcome.ABANDONED)

Listener = Callable[[int, float], None]


class ChatDesk:
    """The chat queues of a scenario and the answer path of a chat (a work source of slot
    items: ``whole`` is False). Made by :meth:`build`, None when no call type is a chat."""

    whole = False

    def __init__(self, env: ModelEnvironment, scenario: Scenario, calls: CallLog, pool: AgentPool):
        self.env, self.calls, self.pool = env, calls, pool
        types, tiers = list(scenario.call_types), list(scenario.customer_tiers)
        groups = list(scenario.agents.groups)
        index = {g: i for i, g in enumerate(groups)}
        n_tiers = len(tiers)
        self.n_tiers = n_tiers
        self.is_chat = [ct.channel == "chat" for ct in scenario.call_types.values()]
        prio = [
            t.priority if scenario.routing.tier_priority else 0
            for t in scenario.customer_tiers.values()
        ]
        serves: list[list[tuple[int, float, int, int]]] = [[] for _ in groups]
        self.immediate: list[list[int]] = []  # per call type: groups taking it on arrival
        self.delayed: list[list[tuple[float, int]]] = []  # (after, group) steps that wait
        for c, name in enumerate(types):
            steps = (
                [(s.after, index[s.group]) for s in scenario.route(name)] if self.is_chat[c] else []
            )
            self.immediate.append([g for after, g in steps if after <= 0])
            self.delayed.append(sorted((after, g) for after, g in steps if after > 0))
            for after, g in steps:
                for k in range(n_tiers):
                    serves[g].append((c * n_tiers + k, after, prio[k], 0))
        self.groups = [g for g in range(len(groups)) if serves[g]]
        """The groups that take chats (each gets the desk as a work source)."""
        self.queues = QueueIndex(
            len(types) * n_tiers, serves, calls.outcome, calls.queue_entry, pool.pending
        )
        factors = scenario.agents.handle_time_factor
        self.factor = [factors.get(g, 1.0) for g in groups]
        self.slowdown = [grp.concurrency_slowdown for grp in scenario.agents.groups.values()]
        self.on_abandoned: Listener | None = None
        self.handled: list[tuple[Listener, ...]] = []
        self.warmup, self._warm_area = scenario.warmup, 0.0
        if self.warmup > 0:
            env.later(self.warmup, self._warmup_ends)
        self.take: Callable[[int, float], int | None] = self.queues.pick
        self.begin: Callable[[float, int, int, int], None] = self._begin

    @classmethod
    def build(
        cls, env: ModelEnvironment, scenario: Scenario, calls: CallLog, pool: AgentPool
    ) -> ChatDesk | None:
        """The chat desk of ``scenario`` with its agents' slots set and its place among each
        chat group's work sources (after the call queues); None without a chat call type."""
        if not any(ct.channel == "chat" for ct in scenario.call_types.values()):
            return None
        desk = cls(env, scenario, calls, pool)
        for g, group in enumerate(scenario.agents.groups.values()):
            pool.set_capacity(g, group.concurrency)
        for g in desk.groups:
            pool.add_source(g, desk)
        return desk

    def connect(self, on_abandoned: Listener | None, handled: list[tuple[Listener, ...]]) -> None:
        """What follows a chat, as for a call (:meth:`ContactCenter.connect`): the listener of
        an abandoned contact, and per (call type, resolved) the listeners of a handled one."""
        self.on_abandoned, self.handled = on_abandoned, handled

    def door(self, voice: Callable[[float, int], None]) -> Callable[[float, int], None]:
        """``offer(now, cid)`` for the callers: a chat to :meth:`offer`, any other contact to
        ``voice`` (the router's door)."""
        return door_by_type(self.is_chat, self.calls.call_type, self.offer, voice)

    def offer(self, now: float, cid: int) -> None:
        """A chat reaches the queue: a slot of an agent of its first route group with room,
        else it waits (its patience and its route's later steps put on the agenda)."""
        calls, take_slot = self.calls, self.pool.take_slot
        ctype = calls.call_type[cid]
        for g in self.immediate[ctype]:
            agent = take_slot(g)
            if agent is not None:
                self._begin(now, cid, g, agent)
                return
        calls.outcome[cid] = WAITING
        self.queues.append(ctype * self.n_tiers + calls.tier[cid], cid, now)
        patience = calls.patience[cid]
        agenda, seq = self.env.agenda, self.env.next_seq
        if patience < math.inf:
            heappush(agenda, (now + patience, seq(), self._give_up, cid))
        for after, g in self.delayed[ctype]:
            if after < patience:
                heappush(agenda, (now + after, seq(), self._overflow, (cid, g)))

    def _begin(self, now: float, cid: int, g: int, agent: int) -> None:
        """``agent`` of group ``g``, its slot held, answers chat ``cid``: the row written, its
        end (slowed by the chats the agent holds) put on the agenda as the agent's release."""
        calls = self.calls
        k = self.pool.held[agent]  # chats held, this one counted
        busy = calls.handle[cid] * self.factor[g] * (1.0 + self.slowdown[g] * (k - 1))
        end = now + busy
        calls.outcome[cid] = _ANSWERED
        calls.answer[cid] = now
        calls.agent[cid] = agent
        calls.group[cid] = g
        calls.end[cid] = end
        calls.release[cid] = end
        heappush(self.env.agenda, (end, self.env.next_seq(), self.pool.release, agent))
        if self.handled:
            for listener in self.handled[2 * calls.call_type[cid] + calls.resolved[cid]]:
                listener(cid, end)

    def _warmup_ends(self, now: float, _value) -> None:
        self._warm_area = self.queues.level(now)[1]

    def mean_queue_length(self, horizon: float) -> float:
        """Time-average number of chats waiting over [warm-up, horizon) (the router's figure
        counts calls: the two add up)."""
        return (self.queues.level(horizon)[1] - self._warm_area) / (horizon - self.warmup)

    def _overflow(self, now: float, value: tuple[int, int]) -> None:
        """A waiting chat has waited long enough for group ``g`` of its route: a slot there."""
        cid, g = value
        if self.calls.outcome[cid] != WAITING:
            return
        agent = self.pool.take_slot(g)
        if agent is not None:
            self.queues.left(now)  # its queue entry is skipped lazily later
            self._begin(now, cid, g, agent)

    def _give_up(self, now: float, cid: int) -> None:
        """A waiting chat's patience runs out: the customer leaves."""
        calls = self.calls
        if calls.outcome[cid] != WAITING:
            return
        calls.outcome[cid] = _ABANDONED
        calls.end[cid] = now
        self.queues.left(now)
        if self.on_abandoned is not None:
            self.on_abandoned(cid, now)
