"""The scenario schema: frozen pydantic models of what a scenario file may say, each field
with its unit, and the JSON Schema of them.

Checks across sections are in :mod:`sim.scenario.cross_checks`, reading a file or a mapping
into a :class:`Scenario` in :mod:`sim.scenario.loading`. It does not simulate;
:mod:`sim.model.calendar` turns the validated times into timelines.
"""

from __future__ import annotations

import datetime
import math
from pathlib import Path
from typing import Annotated, Any, Literal, cast

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from sim.scenario.confine import excerpt, read_rows
from sim.scenario.distributions import Distribution, Duration, Fixed, Never, Patience, loader_filled
from sim.scenario.fulfilment_schema import (
    BackOffice,
    Channel,
    Delivery,
    DeliveryRule,
    Hours,
)
from sim.scenario.limits import MAX_REPLICATIONS
from sim.scenario.outbound_schema import Outbound
from sim.scenario.routing_schema import (
    AgentSelection,
    RouteStep,
    Routing,
)
from sim.scenario.schema_types import (
    MAX_AGENTS,
    Clock,
    Model,
    Probability,
    RedialRule,
    Share,
    Staffing,
    Target,
    Weekday,
    time_map,
)
from sim.scenario.units import DAY, WEEKDAYS, parse_clock

__all__ = [
    "AgentGroup",
    "BackOffice",
    "CallAgain",
    "CallType",
    "Channel",
    "Clock",
    "Delivery",
    "DeliveryRule",
    "Hours",
    "Model",
    "RouteStep",
    "Scenario",
    "Tier",
    "Weekday",
    "json_schema",
]

# --- horizon and arrivals ----------------------------------------------------------------------


class Horizon(Model):
    """How long to simulate; the warm-up is the first part, excluded from KPIs."""

    days: int = Field(ge=1, le=3660, description="simulated days, warm-up included")
    warmup: Duration = Field(0.0, description="time at the start excluded from KPIs, seconds")
    start_weekday: Weekday = Field("mon", description="weekday of day 1")
    start_date: datetime.date | None = Field(
        None,
        description="calendar date of day 1, YYYY-MM-DD (a dated run, e.g. a forecast's); "
        "start_weekday follows from it",
    )

    @model_validator(mode="after")
    def _warmup_inside(self):
        if self.warmup >= self.days * DAY:
            raise ValueError(f"warmup ({self.warmup:g} s) must be shorter than the horizon")
        if self.start_date is not None:
            weekday = WEEKDAYS[self.start_date.weekday()]
            if "start_weekday" in self.model_fields_set and self.start_weekday != weekday:
                raise ValueError(
                    f"start_weekday {self.start_weekday} disagrees with start_date "
                    f"{self.start_date} (a {weekday}): omit start_weekday"
                )
            object.__setattr__(self, "start_weekday", weekday)
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
        description='relative rate weights from each "HH:MM" on (with daily_volume); '
        "the day's volume is spread in proportion to weight x duration",
    )
    day_to_day_cv: float = Field(
        0.0, ge=0, le=5, description="cv of a gamma day factor with mean 1; 0 = Poisson"
    )
    rows: SkipJsonSchema[tuple[tuple[int, float, float], ...]] = Field(
        default=(),
        description="(day or 0 for every day, start s, calls) read from `file` by "
        "the loader; a scenario file cannot set it",
    )

    @field_validator("intraday_profile")
    @classmethod
    def _profile(cls, v):
        if v is None:
            return v
        out = time_map(v, "intraday_profile", float)
        if not any(out.values()):
            raise ValueError("intraday_profile: at least one weight must be > 0")
        return out

    @model_validator(mode="after")
    def _exactly_one(self, info: ValidationInfo):
        given = [
            k for k in ("rate_per_hour", "daily_volume", "file") if getattr(self, k) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of rate_per_hour, daily_volume or file"
                + (f" (found {', '.join(given)})" if given else "")
            )
        if self.intraday_profile is not None and self.daily_volume is None:
            raise ValueError("intraday_profile goes with daily_volume")
        if loader_filled(info, "rows", self.rows):
            raise ValueError("rows are read from `file`; a scenario cannot give them")
        if not all(math.isfinite(c) and c >= 0 and d >= 0 for d, _, c in self.rows):
            raise ValueError("rows: calls must be finite and >= 0")
        if self.file is not None and not self.rows:
            base = Path((info.context or {}).get("base_dir", "."))
            object.__setattr__(self, "rows", _read_rate_file(base / self.file))
        return self


def _read_rate_file(path: Path) -> tuple[tuple[int, float, float], ...]:
    table = read_rows(path, "arrivals file")
    fields = table[0] if table else []
    if "start" not in fields or "calls" not in fields:
        raise ValueError(
            f"arrivals file {excerpt(path)} needs columns start and calls (and optional "
            f"day); its first line is {excerpt(','.join(fields)) if fields else 'empty'}"
        )
    reader = (dict(zip(fields, cells, strict=False)) for cells in table[1:] if any(cells))
    rows = []
    for n, row in enumerate(reader, start=2):
        try:
            day = int(row["day"]) if row.get("day") else 0
            calls = float(row["calls"])
            start = parse_clock(row["start"])
        except (ValueError, KeyError, TypeError):
            raise ValueError(
                f"{path}:{n}: bad row {excerpt(','.join(row.values()))}: day a whole number, "
                'start a clock time "HH:MM", calls a number'
            ) from None
        if not math.isfinite(calls) or calls < 0 or not 0 <= day <= 3660:
            raise ValueError(f"{path}:{n}: calls must be a finite number >= 0, day 0 to 3660")
        rows.append((day, start, calls))
    if not rows:
        raise ValueError(f"arrivals file {excerpt(path)} has no rows")
    return tuple(rows)


# --- callers ----------------------------------------------------------------------------------


class Tier(Model):
    """A customer tier: its share of callers, its priority (0 first), its patience, and how
    long its calls wait before an agent may answer them (an announcement, an identification)."""

    share: Share = Field(description="share of callers in this tier")
    priority: int = Field(0, ge=0, description="0 is served first when routing.tier_priority")
    patience: Patience = Field(
        default_factory=lambda: Never(dist="never"),
        description="time willing to wait before hanging up, seconds",
    )
    answer_delay: Distribution | None = Field(
        None,
        description="time after a call of this tier reaches the queue before an agent may "
        "answer it (the caller waits and may hang up meanwhile), seconds; default none",
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
    channel: Literal["voice", "chat", "email"] = Field(
        "voice",
        description="how the contact comes in: voice call, chat (an agent holds several: "
        "agents.groups.G.concurrency), e-mail (a backlog taken between calls)",
    )
    first_contact_resolution: Probability = Field(
        1.0, description="chance the call resolves the matter (else maybe redial)"
    )
    accept_rate: Probability = Field(
        1.0, description="with creates: delivery_order, share of calls that end in an order"
    )
    creates: Literal["delivery_order", "lead", "work_order"] | None = Field(
        None, description="business created: an order, a lead, or (when unresolved) a work order"
    )
    agent_selection: AgentSelection | None = Field(
        None, description="this type's own routing.agent_selection (default: the scenario's)"
    )

    @model_validator(mode="after")
    def _email_creates_nothing(self):
        if self.channel == "email" and self.creates is not None:
            raise ValueError("an e-mail (channel: email) creates no business; creates is for calls")
        return self


class CallAgain(RedialRule):
    """A redial rule, and whether the new attempt is the same contact."""

    redraw: bool = Field(
        True,
        description="draw patience and handle time afresh for the new attempt (false: the "
        "same caller with the same patience and the same matter to discuss)",
    )


class Redial(Model):
    """When customers call again."""

    after_abandon: CallAgain | None = Field(None, description="after hanging up in the queue")
    after_unresolved: CallAgain | None = Field(
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


MAX_CONCURRENCY = 100
"""Most chats one agent may hold at once (a bound on input, not a model of people)."""


class AgentGroup(Model):
    """Agents with the same skills; on duty by a `staffing` map or a list of `shifts`."""

    skills: list[str] = Field(min_length=1, description="call types this group takes")
    staffing: Staffing | None = Field(None, description="agents on duty from each time")
    shifts: list[Shift] | None = Field(None, description="shifts; alternative to staffing")
    concurrency: int = Field(
        1,
        ge=1,
        le=MAX_CONCURRENCY,
        description="most chat contacts an agent holds at once (a voice call takes the agent "
        "whole: no voice call beside a chat, no chat beside a voice call)",
    )
    concurrency_slowdown: float = Field(
        0.0,
        ge=0,
        le=10,
        allow_inf_nan=False,
        description="a chat started while the agent holds k chats in all (this one counted) "
        "takes its handle time x (1 + concurrency_slowdown x (k - 1)); default 0",
    )

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
        None,
        ge=0,
        lt=1,
        allow_inf_nan=False,
        description="share of scheduled (paid) time not available for calls: training, meetings, "
        "breaks not in the shift list; on duty = scheduled x (1 - shrinkage), rounded half up",
    )
    absenteeism: float | None = Field(
        None,
        ge=0,
        lt=1,
        allow_inf_nan=False,
        description="expected share of scheduled agents who do not come on a day (a binomial "
        "draw per group and day)",
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
    outbound: Outbound | None = Field(None, description="outbound campaigns and their dialers")
    targets: dict[str, Target] = Field(default_factory=dict, description="KPI targets")
    replications: int = Field(10, ge=1, le=MAX_REPLICATIONS, description="independent replications")
    seed: int = Field(1, ge=0, description="root seed of all random streams")
    currency: str | None = Field(
        None,
        min_length=1,
        max_length=12,
        description="what money figures are counted in, shown beside them (e.g. EUR, $)",
    )

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
            shares = [  # a non-mapping beside `normalize` is left for the schema to report
                _share_or_none(v.get("share")) if isinstance(v, dict) else None
                for v in block.values()
            ]
            given = [s for s in shares if s is not None]
            if flag is True and shares and len(given) == len(shares) and sum(given) > 0:
                total = sum(given)
                block = {  # every share is a number here (checked just above)
                    k: {**v, "share": cast(float, _share_or_none(v["share"])) / total}
                    for k, v in block.items()
                }
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

    def answerable_within(self, within: float) -> float:
        """The largest service level any staffing can give at threshold ``within``: the share
        of calls whose tier's ``answer_delay`` ends within it (a tier without one: all), an
        upper bound (callers who hang up first are not counted out)."""
        tiers = self.customer_tiers.values()
        total = math.fsum(t.share for t in tiers)
        return (
            math.fsum(
                t.share * (1.0 if t.answer_delay is None else t.answer_delay.cdf(within))
                for t in tiers
            )
            / total
        )

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


def _share_or_none(v: Any) -> float | None:
    """A weight to normalize: a number >= 0 or a percentage; None when it is neither."""
    if isinstance(v, str) and v.strip().endswith("%"):
        try:
            v = float(v.strip()[:-1]) / 100.0
        except ValueError:
            return None
    return float(v) if _is_number(v) and v >= 0 else None


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def json_schema() -> dict:
    """JSON Schema of scenario files, for editors (``sim schema``)."""
    schema = Scenario.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Contact-center simulator scenario"
    return schema
