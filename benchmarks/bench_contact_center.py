"""Speed and memory of ``sim.simulate`` on M/M/c+M, against plain SimPy and Ciw.

Case: c = 50 agents, 48 Erlang offered (960 calls/h), exponential handle time of mean 180 s,
exponential patience of mean 120 s, >= 500,000 arrivals (22 days), first hour excluded.

Speed is only reported for runs that agree with the exact Erlang A figures: a fast wrong
model is no result. Each implementation runs in a fresh ``spawn`` process, so imports and
memory of one run do not leak into the next. Measured there:

- seconds: CPU time (``time.process_time``) around the simulation call only (scenario/model building
  excluded; for ``sim`` the call includes its own KPI computation, for the baselines it does
  not, which only flatters the baselines);
- arrivals: calls arriving after the warm-up and before the horizon (the KPI population);
  arrivals/s divides them by the seconds;
- memory: growth of the process's peak RSS (``getrusage(RUSAGE_SELF).ru_maxrss``) from just
  before the run to just after it, per million arrivals. Peak RSS, not ``tracemalloc``,
  because tracemalloc slows Python allocation severalfold and would distort the timings.

Run from the repository root::

    /work/venv/bin/python benchmarks/bench_contact_center.py [--arrivals N] [--skip-ciw]
        [--repeat N] [--json OUT]

``sim`` and plain SimPy run ``--repeat`` times, interleaved (sim, SimPy, sim, SimPy, ...) so
that both see the same machine load, and each keeps its best (lowest CPU time) run; Ciw runs
once. The load average is printed before and after: on a shared machine read the ratios.

Exit status: 0 all runs agree with Erlang A; 1 some run disagrees (its speed is withheld);
2 ``sim`` could not be imported or run.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import multiprocessing as mp
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _p in (str(HERE), str(ROOT)):  # mmcm_baselines, and sim/ from the checkout
    if _p not in sys.path:
        sys.path.insert(0, _p)

import mmcm_baselines as base  # noqa: E402

DAY = 86400.0
RATE_PER_HOUR = 960.0
CASE = {
    "rate_per_s": RATE_PER_HOUR / 3600.0,
    "mean_handle_s": 180.0,
    "servers": 50,
    "mean_patience_s": 120.0,
    "warmup_s": 3600.0,
}
SEED = 1
TOL_SL = 0.015  # ~3 sd at 500,000 arrivals (seed-to-seed sd 0.0047); widened as 1/sqrt(n)
TOL_ABANDON = 0.005
TOL_ASA_S = 1.0
TOL_AT = 500_000
CIW_BUDGET_S = 180.0  # longer than this predicted: run Ciw on a tenth of the arrivals
CIW_PILOT = 0.02  # share of the arrivals in the pilot run that predicts Ciw's time


def horizon_days(arrivals: int) -> int:
    """Whole days (sim's horizon unit) holding the warm-up plus ``arrivals`` expected calls."""
    return math.ceil((CASE["warmup_s"] + arrivals / CASE["rate_per_s"]) / DAY)


def sim_scenario(days: int, seed: int) -> dict:
    """The case as a scenario for ``sim``: one call type, one tier, one 50-agent team."""
    return {
        "name": "bench-mmcm",
        "horizon": {"days": days, "warmup": "1h"},
        "interval": "30min",
        "arrivals": {"rate_per_hour": RATE_PER_HOUR},
        "call_types": {
            "general": {"share": 1, "handle_time": {"dist": "exponential", "mean": "180s"}}
        },
        "customer_tiers": {
            "standard": {"share": 1, "patience": {"dist": "exponential", "mean": "120s"}}
        },
        "agents": {"groups": {"team": {"skills": ["general"], "staffing": CASE["servers"]}}},
        "targets": {"service_level": {"within": "20s", "at_least": 0.8}},
        "replications": 1,
        "seed": seed,
    }


# --------------------------------------------------------------------------- child processes


def _peak_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def _run_sim(horizon_s: float, seed: int) -> dict:
    """Our model; runs in a fresh process. Raises ImportError if ``sim`` is not importable."""
    from sim import simulate
    from sim.scenario.loading import scenario_from_dict

    days = round(horizon_s / DAY)
    scenario = scenario_from_dict(sim_scenario(days, seed))
    before = _peak_kib()
    started = time.process_time()
    result = simulate(scenario, seed=seed)
    elapsed = time.process_time() - started
    after = _peak_kib()
    k = result.kpis
    arrivals = round(k["offered"] * (horizon_s - CASE["warmup_s"]) / DAY)
    return {
        "arrivals": arrivals,
        "calls_total": len(result.records.calls),
        "service_level": k["service_level"],
        "abandon_rate": k["abandon_rate"],
        "asa": k["asa"],
        "elapsed_s": elapsed,
        "peak_rss_before_kib": before,
        "peak_rss_after_kib": after,
    }


def _run_baseline(name: str, horizon_s: float, seed: int) -> dict:
    """One reference implementation; runs in a fresh process."""
    importlib.import_module({"plain SimPy": "simpy", "Ciw": "ciw"}[name])  # before the mark
    fn = {"plain SimPy": base.run_plain_simpy, "Ciw": base.run_ciw}[name]
    before = _peak_kib()
    out = fn(horizon_s=horizon_s, seed=seed, **CASE)
    return {**out, "peak_rss_before_kib": before, "peak_rss_after_kib": _peak_kib()}


def in_fresh_process(fn, *args) -> dict:
    """Call ``fn(*args)`` in a new spawned interpreter and return its result."""
    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


# --------------------------------------------------------------------------- checks and report


def check(run: dict, exact: dict) -> list[str]:
    """Where ``run`` is off Erlang A by more than noise; tolerances widen as 1/sqrt(arrivals)."""
    widen = math.sqrt(max(1.0, TOL_AT / max(run["arrivals"], 1)))
    problems = []
    for key, tol in (("service_level", TOL_SL), ("abandon_rate", TOL_ABANDON), ("asa", TOL_ASA_S)):
        value = run[key]
        if value is None or not abs(value - exact[key]) < tol * widen:
            problems.append(f"{key} {value} vs exact {exact[key]:.4f} (tolerance {tol * widen:g})")
    return problems


def _fmt(x, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def print_table(runs: dict[str, dict], exact: dict) -> None:
    ref = runs.get("plain SimPy", {}).get("arrivals_per_s")
    head = (
        f"{'implementation':<14} {'arrivals':>9} {'seconds':>8} {'arrivals/s':>11} "
        f"{'vs SimPy':>8} {'MiB/M calls':>11} {'SL':>7} {'abandon':>8} {'ASA s':>7}"
    )
    print(head)
    print("-" * len(head))
    for name, r in runs.items():
        if "error" in r:
            print(f"{name:<14} {r['error']}")
            continue
        rate = r.get("arrivals_per_s")  # None when the KPIs disagree with Erlang A
        ratio = rate / ref if rate and ref else None
        print(
            f"{name:<14} {r['arrivals']:>9,} {r['elapsed_s']:>8.2f} {_fmt(rate, ',.0f'):>11} "
            f"{_fmt(ratio, '.2f'):>8} {_fmt(r['mib_per_million'], '.1f'):>11} "
            f"{r['service_level']:>7.4f} {r['abandon_rate']:>8.4f} {r['asa']:>7.2f}"
        )
    print(
        f"{'Erlang A exact':<14} {'':>9} {'':>8} {'':>11} {'':>8} {'':>11} "
        f"{exact['service_level']:>7.4f} {exact['abandon_rate']:>8.4f} {exact['asa']:>7.2f}"
    )
    print(f"(exact figures from {exact['source']})")


def finish(run: dict, exact: dict) -> dict:
    """Add rate and memory figures; withhold the rate if the KPIs are off."""
    grown_mib = (run["peak_rss_after_kib"] - run["peak_rss_before_kib"]) / 1024.0
    run["peak_rss_mib"] = run["peak_rss_after_kib"] / 1024.0
    run["mib_per_million"] = grown_mib / (run["arrivals"] / 1e6)
    run["problems"] = check(run, exact)
    rate = run["arrivals"] / run["elapsed_s"]
    run["arrivals_per_s"] = None if run["problems"] else rate
    run["arrivals_per_s_unchecked"] = rate
    return run


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def _keep_best(runs: dict[str, dict], name: str, run: dict) -> None:
    """Keep the run with the lowest CPU time (the same seed: the KPIs are the same)."""
    if name not in runs or run["elapsed_s"] < runs[name]["elapsed_s"]:
        runs[name] = run


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--arrivals",
        type=int,
        default=500_000,
        help="target arrivals after warm-up (sets the horizon in whole days)",
    )
    ap.add_argument("--skip-ciw", action="store_true", help="do not run Ciw (slowest)")
    ap.add_argument("--json", metavar="OUT", help="also write the results as JSON here")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--repeat", type=int, default=3, help="interleaved runs of sim and SimPy")
    args = ap.parse_args(argv)

    days = horizon_days(args.arrivals)
    horizon_s = days * DAY
    exact = base.erlang_a(
        CASE["rate_per_s"],
        CASE["mean_handle_s"],
        CASE["servers"],
        CASE["mean_patience_s"],
        base.SL_WITHIN_S,
    )
    print(
        f"M/M/c+M: c={CASE['servers']}, {RATE_PER_HOUR:g} calls/h, handle 180 s, "
        f"patience 120 s, {days} days (warm-up 1 h), seed {args.seed}"
    )
    notes: list[str] = []
    runs: dict[str, dict] = {}
    sim_failed = False

    print(f"load average before: {_loadavg()}")
    for i in range(args.repeat):
        print(f"round {i + 1}/{args.repeat}: sim.simulate, plain SimPy ...", flush=True)
        if not sim_failed:
            try:
                _keep_best(runs, "sim", in_fresh_process(_run_sim, horizon_s, args.seed))
            except ImportError as exc:
                sim_failed = True
                runs["sim"] = {"error": f"UNAVAILABLE: cannot import sim ({exc})"}
            except Exception as exc:  # sim is work in progress: report, still time SimPy
                sim_failed = True
                runs["sim"] = {"error": f"FAILED: {type(exc).__name__}: {exc}"}
        run = in_fresh_process(_run_baseline, "plain SimPy", horizon_s, args.seed)
        _keep_best(runs, "plain SimPy", run)

    if not args.skip_ciw:
        pilot_s = CASE["warmup_s"] + CIW_PILOT * (horizon_s - CASE["warmup_s"])
        pilot = in_fresh_process(_run_baseline, "Ciw", pilot_s, args.seed)
        predicted = pilot["elapsed_s"] / CIW_PILOT
        ciw_horizon = horizon_s
        if predicted > CIW_BUDGET_S:
            ciw_horizon = CASE["warmup_s"] + (horizon_s - CASE["warmup_s"]) / 10.0
            notes.append(
                f"Ciw ran on 1/10 of the horizon ({ciw_horizon / DAY:.2f} days): the full "
                f"run was predicted to take {predicted:.0f} s > {CIW_BUDGET_S:.0f} s; "
                "its arrivals/s is measured on that shorter run, its KPI tolerances "
                "widen as 1/sqrt(arrivals)"
            )
        print(
            f"running Ciw (predicted {predicted * (ciw_horizon / horizon_s):.0f} s) ...", flush=True
        )
        runs["Ciw"] = in_fresh_process(_run_baseline, "Ciw", ciw_horizon, args.seed)

    for r in runs.values():
        if "error" not in r:
            finish(r, exact)
    print(f"load average after: {_loadavg()}")
    print(f"CPU seconds, best of {args.repeat} interleaved runs (Ciw: one run)")
    print_table(runs, exact)
    for note in notes:
        print(f"note: {note}")
    print(
        "memory: growth of peak RSS of a fresh spawned process over the run, per million "
        "arrivals after warm-up"
    )
    bad = {name: r["problems"] for name, r in runs.items() if r.get("problems")}
    for name, problems in bad.items():
        print(
            f"DISAGREES WITH ERLANG A, speed withheld: {name}: {'; '.join(problems)}",
            file=sys.stderr,
        )
    if sim_failed:
        print(f"sim: {runs['sim']['error']}", file=sys.stderr)

    if args.json:
        payload = {
            "case": {**CASE, "days": days, "seed": args.seed, "sl_within_s": base.SL_WITHIN_S},
            "erlang_a": exact,
            "runs": runs,
            "notes": notes,
            "tolerance_at_500k": {
                "service_level": TOL_SL,
                "abandon_rate": TOL_ABANDON,
                "asa": TOL_ASA_S,
            },
        }
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
    if sim_failed:
        return 2
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
