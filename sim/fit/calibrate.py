"""Calibration and back-test: the fitted scenario simulated against the history.

The history is measured with the model's own KPI code (:func:`sim.kpi.calls.interval_table` on
records built from the log), so "offered", "service level", "abandonment" and "ASA" mean the
same on both sides. The one unobservable number, the factor from agents seen to agents
available, is fitted to service level, abandonment and ASA together inside a plausible range
(:func:`calibrate`); the back-test then judges the result per interval against the one-run
range of the model and the planning tolerances (:data:`TOLERANCE`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from sim.fit.arrivals import LogCalendar
from sim.fit.calllog import ABANDONED, ANSWERED, SELF_SERVED, CallLogData
from sim.kpi.calls import CallRecords, interval_table
from sim.model.calendar import Timeline
from sim.records.calls import CALL_COLUMNS, Calls
from sim.scenario.units import DAY, WEEKDAYS

__all__ = [
    "BUSY_FACTOR_RANGE",
    "CALIBRATED",
    "FACTOR_RANGE",
    "FIGURES",
    "TOLERANCE",
    "backtest",
    "calibrate",
    "history_records",
    "intraday_shape",
    "one_run_range",
    "pooled_by_slot",
    "verdict",
    "within_tolerance",
]

FIGURES = ("offered", "service_level", "abandon_rate", "asa")
CALIBRATED = ("service_level", "abandon_rate", "asa")  # the figures the factor is fitted to
# How close a fitted model must come to the history to plan with it (issue 22's acceptance):
# offered within 5 %, service level within 6 points, abandonment within 2.5 points, ASA 25 %.
TOLERANCE = {
    "offered": ("relative", 0.05),
    "service_level": ("points", 0.06),
    "abandon_rate": ("points", 0.025),
    "asa": ("relative", 0.25),
}
ASA_FLOOR = 2.0  # s: an ASA tolerance is never below this (25 % of 1 s is noise)
# Agents available = agents seen x factor. Seen = took a call in the interval: whenever calls
# wait, every agent present takes calls and is seen, so available <= seen unless agents sat
# idle unseen for whole intervals while calls waited; partial presence (breaks, a shift
# starting mid-interval) makes it < 1. Half to twice the agents seen covers both; a factor
# outside says the log's agents are not the ones on the calls (reported, not hidden).
FACTOR_RANGE = (0.5, 2.0)
BUSY_FACTOR_RANGE = (0.8, 4.0)  # no agent column: agents busy / occupancy (25 % .. 125 %)
GRID_POINTS = 7
SHAPE_MIN_CALLS = 100  # weekday-intervals with this many calls in the history judge the shape
SHAPE_MIN_CORRELATION = 0.5


def history_records(data: CallLogData, cal: LogCalendar, within: float) -> CallRecords:
    """The log as model records (no agent timelines: occupancy is not measured)."""
    n = len(data)
    t = cal.seconds
    answered, abandoned = data.outcome == ANSWERED, data.outcome == ABANDONED
    answer = np.where(answered, t + data.wait, np.nan)
    end = np.where(answered, answer + data.handle, np.where(abandoned, t + data.wait, t))
    acw = np.nan_to_num(data.acw) if data.acw is not None else 0.0
    cols: dict[str, np.ndarray] = {
        name: np.full(n, default, dtype=dtype) for name, (dtype, default) in CALL_COLUMNS.items()
    }
    labels = {
        f: data.labels[f].codes if f in data.labels else np.zeros(n) for f in ("tier", "call_type")
    }
    cols.update(
        arrival=t,
        queue_entry=np.where(data.outcome == SELF_SERVED, np.nan, t),
        outcome=data.outcome.astype(np.int8),
        answer=answer,
        end=end,
        release=np.where(answered, end + acw, np.nan),
        group=np.where(answered, 0, -1).astype(np.int16),
        tier=np.maximum(labels["tier"], 0).astype(np.int16),
        call_type=np.maximum(labels["call_type"], 0).astype(np.int16),
    )
    horizon = cal.days * DAY
    none = Timeline(np.array([0.0]), np.array([0.0]), horizon)
    return CallRecords(Calls(cols), ["log"], [none], [none], ["t"], ["c"], 0.0, horizon, within)


def pooled_by_slot(tables: list[dict], days_open: np.ndarray | None = None) -> dict:
    """Per weekday x interval of the day: offered per day, pooled SL, abandon rate, ASA.

    ``tables`` are interval tables (one per replication, or the history's); ``days_open`` keeps
    only those days (1-based day numbers) of every table.
    """
    out: dict[str, list[dict[str, float]]] = {}
    for i, tab in enumerate(tables):
        keep = np.ones(len(tab["day"]), dtype=bool)
        if days_open is not None:
            keep = np.isin(tab["day"], days_open)
        key = np.char.add(np.char.add(tab["weekday"][keep].astype(str), " "), tab["start"][keep])
        off = np.nan_to_num(tab["offered"][keep])
        ans = np.nan_to_num(tab["answered"][keep])
        quick = np.nan_to_num(tab["service_level"][keep]) * off
        aband = np.nan_to_num(tab["abandoned"][keep])
        wait = np.nan_to_num(tab["asa"][keep]) * ans
        keys, inv = np.unique(key, return_inverse=True)
        s = lambda v, inv=inv, k=len(keys): np.bincount(inv, weights=v, minlength=k)  # noqa: E731
        days, o, a = s(np.ones(len(inv))), s(off), s(ans)
        with np.errstate(invalid="ignore", divide="ignore"):
            figs = {
                "offered": o / days,
                "service_level": s(quick) / o,
                "abandon_rate": s(aband) / o,
                "asa": s(wait) / a,
            }
        for j, k in enumerate(keys.tolist()):
            figures = {f: float(figs[f][j]) for f in FIGURES}
            out.setdefault(k, [dict() for _ in tables])[i] = {**figures, "calls": float(o[j])}
    return out


def _overall(tables: list[dict], days_open=None) -> list[dict]:
    """Per table: the four figures over the whole span (offered per day)."""
    res = []
    for tab in tables:
        keep = (
            np.ones(len(tab["day"]), dtype=bool)
            if days_open is None
            else np.isin(tab["day"], days_open)
        )
        off = np.nan_to_num(tab["offered"][keep])
        ans = np.nan_to_num(tab["answered"][keep])
        n_days = len(np.unique(tab["day"][keep]))
        o, a = off.sum(), ans.sum()
        res.append(
            {
                "offered": o / max(n_days, 1),
                "service_level": float((np.nan_to_num(tab["service_level"][keep]) * off).sum() / o)
                if o
                else math.nan,
                "abandon_rate": float(np.nan_to_num(tab["abandoned"][keep]).sum() / o)
                if o
                else math.nan,
                "asa": float((np.nan_to_num(tab["asa"][keep]) * ans).sum() / a) if a else math.nan,
            }
        )
    return res


def _runs(scenario, replications: int, seed: int, workers: int) -> list:
    from sim.experiments.replication import run_replications

    return list(run_replications(scenario, seed, range(replications), workers=workers))


def within_tolerance(name: str, model: float, history: float) -> bool | None:
    """Whether the model's figure is within :data:`TOLERANCE` of the history's (None: unknown)."""
    if not (math.isfinite(model) and math.isfinite(history)):
        return None
    return abs(model - history) <= tolerance(name, history)


def tolerance(name: str, history: float) -> float:
    """The planning tolerance of a figure, in its own unit (``asa``: at least 2 s)."""
    kind, size = TOLERANCE[name]
    if kind == "points":
        return size
    return max(size * abs(history), ASA_FLOOR if name == "asa" else 1e-9)


def misfit(model: dict, history: dict) -> float:
    """Sum over :data:`CALIBRATED` of (model - history) / tolerance, squared (nan: skipped)."""
    total = 0.0
    for f in CALIBRATED:
        m, h = model.get(f, math.nan), history.get(f, math.nan)
        if math.isfinite(m) and math.isfinite(h):
            total += ((m - h) / tolerance(f, h)) ** 2
    return total


def calibrate(
    build: Callable[[float], object],
    history: dict,
    open_days: np.ndarray,
    replications: int,
    seed: int,
    workers: int,
    say: Callable[[str], None] | None = None,
    max_evals: int = 12,
    bounds: tuple[float, float] = FACTOR_RANGE,
) -> dict:
    """The factor from agents seen to agents available that best reproduces the history's
    service level, abandonment and ASA together (:func:`misfit`), inside ``bounds``.

    Abandonment alone barely moves when the model has too many calls or calls where the center
    was closed, and a bisection on it ran to a factor of 8 (60-96 agents for a center seen with
    8-14); waits move much more. A log-spaced grid of :data:`GRID_POINTS` factors over
    ``bounds``, then golden-section steps around the best one; each point is ``replications``
    runs with the same seeds (common random numbers). Returns the factor, the figures reached
    there and at both bounds, whether each is within :data:`TOLERANCE`, and every point.
    """
    points: list[dict] = []
    target = {f: history[f] for f in CALIBRATED}

    def value(f: float) -> float:
        f = float(f"{f:.4g}")
        for p in points:
            if p["factor"] == f:
                return p["misfit"]
        runs = _runs(build(f), replications, seed, workers)
        per_run = _overall([r.intervals for r in runs], open_days)
        figs = {k: float(np.nanmean([r[k] for r in per_run])) for k in FIGURES}
        points.append({"factor": f, **figs, "misfit": misfit(figs, target)})
        if say:
            say(
                f"calibration: factor {f:.3f} -> service level {figs['service_level']:.1%}, "
                f"abandonment {figs['abandon_rate']:.1%}, ASA {figs['asa']:.1f} s (history "
                f"{target['service_level']:.1%}, {target['abandon_rate']:.1%}, "
                f"{target['asa']:.1f} s)"
            )
        return points[-1]["misfit"]

    lo, hi = bounds
    grid = np.geomspace(lo, hi, GRID_POINTS)
    scores = [value(f) for f in grid]
    k = int(np.argmin(scores))
    a, b = math.log(grid[max(k - 1, 0)]), math.log(grid[min(k + 1, len(grid) - 1)])
    golden = (math.sqrt(5) - 1) / 2
    while len(points) < max_evals and b - a > 0.01:
        c, d = b - golden * (b - a), a + golden * (b - a)
        if value(math.exp(c)) <= value(math.exp(d)):
            b = d
        else:
            a = c
    best = min(points, key=lambda p: (p["misfit"], abs(math.log(p["factor"]))))
    reached = {f: best[f] for f in FIGURES}
    ok = {f: within_tolerance(f, reached[f], target[f]) for f in CALIBRATED}
    ends = sorted(points, key=lambda p: p["factor"])
    at_bound = (
        "lower" if best["factor"] <= lo * 1.001 else "upper" if best["factor"] >= hi * 0.999 else ""
    )
    return {
        "method": "least squares of (model - history) / tolerance over service level, "
        "abandonment and ASA; log grid then golden section",
        "figures": list(CALIBRATED),
        "target": target,
        "factor": best["factor"],
        "misfit": best["misfit"],
        "reached": reached,
        "within_tolerance": ok,
        "matched": all(v is not False for v in ok.values()),
        "bounds": list(bounds),
        "at_bound": at_bound,
        "at_bounds": {
            "low": {f: ends[0][f] for f in FIGURES},
            "high": {f: ends[-1][f] for f in FIGURES},
        },
        "identified": _identified(ends),
        "points": points,
        "replications": replications,
        "seed": seed,
    }


def _identified(points: list[dict]) -> dict:
    """How well the data pin the factor: the misfit's rise from its minimum to the bounds
    (under 1 at both bounds: every factor in the range is within the tolerances)."""
    best = min(p["misfit"] for p in points)
    rise = min(points[0]["misfit"], points[-1]["misfit"]) - best
    return {
        "misfit_min": best,
        "misfit_rise_to_bounds": rise,
        "well": bool(rise >= 1.0),
        "note": "the figures change by more than their tolerance across the range"
        if rise >= 1.0
        else "every factor in the range gives figures within about the tolerances: the "
        "staffing is not pinned down by this history",
    }


def backtest(
    scenario, history_table: dict, open_days: np.ndarray, replications: int, seed: int, workers: int
) -> tuple[list[dict], dict]:
    """Per weekday x interval rows of history and model, and the error measures and overall KPIs."""
    from sim.experiments.replication import kpi_mean_ci

    runs = _runs(scenario, replications, seed, workers)
    model = pooled_by_slot([r.intervals for r in runs], open_days)
    hist = pooled_by_slot([history_table], open_days)
    rows = []
    order = {w: i for i, w in enumerate(WEEKDAYS)}
    for key in sorted(set(hist) | set(model), key=lambda k: (order[k.split()[0]], k.split()[1])):
        wd, start = key.split()
        row = {"weekday": wd, "start": start}
        h = hist.get(key, [{}])[0]
        if not h.get("offered") and not any(m.get("offered") for m in model.get(key, [])):
            continue  # closed on both sides
        for f in FIGURES:
            row[f"history_{f}"] = h.get(f, 0.0 if f == "offered" else math.nan)
            vals = [m.get(f, math.nan) for m in model.get(key, [])]
            mean, ci, _ = kpi_mean_ci(f, [v for v in vals if math.isfinite(v)])
            row[f"model_{f}"] = mean
            row[f"model_{f}_ci_low"], row[f"model_{f}_ci_high"] = ci if ci else (None, None)
        rows.append(row)
    errors = {}
    w = np.array([r["history_offered"] for r in rows], dtype=float)
    for f in FIGURES:
        h = np.array([r[f"history_{f}"] for r in rows], dtype=float)
        m = np.array([np.nan if r[f"model_{f}"] is None else r[f"model_{f}"] for r in rows])
        ok = np.isfinite(h) & np.isfinite(m) & (w > 0)
        if not ok.any():
            continue
        d, wt = (m - h)[ok], w[ok] / w[ok].sum()
        errors[f] = {
            "mae": float(np.abs(d).mean()),
            "rmse": float(np.sqrt((d * d).mean())),
            "bias": float(d.mean()),
            "weighted_mae": float((np.abs(d) * wt).sum()),
        }
        if f == "offered":
            errors[f]["wape"] = float(np.abs(d).sum() / h[ok].sum())
    hist_all = _overall([history_table], open_days)[0]
    model_all = _overall([r.intervals for r in runs], open_days)
    overall = {}
    for f in FIGURES:
        mean, ci, n = kpi_mean_ci(f, [m[f] for m in model_all if math.isfinite(m[f])])
        one = one_run_range(f, mean, ci, n)
        h = hist_all[f]
        overall[f] = {
            "history": h,
            "model": mean,
            "model_ci95": list(ci) if ci else None,
            "inside": bool(ci and ci[0] <= h <= ci[1]),
            "model_range95": one,
            "inside_range": bool(one and one[0] <= h <= one[1]),
            "within_tolerance": within_tolerance(f, math.nan if mean is None else mean, h),
            "tolerance": tolerance(f, h) if math.isfinite(h) else None,
        }
    shape = intraday_shape(hist, model)
    summary = {
        "errors": errors,
        "overall": overall,
        "shape": shape,
        "replications": replications,
        "seed": seed,
        "verdict": verdict(overall, shape),
    }
    return rows, summary


def one_run_range(name: str, mean: float, ci, n: int) -> list[float] | None:
    """95% prediction interval of one run: the history is one run, not a mean of ``n``.

    The mean's interval is mean +- t s / sqrt(n); one more run lies within mean +- t s
    sqrt(1 + 1/n), i.e. the half-width times sqrt(n + 1), kept where the figure can lie.
    """
    from sim.scenario.kpis import value_range

    if not ci:
        return None
    half = (ci[1] - ci[0]) / 2 * math.sqrt(n + 1)
    lowest, highest = value_range(name)
    return [max(mean - half, lowest), min(mean + half, highest)]


def verdict(overall: dict, shape: dict | None = None) -> str:
    """One plain sentence: does the history lie inside the model's ranges, and how far off?

    MISS names every figure outside the range of one run of the model (95%); with one
    replication there is no range, and MISS names the figures outside :data:`TOLERANCE`.
    """
    from sim.scenario.kpis import format_ci, format_value

    def said(f: str, v: dict, key: str | None) -> str:
        h, m = v.get("history"), v.get("model")
        known = isinstance(h, float | int) and isinstance(m, float | int)
        side = ("below" if h < m else "above") if known else "against"  # type: ignore[operator]
        where = (
            f" ({'one run' if key == 'model_range95' else 'mean'}: {format_ci(v[key], f)})"
            if key
            else ""
        )
        return f"{f} {format_value(h, f)} {side} the model's {format_value(m, f)}{where}"

    ranged = any(v.get("model_range95") for v in overall.values())
    loose = [f for f, v in overall.items() if v.get("within_tolerance") is False]
    tail = _shape_said(shape)
    if not ranged:
        head = "one replication: no run-to-run range to judge by (--replications 2 or more); "
        if loose:
            return (
                head
                + "MISS: outside the planning tolerance: "
                + "; ".join(said(f, overall[f], None) for f in loose)
                + tail
            )
        return head + "every figure within the planning tolerance" + tail
    missed = [f for f, v in overall.items() if not v.get("inside_range")]
    if missed:
        close = [f for f in missed if overall[f].get("within_tolerance")]
        note = f"; within the planning tolerance for {', '.join(close)}" if close else ""
        return (
            "MISS: the fitted scenario does not reproduce the history: "
            + "; ".join(said(f, overall[f], "model_range95") for f in missed)
            + " outside the range of one run of the model (95%)"
            + note
            + "; check it before planning with it (docs/fit.md)"
            + tail
        )
    if loose:  # inside wide intervals, yet further off than planning allows
        tail = (
            f"; but outside the planning tolerance for {', '.join(loose)} (wide intervals: "
            "more --replications or --max-days)" + tail
        )
    near = [said(f, v, "model_ci95") for f, v in overall.items() if not v.get("inside")]
    if near:
        return (
            "the history lies inside the range of one run of the model (95%) for every figure, "
            "but outside the interval of the model's mean for " + "; ".join(near) + ": within "
            "the run-to-run noise of one log, yet worth a look (docs/fit.md)" + tail
        )
    return "the history lies inside the model's 95% interval for every figure" + tail


def _shape_said(shape: dict | None) -> str:
    sl = (shape or {}).get("service_level") or {}
    r = sl.get("correlation")
    if r is None or r >= SHAPE_MIN_CORRELATION:
        return ""
    return (
        f"; the intraday shape of the service level differs (correlation {r:.2f} over "
        f"{sl['slots']} weekday-intervals with {SHAPE_MIN_CALLS}+ calls)"
    )


def intraday_shape(hist: dict, model: dict) -> dict:
    """Per figure: the correlation of history and model over the weekday-intervals that held
    at least :data:`SHAPE_MIN_CALLS` calls in the history (does the model's day look like it?)."""
    keys = [k for k, v in hist.items() if v[0].get("calls", 0) >= SHAPE_MIN_CALLS and k in model]
    out: dict = {}
    for f in ("service_level", "abandon_rate", "asa"):
        h = np.array([hist[k][0][f] for k in keys], dtype=float)
        m = np.array([np.nanmean([r.get(f, math.nan) for r in model[k]]) for k in keys])
        ok = np.isfinite(h) & np.isfinite(m)
        r = None
        if ok.sum() >= 3 and np.std(h[ok]) > 0 and np.std(m[ok]) > 0:
            r = float(np.corrcoef(h[ok], m[ok])[0, 1])
        out[f] = {"correlation": r, "slots": int(ok.sum()), "min_calls": SHAPE_MIN_CALLS}
    return out


def history_overall(history_table: dict, open_days: np.ndarray) -> dict:
    return _overall([history_table], open_days)[0]


def history_table(data: CallLogData, cal: LogCalendar, interval: float, within: float) -> dict:
    return interval_table(history_records(data, cal, within), interval, WEEKDAYS[cal.weekday[0]])
