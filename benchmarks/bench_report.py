"""Report benchmark: the CPU time of building ``report.html`` and its figures for one folder.

Builds the report of a results folder (by default one ``sim run scenarios/hotline_baseline.yaml``
produced once into a temporary folder) ``--repeat`` times in this process, after one warm-up
build, and prints the best of them: per figure the CPU time of drawing it (from creating the
figure to handing it to the sink, in this process) and of rendering it (layout, PNG, SVG,
files; measured where it runs, a worker process when rendering in parallel), and in total the
wall time and the CPU time of this process plus its worker processes. Imports are not counted
(``benchmarks/bench_startup.py`` covers them). The load average is printed: on a shared
machine wall time is CPU time stretched by the load.

Usage: ``PYTHONPATH=. python benchmarks/bench_report.py [--folder DIR] [--repeat N]
[--jobs J] [--json]`` (``--jobs 1`` renders serially; default: one process per core).

Measured 2026-12-01 on the shared 2-core machine (load 2.5-2.8, best of 5), ``hotline_baseline``
(11 figures): before (every figure laid out twice, PNG then SVG, in this process) 1.89 s CPU,
1.90 s wall, rendering 0.06-0.21 s per figure (1.57 s in all); now 1.66 s CPU and 1.88 s wall
with ``--jobs 1`` (rendering 1.35 s), 1.61 s CPU and 1.11 s wall with 2 processes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from matplotlib.figure import Figure

from sim.report import drawing
from sim.report.html import build_report

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "hotline_baseline.yaml"


def results_folder(where: Path) -> Path:
    """A results folder of the baseline scenario, made once with ``sim run --no-report``."""
    out = where / "run"
    subprocess.run(
        [sys.executable, "-m", "sim", "run", str(SCENARIO), "--out", str(out), "--no-report"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
        capture_output=True,
    )
    return out


def _cpu() -> float:
    """CPU seconds (user + system) of this process and its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


class _Drawing:
    """Per figure, the CPU time from the figure's creation to ``FigureSink.add`` (drawing) and
    in ``add``; the sinks, whose ``render_s`` holds each figure's rendering CPU time."""

    def __init__(self) -> None:
        self.started = 0.0
        self.draw_s: dict[str, float] = {}
        self.add_s: dict[str, float] = {}
        self.sinks: list = []
        init, add = Figure.__init__, drawing.FigureSink.add

        def timed_init(fig, *a, **kw):
            self.started = time.process_time()
            init(fig, *a, **kw)

        def timed_add(sink, fig, name, title, caption):
            now = time.process_time()
            self.draw_s[name] = now - self.started
            self.sinks.append(sink)
            item = add(sink, fig, name, title, caption)
            self.add_s[name] = time.process_time() - now
            return item

        Figure.__init__ = timed_init  # type: ignore[method-assign]
        drawing.FigureSink.add = timed_add  # type: ignore[method-assign]


def build_once(folder: Path, out: Path, jobs: int | None, timer: _Drawing) -> dict:
    """One build: wall and CPU totals, per-figure drawing and rendering CPU seconds."""
    timer.draw_s, timer.add_s, timer.sinks = {}, {}, []
    cpu, start = _cpu(), time.perf_counter()
    build_report(folder, out, **({} if jobs is None else {"jobs": jobs}))
    wall, cpu = time.perf_counter() - start, _cpu() - cpu
    figures = dict(timer.add_s)  # rendered inside add when serial
    for sink in timer.sinks:
        figures.update(getattr(sink, "render_s", {}))
    per = {n: {"draw_s": timer.draw_s.get(n, 0.0), "render_s": s} for n, s in figures.items()}
    return {"wall_s": wall, "cpu_s": cpu, "figures": per}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, help="a results folder (default: run one)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=None, help="render processes (1: serial)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    timer = _Drawing()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.folder or results_folder(Path(tmp))
        out = Path(tmp) / "report" / "report.html"
        cold = build_once(folder, out, args.jobs, timer)  # first in the process, as `sim run`
        load = os.getloadavg()
        runs = [build_once(folder, out, args.jobs, timer) for _ in range(args.repeat)]
    best = min(runs, key=lambda r: r["cpu_s"])
    names = list(best["figures"])
    result = {
        "jobs": args.jobs,
        "repeat": args.repeat,
        "load_before": load,
        "load_after": os.getloadavg(),
        "cold": {"wall_s": cold["wall_s"], "cpu_s": cold["cpu_s"]},
        "wall_s_best": min(r["wall_s"] for r in runs),
        "cpu_s_best": best["cpu_s"],
        "figures": {
            n: {k: min(r["figures"][n][k] for r in runs) for k in ("draw_s", "render_s")}
            for n in names
        },
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"report of {folder.name}: best of {args.repeat}, jobs={args.jobs or 'auto'}")
    print(f"load average before {load[0]:.2f}, after {result['load_after'][0]:.2f} (2 cores)")
    print(f"{'figure':<28}{'draw CPU s':>12}{'render CPU s':>14}")
    for n, f in result["figures"].items():
        print(f"{n:<28}{f['draw_s']:>12.3f}{f['render_s']:>14.3f}")
    draw = sum(f["draw_s"] for f in result["figures"].values())
    render = sum(f["render_s"] for f in result["figures"].values())
    print(f"{'sum over figures':<28}{draw:>12.3f}{render:>14.3f}")
    print(
        f"whole report: CPU {result['cpu_s_best']:.3f} s (this process + workers), "
        f"wall {result['wall_s_best']:.3f} s"
    )
    print(
        f"first build in the process (fonts, caches; what `sim run` pays): "
        f"CPU {cold['cpu_s']:.3f} s, wall {cold['wall_s']:.3f} s"
    )


if __name__ == "__main__":
    main()
