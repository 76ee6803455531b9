"""Time ``sim fit`` on a one-million-row call log: reading (CSV and Parquet) and the fit before
the calibration simulations. The target is under 30 s for the CSV read plus the fit.

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


if __name__ == "__main__":
    main()
