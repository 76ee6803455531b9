"""Units at the edges: durations with units, clock times and weekday names, to seconds.

Inside the model every time is float seconds; these parsers are the only place units live.
"""

from __future__ import annotations

import math
import re
from typing import Literal

__all__ = [
    "DAY",
    "WEEKDAYS",
    "Weekday",
    "format_clock",
    "parse_clock",
    "parse_duration",
    "parse_share",
]

DAY = 86400.0
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_UNITS = {
    "ms": 0.001,
    "s": 1.0, "sec": 1.0, "second": 1.0, "seconds": 1.0,
    "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0,
    "h": 3600.0, "hr": 3600.0, "hrs": 3600.0, "hour": 3600.0, "hours": 3600.0,
    "d": DAY, "day": DAY, "days": DAY,
    "w": 7 * DAY, "week": 7 * DAY, "weeks": 7 * DAY,
}  # fmt: skip
_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-zA-Z]*)\s*$")
_CLOCK = re.compile(r"^([0-9]{1,2}):([0-9]{2})$")


def parse_duration(value: object) -> float:
    """A number of seconds, or text such as ``20s``, ``3min``, ``1.5h``, ``2d``; to seconds."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as 20s, 3min, 1.5h or 2d, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        if value.strip().lower() in ("inf", "never"):
            return math.inf
        match = _DURATION.match(value)
        if not match:
            raise ValueError(f"expected a duration such as 20s, 3min, 1.5h or 2d, got {value!r}")
        number, unit = match.groups()
        unit = unit.lower() or "s"
        if unit not in _UNITS:
            raise ValueError(
                f"unknown time unit {unit!r} in {value!r}; use s, min, h or d (e.g. 3min)"
            )
        seconds = float(number) * _UNITS[unit]
    else:
        raise ValueError(f"expected a duration such as 20s, 3min, 1.5h or 2d, got {value!r}")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"a duration must be finite and >= 0, got {value!r}")
    return seconds


_PERCENT = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*%\s*$")


def parse_share(value: object) -> float:
    """A share or probability: a number in [0, 1] or a percentage such as ``35%``."""
    if isinstance(value, str):
        match = _PERCENT.match(value)
        if not match:
            raise ValueError(f"expected a share such as 0.35 or 35%, got {value!r}")
        value = float(match.group(1)) / 100.0
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"expected a share such as 0.35 or 35%, got {value!r}")
    if not 0.0 <= value <= 1.0:
        hint = f" (did you mean {value:g}%?)" if 1.0 < value <= 100.0 else ""
        raise ValueError(
            f"a share must be in [0, 1] or a percentage 0% to 100%, got {value!r}{hint}"
        )
    return float(value)


def parse_clock(value: object) -> float:
    """A clock time ``"HH:MM"`` (00:00 to 24:00) to seconds after midnight."""
    if not isinstance(value, str):
        raise ValueError(f'expected a clock time "HH:MM", got {value!r}')
    match = _CLOCK.match(value.strip())
    if not match:
        raise ValueError(f'expected a clock time "HH:MM", got {value!r}')
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes >= 60 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(f"not a clock time: {value!r} (00:00 to 24:00)")
    return hours * 3600.0 + minutes * 60.0


def format_clock(seconds: float) -> str:
    """Seconds after midnight to ``HH:MM``."""
    minutes = round(seconds / 60.0)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
