"""Arrivals from a call log: open and closed days, daily volume, weekday factors, intraday profile,
and day-to-day overdispersion.

Only *first* calls enter here (redials are modelled by ``redial:``, see :mod:`.redials`). A day
inside the log's span with (almost) no call is closed: fewer calls than :data:`OPEN_DAY_SHARE`
of the median day's (a few stray calls, e.g. redials past midnight, do not open a day). A
weekday closed on every one of its days gets factor 0; an isolated closed day (a holiday) is
listed and left out of every mean, never averaged in as a zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.fit.estimators import wilson
from sim.scenario.units import DAY, WEEKDAYS, format_clock

__all__ = ["LogCalendar", "fit_arrivals", "in_hours", "log_calendar", "opening_hours"]

PROFILE_TEST_ALPHA = 0.01  # below this p-value the weekdays get their own intraday profiles
OPEN_DAY_SHARE = 0.05  # a day with fewer calls than this share of the median day is closed
CLOSED_EXPECTED = 5.0  # a weekday without calls where the pooled profile expects this many: closed


@dataclass(frozen=True)
class LogCalendar:
    """Days of the log: day index of each call, weekday (0 = mon) and open flag of each day."""

    first_epoch_day: int
    day: np.ndarray  # per call, 0-based day of the log
    weekday: np.ndarray  # per day, 0 = mon
    open: np.ndarray  # per day: open (see OPEN_DAY_SHARE)
    seconds: np.ndarray  # per call, seconds from the log's first midnight

    @property
    def days(self) -> int:
        return len(self.weekday)

    def date(self, d: int) -> str:
        return str(np.datetime64(self.first_epoch_day + d, "D"))


def log_calendar(arrival: np.ndarray) -> LogCalendar:
    """Whole days from the first call's midnight to the last call's (local time as written)."""
    first = int(arrival.min() // DAY)
    seconds = (arrival - first * int(DAY)).astype(float)
    day = (seconds // DAY).astype(np.int64)
    n_days = int(day.max()) + 1
    weekday = (np.arange(first, first + n_days) + 3) % 7  # 1970-01-01 was a Thursday
    counts = np.bincount(day, minlength=n_days)
    is_open = counts >= OPEN_DAY_SHARE * np.median(counts[counts > 0])
    return LogCalendar(first, day, weekday, is_open, seconds)


def _t95(df: int) -> float:
    from scipy import stats

    return float(stats.t.ppf(0.975, df))


def opening_hours(cal: LogCalendar, interval: float, *times: np.ndarray) -> np.ndarray:
    """Per weekday x interval of the day: whether the center had a call there (7 x slots).

    A slot is open when on some open day of that weekday one of ``times`` (seconds from the
    log's first midnight: the offered calls' arrivals and the answers) falls in it. The fitted
    scenario has no arrivals and no agents in the other slots (nights, a weekend closing): a
    pooled intraday profile times a weekday factor put calls there (Saturday daytime of a center
    open on Saturday evening only).
    """
    slots = round(DAY / interval)
    grid = np.zeros((7, slots), dtype=bool)
    for sec in times:
        day = np.minimum((sec // DAY).astype(np.int64), cal.days - 1)
        keep = cal.open[day]
        slot = (sec[keep] % DAY // interval).astype(np.int64)
        grid[cal.weekday[day[keep]], slot] = True
    return grid


def in_hours(cal: LogCalendar, hours: np.ndarray, interval: float) -> np.ndarray:
    """Per call: whether it arrived in an open weekday-interval (:func:`opening_hours`)."""
    slot = (cal.seconds % DAY // interval).astype(np.int64)
    return hours[cal.weekday[cal.day], slot]


def hours_text(row: np.ndarray, interval: float) -> list[str]:
    """Open stretches of one weekday, e.g. ``["07:00-14:00"]`` (``24:00`` for midnight)."""
    out, start = [], None
    for s, is_open in enumerate([*row.tolist(), False]):
        if is_open and start is None:
            start = s
        elif not is_open and start is not None:
            end = format_clock(s * interval) if s < len(row) else "24:00"
            out.append(f"{format_clock(start * interval)}-{end}")
            start = None
    return out


def fit_arrivals(
    cal: LogCalendar, first: np.ndarray, interval: float, hours: np.ndarray | None = None
) -> dict:
    """Volume, weekday factors, intraday profile (pooled or per weekday), day_to_day_cv.

    ``first`` masks the first calls; ``hours`` is :func:`opening_hours` (default: every slot
    where a first call arrived). Returns a JSON-ready dict; ``profile_by_weekday`` is set when a
    chi-square test of homogeneity rejects one profile for all open weekdays, or when the open
    weekdays have different opening hours (one profile cannot be zero on Saturday morning only).
    """
    slots = round(DAY / interval)
    per_day = np.bincount(cal.day[first], minlength=cal.days).astype(float)
    slot = (cal.seconds[first] % DAY // interval).astype(np.int64)
    grid = np.zeros((cal.days, slots))
    np.add.at(grid, (cal.day[first], slot), 1.0)
    weekdays, means, variances = {}, {}, {}
    for w, name in enumerate(WEEKDAYS):
        seen = cal.weekday == w
        mine = seen & cal.open
        if not seen.any():
            continue
        counts = per_day[mine]
        entry: dict[str, Any] = {"days": int(seen.sum()), "open_days": int(mine.sum())}
        if mine.any():
            m = float(counts.mean())
            entry["mean_calls"] = m
            means[name] = m
            var = float(counts.var(ddof=1)) / len(counts) if len(counts) > 1 else None
            variances[name] = var
            if var is not None:
                half = _t95(len(counts) - 1) * math.sqrt(var)
                entry["mean_calls_ci95"] = [m - half, m + half]
        weekdays[name] = entry
    if not means:
        raise ValueError("no open day in the log")
    volume = float(np.mean(list(means.values())))
    known = [v for v in variances.values() if v is not None]
    vol_ci = None
    if len(known) == len(means):
        half = 1.959964 * math.sqrt(sum(known)) / len(means)
        vol_ci = [volume - half, volume + half]
    for name, entry in weekdays.items():
        if name not in means:
            entry["factor"] = 0.0
            entry["note"] = "closed on every such day of the log"
            continue
        entry["factor"] = means[name] / volume
        if "mean_calls_ci95" in entry:
            entry["factor_ci95"] = [v / volume for v in entry["mean_calls_ci95"]]
    holidays = [
        cal.date(d) for d in np.flatnonzero(~cal.open).tolist() if WEEKDAYS[cal.weekday[d]] in means
    ]
    if hours is None:
        hours = opening_hours(cal, interval, cal.seconds[first])  # no outcome: first calls
    profile, by_weekday, test = _profiles(cal, grid, means, interval, hours)
    return {
        "first_calls": int(first.sum()),
        "days": cal.days,
        "open_days": int(cal.open.sum()),
        "first_date": cal.date(0),
        "last_date": cal.date(cal.days - 1),
        "holidays": holidays,
        "daily_volume": volume,
        "daily_volume_ci95": vol_ci,
        "estimator": "mean first calls per open day of each weekday; volume = their mean",
        "weekdays": weekdays,
        "day_to_day_cv": _day_to_day_cv(cal, per_day, means),
        "intraday_profile": profile,
        "profile_by_weekday": by_weekday,
        "profile_test": test,
        "opening_hours": {
            WEEKDAYS[w]: hours_text(hours[w], interval) for w in range(7) if WEEKDAYS[w] in means
        },
        "open_grid": hours.astype(int).tolist(),
    }


def _profiles(cal: LogCalendar, grid: np.ndarray, means: dict, interval: float, hours):
    """Pooled intraday shares with Wilson intervals; per-weekday calls per slot if they differ
    (chi-square) or if the open weekdays' opening hours differ."""
    from scipy import stats

    open_wd = [WEEKDAYS.index(n) for n in means]
    table = np.array([grid[(cal.weekday == w) & cal.open].sum(axis=0) for w in open_wd])
    pooled = table.sum(axis=0)
    total = float(pooled.sum())
    profile = {}
    for s in np.flatnonzero(pooled > 0).tolist():
        profile[format_clock(s * interval)] = {
            "share": pooled[s] / total,
            "share_ci95": wilson(int(pooled[s]), int(total)),
        }
    cols = pooled > 0
    busy = table[table.sum(axis=1) > 0]
    test: dict[str, Any] = {
        "test": "chi-square homogeneity of weekday x interval counts",
        "p_value": None,
    }
    by_weekday = None
    if len(busy) > 1 and cols.sum() > 1:
        chi2, p, dof, _ = stats.chi2_contingency(busy[:, cols] + 0.0, correction=False)
        test.update(chi2=float(chi2), dof=int(dof), p_value=float(p))
    # a weekday closed where the pooled profile expects CLOSED_EXPECTED calls or more over its
    # days: not chance (P(0) < 1 %), a different opening (a slot of 0.5 calls/day is often empty)
    expected = np.outer(table.sum(axis=1), pooled / max(total, 1.0))
    closed = ~hours[open_wd] & (expected >= CLOSED_EXPECTED)
    same_hours = not closed.any()
    test["same_opening_hours"] = same_hours
    if len(open_wd) > 1 and ((test["p_value"] or 1.0) < PROFILE_TEST_ALPHA or not same_hours):
        n_open = np.array([((cal.weekday == w) & cal.open).sum() for w in open_wd])
        by_weekday = {WEEKDAYS[w]: (table[i] / n_open[i]).tolist() for i, w in enumerate(open_wd)}
    return profile, by_weekday, test


def _day_to_day_cv(cal: LogCalendar, per_day: np.ndarray, means: dict) -> dict:
    """cv of a gamma day factor: Var N = mu + cv^2 mu^2 (negative binomial), moments, floor 0.

    Each open day's excess variance over Poisson, (N - mean)^2 x k/(k-1) - mean, over its
    weekday's mean squared; averaged over days of weekdays with at least two open days.
    """
    ratios = []
    for name, m in means.items():
        mine = (cal.weekday == WEEKDAYS.index(name)) & cal.open
        k = int(mine.sum())
        if k < 2 or m <= 0:
            continue
        dev = (per_day[mine] - m) ** 2 * k / (k - 1)
        ratios.extend(((dev - m) / (m * m)).tolist())
    out = {"estimator": "moments beyond Poisson per weekday, floored at 0", "days": len(ratios)}
    if not ratios:
        out.update(value=0.0, note="fewer than two open days of any weekday: assumed 0")
        return out
    cv2 = float(np.mean(ratios))
    out["value"] = math.sqrt(cv2) if cv2 > 0 else 0.0
    out["cv_squared"] = cv2
    if len(ratios) > 1:
        half = _t95(len(ratios) - 1) * float(np.std(ratios, ddof=1)) / math.sqrt(len(ratios))
        out["cv_squared_ci95"] = [cv2 - half, cv2 + half]
    return out
