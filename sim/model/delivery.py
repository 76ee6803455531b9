"""Delivery: orders, the channel each one takes, attempts by couriers or a company, payment.

Owns an order from its creation (an accepted sales call, a converted lead) to delivered, failed
(returned after the last attempt) or open at the horizon. Complaint calls caused by deliveries
go back to the callers through ``schedule_call``, so they load the agents like any call.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Callable

import numpy as np

from sim.model.calendar import Opening, weekday_of
from sim.model.crew import Crew
from sim.model.events import ModelEnvironment
from sim.model.streams import Streams
from sim.records.business import PAYMENTS, OrderState, Payment
from sim.records.calls import CallLog, Origin
from sim.records.storage import NAN, ColumnLog
from sim.scenario.distributions import SMALL_BATCH, Distribution, draws, uniform_draws
from sim.scenario.fulfilment_schema import CompanyChannel, CourierChannel
from sim.scenario.schema import Channel, DeliveryRule, Scenario
from sim.scenario.units import DAY, parse_clock

__all__ = ["ATTEMPT_COLUMNS", "ORDER_COLUMNS", "SOURCES", "Delivery"]

SOURCES = ("call", "lead")
_SOURCE_CODES = {name: i for i, name in enumerate(SOURCES)}
_LAST_PAYMENT = len(PAYMENTS) - 1
_DELIVERED, _FAILED = int(OrderState.DELIVERED), int(OrderState.FAILED)

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


DAYS_AHEAD = 8
"""Dispatch days booked past the horizon: an order routed on the last day after the cut-off
may wait up to a week for its channel's next working day."""


class _Lane:
    """One channel while the model runs: its capacity per dispatch day and its attempts.

    ``start(oid, lane, start, end)`` is called when an attempt starts (now) and
    ``result(oid, lane, row, now)`` when it ends; how an order reaches its attempts is the
    kind's own story (the subclasses).
    """

    def __init__(
        self,
        index: int,
        name: str,
        spec: Channel,
        scenario: Scenario,
        streams: Streams,
        cutoff_s: float,
        duration: Distribution,
    ):
        self.index, self.name, self.spec = index, name, spec
        days = scenario.horizon.days
        hours = getattr(spec, "hours", None)
        worked = None if hours is None else hours.days
        self.works = [
            worked is None or weekday_of(scenario, d) in worked for d in range(days + DAYS_AHEAD)
        ]
        self.cutoff_s = cutoff_s
        # the first working day from day d on (the last day booked when none is left)
        self._working_from = list(range(len(self.works)))
        for d in reversed(range(len(self.works) - 1)):
            if not self.works[d]:
                self._working_from[d] = self._working_from[d + 1]
        self.capacity = spec.orders_per_day
        self.used = [0] * (days + DAYS_AHEAD)
        self.success = uniform_draws(streams(f"delivery.{name}.success"), SMALL_BATCH)
        self.complaint = uniform_draws(streams(f"delivery.{name}.complaint"), SMALL_BATCH)
        self.duration = draws(duration, streams(f"delivery.{name}.time"), SMALL_BATCH)

    def take(self, t: float) -> int | None:
        """Book capacity for an order routed at ``t``: the day whose capacity it uses (after
        the cut-off: the next working day), or None when that day is full."""
        d = int(t // DAY)
        d = self._working_from[d + 1 if t - d * DAY >= self.cutoff_s else d]
        if self.used[d] >= self.capacity:
            return None
        self.used[d] += 1
        return d

    def dispatch(self, oid: int, now: float, day: int) -> None:
        """The order has its capacity on ``day``: make its first attempt in time."""
        raise NotImplementedError

    def retry(self, oid: int, at: float) -> None:
        """The attempt failed: try again from ``at``."""
        raise NotImplementedError

    def open(self, horizon: float) -> None:
        """Put what works by the clock on the event queue, once, before the run."""
        raise NotImplementedError


class _CourierLane(_Lane):
    """Couriers who take orders in their hours, one attempt each, in order of readiness."""

    spec: CourierChannel
    crew: Crew[int]  # made by open()

    def __init__(self, index, name, spec: CourierChannel, scenario, streams, env, start, result):
        hours = spec.hours
        self.start_s = hours.start_s if hours is not None else 0.0
        if spec.cutoff is not None:
            cutoff_s = parse_clock(spec.cutoff)
        else:  # orders taken until their hours end
            cutoff_s = min(self.start_s + (hours.length_s if hours is not None else DAY), DAY)
        super().__init__(index, name, spec, scenario, streams, cutoff_s, spec.service_time)
        self.env, self._start, self._result = env, start, result
        self.opening = Opening.from_hours(
            hours, scenario.horizon.start_weekday, scenario.horizon.days
        )
        self._in_hand: dict[int, int] = {}  # order -> its running attempt row

    def open(self, horizon: float) -> None:
        """Put the couriers to work (their opening times go on the event queue)."""
        self.crew = Crew(
            self.env, self.spec.couriers, self.opening, self._work, self._done, horizon
        )

    def dispatch(self, oid: int, now: float, day: int) -> None:
        ready = max(now, day * DAY + self.start_s)
        self.crew.submit(oid, ready, ready)

    def retry(self, oid: int, at: float) -> None:
        self.crew.submit(oid, at, at)  # then the next moment inside their hours

    def _work(self, oid: int, now: float) -> float:
        duration = self.duration()
        self._in_hand[oid] = self._start(oid, self, now, now + duration)
        return duration

    def _done(self, oid: int, now: float) -> None:
        self._result(oid, self, self._in_hand.pop(oid), now)


class _CompanyLane(_Lane):
    """A company that picks orders up at its cut-off and attempts them after the lead time."""

    def __init__(self, index, name, spec: CompanyChannel, scenario, streams, env, start, result):
        cutoff_s = parse_clock(spec.cutoff)
        super().__init__(index, name, spec, scenario, streams, cutoff_s, spec.lead_time)
        self.env, self.horizon = env, scenario.horizon_s
        self._schedule = env.later
        self._start, self._result = start, result

    def open(self, horizon: float) -> None:
        """Nothing to put on the event queue: attempts are scheduled order by order."""

    def dispatch(self, oid: int, now: float, day: int) -> None:
        leave = max(now, day * DAY + self.cutoff_s)
        self._attempt_at(oid, leave + self.duration())

    def retry(self, oid: int, at: float) -> None:
        self._attempt_at(oid, at)

    def _attempt_at(self, oid: int, at: float) -> None:
        if at >= self.horizon:
            return
        self._schedule(at - self.env.now, self._attempt, oid)

    def _attempt(self, now: float, oid: int) -> None:
        self._result(oid, self, self._start(oid, self, now, now), now)


# each kind's lane takes (index, name, its kind of spec, scenario, streams, env, start, result)
LANES: dict[type, Callable[..., _Lane]] = {
    CourierChannel: _CourierLane,
    CompanyChannel: _CompanyLane,
}
"""The model's lane class for each channel kind of the schema."""


class Delivery:
    """Orders, routing rules, channel capacity, attempts, payment and complaint calls."""

    def __init__(
        self,
        env: ModelEnvironment,
        scenario: Scenario,
        streams: Streams,
        calls: CallLog,
        schedule_call: Callable,
    ):
        dl = scenario.delivery
        assert dl is not None
        self.env, self.sc, self.dl, self.calls = env, scenario, dl, calls
        self._schedule = env.later
        self.horizon = scenario.horizon_s
        self.schedule_call = schedule_call
        self.orders, self.attempts = ColumnLog(ORDER_COLUMNS), ColumnLog(ATTEMPT_COLUMNS)
        order = ("created", "source", "customer", "tier", "payment", "value")
        self._add_order = self.orders.appender(*order)
        self._add_attempt = self.attempts.appender("order", "channel", "start", "end")
        self.tiers = list(scenario.customer_tiers)
        self.lanes = [
            LANES[type(ch)](
                i, name, ch, scenario, streams, env, self._start_attempt, self._attempt_result
            )
            for i, (name, ch) in enumerate(dl.channels.items())
        ]
        self.routes = self._route_table(dl.routing)
        for lane in self.lanes:
            lane.open(scenario.horizon_s)
        self.creates = [c.creates == "delivery_order" for c in scenario.call_types.values()]
        self.accept = [c.accept_rate for c in scenario.call_types.values()]
        self._accept_u = uniform_draws(streams("delivery.accept"), SMALL_BATCH)
        pay = dl.payment
        self._pay_cdf = np.cumsum([pay.cash, pay.pos, pay.online]).tolist()
        self._pay_u = uniform_draws(streams("delivery.payment"), SMALL_BATCH)
        self._value = (
            draws(dl.order_value, streams("delivery.order_value"), SMALL_BATCH)
            if dl.order_value is not None
            else lambda: 0.0
        )
        types = list(scenario.call_types)
        self.complaint_type = (
            types.index(dl.complaint_call_type) if dl.complaint_call_type in types else -1
        )
        self._complaint_delay = draws(
            dl.complaint_delay, streams("delivery.complaint_delay"), SMALL_BATCH
        )

    def _route_table(self, routing: list[DeliveryRule]) -> dict[tuple[int, ...], tuple]:
        """(tier, source, payment) codes -> the lanes (use, then fallback) of the first rule
        that matches; absent when none does. The combinations are few and known before the
        run, so routing an order is one look-up."""
        by_name = {lane.name: lane for lane in self.lanes}
        names = (self.tiers, SOURCES, PAYMENTS)
        table = {}
        for key in itertools.product(*(range(len(n)) for n in names)):
            values = [n[i] for n, i in zip(names, key, strict=True)]
            for rule in routing:
                allowed = (rule.when.values(f) for f in ("tier", "source", "payment"))
                if all(a is None or v in a for a, v in zip(allowed, values, strict=True)):
                    table[key] = tuple(by_name[c] for c in (rule.use, rule.fallback) if c)
                    break
        return table

    # --- intake -------------------------------------------------------------------------------

    def on_handled(self, cid: int, at: float) -> None:
        """A sales call's talk ends at ``at``: with chance ``accept_rate`` it becomes an order."""
        ctype = self.calls.call_type[cid]
        if not self.creates[ctype] or self._accept_u() >= self.accept[ctype]:
            return
        if at < self.horizon:
            self._schedule(at - self.env.now, self._from_call, cid)

    def _from_call(self, now: float, cid: int) -> None:
        self.create_order(now, self.calls.customer[cid], self.calls.tier[cid], "call")

    def create_order(self, at: float, customer: int, tier: int, source: str) -> int:
        """A new order now (``at`` is the current time): payment, value, then a channel."""
        # the first payment whose cumulative share exceeds u (u beyond the sum's rounding: last)
        payment = min(bisect.bisect_right(self._pay_cdf, self._pay_u()), _LAST_PAYMENT)
        source_code = _SOURCE_CODES[source]
        oid = self._add_order(at, source_code, customer, tier, payment, self._value())
        self._route(oid, (tier, source_code, payment))
        return oid

    # --- routing ------------------------------------------------------------------------------

    def _route(self, oid: int, key: tuple[int, int, int]) -> None:
        """First matching rule: its channel, or the fallback when that one is full that day;
        both full: try again at midnight (the order waits a day, counted in ``deferred``)."""
        lanes = self.routes.get(key)
        if lanes is None:
            return
        now = self.env.now
        for lane in lanes:
            day = lane.take(now)
            if day is not None:
                orders = self.orders
                orders.channel[oid], orders.dispatch_day[oid] = lane.index, day
                lane.dispatch(oid, now, day)
                return
        self.orders.deferred[oid] += 1
        midnight = (math.floor(now / DAY) + 1) * DAY
        if midnight < self.horizon:
            self._schedule(midnight - now, self._route_again, (oid, key))

    def _route_again(self, _now: float, order: tuple[int, tuple[int, int, int]]) -> None:
        self._route(*order)

    # --- attempts -----------------------------------------------------------------------------

    def _start_attempt(self, oid: int, lane: _Lane, start: float, end: float) -> int:
        """An attempt starts now (a company's lasts no time): count it, return its row."""
        orders = self.orders
        orders.attempts[oid] += 1
        if orders.attempts[oid] == 1:
            orders.first_attempt[oid] = start
        return self._add_attempt(oid, lane.index, start, end)

    def _attempt_result(self, oid: int, lane: _Lane, row: int, now: float) -> None:
        """Delivered, or retried after ``retry_delay``, or returned after the last attempt."""
        orders, spec = self.orders, lane.spec
        orders.cost[oid] += spec.cost_per_attempt
        first = orders.attempts[oid] == 1
        p = (
            spec.first_attempt_success
            if first or spec.retry_success is None
            else spec.retry_success
        )
        if lane.success() < p:
            self.attempts.success[row] = True
            orders.state[oid], orders.closed[oid] = _DELIVERED, now
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
            lane.retry(oid, now + spec.retry_delay)
        else:
            orders.state[oid], orders.closed[oid] = _FAILED, now
