"""Startup benchmark: how long light commands take before they answer.

Runs each command (``sim --help``, ``sim erlang`` for Erlang C and Erlang A, ``sim schema``)
in a fresh interpreter several times and prints the median wall time and the median CPU time
(user + system) of the child, with the machine's load average: on a shared machine the wall
time is the CPU time stretched by the load, so both are shown. With ``--imports`` it also prints
the slowest imports of each command from ``python -X importtime``.

Usage: ``PYTHONPATH=. python benchmarks/bench_startup.py [--repeat N] [--imports] [--json]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {
    "sim --help": ["--help"],
    "sim erlang (Erlang C)": ["erlang", "--rate", "200/h", "--aht", "3min", "--agents", "14"],
    "sim erlang (Erlang A)": [
        *("erlang", "--rate", "200/h", "--aht", "3min", "--agents", "14"),
        *("--patience", "2min"),
    ],
    "sim schema": ["schema"],
}
BUDGET_S = 1.0  # the goal for a light command


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def time_once(args: list[str]) -> tuple[float, float]:
    """(wall seconds, child CPU seconds) of ``python -m sim ARGS``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "sim", *args], env=_env(), check=True, capture_output=True
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def slowest_imports(args: list[str], n: int = 8) -> list[tuple[str, float]]:
    """The ``n`` top-level imports with the largest cumulative time, ms."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "sim", *args],
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    rows = []
    for line in out.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\s*)(\S+)", line)
        if m and len(m.group(2)) <= 2:  # top-level and first-level imports
            rows.append((m.group(3), int(m.group(1)) / 1000.0))
    return sorted(rows, key=lambda r: -r[1])[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--imports", action="store_true", help="also list the slowest imports")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    time_once(["--help"])  # warm the file cache
    results = {"load_average": os.getloadavg(), "cpus": os.cpu_count(), "commands": {}}
    for name, argv in COMMANDS.items():
        runs = [time_once(argv) for _ in range(args.repeat)]
        entry = {
            "wall_s": statistics.median(w for w, _ in runs),
            "cpu_s": statistics.median(c for _, c in runs),
        }
        if args.imports:
            entry["slowest_imports_ms"] = slowest_imports(argv)
        results["commands"][name] = entry
    if args.json:
        print(json.dumps(results, indent=2))
        return
    load = ", ".join(f"{x:.1f}" for x in results["load_average"])
    print(f"load average {load} on {results['cpus']} cores; median of {args.repeat} runs")
    print(f"{'command':<24}{'wall':>9}{'cpu':>9}  (budget {BUDGET_S:g} s)")
    for name, e in results["commands"].items():
        print(f"{name:<24}{e['wall_s']:>8.2f}s{e['cpu_s']:>8.2f}s")
        for module, ms in e.get("slowest_imports_ms", []):
            print(f"    {module:<40}{ms:>8.0f} ms")


if __name__ == "__main__":
    main()
