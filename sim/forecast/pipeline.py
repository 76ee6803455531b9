"""``sim forecast`` end to end: the back-test of every method, the chosen one's forecast with
calibrated intervals per interval, call type and day, and the results folder's files.

Reads a :class:`~sim.forecast.history.History` and the special days; writes nothing itself but
returns plain data (:meth:`ForecastResult.files`) that the command writes through the staged
results folder. The scenario for planning is built in :mod:`sim.forecast.scenario_out`.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

import numpy as np

from sim.forecast.backtest import (
    LEVELS,
    MAPE_MIN_CALLS,
    MIN_TRAIN,
    Backtest,
    nb_interval,
    origins_for,
)
from sim.forecast.history import History
from sim.forecast.methods import (
    CARRY_CLASSES,
    METHODS,
    MIN_DAYS,
    Inputs,
    learn_effects,
    type_shares,
    with_special_days,
)
from sim.forecast.special import CARRY, CLOSED, EVENT, KIND_NAMES, SpecialDay, classify

__all__ = ["ForecastOptions", "ForecastResult", "run_forecast"]

MAX_HORIZON = 366
MAX_GAP = 366  # days between the history's end and --start


@dataclass(frozen=True)
class ForecastOptions:
    horizon: int  # days
    start: dt.date | None = None  # first day forecast; None: the day after the history
    origins: int = 8  # back-test origins at most


@dataclass
class ForecastResult:
    history: History
    options: ForecastOptions
    start: dt.date
    kinds: np.ndarray  # (history days + gap + horizon,) of the whole calendar
    names: dict[int, str]
    scores: list[dict]
    chosen: str
    why: str
    mean: np.ndarray  # (horizon, per_day) total calls
    bands: dict[float, tuple[np.ndarray, np.ndarray]]  # level -> (lo, hi), (horizon, per_day)
    by_type: np.ndarray  # (horizon, per_day, types) means
    type_bands: dict[float, tuple[np.ndarray, np.ndarray]]
    day_bands: dict[float, tuple[np.ndarray, np.ndarray]]  # level -> (horizon,)
    day_to_day_cv: float
    effects: dict
    alphas: dict
    origins: list[int]
    skipped: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def per_day(self) -> int:
        return self.mean.shape[1]

    def day_index(self, day: int) -> dt.date:
        return self.start + dt.timedelta(days=day)


def _open_weekdays(history: History, closed: np.ndarray) -> np.ndarray:
    """Weekdays with data on some day of the history's last 8 weeks that was not closed."""
    n = history.days
    lo = max(0, n - 56)
    wd = (np.arange(lo, n) + _weekday(history.first_day)) % 7
    seen = history.has_data[lo:n] & ~closed[lo:n]
    return np.array([bool(seen[wd == w].any()) for w in range(7)])


def _weekday(day: np.datetime64) -> int:
    return int((day.astype("datetime64[D]").astype(np.int64) + 3) % 7)


def run_forecast(
    history: History, special: list[SpecialDay], options: ForecastOptions
) -> ForecastResult:
    """Back-test every method, choose the smallest WAPE, forecast the horizon with it."""
    t0 = time.process_time()
    n, horizon = history.days, options.horizon
    if not 1 <= horizon <= MAX_HORIZON:
        raise ValueError(f"the horizon must be 1 to {MAX_HORIZON} days, got {horizon}")
    first = history.first_day.astype(dt.date)
    last = first + dt.timedelta(days=n - 1)
    start = options.start or last + dt.timedelta(days=1)
    s = (start - first).days
    if s < n:
        raise ValueError(
            f"--start {start} is inside the history (it ends {last}): forecast after it"
        )
    if s - n > MAX_GAP:
        raise ValueError(f"--start {start} is more than {MAX_GAP} days after the history ({last})")
    total = s + horizon
    pad = total - n
    counts = np.concatenate([history.counts, np.zeros((pad, *history.counts.shape[1:]))])
    has_data = np.concatenate([history.has_data, np.zeros(pad, dtype=bool)])
    closed_days = classify(special, history.first_day, total, np.ones(7, dtype=bool)).kind == CLOSED
    cal = classify(special, history.first_day, total, _open_weekdays(history, closed_days))
    kind = cal.kind
    totals = counts.sum(axis=2)
    inp = Inputs(totals, has_data & (kind == 0), _weekday(history.first_day))
    origins = origins_for(n, horizon, options.origins, start=s)
    if not origins:
        raise ValueError(
            f"the history has {n} days: a back-test with a {horizon}-day horizon needs at least "
            f"{MIN_TRAIN + horizon} (a shorter --horizon, or more history)"
        )
    effects_at = {o: learn_effects(inp, cal, has_data, o) for o in origins}
    tests: dict[str, Backtest] = {}
    skipped: dict[str, str] = {}
    for name, method in METHODS.items():
        need = MIN_DAYS.get(name, 0)
        usable = [o for o in origins if o >= need]
        if len(usable) < len(origins):
            skipped[name] = f"needs {need} days of history before an origin"
            if not usable:
                continue
        bt = Backtest(name)
        for o in usable:
            targets = np.arange(o, o + horizon)
            fc = with_special_days(method(inp, o, targets), targets, cal, effects_at[o])
            scored = has_data[targets] & (kind[targets] != CLOSED)
            bt.add(o, fc, totals[targets], scored)
        if not sum(len(y) for y in bt.y):
            raise ValueError("no day of the back-test has data to score the forecasts on")
        tests[name] = bt
    scores = [row for bt in tests.values() for row in bt.scores()]
    overall = {r["method"]: r for r in scores if r["horizon_day"] == "all"}
    eligible = [m for m in tests if m not in skipped]
    chosen = min(eligible, key=lambda m: (overall[m]["wape"], list(METHODS).index(m)))
    runner_up = sorted(eligible, key=lambda m: overall[m]["wape"])[1:2]
    why = f"smallest WAPE over the back-test ({overall[chosen]['wape']:.2%}"
    why += f"; next {runner_up[0]} {overall[runner_up[0]]['wape']:.2%})" if runner_up else ")"
    for r in scores:
        r["chosen"] = r["method"] == chosen

    targets = np.arange(s, total)
    effects = learn_effects(inp, cal, has_data, n)
    mean = with_special_days(METHODS[chosen](inp, s, targets), targets, cal, effects)
    bt = tests[chosen]
    alphas, day_alphas = bt.alphas(), bt.alphas(daily=True)
    h = np.broadcast_to(np.arange(1, horizon + 1)[:, None], mean.shape)
    bands = {lv: nb_interval(mean, alphas.of(lv, h, mean), lv) for lv in LEVELS}
    shares = type_shares(counts, inp, s, targets)
    by_type = mean[:, :, None] * shares
    ht = np.broadcast_to(h[:, :, None], by_type.shape)
    type_bands = {lv: nb_interval(by_type, alphas.of(lv, ht, by_type), lv) for lv in LEVELS}
    days = mean.sum(axis=1)
    hd = np.arange(1, horizon + 1)
    day_bands = {
        lv: nb_interval(days, day_alphas.of(lv, hd, days, volumes=False), lv) for lv in LEVELS
    }
    _, _, dm, dy = bt.arrays(daily=True)
    cv2 = max(0.0, float(((dy - dm) ** 2 - dm).sum() / max((dm**2).sum(), 1e-12)))
    return ForecastResult(
        history=history,
        options=options,
        start=start,
        kinds=kind,
        names=cal.names,
        scores=scores,
        chosen=chosen,
        why=why,
        mean=mean,
        bands=bands,
        by_type=by_type,
        type_bands=type_bands,
        day_bands=day_bands,
        day_to_day_cv=float(np.sqrt(cv2)),
        effects={
            KIND_NAMES[CARRY]: {
                "share_back": dict(zip(CARRY_CLASSES, effects[CARRY][0], strict=True)),
                "days_seen": dict(zip(CARRY_CLASSES, effects[CARRY][1], strict=True)),
                "assumed": not sum(effects[CARRY][1]),
            },
            KIND_NAMES[EVENT]: {"factor": effects[EVENT][0], "days_seen": effects[EVENT][1]},
        },
        alphas={"per_interval": alphas.to_dict(), "per_day": day_alphas.to_dict()},
        origins=origins,
        skipped=skipped,
        seconds=time.process_time() - t0,
    )


def _clock(slot: int, interval: int) -> str:
    return f"{slot * interval // 3600:02d}:{slot * interval % 3600 // 60:02d}"


def forecast_files(r: ForecastResult) -> dict:
    """forecast.csv, forecast_days.csv, accuracy.csv, history_days.csv and forecast.json."""
    hist, horizon, per_day = r.history, r.options.horizon, r.per_day
    stamps = [
        f"{r.day_index(d).isoformat()}T{_clock(k, hist.interval)}:00"
        for d in range(horizon)
        for k in range(per_day)
    ]
    types = hist.types or ["all"]
    n_types = len(types)
    mean, bands = (r.by_type, r.type_bands) if hist.types else (r.mean[:, :, None], None)
    if bands is None:
        bands = {lv: (lo[:, :, None], hi[:, :, None]) for lv, (lo, hi) in r.bands.items()}
    files: dict = {
        "forecast.csv": {
            "start": np.repeat(stamps, n_types).tolist(),
            "call_type": types * len(stamps),
            "mean": mean.ravel(),
            "lo80": bands[0.80][0].ravel(),
            "hi80": bands[0.80][1].ravel(),
            "lo95": bands[0.95][0].ravel(),
            "hi95": bands[0.95][1].ravel(),
        }
    }
    if hist.types:
        files["forecast_total.csv"] = {
            "start": stamps,
            "mean": r.mean.ravel(),
            "lo80": r.bands[0.80][0].ravel(),
            "hi80": r.bands[0.80][1].ravel(),
            "lo95": r.bands[0.95][0].ravel(),
            "hi95": r.bands[0.95][1].ravel(),
        }
    s = (r.start - hist.first_day.astype(dt.date)).days
    kinds = r.kinds[s : s + horizon]
    files["forecast_days.csv"] = {
        "date": [r.day_index(d).isoformat() for d in range(horizon)],
        "weekday": [r.day_index(d).strftime("%a").lower() for d in range(horizon)],
        "kind": [KIND_NAMES[int(k)] for k in kinds],
        "name": [r.names.get(s + d, "") for d in range(horizon)],
        "mean": r.mean.sum(axis=1),
        "lo80": r.day_bands[0.80][0],
        "hi80": r.day_bands[0.80][1],
        "lo95": r.day_bands[0.95][0],
        "hi95": r.day_bands[0.95][1],
    }
    keys = ("method", "horizon_day", "origins", "intervals", "calls", "wape", "mape", "bias",
            "cover80", "cover95", "chosen")  # fmt: skip
    files["accuracy.csv"] = {k: [row[k] for row in r.scores] for k in keys}
    n = hist.days
    hk = r.kinds[:n]
    files["history_days.csv"] = {
        "date": [str(hist.date(d)) for d in range(n)],
        "calls": hist.totals.sum(axis=1),
        "kind": [KIND_NAMES[int(k)] if hist.has_data[d] or k == CLOSED else "no data"
                 for d, k in enumerate(hk.tolist())],
    }  # fmt: skip
    first = hist.first_day.astype(dt.date)
    special = [
        {"date": (first + dt.timedelta(days=i)).isoformat(), "kind": KIND_NAMES[int(r.kinds[i])],
         "name": name, "in": "history" if i < n else "horizon"}
        for i, name in sorted(r.names.items()) if r.kinds[i] in (CLOSED, EVENT) or name
    ]  # fmt: skip
    for i in np.flatnonzero(r.kinds == CARRY).tolist():
        special.append(
            {
                "date": (first + dt.timedelta(days=i)).isoformat(),
                "kind": KIND_NAMES[CARRY],
                "name": "first open day after a closure",
                "in": "history" if i < n else "horizon",
            }
        )
    special.sort(key=lambda e: e["date"])
    files["forecast.json"] = {
        "history": {
            "file": hist.source,
            "kind": hist.kind,
            "first_date": str(hist.first_day),
            "last_date": str(hist.date(n - 1)),
            "days": n,
            "days_with_data": int(hist.has_data.sum()),
            "call_types": hist.types,
            "calls": float(hist.counts.sum()),
        },
        "interval_s": hist.interval,
        "horizon_days": r.options.horizon,
        "start_date": r.start.isoformat(),
        "origins": [str(hist.date(o)) for o in r.origins],
        "chosen": r.chosen,
        "why": r.why,
        "skipped": r.skipped,
        "mape_min_calls": MAPE_MIN_CALLS,
        "special_day_effects": r.effects,
        "alphas": r.alphas,
        "day_to_day_cv": r.day_to_day_cv,
        "forecast_calls": float(r.mean.sum()),
        "special_days": special,
        "cpu_seconds": r.seconds,
    }
    return files
