"""Call-backs (``routing.callback``): callers who leave the queue to be called back, and the
call-backs agents place, a work source of the agent pool.

A caller is offered a call-back when reaching the queue (``offer: always``) or when still
waiting after ``offer.after``; the share ``accept`` takes it and leaves the queue (the call's
outcome CALLBACK). The call-back waits for an agent of the call type's route:

- ``when_idle``: a freed agent asks the call queues first and this source after them, so a
  call-back is placed only when no caller waits for that agent (non-preemptive priority);
- ``in_turn`` (virtual hold): this source is asked first, and gives a call-back whose place in
  the queue (its request) comes before every caller waiting for that agent.

A call-back asked for while an agent of the type's first groups is free is placed at once.
An attempt reaches the customer with probability ``reach``: the agent talks for the call's
handle time (times the group's factor, plus after-call work) and the call is CALLED_BACK; what
follows an answered call follows it too (the router's listeners: business, calls made again). An
attempt that fails takes no agent time; the call-back is tried again ``retry_after`` later, up
to ``retries`` more times, then the call is CALLBACK_FAILED. Accepting and reaching draw from
their own streams (``callback.accept``, ``callback.reach``), so a scenario without call-backs
draws nothing here and the others' draws do not shift.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from heapq import heappush

from sim.model.contact_center import ContactCenter
from sim.model.events import ModelEnvironment
from sim.model.streams import Streams
from sim.records.callbacks import CALLBACK_COLUMNS, CallbackState
from sim.records.calls import CallLog, Outcome
from sim.records.storage import ColumnLog, Rows
from sim.scenario.schema import Scenario

__all__ = ["Callbacks"]

_WAITING = int(Outcome.WAITING)
_CALLBACK = int(Outcome.CALLBACK)
_CALLED_BACK = int(Outcome.CALLED_BACK)
_FAILED = int(Outcome.CALLBACK_FAILED)


class Callbacks:
    """The call-backs of one replication: the door callers come through (:attr:`door`, in
    place of the router's ``offer``), the call-backs waiting per call type, their records."""

    whole = True
    """A call-back takes its agent whole (a voice call)."""

    def __init__(
        self,
        env: ModelEnvironment,
        scenario: Scenario,
        streams: Streams,
        calls: CallLog,
        center: ContactCenter,
    ):
        spec = scenario.routing.callback
        if spec is None:
            raise ValueError("Callbacks: the scenario has no routing.callback")
        self.env, self.calls, self.center, self.pool = env, calls, center, center.pool
        self.accept, self.reach = spec.accept, spec.reach
        self.retries, self.retry_after = spec.retries, spec.retry_after
        self.in_turn = spec.placed == "in_turn"
        self._accepts = streams("callback.accept")
        self._reaches = streams("callback.reach")
        self.log = ColumnLog(CALLBACK_COLUMNS)
        self._add = self.log.appender("call", "arrival", "request")
        self._ready_at: list[float] = []  # per call-back: its place (request or retry time)
        self.waiting: list[deque[int]] = [deque() for _ in scenario.call_types]
        # per group: the call types whose call-backs it places (those whose route it is in)
        self.types_of = [list(types) for types in center.types_of]
        self.take: Callable[[int, float], int | None] = self._take  # the WorkSource protocol
        self.begin: Callable[[float, int, int, int], None] = self._begin
        for g, types in enumerate(self.types_of):
            if not types:
                continue
            if self.in_turn:  # asked before the call queues: it compares places itself
                self.pool.sources[g].insert(0, (self.take, self.begin))
            else:
                self.pool.add_source(g, self)
        self.door: Callable[[float, int], None] = (
            self._offer_always if spec.offer is None else self._offer_after(spec.offer.after)
        )

    # --- callers: offered, accepting -----------------------------------------------------

    def _offer_always(self, now: float, cid: int) -> None:
        """A caller reaches the queue: offered a call-back, it takes it or queues as usual."""
        if self._accepts.random() < self.accept:
            self._request(now, cid)
        else:
            self.center.offer(now, cid)

    def _offer_after(self, after: float) -> Callable[[float, int], None]:
        center, outcome = self.center, self.calls.outcome
        agenda, next_seq = self.env.agenda, self.env.next_seq
        late = self._late_offer

        def door(now: float, cid: int) -> None:
            """A caller reaches the queue; still waiting ``after`` later, it is offered."""
            center.offer(now, cid)
            if outcome[cid] == _WAITING:
                heappush(agenda, (now + after, next_seq(), late, cid))

        return door

    def _late_offer(self, now: float, cid: int) -> None:
        if self.calls.outcome[cid] != _WAITING:
            return  # answered or gone
        if self._accepts.random() < self.accept:
            self.center.queues.left(now)  # the queue forgets it lazily, as an abandoned call
            self._request(now, cid)

    def _request(self, now: float, cid: int) -> None:
        self.calls.outcome[cid] = _CALLBACK
        rid = self._add(cid, self.calls.arrival[cid], now)
        self._ready_at.append(now)
        self._ready(now, rid)

    def _ready(self, now: float, rid: int) -> None:
        """Call-back ``rid`` may be placed from ``now``: on the free agent of its type's first
        groups that the type's routing policy picks (none of their callers waits then), else
        it waits for one."""
        ctype = self.calls.call_type[self.log.call[rid]]
        self._ready_at[rid] = now
        chosen = self.center.policy[ctype].pick(self.center.first_groups[ctype], now)
        if chosen is not None:
            self.begin(now, rid, *chosen)
            return
        self.waiting[ctype].append(rid)
        self.pool.pending[0] += 1

    # --- the work source ---------------------------------------------------------------------

    def _take(self, g: int, now: float) -> int | None:
        """The call-back waiting longest that group ``g`` places (in turn: only if no caller
        waiting for ``g`` came before it), removed; or None."""
        waiting, ready_at = self.waiting, self._ready_at
        best = -1
        for c in self.types_of[g]:
            if waiting[c] and (best < 0 or ready_at[waiting[c][0]] < ready_at[waiting[best][0]]):
                best = c
        if best < 0:
            return None
        if self.in_turn and self._oldest_caller(g, now) < ready_at[waiting[best][0]]:
            return None
        self.pool.pending[0] -= 1
        return waiting[best].popleft()

    def _oldest_caller(self, g: int, now: float) -> float:
        """The queue entry of the longest-waiting caller group ``g`` may take now (inf: none)."""
        center = self.center
        queues, outcome, entry = center.queues.queues, self.calls.outcome, self.calls.queue_entry
        oldest = float("inf")
        for q, after, _prio, _step in center.serves[g]:
            queue = queues[q]
            while queue and outcome[queue[0]] != _WAITING:
                queue.popleft()  # gone: removed lazily, as the queues' own pick does
            if queue:
                t_in = entry[queue[0]]
                if t_in < oldest and not (after and now - t_in < after):
                    oldest = t_in
        return oldest

    def _begin(self, now: float, rid: int, g: int, agent: int) -> None:
        """``agent`` of group ``g`` calls the customer of call-back ``rid``: reached, it talks
        (the agent's release on the agenda); not reached, the agent is free at once and the
        call-back is tried again later, or has failed."""
        log, calls, center = self.log, self.calls, self.center
        cid = log.call[rid]
        log.attempts[rid] += 1
        agenda, next_seq, release = self.env.agenda, self.env.next_seq, self.pool.release
        if self.reach >= 1.0 or self._reaches.random() < self.reach:
            talk = calls.handle[cid] * center.factor[g]
            busy = talk if center.acw is None else talk + center.acw()
            log.state[rid], log.reached[rid] = int(CallbackState.REACHED), now
            calls.outcome[cid], calls.answer[cid] = _CALLED_BACK, now
            calls.agent[cid], calls.group[cid] = agent, g
            calls.end[cid], calls.release[cid] = now + talk, now + busy
            heappush(agenda, (now + busy, next_seq(), release, agent))
            for tracker in center._work_trackers:
                tracker.assigned(g, now, now + busy)
            for listener in center._handled_by_type[2 * calls.call_type[cid] + calls.resolved[cid]]:
                listener(cid, now + talk)  # as an answered call: redials, business
            return
        heappush(agenda, (now, next_seq(), release, agent))  # free again by the one path
        if log.attempts[rid] <= self.retries:
            heappush(agenda, (now + self.retry_after, next_seq(), self._ready, rid))
            return
        log.state[rid] = int(CallbackState.FAILED)
        calls.outcome[cid], calls.end[cid] = _FAILED, now

    def freeze(self) -> Rows:
        """The call-back records (call-backs still open at the horizon: state OPEN)."""
        return self.log.freeze()
