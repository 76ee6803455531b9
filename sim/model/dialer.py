"""Outbound campaigns: a dialer places calls that agents blend with inbound calls.

The story of one campaign (``outbound.campaigns.X``), modelled on the dialer of ContactCenters
(``Dialer`` with ``ThresholdDialerPolicy``; doc/examples/Blend.java):

1. Inside its active hours the dialer looks each time an agent of a test or target group
   frees up with nothing else to take, and once when the hours begin. If at least
   ``min_free`` agents of the test groups are free and at least one of the target groups, it
   dials ``max(round(kappa x free target agents) + c - calls ringing, 0)`` numbers (round
   half up, as Java's ``Math.round``).
2. Each number reaches the right person with the campaign's ``reach`` chance at the time of
   dialing (drawn at once from the dialer's own stream; known after ``ring_time``).
3. A reached customer is a call of the campaign's call type: the first group of its route
   with a free agent answers it (the agent that just freed up first); with none free it waits
   for one of them (a *mismatch* if the customer hangs up first: ``patience``). Agents of those
   groups take a waiting reached customer before (``before_inbound``) or after waiting inbound
   calls.

The campaign is two work sources of the agent pool (:mod:`sim.model.agents`): the reached
customers waiting (asked by the groups of the route, before or after the call queues) and the
dialer itself, asked last by the test and target groups. While the dialer is active it counts
one item of work waiting (``pool.pending``: its list of numbers never runs out), so freed
agents ask it; otherwise it costs the call path nothing. Its calls are rows of the call log
(origin ``OUTBOUND``, no queue entry: the inbound figures do not count them, the occupancy
does); its counts (dialed, reached, served, mismatched) are for :mod:`sim.kpi.outbound`.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Callable
from heapq import heappush

from sim.model.agents import AgentPool
from sim.model.calendar import Opening
from sim.model.callers import SimulationLimitError
from sim.model.events import ModelEnvironment
from sim.model.streams import Streams
from sim.records.calls import CallLog, Origin, Outcome
from sim.scenario.distributions import BatchSampler, uniforms
from sim.scenario.limits import AGAIN_FLOOR, max_calls
from sim.scenario.outbound_schema import Campaign
from sim.scenario.schema import Scenario
from sim.scenario.units import DAY, parse_clock

__all__ = ["OutboundCampaign", "campaigns"]

_WAITING = int(Outcome.WAITING)
_ANSWERED = int(Outcome.ANSWERED)
_ABANDONED = int(Outcome.ABANDONED)
_ARRIVING = int(Outcome.ARRIVING)  # a reached customer, until answered or waiting


class _Reached:
    """The reached customers waiting for an agent, as a work source (whole items)."""

    whole = True

    def __init__(self, campaign: OutboundCampaign):
        self.take: Callable[[int, float], int | None] = campaign.take_waiting
        self.begin: Callable[[float, int, int, int], None] = campaign.answer


class OutboundCampaign:
    """One campaign: its dialer (a work source of the test and target groups) and its reached
    customers waiting (:class:`_Reached`, a work source of the groups of its route)."""

    whole = True
    """As a work source, what the dialer gives a freed agent is a call: the agent whole."""

    def __init__(
        self,
        env: ModelEnvironment,
        scenario: Scenario,
        name: str,
        spec: Campaign,
        streams: Streams,
        calls: CallLog,
        pool: AgentPool,
        factor: list[float],
    ):
        self.env, self.calls, self.pool, self.factor = env, calls, pool, factor
        # as a work source (sim.model.agents.WorkSource): the dialer looks; a call begins
        self.take: Callable[[int, float], int | None] = self._look
        self.begin: Callable[[float, int, int, int], None] = self.answer
        self.name, self.spec = name, spec
        index = {g: i for i, g in enumerate(scenario.agents.groups)}
        dialer = spec.dialer
        self.test = [index[g] for g in dialer.test_groups]
        self.target = [index[g] for g in dialer.target_groups]
        self.takers = [index[s.group] for s in scenario.route(spec.call_type)]
        self.ctype = list(scenario.call_types).index(spec.call_type)
        reach = spec.reach if isinstance(spec.reach, dict) else {"00:00": spec.reach}
        self._reach_at = [parse_clock(k) for k in reach]
        self._reach = list(reach.values())
        self.warmup, self.horizon = scenario.warmup, scenario.horizon_s
        # its own streams: a campaign added to a scenario moves no other draw
        self._u = uniforms(streams(f"outbound.{name}.reach"))
        ctype = scenario.call_types[spec.call_type]
        self._handle = BatchSampler(ctype.handle_time, streams(f"outbound.{name}.handle"))
        self._patience = BatchSampler(spec.patience, streams(f"outbound.{name}.patience"))
        acw = scenario.agents.after_call_work
        self._acw = (
            BatchSampler(acw, streams(f"outbound.{name}.after_call_work"))
            if acw is not None
            else None
        )
        self._add = calls.appender(
            "arrival", "call_type", "origin", "resolved", "patience", "handle", "outcome"
        )
        self._minute, self._in_minute, self._total = -1, 0, 0  # for _bound
        self.waiting: deque[int] = deque()
        self.ringing = 0
        self.active = False
        self.counts = {"dialed": 0, "reached": 0, "served": 0, "mismatched": 0}
        """Numbers dialed, customers reached, calls answered and customers who hung up
        waiting (mismatches), of the numbers dialed inside [warm-up, horizon)."""
        self.opening = Opening.from_hours(
            dialer.hours, scenario.horizon.start_weekday, scenario.horizon.days
        )

    def connect(self) -> None:
        """Hand the sources to the pool and put the active hours on the agenda."""
        reached = _Reached(self)
        for g in self.takers:
            self.pool.add_source(g, reached, first=self.spec.before_inbound)
        for g in sorted(set(self.test) | set(self.target)):
            self.pool.add_source(g, self)
        for start, stop in zip(self.opening.opens, self.opening.closes, strict=True):
            if start < min(stop, self.horizon):  # (day -1's window may end before 0)
                self.env.later(start, self._switch, True)  # delays from 0: times of the run
                self.env.later(min(stop, self.horizon), self._switch, False)

    def _switch(self, now: float, on: bool) -> None:
        """The active hours begin (and the dialer looks at once) or end."""
        if on == self.active:
            return
        self.active = on
        self.pool.pending[0] += 1 if on else -1
        if on:
            self._dial(now, -1)

    # --- the dialer as a work source ---------------------------------------------------------

    def _look(self, g: int, now: float) -> int | None:
        """An agent of group ``g`` freed up with nothing else to take: the dialer looks, and
        gives it a reached customer when it is the one to answer."""
        if not self.active:
            return None
        return self._dial(now, g)

    def _dial(self, now: float, spare: int) -> int | None:
        """The threshold rule; ``spare``: the group of the agent that just freed up (counted
        free; -1: none). Returns a reached customer for that agent, or None."""
        free = self.pool.free
        dialer = self.spec.dialer
        n_test = sum(len(free[h]) for h in self.test) + (spare in self.test)
        if n_test < dialer.min_free:
            return None
        n_target = sum(len(free[h]) for h in self.target) + (spare in self.target)
        if n_target < 1:
            return None
        n = math.floor(dialer.kappa * n_target + 0.5) + dialer.c - self.ringing
        if n <= 0:
            return None
        i = bisect.bisect_right(self._reach_at, now % DAY) - 1
        p = self._reach[i]  # before the first time of day: the day's last (i = -1)
        counted = self.warmup <= now < self.horizon
        mine = None
        for _ in range(n):
            reached = self._u() <= p
            if counted:
                self.counts["dialed"] += 1
            if dialer.ring_time > 0:
                self.ringing += 1
                self.env.later(dialer.ring_time, self._rang, reached)
            elif reached:
                cid = self._reached(now, spare if mine is None else -1)
                if cid is not None:
                    mine = cid
        return mine

    def _rang(self, now: float, reached: bool) -> None:
        """A dialed number's ringing is over: a reached customer is routed."""
        self.ringing -= 1
        if reached:
            self._reached(now, -1)

    def _reached(self, now: float, spare: int) -> int | None:
        """A reached customer: its call row; the first group of the route with a free agent
        answers (the spare agent, of group ``spare``, counted among them and returned for the
        caller to begin), else it waits and its patience starts."""
        self._bound(now)
        patience = self._patience()
        cid = self._add(
            now, self.ctype, int(Origin.OUTBOUND), True, patience, self._handle(), _ARRIVING
        )
        self.calls.customer[cid] = cid  # a customer of its own (first calls: their id too)
        if self.warmup <= now < self.horizon:
            self.counts["reached"] += 1
        free = self.pool.free
        for h in self.takers:
            if h == spare:
                return cid
            if free[h]:
                self.answer(now, cid, h, free[h].pop())
                return None
        self.calls.outcome[cid] = _WAITING
        self.waiting.append(cid)
        self.pool.pending[0] += 1
        heappush(self.env.agenda, (now + patience, self.env.next_seq(), self._give_up, cid))
        return None

    def _bound(self, now: float) -> None:
        """Stop a run whose dialer runs away: more reached customers in one simulated minute
        than :data:`AGAIN_FLOOR` or 100 per agent of the route on duty (handle times of zero
        make a loop without progress in time), or more in the run than ``--max-calls``."""
        minute = int(now // 60)
        if minute != self._minute:
            self._minute, self._in_minute = minute, 0
        self._in_minute += 1
        self._total += 1
        if self._in_minute > AGAIN_FLOOR:
            on_duty = sum(self.pool.on_duty(h) for h in self.takers)
            if self._in_minute > max(AGAIN_FLOOR, 100 * on_duty):
                raise SimulationLimitError(
                    f"outbound campaign {self.name}: more than {self._in_minute - 1:,} "
                    f"customers reached in the simulated minute from t = {minute * 60:,} s; "
                    "the dialer loops without progress (check the handle time of its call "
                    "type, kappa and c)"
                )
        if self._total > max_calls():
            raise SimulationLimitError(
                f"outbound campaign {self.name}: more than {max_calls():,} customers reached "
                "(raise --max-calls, or check kappa, c and the reach chance)"
            )

    # --- the reached customers ---------------------------------------------------------------

    def take_waiting(self, g: int, now: float) -> int | None:
        """The reached customer waiting longest (group ``g`` is of the route), or None."""
        waiting, outcome = self.waiting, self.calls.outcome
        while waiting and outcome[waiting[0]] != _WAITING:
            waiting.popleft()  # hung up: removed lazily
        if not waiting:
            return None
        self.pool.pending[0] -= 1
        return waiting.popleft()

    def answer(self, now: float, cid: int, g: int, agent: int) -> None:
        """``agent`` of group ``g`` talks to reached customer ``cid``; the pool frees it after
        the talk (and any after-call work)."""
        calls = self.calls
        end = now + calls.handle[cid] * self.factor[g]
        release = end if self._acw is None else end + self._acw()
        calls.outcome[cid] = _ANSWERED
        calls.answer[cid], calls.end[cid], calls.release[cid] = now, end, release
        calls.group[cid], calls.agent[cid] = g, agent
        if self.warmup <= calls.arrival[cid] < self.horizon:
            self.counts["served"] += 1
        heappush(self.env.agenda, (release, self.env.next_seq(), self.pool.release, agent))

    def _give_up(self, now: float, cid: int) -> None:
        """A reached customer's patience runs out before an agent is free: a mismatch."""
        calls = self.calls
        if calls.outcome[cid] != _WAITING:
            return
        calls.outcome[cid], calls.end[cid] = _ABANDONED, now
        self.pool.pending[0] -= 1
        if self.warmup <= calls.arrival[cid] < self.horizon:
            self.counts["mismatched"] += 1


def campaigns(
    env: ModelEnvironment,
    scenario: Scenario,
    streams: Streams,
    calls: CallLog,
    pool: AgentPool,
    factor: list[float],
) -> list[OutboundCampaign]:
    """The scenario's campaigns, connected to the pool (none without ``outbound:``)."""
    if scenario.outbound is None:
        return []
    made = [
        OutboundCampaign(env, scenario, name, spec, streams, calls, pool, factor)
        for name, spec in scenario.outbound.campaigns.items()
    ]
    for campaign in made:
        campaign.connect()
    return made
