"""One replication: ``simulate(scenario, seed) -> RunResult``.

Builds the SimPy environment, wires the components (callers, contact center), runs to the
horizon, freezes the records and computes the KPIs. No hidden state survives between runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import simpy

from sim.arrivals import Callers
from sim.calendar import Timeline
from sim.contact_center import ContactCenter
from sim.events import call_later, run_feeding
from sim.kpi import CallRecords, call_kpis, interval_table
from sim.records import CallLog
from sim.scenario import Scenario
from sim.streams import Streams

__all__ = ["RunResult", "simulate"]


@dataclass
class RunResult:
    """Everything one replication produced.

    ``kpis`` maps KPI name to a float, or None where nothing is behind the figure; ``intervals``
    holds equal-length columns per day x interval; ``records`` the raw facts (None when the run
    was asked not to keep them, e.g. inside large experiments).
    """

    scenario: Scenario
    seed: int
    replication: int
    kpis: dict[str, float | None]
    intervals: dict[str, np.ndarray]
    records: CallRecords | None = None
    elapsed_s: float = 0.0
    extra: dict = field(default_factory=dict)

    def without_records(self) -> RunResult:
        """A light copy to ship between processes."""
        return RunResult(self.scenario, self.seed, self.replication, self.kpis, self.intervals,
                         None, self.elapsed_s, self.extra)


def simulate(scenario: Scenario, seed: int | None = None, replication: int = 0,
             keep_records: bool = True) -> RunResult:
    """Run one replication of ``scenario``.

    Parameters
    ----------
    scenario : a validated :class:`~sim.scenario.Scenario`.
    seed : root seed; default ``scenario.seed``.
    replication : index of the replication; with the seed it names every random stream, so
        replication ``i`` of two scenarios sees the same callers (common random numbers).
    keep_records : keep the per-call records on the result (memory: ~150 bytes per call).
    """
    started = time.perf_counter()
    seed = scenario.seed if seed is None else int(seed)
    env = simpy.Environment()
    streams = Streams(seed, replication)
    calls = CallLog()
    callers = Callers(env, scenario, streams, calls)
    center = ContactCenter(env, scenario, streams, calls, callers.schedule_call)
    callers.offer = center.offer
    center.start()
    callers.generate()
    warm_area = {"area": 0.0}
    horizon, warmup = scenario.horizon_s, scenario.warmup
    if warmup > 0:
        def snapshot(_event):
            center._count_waiting(0)
            warm_area["area"] = center.wait_area
        call_later(env, warmup, snapshot)
    run_feeding(env, horizon, callers.feed_times, callers.feed_ids, center.offer)
    center.close(horizon)

    present = [_present_timeline(center, g, horizon) for g in range(len(center.groups))]
    records = CallRecords(
        calls=calls.freeze(),
        groups=center.groups,
        present=present,
        scheduled=center.scheduled,
        tiers=list(scenario.customer_tiers),
        call_types=list(scenario.call_types),
        warmup=warmup,
        horizon=horizon,
        within=scenario.service_level_within(),
        mean_queue_length=(center.wait_area - warm_area["area"]) / (horizon - warmup),
    )
    kpis = call_kpis(records)
    intervals = interval_table(records, scenario.interval, scenario.horizon.start_weekday)
    return RunResult(scenario, seed, replication, kpis, intervals,
                     records if keep_records else None, time.perf_counter() - started)


def _present_timeline(center: ContactCenter, g: int, horizon: float) -> Timeline:
    log = center.staff_log
    return Timeline(np.asarray(log.times[g], dtype=float), np.asarray(log.present[g], dtype=float),
                    horizon)
