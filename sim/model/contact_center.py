"""The router: queues per call type and tier, agent groups with skills, overflow, abandonment.

The story of one call, as this module tells it:

1. It reaches the queue (``offer``). If a group in its route that may take it at once has an
   idle agent, that agent answers. Otherwise it waits in the queue of its (call type, tier), and
   its patience starts; groups that may take it only after a wait get a timer for that moment.
   A call of a tier with an ``answer_delay`` is first *held* for that delay (an announcement,
   an identification): it waits, counted in the queue length, and may hang up, but no agent
   may answer it until the delay is over; then it is offered as if it reached the queue then,
   its patience and overflow timers still counted from its queue entry.
2. It is answered when an agent of an allowed group frees up (``release``) and picks it: by tier
   priority, then the longest wait. Talk time is the call's handle time times the group's factor;
   after-call work follows, and only then is the agent free again.
3. Or its patience runs out first and it hangs up (``give_up``); the queue forgets it lazily
   (it is skipped when it reaches the head) so that abandoning costs O(1).

Which free agent answers an arriving call is the routing policy's choice
(:mod:`sim.model.routing`); the agents, and what a freed agent takes next, are the agent pool's
(:mod:`sim.model.agents`), for which the call queues are a work source of whole items (a call
takes an empty agent and holds it alone, whatever its slots). A call is answered in
one place, ``offer``, whichever way it meets its agent (at once, after a wait, at an overflow
step, when a group closes). SimPy's ``Resource`` cannot route by skill with overflow, so
matching is done here, with callbacks rather than a process per call. A call's own events
(patience, overflow timers, the agent's release) and the staffing changes go on the agenda of
:class:`~sim.model.events.ModelEnvironment`, not on SimPy's queue, and their handlers get the
time as an argument. Agents come and go with the staffing
timeline; one whose shift ends mid-call finishes it first (overtime), never dropping it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from heapq import heappush
from typing import NamedTuple

import numpy as np

from sim.model.agents import AgentPool
from sim.model.events import ModelEnvironment
from sim.model.queues import WAITING, QueueIndex
from sim.model.routing import POLICIES, Ordered
from sim.model.streams import Streams
from sim.model.workforce import on_duty_timeline
from sim.records.calls import IN_PROGRESS, CallLog, Calls, Outcome
from sim.scenario.distributions import BatchSampler
from sim.scenario.schema import Scenario

__all__ = ["ContactCenter", "Listener", "Unresolved"]

_INF = math.inf
_ANSWERED = int(Outcome.ANSWERED)
_ABANDONED = int(Outcome.ABANDONED)
_DISCONNECTED = int(Outcome.DISCONNECTED)
_HELD = -2  # offer's group argument for a call whose answer delay is over (see _call_path)


class Unresolved(NamedTuple):
    """A listener of handled calls (:meth:`ContactCenter.connect`) that only the calls which
    did not resolve the matter concern (calls made again, work orders from complaints)."""

    listener: Callable[[int, float], None]


Listener = Callable[[int, float], None] | Unresolved
"""``listener(cid, at)`` for every handled call, or one for the unresolved ones only."""


class ContactCenter:
    """Agents, queues and the matching of calls to agents.

    What follows a call (redials, orders, leads) is not the router's business: the model hands
    it its listeners with :meth:`connect` before :meth:`start`.
    """

    whole = True
    """As a work source of the agent pool, a call takes its agent whole (a voice call)."""

    def __init__(self, env: ModelEnvironment, scenario: Scenario, streams: Streams, calls: CallLog):
        self.env, self.calls = env, calls
        self.warmup = scenario.warmup
        self.on_abandoned: Callable[[int, float], None] | None = None
        self._handled_by_type: list[tuple[Callable[[int, float], None], ...]] = []
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
        self.pool = AgentPool(self.groups)
        self.queues = QueueIndex(
            len(types) * len(tiers),
            self.serves,
            calls.outcome,
            calls.queue_entry,
            self.pool.pending,
        )

        factors = scenario.agents.handle_time_factor
        self.factor = [factors.get(g, 1.0) for g in self.groups]
        acw = scenario.agents.after_call_work
        self.acw = BatchSampler(acw, streams("after_call_work")) if acw is not None else None
        # per tier: its answer delay's sampler, from its own stream (None: no delay, no stream)
        self.answer_delay = [
            BatchSampler(t.answer_delay, streams(f"answer_delay.{name}"))
            if t.answer_delay is not None
            else None
            for name, t in scenario.customer_tiers.items()
        ]

        # the agents; the call queues are the work source of every group
        self.pool.on_empty = self._closed if self.disconnect else None
        self.scheduled = [on_duty_timeline(scenario, g, streams) for g in self.groups]
        # per call type: who picks the agent for an arriving call (the routing seam)
        wanted = [
            ct.agent_selection or scenario.routing.agent_selection
            for ct in scenario.call_types.values()
        ]
        made = {name: POLICIES[name].create(self.pool, streams) for name in dict.fromkeys(wanted)}
        self.policy = [made[name] for name in wanted]
        self._ordered = [type(p) is Ordered for p in self.policy]  # inlined in offer
        self._work_trackers = [p for p in made.values() if p.tracks_work]

        self._warm_area = 0.0  # the queue-length integral at the end of the warm-up
        # the call path (_call_path): offer(now, cid) is the router's door for calls and the
        # one way a call meets its agent; take and begin make the call queues a work source
        # of the agent pool (a freed agent's next call: tier priority, then the longest wait)
        self.offer, self._give_up, self._set_plain = self._call_path()
        self.take, self.begin = self.queues.pick, self.offer
        for g in range(len(self.groups)):
            self.pool.add_source(g, self)

    def connect(
        self,
        on_abandoned: Callable[[int, float], None] | None,
        on_handled: list[Listener],
        by_type: list[Listener | None] | None = None,
    ) -> None:
        """What follows a call: ``on_abandoned(cid, at)`` when a caller hangs up in the queue,
        then each ``on_handled(cid, at)`` in order when an answered call's talk ends, then
        ``by_type[call type](cid, at)`` where that is not None (the business a type creates:
        a type that creates nothing costs no call per answer). A listener wrapped in
        :class:`Unresolved` hears only the calls that did not resolve the matter (most calls
        do: it costs them no call)."""
        n_types = len(self.immediate)
        if by_type is not None and len(by_type) != n_types:
            raise ValueError(f"by_type: one entry per call type ({n_types}), got {len(by_type)}")
        self.on_abandoned = on_abandoned
        extra = [None] * n_types if by_type is None else by_type
        # per call type and resolved (0, 1): the listeners of such a call, in order
        self._handled_by_type = [
            tuple(
                fn.listener if isinstance(fn, Unresolved) else fn
                for fn in (*on_handled, *(() if last is None else (last,)))
                if not (resolved and isinstance(fn, Unresolved))
            )
            for last in extra
            for resolved in (0, 1)
        ]
        self._connected = True
        self._set_plain(
            self.acw is None and not self._work_trackers and not any(self._handled_by_type)
        )

    @property
    def handled_by_type(self) -> list[tuple[Callable[[int, float], None], ...]]:
        """Per (call type, resolved): the listeners of a handled contact, as :meth:`connect`
        made them (for the other answer paths: chats)."""
        return self._handled_by_type

    # --- staffing ----------------------------------------------------------------------------

    def start(self) -> None:
        """Put the first shift on duty and schedule every staffing change of the horizon."""
        if not self._connected:
            raise RuntimeError("ContactCenter.connect() must be called before start()")
        if self.warmup > 0:
            self.env.later(self.warmup, self._warmup_ends)
        for g, timeline in enumerate(self.scheduled):
            self._set_staff(g, int(timeline.values[0]), refresh=False)  # one refresh below
            for t, n in zip(timeline.times[1:].tolist(), timeline.values[1:].tolist(), strict=True):
                self.env.later(t, self._staff_change, (g, int(n)))
        if self.skip:
            self._refresh_skips()  # groups with nobody on duty from the start

    def _staff_change(self, _now: float, change: tuple[int, int]) -> None:
        self._set_staff(*change)

    def _set_staff(self, g: int, target: int, refresh: bool = True) -> None:
        now = self.env.now
        on_duty = self.pool.on_duty(g)
        self.pool.set_staff(now, g, target)
        if refresh and self.skip and (target == 0) != (on_duty == 0):
            self._refresh_skips()
        if target == 0 and on_duty > 0:  # after the other changes of this instant (a handover)
            self.env.later(0.0, self._closed_now, g)

    def _closed_now(self, now: float, g: int) -> None:
        if self.pool.on_duty(g) == 0:
            self._closed(now, g)

    def _refresh_skips(self) -> None:
        """A group's on-duty count crossed zero: which delayed steps may take calls at once."""
        on_duty = self.pool.on_duty
        for j, before in enumerate(self.step_before):
            self.step_open[j] = j > 0 and not any(on_duty(e) for e in before)
        self.first_groups[:] = [  # in place: the call path holds the list
            immediate + [g for (_, g), j in zip(delayed, ids, strict=True) if self.step_open[j]]
            for immediate, delayed, ids in zip(
                self.immediate, self.delayed, self.step_ids, strict=True
            )
        ]
        self.queues.open_steps(self.step_open)

    def _closed(self, now: float, g: int) -> None:
        """Group ``g`` has nobody on duty now: later route steps waiting for it may take their
        calls (skip rule), and calls left with no group at all may be disconnected."""
        if self.skip:
            for h in sorted(self.dependents[g]):
                free = self.pool.free[h]
                while free:
                    cid = self.take(h, now)
                    if cid is None:
                        break
                    self.offer(now, cid, h, free.pop())
        if self.disconnect:
            on_duty = self.pool.on_duty
            for c in self.types_of[g]:
                if not any(on_duty(h) for h in self.route_groups[c]):
                    self._disconnect_type(now, c)

    def _disconnect_type(self, now: float, c: int) -> None:
        """No group of call type ``c`` has anyone on duty: its waiting calls are cut off."""
        outcome, end = self.calls.outcome, self.calls.end
        for q in range(c * self.n_tiers, (c + 1) * self.n_tiers):
            for cid in self.queues.drain(q):
                if outcome[cid] == WAITING:
                    outcome[cid], end[cid] = _DISCONNECTED, now
                    self.queues.left(now)

    # --- the call path: events on the agenda, handlers given the time (sim.model.events) ----

    def _overflow(self, now: float, cid: int) -> None:
        """A waiting call may now go to a group that takes it only after a wait."""
        calls = self.calls
        if calls.outcome[cid] != WAITING:
            return
        entry = calls.queue_entry[cid]
        ctype = calls.call_type[cid]
        step_open = self.step_open
        groups = [  # entry + after, as the timer was set: now - entry may round below after
            g
            for (after, g), j in zip(self.delayed[ctype], self.step_ids[ctype], strict=True)
            if entry + after <= now or step_open[j]
        ]
        chosen = self.policy[ctype].pick(groups, now)
        if chosen is not None:
            self.queues.left(now)  # the queue entry is skipped lazily later
            self.offer(now, cid, *chosen)

    def _call_path(self):
        """The hot path as closures over the router's state: ``offer`` (a call reaches the
        queue or meets a given agent: the one answer path) and ``give_up``.

        They run for every call; as closures they read the columns, lists and bound methods
        they use from cells instead of attributes of ``self`` (6 % of an M/M/50+M run,
        ``benchmarks/bench_contact_center.py``); ``set_plain`` tells them, once connected,
        whether an answer has nothing to do but write the call and free the agent later (no
        after-call work, work trackers or listeners).
        """
        center, calls, queues, env = self, self.calls, self.queues, self.env
        call_type, tier, patience_of = calls.call_type, calls.tier, calls.patience
        handle, outcome, resolved = calls.handle, calls.outcome, calls.resolved
        answer_at, agent_of, group_of, end_of = calls.answer, calls.agent, calls.group, calls.end
        release_of = calls.release
        ordered, policy, free, factor = self._ordered, self.policy, self.pool.free, self.factor
        agenda, next_seq, enqueue = env.agenda, env.next_seq, queues.append
        release, left = self.pool.release, queues.left
        delayed, n_tiers, overflow = self.delayed, self.n_tiers, self._overflow
        queue_entry = calls.queue_entry
        hold = self.answer_delay if any(self.answer_delay) else None
        plain = False

        def set_plain(value: bool) -> None:
            nonlocal plain
            plain = value

        first_groups = self.first_groups

        def offer(now: float, cid: int, g: int = -1, agent: int = -1) -> None:
            """The one place a call meets its agent: ``agent`` of group ``g`` when given (a
            freed agent's next call, an overflow step, a closing group's calls), else, for a
            call reaching the queue, the free agent its routing policy picks; with none free
            it waits (its patience starts now). A call of a tier with an answer delay is
            held first: it comes back here as ``g = _HELD`` when the delay is over.

            Answered, the call's outcome, answer time, agent, group and end of talk are
            written, the agent's release is put on the agenda after the talk and any
            after-call work, and the listeners hear of the call."""
            if agent < 0:  # the call reaches the queue
                ctype = call_type[cid]
                held = g == _HELD
                if hold is not None and not held:
                    delay_of = hold[tier[cid]]
                    if delay_of is not None:  # no agent may answer it before its delay is over
                        outcome[cid] = WAITING
                        left(now, 1)  # it waits: counted in the queue length
                        patience = patience_of[cid]
                        if patience < _INF:
                            heappush(agenda, (now + patience, next_seq(), give_up, cid))
                        heappush(agenda, (now + delay_of(), next_seq(), ready, cid))
                        return
                groups = first_groups[ctype]
                if ordered[ctype]:  # Ordered.pick in line: the first group with a free agent
                    for g in groups:
                        free_g = free[g]
                        if free_g:
                            agent = free_g.pop()
                            break
                else:
                    chosen = policy[ctype].pick(groups, now)
                    if chosen is not None:
                        g, agent = chosen
                if agent < 0:
                    outcome[cid] = WAITING
                    enqueue(ctype * n_tiers + tier[cid], cid, now)
                    patience = patience_of[cid]
                    if held:  # its patience is on the agenda; overflow counts from its entry
                        entry = queue_entry[cid]
                        for after, _ in delayed[ctype]:
                            if after < patience:
                                at = max(now, entry + after)
                                heappush(agenda, (at, next_seq(), overflow, cid))
                        return
                    if patience < _INF:
                        heappush(agenda, (now + patience, next_seq(), give_up, cid))
                    for after, _ in delayed[ctype]:
                        if after < patience:
                            heappush(agenda, (now + after, next_seq(), overflow, cid))
                    return
            talk = handle[cid] * factor[g]
            end = now + talk
            outcome[cid] = _ANSWERED
            answer_at[cid] = now
            agent_of[cid] = agent
            group_of[cid] = g
            end_of[cid] = end
            if plain:
                heappush(agenda, (end, next_seq(), release, agent))
                return
            acw = center.acw
            if acw is None:
                busy = talk
            else:
                busy = talk + acw()
                release_of[cid] = now + busy
            heappush(agenda, (now + busy, next_seq(), release, agent))
            for tracker in center._work_trackers:
                tracker.assigned(g, now, now + busy)
            for listener in center._handled_by_type[2 * call_type[cid] + resolved[cid]]:
                listener(cid, end)  # redials, business

        def ready(now: float, cid: int) -> None:
            """A held call's answer delay is over: unless it hung up meanwhile, it is offered
            (answered by a free agent, or queued) as if it reached the queue now."""
            if outcome[cid] != WAITING:
                return
            left(now)  # counted again when it joins its queue
            offer(now, cid, _HELD)

        def give_up(now: float, cid: int) -> None:
            """A waiting call's patience runs out: it hangs up. Most calls that waited were
            answered first (9 in 10 on M/M/50+M): for them this is a look-up and a return."""
            if outcome[cid] != WAITING:
                return
            outcome[cid] = _ABANDONED
            end_of[cid] = now
            left(now)
            if center.on_abandoned is not None:
                center.on_abandoned(cid, now)

        return offer, give_up, set_plain

    @property
    def waiting(self) -> int:
        """Calls waiting now."""
        return self.queues.size()

    def _warmup_ends(self, now: float, _value) -> None:
        self._warm_area = self.queues.level(now)[1]

    def mean_queue_length(self, horizon: float) -> float:
        """Time-average number of calls waiting over [warm-up, horizon) (after :meth:`close`)."""
        return (self.queues.level(horizon)[1] - self._warm_area) / (horizon - self.warmup)

    def close(self) -> None:
        """At the horizon: close the queue-length integral (the calls still in progress become
        OPEN in :meth:`derive_ends`)."""
        self.queues.level(self.env.now)

    def derive_ends(self, calls: Calls) -> None:
        """Fill in the frozen ``calls`` (any rows of the log whose calls have ended, or all rows
        at the horizon) what follows from what was written: the release of an answered call
        without after-call work (its end), and OPEN for the calls still in progress."""
        if self.acw is None:
            answered = calls.outcome == _ANSWERED
            calls.release[answered] = calls.end[answered]
        calls.outcome[np.isin(calls.outcome, IN_PROGRESS)] = int(Outcome.OPEN)
