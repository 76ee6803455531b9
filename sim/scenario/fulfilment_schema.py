"""Scenario schema of the business after the call: back office, delivery channels, payment.

Owns the `back_office:` and `delivery:` sections (the checks linking them to the calls are in
:mod:`sim.scenario.cross_checks`);
:mod:`sim.model.back_office` and :mod:`sim.model.delivery` simulate them.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, Discriminator, Field, Tag, field_validator, model_validator

from sim.scenario.distributions import Distribution, Duration
from sim.scenario.schema_types import (
    Clock,
    Model,
    Probability,
    RedialRule,
    Share,
    Weekday,
)
from sim.scenario.units import DAY, parse_clock

__all__ = [
    "BackOffice",
    "Channel",
    "CompanyChannel",
    "CourierChannel",
    "Delivery",
    "DeliveryRule",
    "Hours",
    "Payment",
]

MAX_ATTEMPTS = 100
"""Attempts per order or lead: far above practice, and a retry loop with no delay must end."""

# --- back office and delivery -----------------------------------------------------------------


def _finite_or_none(value: float | None) -> float | None:
    return None if value is not None and math.isinf(value) else value


Deadline = Annotated[Duration | None, AfterValidator(_finite_or_none)]
"""A deadline in seconds, or None (also for ``never``): no deadline, never due."""


class Hours(Model):
    """Opening hours: from `start` to `end` (an earlier end wraps past midnight) on `days`."""

    start: Clock = Field("00:00", description="clock time work starts")
    end: Clock = Field("24:00", description="clock time work ends (24:00 = midnight)")
    days: list[Weekday] | None = Field(None, description="weekdays worked; default every day")

    @property
    def start_s(self) -> float:
        return parse_clock(self.start)

    @property
    def length_s(self) -> float:
        """Length of one opening, seconds (start == end means around the clock)."""
        length = (parse_clock(self.end) - self.start_s) % DAY
        return length if length > 0 else DAY


class BackOfficeTeam(Model):
    """The back-office staff and when they work."""

    staff: int = Field(ge=0, description="people working the queue at the same time")
    hours: Hours = Field(default_factory=Hours, description="working hours; default all day")
    cost_per_hour: float | None = Field(
        None,
        ge=0,
        allow_inf_nan=False,
        description="cost of one staff hour, currency (used by sim size)",
    )


class Conversion(Model):
    """Chance a reached lead buys: ``initial x 0.5 ** (time from lead creation / half_life)``."""

    initial: Probability = Field(description="chance of buying when contacted at once")
    half_life: Duration = Field(gt=0, description="time for that chance to halve, seconds")


class LeadWork(Model):
    """Following up a lead: outbound contact attempts by the back office."""

    handle_time: Distribution = Field(description="staff time per contact attempt, seconds")
    deadline: Deadline = Field(
        None, description="lead closed within this of creation, seconds (none: no deadline)"
    )
    contact_success: Probability = Field(1.0, description="chance one attempt reaches them")
    max_attempts: int = Field(
        1, ge=1, le=MAX_ATTEMPTS, description="contact attempts before the lead is lost"
    )
    retry_delay: Duration = Field(
        4 * 3600.0,
        description="wait after a failed attempt before the next one (s; the "
        "next attempt also waits for working hours)",
    )
    conversion: Conversion = Field(description="chance a reached customer buys")
    creates: Literal["delivery_order", "nothing"] = Field(
        "delivery_order", description="what a converted lead becomes (nothing: no order modelled)"
    )


class WorkOrderWork(Model):
    """A work order: an unresolved complaint handled by the back office."""

    handle_time: Distribution = Field(description="staff time per work order, seconds")
    deadline: Deadline = Field(
        None, description="work order closed within this of creation, seconds (none: no deadline)"
    )
    resolution: Probability = Field(1.0, description="chance the work order resolves it")
    call_back: RedialRule | None = Field(
        None,
        description="unresolved: chance and delay of the customer calling again "
        "(default: redial.after_unresolved)",
    )


class BackOfficeWork(Model):
    """The kinds of work the back office does."""

    lead: LeadWork | None = Field(None, description="leads from lead_registration calls")
    work_order: WorkOrderWork | None = Field(None, description="work orders from complaints")


class BackOffice(Model):
    """A team working one queue of leads and work orders."""

    team: BackOfficeTeam = Field(description="staff and hours")
    work: BackOfficeWork = Field(default_factory=BackOfficeWork, description="kinds of work")
    discipline: Literal["earliest_deadline", "fifo"] = Field(
        "earliest_deadline", description="queue order: earliest deadline first, or FIFO"
    )


class _ChannelTerms(Model):
    """What every delivery channel has: attempts, their success, cost and complaints."""

    first_attempt_success: Probability = Field(1.0, description="chance an attempt delivers")
    retry_success: Probability | None = Field(
        None, description="chance a later attempt delivers (default: first_attempt_success)"
    )
    retry_delay: Duration = Field(
        DAY, description="wait after a failed attempt, seconds (couriers: then within hours)"
    )
    max_attempts: int = Field(
        1, ge=1, le=MAX_ATTEMPTS, description="attempts before the order fails (returned)"
    )
    cost_per_attempt: float = Field(
        0.0, ge=0, allow_inf_nan=False, description="cost of one attempt, currency"
    )
    complaint_rate: Probability = Field(
        0.0, description="share of deliveries that cause a complaint call"
    )


class CourierChannel(_ChannelTerms):
    """Couriers working hours: each attempt is made by one of them, inside their hours."""

    kind: Literal["couriers"] = Field(
        "couriers", description="channel kind (optional: given by the `couriers` key)"
    )
    couriers: int = Field(ge=0, description="couriers on duty")
    hours: Hours | None = Field(None, description="courier hours; attempts start inside them")
    service_time: Distribution = Field(description="travel plus hand-over per attempt, seconds")

    @field_validator("service_time")
    @classmethod
    def _takes_time(cls, value):
        if value.mean <= 0:  # capacity is couriers x hours / mean service time
            raise ValueError("service_time must have a mean above 0")
        return value

    daily_capacity: int | None = Field(
        None,
        ge=0,
        description="orders taken per day; default couriers x open hours / mean service_time",
    )
    cutoff: Clock | None = Field(
        None, description="orders after this leave the next day (default: end of hours)"
    )
    cost_per_courier_day: float = Field(
        0.0,
        ge=0,
        allow_inf_nan=False,
        description="cost of one courier for one working day, currency",
    )

    sized_by: ClassVar[str] = "couriers"
    """The key sim size searches for this kind."""

    @property
    def orders_per_day(self) -> float:
        """``daily_capacity``, or the attempts the couriers' hours allow on average
        (couriers x open hours / mean service time), rounded down."""
        if self.daily_capacity is not None:
            return float(self.daily_capacity)
        open_s = self.hours.length_s if self.hours is not None else DAY
        return float(math.floor(self.couriers * open_s / self.service_time.mean))

    @property
    def bought_capacity_cost(self) -> float:
        """Capacity bought per day whether used or not: none (couriers cost by the day)."""
        return 0.0

    @property
    def crew_size(self) -> int | None:
        """Workers whose hours are measured for utilisation: the couriers."""
        return self.couriers

    @property
    def cost_per_working_day(self) -> float:
        """Paid per working day whether or not there was work: the couriers' day cost."""
        return self.couriers * self.cost_per_courier_day

    def works_on(self, weekday: str) -> bool:
        return self.hours is None or self.hours.days is None or weekday in self.hours.days


class CompanyChannel(_ChannelTerms):
    """A courier company: takes up to `daily_capacity` orders a day, picks them up at the
    cut-off and attempts each after `lead_time`."""

    kind: Literal["company"] = Field(
        "company", description="channel kind (optional: a channel without `couriers`)"
    )
    daily_capacity: int = Field(ge=0, description="orders taken per day")
    cutoff: Clock = Field(description="orders after this leave the next day")
    lead_time: Distribution = Field(
        description="from pick-up at the cut-off to the first attempt, seconds"
    )
    cost_per_capacity_day: float | None = Field(
        None,
        ge=0,
        allow_inf_nan=False,
        description="cost of one order of daily_capacity for one day, currency (used by sim size)",
    )

    sized_by: ClassVar[str] = "daily_capacity"

    @property
    def orders_per_day(self) -> float:
        return float(self.daily_capacity)

    @property
    def bought_capacity_cost(self) -> float:
        return self.daily_capacity * (self.cost_per_capacity_day or 0.0)

    crew_size: ClassVar[int | None] = None  # no workers of ours to measure
    cost_per_working_day: ClassVar[float] = 0.0

    def works_on(self, weekday: str) -> bool:
        return True  # picks up every day


def _channel_kind(value: Any) -> str:
    """The kind of a channel: its `kind` key, else couriers when it has `couriers`."""
    if isinstance(value, dict):
        return value.get("kind") or ("couriers" if "couriers" in value else "company")
    return getattr(value, "kind", "company")


Channel = Annotated[
    Annotated[CourierChannel, Tag("couriers")] | Annotated[CompanyChannel, Tag("company")],
    Discriminator(_channel_kind),
]
"""A delivery channel: one class per kind, told apart by `kind` (or by the `couriers` key)."""


class RouteWhen(Model):
    """Conditions of a routing rule; each is one value or a list, all must hold."""

    tier: str | list[str] | None = Field(None, description="customer tier(s)")
    source: Literal["call", "lead"] | list[Literal["call", "lead"]] | None = Field(
        None, description="where the order came from: a sales call or a converted lead"
    )
    payment: Literal["cash", "pos", "online"] | list[Literal["cash", "pos", "online"]] | None = (
        Field(None, description="how the order is paid")
    )

    def values(self, key: str) -> list[str] | None:
        v = getattr(self, key)
        return None if v is None else ([v] if isinstance(v, str) else list(v))


class DeliveryRule(Model):
    """First matching rule wins: `use` its channel, or `fallback` when that one is full."""

    when: RouteWhen = Field(default_factory=RouteWhen, description="conditions; none = any")
    use: str = Field(description="channel name")
    fallback: str | None = Field(None, description="channel when `use` is full that day")


class Payment(Model):
    """How orders are paid: cash and POS on delivery, online at order time; shares sum to 1."""

    cash: Share = Field(0.0, description="share paid in cash on delivery")
    pos: Share = Field(0.0, description="share paid by card terminal on delivery")
    online: Share = Field(1.0, description="share paid online when ordering")

    @model_validator(mode="after")
    def _sum_to_one(self):
        total = self.cash + self.pos + self.online
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"payment shares sum to {total:.6g}, not 1")
        return self


class Delivery(Model):
    """Orders delivered to the door by channels chosen by rules."""

    promise: Duration = Field(
        2 * DAY, description="on time = delivered within this of order creation, seconds"
    )
    channels: dict[str, Channel] = Field(min_length=1, description="channels by name")
    routing: list[DeliveryRule] = Field(
        min_length=1, description="rules in order; the last must have no `when`"
    )
    payment: Payment = Field(default_factory=Payment, description="payment mix")
    order_value: Distribution | None = Field(
        None,
        description="value of one order, currency (e.g. {dist: lognormal, mean: 450, "
        "cv: 0.6}); default 0",
    )
    complaint_call_type: str = Field(
        "complaint", description="call type of complaint calls caused by deliveries"
    )
    complaint_delay: Distribution = Field(
        default_factory=lambda: {"dist": "exponential", "mean": 4 * 3600.0},
        validate_default=True,
        description="from the delivery to the complaint call, seconds",
    )
