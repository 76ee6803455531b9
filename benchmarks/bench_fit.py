"""Time ``sim fit`` on a one-million-row call log: reading (CSV and Parquet) and the fit before
the calibration simulations. The target is under 30 s for the CSV read plus the fit.
Also a year of 30-minute interval reports (two call types, 35,040 rows): read and fitted in
seconds (:func:`bench_interval_report`).

The log is the call log of tests/scenarios/fit_truth.yaml scaled 45 times (volume and staffing),
simulated once and cached in the temporary folder.
Run: ``PYTHONPATH=. python benchmarks/bench_fit.py``.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from sim.model.call_log import call_log_table, encode_call_log
from sim.model.simulation import simulate
from sim.planning.fit.pipeline import FitOptions, fit_log
from sim.scenario.calllog import read_call_log
from sim.scenario.schema import scenario_from_dict
from sim.scenario.yamlsource import load_yaml

SCALE = 45
TRUTH = Path(__file__).resolve().parent.parent / "tests" / "scenarios" / "fit_truth.yaml"


def scaled_scenario():
    data, _ = load_yaml(TRUTH)
    data["arrivals"]["daily_volume"] *= SCALE
    for plan in data["agents"]["groups"]["team"]["staffing"].values():
        for clock in plan:
            plan[clock] = round(plan[clock] * SCALE * 0.95)
    return scenario_from_dict(data)


def make_log(folder: Path) -> tuple[Path, Path]:
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


def main() -> None:
    csv, parquet = make_log(Path(tempfile.gettempdir()))
    print(f"cores {os.cpu_count()}, load average before: {os.getloadavg()[0]:.2f}")
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
    print(f"load average after: {os.getloadavg()[0]:.2f}")


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
    from sim.planning.fit.from_intervals import fit_report
    from sim.scenario.interval_report import read_interval_report

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


if __name__ == "__main__":
    import sys

    if "--report-only" not in sys.argv:
        main()
    bench_interval_report()
