"""One replication: ``simulate(scenario, seed) -> RunResult``.

Builds the SimPy environment, wires the components (callers, contact center), runs to the
horizon, freezes the records and computes the KPIs. No hidden state survives between runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import simpy

from sim.kpi.business import BusinessRecords, business_kpis, daily_table
from sim.kpi.calls import CallRecords, call_kpis, call_masks, interval_table
from sim.model.back_office import BackOffice
from sim.model.calendar import Timeline
from sim.model.callers import Callers
from sim.model.contact_center import ContactCenter
from sim.model.delivery import Delivery
from sim.model.events import call_later, run_feeding
from sim.model.records import CallLog
from sim.model.streams import Streams
from sim.scenario.schema import Scenario

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
    business: BusinessRecords | None = None  # orders, leads, work orders (with keep_records)

    def without_records(self) -> RunResult:
        """A light copy to ship between processes."""
        return RunResult(
            self.scenario,
            self.seed,
            self.replication,
            self.kpis,
            self.intervals,
            None,
            self.elapsed_s,
            self.extra,
        )


def simulate(
    scenario: Scenario, seed: int | None = None, replication: int = 0, keep_records: bool = True
) -> RunResult:
    """Run one replication of ``scenario``.

    Parameters
    ----------
    scenario : a validated :class:`~sim.scenario.schema.Scenario`.
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
    flows = _business_flows(env, scenario, streams, calls, callers, center)
    center.start()
    callers.generate()
    warm_area = {"area": 0.0}
    horizon, warmup = scenario.horizon_s, scenario.warmup
    if warmup > 0:

        def snapshot(_event):
            center._count_waiting(0)
            warm_area["area"] = center.wait_area

        call_later(env, warmup, snapshot)
    run_feeding(env, horizon, *callers.take_feed(), center.offer)
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
    masks = call_masks(records)  # once for both tables
    kpis = call_kpis(records, masks)
    intervals = interval_table(records, scenario.interval, scenario.horizon.start_weekday, masks)
    del masks
    extra, business = {}, None
    if flows is not None:
        business = flows()
        kpis.update(business_kpis(business))
        extra["daily"] = daily_table(business)
    return RunResult(
        scenario,
        seed,
        replication,
        kpis,
        intervals,
        records if keep_records else None,
        time.perf_counter() - started,
        extra,
        business if keep_records else None,
    )


def _business_flows(
    env,
    scenario: Scenario,
    streams: Streams,
    calls: CallLog,
    callers: Callers,
    center: ContactCenter,
):
    """Wire the back office and delivery to the handled calls; None when neither is modelled.

    Returns a function that freezes their records after the run. Both draw only from their own
    named streams, so a scenario without them runs exactly as before.
    """
    sc = scenario
    back_office = (
        BackOffice(env, sc, streams, calls, callers.schedule_call)
        if sc.back_office is not None
        else None
    )
    delivery = (
        Delivery(env, sc, streams, calls, callers.schedule_call)
        if sc.delivery is not None
        else None
    )
    if back_office is None and delivery is None:
        return None
    if back_office is not None and delivery is not None:
        back_office.create_order = delivery.create_order
    # one listener; call types that create nothing cost a list lookup
    takes = {"delivery_order": delivery, "lead": back_office, "work_order": back_office}
    by_type = [
        takes[ct.creates].on_handled if ct.creates else None for ct in sc.call_types.values()
    ]
    call_type = calls.call_type

    def on_handled(cid: int, at: float) -> None:
        handler = by_type[call_type[cid]]
        if handler is not None:
            handler(cid, at)

    center.on_handled.append(on_handled)

    def freeze() -> BusinessRecords:
        rec = BusinessRecords(sc)
        if delivery is not None:
            rec.orders, rec.attempts = delivery.orders.freeze(), delivery.attempts.freeze()
        if back_office is not None:
            rec.leads = back_office.leads.freeze() if sc.back_office.work.lead else None
            rec.work_orders = (
                back_office.work_orders.freeze() if sc.back_office.work.work_order else None
            )
            rec.tasks = back_office.tasks.freeze()
        return rec

    return freeze


def _present_timeline(center: ContactCenter, g: int, horizon: float) -> Timeline:
    log = center.staff_log
    return Timeline(
        np.asarray(log.times[g], dtype=float), np.asarray(log.present[g], dtype=float), horizon
    )
