"""Staffing benchmark: ``sim staff`` today against an earlier version, side by side, and the
steep-day case against a reference iterative staffing with many replications.

1. **Hotline, side by side** (``--hotline``): runs ``sim staff`` on
   ``scenarios/hotline_contact_center.yaml`` with the code of ``--base`` (a git revision,
   extracted with ``git archive``; default the version before issue 12) and with this tree, one
   after the other on the same machine, and prints wall time, scheduled agent-hours over the
   measured days, and each staffing re-simulated with ``--fresh`` fresh replications: share of
   group x weekday x interval slots meeting both targets (point estimate) and significant misses
   (95% interval wholly on the wrong side).
2. **Steep day** (``--steep``): one day of half-hours, 30 calls/h at night, a ramp to 360/h by
   09:30 and a step drop to 60/h at 10:00 (``tests/test_staffing_search.py``), 20 replications
   a round. ``sim.planning.staffing.staff`` against the reference iterative staffing algorithm
   of the test suite (``tests/test_staffing_isa.py``: Feldman, Mandelbaum, Massey & Whitt
   2008, from ample agents, every interval restaffed to the smallest level the distribution
   of the number in system seen by its arrivals prices as meeting the target, until the plan
   stops changing) with ``--reference-reps`` replications an iteration. Both are checked with
   ``--fresh`` fresh replications; agent-hours are compared.

Usage: ``PYTHONPATH=. python benchmarks/bench_staffing.py [--hotline] [--steep]`` (prints JSON)
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BASE = "7af2ab9"  # the last commit before the staffing search of issue 12
HOTLINE = ROOT / "scenarios" / "hotline_contact_center.yaml"


def _extract(rev: str, into: Path) -> Path:
    data = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "sim"], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into


def _staff(code: Path, out: Path, workers: int, extra: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system of the command and its worker processes:
    less sensitive than the wall time to what else runs on a shared machine)."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    cmd = [sys.executable, "-m", "sim", "staff", str(HOTLINE), "--out", str(out), "--quiet",
           "--workers", str(workers), *extra]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    # cwd outside both trees: ``python -m`` puts the cwd first on sys.path
    subprocess.run(cmd, env=env, check=True, cwd=out.parent, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def fresh_check(scenario, plan: dict, fresh: int, workers: int) -> dict:
    """``plan`` (group -> (7, per_day)) re-simulated with fresh seeds, per weekday slot."""
    from sim.experiments.executors import ProcessExecutor
    from sim.planning.loads import StaffingTargets
    from sim.planning.slots import Evidence, day_types, moments, simulate_runs, with_staffing

    types = day_types(scenario, pool=False)
    with ProcessExecutor(workers) as ex:
        runs = simulate_runs(
            with_staffing(scenario, plan),
            scenario.seed,
            list(range(5_000_000, 5_000_000 + fresh)),
            ex,
        )
    ev = Evidence.of(moments(runs, types))
    targets = StaffingTargets.of(scenario)
    offered = np.isfinite(ev.est[0])
    meets = ev.meets(targets) & offered
    misses = ev.short(targets, 0.025) & offered
    return {
        "slots": int(offered.sum()),
        "share_meeting": float(meets.sum() / max(offered.sum(), 1)),
        "significant_misses": int(misses.sum()),
        "agent_hours": _hours(scenario, types, plan),
    }


def _hours(scenario, types, plan: dict) -> float:
    """Agent-hours of a weekly plan over the measured days."""
    total = 0.0
    for k in range(types.count):
        w = int(np.flatnonzero(types.of_weekday == k)[0])
        per_interval = types.measured(k).sum(axis=0)
        total += sum(float((p[w] * per_interval).sum()) for p in plan.values())
    return total * scenario.interval / 3600.0


def _plan_of(folder: Path, scenario) -> dict:
    """The weekly plan in a staffing folder's staffing.yaml."""
    from ruamel.yaml import YAML

    from sim.model.calendar import staffing_timeline
    from sim.scenario.loading import scenario_from_dict
    from sim.scenario.resolved import scenario_to_dict

    data = scenario_to_dict(scenario)
    agents = YAML(typ="safe").load((folder / "staffing.yaml").read_text())["agents"]
    data["agents"] = agents
    data["horizon"] = {**data["horizon"], "days": 7, "warmup": 0, "start_weekday": "mon"}
    week = scenario_from_dict(data, base_dir=HOTLINE.parent)
    per_day = round(86400 / scenario.interval)
    edges = np.arange(0.0, 7 * 86400 + 1, scenario.interval)
    return {
        g: (staffing_timeline(week, group).integral(edges) / scenario.interval)
        .round()
        .astype(np.int64)
        .reshape(7, per_day)
        for g, group in week.agents.groups.items()
    }


def hotline(args) -> dict:
    from sim.scenario.loading import load_scenario

    scenario = load_scenario(HOTLINE)
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        old_code = _extract(args.base, tmp / "base")
        old_s, old_cpu = _staff(old_code, tmp / "old", args.workers, [])
        new_s, new_cpu = _staff(ROOT, tmp / "new", args.workers, ["--no-report"])
        for label, secs, cpu, folder in (
            ("base", old_s, old_cpu, tmp / "old"),
            ("new", new_s, new_cpu, tmp / "new"),
        ):
            check = fresh_check(scenario, _plan_of(folder, scenario), args.fresh, args.workers)
            out[label] = {"seconds": secs, "cpu_seconds": cpu, **check}
    out["time_ratio"] = out["new"]["seconds"] / out["base"]["seconds"]
    out["cpu_time_ratio"] = out["new"]["cpu_seconds"] / out["base"]["cpu_seconds"]
    out["agent_hours_ratio"] = out["new"]["agent_hours"] / out["base"]["agent_hours"]
    return out


def steep(args) -> dict:
    sys.path.insert(0, str(ROOT / "tests"))
    from test_staffing_isa import fresh_check as daily_check
    from test_staffing_isa import reference_isa
    from test_staffing_search import _steep

    from sim.planning.staffing import staff
    from sim.scenario.loading import scenario_from_dict

    scenario = scenario_from_dict(_steep())
    started = time.perf_counter()
    result = staff(scenario, executor="processes", verify_replications=0)
    ours_s = time.perf_counter() - started
    started = time.perf_counter()
    ref, iterations = reference_isa(scenario, args.reference_reps)
    ref_s = time.perf_counter() - started
    ours = daily_check(scenario, result.staffing["team"][0], args.fresh)
    theirs = daily_check(scenario, ref, args.fresh)
    return {
        "ours": {**ours, "seconds": ours_s, "staffing": result.staffing["team"][0].tolist()},
        "reference": {
            **theirs,
            "seconds": ref_s,
            "iterations": iterations,
            "staffing": ref.tolist(),
        },
        "agent_hours_ratio": ours["agent_hours"] / theirs["agent_hours"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hotline", action="store_true", help="the side-by-side hotline run")
    ap.add_argument("--steep", action="store_true", help="the steep day against the reference")
    ap.add_argument("--base", default=BASE, help=f"git revision of 'today' (default {BASE})")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--fresh", type=int, default=100, help="fresh replications of each check")
    ap.add_argument("--reference-reps", type=int, default=1000)
    args = ap.parse_args()
    if not (args.hotline or args.steep):
        args.hotline = args.steep = True
    report: dict = {"loadavg_before": Path("/proc/loadavg").read_text().split()[:3]}
    if args.steep:
        report["steep"] = steep(args)
    if args.hotline:
        report["hotline"] = hotline(args)
    report["loadavg_after"] = Path("/proc/loadavg").read_text().split()[:3]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
