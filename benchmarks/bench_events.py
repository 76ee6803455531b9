"""What a call event costs on the model's agenda, on SimPy's queue through the model, and on
plain SimPy.

Times (CPU, best of ``--repeat``, the kinds interleaved) a run of an M/M/c-like event pattern:
``--arrivals`` arrivals fed from sorted arrays, each scheduling one follow-up event after a
random delay, through

- ``agenda``: :meth:`ModelEnvironment.later` (the router's and the callers' events) and
  :meth:`ModelEnvironment.run_feeding`;
- ``SimPy in the model``: a SimPy ``Timeout`` on the same environment (what a SimPy process
  running in the model costs per event: SimPy's queue, a sentinel on the agenda, SimPy's step);
- ``plain SimPy``: a ``simpy.Environment``, each follow-up a slotted event handed to
  ``Environment.schedule``, each arrival a slotted event scheduled up front (the public API
  alone, no clock written; a heap as large as the horizon).

Usage: ``PYTHONPATH=. python benchmarks/bench_events.py [--arrivals 300000] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import simpy
from simpy.core import NORMAL

from sim.model.events import ModelEnvironment


class _Event:
    """A triggered slotted event running one callback (the least SimPy's ``step`` accepts)."""

    __slots__ = ("callbacks", "value")
    _ok = True

    def __init__(self, fn, value):
        self.callbacks, self.value = [fn], value


def run(kind: str, times: np.ndarray, delays: list[float]) -> tuple[float, int]:
    done = [0]
    until = float(times[-1]) + 1e6
    items = np.arange(len(times))
    if kind == "plain SimPy":
        env = simpy.Environment()

        def finish(_event):
            done[0] += 1

        def arrive(event):
            env.schedule(_Event(finish, None), NORMAL, delays[event.value])

        started = time.process_time()
        for t, i in zip(times.tolist(), items.tolist(), strict=True):
            env.schedule(_Event(arrive, i), NORMAL, t)
        env.run(until=until)
        return time.process_time() - started, done[0]

    env = ModelEnvironment()
    if kind == "agenda":

        def finish_at(_at, _value):
            done[0] += 1

        def feed(_t, i):
            env.later(delays[i], finish_at, i)
    else:

        def finish(_event):
            done[0] += 1

        def feed(_t, i):
            env.timeout(delays[i], i).callbacks.append(finish)

    started = time.process_time()
    env.run_feeding(until, times, items, feed)
    return time.process_time() - started, done[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arrivals", type=int, default=300_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    times = np.cumsum(rng.exponential(3.75, args.arrivals))
    delays = rng.exponential(180.0, args.arrivals).tolist()
    best = dict.fromkeys(("agenda", "SimPy in the model", "plain SimPy"), float("inf"))
    for _ in range(args.repeat):
        for kind in best:  # interleaved: all see the same machine load
            seconds, n = run(kind, times, delays)
            assert n == args.arrivals
            best[kind] = min(best[kind], seconds)
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else "?"
    print(f"{args.arrivals} arrivals + {args.arrivals} events, CPU s best of {args.repeat}")
    print(f"load average {' '.join(load)}")
    for kind, s in best.items():
        ratio = s / best["agenda"]
        print(f"{kind:18} {s:7.3f} s  {s / args.arrivals * 1e6:6.2f} us/arrival  {ratio:.3f}x")


if __name__ == "__main__":
    main()
