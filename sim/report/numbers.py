"""How figures are shown to people: the unit and scale of each KPI and one number formatter.

Light on purpose (no numpy, no matplotlib): the terminal, the CSV/Excel headers and the report
all format through here, so a share reads 89.9% and a wait 3.83 s everywhere.
"""

from __future__ import annotations

import math
import numbers

__all__ = [
    "KPI_DISPLAY",
    "MAIN_KPIS",
    "fmt",
    "fmt_range",
    "fmt_signed",
    "header",
    "is_num",
    "unit_of",
]

# How a KPI is shown, by its base name (before the first "."): (scale, unit).
_SHARE = (100.0, "%")
KPI_DISPLAY = {
    "offered": (1.0, "calls/day"),
    "service_level": _SHARE,
    "answer_rate": _SHARE,
    "abandon_rate": _SHARE,
    "asa": (1.0, "s"),
    "mean_wait": (1.0, "s"),
    "occupancy": _SHARE,
    "first_contact_resolution": _SHARE,
    "delivery_on_time": _SHARE,
    "delivery_success": _SHARE,
    "first_attempt_success": _SHARE,
    "cost_per_delivery": (1.0, "money/delivery"),
    "back_office_on_time": _SHARE,
    "lead_conversion": _SHARE,
    "calls": (1.0, "calls/day"),
    "self_service_rate": _SHARE,
    "open_calls": (1.0, "calls"),
    "mean_queue_length": (1.0, "calls"),
    "overtime_hours": (1.0, "h/day"),
    # per-interval and per-day figures (intervals.csv, daily.csv)
    "answered": (1.0, "calls"),
    "abandoned": (1.0, "calls"),
    "agents_on_duty": (1.0, "agents"),
    "agents_scheduled": (1.0, "agents"),
    "orders_created": (1.0, "orders"),
    "orders_delivered": (1.0, "orders"),
    "orders_failed": (1.0, "orders"),
    "orders_open": (1.0, "orders"),
    "failed_value": (1.0, "money"),
    "cash_collected": (1.0, "money"),
    "pos_collected": (1.0, "money"),
    "back_office_backlog": (1.0, "items"),
    "agent_hours": (1.0, "h/day"),
    "delivery_cost": (1.0, "money/day"),
    "fixed_cost": (1.0, "money/day"),
    "fulfilment_cost": (1.0, "money/day"),
}
MAIN_KPIS = tuple(list(KPI_DISPLAY)[:14])  # the spec's KPIs, in the spec's order


def is_num(v) -> bool:
    """A finite real number (not a bool, not None)."""
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def unit_of(kpi: str, currency: str | None = None) -> tuple[float, str]:
    """(scale, unit) to show ``kpi`` with: shares become %, money takes the scenario's
    ``currency``; unknown KPIs stay as they are."""
    scale, unit = KPI_DISPLAY.get(kpi.split(".")[0], (1.0, ""))
    return scale, unit.replace("money", currency or "money")


def header(column: str, currency: str | None = None, per_row: bool = False) -> str:
    """A file's column with its unit: ``service_level_mean`` -> ``service_level_mean (share)``.

    Values in files stay as computed (shares as fractions), so the unit says "share", not "%".
    ``per_row``: the table has one row per interval or day, so counts are per row, not per day.
    """
    base = column
    for suffix in ("_mean", "_ci_low", "_ci_high"):
        base = base.removesuffix(suffix)
    unit = unit_of(base, currency)[1]
    unit = "share" if unit == "%" else unit.removesuffix("/day") if per_row else unit
    return f"{column} ({unit})" if unit else column


def fmt(value, kpi: str, currency: str | None = None) -> str:
    """A KPI value for a table: shares in %, times in s, counts with thousands separators."""
    if not is_num(value):
        return "–"
    scale, unit = unit_of(kpi, currency)
    v = value * scale
    if unit == "%":
        return f"{v:.1f}%"
    text = f"{v:,.2f}" if abs(v) < 100 else f"{v:,.0f}"
    return f"{text} {unit}" if unit else text


def fmt_signed(value, kpi: str, currency: str | None = None) -> str:
    """A difference: signed, shares in percentage points (``+1.20 pp``)."""
    scale, unit = unit_of(kpi, currency)
    unit = "pp" if unit == "%" else unit
    return f"{value * scale:+,.2f} {unit}".strip() if is_num(value) else "–"


def fmt_range(low, high, kpi: str, currency: str | None = None, signed: bool = False) -> str:
    """An interval with its unit once: ``89.6 .. 91.6%``, ``+5.11 .. +5.70 pp``."""
    show = fmt_signed if signed else fmt
    lo, hi = show(low, kpi, currency), show(high, kpi, currency)
    unit = hi.rsplit(" ", 1)[-1] if " " in hi else "%" if hi.endswith("%") else ""
    if unit and lo.endswith(unit):
        lo = lo[: -len(unit)].rstrip()
    return f"{lo} .. {hi}"
