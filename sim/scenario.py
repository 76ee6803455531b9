"""The scenario schema (frozen pydantic models) and loading it from YAML with clear errors.

Owns what a scenario file may say and the checks across its parts (shares, references, order).
It does not simulate; :mod:`sim.calendar` turns the validated times into timelines.
"""

from __future__ import annotations

import csv
import difflib
import math
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from sim.distributions import Distribution, Duration, Fixed, Never, Patience
from sim.units import DAY, WEEKDAYS, parse_clock
from sim.yamlsource import ScenarioError, SourceMap, load_yaml, validation_error

__all__ = [
    "KPI_NAMES",
    "AgentGroup",
    "BackOffice",
    "CallType",
    "Channel",
    "Delivery",
    "Hours",
    "RouteStep",
    "Scenario",
    "ScenarioError",
    "Tier",
    "cross_check",
    "json_schema",
    "load_scenario",
    "scenario_from_dict",
    "scenario_to_dict",
    "scenario_to_yaml",
]

KPI_NAMES = (
    "offered",
    "service_level",
    "answer_rate",
    "abandon_rate",
    "asa",
    "mean_wait",
    "occupancy",
    "first_contact_resolution",
    "delivery_on_time",
    "delivery_success",
    "first_attempt_success",
    "cost_per_delivery",
    "back_office_on_time",
    "lead_conversion",
)
"""KPI names fixed by the scenario-format spec (targets may name any of them)."""

MAX_AGENTS = 100_000
"""Agents in one group at one time: far above any real floor, low enough to catch a typo."""

Share = Annotated[float, Field(ge=0, le=1)]
Probability = Annotated[float, Field(ge=0, le=1, description="a probability in [0, 1]")]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _clock_text(value: object) -> str:
    parse_clock(value)
    return str(value).strip()


Clock = Annotated[
    str,
    BeforeValidator(_clock_text),
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]{1,2}:[0-9]{2}$"}),
]
"""A clock time "HH:MM" (kept as text; :func:`sim.units.parse_clock` gives seconds)."""


class Model(BaseModel):
    """Base of every schema model: frozen, unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _time_map(value: Any, what: str, cast: type) -> dict[str, Any]:
    """Check a ``{"HH:MM": value}`` map: clock keys in increasing order, values of ``cast``."""
    if not isinstance(value, dict) or not value:
        raise ValueError(f"{what} must be a non-empty mapping of \"HH:MM\" to a value")
    last = -1.0
    out = {}
    for key, item in value.items():
        try:
            t = parse_clock(key)
        except ValueError as exc:
            raise ValueError(f"{what}: {exc}") from None
        if t <= last:
            raise ValueError(f"{what}: times must increase; {key!r} comes after a later time")
        if t >= DAY:
            raise ValueError(f"{what}: {key!r} is not a time within the day (00:00 to 23:59)")
        last = t
        if isinstance(item, bool) or not isinstance(item, int | float):
            raise ValueError(f"{what}: the value at {key!r} must be a number, got {item!r}")
        if item < 0 or not math.isfinite(item):
            raise ValueError(f"{what}: the value at {key!r} must be >= 0, got {item!r}")
        if cast is int and item != int(item):
            raise ValueError(f"{what}: the value at {key!r} must be a whole number, got {item!r}")
        if cast is int and item > MAX_AGENTS:
            raise ValueError(f"{what}: more than {MAX_AGENTS:,} at {key!r}: {item!r}")
        out[str(key)] = cast(item)
    return out


def _staffing(value: Any) -> int | dict:
    """Agents on duty: a number, a daily time map, or a map of weekday to either."""
    if isinstance(value, bool) or value is None:
        raise ValueError("staffing must be a number of agents or a map of \"HH:MM\" to agents")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0 or value != int(value):
            raise ValueError(f"staffing must be a whole number >= 0, got {value!r}")
        if value > MAX_AGENTS:
            raise ValueError(f"staffing above {MAX_AGENTS:,} agents in one group: {value!r}")
        return int(value)
    if isinstance(value, dict) and value and all(k in WEEKDAYS for k in value):
        return {day: _staffing(v) for day, v in value.items()}
    return _time_map(value, "staffing", int)


Staffing = Annotated[
    Any,
    BeforeValidator(_staffing),
    WithJsonSchema(
        {
            "description": "agents on duty: a number; or {\"HH:MM\": agents} (each day, "
            "wrapping past midnight); or {mon: ..., sun: ...} (missing days: none on duty)",
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {"type": "object", "additionalProperties": {"type": ["integer", "object"]}},
            ],
        }
    ),
]


# --- horizon and arrivals ----------------------------------------------------------------------


class Horizon(Model):
    """How long to simulate; the warm-up is the first part, excluded from KPIs."""

    days: int = Field(ge=1, le=3660, description="simulated days, warm-up included")
    warmup: Duration = Field(0.0, description="time at the start excluded from KPIs, seconds")
    start_weekday: Weekday = Field("mon", description="weekday of day 1")

    @model_validator(mode="after")
    def _warmup_inside(self):
        if self.warmup >= self.days * DAY:
            raise ValueError(f"warmup ({self.warmup:g} s) must be shorter than the horizon")
        return self


class Arrivals(Model):
    """Call volume: exactly one of ``rate_per_hour``, ``daily_volume`` or ``file``."""

    rate_per_hour: float | None = Field(
        None, ge=0, le=1e6, allow_inf_nan=False, description="constant arrival rate, calls/h"
    )
    daily_volume: float | None = Field(
        None, ge=0, le=1e8, allow_inf_nan=False, description="expected calls on an average day"
    )
    file: str | None = Field(
        None, description="CSV of calls per interval: columns day (optional), start, calls"
    )
    weekday_factors: dict[Weekday, Annotated[float, Field(ge=0, allow_inf_nan=False)]] = Field(
        default_factory=dict, description="volume factor per weekday; missing days are 1.0"
    )
    intraday_profile: dict[str, float] | None = Field(
        None,
        description="relative rate weights from each \"HH:MM\" on (with daily_volume); "
        "the day's volume is spread in proportion to weight x duration",
    )
    day_to_day_cv: float = Field(
        0.0, ge=0, le=5, description="cv of a gamma day factor with mean 1; 0 = Poisson"
    )
    rows: tuple[tuple[int, float, float], ...] = Field(
        default=(), description="(day or 0 for every day, start s, calls) read from `file`"
    )

    @field_validator("intraday_profile")
    @classmethod
    def _profile(cls, v):
        if v is None:
            return v
        out = _time_map(v, "intraday_profile", float)
        if not any(out.values()):
            raise ValueError("intraday_profile: at least one weight must be > 0")
        return out

    @model_validator(mode="after")
    def _exactly_one(self, info: ValidationInfo):
        given = [k for k in ("rate_per_hour", "daily_volume", "file")
                 if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of rate_per_hour, daily_volume or file"
                + (f" (found {', '.join(given)})" if given else "")
            )
        if self.intraday_profile is not None and self.daily_volume is None:
            raise ValueError("intraday_profile goes with daily_volume")
        if self.file is not None and not self.rows:
            base = Path((info.context or {}).get("base_dir", "."))
            object.__setattr__(self, "rows", _read_rate_file(base / self.file))
        return self


def _read_rate_file(path: Path) -> tuple[tuple[int, float, float], ...]:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            fields = [f.strip() for f in (reader.fieldnames or [])]
            if "start" not in fields or "calls" not in fields:
                raise ValueError(
                    f"arrivals file {str(path)!r} needs columns start and calls (and optional "
                    f"day); found {', '.join(fields) or 'none'}"
                )
            rows = []
            for n, row in enumerate(reader, start=2):
                row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
                try:
                    day = int(row["day"]) if row.get("day") else 0
                    calls = float(row["calls"])
                    start = parse_clock(row["start"])
                except (ValueError, KeyError) as exc:
                    raise ValueError(f"{path}:{n}: bad row: {exc}") from None
                if calls < 0 or day < 0:
                    raise ValueError(f"{path}:{n}: calls and day must be >= 0")
                rows.append((day, start, calls))
    except OSError as exc:
        raise ValueError(f"cannot read arrivals file {str(path)!r}: {exc.strerror}") from None
    if not rows:
        raise ValueError(f"arrivals file {str(path)!r} has no rows")
    return tuple(rows)


# --- callers ----------------------------------------------------------------------------------


class Tier(Model):
    """A customer tier: its share of callers, its priority (0 first) and its patience."""

    share: Share = Field(description="share of callers in this tier")
    priority: int = Field(0, ge=0, description="0 is served first when routing.tier_priority")
    patience: Patience = Field(
        default_factory=lambda: Never(dist="never"),
        description="time willing to wait before hanging up, seconds",
    )


class Ivr(Model):
    """Self-service before the agent queue; every caller spends `time` in it."""

    self_service: Probability = Field(description="share of calls finished in the IVR")
    time: Distribution = Field(
        default_factory=lambda: Fixed(dist="fixed", value=0.0), description="time in the IVR"
    )


class CallType(Model):
    """Why a customer calls, how long it takes, and what business it creates."""

    share: Share = Field(description="share of calls of this type")
    handle_time: Distribution = Field(description="talk time with the agent, seconds")
    first_contact_resolution: Probability = Field(
        1.0, description="chance the call resolves the matter (else maybe redial)"
    )
    accept_rate: Probability = Field(
        1.0, description="with creates: delivery_order, share of calls that end in an order"
    )
    creates: Literal["delivery_order", "lead", "work_order"] | None = Field(
        None, description="business created: an order, a lead, or (when unresolved) a work order"
    )


class RedialRule(Model):
    """A caller who tries again, as the same customer with the same tier."""

    probability: Probability = Field(description="chance the customer calls again")
    delay: Distribution = Field(description="time until the new call, seconds")


class Redial(Model):
    """When customers call again."""

    after_abandon: RedialRule | None = Field(None, description="after hanging up in the queue")
    after_unresolved: RedialRule | None = Field(
        None, description="after a call that did not resolve the matter"
    )


# --- agents and routing -----------------------------------------------------------------------


class Break(Model):
    """A break inside a shift: its agents leave at `at` (after the current call) for `length`."""

    at: Clock = Field(description="clock time the break starts")
    length: Duration = Field(gt=0, description="length of the break, seconds")


class Shift(Model):
    """`count` agents on duty from `start` to `end` (an earlier end wraps past midnight)."""

    start: Clock = Field(description="clock time the shift starts")
    end: Clock = Field(description="clock time the shift ends")
    count: int = Field(ge=0, le=MAX_AGENTS, description="agents on this shift")
    break_: Break | list[Break] | None = Field(None, alias="break", description="breaks")
    days: list[Weekday] | None = Field(None, description="weekdays the shift runs; default all")

    @property
    def breaks(self) -> list[Break]:
        if self.break_ is None:
            return []
        return list(self.break_) if isinstance(self.break_, list) else [self.break_]

    @model_validator(mode="after")
    def _breaks_inside(self):
        start, end = parse_clock(self.start), parse_clock(self.end)
        if start == end:
            raise ValueError(f"shift start and end are both {self.start}")
        length = (end - start) % DAY
        for b in self.breaks:
            offset = (parse_clock(b.at) - start) % DAY
            if offset + b.length > length:
                raise ValueError(f"the break at {b.at} does not fit inside {self.start}-{self.end}")
        return self


class AgentGroup(Model):
    """Agents with the same skills; on duty by a `staffing` map or a list of `shifts`."""

    skills: list[str] = Field(min_length=1, description="call types this group takes")
    staffing: Staffing | None = Field(None, description="agents on duty from each time")
    shifts: list[Shift] | None = Field(None, description="shifts; alternative to staffing")

    @model_validator(mode="after")
    def _one_plan(self):
        if (self.staffing is None) == (self.shifts is None):
            raise ValueError("give exactly one of staffing or shifts")
        return self


class Agents(Model):
    """The agent groups, their after-call work and speed factors."""

    after_call_work: Distribution | None = Field(
        None, description="wrap-up after each call, seconds (agent busy, caller gone)"
    )
    groups: dict[str, AgentGroup] = Field(min_length=1, description="agent groups by name")
    handle_time_factor: dict[str, Annotated[float, Field(gt=0, allow_inf_nan=False)]] = Field(
        default_factory=dict, description="per-group multiplier of handle times (1.1 = slower)"
    )
    shrinkage: float | None = Field(
        None, ge=0, lt=1, allow_inf_nan=False,
        description="share of scheduled (paid) time not available for calls: training, meetings, "
        "breaks not in the shift list; on duty = scheduled x (1 - shrinkage), rounded half up",
    )
    absenteeism: float | None = Field(
        None, ge=0, lt=1, allow_inf_nan=False,
        description="expected share of scheduled agents who do not come on a day (a binomial "
        "draw per group and day)",
    )


def _route_step(value: Any) -> Any:
    return {"group": value} if isinstance(value, str) else value


class RouteStep(Model):
    """A group that may take the call once it has waited `after`."""

    group: str = Field(description="agent group name")
    after: Duration = Field(0.0, description="wait before this group may take the call, seconds")


_ROUTE_STEP_SCHEMA = {
    "description": "a group name, or {group, after} for a group that may take the call once it "
    "has waited `after`",
    "anyOf": [
        {"type": "string"},
        {
            "type": "object",
            "properties": {"group": {"type": "string"}, "after": {"type": ["number", "string"]}},
            "required": ["group"],
            "additionalProperties": False,
        },
    ],
}
Route = list[Annotated[RouteStep, BeforeValidator(_route_step), WithJsonSchema(_ROUTE_STEP_SCHEMA)]]

_ROUTING_RESERVED = ("default", "tier_priority")


class Routing(Model):
    """Per call type, agent groups in order of preference; other keys name call types."""

    model_config = ConfigDict(
        json_schema_extra={
            "additionalProperties": {
                "type": "array",
                "description": "groups in order of preference for this call type",
            }
        }
    )
    tier_priority: bool = Field(
        True, description="waiting calls served by tier priority, then FIFO"
    )
    default: Route | None = Field(None, description="route for call types without their own")
    rules: dict[str, Route] = Field(
        default_factory=dict, description="routes by call type (written as top-level keys)"
    )

    @model_validator(mode="before")
    @classmethod
    def _collect_rules(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "rules" in data:
            return data
        out = {k: v for k, v in data.items() if k in _ROUTING_RESERVED}
        out["rules"] = {k: v for k, v in data.items() if k not in _ROUTING_RESERVED}
        return out


class Target(Model):
    """A KPI bound the planner must reach."""

    within: Duration | None = Field(None, description="service_level only: answer within this")
    at_least: float | None = Field(
        None, allow_inf_nan=False, description="the KPI must be at least this"
    )
    at_most: float | None = Field(
        None, allow_inf_nan=False, description="the KPI must be at most this"
    )

    @model_validator(mode="after")
    def _one_bound(self):
        if (self.at_least is None) == (self.at_most is None):
            raise ValueError("give exactly one of at_least or at_most")
        return self


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
        None, ge=0, allow_inf_nan=False,
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
    max_attempts: int = Field(1, ge=1, description="contact attempts before the lead is lost")
    retry_delay: Duration = Field(
        4 * 3600.0, description="wait after a failed attempt before the next one (s; the "
        "next attempt also waits for working hours)"
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
        None, description="unresolved: chance and delay of the customer calling again "
        "(default: redial.after_unresolved)"
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


class Channel(Model):
    """A delivery channel: couriers working hours (`couriers`), or a company (`daily_capacity`).

    A courier channel makes each attempt with one of its couriers inside its hours; a company
    takes up to `daily_capacity` orders a day, picks them up at the cut-off and attempts each
    after `lead_time`.
    """

    couriers: int | None = Field(None, ge=0, description="couriers on duty (courier channel)")
    hours: Hours | None = Field(None, description="courier hours; attempts start inside them")
    service_time: Distribution | None = Field(
        None, description="travel plus hand-over per attempt, seconds (courier channel)"
    )
    daily_capacity: int | None = Field(
        None, ge=0, description="orders taken per day; couriers default: couriers x open "
        "hours / mean service_time"
    )
    cutoff: Clock | None = Field(
        None, description="orders after this leave the next day (default: couriers' end of "
        "hours; a company needs it)"
    )
    lead_time: Distribution | None = Field(
        None, description="company: from pick-up at the cut-off to the first attempt, seconds"
    )
    first_attempt_success: Probability = Field(1.0, description="chance an attempt delivers")
    retry_success: Probability | None = Field(
        None, description="chance a later attempt delivers (default: first_attempt_success)"
    )
    retry_delay: Duration = Field(
        DAY, description="wait after a failed attempt, seconds (couriers: then within hours)"
    )
    max_attempts: int = Field(1, ge=1, description="attempts before the order fails (returned)")
    cost_per_attempt: float = Field(0.0, ge=0, description="cost of one attempt, currency")
    cost_per_courier_day: float = Field(
        0.0, ge=0, description="cost of one courier for one working day, currency"
    )
    cost_per_capacity_day: float | None = Field(
        None, ge=0, allow_inf_nan=False,
        description="company: cost of one order of daily_capacity for one day, currency "
        "(used by sim size)",
    )
    complaint_rate: Probability = Field(
        0.0, description="share of deliveries that cause a complaint call"
    )

    @property
    def is_company(self) -> bool:
        return self.couriers is None

    @model_validator(mode="after")
    def _one_kind(self):
        courier_keys = ("hours", "service_time")
        if self.couriers is not None:
            if self.service_time is None:
                raise ValueError("a courier channel (couriers:) needs service_time")
            if self.lead_time is not None:
                raise ValueError("lead_time goes with a company (daily_capacity:), "
                                 "not with couriers")
        else:
            if self.daily_capacity is None or self.lead_time is None or self.cutoff is None:
                raise ValueError("give couriers (with service_time) for couriers, or "
                                 "daily_capacity, cutoff and lead_time for a courier company")
            given = [k for k in courier_keys if getattr(self, k) is not None]
            if given:
                raise ValueError(f"{', '.join(given)} go with couriers, not with a company")
        return self


class RouteWhen(Model):
    """Conditions of a routing rule; each is one value or a list, all must hold."""

    tier: str | list[str] | None = Field(None, description="customer tier(s)")
    source: Literal["call", "lead"] | list[Literal["call", "lead"]] | None = Field(
        None, description="where the order came from: a sales call or a converted lead"
    )
    payment: (Literal["cash", "pos", "online"] | list[Literal["cash", "pos", "online"]]
              | None) = Field(None, description="how the order is paid")

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
        None, description="value of one order, currency (e.g. {dist: lognormal, mean: 450, "
        "cv: 0.6}); default 0"
    )
    complaint_call_type: str = Field(
        "complaint", description="call type of complaint calls caused by deliveries"
    )
    complaint_delay: Distribution = Field(
        default_factory=lambda: {"dist": "exponential", "mean": 4 * 3600.0},
        validate_default=True, description="from the delivery to the complaint call, seconds",
    )


# --- the scenario -----------------------------------------------------------------------------


class Scenario(Model):
    """A complete, validated scenario. Frozen: derive variants with :func:`scenario_from_dict`."""

    name: str = Field(min_length=1, description="scenario name; names the results folder")
    description: str = Field("", description="free text shown in reports")
    horizon: Horizon = Field(description="simulated days and warm-up")
    interval: Duration = Field(1800.0, description="reporting and staffing interval, seconds")
    arrivals: Arrivals = Field(description="call volume over time")
    customer_tiers: dict[str, Tier] = Field(min_length=1, description="who calls")
    ivr: Ivr | None = Field(None, description="self-service before the queue")
    call_types: dict[str, CallType] = Field(min_length=1, description="why they call")
    redial: Redial = Field(default_factory=Redial, description="calling again")
    agents: Agents = Field(description="agent groups")
    routing: Routing = Field(default_factory=Routing, description="who takes which call")
    back_office: BackOffice | None = Field(None, description="leads and work orders")
    delivery: Delivery | None = Field(None, description="delivery channels and routing")
    targets: dict[str, Target] = Field(default_factory=dict, description="KPI targets")
    replications: int = Field(10, ge=1, le=100000, description="independent replications")
    seed: int = Field(1, ge=0, description="root seed of all random streams")

    @field_validator("interval")
    @classmethod
    def _divides_day(cls, v):
        if not math.isfinite(v) or v < 60 or (DAY / v) != int(DAY / v):
            raise ValueError(f"interval must divide a day evenly and be >= 1min, got {v:g} s")
        return v

    @model_validator(mode="before")
    @classmethod
    def _normalize_shares(cls, data: Any) -> Any:
        """``normalize: true`` inside a shares mapping rescales its shares to sum to 1."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for key in ("customer_tiers", "call_types"):
            block = data.get(key)
            if not isinstance(block, dict) or "normalize" not in block:
                continue
            block = dict(block)
            flag = block.pop("normalize")
            shares = [v.get("share") for v in block.values() if isinstance(v, dict)]
            if flag is True and shares and all(_is_number(s) for s in shares) and sum(shares) > 0:
                total = sum(shares)
                block = {k: {**v, "share": v["share"] / total} for k, v in block.items()}
            elif flag is not False and flag is not True:
                block["normalize"] = flag  # reported as an unknown key by the schema
            data[key] = block
        return data

    @property
    def warmup(self) -> float:
        return self.horizon.warmup

    @property
    def horizon_s(self) -> float:
        return self.horizon.days * DAY

    def service_level_within(self) -> float:
        """The service-level threshold: the target's `within`, or the usual 20 s."""
        target = self.targets.get("service_level")
        return target.within if target is not None and target.within is not None else 20.0

    def route(self, call_type: str) -> list[RouteStep]:
        """Groups that may take ``call_type``, in order of preference, with their delays.

        A call type's own rule is used as written: listing a group there lets it take the
        type (an overflow skill) even when the type is not among the group's ``skills``.
        Otherwise ``default`` is used, keeping the groups that have the skill, and finally
        every group with the skill, in the order the file lists them.
        """
        if call_type in self.routing.rules:
            return list(self.routing.rules[call_type])
        skilled = [g for g, grp in self.agents.groups.items() if call_type in grp.skills]
        if self.routing.default:
            steps = [s for s in self.routing.default if s.group in skilled]
            if steps:
                return steps
        return [RouteStep(group=g) for g in skilled]


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


# --- checks across sections -------------------------------------------------------------------


def _suggest(word: str, choices: list[str]) -> str | None:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return close[0] if close else None


def cross_check(sc: Scenario) -> list[tuple[tuple, str, str | None]]:
    """Checks that need more than one section: (location, message, suggestion) per problem."""
    problems: list[tuple[tuple, str, str | None]] = []
    for key in ("customer_tiers", "call_types"):
        total = sum(item.share for item in getattr(sc, key).values())
        if abs(total - 1.0) > 1e-6:
            problems.append(
                ((key,), f"shares sum to {total:.6g}, not 1 (or add `normalize: true`)", None)
            )
    types_, groups = list(sc.call_types), list(sc.agents.groups)
    for gname, group in sc.agents.groups.items():
        for i, skill in enumerate(group.skills):
            if skill not in sc.call_types:
                problems.append(
                    (
                        ("agents", "groups", gname, "skills", i),
                        f"unknown call type '{skill}'; call types: {', '.join(types_)}",
                        _suggest(skill, types_),
                    )
                )
    for gname in sc.agents.handle_time_factor:
        if gname not in sc.agents.groups:
            problems.append(
                (
                    ("agents", "handle_time_factor", gname),
                    f"unknown agent group '{gname}'; groups: {', '.join(groups)}",
                    _suggest(gname, groups),
                )
            )
    routes = dict(sc.routing.rules)
    if sc.routing.default is not None:
        routes["default"] = sc.routing.default
    for ctype, route in routes.items():
        if ctype != "default" and ctype not in sc.call_types:
            problems.append(
                (
                    ("routing", ctype),
                    f"unknown call type '{ctype}'; routing keys are call types, "
                    f"default or tier_priority",
                    _suggest(ctype, [*types_, *_ROUTING_RESERVED]),
                )
            )
            continue
        seen = set()
        for i, step in enumerate(route):
            if step.group not in sc.agents.groups:
                problems.append(
                    (
                        ("routing", ctype, i),
                        f"unknown agent group '{step.group}'; groups: {', '.join(groups)}",
                        _suggest(step.group, groups),
                    )
                )
            elif step.group in seen:
                problems.append((("routing", ctype, i), f"group '{step.group}' twice", None))
            seen.add(step.group)
    for ctype in types_:
        if sc.call_types[ctype].share > 0 and not sc.route(ctype):
            problems.append(
                (("call_types", ctype), f"no agent group can serve call type '{ctype}'", None)
            )
    for name, target in sc.targets.items():
        if name not in KPI_NAMES:
            problems.append(
                (
                    ("targets", name),
                    f"unknown KPI '{name}'; KPIs: {', '.join(KPI_NAMES)}",
                    _suggest(name, list(KPI_NAMES)),
                )
            )
        elif target.within is not None and name != "service_level":
            problems.append((("targets", name, "within"), "within goes with service_level", None))
    problems += _business_checks(sc)
    return problems


def _business_checks(sc: Scenario) -> list[tuple[tuple, str, str | None]]:
    """Links between calls, the back office and delivery: every name used must exist."""
    problems: list[tuple[tuple, str, str | None]] = []
    bo, dl = sc.back_office, sc.delivery
    work = bo.work if bo is not None else None
    needs = {"delivery_order": (dl is not None, "`delivery:` section"),
             "lead": (work is not None and work.lead is not None, "back_office.work.lead"),
             "work_order": (work is not None and work.work_order is not None,
                            "back_office.work.work_order")}
    for name, ctype in sc.call_types.items():
        if ctype.creates is not None and not needs[ctype.creates][0]:
            problems.append((("call_types", name, "creates"),
                             f"creates {ctype.creates} but the scenario has no "
                             f"{needs[ctype.creates][1]}", None))
    if work is not None and work.lead is not None and work.lead.creates != "nothing" \
            and dl is None:
        problems.append((("back_office", "work", "lead", "creates"),
                         "converted leads create delivery orders but the scenario has no "
                         "`delivery:` section", None))
    if dl is None:
        return problems
    channels, tiers = list(dl.channels), list(sc.customer_tiers)
    for i, rule in enumerate(dl.routing):
        for key in ("use", "fallback"):
            name = getattr(rule, key)
            if name is not None and name not in dl.channels:
                problems.append((("delivery", "routing", i, key),
                                 f"unknown channel '{name}'; channels: {', '.join(channels)}",
                                 _suggest(name, channels)))
        for tier in rule.when.values("tier") or []:
            if tier not in sc.customer_tiers:
                problems.append((("delivery", "routing", i, "when", "tier"),
                                 f"unknown customer tier '{tier}'; tiers: {', '.join(tiers)}",
                                 _suggest(tier, tiers)))
        if rule.fallback is not None and rule.fallback == rule.use:
            problems.append((("delivery", "routing", i, "fallback"),
                             "fallback is the same channel as use", None))
    last = dl.routing[-1].when
    if any(last.values(k) for k in ("tier", "source", "payment")):
        problems.append((("delivery", "routing", len(dl.routing) - 1),
                         "the last routing rule must have no `when`, so that every order has "
                         "a channel", None))
    complaining = [n for n, ch in dl.channels.items() if ch.complaint_rate > 0]
    if complaining and dl.complaint_call_type not in sc.call_types:
        problems.append((("delivery", "complaint_call_type"),
                         f"unknown call type '{dl.complaint_call_type}' for complaint calls "
                         f"(channels {', '.join(complaining)} have a complaint_rate); "
                         f"call types: {', '.join(types_ := list(sc.call_types))}",
                         _suggest(dl.complaint_call_type, types_)))
    return problems


# --- loading ----------------------------------------------------------------------------------


def _validate(data: dict, smap: SourceMap, base_dir: Path) -> Scenario:
    try:
        scenario = Scenario.model_validate(data, context={"base_dir": str(base_dir)})
    except pydantic.ValidationError as exc:
        raise validation_error(exc, smap, Scenario) from None
    problems = cross_check(scenario)
    if problems:
        raise ScenarioError([smap.error(loc, msg, sug) for loc, msg, sug in problems])
    return scenario


def load_scenario(path: str | Path) -> Scenario:
    """Read, merge (``extends:``), validate and cross-check a scenario file.

    Raises
    ------
    ScenarioError
        with every problem found, each naming the file, line and dotted path.
    """
    path = Path(path)
    data, smap = load_yaml(path)
    return _validate(data, smap, path.parent)


def scenario_from_dict(data: dict, base_dir: str | Path = ".", source: str = "<dict>") -> Scenario:
    """Validate a plain mapping as a scenario (for sweeps and tests)."""
    return _validate(data, SourceMap(source), Path(base_dir))


def scenario_to_dict(scenario: Scenario) -> dict:
    """The scenario as plain data that :func:`scenario_from_dict` reads back identically."""
    return _plain(scenario.model_dump(mode="python", by_alias=True, exclude_none=True))


def _plain(value: Any) -> Any:
    """Lists for tuples and ``"never"`` for an infinite duration (JSON has no infinity)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, float) and math.isinf(value) and value > 0:
        return "never"
    return value


def scenario_to_yaml(scenario: Scenario) -> str:
    """The fully resolved scenario as YAML (durations in seconds), for the results folder."""
    import io

    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False
    buf = io.StringIO()
    yaml.dump(scenario_to_dict(scenario), buf)
    return buf.getvalue()


def json_schema() -> dict:
    """JSON Schema of scenario files, for editors (``sim schema``)."""
    schema = Scenario.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Contact-center simulator scenario"
    return schema

