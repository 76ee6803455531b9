"""Delivery: orders, the channel each one takes, attempts by couriers or a company, payment.

Owns an order from its creation (an accepted sales call, a converted lead) to delivered, failed
(returned after the last attempt) or open at the horizon. Complaint calls caused by deliveries
go back to the callers through ``schedule_call``, so they load the agents like any call.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import simpy

from sim.model.calendar import Opening, channel_capacity
from sim.model.crew import Crew
from sim.model.events import call_later
from sim.model.records import NAN, PAYMENTS, CallLog, ColumnLog, OrderState, Origin, Payment
from sim.model.streams import Streams
from sim.scenario.distributions import BatchSampler, uniforms
from sim.scenario.schema import Channel, DeliveryRule, Scenario
from sim.scenario.units import DAY, WEEKDAYS, parse_clock

__all__ = ["ATTEMPT_COLUMNS", "ORDER_COLUMNS", "SOURCES", "Delivery"]

SOURCES = ("call", "lead")

ORDER_COLUMNS: dict[str, tuple[type, object]] = {
    "created": (float, NAN),  # s
    "source": (int, 0),  # index in SOURCES
    "customer": (int, 0),
    "tier": (int, 0),
    "payment": (int, int(Payment.ONLINE)),  # Payment
    "value": (float, 0.0),  # currency
    "channel": (int, -1),  # -1: not yet routed (waiting for capacity)
    "dispatch_day": (int, -1),  # 0-based day whose capacity it uses
    "deferred": (int, 0),  # days it waited because its channels were full
    "attempts": (int, 0),
    "first_attempt": (float, NAN),  # s, start of the first attempt
    "state": (int, 0),  # OrderState
    "closed": (float, NAN),  # s, delivered or returned
    "cost": (float, 0.0),  # currency, attempts made
    "complaint_at": (float, NAN),  # s, when the delivery's complaint call comes (nan: none)
}

ATTEMPT_COLUMNS: dict[str, tuple[type, object]] = {
    "order": (int, 0),
    "channel": (int, 0),
    "start": (float, NAN),  # s, courier leaves (company: the attempt, start == end)
    "end": (float, NAN),  # s, courier free again
    "success": (bool, False),
}


class _Lane:
    """One channel while the model runs: its capacity per day, and couriers (or a company)."""

    def __init__(self, index: int, name: str, spec: Channel, scenario: Scenario, streams: Streams):
        self.index, self.name, self.spec = index, name, spec
        days = scenario.horizon.days
        first = WEEKDAYS.index(scenario.horizon.start_weekday)
        hours = spec.hours
        worked = None if hours is None else hours.days
        self.works = [
            worked is None or WEEKDAYS[(first + d) % 7] in worked for d in range(days + 8)
        ]
        if spec.cutoff is not None:
            self.cutoff_s = parse_clock(spec.cutoff)
        else:  # couriers: orders taken until their hours end
            start = hours.start_s if hours is not None else 0.0
            self.cutoff_s = min(start + (hours.length_s if hours is not None else DAY), DAY)
        self.start_s = hours.start_s if hours is not None else 0.0
        self.capacity = channel_capacity(spec)
        self.used = [0] * (days + 8)
        self.success = uniforms(streams(f"delivery.{name}.success"), 256)
        self.complaint = uniforms(streams(f"delivery.{name}.complaint"), 256)
        duration = spec.service_time if not spec.is_company else spec.lead_time
        self.duration = BatchSampler(duration, streams(f"delivery.{name}.time"), 256)
        self.opening = (
            Opening.from_hours(hours, scenario.horizon.start_weekday, days)
            if not spec.is_company
            else None
        )
        self.crew: Crew | None = None

    def dispatch_day(self, t: float) -> int:
        """The day whose capacity an order routed at ``t`` uses (after the cut-off: the next
        working day)."""
        d = int(t // DAY)
        if t - d * DAY >= self.cutoff_s:
            d += 1
        while d < len(self.works) - 1 and not self.works[d]:
            d += 1
        return d

    def take(self, t: float) -> int | None:
        """Book capacity for an order routed at ``t``: its dispatch day, or None when full."""
        d = self.dispatch_day(t)
        if d < len(self.used) and self.used[d] >= self.capacity:
            return None
        if d < len(self.used):
            self.used[d] += 1
        return d


class Delivery:
    """Orders, routing rules, channel capacity, attempts, payment and complaint calls."""

    def __init__(
        self,
        env: simpy.Environment,
        scenario: Scenario,
        streams: Streams,
        calls: CallLog,
        schedule_call: Callable,
    ):
        dl = scenario.delivery
        assert dl is not None
        self.env, self.sc, self.dl, self.calls = env, scenario, dl, calls
        self.schedule_call = schedule_call
        self.orders, self.attempts = ColumnLog(ORDER_COLUMNS), ColumnLog(ATTEMPT_COLUMNS)
        order = ("created", "source", "customer", "tier", "payment", "value")
        self._add_order = self.orders.appender(*order)
        self._add_attempt = self.attempts.appender("order", "channel", "start", "end")
        self.tiers = list(scenario.customer_tiers)
        self.lanes = [
            _Lane(i, name, ch, scenario, streams)
            for i, (name, ch) in enumerate(dl.channels.items())
        ]
        by_name = {lane.name: lane for lane in self.lanes}
        self.rules = [
            (
                self._matcher(rule),
                by_name[rule.use],
                by_name[rule.fallback] if rule.fallback else None,
            )
            for rule in dl.routing
        ]
        for lane in self.lanes:
            if lane.opening is not None:
                lane.crew = Crew(
                    env,
                    lane.spec.couriers,
                    lane.opening,
                    self._courier_work(lane),
                    self._courier_done(lane),
                    scenario.horizon_s,
                )
        self.creates = [c.creates == "delivery_order" for c in scenario.call_types.values()]
        self.accept = [c.accept_rate for c in scenario.call_types.values()]
        self._accept_u = uniforms(streams("delivery.accept"), 256)
        pay = dl.payment
        self._pay_cdf = np.cumsum([pay.cash, pay.pos, pay.online]).tolist()
        self._pay_u = uniforms(streams("delivery.payment"), 256)
        self._value = (
            BatchSampler(dl.order_value, streams("delivery.order_value"), 256)
            if dl.order_value is not None
            else lambda: 0.0
        )
        types = list(scenario.call_types)
        self.complaint_type = (
            types.index(dl.complaint_call_type) if dl.complaint_call_type in types else -1
        )
        self._complaint_delay = BatchSampler(
            dl.complaint_delay, streams("delivery.complaint_delay"), 256
        )
        self._in_hand: dict[int, int] = {}  # order -> its running courier attempt row

    def _matcher(self, rule: DeliveryRule) -> Callable[[int, int, int], bool]:
        tiers = rule.when.values("tier")
        tier_ok = None if tiers is None else {self.tiers.index(t) for t in tiers}
        sources = rule.when.values("source")
        source_ok = None if sources is None else {SOURCES.index(s) for s in sources}
        payments = rule.when.values("payment")
        pay_ok = None if payments is None else {PAYMENTS.index(p) for p in payments}

        def match(tier: int, source: int, payment: int) -> bool:
            return (
                (tier_ok is None or tier in tier_ok)
                and (source_ok is None or source in source_ok)
                and (pay_ok is None or payment in pay_ok)
            )

        return match

    # --- intake -------------------------------------------------------------------------------

    def on_handled(self, cid: int, at: float) -> None:
        """A sales call's talk ends at ``at``: with chance ``accept_rate`` it becomes an order."""
        calls = self.calls
        ctype = calls.call_type[cid]
        if not self.creates[ctype] or self._accept_u() >= self.accept[ctype]:
            return
        if at < self.sc.horizon_s:
            call_later(self.env, at - self.env.now, self._from_call, cid)

    def _from_call(self, event) -> None:
        cid = event.value
        self.create_order(self.env.now, self.calls.customer[cid], self.calls.tier[cid], "call")

    def create_order(self, at: float, customer: int, tier: int, source: str) -> int:
        """A new order now (``at`` is the current time): payment, value, then a channel."""
        u = self._pay_u()
        payment = next((i for i, c in enumerate(self._pay_cdf) if u < c), 2)
        oid = self._add_order(at, SOURCES.index(source), customer, tier, payment, self._value())
        self._route(oid)
        return oid

    # --- routing ------------------------------------------------------------------------------

    def _route(self, oid: int) -> None:
        """First matching rule: its channel, or the fallback when that one is full that day;
        both full: try again at midnight (the order waits a day, counted in ``deferred``)."""
        orders, now = self.orders, self.env.now
        key = (orders.tier[oid], orders.source[oid], orders.payment[oid])
        for match, use, fallback in self.rules:
            if not match(*key):
                continue
            for lane in (use, fallback):
                if lane is None:
                    continue
                day = lane.take(now)
                if day is not None:
                    self._dispatch(oid, lane, day)
                    return
            orders.deferred[oid] += 1
            midnight = (math.floor(now / DAY) + 1) * DAY
            if midnight < self.sc.horizon_s:
                call_later(self.env, midnight - now, lambda ev: self._route(ev.value), oid)
            return

    def _dispatch(self, oid: int, lane: _Lane, day: int) -> None:
        orders, now = self.orders, self.env.now
        orders.channel[oid], orders.dispatch_day[oid] = lane.index, day
        if lane.crew is not None:
            ready = max(now, day * DAY + lane.start_s)
            lane.crew.submit(oid, ready, ready)
        else:  # a company picks orders up at its cut-off and attempts after the lead time
            leave = max(now, day * DAY + lane.cutoff_s)
            self._company_attempt_at(oid, lane, leave + lane.duration())

    # --- attempts -----------------------------------------------------------------------------

    def _courier_work(self, lane: _Lane) -> Callable[[int], float]:
        def work(oid: int) -> float:
            now, duration = self.env.now, lane.duration()
            self._start_attempt(oid)
            self._in_hand[oid] = self._add_attempt(oid, lane.index, now, now + duration)
            return duration

        return work

    def _courier_done(self, lane: _Lane) -> Callable[[int], None]:
        def done(oid: int) -> None:
            self._attempt_result(oid, lane, self._in_hand.pop(oid))

        return done

    def _company_attempt_at(self, oid: int, lane: _Lane, at: float) -> None:
        if at >= self.sc.horizon_s:
            return
        call_later(
            self.env, at - self.env.now, lambda ev: self._company_attempt(ev.value, lane), oid
        )

    def _company_attempt(self, oid: int, lane: _Lane) -> None:
        now = self.env.now
        self._start_attempt(oid)
        row = self._add_attempt(oid, lane.index, now, now)
        self._attempt_result(oid, lane, row)

    def _start_attempt(self, oid: int) -> None:
        orders = self.orders
        orders.attempts[oid] += 1
        if orders.attempts[oid] == 1:
            orders.first_attempt[oid] = self.env.now

    def _attempt_result(self, oid: int, lane: _Lane, row: int) -> None:
        """Delivered, or retried after ``retry_delay``, or returned after the last attempt."""
        orders, spec, now = self.orders, lane.spec, self.env.now
        orders.cost[oid] += spec.cost_per_attempt
        first = orders.attempts[oid] == 1
        p = (
            spec.first_attempt_success
            if first or spec.retry_success is None
            else spec.retry_success
        )
        if lane.success() < p:
            self.attempts.success[row] = True
            orders.state[oid], orders.closed[oid] = int(OrderState.DELIVERED), now
            if spec.complaint_rate > 0 and lane.complaint() < spec.complaint_rate:
                at = now + self._complaint_delay()
                orders.complaint_at[oid] = at
                self.schedule_call(
                    at,
                    orders.customer[oid],
                    orders.tier[oid],
                    self.complaint_type,
                    0,
                    Origin.DELIVERY_COMPLAINT,
                )
        elif orders.attempts[oid] < spec.max_attempts:
            retry = now + spec.retry_delay  # couriers: then the next moment inside their hours
            if lane.crew is not None:
                lane.crew.submit(oid, retry, retry)
            else:
                self._company_attempt_at(oid, lane, retry)
        else:
            orders.state[oid], orders.closed[oid] = int(OrderState.FAILED), now
