"""Days, weekdays and intervals: arrival-rate pieces, staffing timelines and opening hours.

Owns turning the scenario's clock-time maps, weekday factors, shifts and opening hours into
functions of model time (seconds from day 1, 00:00), and a delivery channel's daily capacity.
It draws no random numbers and imports no SimPy, so the KPIs may use it.
"""

from __future__ import annotations

import bisect
import datetime
import math
from dataclasses import dataclass

import numpy as np

from sim.scenario.schema import AgentGroup, Hours, Scenario
from sim.scenario.schema_types import by_day
from sim.scenario.units import DAY, WEEKDAYS, Weekday, parse_clock

__all__ = [
    "Opening",
    "Timeline",
    "arrival_rates",
    "compress",
    "date_of",
    "staffing_timeline",
    "weekday_of",
]


@dataclass(frozen=True)
class Timeline:
    """A piecewise-constant function: ``values[i]`` holds on ``[times[i], times[i+1])``."""

    times: np.ndarray
    values: np.ndarray
    end: float

    def integral(self, edges: np.ndarray) -> np.ndarray:
        """Integral of the function over each ``[edges[k], edges[k+1])`` (e.g. agent-seconds)."""
        bounds = np.append(self.times, self.end)
        cum = np.concatenate(([0.0], np.cumsum(self.values * np.diff(bounds))))
        at = np.interp(np.clip(edges, 0, self.end), bounds, cum)
        return np.diff(at)

    def at(self, t: float) -> float:
        return float(self.values[np.searchsorted(self.times, t, side="right") - 1])


def date_of(scenario: Scenario, day: int) -> datetime.date | None:
    """Calendar date of 0-based ``day`` of a dated horizon (None: the horizon has no dates)."""
    start = scenario.horizon.start_date
    return None if start is None else start + datetime.timedelta(days=day)


def weekday_of(start: Scenario | str, day: int) -> Weekday:
    """Weekday name of 0-based ``day``; day 0 is ``start`` (a weekday name) or the scenario's
    ``horizon.start_weekday``."""
    first = start if isinstance(start, str) else start.horizon.start_weekday
    return WEEKDAYS[(WEEKDAYS.index(first) + day) % 7]


class Opening:
    """When a team works: sorted, disjoint windows ``[open, close)`` over the horizon, seconds."""

    def __init__(self, opens: list[float], closes: list[float]):
        self.opens, self.closes = opens, closes

    @classmethod
    def from_hours(cls, hours: Hours | None, start_weekday: str, days: int) -> Opening:
        """Windows of ``hours`` for days ``-1 .. days`` (day -1 may run past midnight)."""
        if hours is None:
            hours = Hours()
        windows = []
        for d in range(-1, days + 1):
            if hours.days is None or weekday_of(start_weekday, d) in hours.days:
                start = d * DAY + hours.start_s
                windows.append([start, start + hours.length_s])
        merged: list[list[float]] = []
        for w in windows:
            if merged and w[0] <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], w[1])
            else:
                merged.append(w)
        return cls([max(w[0], 0.0) for w in merged], [w[1] for w in merged])

    def next_open(self, t: float) -> float:
        """The first time >= ``t`` inside the hours (inf if none is left)."""
        i = bisect.bisect_right(self.opens, t) - 1
        if i >= 0 and t < self.closes[i]:
            return t
        return self.opens[i + 1] if i + 1 < len(self.opens) else math.inf

    def is_open(self, t: float) -> bool:
        return self.next_open(t) == t


def _cyclic_map(time_map: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """Clock map to (starts, values) covering a whole day; before the first time, the last value."""
    starts = np.array([parse_clock(k) for k in time_map], dtype=float)
    values = np.array(list(time_map.values()), dtype=float)
    if starts[0] > 0:
        starts = np.concatenate(([0.0], starts))
        values = np.concatenate((values[-1:], values))
    return starts, values


def compress(times: np.ndarray, values: np.ndarray, end: float) -> Timeline:
    """A Timeline from change points: sorted, zero-length pieces and repeated values dropped."""
    order = np.argsort(times, kind="stable")
    times, values = times[order], values[order]
    keep = np.append(times[1:] > times[:-1], True)  # last value at a repeated time wins
    times, values = times[keep], values[keep]
    change = np.concatenate(([True], values[1:] != values[:-1]))
    return Timeline(times[change], values[change], end)


def arrival_rates(scenario: Scenario, day_factors: np.ndarray | None = None) -> Timeline:
    """Arrival rate (calls per second) over the horizon, piecewise constant.

    ``day_factors`` (one per day, mean 1) multiply each day's volume: the random day-to-day
    variation drawn by the arrival process.
    """
    arr, days = scenario.arrivals, scenario.horizon.days
    factors = np.ones(days) if day_factors is None else np.asarray(day_factors, dtype=float)
    times, rates = [], []
    for d in range(days):
        wd = arr.weekday_factors.get(weekday_of(scenario, d), 1.0) * factors[d]
        starts, day_rates = _day_rates(scenario, d)
        times.append(starts + d * DAY)
        rates.append(day_rates * wd)
    return compress(np.concatenate(times), np.concatenate(rates), days * DAY)


def _day_rates(scenario: Scenario, d: int) -> tuple[np.ndarray, np.ndarray]:
    arr = scenario.arrivals
    if arr.rate_per_hour is not None:
        return np.array([0.0]), np.array([arr.rate_per_hour / 3600.0])
    if arr.daily_volume is not None:
        if not arr.intraday_profile:
            return np.array([0.0]), np.array([arr.daily_volume / DAY])
        starts, weights = _cyclic_map(arr.intraday_profile)
        lengths = np.diff(np.append(starts, DAY))
        return starts, arr.daily_volume * weights / float(np.sum(weights * lengths))
    rows = np.array(arr.rows, dtype=float)  # (day or 0, start, calls per interval)
    if np.any(rows[:, 0] > 0):
        n_days = int(rows[:, 0].max())
        rows = rows[rows[:, 0] == (d % n_days) + 1]  # days beyond the file repeat its cycle
    if len(rows) == 0:
        return np.array([0.0]), np.array([0.0])
    step = scenario.interval
    # a row's own start beats the default 0 at midnight, which beats the gap after a row
    starts = np.concatenate((rows[:, 1], [0.0], rows[:, 1] + step))
    values = np.concatenate((rows[:, 2] / step, [0.0], np.zeros(len(rows))))
    order = np.lexsort((np.arange(len(starts)), starts))
    starts, values = starts[order], values[order]
    first = np.concatenate(([True], starts[1:] != starts[:-1]))
    return starts[first], values[first]


def staffing_timeline(scenario: Scenario, group: AgentGroup) -> Timeline:
    """Agents scheduled on duty in ``group`` over the horizon (breaks taken off)."""
    days, end = scenario.horizon.days, scenario.horizon_s
    if group.shifts is not None:
        return _shift_timeline(scenario, group, days, end)
    times, values = [], []
    for d in range(-1, days):  # day -1 supplies the value running past midnight into day 0
        plan = group.staffing
        assert plan is not None  # the schema requires exactly one of staffing and shifts
        if by_day(plan) and next(iter(plan)) in WEEKDAYS:
            plan = plan.get(weekday_of(scenario, d), 0)
        elif by_day(plan):  # by date: the day before the horizon has nobody
            date = date_of(scenario, d)
            plan = plan.get(date.isoformat(), 0) if date is not None else 0
        if isinstance(plan, int):
            starts, counts = np.array([0.0]), np.array([float(plan)])
        else:
            starts, counts = _cyclic_map(plan)
            if d > -1 and parse_clock(next(iter(plan))) > 0:
                starts, counts = starts[1:], counts[1:]  # before the first time: previous day
        times.append(starts + d * DAY)
        values.append(counts)
    t, v = np.concatenate(times), np.concatenate(values)
    before = t <= 0
    v0 = v[before][-1] if before.any() else 0.0
    t, v = np.concatenate(([0.0], t[~before])), np.concatenate(([v0], v[~before]))
    return compress(t, v, end)


def _shift_timeline(scenario: Scenario, group: AgentGroup, days: int, end: float) -> Timeline:
    deltas: list[tuple[float, float]] = []
    for d in range(-1, days):
        weekday = weekday_of(scenario, d)
        for shift in group.shifts or []:
            if shift.days is not None and weekday not in shift.days:
                continue
            start = d * DAY + parse_clock(shift.start)
            length = (parse_clock(shift.end) - parse_clock(shift.start)) % DAY
            deltas += [(start, shift.count), (start + length, -shift.count)]
            for b in shift.breaks:
                at = start + (parse_clock(b.at) - parse_clock(shift.start)) % DAY
                deltas += [(at, -shift.count), (at + b.length, shift.count)]
    if not deltas:
        return Timeline(np.array([0.0]), np.array([0.0]), end)
    arr = np.array(sorted(deltas))
    level = np.cumsum(arr[:, 1])
    t = arr[:, 0]
    before = t <= 0
    v0 = level[before][-1] if before.any() else 0.0
    t = np.concatenate(([0.0], t[~before]))
    level = np.concatenate(([v0], level[~before]))
    keep = t < end
    return compress(t[keep], np.round(level[keep]), end)
