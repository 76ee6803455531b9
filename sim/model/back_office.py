"""The back office: leads followed up by outbound contact attempts, and work orders from complaints.

Owns creating leads and work orders from handled calls, the team's queue (earliest deadline or
FIFO, inside working hours) and each item's end state. Orders from converted leads are handed to
:mod:`sim.model.delivery`; customers who call again go through
:meth:`sim.model.callers.Callers.schedule_call`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from sim.model.calendar import Opening
from sim.model.contact_center import Listener, Unresolved
from sim.model.crew import Crew
from sim.model.events import ModelEnvironment
from sim.model.streams import Streams
from sim.records.business import LeadState, WorkOrderState
from sim.records.calls import CallLog, Origin
from sim.records.storage import NAN, ColumnLog
from sim.scenario.distributions import SMALL_BATCH, draws, uniform_draws
from sim.scenario.schema import Scenario

__all__ = ["LEAD_COLUMNS", "WORK_ORDER_COLUMNS", "BackOffice"]


LEAD_COLUMNS: dict[str, tuple[type, object]] = {
    "created": (float, NAN),  # s, end of the call that registered it
    "customer": (int, 0),
    "tier": (int, 0),
    "deadline": (float, NAN),  # s, created + lead.deadline
    "attempts": (int, 0),  # contact attempts made
    "first_start": (float, NAN),  # s, first attempt begun (the wait in the queue ends)
    "contact": (float, NAN),  # s, when the customer was reached (nan: never)
    "state": (int, 0),  # LeadState
    "closed": (float, NAN),  # s, when it reached its state
    "order": (int, -1),  # delivery order created from it
}

WORK_ORDER_COLUMNS: dict[str, tuple[type, object]] = {
    "created": (float, NAN),  # s, end of the unresolved complaint call
    "customer": (int, 0),
    "tier": (int, 0),
    "call_type": (int, 0),
    "attempt": (int, 0),  # attempt number of the call that created it
    "deadline": (float, NAN),
    "start": (float, NAN),  # s, taken by a staff member
    "state": (int, 0),  # WorkOrderState
    "closed": (float, NAN),
    "called_back": (float, NAN),  # s, when the customer calls again (nan: does not)
}

TASK_COLUMNS: dict[str, tuple[type, object]] = {
    "start": (float, NAN),  # s, one staff member busy from start to end
    "end": (float, NAN),
}

_LEAD, _WORK_ORDER = 0, 1
_CONVERTED, _DECLINED, _UNREACHED = (
    int(s) for s in (LeadState.CONVERTED, LeadState.DECLINED, LeadState.UNREACHED)
)
_RESOLVED, _UNRESOLVED = int(WorkOrderState.RESOLVED), int(WorkOrderState.UNRESOLVED)


def _deadline(spec) -> float:
    """A kind of work's deadline in seconds; inf when it has none (never due)."""
    return math.inf if spec is None or spec.deadline is None else spec.deadline


class BackOffice:
    """Leads and work orders in one queue worked by ``team.staff`` people in ``team.hours``.

    ``create_order(at, customer, tier, source)`` is the delivery's order intake, so that a
    converted lead becomes an order without this module knowing delivery; it is required when
    converted leads create orders (``lead.creates: delivery_order``).
    """

    def __init__(
        self,
        env: ModelEnvironment,
        scenario: Scenario,
        streams: Streams,
        calls: CallLog,
        schedule_call: Callable,
        create_order: Callable | None,
    ):
        bo = scenario.back_office
        assert bo is not None
        self.env, self.sc, self.calls, self.schedule_call = env, scenario, calls, schedule_call
        self.horizon = scenario.horizon_s
        lead = bo.work.lead
        if lead is not None and lead.creates == "delivery_order" and create_order is None:
            raise ValueError("converted leads create orders: BackOffice needs create_order")
        self.create_order = create_order
        self.lead_spec, self.wo_spec = bo.work.lead, bo.work.work_order
        self.edf = bo.discipline == "earliest_deadline"
        self._lead_deadline = _deadline(self.lead_spec)
        self._wo_deadline = _deadline(self.wo_spec)
        self.leads, self.work_orders = ColumnLog(LEAD_COLUMNS), ColumnLog(WORK_ORDER_COLUMNS)
        self.tasks = ColumnLog(TASK_COLUMNS)
        self._add_lead = self.leads.appender("created", "customer", "tier", "deadline")
        wo = ("created", "customer", "tier", "call_type", "attempt", "deadline")
        self._add_work_order = self.work_orders.appender(*wo)
        self._add_task = self.tasks.appender("start", "end")
        # what a handled call of a type that `creates` each kind does here (a lead call
        # registers a lead, an unresolved complaint opens a work order, both at the end of the
        # talk and only inside the horizon); the flows' listener dispatches by call type
        self.intake: dict[str, Listener] = {
            "lead": self._lead_call,
            "work_order": Unresolved(self._complaint_call),
        }
        self.opening = Opening.from_hours(
            bo.team.hours, scenario.horizon.start_weekday, scenario.horizon.days
        )
        self.crew = Crew(
            env, bo.team.staff, self.opening, self._work, self._done, scenario.horizon_s
        )
        self._contact_u, self._convert_u, self._resolve_u, self._call_back_u = (
            uniform_draws(streams(f"back_office.{k}"))
            for k in ("contact", "convert", "resolve", "call_back")
        )
        self._handle = {}
        if self.lead_spec is not None:
            self._handle[_LEAD] = draws(
                self.lead_spec.handle_time, streams("back_office.lead.handle"), SMALL_BATCH
            )
        if self.wo_spec is not None:
            self._handle[_WORK_ORDER] = draws(
                self.wo_spec.handle_time, streams("back_office.work_order.handle"), SMALL_BATCH
            )
            rule = self.wo_spec.call_back or scenario.redial.after_unresolved
            self.call_back = rule
            if rule is not None:
                self._call_back_delay = draws(
                    rule.delay, streams("back_office.call_back.delay"), SMALL_BATCH
                )

    # --- intake -------------------------------------------------------------------------------

    def _lead_call(self, cid: int, at: float) -> None:
        if at >= self.horizon:
            return
        calls = self.calls
        deadline = at + self._lead_deadline
        item = self._add_lead(at, calls.customer[cid], calls.tier[cid], deadline)
        self.crew.submit((_LEAD, item), deadline if self.edf else at, at)

    def _complaint_call(self, cid: int, at: float) -> None:
        calls = self.calls
        if calls.resolved[cid] or at >= self.horizon:
            return
        deadline = at + self._wo_deadline
        item = self._add_work_order(
            at,
            calls.customer[cid],
            calls.tier[cid],
            calls.call_type[cid],
            calls.attempt[cid],
            deadline,
        )
        self.crew.submit((_WORK_ORDER, item), deadline if self.edf else at, at)

    # --- the work -----------------------------------------------------------------------------

    def _work(self, task: tuple[int, int], now: float) -> float:
        kind, item = task
        duration = self._handle[kind]()
        self._add_task(now, now + duration)
        if kind == _LEAD:
            leads = self.leads
            leads.attempts[item] += 1
            if leads.attempts[item] == 1:
                leads.first_start[item] = now
        else:
            self.work_orders.start[item] = now
        return duration

    def _done(self, task: tuple[int, int], now: float) -> None:
        kind, item = task
        if kind == _LEAD:
            self._lead_attempt_done(item, now)
        else:
            self._work_order_done(item, now)

    def _lead_attempt_done(self, item: int, now: float) -> None:
        """One contact attempt ended: reached (then bought or not), or try again later."""
        leads, spec = self.leads, self.lead_spec
        assert spec is not None  # lead tasks exist only when leads are modelled
        if self._contact_u() < spec.contact_success:
            leads.contact[item] = now
            # the appetite fades while the lead waits: halves every half_life
            chance = spec.conversion.initial * 0.5 ** (
                (now - leads.created[item]) / spec.conversion.half_life
            )
            if self._convert_u() < chance:
                leads.state[item] = _CONVERTED
                if spec.creates == "delivery_order":
                    assert self.create_order is not None  # required then, see __init__
                    leads.order[item] = self.create_order(
                        now, leads.customer[item], leads.tier[item], "lead"
                    )
            else:
                leads.state[item] = _DECLINED
            leads.closed[item] = now
        elif leads.attempts[item] < spec.max_attempts:
            at = now + spec.retry_delay  # EDF: by deadline; FIFO: by the time it joins again
            self.crew.submit((_LEAD, item), leads.deadline[item] if self.edf else at, at)
        else:
            leads.state[item] = _UNREACHED
            leads.closed[item] = now

    def _work_order_done(self, item: int, now: float) -> None:
        wo, spec = self.work_orders, self.wo_spec
        assert spec is not None  # work-order tasks exist only when work orders are modelled
        wo.closed[item] = now
        if self._resolve_u() < spec.resolution:
            wo.state[item] = _RESOLVED
            return
        wo.state[item] = _UNRESOLVED
        rule = self.call_back
        if rule is not None and self._call_back_u() < rule.probability:
            at = now + self._call_back_delay()
            wo.called_back[item] = at
            self.schedule_call(
                at,
                wo.customer[item],
                wo.tier[item],
                wo.call_type[item],
                wo.attempt[item] + 1,
                Origin.WORK_ORDER_UNRESOLVED,
            )
