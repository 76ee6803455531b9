"""Time ``sim forecast`` on a year of 30-minute history forecast 2 weeks ahead, back-test (8
origins, every method) and report included. The target is under 30 s.

The history is tests/forecast_synth.py's generated year (two call types, holidays, a gap),
written as an interval report and as a call log (about 700,000 calls) in a temporary folder.
Run: ``PYTHONPATH=. python benchmarks/bench_forecast.py``.
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from forecast_synth import make_history


def call_log(syn, path: Path) -> Path:
    """One row per call at a random second of its interval, all answered."""
    rng = np.random.default_rng(5)
    d, k, t = np.nonzero(syn.counts)
    n = syn.counts[d, k, t].astype(np.int64)
    d, k, t = np.repeat(d, n), np.repeat(k, n), np.repeat(t, n)
    base = np.datetime64(syn.first_day, "s")
    stamps = base + (d * 86400 + k * syn.interval + rng.integers(0, syn.interval, len(d))).astype(
        "timedelta64[s]"
    )
    order = np.argsort(stamps, kind="stable")
    names = np.array(syn.types)[t[order]]
    text = np.char.add(np.datetime_as_string(stamps[order], unit="s"), ",answered,0,120,")
    path.write_text(
        "arrival,outcome,wait,handle_time,call_type\n" + "\n".join(np.char.add(text, names)) + "\n"
    )
    return path


def timed(args: list[str]) -> tuple[float, float]:
    """(wall s, CPU s of the child) of ``sim forecast args``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "sim", "forecast", *args], check=True, capture_output=True
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu


def main() -> None:
    syn = make_history(days=364)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        report = syn.interval_report(folder / "report.csv")
        log = call_log(syn, folder / "calls.csv")
        special = syn.special_days_csv(folder / "special.csv", extra=[dt.date(2026, 1, 12)])
        calls = int(syn.counts.sum())
        print(f"history: 364 days, {calls:,} calls, 30-minute intervals, 2 call types")
        for name, path in (("interval report", report), ("call log", log)):
            wall, cpu = timed(
                [str(path), "--special-days", str(special), "--horizon", "2w",
                 "--out", str(folder / f"out-{path.stem}"), "--quiet", "--workers", "1"]
            )  # fmt: skip
            load = os.getloadavg()[0]
            print(f"{name}: {wall:.1f} s wall, {cpu:.1f} s CPU (load average {load:.1f})")


if __name__ == "__main__":
    main()
