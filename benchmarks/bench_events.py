"""Does the public SimPy API cost more than reaching into ``env._queue``?

Times (CPU, best of ``--repeat``, the implementations interleaved) a run of an M/M/c-like
event pattern: ``--arrivals`` arrivals fed from sorted arrays, each scheduling one follow-up
event after a random delay, through

- ``private``: the former helpers (``heappush`` onto ``env._queue`` with ``next(env._eid)``,
  and a feeding loop that sets ``env._now``);
- ``public``: :func:`sim.model.events.call_later` (``env.schedule``) and
  :func:`sim.model.events.run_feeding` (``env.peek``, ``env.step``, one write of the clock);
- ``all arrivals as events``: every arrival scheduled up front with ``call_later`` (no internals at
  all, but a heap as large as the horizon; one event rescheduled from arrival to arrival made the
  whole model 1.47x slower on M/M/50+M when measured during this change).

Usage: ``PYTHONPATH=. python benchmarks/bench_events.py [--arrivals 300000] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import time
from heapq import heappush
from pathlib import Path

import numpy as np
import simpy
from simpy.core import NORMAL

from sim.model.events import call_later, run_feeding


class _Event:
    """The event object of the former helper (as ``call_later`` makes them)."""

    __slots__ = ("callbacks", "value")
    _ok = True

    def __init__(self, fn, value):
        self.callbacks, self.value = [fn], value


def _private_call_later(env, delay, fn, value=None):
    heappush(env._queue, (env._now + delay, NORMAL, next(env._eid), _Event(fn, value)))


def _private_feeding(env, until, times, items, feed):
    queue, step = env._queue, env.step
    for t, item in zip(times, items, strict=True):
        if t >= until:
            break
        while queue and queue[0][0] <= t:
            step()
        env._now = t
        feed(item)
    if env.now < until:
        env.run(until=until)


def run(kind: str, times: np.ndarray, delays: list[float]) -> tuple[float, int]:
    env = simpy.Environment()
    done = [0]

    def finish(_event):
        done[0] += 1

    later = _private_call_later if kind == "private" else call_later

    def feed(i):
        later(env, delays[i], finish, i)

    until = float(times[-1]) + 1e6
    items = np.arange(len(times))
    started = time.process_time()
    if kind == "public":
        run_feeding(env, until, times, items, feed)
    elif kind == "private":
        _private_feeding(env, until, times.tolist(), items.tolist(), feed)
    else:
        for t, i in zip(times.tolist(), items.tolist(), strict=True):
            call_later(env, t, lambda event: feed(event.value), i)
        env.run(until=until)
    return time.process_time() - started, done[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arrivals", type=int, default=300_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    times = np.cumsum(rng.exponential(3.75, args.arrivals))
    delays = rng.exponential(180.0, args.arrivals).tolist()
    best = dict.fromkeys(("private", "public", "all arrivals as events"), float("inf"))
    for _ in range(args.repeat):
        for kind in best:  # interleaved: both see the same machine load
            seconds, n = run(kind, times, delays)
            assert n == args.arrivals
            best[kind] = min(best[kind], seconds)
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else "?"
    print(f"{args.arrivals} arrivals + {args.arrivals} events, CPU s best of {args.repeat}")
    print(f"load average {' '.join(load)}")
    for kind, s in best.items():
        ratio = s / best["private"]
        print(f"{kind:18} {s:7.3f} s  {s / args.arrivals * 1e6:6.2f} us/arrival  {ratio:.3f}x")


if __name__ == "__main__":
    main()
