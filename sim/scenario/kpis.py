"""The KPI registry: every figure a run reports, with its unit, direction and where it is defined.

Owns the facts about each KPI that more than one layer needs: its name, the unit it is shown in,
whether higher or lower is better, a short description, the README section that defines it and
whether it is a headline KPI (the scenario-format spec's fixed list, the only names a target may
use). It also owns turning a value into text, so that the command line and the HTML report show
the same figure the same way.

Why here, in the lowest layer: targets are validated by the scenario schema, which may import
nothing above ``sim.scenario``; the KPI code, planning, the command line and the report all sit
above it and read this pure data. The code that *computes* the figures stays in ``sim.kpi``.

Adding a KPI: compute it in :mod:`sim.kpi`, add one :class:`Kpi` line below, one row to the
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
    "Kpi",
    "Unit",
    "base_name",
    "format_ci",
    "format_value",
    "judge",
    "lookup",
    "unit_label",
    "unit_of",
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


@dataclass(frozen=True)
class Kpi:
    """One KPI of the registry (per-group, per-tier, per-type and per-channel variants named
    ``<name>.<label>=<value>`` share its entry)."""

    name: str
    unit: Unit
    better: Literal["higher", "lower"] | None  # None: neither (a volume, a load)
    description: str
    section: Literal["KPIs", "Business KPIs"]  # README section with the full definition
    headline: bool = False  # in the spec's fixed list: always shown, may carry a target


_CALLS, _BUSINESS = "KPIs", "Business KPIs"

KPIS: tuple[Kpi, ...] = (
    # the spec's fourteen, in the spec's order
    Kpi("offered", _per_day("calls"), None, "calls that reached the agent queue", _CALLS, True),
    Kpi("service_level", SHARE, "higher", "answered within `within` / offered", _CALLS, True),
    Kpi("answer_rate", SHARE, "higher", "answered / offered", _CALLS, True),
    Kpi("abandon_rate", SHARE, "lower", "abandoned / offered", _CALLS, True),
    Kpi("asa", SECONDS, "lower", "mean wait of answered calls", _CALLS, True),
    Kpi("mean_wait", SECONDS, "lower", "mean wait of all offered calls", _CALLS, True),
    Kpi("occupancy", SHARE, None, "agent busy time / agent time present", _CALLS, True),
    Kpi("first_contact_resolution", SHARE, "higher", "resolved on the call", _CALLS, True),
    Kpi("delivery_on_time", SHARE, "higher", "delivered within the promise", _BUSINESS, True),
    Kpi("delivery_success", SHARE, "higher", "delivered / closed orders", _BUSINESS, True),
    Kpi("first_attempt_success", SHARE, "higher", "delivered at once", _BUSINESS, True),
    Kpi(
        "cost_per_delivery",
        Unit("{currency}/delivery"),
        "lower",
        "delivery cost / orders delivered",
        _BUSINESS,
        True,
    ),
    Kpi("back_office_on_time", SHARE, "higher", "closed by their deadline", _BUSINESS, True),
    Kpi("lead_conversion", SHARE, "higher", "leads that became orders", _BUSINESS, True),
    # more call figures
    Kpi("calls", _per_day("calls"), None, "calls arriving at the hotline", _CALLS),
    Kpi("self_service_rate", SHARE, None, "calls finished in the IVR", _CALLS),
    Kpi("open_calls", Unit("calls"), "lower", "calls still open at the horizon", _CALLS),
    Kpi("mean_queue_length", Unit("calls"), "lower", "time-average calls waiting", _CALLS),
    Kpi("overtime_hours", Unit("h/day"), "lower", "agent hours after shift end", _CALLS),
    # more business figures
    Kpi("attempts_per_order", Unit("attempts"), "lower", "attempts of closed orders", _BUSINESS),
    Kpi("orders_created", _per_day("orders"), None, "orders created", _BUSINESS),
    Kpi("orders_attempted", _per_day("orders"), None, "orders attempted", _BUSINESS),
    Kpi("orders_delivered", _per_day("orders"), None, "orders delivered", _BUSINESS),
    Kpi("orders_failed", _per_day("orders"), "lower", "orders returned", _BUSINESS),
    Kpi("orders_open", Unit("orders"), None, "orders open at the horizon", _BUSINESS),
    Kpi("orders_deferred", SHARE, "lower", "orders that waited for capacity", _BUSINESS),
    Kpi("leads_created", _per_day("leads"), None, "leads created", _BUSINESS),
    Kpi("leads_open", Unit("leads"), None, "leads open at the horizon", _BUSINESS),
    Kpi("work_orders_created", _per_day("work orders"), None, "work orders created", _BUSINESS),
    Kpi("work_orders_open", Unit("work orders"), None, "open at the horizon", _BUSINESS),
    Kpi("cash_collected", MONEY_PER_DAY, None, "cash collected on delivery", _BUSINESS),
    Kpi("pos_collected", MONEY_PER_DAY, None, "card (POS) payments on delivery", _BUSINESS),
    Kpi("failed_value", MONEY_PER_DAY, "lower", "value of returned orders", _BUSINESS),
    Kpi("complaint_calls", _per_day("calls"), "lower", "complaints about deliveries", _BUSINESS),
    Kpi("lead_contact_rate", SHARE, "higher", "closed leads reached", _BUSINESS),
    Kpi("work_order_resolution", SHARE, "higher", "resolved / closed work orders", _BUSINESS),
    Kpi("work_order_wait", SECONDS, "lower", "creation to a staff member", _BUSINESS),
    Kpi("back_office_utilisation", SHARE, None, "staff busy inside hours", _BUSINESS),
    Kpi("back_office_backlog", Unit("items"), "lower", "open at day end, mean", _BUSINESS),
    Kpi("courier_utilisation", SHARE, None, "couriers busy inside hours", _BUSINESS),
)

_BY_NAME = {k.name: k for k in KPIS}
HEADLINE: tuple[str, ...] = tuple(k.name for k in KPIS if k.headline)
"""The spec's KPIs in the spec's order: always shown, and the names a target may use."""


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
