"""Time ``sim fit`` on call logs, and measure what reading one costs in memory.

Three measurements (run: ``PYTHONPATH=. python benchmarks/bench_fit.py [--fit] [--year]
[--memory ROWS] [--report]``; no option runs ``--year``):

``--fit``
    a one-million-row log (the call log of tests/scenarios/fit_truth.yaml scaled 45 times,
    simulated once and cached in the temporary folder): reading (CSV and Parquet) and the fit
    before the calibration simulations. Target: under 30 s for the CSV read plus the fit.
``--year``
    a year of per-call records (400,000 rows, every optional column, 6 call types, 3 tiers,
    120 agents, 150,000 customers): reading it as CSV and as Parquet (issue 22: the whole
    ``sim fit`` including calibration in under a minute, so reading must take a few seconds).
``--memory ROWS``
    peak resident memory of reading logs of ROWS/4 and ROWS such rows, CSV and Parquet, each
    in a fresh process (its ``VmHWM``: ``ru_maxrss`` would carry this process's peak over
    ``exec``); the slope between the two sizes is the bytes a row that ``docs/call-log.md``
    and ``MAX_LOG_ROWS`` rely on, the rest is fixed (read-ahead, thread pools, caches).
``--report``
    a year of 30-minute interval reports (two call types, 35,040 rows), CSV and Parquet: read
    and fitted (before the calibration simulations) in seconds.

Timings are wall-clock with the load average printed beside them (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SCALE = 45
TRUTH = ROOT / "tests" / "scenarios" / "fit_truth.yaml"
YEAR_ROWS = 400_000


def scaled_scenario():
    from sim.scenario.loading import scenario_from_dict
    from sim.scenario.yamlsource import load_yaml

    data, _ = load_yaml(TRUTH)
    data["arrivals"]["daily_volume"] *= SCALE
    for plan in data["agents"]["groups"]["team"]["staffing"].values():
        for clock in plan:
            plan[clock] = round(plan[clock] * SCALE * 0.95)
    return scenario_from_dict(data)


def simulated_log(folder: Path) -> tuple[Path, Path]:
    from sim.model.simulation import simulate
    from sim.records.call_log import call_log_table, encode_call_log

    csv, parquet = folder / "bench_fit_1m.csv", folder / "bench_fit_1m.parquet"
    if csv.exists() and parquet.exists():
        return csv, parquet
    started = time.perf_counter()
    run = simulate(scaled_scenario(), seed=11)
    table = call_log_table(run.records)
    parquet.write_bytes(encode_call_log(table))
    csv.write_bytes(encode_call_log(table, "csv"))
    print(f"simulated and wrote {table.num_rows:,} calls in {time.perf_counter() - started:.1f} s")
    return csv, parquet


def synthetic_log(folder: Path, rows: int) -> tuple[Path, Path]:
    """A generic-format log of ``rows`` calls over a year, 08:00-20:00, every column filled
    the way a real export fills it (cached: the same file for the same size)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    csv, parquet = folder / f"bench_log_{rows}.csv", folder / f"bench_log_{rows}.parquet"
    if csv.exists() and parquet.exists():
        return csv, parquet
    rng = np.random.default_rng(22)
    day = rng.integers(0, 365, rows)
    clock = rng.integers(8 * 3600, 20 * 3600, rows)
    arrival = np.sort(np.datetime64("2023-01-02", "s") + day * 86400 + clock)
    kind = rng.choice(3, rows, p=[0.82, 0.13, 0.05])
    outcome = np.array(["answered", "abandoned", "self_served"])[kind]
    wait = np.round(rng.exponential(40.0, rows) * (kind < 2), 3)
    handle = np.where(kind == 0, np.round(rng.gamma(2.0, 120.0, rows), 3), np.nan)
    pick = lambda names, p=None: np.array(names)[rng.choice(len(names), rows, p=p)]  # noqa: E731
    agents = np.array([f"agent{i:03d}" for i in range(120)])[rng.integers(0, 120, rows)]
    table = pa.table(
        {
            "arrival": pa.array(arrival),
            "outcome": outcome,
            "wait": wait,
            "handle_time": pa.array(handle, from_pandas=True),
            "call_type": pick(
                ["PS", "NW", "NE", "PE", "TT", "IN"], [0.6, 0.2, 0.1, 0.05, 0.04, 0.01]
            ),
            "tier": pick(["0", "1", "2"]),
            "agent": np.where(kind == 0, agents, ""),
            "customer": np.char.add("c", rng.integers(0, 150_000, rows).astype(str)),
            "group": pick(["front", "back", "night"]),
            "after_call_work": pa.array(
                np.where(kind == 0, np.round(rng.exponential(20.0, rows), 3), np.nan),
                from_pandas=True,
            ),
        }
    )
    pq.write_table(table, parquet)
    pacsv.write_csv(table, csv)
    return csv, parquet


def _timed_read(path: Path) -> tuple[float, int]:
    from sim.fit.calllog import read_call_log

    started = time.perf_counter()
    data = read_call_log(path)
    return time.perf_counter() - started, len(data)


def bench_fit() -> None:
    from sim.fit.calllog import read_call_log
    from sim.fit.pipeline import FitOptions, fit_log

    csv, parquet = simulated_log(Path(tempfile.gettempdir()))
    print(f"CSV {csv.stat().st_size / 1e6:.0f} MB, Parquet {parquet.stat().st_size / 1e6:.0f} MB")
    for path in (csv, parquet):
        t0 = time.perf_counter()
        data = read_call_log(path)
        t1 = time.perf_counter()
        result = fit_log(data, FitOptions())
        t2 = time.perf_counter()
        print(
            f"{path.suffix[1:]:8s} {len(data):,} rows: read {t1 - t0:.1f} s, fit {t2 - t1:.1f} s, "
            f"total {t2 - t0:.1f} s (target < 30 s); volume "
            f"{result.fit['arrivals']['daily_volume']:,.0f}/day"
        )


def bench_year() -> None:
    csv, parquet = synthetic_log(Path(tempfile.gettempdir()), YEAR_ROWS)
    print(f"a year, {YEAR_ROWS:,} rows: CSV {csv.stat().st_size / 1e6:.0f} MB, "
          f"Parquet {parquet.stat().st_size / 1e6:.0f} MB")  # fmt: skip
    for path in (csv, parquet):
        best = min(_timed_read(path)[0] for _ in range(3))
        print(f"  read {path.suffix[1:]:8s} {best:.2f} s (best of 3)")


_CHILD = """
import re, sys
from sim.fit.calllog import read_call_log
hwm = lambda: int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1))
base = hwm()
if sys.argv[1] != "-":
    data = read_call_log(sys.argv[1])
print(base, hwm())
"""


def _peak_kib(path: str) -> tuple[int, int]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, path], env=env, check=True, capture_output=True, text=True
    ).stdout.split()
    return int(out[0]), int(out[1])


def bench_memory(rows: int) -> None:
    """Peak memory at ROWS/4 and ROWS: the slope is the cost of a row, the rest is fixed (the
    reader's read-ahead, thread pools, the allocator's caches)."""
    folder = Path(tempfile.gettempdir())
    small, large = synthetic_log(folder, rows // 4), synthetic_log(folder, rows)
    _, imports = _peak_kib("-")
    print(f"after imports only: {imports / 1024:.0f} MiB peak")
    for k, kind in enumerate(("csv", "parquet")):
        low, high = _peak_kib(str(small[k]))[1], _peak_kib(str(large[k]))[1]
        per_row = (high - low) * 1024 / (rows - rows // 4)
        fixed = (high - imports) / 1024 - per_row * rows / 2**20
        print(f"  {kind:8s} peak {low / 1024:,.0f} MiB at {rows // 4:,} rows, "
              f"{high / 1024:,.0f} MiB at {rows:,}: {per_row:.0f} bytes a row, plus "
              f"{fixed:.0f} MiB fixed")  # fmt: skip


def make_report(folder: Path, days: int = 365) -> tuple[Path, Path]:
    """A year of a 30-minute interval report, two call types, every interval of the day (empty
    ones too), drawn from a fixed seed: Poisson offered calls on an intraday shape."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    csv, parquet = folder / "bench_fit_report.csv", folder / "bench_fit_report.parquet"
    if csv.exists() and parquet.exists():
        return csv, parquet
    rng = np.random.default_rng(5)
    slot = np.tile(np.arange(48), days * 2)
    shape = np.clip(np.sin((slot - 14) / 34 * np.pi), 0, None) * (slot >= 14) * (slot < 48)
    offered = rng.poisson(60 * shape)
    abandoned = rng.binomial(offered, 0.08)
    answered = offered - abandoned
    within = rng.binomial(answered, 0.8)
    start = np.datetime64("2023-01-02T00:00:00") + (
        np.repeat(np.arange(days * 48), 2) * 1800
    ).astype("timedelta64[s]")
    busy = answered > 0
    table = pa.table(
        {
            "start": pa.array(start, pa.timestamp("s")),
            "call_type": pa.array(np.tile(["sales", "support"], days * 48)),
            "offered": offered,
            "answered": answered,
            "abandoned": abandoned,
            "answered_within": within,
            "service_time": np.full(len(offered), 20),
            "handle_time": pa.array(
                np.where(busy, rng.gamma(50, 5, len(offered)), np.nan), from_pandas=True
            ),
            "asa": pa.array(
                np.where(busy, rng.gamma(4, 4, len(offered)), np.nan), from_pandas=True
            ),
            "abandon_wait": pa.array(
                np.where(abandoned > 0, rng.gamma(4, 10, len(offered)), np.nan), from_pandas=True
            ),
            "agents": np.round(offered * 250 / 1800 * 1.2),
        }
    )
    pq.write_table(table, parquet)
    pacsv.write_csv(table.set_column(0, "start", pa.array(start.astype(str))), csv)
    return csv, parquet


def bench_interval_report() -> None:
    from sim.fit.from_intervals import fit_report
    from sim.fit.interval_report import read_interval_report
    from sim.fit.pipeline import FitOptions

    csv, parquet = make_report(Path(tempfile.gettempdir()))
    print(f"interval report, load average before: {os.getloadavg()[0]:.2f}")
    for path in (csv, parquet):
        t0 = time.process_time(), time.perf_counter()
        report = read_interval_report(path)
        t1 = time.process_time(), time.perf_counter()
        result = fit_report(report, FitOptions())
        t2 = time.process_time(), time.perf_counter()
        print(
            f"{path.suffix[1:]:8s} {len(report):,} rows, {result.fit['arrivals']['days']} days: "
            f"read {t1[1] - t0[1]:.2f} s, fit {t2[1] - t1[1]:.2f} s, total {t2[1] - t0[1]:.2f} s "
            f"wall ({t2[0] - t0[0]:.2f} s CPU; target: seconds)"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", action="store_true", help="the one-million-row fit")
    parser.add_argument("--year", action="store_true", help="reading a year of records")
    parser.add_argument("--memory", type=int, metavar="ROWS", help="peak memory of a read")
    parser.add_argument("--report", action="store_true", help="a year of interval reports")
    args = parser.parse_args()
    print(f"cores {os.cpu_count()}, load average before: {os.getloadavg()[0]:.2f}")
    if args.fit:
        bench_fit()
    if args.report:
        bench_interval_report()
    if args.year or not (args.fit or args.memory or args.report):
        bench_year()
    if args.memory:
        bench_memory(args.memory)
    print(f"load average after: {os.getloadavg()[0]:.2f}; this process's peak "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")  # fmt: skip


if __name__ == "__main__":
    main()
