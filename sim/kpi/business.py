"""Business KPIs: delivery, payment and back-office figures as pure numpy on the records.

Owns every figure about orders, leads and work orders, overall and per day. Knows nothing of
SimPy: hand-made records are enough to test it. A figure with nothing behind it is ``None``.

Choices a planner may question:

- Orders, leads and work orders created during the warm-up are left out of every ratio.
- On time is judged only for items whose promise or deadline falls inside the horizon: an order
  created an hour before the end cannot be late yet, so counting it as not on time would make
  the figure depend on the horizon length. Items without a deadline are never due.
- Day-level figures (``daily``) count each event on the day it happens (cash on the day it is
  collected), for every day after the warm-up.
- Courier-day costs are charged for every working day of a courier channel inside the window,
  whether or not its couriers had work: that is what the payroll pays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.kpi.calls import busy_time, ratio
from sim.model.calendar import Opening, weekday_of
from sim.records.business import LeadState, OrderState, Payment, WorkOrderState
from sim.records.storage import Rows
from sim.scenario.fulfilment_schema import CourierChannel
from sim.scenario.schema import Scenario
from sim.scenario.units import DAY

__all__ = ["BusinessRecords", "business_kpis", "daily_table"]


@dataclass
class BusinessRecords:
    """Frozen records of the business flows of one replication (None where not modelled)."""

    scenario: Scenario
    orders: Rows | None = None
    attempts: Rows | None = None
    leads: Rows | None = None
    work_orders: Rows | None = None
    tasks: Rows | None = None  # back-office staff busy spans

    @property
    def window(self) -> tuple[float, float]:
        return self.scenario.warmup, self.scenario.horizon_s

    @property
    def channels(self) -> list[str]:
        dl = self.scenario.delivery
        return list(dl.channels) if dl is not None else []


def _created(rows: Rows, rec: BusinessRecords) -> np.ndarray:
    lo, hi = rec.window
    return (rows.created >= lo) & (rows.created < hi)


def _day_weights(rec: BusinessRecords) -> np.ndarray:
    """Share of each day inside the window [warm-up, horizon)."""
    lo, hi = rec.window
    starts = np.arange(rec.scenario.horizon.days) * DAY
    return np.clip((np.minimum(starts + DAY, hi) - np.maximum(starts, lo)) / DAY, 0.0, 1.0)


def _courier_day_cost(rec: BusinessRecords, name: str) -> float:
    """What the channel costs by the working day (couriers), over the window."""
    sc = rec.scenario
    assert sc.delivery is not None  # asked only of the channels of a delivery
    ch = sc.delivery.channels[name]
    if ch.cost_per_working_day == 0:
        return 0.0
    worked = np.array([ch.works_on(weekday_of(sc, d)) for d in range(sc.horizon.days)])
    return float(ch.cost_per_working_day * np.sum(_day_weights(rec) * worked))


def _utilisation(
    starts: np.ndarray, ends: np.ndarray, opening: Opening, workers: int, rec: BusinessRecords
) -> float | None:
    """Busy time inside the working hours / (workers x working hours), in the window.

    Work that runs past closing time (an attempt finished after hours) is overtime: it is
    left out of both sides, so the figure stays in [0, 1].
    """
    lo, hi = rec.window
    edges = np.clip(np.ravel(np.column_stack([opening.opens, opening.closes])), lo, hi)
    if len(edges) < 2:
        return None
    busy = float(busy_time(starts, ends, edges)[::2].sum())
    return ratio(busy, workers * float(np.sum(np.diff(edges)[::2])))


def business_kpis(rec: BusinessRecords) -> dict[str, float | None]:
    """The spec's delivery and back-office KPIs, per-channel figures and open counts."""
    k: dict[str, float | None] = {}
    if rec.orders is not None:
        k.update(_order_kpis(rec))
    if rec.leads is not None or rec.work_orders is not None:
        k.update(_back_office_kpis(rec))
    return k


def _order_kpis(rec: BusinessRecords) -> dict[str, float | None]:
    o, a, sc = rec.orders, rec.attempts, rec.scenario
    # called when orders are recorded: the delivery is modelled, its attempts recorded too
    assert o is not None and a is not None and sc.delivery is not None
    lo, hi = rec.window
    days = (hi - lo) / DAY
    promise = sc.delivery.promise
    mine = _created(o, rec)
    delivered = mine & (o.state == OrderState.DELIVERED)
    failed = mine & (o.state == OrderState.FAILED)
    due = mine & (o.created + promise <= hi)
    on_time = due & delivered & (o.closed - o.created <= promise)
    attempted = mine & (o.attempts >= 1)
    collected = (o.state == OrderState.DELIVERED) & (o.closed >= lo) & (o.closed < hi)
    complaint = (o.complaint_at >= lo) & (o.complaint_at < hi)

    def figures(sel: np.ndarray, extra_cost: float) -> dict[str, float | None]:
        closed = sel & (delivered | failed)
        return {
            "delivery_on_time": ratio((on_time & sel).sum(), (due & sel).sum()),
            "delivery_success": ratio((delivered & sel).sum(), closed.sum()),
            "first_attempt_success": ratio(
                (delivered & sel & (o.attempts == 1)).sum(), (attempted & sel).sum()
            ),
            "cost_per_delivery": ratio(o.cost[sel].sum() + extra_cost, (delivered & sel).sum()),
            "attempts_per_order": (float(np.mean(o.attempts[closed])) if closed.any() else None),
        }

    day_costs = {name: _courier_day_cost(rec, name) for name in rec.channels}
    k = figures(mine, sum(day_costs.values()))
    k.update(
        {
            "orders_created": mine.sum() / days,
            "orders_open": float((mine & (o.state == OrderState.OPEN)).sum()),
            "orders_deferred": ratio((mine & (o.deferred > 0)).sum(), mine.sum()),
            "failed_value": float(o.value[failed].sum()) / days,
            "cash_collected": float(o.value[collected & (o.payment == Payment.CASH)].sum()) / days,
            "pos_collected": float(o.value[collected & (o.payment == Payment.POS)].sum()) / days,
            "complaint_calls": complaint.sum() / days,
            "delivery_cost": (float(o.cost[mine].sum()) + sum(day_costs.values())) / days,
        }
    )
    for c, name in enumerate(rec.channels):
        sel = mine & (o.channel == c)
        per = figures(sel, day_costs[name])
        # the order funnel of the channel: per day, and still open at the horizon (a count)
        per["orders_created"] = sel.sum() / days
        per["orders_attempted"] = (attempted & sel).sum() / days
        per["orders_delivered"] = (delivered & sel).sum() / days
        per["orders_failed"] = (failed & sel).sum() / days
        per["orders_open"] = float((sel & (o.state == OrderState.OPEN)).sum())
        ch = sc.delivery.channels[name]
        if ch.crew_size is not None:
            assert isinstance(ch, CourierChannel)  # only couriers are a crew of ours
            spans = a.channel == c
            opening = Opening.from_hours(ch.hours, sc.horizon.start_weekday, sc.horizon.days)
            per["courier_utilisation"] = _utilisation(
                a.start[spans], a.end[spans], opening, ch.crew_size, rec
            )
        for kind in (Payment.CASH, Payment.POS):
            paid = collected & (o.channel == c) & (o.payment == kind)
            per[f"{kind.name.lower()}_collected"] = float(o.value[paid].sum()) / days
        k.update({f"{key}.channel={name}": v for key, v in per.items()})
    return k


def _back_office_kpis(rec: BusinessRecords) -> dict[str, float | None]:
    sc = rec.scenario
    lo, hi = rec.window
    days = (hi - lo) / DAY
    k: dict[str, float | None] = {}
    n_due = n_on_time = 0
    for rows, open_name in ((rec.leads, "leads_open"), (rec.work_orders, "work_orders_open")):
        if rows is None:
            continue
        mine = _created(rows, rec)
        due = mine & (rows.deadline <= hi)
        n_due += int(due.sum())
        ended = rows.state != LeadState.OPEN  # OPEN is 0 for leads and work orders alike
        n_on_time += int((due & ended & (rows.closed <= rows.deadline)).sum())
        k[open_name] = float((mine & ~ended).sum())
    k["back_office_on_time"] = ratio(n_on_time, n_due)
    if rec.leads is not None:
        leads = rec.leads
        mine = _created(leads, rec)
        k["lead_conversion"] = ratio(
            (mine & (leads.state == LeadState.CONVERTED)).sum(), mine.sum()
        )
        k["leads_created"] = mine.sum() / days
        k["lead_contact_rate"] = ratio(
            (mine & ~np.isnan(leads.contact)).sum(), (mine & (leads.state != LeadState.OPEN)).sum()
        )
    if rec.work_orders is not None:
        wo = rec.work_orders
        mine = _created(wo, rec)
        k["work_orders_created"] = mine.sum() / days
        k["work_order_resolution"] = ratio(
            (mine & (wo.state == WorkOrderState.RESOLVED)).sum(),
            (mine & (wo.state != WorkOrderState.OPEN)).sum(),
        )
        started = mine & ~np.isnan(wo.start)
        k["work_order_wait"] = (
            float(np.mean(wo.start[started] - wo.created[started])) if started.any() else None
        )
    bo = sc.back_office
    # leads or work orders are recorded: the back office is modelled, its tasks recorded
    assert bo is not None and rec.tasks is not None
    opening = Opening.from_hours(bo.team.hours, sc.horizon.start_weekday, sc.horizon.days)
    k["back_office_utilisation"] = _utilisation(
        rec.tasks.start, rec.tasks.end, opening, bo.team.staff, rec
    )
    backlog = _backlog(rec)
    k["back_office_backlog"] = float(np.mean(backlog)) if len(backlog) else None
    return k


def _first_day(rec: BusinessRecords) -> int:
    return int(np.ceil(rec.scenario.warmup / DAY - 1e-9))


def _backlog(rec: BusinessRecords) -> np.ndarray:
    """Leads and work orders created but not yet ended at each day's end (after warm-up)."""
    ends = (np.arange(_first_day(rec), rec.scenario.horizon.days) + 1) * DAY
    total = np.zeros(len(ends))
    for rows in (rec.leads, rec.work_orders):
        if rows is not None:
            total += _open_at(rows, ends)
    return total


def _open_at(rows: Rows, ends: np.ndarray) -> np.ndarray:
    """How many rows were created before each of ``ends`` and not closed before it (an open
    row's ``closed`` is NaN): created before it minus created and closed before it, counted on
    sorted copies (O(n log n) time, 8 bytes a row; a days x rows matrix took gigabytes)."""
    closed = np.where(np.isnan(rows.closed), np.inf, rows.closed)
    both = np.maximum(rows.created, closed)  # created and closed before e: both < e
    del closed
    made = np.searchsorted(np.sort(rows.created), ends, side="left")
    return (made - np.searchsorted(np.sort(both), ends, side="left")).astype(float)


def daily_table(rec: BusinessRecords) -> dict[str, np.ndarray]:
    """Per day after the warm-up: flows counted on the day they happen, backlog at day end."""
    sc = rec.scenario
    days, first = sc.horizon.days, _first_day(rec)

    def per_day(times: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        ok = ~np.isnan(times) & (times < days * DAY)
        day = (times[ok] // DAY).astype(np.int64)
        w = None if weights is None else weights[ok]
        return np.bincount(day, weights=w, minlength=days).astype(float)[first:]

    index = np.arange(first, days)
    cols: dict[str, np.ndarray] = {
        "day": index + 1,
        "weekday": np.array([weekday_of(sc, int(d)) for d in index]),
    }
    o = rec.orders
    if o is not None:
        assert sc.delivery is not None  # orders come from the delivery
        delivered = o.state == OrderState.DELIVERED
        failed = o.state == OrderState.FAILED
        nan = np.full(len(o), np.nan)
        cols["orders_created"] = per_day(o.created)
        # on time by the day the order was created, among orders whose promise ended in the run
        due = o.created + sc.delivery.promise <= days * DAY
        on_time = due & delivered & (o.closed - o.created <= sc.delivery.promise)
        with np.errstate(invalid="ignore", divide="ignore"):
            cols["delivery_on_time"] = per_day(np.where(on_time, o.created, nan)) / per_day(
                np.where(due, o.created, nan)
            )
        cols["orders_delivered"] = per_day(np.where(delivered, o.closed, nan))
        cols["orders_failed"] = per_day(np.where(failed, o.closed, nan))
        cols["failed_value"] = per_day(np.where(failed, o.closed, nan), o.value)
        cols["complaint_calls"] = per_day(o.complaint_at)
        cols["orders_open"] = _open_at(o, (index + 1) * DAY)
        for kind in (Payment.CASH, Payment.POS):
            paid = delivered & (o.payment == kind)
            cols[f"{kind.name.lower()}_collected"] = per_day(np.where(paid, o.closed, nan), o.value)
        for c, name in enumerate(rec.channels):
            mine = o.channel == c
            cap = sc.delivery.channels[name].orders_per_day
            dispatched = np.bincount(o.dispatch_day[mine & (o.dispatch_day >= 0)], minlength=days)[
                first:days
            ].astype(float)
            cols[f"dispatched.channel={name}"] = dispatched
            cols[f"capacity_used.channel={name}"] = (
                dispatched / cap if cap > 0 else np.full(len(index), np.nan)
            )
            cols[f"delivered.channel={name}"] = per_day(np.where(delivered & mine, o.closed, nan))
            for kind in (Payment.CASH, Payment.POS):
                paid = delivered & mine & (o.payment == kind)
                cols[f"{kind.name.lower()}_collected.channel={name}"] = per_day(
                    np.where(paid, o.closed, nan), o.value
                )
    if rec.leads is not None:
        leads = rec.leads
        cols["leads_created"] = per_day(leads.created)
        converted = leads.state == LeadState.CONVERTED
        cols["leads_converted"] = per_day(np.where(converted, leads.closed, np.nan))
    if rec.work_orders is not None:
        cols["work_orders_created"] = per_day(rec.work_orders.created)
    if rec.leads is not None or rec.work_orders is not None:
        cols["back_office_backlog"] = _backlog(rec)
        # on time by the day the item was created, among items whose deadline is in the run
        due_per_day, on_time_per_day = np.zeros(len(index)), np.zeros(len(index))
        for rows in (rec.leads, rec.work_orders):
            if rows is None:
                continue
            due = rows.deadline <= days * DAY
            on_time = due & (rows.state != LeadState.OPEN) & (rows.closed <= rows.deadline)
            due_per_day += per_day(np.where(due, rows.created, np.nan))
            on_time_per_day += per_day(np.where(on_time, rows.created, np.nan))
        with np.errstate(invalid="ignore", divide="ignore"):
            cols["back_office_on_time"] = on_time_per_day / due_per_day
    return cols
