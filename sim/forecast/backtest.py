"""The rolling-origin back-test and the prediction intervals calibrated on it.

Every method forecasts the horizon from several origins inside the history (a week apart,
the last one a horizon before the end), using only the days before each origin, special days
included. Each forecast interval of a day with data (not closed) is scored: WAPE, MAPE (over
intervals with at least :data:`MAPE_MIN_CALLS` calls), bias, per horizon day.

Intervals for the *count*: negative binomial with the forecast as its mean and variance
``m + alpha m^2`` (Poisson noise plus a multiplicative error of the level, which grows with the
horizon). ``alpha`` is chosen per horizon band and volume class so that over the back-test the
80 % (95 %) interval holds 80 % (95 %) of the actual counts. The coverage the table reports is
out of sample: each origin's counts are judged with the alpha calibrated on the other origins.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import special as sps

__all__ = [
    "BAND_EDGES",
    "LEVELS",
    "MAPE_MIN_CALLS",
    "Alphas",
    "Backtest",
    "calibrate",
    "covered",
    "critical_alpha",
    "nb_interval",
    "origins_for",
]

LEVELS = (0.80, 0.95)
MAPE_MIN_CALLS = (
    10  # MAPE only over intervals with this many calls (a 1-call interval's % is noise)
)
BAND_EDGES = (1, 3, 7, 14)  # horizon days 1 | 2-3 | 4-7 | 8-14 | 15+
VOLUME_EDGES = (10.0, 50.0)  # forecast calls per interval: < 10 | 10-50 | 50+
MIN_CELL = 150  # counts needed to calibrate a (band, volume) cell on its own
MAX_ALPHA = 4.0
MIN_TRAIN = 14  # days of history before the first origin


def origins_for(
    days: int, horizon: int, count: int, min_train: int = MIN_TRAIN, start: int | None = None
) -> list[int]:
    """Up to ``count`` origins a week apart, the last at most ``horizon`` days before the end,
    none with fewer than ``min_train`` days before it (oldest first). With ``start`` (the day
    the forecast itself starts) they fall on its weekday, so that horizon day k of the
    back-test is the same weekday as horizon day k of the forecast (its scores and the
    intervals calibrated on them are about the days forecast)."""
    last = days - horizon
    if start is not None:
        last -= (last - start) % 7
    return sorted(o for o in range(last, min_train - 1, -7)[:count])


def _cdf(k: np.ndarray, m: np.ndarray, alpha: float) -> np.ndarray:
    """P(Y <= k) for Y negative binomial (mean m, variance m + alpha m^2); Poisson at alpha 0."""
    k = np.asarray(k, dtype=float)
    out = np.zeros(np.broadcast(k, m).shape)
    ok = k >= 0
    kk, mm = np.broadcast_to(k, out.shape)[ok], np.broadcast_to(m, out.shape)[ok]
    if alpha <= 0:
        out[ok] = sps.gammaincc(kk + 1.0, mm)
    else:
        n = 1.0 / alpha
        out[ok] = sps.betainc(n, kk + 1.0, n / (n + mm))
    return out


def covered(y: np.ndarray, m: np.ndarray, alpha: float, level: float) -> np.ndarray:
    """Whether each count ``y`` lies in the central ``level`` interval of NB(m, alpha)
    (the interval of :func:`nb_interval`, without computing it)."""
    y = np.rint(y)
    a = (1.0 - level) / 2.0
    pos = m > 0
    out = y == 0  # a forecast of no calls: only no call is inside
    if pos.any():
        yp, mp = y[pos], m[pos]
        out[pos] = (_cdf(yp, mp, alpha) >= a) & (_cdf(yp - 1, mp, alpha) < 1.0 - a)
    return out


def nb_interval(m: np.ndarray, alpha: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """The central ``level`` interval of the count for means ``m`` and each one's alpha."""
    from scipy import stats

    a = (1.0 - level) / 2.0
    m = np.asarray(m, dtype=float)
    alpha = np.broadcast_to(alpha, m.shape)
    lo, hi = np.zeros(m.shape), np.zeros(m.shape)
    pois = (alpha <= 0) & (m > 0)
    nb = (alpha > 0) & (m > 0)
    lo[pois], hi[pois] = stats.poisson.ppf(a, m[pois]), stats.poisson.ppf(1 - a, m[pois])
    n = 1.0 / alpha[nb]
    p = n / (n + m[nb])
    lo[nb], hi[nb] = stats.nbinom.ppf(a, n, p), stats.nbinom.ppf(1 - a, n, p)
    return lo, hi


def critical_alpha(y: np.ndarray, m: np.ndarray, level: float) -> np.ndarray:
    """For each count, the smallest alpha whose ``level`` interval holds it (0 when the Poisson
    one does, inf when none up to MAX_ALPHA does). The intervals widen with alpha, so the share
    of counts held at alpha is the share of these at or below it: calibrating is a quantile."""
    out = np.full(len(y), np.inf)
    if not len(y):
        return out
    zero = covered(y, m, 0.0, level)
    out[zero] = 0.0
    todo = ~zero & covered(y, m, MAX_ALPHA, level)
    lo = np.full(int(todo.sum()), np.log(1e-6))
    hi = np.full(len(lo), np.log(MAX_ALPHA))
    yt, mt = y[todo], m[todo]
    for _ in range(24):  # to 2 % of alpha: far finer than the calibration's own noise
        mid = (lo + hi) / 2.0
        ok = _covered_each(yt, mt, np.exp(mid), level)
        hi, lo = np.where(ok, mid, hi), np.where(ok, lo, mid)
    out[todo] = np.exp(hi)
    return out


def _covered_each(y: np.ndarray, m: np.ndarray, alpha: np.ndarray, level: float) -> np.ndarray:
    """:func:`covered` with one alpha per count (all > 0, means > 0)."""
    a = (1.0 - level) / 2.0
    y = np.rint(y)
    n = 1.0 / alpha
    p = n / (n + m)
    upper = sps.betainc(n, y + 1.0, p)
    below = np.where(y >= 1, sps.betainc(n, np.maximum(y, 1.0), p), 0.0)
    return (upper >= a) & (below < 1.0 - a)


def calibrate(critical: np.ndarray, level: float) -> float:
    """The smallest alpha whose ``level`` intervals hold ``level`` of the counts whose
    :func:`critical_alpha` are ``critical``."""
    if not len(critical):
        return 0.0
    k = int(np.ceil(level * len(critical))) - 1
    return float(min(np.partition(critical, k)[k], MAX_ALPHA))


def band_of(h: np.ndarray) -> np.ndarray:
    """Horizon band of horizon day ``h`` (1-based)."""
    return np.searchsorted(np.array(BAND_EDGES), h, side="left")


def volume_of(m: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.array(VOLUME_EDGES), m, side="right")


@dataclass
class Alphas:
    """alpha per level, horizon band and volume class (``table[level][band][volume]``)."""

    table: dict[float, np.ndarray]

    @classmethod
    def fit(
        cls, h: np.ndarray, m: np.ndarray, critical: dict[float, np.ndarray], volumes: bool = True
    ) -> Alphas:
        """Calibrate each cell with enough counts on its own, else its band, else all."""
        band, vol = band_of(h), volume_of(m) if volumes else np.zeros(len(m), dtype=np.int64)
        table = {}
        for level in LEVELS:
            crit = critical[level]
            t = np.full((len(BAND_EDGES) + 1, len(VOLUME_EDGES) + 1), calibrate(crit, level))
            for b in np.unique(band).tolist():
                inb = band == b
                if inb.sum() < MIN_CELL:
                    continue
                t[b, :] = calibrate(crit[inb], level)
                for v in np.unique(vol[inb]).tolist():
                    cell = inb & (vol == v)
                    if cell.sum() >= MIN_CELL:
                        t[b, v] = calibrate(crit[cell], level)
            table[level] = t
        return cls(table)

    def of(self, level: float, h: np.ndarray, m: np.ndarray, volumes: bool = True) -> np.ndarray:
        vol = volume_of(m) if volumes else np.zeros(np.shape(m), dtype=np.int64)
        return self.table[level][band_of(h), vol]

    def to_dict(self) -> dict:
        return {f"{level:.0%}": t.round(6).tolist() for level, t in self.table.items()}


@dataclass
class Backtest:
    """The scored forecasts of one method: per scored interval its origin, horizon day (1-based),
    forecast and actual; the same per day for day totals."""

    method: str
    origin: list[np.ndarray] = field(default_factory=list)
    h: list[np.ndarray] = field(default_factory=list)
    m: list[np.ndarray] = field(default_factory=list)
    y: list[np.ndarray] = field(default_factory=list)
    day: dict[str, list[np.ndarray]] = field(default_factory=dict)
    _critical: dict[str, dict] = field(default_factory=dict, repr=False)

    def add(self, origin: int, fc: np.ndarray, actual: np.ndarray, scored: np.ndarray) -> None:
        """``fc`` and ``actual`` (horizon, per_day); ``scored`` (horizon,) days to judge."""
        per_day = fc.shape[1]
        hs = np.repeat(np.arange(1, len(fc) + 1), per_day).reshape(fc.shape)
        # an interval with no call forecast and none come (the night) says nothing
        judged = scored[:, None] & ((fc > 0) | (actual > 0))
        for store, values in (
            (self.h, hs),
            (self.m, fc),
            (self.y, actual),
            (self.origin, np.full(fc.shape, origin)),
        ):
            store.append(values[judged])
        for key, values in (
            ("h", np.arange(1, len(fc) + 1)),
            ("m", fc.sum(axis=1)),
            ("y", actual.sum(axis=1)),
            ("origin", np.full(len(fc), origin)),
        ):
            self.day.setdefault(key, []).append(values[scored])

    def arrays(self, daily: bool = False) -> tuple[np.ndarray, ...]:
        if daily:
            return tuple(np.concatenate(self.day[k]) for k in ("origin", "h", "m", "y"))
        return tuple(np.concatenate(v) for v in (self.origin, self.h, self.m, self.y))

    def critical(self, daily: bool = False) -> dict[float, np.ndarray]:
        key = "day" if daily else "interval"
        if key not in self._critical:
            _, _, m, y = self.arrays(daily)
            self._critical[key] = {lv: critical_alpha(y, m, lv) for lv in LEVELS}
        return self._critical[key]

    def alphas(self, daily: bool = False) -> Alphas:
        _, h, m, _ = self.arrays(daily)
        return Alphas.fit(h, m, self.critical(daily), volumes=not daily)

    def coverage(self) -> dict[float, np.ndarray]:
        """Per level, whether each scored count was inside its interval, judged with the alphas
        calibrated on the other origins (on all of them when there is only one)."""
        o, h, m, _ = self.arrays()
        crit = self.critical()
        out = {level: np.zeros(len(m), dtype=bool) for level in LEVELS}
        origins = np.unique(o)
        for origin in origins.tolist():
            this = o == origin
            train = ~this if len(origins) > 1 else this
            alphas = Alphas.fit(h[train], m[train], {lv: c[train] for lv, c in crit.items()})
            for level in LEVELS:
                out[level][this] = crit[level][this] <= alphas.of(level, h[this], m[this])
        return out

    def scores(self) -> list[dict]:
        """One row per horizon day and one for all days: WAPE, MAPE, bias, coverage."""
        o, h, m, y = self.arrays()
        cover = self.coverage()
        rows = []
        for day in [*np.unique(h).tolist(), None]:
            sel = np.ones(len(h), dtype=bool) if day is None else h == day
            rows.append(_score(self.method, day, o[sel], m[sel], y[sel], cover, sel))
        return rows


def _score(method, day, o, m, y, cover, sel) -> dict:
    calls = float(y.sum())
    big = y >= MAPE_MIN_CALLS
    return {
        "method": method,
        "horizon_day": "all" if day is None else int(day),
        "origins": len(np.unique(o)),
        "intervals": len(y),
        "calls": calls,
        "wape": float(np.abs(m - y).sum() / calls) if calls > 0 else float("nan"),
        "mape": float(np.mean(np.abs(m[big] - y[big]) / y[big])) if big.any() else float("nan"),
        "bias": float((m - y).sum() / calls) if calls > 0 else float("nan"),
        "cover80": float(cover[0.80][sel].mean()) if len(y) else float("nan"),
        "cover95": float(cover[0.95][sel].mean()) if len(y) else float("nan"),
    }
