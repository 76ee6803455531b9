"""Building blocks of the scenario schema: the model base, shares, clock times, staffing maps.

Owns the small validated types every section of a scenario uses; the sections themselves are
in :mod:`sim.scenario.schema` and :mod:`sim.scenario.fulfilment_schema`.
"""

from __future__ import annotations

import datetime
import difflib
import math
import re
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from sim.scenario.distributions import Distribution, Duration, numbers_only
from sim.scenario.kpis import HEADLINE, unit_of
from sim.scenario.units import DAY, WEEKDAYS, Weekday, parse_clock, parse_share

__all__ = [
    "MAX_AGENTS",
    "SHARE_KPIS",
    "Clock",
    "Model",
    "Probability",
    "RedialRule",
    "Share",
    "Staffing",
    "Target",
    "Weekday",
    "by_day",
    "date_key",
    "suggest",
    "time_map",
]

MAX_AGENTS = 100_000
"""Agents in one group at one time: far above any real floor, low enough to catch a typo."""

_SHARE_SCHEMA = {
    "anyOf": [
        {"type": "number", "minimum": 0, "maximum": 1},
        {"type": "string", "pattern": r"^\s*[0-9.eE+-]+\s*%\s*$"},
    ]
}
Share = Annotated[
    float,
    BeforeValidator(parse_share),
    WithJsonSchema({**_SHARE_SCHEMA, "description": "a share in [0, 1], or a percentage: 35%"}),
]
Probability = Annotated[
    float,
    BeforeValidator(parse_share),
    WithJsonSchema({**_SHARE_SCHEMA, "description": "a probability in [0, 1], or 35%"}),
]


def _clock_text(value: object) -> str:
    parse_clock(value)
    return str(value).strip()


Clock = Annotated[
    str,
    BeforeValidator(_clock_text),
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]{1,2}:[0-9]{2}$"}),
]
"""A clock time "HH:MM" (kept as text; :func:`sim.scenario.units.parse_clock` gives seconds)."""


class Model(BaseModel):
    """Base of every schema model: frozen, unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("*", mode="before")
    @classmethod
    def _numbers(cls, value: Any, info: ValidationInfo) -> Any:
        return numbers_only(cls, value, info.field_name)


def time_map(value: Any, what: str, cast: type) -> dict[str, Any]:
    """Check a ``{"HH:MM": value}`` map: clock keys in increasing order, values of ``cast``."""
    if not isinstance(value, dict) or not value:
        raise ValueError(f'{what} must be a non-empty mapping of "HH:MM" to a value')
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


def date_key(key: object) -> str | None:
    """A staffing map's key as an ISO date ("2027-01-04"; YAML reads an unquoted one as a
    date), or None when it is not one."""
    if isinstance(key, datetime.date) and not isinstance(key, datetime.datetime):
        return key.isoformat()
    if isinstance(key, str) and _DATE.match(key.strip()):
        return key.strip()
    return None


_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def by_day(plan: object) -> bool:
    """A staffing value keyed by weekday or by date (not a number or a daily time map)."""
    if not isinstance(plan, dict) or not plan:
        return False
    first = next(iter(plan))
    return first in WEEKDAYS or date_key(first) is not None


def _staffing(value: Any) -> int | dict:
    """Agents on duty: a number, a daily time map, or a map of weekday (or of date) to either."""
    if isinstance(value, bool) or value is None:
        raise ValueError('staffing must be a number of agents or a map of "HH:MM" to agents')
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0 or value != int(value):
            raise ValueError(f"staffing must be a whole number >= 0, got {value!r}")
        if value > MAX_AGENTS:
            raise ValueError(f"staffing above {MAX_AGENTS:,} agents in one group: {value!r}")
        return int(value)
    if isinstance(value, dict) and value:
        weekdays = [k for k in value if k in WEEKDAYS]
        dates = [k for k in value if date_key(k) is not None]
        if weekdays and dates:
            raise ValueError(
                f"staffing mixes weekdays ({weekdays[0]}) and dates ({date_key(dates[0])}): "
                "give one form, per weekday or per date"
            )
        if dates:
            return _by_date(value)
    if isinstance(value, dict) and value and all(k in WEEKDAYS for k in value):
        missing = [d for d in WEEKDAYS if d not in value]
        if missing:
            raise ValueError(
                f"staffing by weekday must give every weekday; missing {', '.join(missing)} "
                "(write 0 for a day with nobody on duty, or use one daily map)"
            )
        return {day: _staffing(v) for day, v in value.items()}
    return time_map(value, "staffing", int)


def _by_date(value: dict) -> dict:
    """``{date: agents or "HH:MM" map}``, dates as ISO text in increasing order (which dates
    the horizon needs is checked with it, :mod:`sim.scenario.cross_checks`)."""
    out: dict[str, int | dict] = {}
    for key, item in value.items():
        text = date_key(key)
        if text is None:
            raise ValueError(
                f"staffing by date: {str(key)[:40]!r} is not a date YYYY-MM-DD "
                "(give every key as a date, or use the per-weekday form)"
            )
        try:
            datetime.date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"staffing by date: {text} is not a calendar date") from None
        if out and text <= next(reversed(out)):
            raise ValueError(f"staffing by date: {text} comes after a later or the same date")
        if isinstance(item, dict) and by_day(item):
            raise ValueError(f"staffing by date: {text} must give agents or a daily map")
        out[text] = _staffing(item)
    return out


Staffing = Annotated[
    Any,
    BeforeValidator(_staffing),
    WithJsonSchema(
        {
            "description": 'agents on duty: a number; or {"HH:MM": agents} (each day, '
            "wrapping past midnight); or {mon: ..., sun: ...} with every weekday; or "
            "{YYYY-MM-DD: ...} with every date of a dated horizon (horizon.start_date)",
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {"type": "object", "additionalProperties": {"type": ["integer", "object"]}},
            ],
        }
    ),
]


def suggest(word: str, choices: list[str]) -> str | None:
    """The choice closest to a misspelt ``word``, for "did you mean" in error messages."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return close[0] if close else None


class RedialRule(Model):
    """A caller who tries again, as the same customer with the same tier."""

    probability: Probability = Field(description="chance the customer calls again")
    delay: Distribution = Field(description="time until the new call, seconds")


def _bound(value: Any) -> Any:
    """A target bound: a number, or a percentage (``80%``) for a share KPI."""
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            return float(value.strip()[:-1]) / 100.0
        except ValueError:
            pass
        raise ValueError(f"expected a number or a percentage such as 80%, got {value!r}")
    if isinstance(value, str):
        raise ValueError(f"expected a number or a percentage such as 80%, got {value!r}")
    return value


Bound = Annotated[
    float | None,
    BeforeValidator(_bound),
    WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string", "pattern": r"%\s*$"}]}),
]
SHARE_KPIS = frozenset(k for k in HEADLINE if unit_of(k).is_share)
"""Targets on these KPIs are shares: in [0, 1], or a percentage."""


TARGET_TOLERANCE = 1e-12
"""A KPI this close to its target meets it (rounding of ratios, not a planning margin)."""


class Target(Model):
    """A KPI bound the planner must reach."""

    within: Duration | None = Field(None, description="service_level only: answer within this")
    at_least: Bound = Field(
        None,
        allow_inf_nan=False,
        description="the KPI must be at least this, in its unit (a share: 0.8 or 80%)",
    )
    at_most: Bound = Field(
        None,
        allow_inf_nan=False,
        description="the KPI must be at most this, in its unit (a share: 0.05 or 5%)",
    )

    @model_validator(mode="after")
    def _one_bound(self):
        if (self.at_least is None) == (self.at_most is None):
            raise ValueError("give exactly one of at_least or at_most")
        return self

    @property
    def bound(self) -> Literal["at_least", "at_most"]:
        return "at_least" if self.at_least is not None else "at_most"

    @property
    def value(self) -> float:
        # exactly one bound is given (checked above); `or 0.0` only satisfies the type checker
        return self.at_least if self.at_least is not None else float(self.at_most or 0.0)

    def met(self, value):
        """Whether ``value`` reaches the bound, element-wise for arrays.

        A value within 1e-12 of the bound meets it (a ratio such as 8/10 need not come out of
        the arithmetic exactly at a target of 0.8). NaN, nothing behind the figure, meets it:
        an interval nobody called in needs no agents. ``None`` gives ``None`` (no verdict).
        """
        if value is None:
            return None
        with np.errstate(invalid="ignore"):
            if self.at_least is not None:
                ok = ~(np.asarray(value) < self.at_least - TARGET_TOLERANCE)
            else:
                ok = ~(np.asarray(value) > self.at_most + TARGET_TOLERANCE)
        return bool(ok) if ok.ndim == 0 else ok
