"""The forecast methods: calls per interval for days ahead from the days before an origin.

Each method sees the same things: total calls per (day, interval), which days are *usable*
(normal days with data: no closed day, holiday, day after a closure, event or gap), the weekday
of day 0, the origin (only days before it are read) and the target days. Special days are put
back afterwards by :func:`with_special_days`, the same for every method.

- ``seasonal_naive``: the same interval of the last usable day of the same weekday.
- ``average_8w``: the mean of the same weekday and interval over its last 8 usable days.
- ``weighted_12w``: the same over 12, weights halving every 4 weeks (recent weeks count more).
- ``ets_profile``: day totals by Holt-Winters exponential smoothing (level and additive weekly
  season, statsmodels) times each weekday's intraday profile (its last 12 usable days).
- ``blend``: the mean of ``weighted_12w`` and ``ets_profile`` (a combination of two forecasts
  is rarely worse than the better of them, and often better than both).

The literature on call-center arrivals (Taylor 2008; Ibrahim et al. 2016) finds the smoothing
models best a few days ahead and the weekday average hard to beat further out; the back-test
decides on the center's own history.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sim.forecast.special import CARRY, CLOSED, EVENT, Calendar

__all__ = [
    "CARRY_CLASSES",
    "CARRY_SHARE_ASSUMED",
    "METHODS",
    "Inputs",
    "learn_effects",
    "type_shares",
    "with_special_days",
]

LOOKBACK_WEEKS = 26  # a weekday without a usable day in this many weeks is closed
ETS_DAYS = 371  # day totals the smoothing model is fitted on (a year and a week)
ETS_MIN_DAYS = 28
EFFECT_WINDOW = 28  # days either side of a special day whose normal days say what normal was
CARRY_SHARE_ASSUMED = 0.25
"""The share of a closure's calls assumed to come back on the first open day after it when the
history has no such day to learn from (stated as assumed in forecast.json). None would
understate that day badly: in a large US bank's 2003 calls the day after Memorial Day and Labor
Day had 27-30 % more calls than a normal Tuesday, about a quarter of a Monday's calls."""


@dataclass(frozen=True)
class Inputs:
    """What a method reads: ``totals`` (days, per_day), ``usable`` (days,), weekday of day 0."""

    totals: np.ndarray
    usable: np.ndarray
    first_weekday: int

    def weekday(self, days: np.ndarray) -> np.ndarray:
        return (days + self.first_weekday) % 7

    def recent(self, origin: int, weekday: int, k: int) -> np.ndarray:
        """The last ``k`` usable days of ``weekday`` before ``origin`` (oldest first)."""
        lo = max(0, origin - 7 * LOOKBACK_WEEKS)
        first = lo + (weekday - lo - self.first_weekday) % 7
        days = np.arange(first, min(origin, len(self.usable)), 7)
        return days[self.usable[days]][-k:]


def _weekday_mean(inp: Inputs, origin: int, targets: np.ndarray, k: int, halve: float | None):
    out = np.zeros((len(targets), inp.totals.shape[1]))
    wd = inp.weekday(targets)
    for w in np.unique(wd).tolist():
        days = inp.recent(origin, w, k)
        if not len(days):
            continue  # a weekday the center does not open
        weights = np.ones(len(days))
        if halve is not None:
            weights = 0.5 ** ((days[-1] - days) / (7.0 * halve))
        out[wd == w] = weights @ inp.totals[days] / weights.sum()
    return out


def seasonal_naive(inp: Inputs, origin: int, targets: np.ndarray) -> np.ndarray:
    return _weekday_mean(inp, origin, targets, 1, None)


def average_8w(inp: Inputs, origin: int, targets: np.ndarray) -> np.ndarray:
    return _weekday_mean(inp, origin, targets, 8, None)


def weighted_12w(inp: Inputs, origin: int, targets: np.ndarray) -> np.ndarray:
    return _weekday_mean(inp, origin, targets, 12, 4.0)


def profiles(inp: Inputs, origin: int, k: int = 12) -> np.ndarray:
    """(7, per_day) share of each weekday's calls per interval over its last ``k`` usable days."""
    out = np.zeros((7, inp.totals.shape[1]))
    for w in range(7):
        days = inp.recent(origin, w, k)
        total = inp.totals[days].sum(axis=0)
        if total.sum() > 0:
            out[w] = total / total.sum()
    return out


def _day_series(inp: Inputs, origin: int) -> tuple[np.ndarray, int]:
    """Day totals of the last ETS_DAYS days before ``origin``, days that are not usable filled
    with the same weekday a week before (its mean at the start; 0 for a weekday never open)."""
    lo = max(0, origin - ETS_DAYS)
    y = inp.totals[lo:origin].sum(axis=1)
    ok = inp.usable[lo:origin]
    wd = inp.weekday(np.arange(lo, origin))
    means = np.zeros(7)
    for w in range(7):
        sel = ok & (wd == w)
        means[w] = y[sel].mean() if sel.any() else 0.0
    z = np.where(ok, y, 0.0)
    for i in np.flatnonzero(~ok).tolist():
        z[i] = z[i - 7] if i >= 7 else means[wd[i]]
    return z, lo


def ets_profile(inp: Inputs, origin: int, targets: np.ndarray) -> np.ndarray:
    from statsmodels.tools.sm_exceptions import ConvergenceWarning
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    z, _ = _day_series(inp, origin)
    steps = int(targets.max()) - origin + 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        model = ExponentialSmoothing(
            z, trend=None, seasonal="add", seasonal_periods=7, initialization_method="estimated"
        )
        path = np.asarray(model.fit().forecast(steps))
    days = np.maximum(path[targets - origin], 0.0)
    return days[:, None] * profiles(inp, origin)[inp.weekday(targets)]


def blend(inp: Inputs, origin: int, targets: np.ndarray) -> np.ndarray:
    return (weighted_12w(inp, origin, targets) + ets_profile(inp, origin, targets)) / 2.0


Method = Callable[[Inputs, int, np.ndarray], np.ndarray]
METHODS: dict[str, Method] = {
    "seasonal_naive": seasonal_naive,
    "average_8w": average_8w,
    "weighted_12w": weighted_12w,
    "ets_profile": ets_profile,
    "blend": blend,
}
# days of history a method needs before its origin
MIN_DAYS = {"ets_profile": ETS_MIN_DAYS, "blend": ETS_MIN_DAYS}


CARRY_CLASSES = ("next day", "after a weekly closure")
"""How a first open day follows its closure: the very next day (a Monday holiday's Tuesday), or
over days the center never opens (a Friday holiday's Monday, already busy with the weekend)."""


def carry_class(cal: Calendar, d: int) -> int:
    """0 when day ``d`` follows its closure the next day, 1 over a weekly closure."""
    return 0 if max(cal.after.get(d, (d - 1,))) == d - 1 else 1


def learn_effects(inp: Inputs, cal: Calendar, has_data: np.ndarray, origin: int) -> dict:
    """What special days did in the history before ``origin``, against normal days of their
    weekday (the mean of its usable days within four weeks either side).

    - CARRY: per :data:`CARRY_CLASSES`, the *share* of the closed days' calls that came back on
      the first open day after them, ``sum(actual - normal) / sum(normal of the closed days)``;
      a class none of whose days was seen takes the other's, and with none seen at all
      :data:`CARRY_SHARE_ASSUMED`. A share of the calls held back (not a factor on the day
      itself) is what carries from one closure to another.
    - EVENT: the factor of its volume over a normal day; 1 with none seen.

    ``{CARRY: ((share per class), (days seen per class)), EVENT: (factor, days seen)}``."""
    day_totals = inp.totals.sum(axis=1)

    def normal(d: int) -> float | None:
        near = np.arange(d % 7, origin, 7)
        near = near[(np.abs(near - d) <= EFFECT_WINDOW) & inp.usable[near]]
        return float(day_totals[near].mean()) if len(near) else None

    extra, base, used = np.zeros(2), np.zeros(2), [0, 0]
    event = [0.0, 0.0, 0]
    special = np.isin(cal.kind[:origin], (CARRY, EVENT)) & has_data[:origin]
    for d in np.flatnonzero(special).tolist():
        own = normal(d)
        if cal.kind[d] == EVENT:
            if own is not None:
                event = [event[0] + day_totals[d], event[1] + own, event[2] + 1]
            continue
        held = [normal(c) for c in cal.after.get(d, ())]
        if own is None or not held or None in held:
            continue
        c = carry_class(cal, d)
        extra[c] += day_totals[d] - own
        base[c] += sum(h for h in held if h is not None)
        used[c] += 1
    if sum(used):
        pooled = max(0.0, extra.sum() / base.sum()) if base.sum() > 0 else CARRY_SHARE_ASSUMED
        shares = tuple(
            max(0.0, extra[c] / base[c]) if used[c] and base[c] > 0 else pooled for c in (0, 1)
        )
    else:
        shares = (CARRY_SHARE_ASSUMED, CARRY_SHARE_ASSUMED)
    factor = event[0] / event[1] if event[2] and event[1] > 0 else 1.0
    return {CARRY: (shares, tuple(used)), EVENT: (factor, event[2])}


def with_special_days(
    fc: np.ndarray, targets: np.ndarray, cal: Calendar, effects: dict
) -> np.ndarray:
    """A forecast of normal ``targets`` days with the special ones put in: closed days get no
    call; the first open day after a closure its normal calls plus its class's carried share of
    the closed days' normal calls (spread like its own; a closed day before the targets counts
    as much as the day itself); events their factor."""
    out = fc.copy()
    kinds = cal.kind[targets]
    shares = effects[CARRY][0]
    first = int(targets[0]) if len(targets) else 0
    for i in np.flatnonzero(kinds == CARRY).tolist():
        own = fc[i].sum()
        if own <= 0:
            continue
        d = first + i
        held = sum(fc[c - first].sum() if c >= first else own for c in cal.after.get(d, ()))
        out[i] = fc[i] * (1.0 + shares[carry_class(cal, d)] * held / own)
    out[kinds == CLOSED] = 0.0
    out[kinds == EVENT] *= effects[EVENT][0]
    return out


def type_shares(counts: np.ndarray, inp: Inputs, origin: int, targets: np.ndarray) -> np.ndarray:
    """(targets, per_day, types) share of each call type in each target interval: its share of
    the same weekday and interval over the last 8 usable days, else of the weekday, else of
    all of them. Shares sum to 1, so the types add up to the total."""
    n_types = counts.shape[2]
    per_day = counts.shape[1]
    out = np.zeros((len(targets), per_day, n_types))
    overall = counts[: min(origin, len(counts))][inp.usable[:origin]].sum(axis=(0, 1))
    overall = overall / overall.sum() if overall.sum() > 0 else np.full(n_types, 1.0 / n_types)
    wd = inp.weekday(targets)
    for w in np.unique(wd).tolist():
        days = inp.recent(origin, w, 8)
        by_slot = counts[days].sum(axis=0)  # (per_day, types)
        day_level = by_slot.sum(axis=0)
        fallback = day_level / day_level.sum() if day_level.sum() > 0 else overall
        slot_total = by_slot.sum(axis=1, keepdims=True)
        shares = np.where(slot_total > 0, by_slot / np.maximum(slot_total, 1e-300), fallback)
        out[wd == w] = shares
    return out
