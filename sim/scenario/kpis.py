"""The KPI registry: every figure a run reports, with its unit, direction and where it is defined.

Owns the facts about each KPI that more than one layer needs: its name, the unit it is shown in,
whether higher or lower is better, a short description, the README section that defines it and
whether it is a headline KPI (the scenario-format spec's fixed list, the only names a target may
use). It also owns turning a value into text, so that the command line and the HTML report show
the same figure the same way.

Why here, in the lowest layer: targets are validated by the scenario schema, which may import
nothing above ``sim.scenario``; the KPI code, planning, the command line and the report all sit
above it and read this pure data. The code that *computes* the figures stays in ``sim.kpi``.

Adding a KPI: compute it in :mod:`sim.kpi`, add one :class:`Kpi` entry below and one row to the
README table of its section (a test checks both).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "HEADLINE",
    "KPIS",
    "SHOWN",
    "Kpi",
    "Unit",
    "base_name",
    "format_ci",
    "format_value",
    "judge",
    "lookup",
    "unit_label",
    "unit_of",
    "value_range",
]


@dataclass(frozen=True)
class Unit:
    """How a figure is shown: multiplied by ``scale``, followed by ``symbol``.

    ``{currency}`` in the symbol is replaced by the scenario's currency when shown.
    """

    symbol: str
    scale: float = 1.0

    @property
    def is_share(self) -> bool:
        return self.symbol == "%"

    def label(self, currency: str = "money") -> str:
        return self.symbol.format(currency=currency)


SHARE = Unit("%", 100.0)
SECONDS = Unit("s")
MONEY_PER_DAY = Unit("{currency}/day")
NONE = Unit("")


def _per_day(what: str) -> Unit:
    return Unit(f"{what}/day")


Section = Literal["KPIs", "Business KPIs"]


@dataclass(frozen=True)
class Kpi:
    """One KPI of the registry (per-group, per-tier, per-type and per-channel variants named
    ``<name>.<label>=<value>`` share its entry)."""

    name: str
    unit: Unit
    better: Literal["higher", "lower"] | None  # None: neither (a volume, a load)
    section: Section  # README section with the full definition
    description: str  # one line, shown where the name alone may not say enough
    headline: bool = False  # in the spec's fixed list: always shown, may carry a target
    kind_of_work: bool = False  # reported only by scenarios with that work, then shown


_CALLS: Section = "KPIs"
_BUSINESS: Section = "Business KPIs"

# A table, kept as one: each KPI's facts, then what it measures.
# fmt: off
KPIS: tuple[Kpi, ...] = (
    # the spec's fourteen, in the spec's order
    Kpi("offered", _per_day("calls"), None, _CALLS,
        "calls that reached the agent queue (after the IVR) per day", headline=True),
    Kpi("service_level", SHARE, "higher", _CALLS,
        "calls answered within the target's `within` / calls offered", headline=True),
    Kpi("answer_rate", SHARE, "higher", _CALLS,
        "calls answered / calls offered", headline=True),
    Kpi("abandon_rate", SHARE, "lower", _CALLS,
        "calls abandoned / calls offered", headline=True),
    Kpi("asa", SECONDS, "lower", _CALLS,
        "average speed of answer: mean wait of answered calls", headline=True),
    Kpi("mean_wait", SECONDS, "lower", _CALLS,
        "mean wait of all offered calls, abandoned ones included", headline=True),
    Kpi("occupancy", SHARE, None, _CALLS,
        "agent busy time (talk and after-call work) / agent time present", headline=True),
    Kpi("first_contact_resolution", SHARE, "higher", _CALLS,
        "answered calls resolved on that call / calls answered", headline=True),
    Kpi("delivery_on_time", SHARE, "higher", _BUSINESS,
        "orders delivered within the promise / orders due", headline=True),
    Kpi("delivery_success", SHARE, "higher", _BUSINESS,
        "orders delivered / orders closed (delivered or failed)", headline=True),
    Kpi("first_attempt_success", SHARE, "higher", _BUSINESS,
        "orders delivered on their first attempt / orders attempted", headline=True),
    Kpi("cost_per_delivery", Unit("{currency}/delivery"), "lower", _BUSINESS,
        "attempt and courier-day costs / orders delivered", headline=True),
    Kpi("back_office_on_time", SHARE, "higher", _BUSINESS,
        "leads and work orders closed by their deadline / those due", headline=True),
    Kpi("lead_conversion", SHARE, "higher", _BUSINESS,
        "leads that became orders / leads created", headline=True),
    # e-mail (call types of channel email): shown only when a scenario has them
    Kpi("response_time", SECONDS, "lower", _CALLS,
        "e-mails: mean time from arrival to the end of handling (those handled)",
        headline=True),
    Kpi("response_within", SHARE, "higher", _CALLS,
        "e-mails handled within the target's `within` (default 24 h) of arrival / e-mails "
        "due", headline=True),
    Kpi("backlog", Unit("e-mails"), "lower", _CALLS,
        "e-mails open (waiting or in work) at each day's end, mean over days",
        headline=True),
    # more figures
    Kpi("emails", _per_day("e-mails"), None, _CALLS,
        "e-mails arriving per day (not counted in calls or offered)"),
    Kpi("calls", _per_day("calls"), None, _CALLS,
        "calls arriving at the hotline (before the IVR) per day"),
    Kpi("self_service_rate", SHARE, None, _CALLS,
        "calls finished in the IVR / calls"),
    Kpi("open_calls", Unit("calls"), "lower", _CALLS,
        "calls still in the IVR or the queue at the horizon"),
    Kpi("disconnect_rate", SHARE, "lower", _CALLS,
        "calls disconnected at closing time / calls offered (routing.at_close: disconnect)"),
    Kpi("callback_rate", SHARE, None, _CALLS,
        "callers who took a call-back / callers reaching the queue (routing.callback)",
        kind_of_work=True),
    Kpi("callback_wait", SECONDS, "lower", _CALLS,
        "mean time from a call-back's request to reaching the customer",
        kind_of_work=True),
    Kpi("callback_failed", SHARE, "lower", _CALLS,
        "call-backs given up after every attempt / call-backs asked for",
        kind_of_work=True),
    Kpi("open_callbacks", Unit("calls"), "lower", _CALLS,
        "call-backs neither made nor given up at the horizon"),
    Kpi("mean_queue_length", Unit("calls"), "lower", _CALLS,
        "time-average number of calls waiting"),
    Kpi("overtime_hours", _per_day("h"), "lower", _CALLS,
        "agent hours spent finishing calls after shift end, per day"),
    Kpi("agent_hours", _per_day("h"), None, _CALLS,
        "agent hours on the schedule after the warm-up, per day"),
    Kpi("attempts_per_order", Unit("attempts"), "lower", _BUSINESS,
        "mean delivery attempts of closed orders"),
    Kpi("orders_created", _per_day("orders"), None, _BUSINESS,
        "orders created per day"),
    Kpi("orders_attempted", _per_day("orders"), None, _BUSINESS,
        "orders attempted per day"),
    Kpi("orders_delivered", _per_day("orders"), None, _BUSINESS,
        "orders delivered per day"),
    Kpi("orders_failed", _per_day("orders"), "lower", _BUSINESS,
        "orders returned after their last attempt, per day"),
    Kpi("orders_open", Unit("orders"), None, _BUSINESS,
        "orders not yet delivered or returned at the horizon"),
    Kpi("orders_deferred", SHARE, "lower", _BUSINESS,
        "orders that waited a day because their channels were full"),
    Kpi("leads_created", _per_day("leads"), None, _BUSINESS,
        "leads created per day"),
    Kpi("leads_open", Unit("leads"), None, _BUSINESS,
        "leads still open at the horizon"),
    Kpi("work_orders_created", _per_day("work orders"), None, _BUSINESS,
        "work orders created per day"),
    Kpi("work_orders_open", Unit("work orders"), None, _BUSINESS,
        "work orders still open at the horizon"),
    Kpi("cash_collected", MONEY_PER_DAY, None, _BUSINESS,
        "cash collected on delivery per day"),
    Kpi("pos_collected", MONEY_PER_DAY, None, _BUSINESS,
        "card (POS) payments collected on delivery per day"),
    Kpi("failed_value", MONEY_PER_DAY, "lower", _BUSINESS,
        "value of returned orders per day"),
    Kpi("delivery_cost", MONEY_PER_DAY, "lower", _BUSINESS,
        "attempt and courier-day costs per day"),
    Kpi("complaint_calls", _per_day("calls"), "lower", _BUSINESS,
        "complaint calls caused by deliveries per day"),
    Kpi("lead_contact_rate", SHARE, "higher", _BUSINESS,
        "closed leads whose customer was reached / closed leads"),
    Kpi("work_order_resolution", SHARE, "higher", _BUSINESS,
        "work orders resolved / work orders closed"),
    Kpi("work_order_wait", SECONDS, "lower", _BUSINESS,
        "mean time from a work order's creation to a staff member taking it"),
    Kpi("back_office_utilisation", SHARE, None, _BUSINESS,
        "back-office busy time inside hours / staff time on duty"),
    Kpi("back_office_backlog", Unit("items"), "lower", _BUSINESS,
        "leads and work orders open at each day's end, mean over days"),
    Kpi("courier_utilisation", SHARE, None, _BUSINESS,
        "courier busy time inside hours / couriers x hours"),
    # outbound campaigns (only with outbound:)
    Kpi("outbound_dialed", _per_day("calls"), None, _CALLS,
        "numbers the dialers dialed per day", kind_of_work=True),
    Kpi("outbound_reached", _per_day("calls"), None, _CALLS,
        "dialed numbers that reached the right person, per day", kind_of_work=True),
    Kpi("outbound_served", _per_day("calls"), "higher", _CALLS,
        "reached customers an agent talked to, per day", kind_of_work=True),
    Kpi("mismatch_rate", SHARE, "lower", _CALLS,
        "reached customers who hung up before an agent was free / reached",
        kind_of_work=True),
)
# fmt: on

_BY_NAME = {k.name: k for k in KPIS}
HEADLINE: tuple[str, ...] = tuple(k.name for k in KPIS if k.headline)
"""The spec's KPIs in the spec's order: always shown, and the names a target may use."""
SHOWN: tuple[str, ...] = HEADLINE + tuple(k.name for k in KPIS if k.kind_of_work)
"""Shown in the terminal and the report's main table when reported: the headline KPIs and
those of a kind of work the scenario has (call-backs, ...)."""


def base_name(name: str) -> str:
    """``occupancy.group=A`` -> ``occupancy``; a table column ``asa_mean`` is not resolved."""
    return name.split(".", 1)[0]


def lookup(name: str) -> Kpi | None:
    """The registry entry of a KPI or of one of its per-group/tier/type/channel variants."""
    return _BY_NAME.get(base_name(name))


def judge(name: str, difference: float | None) -> str:
    """``better`` or ``worse`` for a change of ``name`` by ``difference``; ``""`` when the KPI
    has no better direction (a volume, a load) or nothing changed."""
    kpi = lookup(name)
    if kpi is None or kpi.better is None or not difference:
        return ""
    return "better" if (difference > 0) == (kpi.better == "higher") else "worse"


def unit_of(name: str) -> Unit:
    """The unit ``name`` is shown in; figures outside the registry are shown as they are."""
    kpi = lookup(name)
    return kpi.unit if kpi is not None else NONE


def value_range(name: str) -> tuple[float, float]:
    """Where a figure can lie, for clamping confidence intervals: shares in [0, 1], every other
    figure the model reports (counts, times, money, agents) at or above 0."""
    return (0.0, 1.0) if unit_of(name).is_share else (0.0, float("inf"))


def format_value(
    value: float | None,
    name: str,
    currency: str = "money",
    signed: bool = False,
    with_unit: bool = True,
) -> str:
    """A KPI value as text in its unit: shares as %, seconds as s, money in ``currency``.

    ``signed`` is for differences: a leading ``+`` and shares in percentage points (pp).
    ``with_unit=False`` leaves the unit out (a table that shows it once, see :func:`unit_label`).
    A missing or non-finite value is ``–``.
    """
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value):
        return "–"
    unit = unit_of(name)
    v = float(value) * unit.scale
    sign = "+" if signed else ""
    if unit.is_share:  # a difference of shares needs the finer digit
        text = f"{v:+.2f}" if signed else f"{v:.1f}"
    else:
        text = f"{v:{sign},.2f}" if abs(v) < 100 else f"{v:{sign},.0f}"
    if text.startswith("-") and not any(c in "123456789" for c in text):
        text = sign + text[1:]  # -0.00: a tiny negative rounded to zero has no sign
    label = unit_label(name, currency, signed)
    if not with_unit or not label:
        return text
    return text + label if label == "%" else f"{text} {label}"


def unit_label(name: str, currency: str = "money", signed: bool = False) -> str:
    """The unit ``name`` is shown in (``pp`` for a difference of shares)."""
    unit = unit_of(name)
    return "pp" if unit.is_share and signed else unit.label(currency)


def format_ci(
    ci: tuple | list | None,
    name: str,
    currency: str = "money",
    signed: bool = False,
    with_unit: bool = True,
) -> str:
    """A confidence interval ``low … high`` in the KPI's unit; ``–`` when there is none."""
    if ci is None or format_value(ci[0], name) == "–":
        return "–"
    low, high = (format_value(v, name, currency, signed, with_unit) for v in ci)
    return f"{low} … {high}"
