"""The e-mail backlog: contacts of channel ``email`` (and other deferred work), worked between
calls.

An e-mail is a contact like a call (its row, type, tier and handle time are the callers'), but
it never hangs up (the tier's patience does not apply) and it waits in a backlog that an agent
takes from only when no call it may serve is waiting: the backlog is a work source of the agent
pool (:class:`~sim.model.agents.WorkSource`, whole items) asked *after* the call queues, and an
arriving e-mail goes to an agent only if one of its groups has an empty agent (an agent that
is empty has no waiting call it may take). Non-preemptive: an agent finishes the e-mail it
holds before the next call. The groups of an e-mail type are those of its route, in route order
(an ``after:`` wait does not apply: an e-mail has time), first come first served across the
types a group serves. No random draws of its own: adding the channel to a call type does not
move any other stream (common random numbers).

The e-mail's call row is written as a call's (``WAITING``, then ``ANSWERED`` with its answer,
agent, group and end), so occupancy and the call log see the agent's time; its own row in
:class:`~sim.records.emails.EmailLog` keeps what the e-mail KPIs read. An e-mail creates no
business and is never made again (the handled-call listeners are the router's).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from heapq import heappush

from sim.model.agents import AgentPool
from sim.model.callers import door_by_type
from sim.model.events import ModelEnvironment
from sim.records.calls import CallLog, Outcome
from sim.records.emails import EmailLog
from sim.scenario.schema import Scenario

__all__ = ["EmailBacklog", "email_types"]

_ANSWERED = int(Outcome.ANSWERED)
_WAITING = int(Outcome.WAITING)


def email_types(scenario: Scenario) -> list[int]:
    """Indexes of the call types of channel ``email`` (deferred work)."""
    return [c for c, ct in enumerate(scenario.call_types.values()) if ct.channel == "email"]


class EmailBacklog:
    """The backlog of e-mails: a FIFO per e-mail type, taken by agents of its route's groups
    when they free up and no call they may serve is waiting."""

    whole = True
    """An e-mail takes its agent whole (nothing beside it, like a voice call)."""
    take: Callable[[int, float], int | None]
    begin: Callable[[float, int, int, int], None]

    def __init__(
        self,
        env: ModelEnvironment,
        scenario: Scenario,
        calls: CallLog,
        pool: AgentPool,
        route_groups: list[tuple[int, ...]],
    ):
        """``route_groups[c]``: the groups of call type ``c``'s route, in order. Each group
        that serves an e-mail type gets the backlog as a work source: call after the call
        queues were added (:class:`~sim.model.contact_center.ContactCenter`)."""
        self.env, self.calls, self.pool = env, calls, pool
        self.log = EmailLog()
        self.types = email_types(scenario)
        self.is_email = [False] * len(scenario.call_types)
        for c in self.types:
            self.is_email[c] = True
        self.groups_of = {c: route_groups[c] for c in self.types}
        factors = scenario.agents.handle_time_factor
        self.factor = [factors.get(g, 1.0) for g in scenario.agents.groups]
        self.waiting: dict[int, deque[int]] = {c: deque() for c in self.types}
        self.types_of: list[list[int]] = [[] for _ in scenario.agents.groups]
        for c in self.types:
            for g in route_groups[c]:
                self.types_of[g].append(c)
        self._add = self.log.appender("call", "call_type", "arrival", "entry")
        self.take, self.begin = self.oldest, self.start  # as a work source of the pool
        for g, types in enumerate(self.types_of):
            if types:
                pool.add_source(g, self)

    def door(self, offer: Callable[[float, int], None]) -> Callable[[float, int], None]:
        """The callers' door ``(now, cid)``: an e-mail to the backlog, any other contact to
        ``offer`` (the router's, or another kind of work's door in front of it). Only a
        scenario with e-mail types puts this in front of the router."""
        return door_by_type(self.is_email, self.calls.call_type, self.arrive, offer)

    def arrive(self, now: float, cid: int) -> None:
        """E-mail ``cid`` reaches the backlog: an empty agent of its groups (in route order,
        the one freed last) takes it now, else it waits."""
        calls = self.calls
        ctype = calls.call_type[cid]
        item = self._add(cid, ctype, calls.arrival[cid], now)
        calls.outcome[cid] = _WAITING
        free = self.pool.free
        for g in self.groups_of[ctype]:
            if free[g]:
                self.start(now, item, g, free[g].pop())
                return
        self.waiting[ctype].append(item)
        self.pool.pending[0] += 1

    def oldest(self, g: int, now: float) -> int | None:
        """The e-mail that has waited longest among the types group ``g`` serves, or None."""
        best, entry = None, self.log.entry
        for c in self.types_of[g]:
            queue = self.waiting[c]
            if queue and (best is None or entry[queue[0]] < entry[self.waiting[best][0]]):
                best = c
        if best is None:
            return None
        self.pool.pending[0] -= 1
        return self.waiting[best].popleft()

    def start(self, now: float, item: int, g: int, agent: int) -> None:
        """``agent`` of group ``g`` takes e-mail ``item``: its rows are written and the agent's
        release put on the agenda at the end of its handling (handle time x the group's
        factor; no after-call work)."""
        log, calls = self.log, self.calls
        cid = log.call[item]
        end = now + calls.handle[cid] * self.factor[g]
        log.start[item], log.end[item] = now, end
        calls.outcome[cid] = _ANSWERED
        calls.answer[cid], calls.end[cid], calls.release[cid] = now, end, end
        calls.agent[cid], calls.group[cid] = agent, g
        env = self.env
        heappush(env.agenda, (end, env.next_seq(), self.pool.release, agent))
