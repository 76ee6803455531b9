"""What the business flows cost: a week of hotline_baseline.yaml with and without them.

Runs the same replication (same seed) of the bundled baseline with all flows (back office,
delivery, complaint loop) and of the same scenario reduced to its contact center (no
``back_office``, ``delivery`` or ``creates``), best of ``--repeat`` runs each, interleaved so
that both see the same machine load, and prints CPU time (``process_time``), SimPy events
scheduled, events per second, the load average and the ratios (time, time per call).

The floor (``bench_flows_floor.py``): the same business logic as one flat heapq loop, fed with
the inputs the flows' listeners get in replication 0 and doing the same work (leads, work
orders, tasks, orders, attempts, deliveries equal to the model's), costs 29-32 ms a week against
the model's 54-61 ms (best of 9, load 1.6-1.9 on 2 cores, 6 runs): calls only + minimal flows is
1.33-1.37 times calls only (the model: 1.60-1.70), and 1.38-1.42 once the listener calls,
freezing and KPIs and the calls the flows cause are added. A ratio of 1.4 is at that floor.
Usage:

    PYTHONPATH=. python benchmarks/bench_business.py [--repeat 3] [--days 7]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import simpy

from sim import scenario_from_dict, simulate
from sim.model import simulation
from sim.scenario.yamlsource import load_yaml

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "hotline_baseline.yaml"
BUSINESS_TARGETS = (
    "delivery_on_time",
    "delivery_success",
    "first_attempt_success",
    "cost_per_delivery",
    "back_office_on_time",
    "lead_conversion",
)


def _counting(base: type) -> type:
    """A subclass of the model's environment class that remembers its last instance, to read
    its event counter after the run."""

    class Counting(base):
        last = None

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            Counting.last = self

    return Counting


def events_of(env) -> int:
    """Events the run scheduled: the model's sequence counter where it has one (the agenda
    and SimPy share it), else SimPy's own."""
    seq = getattr(env, "next_seq", None)
    return seq() if seq is not None else next(env._eid)


def contact_center_only(data: dict) -> dict:
    """The scenario without business flows: no back office, no delivery, nothing created."""
    data = {k: v for k, v in data.items() if k not in ("back_office", "delivery")}
    data["call_types"] = {
        name: {k: v for k, v in ct.items() if k not in ("creates", "accept_rate")}
        for name, ct in data["call_types"].items()
    }
    data["targets"] = {
        k: v for k, v in data.get("targets", {}).items() if k not in BUSINESS_TARGETS
    }
    return data


def measure(scenario) -> tuple[float, int, int]:
    """CPU time (s), events scheduled and calls of one replication (after :func:`count_events`)."""
    started = time.process_time()
    run = simulate(scenario, replication=0)
    seconds = time.process_time() - started
    return seconds, events_of(_ENVIRONMENT[0].last), len(run.records.calls)


_ENVIRONMENT: list = []


def count_events() -> None:
    """Make simulate() build a counting environment of the model's class, whichever it is."""
    if hasattr(simulation, "ModelEnvironment"):  # the model's own environment
        simulation.ModelEnvironment = counting = _counting(simulation.ModelEnvironment)
    else:  # simulate() builds simpy.Environment()
        simpy.Environment = counting = _counting(simpy.Environment)
    _ENVIRONMENT[:] = [counting]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--days", type=int, default=7)
    args = parser.parse_args()
    count_events()
    full, _ = load_yaml(BASELINE)
    full["horizon"] = {**full["horizon"], "days": args.days}
    cases = {
        "all flows": scenario_from_dict(full, base_dir=BASELINE.parent),
        "contact center only": scenario_from_dict(
            contact_center_only(full), base_dir=BASELINE.parent
        ),
    }
    rows: dict[str, tuple[float, int, int]] = {}
    for _ in range(args.repeat):
        for name, scenario in cases.items():  # interleaved
            run = measure(scenario)
            if name not in rows or run[0] < rows[name][0]:
                rows[name] = run
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"{args.days} days of {BASELINE.name}, CPU time, best of {args.repeat}; load {load}")
    print(f"{'':22}{'seconds':>9}{'events':>10}{'calls':>9}{'events/s':>11}")
    for name, (seconds, events, calls) in rows.items():
        print(f"{name:22}{seconds:9.3f}{events:10d}{calls:9d}{events / seconds:11,.0f}")
    (t_all, e_all, n_all), (t_cc, e_cc, n_cc) = rows.values()
    print(
        f"ratio all / contact center: time {t_all / t_cc:.3f}, "
        f"time per call {(t_all / n_all) / (t_cc / n_cc):.3f}, events {e_all / e_cc:.3f}"
    )


if __name__ == "__main__":
    main()
