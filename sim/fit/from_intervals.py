"""``sim fit`` from an interval report: the same ``fit`` dict as from a call log, so the scenario,
the calibration, the back-test and the report are the call-log path's (:mod:`.pipeline`).

What each figure rests on differs, and ``fit["provenance"]`` says it per figure:

- *observed*: arrivals per weekday and interval (``offered``), call-type shares, the mean handle
  time (``handle_time`` weighted by ``answered``), agents (``agents``, when the report has it);
- *inferred*: exponential patience, abandonments / total time waited, the total being
  answered x ASA + abandoned x abandon wait (the censored-data MLE of the call-log path, which
  needs only these sums; Mandelbaum & Zeltyn), and, without ``agents``, the agents at which
  Erlang A gives each weekday-interval's abandonment (or ASA), scaled by the calibrated factor;
- *assumed*: the shape of handle times (lognormal, cv :data:`HANDLE_CV`), one customer tier,
  no redial flow (repeat calls are inside ``offered``: a report cannot tell them apart).

Missing intervals: a slot (weekday x interval of the day) with no row on any day of its weekday
is closed. A slot missing on one day but present on other days of that weekday is zero calls when
the export never writes an empty interval (most ACDs omit them), and no data when it does write
them (then a missing row is a gap in the export: left out of the back-test's history and filled
with the slot's mean over the other days for the arrivals). A day with no row at all is no data:
a closed day (holiday) of its weekday, left out of every mean. See docs/interval-report.md.
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from sim.fit.agents import erlang_a_agents
from sim.fit.arrivals import fit_arrivals, log_calendar
from sim.fit.behaviour import ALL, fit_handle_times, short_calls
from sim.fit.calllog import CallLogData
from sim.fit.estimators import exponential_from_totals, wilson
from sim.fit.interval_report import IntervalReport
from sim.fit.pipeline import FitOptions, FitResult, finish_fit
from sim.scenario.units import DAY, WEEKDAYS, format_clock

__all__ = ["HANDLE_CV", "finish_report_fit", "fit_report", "handle_shapes", "history_from_report"]

HANDLE_CV = 1.0
"""Assumed cv of handle times (lognormal) when only their mean is known: the exponential's, which
Erlang models assume; real talk times are lognormal (Brown et al. 2005) with cv near or a little
above 1 (the Anonymous Bank month: 1.1 to 1.35 for its large call types)."""

_FIGURE_COLUMNS = {
    "service_level": "answered_within",
    "abandon_rate": "abandoned",
    "asa": "asa",
}


@dataclasses.dataclass
class _Grid:
    """The report laid on the calendar (days from the first call's, slots of the day)."""

    rows_day: np.ndarray  # per row, 0-based day
    rows_slot: np.ndarray  # per row, slot of the day
    has_rows: np.ndarray  # per day x slot: the report has a row there
    gap: np.ndarray  # per day x slot: no data (see the module's docstring)
    day_seen: np.ndarray  # per day: the report has a row on it


def _sum(grid_shape, day, slot, weights) -> np.ndarray:
    out = np.zeros(grid_shape)
    np.add.at(out, (day, slot), weights)
    return out


def _lay_out(rep: IntervalReport, first_day: int, days: int, slots: int) -> _Grid:
    day = (rep.start // DAY - first_day).astype(np.int64)
    slot = ((rep.start % DAY) // rep.interval).astype(np.int64)
    inside = (day >= 0) & (day < days)
    day, slot = np.where(inside, day, 0), np.where(inside, slot, 0)
    has = _sum((days, slots), day[inside], slot[inside], 1.0) > 0
    day_seen: np.ndarray = np.asarray(has.any(axis=1))
    weekday_of_day = (np.arange(first_day, first_day + days) + 3) % 7
    slot_open = np.zeros((7, slots), dtype=bool)  # weekday x slot seen on some day
    for w in range(7):
        slot_open[w] = has[weekday_of_day == w].any(axis=0)
    gap = np.zeros((days, slots), dtype=bool)
    if rep.writes_empty_rows:  # the export writes empty intervals: a missing one is a gap
        gap = day_seen[:, None] & ~has & slot_open[weekday_of_day]
    return _Grid(np.where(inside, day, -1), slot, has, gap, day_seen)


def _pseudo_arrivals(rep: IntervalReport, g: _Grid, first_day: int, slots: int) -> np.ndarray:
    """One time stamp per offered call at its interval's start (and the slot's mean over the
    other days of its weekday in a gap), so the call-log path's arrival estimators apply."""
    days = len(g.day_seen)
    ok = g.rows_day >= 0
    counts = _sum((days, slots), g.rows_day[ok], g.rows_slot[ok], rep.offered[ok])
    if g.gap.any():
        weekday = (np.arange(first_day, first_day + days) + 3) % 7
        for w in range(7):
            mine = (weekday == w) & g.day_seen
            mean = _mean_over_days(np.where(g.gap[mine], np.nan, counts[mine]), slots)
            counts[mine] = np.where(g.gap[mine], np.round(mean), counts[mine])
    stamps = (first_day + np.arange(days))[:, None] * int(DAY) + np.arange(slots) * int(
        rep.interval
    )
    return np.repeat(stamps.ravel(), counts.ravel().astype(np.int64))


def _mean_over_days(grid: np.ndarray, slots: int) -> np.ndarray:
    """Per slot, the mean over the days (rows) where it is known (not NaN); 0 where never."""
    known = np.isfinite(grid)
    n = known.sum(axis=0)
    return np.where(n > 0, np.where(known, grid, 0.0).sum(axis=0) / np.maximum(n, 1), 0.0)


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """(sum of weights where the value is known, weighted mean)."""
    known = np.isfinite(values) & (weights > 0)
    w = float(weights[known].sum())
    return w, float((values[known] * weights[known]).sum() / w) if w else math.nan


def _type_masks(rep: IntervalReport) -> list[tuple[str, np.ndarray]]:
    if rep.call_type is None:
        return [(ALL, np.ones(len(rep), dtype=bool))]
    out = []
    for code, name in enumerate(rep.call_type.names):
        mask = rep.call_type.codes == code
        if mask.any():
            out.append((name, mask))
    return out


def _shares(rep: IntervalReport) -> dict:
    total = int(rep.offered.sum())
    out = {}
    for name, mask in _type_masks(rep):
        k = int(rep.offered[mask].sum())
        if k:
            out[name] = {"calls": k, "share": k / total, "share_ci95": wilson(k, total)}
    return out


def _handle_times(rep: IntervalReport, types: dict, shapes: dict | None) -> dict:
    handle, answered = rep.figure("handle_time"), rep.figure("answered")
    if handle is None:
        raise ValueError(
            "the report has no handle_time column: a scenario needs the mean handle time "
            "(docs/interval-report.md)"
        )
    weight = np.nan_to_num(answered) if answered is not None else rep.offered.astype(float)
    overall = _weighted_mean(handle, weight)
    if not overall[0]:
        raise ValueError("no interval has both answered calls and a handle_time")
    out = {}
    for name, mask in _type_masks(rep):
        if name not in types:
            continue
        n, mean = _weighted_mean(handle[mask], weight[mask])
        note = ""
        if not n:
            n, mean = overall
            note = "; no handle_time for this type: the report's overall mean"
        shape = (shapes or {}).get(name) or {}
        if shape.get("family") in ("exponential", "lognormal", "gamma"):
            family, cv = shape["family"], float(shape["cv"])
            said = (
                f"{family} cv {cv:.3g} from the call log ({shape['n']:,} calls; KS "
                f"{shape['ks']:.3f})"
            )
        else:
            family, cv = "lognormal", HANDLE_CV
            said = f"lognormal cv {HANDLE_CV:g} ASSUMED (docs/interval-report.md)"
        half = 1.959964 * mean * cv / math.sqrt(n)
        out[name] = {
            "n": int(n),
            "family": family,
            "mean": mean,
            "mean_ci95": [mean - half, mean + half],
            "cv": cv,
            "ks": shape.get("ks") if family == shape.get("family") else None,
            "fits_badly": bool(shape.get("fits_badly", False)),
            "estimator": f"mean handle_time weighted by answered calls (OBSERVED); {said}",
            "note": f"OBSERVED mean of {int(n):,} answered calls (95% CI {mean - half:.1f}.."
            f"{mean + half:.1f} s at that cv); {said}{note}",
        }
    return {"by_type": out, "after_call_work": None, "min_handle_s": 0.0}


def handle_shapes(log: CallLogData, min_handle: float) -> dict:
    """Handle-time family and cv per call type of a call log (very short calls left out, as
    the call-log path does): for ``fit_report(..., shapes)``."""
    short = short_calls(log, min_handle)
    return fit_handle_times(log.keep(~short) if short.any() else log, min_handle)["by_type"]


def _patience(rep: IntervalReport) -> dict:
    """Exponential patience: abandons / total time waited (answered x ASA + abandoned x wait)."""
    abandoned, answered = rep.figure("abandoned"), rep.figure("answered")
    asa, ab_wait = rep.figure("asa"), rep.figure("abandon_wait")
    if abandoned is None:
        return {
            ALL: {
                "exponential": exponential_from_totals(0.0, 0, int(rep.offered.sum())),
                "family": "never",
                "note": "ASSUMED never: the report has no abandoned column",
            }
        }
    n_ab = np.nan_to_num(abandoned)
    n_ans = np.nan_to_num(answered) if answered is not None else rep.offered - n_ab
    if asa is None and ab_wait is None:
        raise ValueError(
            "the report counts abandoned calls but has neither asa nor abandon_wait: patience "
            "cannot be inferred (docs/interval-report.md)"
        )
    assumed = ""
    if ab_wait is None:
        ab_wait, assumed = asa, "; abandon_wait not in the report: ASSUMED equal to the ASA"
    if asa is None:
        asa, assumed = ab_wait, "; asa not in the report: ASSUMED equal to the abandon wait"
    assert asa is not None and ab_wait is not None
    known = ((n_ans == 0) | np.isfinite(asa)) & ((n_ab == 0) | np.isfinite(ab_wait))
    total = float((n_ans * np.nan_to_num(asa) + n_ab * np.nan_to_num(ab_wait))[known].sum())
    d = int(n_ab[known].sum())
    exp = exponential_from_totals(total, d, int((n_ans + n_ab)[known].sum()))
    exp["estimator"] = (
        "INFERRED exponential MLE: abandons / total time waited (answered x asa + abandoned x "
        "abandon_wait; Mandelbaum & Zeltyn)"
    )
    entry: dict[str, Any] = {"exponential": exp}
    if not d:
        entry.update(family="never", note="no abandoned call in the report: never")
        return {ALL: entry}
    ci = exp["mean_ci95"]
    entry.update(
        family="exponential",
        mean=exp["mean"],
        cv=1.0,
        note=f"INFERRED exponential: {d:,} abandons / {total / 3600:,.0f} h waited, mean "
        f"{exp['mean']:.1f} s (95% CI {ci[0]:.1f}..{ci[1]:.1f}; Mandelbaum & Zeltyn){assumed}",
    )
    return {ALL: entry}


def _agents(
    rep: IntervalReport, g: _Grid, cal, handle: dict, patience: dict, history: dict
) -> dict:
    """Agents per weekday x slot (mean over open days): the report's ``agents`` column, or by
    Erlang A from the report's figures when it has none (:func:`.agents.erlang_a_agents`)."""
    days, slots = g.has_rows.shape
    ok = g.rows_day >= 0
    d, s = g.rows_day[ok], g.rows_slot[ok]
    agents = rep.figure("agents")
    if agents is not None and np.isfinite(agents[ok]).any():
        a = agents[ok]
        known = np.isfinite(a)
        top = np.full(days * slots, -np.inf)
        np.maximum.at(top, (d * slots + s)[known], a[known])
        grid = np.where(np.isfinite(top), top, np.nan).reshape(days, slots)
        method = "OBSERVED: the report's agents column"
        if rep.call_type is not None:
            method += " (the largest of an interval's call-type rows: one pool serves them all)"
    else:
        has = {f for f in ("abandoned", "asa") if rep.figure(f) is not None}
        by_type = handle["by_type"]
        total = sum(e["n"] for e in by_type.values())
        mean_handle = sum(e["mean"] * e["n"] for e in by_type.values()) / max(total, 1)
        p = patience.get(ALL, {})
        mean_patience = float(p["mean"]) if p.get("family") == "exponential" else math.inf
        seen = erlang_a_agents(history, cal, mean_handle, mean_patience, rep.interval, has)
        seen["method"] += ": the report has no agents column"
        return {"seen": seen}
    weekday = cal.weekday
    per_weekday = []
    for w in range(7):
        mine = (weekday == w) & cal.open
        per_weekday.append(_mean_over_days(grid[mine], slots).tolist())
    return {"seen": {"groups": {"agents": per_weekday}, "method": method}}


def history_from_report(rep: IntervalReport, g: _Grid, start_weekday: int) -> dict:
    """The back-test's history table (``calibrate.history_table``'s columns) from the report's
    own figures: one row per day with data x interval, gaps left out. Service level is
    answered_within / offered, as the model counts it."""
    days, slots = g.has_rows.shape
    ok = g.rows_day >= 0
    d, s = g.rows_day[ok], g.rows_slot[ok]

    def total(values: np.ndarray | None) -> np.ndarray:
        if values is None:
            return np.full((days, slots), np.nan)
        return _sum((days, slots), d, s, np.nan_to_num(values[ok]))

    offered, abandoned = total(rep.offered * 1.0), total(rep.figure("abandoned"))
    answered_rows = rep.figure("answered")
    if answered_rows is None:  # all offered calls not abandoned were answered
        gone = rep.figure("abandoned")
        answered_rows = rep.offered - (np.nan_to_num(gone) if gone is not None else 0.0)
    answered = total(answered_rows)
    asa = rep.figure("asa")
    with np.errstate(invalid="ignore", divide="ignore"):
        asa_grid = np.full((days, slots), np.nan)
        if asa is not None:  # ASA over the answered calls of rows that give it
            known = np.isfinite(asa)
            waited = total(np.where(known, answered_rows * np.nan_to_num(asa), 0.0))
            asa_grid = waited / total(np.where(known, answered_rows, 0.0))
        cols = {
            "offered": offered,
            "answered": answered,
            "abandoned": abandoned,
            "service_level": total(rep.figure("answered_within")) / offered,
            "abandon_rate": abandoned / offered,
            "asa": asa_grid,
        }
    keep = g.day_seen[:, None] & ~g.gap
    day_idx, slot_idx = np.nonzero(keep)
    table: dict[str, np.ndarray] = {
        "day": day_idx + 1,
        "weekday": np.array(WEEKDAYS)[(start_weekday + day_idx) % 7],
        "start": np.array([format_clock(v * rep.interval) for v in range(slots)])[slot_idx],
    }
    table.update({k: v[day_idx, slot_idx] for k, v in cols.items()})
    return table


def fit_report(
    rep: IntervalReport, options: FitOptions, shapes: dict | None = None, shapes_from: str = ""
) -> FitResult:
    """Every estimate from an interval report that needs no simulation (timed by
    benchmarks/bench_fit.py); ``options.interval`` is ignored for the report's own.

    ``shapes``: handle-time fits per call type from a call log of the same center
    (``fit_handle_times(...)["by_type"]``, ``--call-log``): their family and cv replace the
    assumed ones; the means stay the report's."""
    started = time.perf_counter()
    within = rep.service_time if rep.service_time is not None else options.within
    interval = rep.interval
    slots = round(DAY / interval)
    first_day = int(rep.start[rep.offered > 0].min() // DAY)
    last_day = int(rep.start[rep.offered > 0].max() // DAY)
    days = last_day - first_day + 1
    grid = _lay_out(rep, first_day, days, slots)
    arrivals_at = _pseudo_arrivals(rep, grid, first_day, slots)
    cal = log_calendar(arrivals_at)
    arrivals = fit_arrivals(cal, np.ones(len(arrivals_at), dtype=bool), interval)
    arrivals["estimator"] = "offered per interval (OBSERVED), mean per open day of each weekday"
    types = _shares(rep)
    handle = _handle_times(rep, types, shapes)
    patience = _patience(rep)
    history = history_from_report(rep, grid, int(cal.weekday[0]))
    agents = _agents(rep, grid, cal, handle, patience, history)
    agents["skills"] = {"agents": list(types)}
    agents["routing"] = {}
    has = {f: rep.figure(f) is not None for f in ("answered", "abandoned", "asa", "agents")}
    fit = {
        "log": {
            "file": Path(rep.source).name,
            "kind": "interval report",
            "rows_read": rep.rows_read,
            "rows_dropped": rep.dropped,
            "examples": rep.examples,
            "short_calls_removed": 0,
            "calls_used": int(rep.offered.sum()),
            "self_served_share": 0.0,
            "report_interval_s": interval,
            "missing_intervals": {
                "rule": "gap (no data)" if rep.writes_empty_rows else "zero calls",
                "why": "the export writes empty intervals"
                if rep.writes_empty_rows
                else "the export omits intervals without calls",
                "gaps": int(grid.gap.sum()),
                "days_without_rows": [
                    cal.date(d) for d in np.flatnonzero(~grid.day_seen[: cal.days]).tolist()
                ],
            },
            "figures_missing": [f for f, c in _FIGURE_COLUMNS.items() if rep.figure(c) is None],
        },
        "interval_s": interval,
        "within_s": within,
        "start_weekday": WEEKDAYS[int(cal.weekday[0])],
        "arrivals": arrivals,
        "call_types": types,
        "tiers": {ALL: {"calls": int(rep.offered.sum()), "share": 1.0, "share_ci95": [1.0, 1.0]}},
        "handle_times": handle,
        "patience": patience,
        "tier_priority": {"source": "one tier: an interval report has no tiers", "priority": {}},
        "redials": {
            "note": "repeat calls are inside offered (a report cannot tell them): no redial flow"
        },
        "agents": agents,
        "provenance": {
            "arrivals": "observed (offered per interval)",
            "call_type_shares": "observed (offered per type)",
            "handle_time_mean": "observed (handle_time weighted by answered)",
            "handle_time_shape": f"observed in the call log {shapes_from} (types it has)"
            if shapes
            else f"assumed (lognormal, cv {HANDLE_CV:g})",
            "after_call_work": "assumed none (not in the report; inside handle_time if counted)",
            "patience": "inferred (exponential: abandons / total time waited)"
            if has["abandoned"]
            else "assumed never (no abandoned column)",
            "agents": "observed (agents column), times the calibrated factor"
            if has["agents"]
            else "inferred (Erlang A per interval), times the calibrated factor",
            "tiers": "assumed (one tier)",
            "redials": "assumed none apart (repeat calls are inside offered)",
            "service_level_threshold": f"{within:g} s "
            + ("(the report's service_time)" if rep.service_time is not None else "(--within)"),
        },
    }
    fit["fit_seconds"] = time.perf_counter() - started
    return FitResult(fit, None, cal, history=history)


def finish_report_fit(result: FitResult, folder: Path, calibrate: bool = True, **kw) -> FitResult:
    """:func:`.pipeline.finish_fit`, then the figures the report lacks taken out of the
    back-test (they would read as zero). No calibration when the report has neither
    abandonment nor ASA: nothing to calibrate against."""
    from sim.fit import calibrate as cb

    missing = result.fit["log"]["figures_missing"]
    can = not {"abandon_rate", "asa"} <= set(missing)
    finish_fit(result, folder, calibrate=calibrate and can, **kw)
    if calibrate and not can:
        result.fit["agents"]["factor_source"] = (
            "not calibrated: the report has neither abandoned nor asa"
        )
    if missing:
        summary = result.fit["backtest"]
        for f in missing:
            summary["errors"].pop(f, None)
            entry = summary["overall"].get(f)
            if entry:
                entry.update(history=math.nan, inside=True, inside_range=True)
                entry["note"] = "not in the report"
            for row in result.backtest_rows or []:
                row[f"history_{f}"] = math.nan
        kept = {f: v for f, v in summary["overall"].items() if f not in missing}
        summary["verdict"] = cb.verdict(kept) + f" (not in the report: {', '.join(missing)})"
    return result
