"""Does the router's cost per call grow with the number of queues a group serves?

Case: ``--types`` call types (10 and 200 by default) of equal share, 960 calls/h in total,
exponential handle time of mean 180 s and patience of mean 120 s. A ``front`` group of 40
agents has every type as a skill; a ``general`` group of 12 agents takes any type after it
waited 30 s (an overflow), so both groups serve one queue per type. Same load whatever the
number of types: only the number of queues changes.

Each case runs ``--repeat`` times, interleaved, in this process; CPU time (``process_time``)
of ``simulate`` per call, best of the runs. The load average is printed: read the ratio.

Usage: ``PYTHONPATH=. python benchmarks/bench_router.py [--types 10 200] [--days 4]
[--repeat 3]``
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from sim import scenario_from_dict, simulate


def scenario(types: int, days: int) -> dict:
    names = [f"t{k:03d}" for k in range(types)]
    return {
        "name": f"router-{types}-types",
        "horizon": {"days": days, "warmup": "1h"},
        "interval": "30min",
        "arrivals": {"rate_per_hour": 960},
        "call_types": {
            n: {"share": 1 / types, "handle_time": {"dist": "exponential", "mean": "180s"}}
            for n in names
        },
        "customer_tiers": {
            "standard": {"share": 1, "patience": {"dist": "exponential", "mean": "120s"}}
        },
        "agents": {
            "groups": {
                "front": {"skills": names, "staffing": 40},
                "general": {"skills": names[:1], "staffing": 12},
            }
        },
        "routing": {n: ["front", {"group": "general", "after": "30s"}] for n in names},
        "targets": {"service_level": {"within": "20s", "at_least": 0.8}},
        "replications": 1,
        "seed": 1,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--types", type=int, nargs="+", default=[10, 200])
    ap.add_argument("--days", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    cases = {k: scenario_from_dict(scenario(k, args.days)) for k in args.types}
    best = dict.fromkeys(cases, float("inf"))
    calls, sl = {}, {}
    for _ in range(args.repeat):
        for k, sc in cases.items():  # interleaved: every case sees the same machine load
            started = time.process_time()
            run = simulate(sc)
            seconds = time.process_time() - started
            calls[k], sl[k] = len(run.records.calls), run.kpis["service_level"]
            best[k] = min(best[k], seconds / calls[k])
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"{args.days} days, 960 calls/h, CPU per call, best of {args.repeat}")
    print(f"load average {' '.join(load)}")
    first = args.types[0]
    for k in args.types:
        print(
            f"{k:4d} types  {best[k] * 1e6:6.2f} us/call  {best[k] / best[first]:.3f}x  "
            f"calls {calls[k]}  SL {sl[k]:.4f}"
        )


if __name__ == "__main__":
    main()
