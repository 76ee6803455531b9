"""Peak memory of one long replication of hotline_baseline.yaml, with and without records.

Each run is a fresh ``spawn`` process; it reports the growth of its peak RSS
(``getrusage(RUSAGE_SELF).ru_maxrss``) over ``simulate`` and the peak RSS itself, and bytes
per call (calls counted from a run with records). ``keep_records=False`` is what the
executors use for replications, sweeps and regressions (staffing keeps the records of a run
until its worker has reduced them). Goals (issue 16): at most 150 B per call with records,
a peak under 200 MiB without.

Measured 2026-12-01 (365 days, 2,315,539 calls; shared 2-core machine, load 2-5): with records
peak 341 MiB, 132 B per call; without, peak 163 MiB (was 192 MiB): interpreter and imports
48 MiB, business records kept to the end 53 MiB (orders 14.5, work orders 14.0, leads 13.4,
tasks 6.5, attempts 4.5), call rows not yet reduced at the horizon 37 MiB (the last block of
first calls and every call made again), C heap and Python objects ~25 MiB (the KPI sums
4 MiB, a block's reduction temporaries ~11 MiB).

Usage: ``PYTHONPATH=. python benchmarks/bench_memory.py [--days 365]``
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "hotline_baseline.yaml"


def _run(days: int, keep_records: bool) -> dict:
    from sim import scenario_from_dict, simulate
    from sim.scenario.yamlsource import load_yaml

    data, _ = load_yaml(BASELINE)
    data["horizon"] = {**data["horizon"], "days": days}
    scenario = scenario_from_dict(data, base_dir=BASELINE.parent)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.process_time()
    run = simulate(scenario, keep_records=keep_records)
    cpu = time.process_time() - started
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    calls = len(run.records.calls) if run.records is not None else None
    return {"grown_kib": after - before, "peak_kib": after, "cpu_s": cpu, "calls": calls}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=365)
    args = ap.parse_args()
    runs = {}
    for keep in (True, False):
        with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
            runs[keep] = pool.submit(_run, args.days, keep).result()
    calls = runs[True]["calls"]
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"{args.days} days of {BASELINE.name}: {calls:,} calls; load {load}")
    for keep, r in runs.items():
        print(
            f"keep_records={keep!s:5}  peak RSS {r['peak_kib'] / 1024:7.1f} MiB  "
            f"grown {r['grown_kib'] / 1024:7.1f} MiB  {r['grown_kib'] * 1024 / calls:6.1f} B/call  "
            f"CPU {r['cpu_s']:.1f} s"
        )


if __name__ == "__main__":
    main()
