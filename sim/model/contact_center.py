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
from collections.abc import Callable

import numpy as np
import simpy

from sim.model.events import call_later
from sim.model.queues import WAITING, QueueIndex
from sim.model.records import CallLog, Calls, Outcome, StaffLog
from sim.model.routing import POLICIES
from sim.model.streams import Streams
from sim.model.workforce import on_duty_timeline
from sim.scenario.distributions import BatchSampler
from sim.scenario.schema import Scenario

__all__ = ["ContactCenter"]

_ANSWERED = int(Outcome.ANSWERED)
_ABANDONED = int(Outcome.ABANDONED)
_DISCONNECTED = int(Outcome.DISCONNECTED)


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

        # per call type: groups that may answer at once, and (after, group) pairs that wait;
        # each delayed step's earlier groups (skipped when none of them has anyone on duty)
        self.skip = scenario.routing.skip_unstaffed
        self.disconnect = scenario.routing.at_close == "disconnect"
        self.immediate: list[list[int]] = []
        self.delayed: list[list[tuple[float, int]]] = []
        self.route_groups: list[tuple[int, ...]] = []
        # delayed route steps by id (0: none, for steps without a wait): the groups before each,
        # and whether all of those have nobody on duty now (kept by _refresh_skips)
        self.step_before: list[tuple[int, ...]] = [()]
        self.step_open: list[bool] = [False]
        self.step_ids: list[list[int]] = []  # per call type, parallel to delayed
        # per group: the queues it serves as (queue, after, tier priority, step id)
        self.serves: list[list[tuple[int, float, int, int]]] = [[] for _ in self.groups]
        # per group: groups whose steps wait for it (woken when it closes), call types it serves
        self.dependents: list[set[int]] = [set() for _ in self.groups]
        self.types_of: list[list[int]] = [[] for _ in self.groups]
        for c, name in enumerate(types):
            steps = [(s.after, group_index[s.group]) for s in scenario.route(name)]
            self.immediate.append([g for after, g in steps if after <= 0])
            self.delayed.append(sorted((after, g) for after, g in steps if after > 0))
            self.route_groups.append(tuple(g for _, g in steps))
            ids = {}
            for after, g in self.delayed[c]:
                ids[g] = len(self.step_before)
                self.step_before.append(tuple(e for a, e in steps if a < after))
                self.step_open.append(False)
            self.step_ids.append([ids[g] for _, g in self.delayed[c]])
            for after, g in steps:
                self.types_of[g].append(c)
                for e in self.step_before[ids.get(g, 0)]:
                    self.dependents[e].add(g)
                for k in range(len(tiers)):
                    self.serves[g].append((c * len(tiers) + k, after, tier_prio[k], ids.get(g, 0)))
        # per call type: the groups that may answer an arriving call (immediate, plus skipped-to)
        self.first_groups: list[list[int]] = list(self.immediate)
        # queue q = call_type * n_tiers + tier; FIFO by queue entry, lazy removal, indexed
        # per group so that a pick does not depend on the number of queues (sim.model.queues)
        self.queues = QueueIndex(
            len(types) * len(tiers), self.serves, calls.outcome, calls.queue_entry
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
        self.idle_since: list[float] = []  # per agent: when it last became free
        self.staff_log = StaffLog(self.groups)
        self.scheduled = [on_duty_timeline(scenario, g, streams) for g in self.groups]
        # per call type: who picks the agent for an arriving call (the routing seam)
        wanted = [
            ct.agent_selection or scenario.routing.agent_selection
            for ct in scenario.call_types.values()
        ]
        made = {name: POLICIES[name].create(self, streams) for name in dict.fromkeys(wanted)}
        self.policy = [made[name] for name in wanted]
        self._work_trackers = [p for p in made.values() if p.tracks_work]

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
        if self.skip:
            self._refresh_skips()  # groups with nobody on duty from the start

    def _staff_change(self, event) -> None:
        g, n = event.value
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
        if self.skip and (target == 0) != (on_duty == 0):
            self._refresh_skips()
        if target == 0 and on_duty > 0:  # after the other changes of this instant (a handover)
            call_later(self.env, 0.0, self._closed_now, g)

    def _closed_now(self, event) -> None:
        g = event.value
        if self.present[g] == self.leaving[g]:
            self._closed(g)

    def _refresh_skips(self) -> None:
        """A group's on-duty count crossed zero: which delayed steps may take calls at once."""
        present, leaving = self.present, self.leaving
        for j, before in enumerate(self.step_before):
            self.step_open[j] = j > 0 and not any(present[e] - leaving[e] for e in before)
        self.first_groups = [
            immediate + [g for (_, g), j in zip(delayed, ids, strict=True) if self.step_open[j]]
            for immediate, delayed, ids in zip(
                self.immediate, self.delayed, self.step_ids, strict=True
            )
        ]
        self.queues.open_steps(self.step_open)

    def _closed(self, g: int) -> None:
        """Group ``g`` has nobody on duty now: later route steps waiting for it may take their
        calls (skip rule), and calls left with no group at all may be disconnected."""
        if self.skip:
            for h in sorted(self.dependents[g]):
                idle = self.idle[h]
                while idle:
                    cid = self.queues.pick(h, self.env._now)
                    if cid is None:
                        break
                    self._count_waiting(-1)
                    self._answer(cid, h, idle.pop())
        if self.disconnect:
            on_duty = [p - q for p, q in zip(self.present, self.leaving, strict=True)]
            for c in self.types_of[g]:
                if not any(on_duty[h] for h in self.route_groups[c]):
                    self._disconnect_type(c)

    def _disconnect_type(self, c: int) -> None:
        """No group of call type ``c`` has anyone on duty: its waiting calls are cut off."""
        outcome, end, now = self.calls.outcome, self.calls.end, self.env._now
        for q in range(c * self.n_tiers, (c + 1) * self.n_tiers):
            for cid in self.queues.drain(q):
                if outcome[cid] == WAITING:
                    outcome[cid], end[cid] = _DISCONNECTED, now
                    self._count_waiting(-1)

    def _new_agent(self) -> int:
        self._next_agent += 1
        self.idle_since.append(0.0)
        return self._next_agent - 1

    # --- the call path -----------------------------------------------------------------------

    def offer(self, cid: int) -> None:
        """A call reaches the queue: answered at once, or it waits (patience starts now)."""
        calls = self.calls
        ctype = calls.call_type[cid]
        chosen = self.policy[ctype].pick(self.first_groups[ctype])
        if chosen is not None:
            self._answer(cid, *chosen)
            return
        calls.outcome[cid] = WAITING
        self.queues.append(ctype * self.n_tiers + calls.tier[cid], cid)
        env = self.env
        now = env._now  # _count_waiting(+1), inlined: this runs for every queued call
        self.wait_area += self.waiting * (now - self._wait_last)
        self._wait_last = now
        self.waiting += 1
        patience = calls.patience[cid]
        if patience < math.inf:
            call_later(env, patience, self._give_up, cid)
        for after, _ in self.delayed[ctype]:
            if after < patience:
                call_later(env, after, self._overflow, cid)

    def _overflow(self, event) -> None:
        """A waiting call may now go to a group that takes it only after a wait."""
        cid = event.value
        calls = self.calls
        if calls.outcome[cid] != WAITING:
            return
        waited = self.env._now - calls.queue_entry[cid]
        ctype = calls.call_type[cid]
        step_open = self.step_open
        groups = [
            g
            for (after, g), j in zip(self.delayed[ctype], self.step_ids[ctype], strict=True)
            if after <= waited or step_open[j]
        ]
        chosen = self.policy[ctype].pick(groups)
        if chosen is not None:
            self._count_waiting(-1)  # the queue entry is skipped lazily later
            self._answer(cid, *chosen)

    def _give_up(self, event) -> None:
        cid = event.value
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
        """An agent takes the call. Its end of talk (and its release, without after-call work)
        is not written here but derived by :meth:`derive_ends` with the same arithmetic."""
        calls, now = self.calls, self.env._now
        talk = calls.handle[cid] * self.factor[g]
        calls.outcome[cid] = _ANSWERED
        calls.answer[cid] = now
        calls.group[cid] = g
        calls.agent[cid] = agent
        if self.acw is None:
            busy = talk
        else:
            busy = talk + self.acw()
            calls.release[cid] = now + busy
        call_later(self.env, busy, self._release, (g, agent))
        for tracker in self._work_trackers:
            tracker.assigned(g, now, now + busy)
        for listener in self.on_handled:  # redials, then the business the call creates
            listener(cid, now + talk)

    def _release(self, event) -> None:
        g, agent = event.value
        if self.leaving[g]:
            self.leaving[g] -= 1
            self.present[g] -= 1
            self._off_duty[g].append(agent)
            self.staff_log.record(g, self.env._now, self.present[g])
            if self.disconnect and self.present[g] == self.leaving[g]:
                self._closed(g)  # as a switch checks again when the last call of a group ends
            return
        self._serve_next(g, agent)

    def _serve_next(self, g: int, agent: int) -> None:
        """A free agent takes the best waiting call it may take (tier priority, then the
        longest wait), or becomes idle."""
        now = self.env._now
        cid = self.queues.pick(g, now)
        if cid is None:
            self.idle[g].append(agent)
            self.idle_since[agent] = now
            return
        self.wait_area += self.waiting * (now - self._wait_last)  # _count_waiting(-1), inlined
        self._wait_last = now
        self.waiting -= 1
        self._answer(cid, g, agent)

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
        for cid in self.queues.waiting():
            if outcome[cid] == WAITING:
                outcome[cid] = int(Outcome.OPEN)

    def derive_ends(self, calls: Calls) -> None:
        """Fill in the frozen ``calls`` what :meth:`_answer` leaves out: the end of talk,
        ``answer + handle x factor``, and without after-call work the release (= end)."""
        answered = calls.outcome == _ANSWERED
        talk = calls.handle[answered] * np.asarray(self.factor)[calls.group[answered]]
        calls.end[answered] = calls.answer[answered] + talk
        if self.acw is None:
            calls.release[answered] = calls.end[answered]
