"""Numbers for people, on top of the KPI registry (:mod:`sim.scenario.kpis`): the terminal, the
CSV/Excel headers and the report all format through here, so a share reads 89.9% and a wait
3.83 s everywhere. What the registry does not cover lives here: the unit of a file's column
(per-interval counts, agents on duty) and an interval written with its unit once.

Light on purpose (no numpy, no matplotlib), so the command line can use it at once.
"""

from __future__ import annotations

import math
import numbers

from sim.scenario.kpis import HEADLINE, format_value, unit_label, unit_of

__all__ = [
    "KEY_UNITS",
    "MAIN_KPIS",
    "column_unit",
    "figure_of",
    "file_unit",
    "fmt",
    "fmt_range",
    "fmt_signed",
    "header",
    "headline",
    "is_num",
    "scale_of",
    "units_table",
    "when",
]

MAIN_KPIS = HEADLINE  # the spec's KPIs, in the spec's order

COLUMN_UNITS = {  # figures of intervals.csv that are not KPIs of a run
    "answered": "calls",
    "abandoned": "calls",
    "agents_on_duty": "agents",
    "agents_scheduled": "agents",
}


def is_num(v) -> bool:
    """A finite real number (not a bool, not None)."""
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def scale_of(kpi: str) -> float:
    """What a value is multiplied by to be shown (100 for a share)."""
    return unit_of(kpi).scale


def fmt(value, kpi: str, currency: str | None = None) -> str:
    """A KPI value in its unit (``89.9%``, ``3.83 s``, ``18.74 EUR/delivery``)."""
    return format_value(value, kpi, currency or "money")


def fmt_signed(value, kpi: str, currency: str | None = None) -> str:
    """A difference: signed, shares in percentage points (``+1.20 pp``)."""
    return format_value(value, kpi, currency or "money", signed=True)


def fmt_range(low, high, kpi: str, currency: str | None = None, signed: bool = False) -> str:
    """An interval with its unit once, as the terminal writes it: ``89.6 … 91.6%``,
    ``+5.11 … +5.70 pp``."""
    if not is_num(low) or not is_num(high):
        return "–"
    money = currency or "money"
    lo = format_value(low, kpi, money, signed=signed, with_unit=False)
    return f"{lo} … {format_value(high, kpi, money, signed=signed)}"


def header(column: str, currency: str | None = None, per_row: bool = False) -> str:
    """A file's column with its unit: ``service_level_mean`` -> ``service_level_mean (share)``.

    Values in files stay as computed (shares as fractions), so the unit says "share", not "%".
    ``per_row``: the table has one row per interval or day, so counts are per row, not per day.
    """
    unit = "" if column in KEY_UNITS else file_unit(column, currency, per_row)  # keys: as named
    return f"{column} ({unit})" if unit else column


KEY_UNITS = {  # the key columns of the tables in a results folder
    "day": "day of the run (1 = the first)",
    "weekday": "mon..sun",
    "start": "HH:MM (start of the interval)",
    "replication": "index",
    "seed": "root seed",
}


def file_unit(column: str, currency: str | None = None, per_row: bool = False) -> str:
    """The unit of a column of a results file, as stored (shares as fractions: "share")."""
    if column in KEY_UNITS:
        return KEY_UNITS[column]
    base = figure_of(column)
    return "share" if unit_of(base).is_share else column_unit(base, currency, per_row)


def figure_of(column: str) -> str:
    """The figure a summary column is about: ``service_level_ci_low`` -> ``service_level``."""
    for suffix in ("_mean", "_ci_low", "_ci_high"):
        column = column.removesuffix(suffix)
    return column


def units_table(tables: dict[str, tuple[list[str], bool]], currency: str | None) -> dict:
    """``columns.csv``: every column of the folder's CSV files with its unit; ``tables`` maps a
    file name to its columns and whether it has one row per interval or day."""
    out: dict[str, list[str]] = {"file": [], "column": [], "unit": []}
    for name, (columns, per_row) in tables.items():
        for column in columns:
            out["file"].append(name)
            out["column"].append(column)
            out["unit"].append(file_unit(column, currency, per_row))
    return out


def column_unit(name: str, currency: str | None = None, per_row: bool = True) -> str:
    """The unit of a figure in a table of intervals or days (``%`` for shares, ``calls`` for
    offered calls per interval, ``agents`` for agents on duty)."""
    base = name.split(".", 1)[0]
    if base in COLUMN_UNITS:
        return COLUMN_UNITS[base]
    unit = unit_label(name, currency or "money")
    return unit.removesuffix("/day") if per_row else unit


def headline(entry: dict, overall: dict | None = None) -> str:
    """One line a planner can trust: overall verdict and the intervals that miss.

    ``overall`` is the KPI's summary (``mean``, ``met``); a target met overall but missed in
    some intervals says both, never a bare "met".
    """
    parts = []
    if overall and overall.get("met") is not None:
        parts.append("met overall" if overall["met"] else "missed overall")
    n, missed = entry["intervals"], entry["intervals_missed"]
    if n == 0:
        parts.append("no interval has calls")
    elif missed == 0:
        parts.append(f"met in all {n} intervals")
    else:
        text = f"missed in {missed} of {n} intervals ({missed / n:.0%}"
        if entry["calls"] > 0:
            text += f", with {entry['calls_in_missed'] / entry['calls']:.0%} of the calls"
        clearly = entry.get("intervals_missed_clearly")
        if clearly is not None:
            text += f"; {clearly} clearly, their 95% CI on the wrong side"
        parts.append(text + ")")
    return ", ".join(parts)


def when(row: dict) -> str:
    """Where a row of an attainment table lies: ``Mon 09:30 (day 1)``, or ``Sat (day 6)`` for
    a day."""
    start = f" {row['start']}" if row.get("start") is not None else ""
    return f"{str(row['weekday']).capitalize()}{start} (day {row['day']})"
