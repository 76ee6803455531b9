"""False-alarm rate of ``sim regress`` on an unchanged model: many baselines, each re-run anew.

Repetition k makes a baseline with root seed ``S + 2k`` and checks it the way ``sim regress``
does (root seed + 1, the same replication count), with the module's own test
(:func:`sim.quality.significance.compare_samples` per KPI,
:func:`sim.quality.significance.holm` over them). The model never changes, so every flagged
repetition is a false alarm; the design goal is < 1%. Also reports how often each KPI's raw
Welch p-value is below 0.05 (should be near 5% if the t-test is calibrated for these KPIs).

    PYTHONPATH=. python benchmarks/regress_false_alarms.py [--repetitions 1000] [--workers 2]
        [--scenario FILE]

Default scenario: a small Erlang A queue (2 days, 120 calls/h, 8 agents, exponential
patience), cheap enough for a thousand repetitions in a few minutes.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor

from scipy import stats

from sim import load_scenario, scenario_from_dict
from sim.quality.regress import ALPHA, REPLICATIONS, run_kpis
from sim.quality.significance import compare_samples, holm

TINY = {
    "name": "false-alarm-bench",
    "horizon": {"days": 2, "warmup": "2h"},
    "arrivals": {"rate_per_hour": 120},
    "call_types": {"general": {"share": 1, "handle_time": {"dist": "exponential", "mean": "3min"}}},
    "customer_tiers": {
        "standard": {"share": 1, "patience": {"dist": "exponential", "mean": "3min"}}
    },
    "agents": {"groups": {"team": {"skills": ["general"], "staffing": 8}}},
    "targets": {"service_level": {"within": "20s", "at_least": 0.8}},
    "seed": 1000,
}

_SCENARIO = None


def _init(path: str | None) -> None:
    global _SCENARIO
    _SCENARIO = load_scenario(path) if path else scenario_from_dict(TINY)


def _sample(seed: int) -> dict:
    return run_kpis(_SCENARIO, seed, list(range(REPLICATIONS)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repetitions", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--scenario", help="scenario file (default: a small Erlang A queue)")
    args = ap.parse_args()
    _init(args.scenario)
    start = time.perf_counter()
    seeds = [_SCENARIO.seed + i for i in range(2 * args.repetitions)]
    with ProcessPoolExecutor(args.workers, initializer=_init, initargs=(args.scenario,)) as pool:
        samples = list(pool.map(_sample, seeds, chunksize=8))
    alarms, raw_low, raw_n, tests = 0, {}, {}, 0
    for k in range(args.repetitions):
        base, current = samples[2 * k], samples[2 * k + 1]
        rows = [compare_samples(name, base.get(name), current.get(name)) for name in base]
        pvals = [p for r in rows for p in r.tests]
        tests = max(tests, len(pvals))
        flagged = any(r.failed for r in rows) or any(p <= ALPHA for p in holm(pvals))
        alarms += flagged
        for r in rows:
            for p in r.tests:
                raw_n[r.kpi] = raw_n.get(r.kpi, 0) + 1
                raw_low[r.kpi] = raw_low.get(r.kpi, 0) + (p < 0.05)
    ci = stats.binomtest(alarms, args.repetitions).proportion_ci(0.95, method="exact")
    elapsed = time.perf_counter() - start
    print(
        f"scenario: {_SCENARIO.name}; {REPLICATIONS} replications per sample; up to {tests} "
        f"tests per repetition; Holm at family-wise {ALPHA}"
    )
    print(
        f"false alarms: {alarms} of {args.repetitions} repetitions = "
        f"{alarms / args.repetitions:.4f} (95% Clopper-Pearson CI {ci.low:.4f} .. "
        f"{ci.high:.4f})"
    )
    print("raw Welch p < 0.05 per KPI (calibration; nominal 0.05):")
    for name in raw_n:
        print(f"  {name:32s} {raw_low[name] / raw_n[name]:.3f}  (n={raw_n[name]})")
    print(f"elapsed {elapsed:.1f} s with {args.workers} workers")


if __name__ == "__main__":
    main()
