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
   09:30 and a step drop to 60/h at 10:00. ``sim.planning.staffing.staff`` against a reference
   iterative staffing (Feldman, Mandelbaum, Massey & Whitt 2008 style fixed point, with the
   service level itself as the measure): simulate the plan with ``--reference-reps``
   replications and the plan one lower with the same seeds, restaff every interval to the
   smallest level meeting the target, repeat until nothing changes. Both are checked with
   ``--fresh`` fresh replications; agent-hours are compared.

Usage: ``PYTHONPATH=. python benchmarks/bench_staffing.py [--hotline] [--steep]`` (prints JSON)
"""

from __future__ import annotations

import argparse
import io
import json
import os
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


def _staff(code: Path, out: Path, workers: int, extra: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(code)}
    cmd = [sys.executable, "-m", "sim", "staff", str(HOTLINE), "--out", str(out), "--quiet",
           "--workers", str(workers), *extra]  # fmt: skip
    started = time.perf_counter()
    # cwd outside both trees: ``python -m`` puts the cwd first on sys.path
    subprocess.run(cmd, env=env, check=True, cwd=out.parent, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


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
    from sim.scenario.schema import scenario_from_dict, scenario_to_dict

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
    from sim.scenario.schema import load_scenario

    scenario = load_scenario(HOTLINE)
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        old_code = _extract(args.base, tmp / "base")
        old_s = _staff(old_code, tmp / "old", args.workers, [])
        new_s = _staff(ROOT, tmp / "new", args.workers, ["--no-report"])
        for label, secs, folder in (("base", old_s, tmp / "old"), ("new", new_s, tmp / "new")):
            check = fresh_check(scenario, _plan_of(folder, scenario), args.fresh, args.workers)
            out[label] = {"seconds": secs, **check}
    out["time_ratio"] = out["new"]["seconds"] / out["base"]["seconds"]
    out["agent_hours_ratio"] = out["new"]["agent_hours"] / out["base"]["agent_hours"]
    return out


def reference_staffing(scenario, reps: int, workers: int, max_rounds: int = 15) -> dict:
    """The iterative fixed point with many replications (see the module docstring)."""
    from sim.experiments.executors import ProcessExecutor
    from sim.planning.loads import StaffingTargets, erlang_staffing
    from sim.planning.slots import Evidence, day_types, moments, simulate_runs, with_staffing

    types = day_types(scenario)
    targets = StaffingTargets.of(scenario)
    g = next(iter(scenario.agents.groups))
    level = erlang_staffing(scenario, targets)[g][: types.per_day].astype(np.int64)
    ids = list(range(reps))
    with ProcessExecutor(workers) as ex:
        for _ in range(max_rounds):

            def sl(lv):
                plan = {g: np.tile(lv, (7, 1))}
                runs = simulate_runs(with_staffing(scenario, plan), scenario.seed, ids, ex)
                return Evidence.of(moments(runs, types)).est[0][0, 0]

            here, below = sl(level), sl(np.maximum(level - 1, 1))
            with np.errstate(invalid="ignore"):
                nxt = np.where(
                    here < targets.service_level,
                    level + 1,
                    np.where(below >= targets.service_level, np.maximum(level - 1, 1), level),
                )
            if np.array_equal(nxt, level):
                break
            level = nxt
    return {g: np.tile(level, (7, 1))}


def steep(args) -> dict:
    sys.path.insert(0, str(ROOT / "tests"))
    from test_staffing_search import _steep

    from sim.planning.staffing import staff
    from sim.scenario.schema import scenario_from_dict

    scenario = scenario_from_dict(_steep())
    started = time.perf_counter()
    result = staff(scenario, executor="processes", verify_replications=0)
    ours_s = time.perf_counter() - started
    started = time.perf_counter()
    ref = reference_staffing(scenario, args.reference_reps, args.workers)
    ref_s = time.perf_counter() - started
    ours = fresh_check(scenario, result.staffing, args.fresh, args.workers)
    theirs = fresh_check(scenario, ref, args.fresh, args.workers)
    return {
        "ours": {**ours, "seconds": ours_s, "staffing": result.staffing["team"][0].tolist()},
        "reference": {**theirs, "seconds": ref_s, "staffing": ref["team"][0].tolist()},
        "agent_hours_ratio": ours["agent_hours"] / theirs["agent_hours"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hotline", action="store_true", help="the side-by-side hotline run")
    ap.add_argument("--steep", action="store_true", help="the steep day against the reference")
    ap.add_argument("--base", default=BASE, help=f"git revision of 'today' (default {BASE})")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--fresh", type=int, default=100, help="fresh replications of each check")
    ap.add_argument("--reference-reps", type=int, default=100)
    args = ap.parse_args()
    if not (args.hotline or args.steep):
        args.hotline = args.steep = True
    report = {}
    if args.steep:
        report["steep"] = steep(args)
    if args.hotline:
        report["hotline"] = hotline(args)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
