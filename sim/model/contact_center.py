"""The router: queues per call type and tier, agent groups with skills, overflow, abandonment.

The story of one call, as this module tells it:

1. It reaches the queue (``offer``). If a group in its route that may take it at once has an
   idle agent, that agent answers. Otherwise it waits in the queue of its (call type, tier), and
   its patience starts; groups that may take it only after a wait get a timer for that moment.
2. It is answered when an agent of an allowed group frees up (``_release``) and picks it: by tier
   priority, then the longest wait. Talk time is the call's handle time times the group's factor;
   after-call work follows, and only then is the agent free again.
3. Or its patience runs out first and it hangs up (``_give_up``); the queue forgets it lazily
   (it is skipped when it reaches the head) so that abandoning costs O(1).

Which free agent answers an arriving call is the routing policy's choice
(:mod:`sim.model.routing`). SimPy's ``Resource`` cannot route by skill with overflow, so
matching is done here, driven by SimPy timeouts with callbacks rather than a process per call:
the hot path is three events. Agents come and go with the staffing timeline; one whose shift
ends mid-call finishes it first (overtime), never dropping it.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

import simpy

from sim.model.events import call_later
from sim.model.records import CallLog, Outcome, StaffLog
from sim.model.routing import Ordered
from sim.model.streams import Streams
from sim.model.workforce import on_duty_timeline
from sim.scenario.distributions import BatchSampler
from sim.scenario.schema import Scenario

__all__ = ["ContactCenter"]

WAITING = -1  # outcome code while a call sits in the queue (not an Outcome: never recorded)
_ANSWERED = int(Outcome.ANSWERED)
_ABANDONED = int(Outcome.ABANDONED)


class ContactCenter:
    """Agents, queues and the matching of calls to agents.

    What follows a call (redials, orders, leads) is not the router's business: the model hands
    it its listeners with :meth:`connect` before :meth:`start`.
    """

    def __init__(
        self, env: simpy.Environment, scenario: Scenario, streams: Streams, calls: CallLog
    ):
        self.env, self.calls = env, calls
        self.warmup = scenario.warmup
        self.on_abandoned: Callable[[int, float], None] | None = None
        self.on_handled: list[Callable[[int, float], None]] = []
        self._connected = False
        types, tiers = list(scenario.call_types), list(scenario.customer_tiers)
        self.groups = list(scenario.agents.groups)
        self.n_tiers = len(tiers)
        group_index = {g: i for i, g in enumerate(self.groups)}
        tier_prio = [
            t.priority if scenario.routing.tier_priority else 0
            for t in scenario.customer_tiers.values()
        ]

        # queue q = call_type * n_tiers + tier; FIFO by queue entry, lazy removal
        self.queues: list[deque] = [deque() for _ in range(len(types) * len(tiers))]
        # per call type: groups that may answer at once, and (after, group) pairs that wait
        self.immediate: list[list[int]] = []
        self.delayed: list[list[tuple[float, int]]] = []
        # per group: the queues it serves as (queue, after, tier priority)
        self.serves: list[list[tuple[int, float, int]]] = [[] for _ in self.groups]
        for c, name in enumerate(types):
            steps = scenario.route(name)
            self.immediate.append([group_index[s.group] for s in steps if s.after <= 0])
            self.delayed.append(
                sorted((s.after, group_index[s.group]) for s in steps if s.after > 0)
            )
            for s in steps:
                for k in range(len(tiers)):
                    self.serves[group_index[s.group]].append(
                        (c * len(tiers) + k, s.after, tier_prio[k])
                    )

        factors = scenario.agents.handle_time_factor
        self.factor = [factors.get(g, 1.0) for g in self.groups]
        acw = scenario.agents.after_call_work
        self.acw = BatchSampler(acw, streams("after_call_work")) if acw is not None else None

        # agents: idle stacks, how many on duty, how many must leave when their call ends
        self.idle: list[list[int]] = [[] for _ in self.groups]
        self.present = [0] * len(self.groups)
        self.leaving = [0] * len(self.groups)
        self._off_duty: list[list[int]] = [[] for _ in self.groups]
        self._next_agent = 0
        self.staff_log = StaffLog(self.groups)
        self.scheduled = [on_duty_timeline(scenario, g, streams) for g in self.groups]
        # per call type: who picks the agent for an arriving call (the routing seam)
        ordered = Ordered(self.idle)
        self.policy = [ordered for _ in types]

        # time-weighted number of calls waiting (for Little's law and queue plots)
        self.waiting = 0
        self.wait_area = 0.0
        self._wait_last = 0.0
        self._warm_area = 0.0

    def connect(
        self,
        on_abandoned: Callable[[int, float], None] | None,
        on_handled: list[Callable[[int, float], None]],
    ) -> None:
        """What follows a call: ``on_abandoned(cid, at)`` when a caller hangs up in the queue,
        then each ``on_handled(cid, at)`` in order when an answered call's talk ends."""
        self.on_abandoned, self.on_handled = on_abandoned, list(on_handled)
        self._connected = True

    # --- staffing ----------------------------------------------------------------------------

    def start(self) -> None:
        """Put the first shift on duty and schedule every staffing change of the horizon."""
        if not self._connected:
            raise RuntimeError("ContactCenter.connect() must be called before start()")
        if self.warmup > 0:
            call_later(self.env, self.warmup, self._warmup_ends)
        for g, timeline in enumerate(self.scheduled):
            self._set_staff(g, int(timeline.values[0]))
            for t, n in zip(timeline.times[1:].tolist(), timeline.values[1:].tolist(), strict=True):
                call_later(self.env, t, self._staff_change, (g, int(n)))

    def _staff_change(self, event) -> None:
        g, n = event._value
        self._set_staff(g, n)

    def _set_staff(self, g: int, target: int) -> None:
        on_duty = self.present[g] - self.leaving[g]
        if target > on_duty:
            extra = target - on_duty
            stay = min(extra, self.leaving[g])  # agents about to leave stay on instead
            self.leaving[g] -= stay
            for _ in range(extra - stay):
                pool = self._off_duty[g]
                agent = pool.pop() if pool else self._new_agent()
                self.present[g] += 1
                self._serve_next(g, agent)
        elif target < on_duty:
            surplus = on_duty - target
            idle = self.idle[g]
            while surplus and idle:
                self._off_duty[g].append(idle.pop())
                self.present[g] -= 1
                surplus -= 1
            self.leaving[g] += surplus  # busy agents leave when their call is done (overtime)
        self.staff_log.record(g, self.env._now, self.present[g])

    def _new_agent(self) -> int:
        self._next_agent += 1
        return self._next_agent - 1

    # --- the call path -----------------------------------------------------------------------

    def offer(self, cid: int) -> None:
        """A call reaches the queue: answered at once, or it waits (patience starts now)."""
        calls = self.calls
        ctype = calls.call_type[cid]
        chosen = self.policy[ctype].pick(self.immediate[ctype])
        if chosen is not None:
            self._answer(cid, *chosen)
            return
        calls.outcome[cid] = WAITING
        self.queues[ctype * self.n_tiers + calls.tier[cid]].append(cid)
        self._count_waiting(+1)
        env = self.env
        patience = calls.patience[cid]
        if patience < math.inf:
            call_later(env, patience, self._give_up, cid)
        for after, _ in self.delayed[ctype]:
            if after < patience:
                call_later(env, after, self._overflow, cid)

    def _overflow(self, event) -> None:
        """A waiting call may now go to a group that takes it only after a wait."""
        cid = event._value
        calls = self.calls
        if calls.outcome[cid] != WAITING:
            return
        waited = self.env._now - calls.queue_entry[cid]
        ctype = calls.call_type[cid]
        chosen = self.policy[ctype].pick([g for after, g in self.delayed[ctype] if after <= waited])
        if chosen is not None:
            self._count_waiting(-1)  # the queue entry is skipped lazily later
            self._answer(cid, *chosen)

    def _give_up(self, event) -> None:
        cid = event._value
        calls = self.calls
        if calls.outcome[cid] != WAITING:
            return  # answered before its patience ran out
        now = self.env._now
        calls.outcome[cid] = _ABANDONED
        calls.end[cid] = now
        self._count_waiting(-1)
        if self.on_abandoned is not None:
            self.on_abandoned(cid, now)

    def _answer(self, cid: int, g: int, agent: int) -> None:
        calls, now = self.calls, self.env._now
        talk = calls.handle[cid] * self.factor[g]
        busy = talk + (self.acw() if self.acw is not None else 0.0)
        calls.outcome[cid] = _ANSWERED
        calls.answer[cid] = now
        calls.end[cid] = now + talk
        calls.release[cid] = now + busy
        calls.group[cid] = g
        calls.agent[cid] = agent
        call_later(self.env, busy, self._release, (g, agent))
        for listener in self.on_handled:  # redials, then the business the call creates
            listener(cid, now + talk)

    def _release(self, event) -> None:
        g, agent = event._value
        if self.leaving[g]:
            self.leaving[g] -= 1
            self.present[g] -= 1
            self._off_duty[g].append(agent)
            self.staff_log.record(g, self.env._now, self.present[g])
            return
        self._serve_next(g, agent)

    def _serve_next(self, g: int, agent: int) -> None:
        """A free agent takes the best waiting call it may take, or becomes idle."""
        cid = self._pick(g)
        if cid is None:
            self.idle[g].append(agent)
        else:
            self._count_waiting(-1)
            self._answer(cid, g, agent)

    def _pick(self, g: int) -> int | None:
        """Head of the eligible queue with the best (tier priority, queue entry); O(queues)."""
        outcome, entry = self.calls.outcome, self.calls.queue_entry
        now = self.env._now
        best_q, best_key = None, None
        for q, after, prio in self.serves[g]:
            queue = self.queues[q]
            while queue and outcome[queue[0]] != WAITING:
                queue.popleft()  # answered elsewhere or abandoned: lazy removal
            if not queue:
                continue
            t_in = entry[queue[0]]
            if after and now - t_in < after:
                continue  # FIFO: if the head may not overflow yet, nobody behind it may
            key = (prio, t_in)
            if best_key is None or key < best_key:
                best_q, best_key = queue, key
        return None if best_q is None else best_q.popleft()

    def _count_waiting(self, delta: int) -> None:
        now = self.env._now  # the clock without the property call: this runs twice a call
        self.wait_area += self.waiting * (now - self._wait_last)
        self._wait_last = now
        self.waiting += delta

    def _warmup_ends(self, _event) -> None:
        self._count_waiting(0)
        self._warm_area = self.wait_area

    def mean_queue_length(self, horizon: float) -> float:
        """Time-average number of calls waiting over [warm-up, horizon) (after :meth:`close`)."""
        return (self.wait_area - self._warm_area) / (horizon - self.warmup)

    def close(self) -> None:
        """At the horizon: calls still waiting stay OPEN; close the queue-length integral."""
        self._count_waiting(0)
        outcome = self.calls.outcome
        for q in self.queues:
            for cid in q:
                if outcome[cid] == WAITING:
                    outcome[cid] = int(Outcome.OPEN)
