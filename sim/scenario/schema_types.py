"""Building blocks of the scenario schema: the model base, shares, clock times, staffing maps.

Owns the small validated types every section of a scenario uses; the sections themselves are
in :mod:`sim.scenario.schema` and :mod:`sim.scenario.fulfilment_schema`.
"""

from __future__ import annotations

import difflib
import math
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
)

from sim.scenario.distributions import Distribution
from sim.scenario.units import DAY, WEEKDAYS, parse_clock

__all__ = [
    "MAX_AGENTS",
    "Clock",
    "Model",
    "Probability",
    "RedialRule",
    "Share",
    "Staffing",
    "Weekday",
    "suggest",
    "time_map",
]

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
"""A clock time "HH:MM" (kept as text; :func:`sim.scenario.units.parse_clock` gives seconds)."""


class Model(BaseModel):
    """Base of every schema model: frozen, unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


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


def _staffing(value: Any) -> int | dict:
    """Agents on duty: a number, a daily time map, or a map of weekday to either."""
    if isinstance(value, bool) or value is None:
        raise ValueError('staffing must be a number of agents or a map of "HH:MM" to agents')
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0 or value != int(value):
            raise ValueError(f"staffing must be a whole number >= 0, got {value!r}")
        if value > MAX_AGENTS:
            raise ValueError(f"staffing above {MAX_AGENTS:,} agents in one group: {value!r}")
        return int(value)
    if isinstance(value, dict) and value and all(k in WEEKDAYS for k in value):
        missing = [d for d in WEEKDAYS if d not in value]
        if missing:
            raise ValueError(
                f"staffing by weekday must give every weekday; missing {', '.join(missing)} "
                "(write 0 for a day with nobody on duty, or use one daily map)"
            )
        return {day: _staffing(v) for day, v in value.items()}
    return time_map(value, "staffing", int)


Staffing = Annotated[
    Any,
    BeforeValidator(_staffing),
    WithJsonSchema(
        {
            "description": 'agents on duty: a number; or {"HH:MM": agents} (each day, '
            "wrapping past midnight); or {mon: ..., sun: ...} with every weekday",
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
