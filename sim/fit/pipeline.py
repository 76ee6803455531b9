"""``sim fit``: from a call log to a fitted scenario, fit.json, a back-test and its report.

Steps: remove very short calls (a documented rule), find redials (they are not first calls),
estimate arrivals, shares, handle times, patience, tier priority and agents seen; then, by
simulation, calibrate the factor from agents seen to agents available and back-test the result
against the history per weekday and interval.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sim.fit import agents as ag
from sim.fit import behaviour as bh
from sim.fit.answer_delay import fit_answer_delays, service_level_ceiling
from sim.fit.arrivals import (
    LogCalendar,
    fit_arrivals,
    in_hours,
    log_calendar,
    opening_hours,
)
from sim.fit.calllog import ABANDONED, ANSWERED, SELF_SERVED, CallLogData
from sim.fit.redials import fit_redials
from sim.scenario.units import WEEKDAYS

__all__ = [
    "FitOptions",
    "FitResult",
    "finish_fit",
    "fit_log",
    "fit_messages",
    "write_fit_folder",
]


MIN_CALLS_TO_JUDGE = 200  # fewer offered calls: no calibration, and no verdict on the back-test


@dataclass(frozen=True)
class FitOptions:
    """Choices of the fit (``sim fit`` options); docs/fit.md gives each one's reason."""

    interval: float = 1800.0
    within: float = 20.0  # service-level threshold of the back-test, s
    min_handle: float = 3.0  # answered calls with shorter talk are removed (ghost calls)
    redial_window: float = 86400.0  # a call within this of a customer's previous one is a redial
    tier_priority: dict = field(default_factory=dict)  # from the mapping file, if any
    name: str = "fitted"


@dataclass
class FitResult:
    """The estimates (``fit``, JSON-ready) and what the simulation steps added."""

    fit: dict
    data: CallLogData | None  # None when fitted from an interval report
    calendar: LogCalendar
    scenario: dict | None = None
    comments: dict | None = None
    backtest_rows: list[dict] | None = None
    history: dict | None = None  # the back-test's history table, when not built from ``data``


def fit_log(data: CallLogData, options: FitOptions) -> FitResult:
    """Every estimate that needs no simulation (the part timed by benchmarks/bench_fit.py)."""
    started = time.perf_counter()
    short = bh.short_calls(data, options.min_handle)
    n_short = int(short.sum())
    used = data.keep(~short) if n_short else data
    if not (used.outcome == ANSWERED).any():
        raise ValueError(
            "no call of the log was answered (after removing calls shorter than --min-handle): "
            "the agents who serve the calls cannot be seen, so no staffing can be fitted"
        )
    cal = log_calendar(used.arrival)
    hours = _hours(used, cal, options.interval)
    closed = (used.outcome == SELF_SERVED) & ~in_hours(cal, hours, options.interval)
    n_closed = int(closed.sum())
    if n_closed:  # IVR calls while the agents' queue was closed: not the center's open traffic
        used = used.keep(~closed)
        cal = log_calendar(used.arrival)
        hours = _hours(used, cal, options.interval)
    redials, is_redial = fit_redials(used, options.redial_window)
    first = ~is_redial
    arrivals = fit_arrivals(cal, first, options.interval, hours)
    seen = ag.agents_seen(used, cal, options.interval)
    types = bh.fit_shares(used, first, "call_type")
    fit = {
        "log": {
            "file": Path(data.source).name,
            "rows_read": data.rows_read,
            "rows_dropped": data.dropped,
            "examples": data.examples,
            "short_calls_removed": n_short,
            "self_served_while_closed": n_closed,
            "calls_used": len(used),
            "self_served_share": float((used.outcome == SELF_SERVED).mean()),
        },
        "interval_s": options.interval,
        "within_s": options.within,
        "start_weekday": WEEKDAYS[int(cal.weekday[0])],
        "arrivals": arrivals,
        "call_types": types,
        "tiers": bh.fit_shares(used, first, "tier"),
        "handle_times": bh.fit_handle_times(used, options.min_handle),
        "patience": bh.fit_patience(used),
        "tier_priority": bh.tier_priorities(used, options.tier_priority),
        "answer_delay": fit_answer_delays(used, cal, options.interval),
        "redials": redials,
        "agents": {
            "seen": seen,
            **ag.group_skills(used, list(types), cal, options.interval),
            "routing": ag.overflow_routes(used),
        },
    }
    fit["fit_seconds"] = time.perf_counter() - started
    return FitResult(fit, used, cal)


def _hours(data: CallLogData, cal: LogCalendar, interval: float) -> np.ndarray:
    """Opening hours from the offered calls' arrivals and the answers (self-served calls in
    the IVR at night do not open the center)."""
    offered = data.outcome != SELF_SERVED
    answered = data.outcome == ANSWERED
    return opening_hours(
        cal, interval, cal.seconds[offered], cal.seconds[answered] + data.wait[answered]
    )


def finish_fit(
    result: FitResult,
    folder: Path,
    calibrate: bool = True,
    replications: int = 4,
    seed: int = 1,
    workers: int = 1,
    max_days: int = 28,
    say: Callable[[str], None] | None = None,
) -> FitResult:
    """Calibrate the agents factor and back-test, by simulation over at most ``max_days``."""
    from sim.fit import calibrate as cb
    from sim.fit.diagnosis import diagnose
    from sim.fit.scenario_out import arrivals_csv, build_scenario
    from sim.report.files import write_atomic
    from sim.scenario.loading import scenario_from_dict

    fit, cal = result.fit, result.calendar
    days = min(cal.days, 3660)
    sim_days = min(days, max_days)
    if fit["arrivals"]["profile_by_weekday"]:
        write_atomic(folder / "arrivals.csv", arrivals_csv(fit))
    hist = result.history
    if hist is None:
        assert result.data is not None, "a fit has a call log or a history table"
        hist = cb.history_table(result.data, cal, fit["interval_s"], fit["within_s"])
    open_days = np.flatnonzero(cal.open[:sim_days]) + 1
    history = cb.history_overall(hist, open_days)

    def build(factor: float, n_days: int = sim_days):
        data, _ = build_scenario(fit, fit_name(fit), factor, n_days)
        return scenario_from_dict(data, base_dir=folder, source="fitted scenario")

    factor = 1.0
    offered = round(history["offered"] * len(open_days)) if len(open_days) else 0
    if calibrate and offered < MIN_CALLS_TO_JUDGE:
        fit["agents"]["factor_source"] = (
            f"not calibrated: {offered:,} offered calls in the simulated days are too few"
        )
    elif calibrate:

        def run() -> dict:
            busy = fit["agents"]["seen"]["method"].startswith("mean agents busy")
            bounds = cb.BUSY_FACTOR_RANGE if busy else cb.FACTOR_RANGE
            return cb.calibrate(
                build, history, open_days, replications, seed, workers, say, bounds=bounds
            )

        cal_info = run()
        if _inferred_priority(fit):
            cal_info = _priority_by_calibration(fit, cal_info, run)
        if fit.get("answer_delay", {}).get("by_tier"):
            cal_info = _delay_by_calibration(fit, cal_info, run)
        if result.data is not None:
            erlang = _erlang_a_shape(result.data, cal, hist, fit)
            cal_info = _shape_by_calibration(fit, cal_info, erlang, run)
        factor = cal_info["factor"]
        if fit.get("answer_delay", {}).get("use"):  # what any staffing can reach with it
            ceiling = build(factor).answerable_within(fit["within_s"])
            fit["answer_delay"]["service_level_ceiling"] = ceiling
        fit["agents"]["calibration"] = cal_info
        fit["agents"]["factor_source"] = calibration_said(cal_info)
    else:
        fit["agents"]["factor_source"] = "not calibrated (--no-calibrate)"
    fit["agents"]["factor"] = factor
    rows, summary = cb.backtest(build(factor), hist, open_days, replications, seed + 1, workers)
    summary["days"] = sim_days
    fit["backtest"] = summary
    if offered < MIN_CALLS_TO_JUDGE:
        summary["verdict"] = (
            f"only {offered:,} offered calls in the log's simulated days: too few to judge the "
            f"model by (at least {MIN_CALLS_TO_JUDGE}); the figures are shown as they are"
        )
    summary["diagnosis"] = diagnose(fit) if offered >= MIN_CALLS_TO_JUDGE else []
    fit["messages"] = fit_messages(fit)
    result.scenario, result.comments = build_scenario(fit, fit_name(fit), factor, days)
    result.backtest_rows = rows
    return result


def _inferred_priority(fit: dict) -> bool:
    """Whether tiers got different priorities inferred from the log (not given by a mapping)."""
    tp = fit["tier_priority"]
    return tp["source"] != "mapping file" and len(set(tp["priority"].values())) > 1


def _choose_by_calibration(
    candidates: dict[str, Callable[[], None]],
    calibrate: Callable[[], dict],
    done: dict[str, dict],
) -> tuple[str, dict[str, dict]]:
    """The candidate model that reproduces the history best: each is put into the fit (its
    function) and calibrated, unless ``done`` holds its calibration already (the one in the fit
    now); the smallest misfit wins, a tie goes to the first (list the simpler model first), and
    the winner is put back. Returns its name and every calibration by name."""
    cals = dict(done)
    for name, apply in candidates.items():
        if name not in cals:
            apply()
            cals[name] = calibrate()
    best = min(candidates, key=lambda n: cals[n]["misfit"])
    candidates[best]()
    return best, cals


def _priority_by_calibration(fit: dict, with_priority: dict, calibrate: Callable[[], dict]) -> dict:
    """Keep the inferred tier priority only when it reproduces the history better.

    Overtaking in a log is evidence of priority, but not proof: calls that reach an agent by
    another path (a transfer, a call-back) look answered at once, and a priority the center did
    not have answers one tier at once and starves the others. So the calibration runs again with
    every tier at priority 0 (first come, first served) and the smaller misfit wins (a tie: no
    priority, the simpler model). In a bank's month, the inferred priority gave a service level
    of 61.3% against the history's 52.0%; first come, first served gave 57.4%.
    """
    tp = fit["tier_priority"]
    inferred = dict(tp["priority"])
    fcfs, kept_name = "first come, first served", "inferred priority"
    kept, cals = _choose_by_calibration(
        {
            fcfs: lambda: tp.update(priority={t: 0 for t in inferred}),
            kept_name: lambda: tp.update(priority=dict(inferred)),
        },
        calibrate,
        {kept_name: with_priority},
    )
    mine, other = cals[kept_name]["misfit"], cals[fcfs]["misfit"]
    tp["chosen_by_calibration"] = {
        "inferred": inferred,
        "misfit_with_priority": mine,
        "misfit_first_come_first_served": other,
        "kept": kept,
    }
    if kept == fcfs:
        tp["source"] = (
            f"first come, first served: the priority inferred from overtaking ({tp['source']}) "
            f"reproduced the history worse (misfit {mine:.2f} against {other:.2f})"
        )
    return cals[kept]


NO_DELAY, DELAY = "no answer delay", "answer delay per tier"


def _delay_by_calibration(fit: dict, without: dict, calibrate: Callable[[], dict]) -> dict:
    """Keep the inferred answer delays (:mod:`.answer_delay`) only when they reproduce the
    history better (a tie: none, the simpler model).

    A tier rarely answered at once even when agents were free may be held by the center (an
    identification step), or it may reach agents less often for reasons the log does not show;
    the calibration, not the estimate alone, says which model reproduces the month.
    """
    ad = fit["answer_delay"]
    kept, cals = _choose_by_calibration(
        {NO_DELAY: lambda: ad.update(use=False), DELAY: lambda: ad.update(use=True)},
        calibrate,
        {NO_DELAY: without},
    )
    ad["chosen_by_calibration"] = _choice(kept, cals, {NO_DELAY: "without", DELAY: "with"})
    return cals[kept]


def _choice(kept: str, cals: dict[str, dict], labels: dict[str, str]) -> dict:
    """What a choice by calibration records: the kept candidate, then each one's misfit and
    factor as ``misfit_<label>`` and ``factor_<label>``."""
    return {
        "kept": kept,
        **{f"misfit_{label}": cals[name]["misfit"] for name, label in labels.items()},
        **{f"factor_{label}": cals[name]["factor"] for name, label in labels.items()},
    }


SEEN, ERLANG_A = "agents seen", "Erlang A per interval"


def _erlang_a_shape(data: CallLogData, cal: LogCalendar, hist: dict, fit: dict) -> dict:
    """The call log's second staffing shape: per weekday-slot, the agents at which Erlang A
    gives the slot's abandonment in the history (:func:`.agents.erlang_a_agents`, the interval
    report's inference), with the pooled exponential patience (MLE over every queued call) and
    the mean busy time of an answer (talk, plus after-call work when modelled); split over the
    groups as their agents were seen (:func:`.agents.erlang_a_by_group`)."""
    from sim.fit.estimators import exponential_patience

    queued = data.outcome != SELF_SERVED
    patience = exponential_patience(data.wait[queued], data.outcome[queued] == ABANDONED)
    answered = data.outcome == ANSWERED
    busy = float(data.handle[answered].mean())
    if fit["handle_times"].get("after_call_work") and data.acw is not None:
        busy += float(np.nanmean(data.acw[answered]))
    total = ag.erlang_a_agents(
        hist,
        cal,
        busy,
        patience["mean"] or math.inf,
        fit["interval_s"],
        {"abandoned", "asa"},
    )
    seen = fit["agents"]["seen"]
    return {
        "groups": ag.erlang_a_by_group(total["groups"]["agents"], seen),
        "method": total["method"] + f" (mean busy {busy:.1f} s, exponential patience "
        f"{patience['mean'] or math.inf:.1f} s pooled)"
        + (", split over the groups as their agents were seen" if len(seen["groups"]) > 1 else ""),
        "matched": total["matched"],
    }


def _shape_by_calibration(
    fit: dict, with_seen: dict, erlang: dict, calibrate: Callable[[], dict]
) -> dict:
    """Keep the staffing shape, agents seen or Erlang A per interval, that reproduces the
    history better (each with its own calibrated factor; a tie: agents seen, the observed one).

    One factor times the agents seen puts the staffing in the wrong hours when presence differs
    by hour (breaks, agents seen idle between calls): in a bank's month the model's service level
    was 10-25 points above the history's from 09:00 to 15:00 and below it after 16:00. Erlang A
    per interval reads each hour's staffing from its own abandonment instead.
    """
    agents = fit["agents"]
    seen = agents["seen"]
    kept, cals = _choose_by_calibration(
        {SEEN: lambda: agents.update(seen=seen), ERLANG_A: lambda: agents.update(seen=erlang)},
        calibrate,
        {SEEN: with_seen},
    )
    other = ERLANG_A if kept == SEEN else SEEN
    agents["shape_chosen_by_calibration"] = {
        **_choice(kept, cals, {SEEN: "agents_seen", ERLANG_A: "erlang_a"}),
        "not_kept_method": (erlang if kept == SEEN else seen)["method"],
    }
    agents["seen"]["method"] += (
        f"; shape chosen by calibration over {other} (misfit {cals[kept]['misfit']:.2f} "
        f"against {cals[other]['misfit']:.2f})"
    )
    return cals[kept]


def calibration_said(cal: dict) -> str:
    """What the calibration reached, never more: the figures against the history's."""
    from sim.scenario.kpis import format_value

    def figs(values: dict) -> str:
        return ", ".join(format_value(values[f], f) for f in cal["figures"])

    said = (
        f"calibrated on {', '.join(cal['figures'])}: simulated {figs(cal['reached'])} against "
        f"the history's {figs(cal['target'])}"
    )
    off = [f for f, ok in cal["within_tolerance"].items() if ok is False]
    if off:
        said += f"; NOT reached for {', '.join(off)} (outside the tolerance)"
    else:
        said += ", each within its tolerance"
    if cal["at_bound"]:
        said += f"; the factor is at the {cal['at_bound']} bound of {cal['bounds']}"
    if not cal["identified"]["well"]:
        said += "; weakly identified (every factor in range is close)"
    return said


def fit_messages(fit: dict) -> list[str]:
    """What a planner must read beside the back-test table: types given to a group that never
    answered them, repeat calls kept in the arrivals, ids taken as unknown, a calibration that
    did not reach its target, and per missed figure the likely cause and what to try."""
    lines = [f"call type {t}: {a['why']}" for t, a in fit["agents"].get("assigned", {}).items()]
    redials = fit.get("redials", {})
    if redials.get("ids_taken_as_unknown"):
        lines.append(
            "customer ids taken as 'unknown' (on too many calls to be one customer): "
            + ", ".join(redials["ids_taken_as_unknown"])
        )
    if redials.get("modelled") is False:
        lines.append(f"redials: {redials['note']}")
    cal = fit["agents"].get("calibration")
    if cal and (not cal["matched"] or cal["at_bound"]):
        lines.append(f"agents factor {cal['factor']:.3f}: {fit['agents']['factor_source']}")
    from sim.fit.scenario_out import TARGET_SERVICE_LEVEL

    ceiling = service_level_ceiling(fit)
    if ceiling < TARGET_SERVICE_LEVEL:
        held = ", ".join(fit["answer_delay"]["by_tier"])
        lines.append(
            f"answer delays (tiers {held}): at most {ceiling:.1%} of calls can be answered "
            f"within {fit['within_s']:g} s at any staffing, below the placeholder target of "
            f"{TARGET_SERVICE_LEVEL:.0%}; `sim staff` plans without the hold and says so (or, "
            "with --keep-answer-delay, refuses: then set a target the process allows)"
        )
    for d in fit.get("backtest", {}).get("diagnosis", []):
        lines.append(f"off: {d['off']}. Likely cause: {d['cause']}. Try: {d['try']}.")
    return lines


def fit_name(fit: dict) -> str:
    stem = Path(fit["log"]["file"]).stem
    return f"fitted-{stem}"


def _json_safe(value):
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return _json_safe(value.item())
    return value


def write_fit_folder(folder: Path, result: FitResult) -> None:
    """scenario.yaml (commented), fit.json, backtest.csv (and arrivals.csv), atomically."""
    from sim.fit.scenario_out import to_yaml
    from sim.report.files import write_atomic, write_table

    fit = result.fit
    assert result.scenario is not None and result.comments is not None, "finish_fit first"
    header = (
        f"Fitted by `sim fit` from {fit['log']['file']}: every number says where it came from.\n"
        "Run it as is with `sim run scenario.yaml`; see fit.json and report.html for the detail."
    )
    write_atomic(folder / "scenario.yaml", to_yaml(result.scenario, result.comments, header))
    write_atomic(folder / "fit.json", json.dumps(_json_safe(fit), indent=2) + "\n")
    if result.backtest_rows:
        cols: dict[str, list | np.ndarray] = {
            k: [r[k] for r in result.backtest_rows] for k in result.backtest_rows[0]
        }
        write_table(folder / "backtest.csv", cols)
