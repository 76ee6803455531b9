"""One replication: ``simulate(scenario, seed) -> RunResult``.

Builds the SimPy environment and the components in dependency order, each given what it calls
in its constructor (the router's listeners, which close the loop of calls made again, in one
explicit ``connect``); runs to the horizon, freezes the records and computes the KPIs (a run
without records reduces its calls as they end: :class:`_Stream`). No hidden state survives
between runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from sim.kpi import calls as call_figures
from sim.kpi.business import BusinessRecords, business_kpis, daily_table
from sim.kpi.callbacks import callback_kpis
from sim.kpi.calls import CallRecords, call_kpis, interval_table, reduce_calls
from sim.kpi.deferred import EmailRecords, email_kpis
from sim.kpi.outbound import outbound_kpis
from sim.model.back_office import BackOffice
from sim.model.backlog import EmailBacklog, email_types
from sim.model.calendar import Timeline
from sim.model.callbacks import Callbacks
from sim.model.callers import Callers
from sim.model.chats import ChatDesk
from sim.model.contact_center import ContactCenter, Listener, Unresolved
from sim.model.delivery import Delivery
from sim.model.dialer import campaigns
from sim.model.events import ModelEnvironment, run_feeding
from sim.model.redials import Redials
from sim.model.streams import Streams
from sim.records.calls import IN_PROGRESS, RUN_ONLY_COLUMNS, CallLog, Calls
from sim.scenario.schema import Scenario
from sim.scenario.units import DAY

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
    keep_records : keep the per-call records on the result (about 90 bytes a call). Either
        way the KPIs are reduced from the calls in the same blocks of ids
        (:func:`sim.kpi.calls.reduce_calls`), so the figures are the same bit for bit and
        :func:`~sim.kpi.calls.call_kpis` on kept records gives them again. Without (what the
        executors use), blocks are reduced once all their calls have ended, during the run,
        and their rows given back (:meth:`~sim.records.storage.ColumnLog.give_back`;
        ``benchmarks/bench_memory.py``).
    """
    started = time.perf_counter()
    seed = scenario.seed if seed is None else int(seed)
    env = ModelEnvironment()
    streams = Streams(seed, replication)
    calls = CallLog()
    center = ContactCenter(env, scenario, streams, calls)
    chats = ChatDesk.build(env, scenario, calls, center.pool)
    callbacks = (
        Callbacks(env, scenario, streams, calls, center)
        if scenario.routing.callback is not None
        else None
    )
    emails = None
    if email_types(scenario):  # asked after the call queues (and call-backs); round the router
        emails = EmailBacklog(env, scenario, calls, center.pool, center.route_groups)
    door = center.offer if callbacks is None else callbacks.door  # where callers reach the queue
    door = door if emails is None else emails.door(door)  # e-mails go to the backlog
    door = door if chats is None else chats.door(door)  # chats go to the chat desk
    callers = Callers(env, scenario, streams, calls, door)
    redials = Redials(scenario, streams, calls, callers.schedule_call)
    flows = _business_flows(env, scenario, streams, calls, callers.schedule_call)
    handled: list[Listener] = (
        [Unresolved(redials.after_handled)] if redials.unresolved_rule is not None else []
    )
    center.connect(
        redials.after_abandon if redials.abandon_rule is not None else None,
        on_handled=handled,
        by_type=flows.by_type if flows is not None else None,
    )
    if chats is not None:
        chats.connect(center.on_abandoned, center.handled_by_type)
    dialers = campaigns(env, scenario, streams, calls, center.pool, center.factor)
    center.start()
    horizon, warmup = scenario.horizon_s, scenario.warmup
    params = CallRecords(
        calls=Calls({}),
        groups=center.groups,
        present=[],
        scheduled=center.scheduled,
        tiers=list(scenario.customer_tiers),
        call_types=list(scenario.call_types),
        warmup=warmup,
        horizon=horizon,
        within=scenario.service_level_within(),
        disconnects=scenario.routing.at_close == "disconnect",
        channel_of_type=[ct.channel for ct in scenario.call_types.values()],
        slots=center.pool.capacity,
        deferred=tuple(emails.types) if emails is not None else (),
    )
    stream = (
        _Stream(env, calls, center, params, scenario.interval, callers.rows_written)
        if not keep_records and calls.reserved
        else None
    )
    for until, times, ids in callers.first_calls(every=DAY):  # drawn day by day (memory)
        run_feeding(env, until, times, ids, door)
    center.close()

    if stream is None:  # memory: no KPI reads the run-only columns
        drop = () if keep_records else RUN_ONLY_COLUMNS
        frozen = calls.freeze(drop=drop)
        center.derive_ends(frozen)
    else:  # reduced block by block as during the run; no call rows are left
        frozen = Calls({})
    present = [_present_timeline(center, g, horizon) for g in range(len(center.groups))]
    queue = center.mean_queue_length(horizon)
    if chats is not None:
        queue += chats.mean_queue_length(horizon)
    records = replace(params, calls=frozen, present=present, mean_queue_length=queue)
    # once for both tables, block by block as the run without records does
    sums = reduce_calls(records, scenario.interval) if stream is None else stream.finish()
    kpis = call_kpis(records, sums)
    extra: dict = {}
    if dialers:  # counts, not records: numbers dialed and not reached leave no row
        extra["outbound"] = {d.name: d.counts for d in dialers}
        kpis.update(outbound_kpis(extra["outbound"], (horizon - warmup) / DAY))
    callback_rows = callbacks.freeze() if callbacks is not None else None
    if callback_rows is not None:
        stayed = (sums["offered"], sums["answered"], sums["abandoned"])  # in the queue
        kpis.update(callback_kpis(callback_rows, warmup, horizon, *stayed))
        if keep_records:
            extra["callbacks"] = callback_rows  # sim.records.callbacks.CALLBACK_COLUMNS
    if emails is not None:
        kpis.update(email_kpis(_email_records(scenario, emails)))
    intervals = interval_table(records, scenario.interval, scenario.horizon.start_weekday, sums)
    del sums
    business = None
    if flows is not None:
        business = flows.freeze()
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


class _Stream:
    """A run without records: once a simulated day, the blocks of calls (``BLOCK`` ids, in
    order) that have all ended are reduced to KPI sums, exactly as the records path reduces
    them at the end, and their rows given back (:meth:`~sim.records.storage.ColumnLog.give_back`).
    Rows are read only once final: no call of the block is in progress (``IN_PROGRESS``); an
    answered call's row changes no more after the answer."""

    def __init__(
        self,
        env: ModelEnvironment,
        calls: CallLog,
        center: ContactCenter,
        params: CallRecords,
        interval: float,
        written: Callable[[], int],
    ):
        self.env, self.calls, self.center, self.written = env, calls, center, written
        self.params, self.interval = params, interval
        self.done = 0  # rows reduced so far
        self.sums: dict | None = None  # their sums
        env.later(DAY, self._tick)

    def _tick(self, _now: float, _value) -> None:
        size = call_figures.BLOCK
        while self.done + size <= self.written():  # reserved rows not yet drawn read as 0
            block = self.calls.rows(self.done, self.done + size)
            if np.isin(block.outcome, IN_PROGRESS).any():  # not yet arrived, in the IVR, waiting
                break
            self.center.derive_ends(block)
            del block
            self._reduce(self.done + size)
        self.env.later(DAY, self._tick)

    def finish(self) -> dict:
        """The sums of all calls, once the run is over: the calls left (the last blocks, open
        calls among them) reduced a block at a time as during the run, each given back once
        reduced. The columns the reduction does not read go first, after ``derive_ends``."""
        n, size = len(self.calls), call_figures.BLOCK
        self.center.derive_ends(self.calls.rows(self.done, n))
        self.calls.give_back(self.done, n, (*RUN_ONLY_COLUMNS, "handle"))
        self._reduce(min(self.done + size, n))  # at least one block, empty or not
        while self.done < n:
            self._reduce(min(self.done + size, n))
        assert self.sums is not None  # (one block at least)
        return self.sums

    def _reduce(self, stop: int) -> None:
        """Reduce the rows ``done`` to ``stop`` (derived ends) into the sums; give them back."""
        part = replace(self.params, calls=self.calls.rows(self.done, stop))
        size = call_figures.BLOCK
        self.sums = reduce_calls(part, self.interval, block=size, total=self.sums)
        del part
        self.calls.give_back(self.done, stop)
        self.done = stop


class _BusinessFlows:
    """The back office and delivery after the handled calls: listeners by call type, frozen
    records."""

    def __init__(self, env, scenario: Scenario, streams: Streams, calls: CallLog, schedule_call):
        sc = self.sc = scenario
        self.delivery = (
            Delivery(env, sc, streams, calls, schedule_call) if sc.delivery is not None else None
        )
        self.back_office = (
            BackOffice(
                env,
                sc,
                streams,
                calls,
                schedule_call,
                self.delivery.create_order if self.delivery is not None else None,
            )
            if sc.back_office is not None
            else None
        )
        # a listener per call type (None: it creates nothing), for ContactCenter.connect
        takes: dict[str, Listener] = {}  # the schema checks each is modelled
        if self.delivery is not None:
            takes["delivery_order"] = self.delivery.on_handled
        if self.back_office is not None:
            takes.update(self.back_office.intake)
        self.by_type = [takes[ct.creates] if ct.creates else None for ct in sc.call_types.values()]

    def freeze(self) -> BusinessRecords:
        rec = BusinessRecords(self.sc)
        delivery, back_office, work = self.delivery, self.back_office, None
        if delivery is not None:
            rec.orders, rec.attempts = delivery.orders.freeze(), delivery.attempts.freeze()
        if back_office is not None:
            assert self.sc.back_office is not None  # a BackOffice is made only then
            work = self.sc.back_office.work
            rec.leads = back_office.leads.freeze() if work.lead else None
            rec.work_orders = back_office.work_orders.freeze() if work.work_order else None
            rec.tasks = back_office.tasks.freeze()
        return rec


def _business_flows(
    env, scenario: Scenario, streams: Streams, calls: CallLog, schedule_call
) -> _BusinessFlows | None:
    """The back office and delivery fed by the handled calls; None when neither is modelled.

    Both draw only from their own named streams, so a scenario without them runs exactly as
    before.
    """
    if scenario.back_office is None and scenario.delivery is None:
        return None
    return _BusinessFlows(env, scenario, streams, calls, schedule_call)


def _email_records(scenario: Scenario, emails: EmailBacklog) -> EmailRecords:
    target = scenario.targets.get("response_within")
    return EmailRecords(
        emails=emails.log.freeze(),
        call_types=[list(scenario.call_types)[c] for c in emails.types],
        types=emails.types,
        warmup=scenario.warmup,
        horizon=scenario.horizon_s,
        within=target.within if target is not None and target.within is not None else DAY,
    )


def _present_timeline(center: ContactCenter, g: int, horizon: float) -> Timeline:
    log = center.pool.staff_log
    return Timeline(
        np.asarray(log.times[g], dtype=float), np.asarray(log.present[g], dtype=float), horizon
    )
