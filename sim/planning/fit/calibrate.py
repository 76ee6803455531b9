"""Calibration and back-test: the fitted scenario simulated against the history.

The history is measured with the model's own KPI code (:func:`sim.kpi.calls.interval_table` on
records built from the log), so "offered", "service level", "abandonment" and "ASA" mean the
same on both sides. The one unobservable number, the factor from agents seen to agents
available, is found by bisection so that the simulated abandonment matches the history's
(abandonment falls as agents rise; common random numbers make the curve smooth in the factor).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from sim.kpi.calls import CallRecords, interval_table
from sim.model.calendar import Timeline
from sim.model.records import CALL_COLUMNS, Calls
from sim.planning.fit.arrivals import LogCalendar
from sim.scenario.calllog import ABANDONED, ANSWERED, SELF_SERVED, CallLogData
from sim.scenario.units import DAY, WEEKDAYS

__all__ = [
    "FIGURES",
    "backtest",
    "calibrate",
    "history_records",
    "one_run_range",
    "pooled_by_slot",
    "verdict",
]

FIGURES = ("offered", "service_level", "abandon_rate", "asa")
MIN_ABANDON_FOR_TARGET = 0.005  # below it the calibration matches ASA instead


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
            out.setdefault(k, [dict() for _ in tables])[i] = {f: float(figs[f][j]) for f in FIGURES}
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


def calibrate(
    build: Callable[[float], object],
    history: dict,
    open_days: np.ndarray,
    replications: int,
    seed: int,
    workers: int,
    say: Callable[[str], None] | None = None,
    max_evals: int = 10,
) -> dict:
    """Factor from agents seen to agents available that reproduces the history's abandonment.

    Bisection on [lo, hi], widened until it brackets the target; each point is ``replications``
    runs with the same seeds. Returns the factor, the target and every point tried.
    """
    metric = "abandon_rate" if history["abandon_rate"] >= MIN_ABANDON_FOR_TARGET else "asa"
    target = history[metric]
    points = []

    def value(f: float) -> float:
        runs = _runs(build(f), replications, seed, workers)
        v = float(np.nanmean([_overall([r.intervals], open_days)[0][metric] for r in runs]))
        points.append({"factor": f, metric: v})
        if say:
            say(f"calibration: factor {f:.3f} -> {metric} {v:.4f} (history {target:.4f})")
        return v

    lo, hi = 1.0, 1.0
    v = value(1.0)
    if v > target:  # too few agents: raise the factor until the model is at or below target
        while v > target and len(points) < max_evals and hi < 8:
            lo, hi = hi, hi * 1.3
            v = value(hi)
    else:
        while v < target and len(points) < max_evals and lo > 0.1:
            hi, lo = lo, lo / 1.3
            v = value(lo)
    while len(points) < max_evals and hi - lo > 0.01:
        mid = (lo + hi) / 2
        if value(mid) > target:
            lo = mid
        else:
            hi = mid
    best = min(points, key=lambda p: abs(p[metric] - target))
    return {
        "metric": metric,
        "target": target,
        "factor": best["factor"],
        "points": points,
        "replications": replications,
        "seed": seed,
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
        overall[f] = {
            "history": hist_all[f],
            "model": mean,
            "model_ci95": list(ci) if ci else None,
            "inside": bool(ci and ci[0] <= hist_all[f] <= ci[1]),
            "model_range95": one,
            "inside_range": bool(one and one[0] <= hist_all[f] <= one[1]),
        }
    summary = {"errors": errors, "overall": overall, "replications": replications, "seed": seed}
    summary["verdict"] = verdict(overall)
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


def verdict(overall: dict) -> str:
    """One plain sentence: does the history lie inside the model's intervals for every figure?"""
    from sim.scenario.kpis import format_ci, format_value

    def said(f: str, v: dict, key: str) -> str:
        side = "below" if v["history"] < v["model"] else "above"
        return (
            f"{f} {format_value(v['history'], f)} {side} the model's {format_value(v['model'], f)}"
            f" ({'one run' if key == 'model_range95' else 'mean'}: {format_ci(v[key], f)})"
        )

    missed = [said(f, v, "model_range95") for f, v in overall.items() if not v["inside_range"]]
    if missed:
        return (
            "MISS: the fitted scenario does not reproduce the history: "
            + "; ".join(missed)
            + " outside the range of one run of the model (95%); check it before planning "
            "with it (docs/fit.md)"
        )
    near = [said(f, v, "model_ci95") for f, v in overall.items() if not v["inside"]]
    if near:
        return (
            "the history lies inside the range of one run of the model (95%) for every figure, "
            "but outside the interval of the model's mean for " + "; ".join(near) + ": within "
            "the run-to-run noise of one log, yet worth a look (docs/fit.md)"
        )
    return "the history lies inside the model's 95% interval for every figure"


def history_overall(history_table: dict, open_days: np.ndarray) -> dict:
    return _overall([history_table], open_days)[0]


def history_table(data: CallLogData, cal: LogCalendar, interval: float, within: float) -> dict:
    return interval_table(history_records(data, cal, within), interval, WEEKDAYS[cal.weekday[0]])
