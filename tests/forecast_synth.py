"""Histories with a known truth for the forecast tests and benchmark: weekly and intraday
seasonality, a level shift, over-dispersed counts (a gamma day factor and negative binomial
intervals), closed Sundays, Monday holidays whose calls partly come the next open day, and gaps.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

WEEKDAY_FACTORS = np.array([1.25, 1.05, 1.0, 0.95, 0.9, 0.45, 0.0])  # Mon..Sun; Sunday closed
FIRST_DAY = dt.date(2025, 1, 6)  # a Monday


def profile(per_day: int) -> np.ndarray:
    """Open 07:00-20:00, a morning and an early-afternoon peak; shares summing to 1."""
    t = (np.arange(per_day) + 0.5) * 24.0 / per_day
    shape = np.exp(-(((t - 10.0) / 1.8) ** 2)) + 0.7 * np.exp(-(((t - 14.5) / 2.0) ** 2)) + 0.15
    shape[(t < 7) | (t >= 20)] = 0.0
    return shape / shape.sum()


@dataclass
class Synth:
    first_day: dt.date
    interval: int
    counts: np.ndarray  # (days, per_day, types)
    truth: np.ndarray  # (days, per_day) expected total calls (before the day factor)
    has_data: np.ndarray  # (days,)
    holidays: list[dt.date]
    types: list[str]

    def date(self, d: int) -> dt.date:
        return self.first_day + dt.timedelta(days=d)

    def special_days_csv(self, path: Path, extra: list[dt.date] = ()) -> Path:
        lines = ["date,kind,name"] + [f"{d},holiday,holiday" for d in [*self.holidays, *extra]]
        path.write_text("\n".join(lines) + "\n")
        return path

    def interval_report(self, path: Path, days: int | None = None) -> Path:
        """The first ``days`` days as an interval report (rows with calls only, as exports)."""
        n = len(self.has_data) if days is None else days
        out = ["start,call_type,offered"]
        per_day = self.counts.shape[1]
        for d in range(n):
            if not self.has_data[d]:
                continue
            day = self.date(d).isoformat()
            for k in range(per_day):
                clock = f"{k * self.interval // 3600:02d}:{k * self.interval % 3600 // 60:02d}"
                for t, name in enumerate(self.types):
                    c = int(self.counts[d, k, t])
                    if c:
                        out.append(f"{day}T{clock}:00,{name},{c}")
        path.write_text("\n".join(out) + "\n")
        return path


def make_history(
    days: int = 364,
    interval: int = 1800,
    daily: float = 2000.0,
    seed: int = 1,
    day_cv: float = 0.08,
    alpha: float = 0.02,
    shift: tuple[int, float] | None = (200, 1.2),
    holiday_weeks: tuple[int, ...] = (6, 15, 24, 33, 42, 51),
    carry: float = 0.3,
    gaps: tuple[tuple[int, int], ...] = ((120, 124),),
    types: tuple[str, ...] = ("A", "B"),
    type_shares: tuple[float, ...] = (0.7, 0.3),
) -> Synth:
    """``days`` days from Monday 2025-01-06. Holidays on the Monday of ``holiday_weeks`` (no
    calls; the next day its normal calls plus ``carry`` of the holiday's normal calls); ``gaps``
    ranges of days without data; from day ``shift[0]`` on the level is ``shift[1]`` times
    higher."""
    rng = np.random.default_rng(seed)
    per_day = 86400 // interval
    prof = profile(per_day)
    d = np.arange(days)
    level = np.where(d >= shift[0], daily * shift[1], daily) if shift else np.full(days, daily)
    factor = WEEKDAY_FACTORS[d % 7].copy()
    holidays = [7 * w for w in holiday_weeks if 7 * w < days]
    for h in holidays:
        if h + 1 < days:
            factor[h + 1] += carry * factor[h]
        factor[h] = 0.0
    truth = (level * factor)[:, None] * prof[None, :]
    day_factor = rng.gamma(1 / day_cv**2, day_cv**2, size=days) if day_cv > 0 else np.ones(days)
    lam = truth * day_factor[:, None]
    shares = np.array(type_shares)
    lam_t = lam[:, :, None] * shares[None, None, :]
    if alpha > 0:
        lam_t = rng.gamma(1 / alpha, alpha * np.maximum(lam_t, 1e-12)) * (lam_t > 0)
    counts = rng.poisson(lam_t).astype(float)
    has_data = factor > 0
    for a, b in gaps:
        has_data[a:b] = False
    counts[~has_data] = 0.0
    return Synth(
        FIRST_DAY,
        interval,
        counts,
        truth,
        has_data,
        [FIRST_DAY + dt.timedelta(days=h) for h in holidays],
        list(types),
    )
