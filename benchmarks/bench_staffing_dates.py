"""Time ``sim staff`` on a forecast's dated scenario: 2 weeks at 30 minutes planned per date
(14 dates x 48 intervals, one group), the fresh-seed check and report included.

The scenario is ``sim forecast``'s on tests/forecast_synth.py's generated year (about 2,000
calls a normal day, a Monday holiday in the horizon). Prints sim staff's wall and CPU seconds,
the largest resident memory of the two runs (forecast and staff), and the load average.
Run: ``PYTHONPATH=. python benchmarks/bench_staffing_dates.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from forecast_synth import make_history


def sim(*args: str) -> tuple[float, float, float]:
    """(wall s, CPU s, largest resident MB of any child so far) of ``sim args``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sim", *args], check=True, capture_output=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu, after.ru_maxrss / 1024


def main() -> None:
    syn = make_history(days=364)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        report = syn.interval_report(folder / "report.csv")
        special = syn.special_days_csv(folder / "special.csv", extra=[dt.date(2026, 1, 5)])
        sim("forecast", str(report), "--special-days", str(special), "--horizon", "2w",
            "--out", str(folder / "fc"), "--quiet", "--no-report")  # fmt: skip
        wall, cpu, rss = sim("staff", str(folder / "fc" / "scenario.yaml"), "--out",
                             str(folder / "st"), "--quiet", "--workers", "1")  # fmt: skip
        data = json.loads((folder / "st" / "staffing.json").read_text())
        hours = data["agent_hours_per_day"]
        print(f"sim staff per date: {len(hours)} dates, {data['slots']} slots, "
              f"{len(data['day_types'])} day types")  # fmt: skip
        print(f"{wall:.1f} s wall, {cpu:.1f} s CPU, {rss:.0f} MB resident at most "
              f"(load average {os.getloadavg()[0]:.1f})")  # fmt: skip
        print(f"agent-hours per day: {json.dumps(hours)}")
        print(f"fresh seeds: {json.dumps(data['fresh_seed_check'])}")


if __name__ == "__main__":
    main()
