"""What the terminal shows after a run: target attainment interval by interval first, where it
misses, then the overall KPI table; and a console that does not break lines in logs.

Numbers go through :func:`sim.report.numbers.fmt`, so the terminal reads like the report
(89.9 %, 3.83 s). Light: rich only, no numpy or plotting.
"""

from __future__ import annotations

import sys

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from sim.report.numbers import fmt, when
from sim.scenario.errors import inert
from sim.scenario.kpis import SHOWN, format_ci, format_value, unit_label

__all__ = [
    "attainment_table",
    "console",
    "day_lines",
    "kpi_table",
    "misses_lines",
    "shown",
    "target_text",
    "verdict",
]

SEGMENTS = 4  # call types and tiers shown in the terminal, the worst first
LOG_WIDTH = 240  # columns when the output is not a terminal (a log, a pipe): nothing wraps


class _InertConsole(Console):
    """A console that shows control characters in text as ``\\xNN`` instead of sending them:
    a name holding an ESC sequence (a link, clear-screen) or U+202E prints as characters.
    (Names are refused at validation; this is the second line of defence.)"""

    def render_str(self, text: str, **kwargs) -> Text:
        return super().render_str(inert(text), **kwargs)


def console(stderr: bool = False) -> Console:
    """A rich console (see :class:`_InertConsole`); not on a terminal, a wide one, so names
    and paths stay on one line."""
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return _InertConsole(stderr=stderr)
    return _InertConsole(stderr=stderr, width=LOG_WIDTH, soft_wrap=True)


def _label(kpi: str) -> str:
    """``service_level.type=complaint`` -> ``service_level, complaint calls``."""
    base, _, segment = kpi.partition(".")
    if not segment:
        return base
    kind, _, name = segment.partition("=")
    return f"{base}, {name} {'calls' if kind == 'type' else 'tier' if kind == 'tier' else kind}"


def target_text(kpi: str, bound: str | None, value: float, currency: str | None = None) -> str:
    sign = {"at_least": ">= ", "at_most": "<= "}.get(bound or "", "")
    return sign + fmt(value, kpi, currency)


def verdict(kpi: str, k, attainment: dict | None) -> str:
    """met / missed by the mean, with the intervals that miss when some do (never a bare met)."""
    if k.met is None:
        return "no data"
    text = "[green]met[/green]" if k.met else "[red]missed[/red]"
    entry = _entry(attainment, kpi)
    per = "intervals" if entry is not None and "intervals" in entry else "days"
    if entry is not None and entry[per]:
        missed = entry[f"{per}_missed"]
        text += " overall" if missed else ""
        if (
            missed
        ):  # "met overall, missed in 96 of 336 intervals"; "missed overall and on 5 of 5 days"
            where = "in" if per == "intervals" else "on"
            joint = " and" if k.met is False else ", [red]missed[/red]"
            text += f"{joint} [red]{where} {missed} of {entry[per]} {per}[/red]"
    if k.ci95 is None:
        text += " (1 run, no CI)"
    elif not k.clear:
        text += " (CI spans target)"
    return text


def _entry(attainment: dict | None, kpi: str) -> dict | None:
    for e in (attainment or {}).get("targets", []):
        if e["kpi"] == kpi:
            return e
    return None


def with_unit(name: str) -> str:
    """The KPI's name and, dimmed, its unit (the cells beside it show bare numbers)."""
    unit = unit_label(name)
    return f"{name} [dim]({unit})[/dim]" if unit else name


def kpi_table(summary, title: str, all_kpis: bool = False, attainment: dict | None = None):
    """The overall KPI table: mean, 95 % CI, target (in the KPI's unit) and the verdict."""
    currency = getattr(summary.scenario, "currency", None) or "money"
    table = Table(title=title)
    table.add_column("KPI", justify="left", no_wrap=True)
    for col in ("mean", "95% CI", "target"):
        table.add_column(col, justify="right")
    table.add_column("", min_width=6)  # the verdict stays readable on a narrow terminal
    for name, k in summary.kpis.items():
        backlog = name == "open_calls" and bool(k.mean)  # an overloaded run: always shown
        if not all_kpis and name not in SHOWN and k.target is None and not backlog:
            continue
        target = ""
        if k.target is not None:
            bound = ">=" if k.bound == "at_least" else "<="
            target = f"{bound} {format_value(k.target, name, currency, with_unit=False)}"
        table.add_row(
            with_unit(name).replace("money", currency),
            format_value(k.mean, name, currency, with_unit=False),
            format_ci(k.ci95, name, currency, with_unit=False),
            target,
            verdict(name, k, attainment) if k.target is not None else "",
        )
    return table


def attainment_table(attainment: dict, summary: dict | None = None, interval: str = "") -> Table:
    """One row per target with a per-interval figure: intervals and calls meeting it."""
    table = Table(
        title=f"Targets interval by interval ({attainment['intervals']} intervals{interval})"
    )
    table.add_column("target", no_wrap=True)
    table.add_column("overall", justify="right")
    table.add_column("intervals meeting it", justify="right")
    table.add_column("calls in them", justify="right")
    table.add_column("clearly missed", justify="right")
    table.add_column("worst interval", no_wrap=True)
    kpis = (summary or {}).get("kpis") or {}
    for e in shown(attainment):
        n, ok = e["intervals"], e["intervals_met"]
        colour = "green" if ok == n else "red"
        share = e["share_calls_met"]
        worst = e["worst"][0] if e["worst"] else None
        table.add_row(
            f"{_label(e['kpi'])} {target_text(e['kpi'], e['bound'], e['target'])}",
            fmt((kpis.get(e["kpi"]) or {}).get("mean"), e["kpi"]),
            f"[{colour}]{ok} of {n}[/{colour}] ({ok / n:.0%})" if n else "-",
            "-" if share is None else f"{share:.0%}",
            "-"
            if e.get("intervals_missed_clearly") is None
            else str(e["intervals_missed_clearly"]),
            "" if worst is None else when(worst) + f" {fmt(worst['value'], e['kpi'])}",
        )
    return table


def shown(attainment: dict, segments: int = SEGMENTS) -> list[dict]:
    """The overall targets, then the call types and tiers with the lowest share of calls in
    intervals that meet their target (those that miss at all; the report lists every one)."""
    entries = attainment["targets"]
    overall = [e for e in entries if "=" not in e["kpi"]]
    missing = [e for e in entries if "=" in e["kpi"] and e["intervals_missed"]]
    missing.sort(key=lambda e: e["share_calls_met"] if e["share_calls_met"] is not None else 1)
    return overall + missing[:segments]


def misses_lines(attainment: dict, limit: int = 3) -> list[str]:
    """ "Where it misses": per target, the times of day that miss clearly (CI on the wrong
    side) and on how many days; a target whose misses are all within the noise says so."""
    lines = []
    for e in shown(attainment):
        if not e["intervals_missed"]:
            continue
        head = f"{_label(e['kpi'])} {target_text(e['kpi'], e['bound'], e['target'])}"
        runs = [m for m in e["misses"] if m.get("clearly") != 0]
        if not runs:
            lines.append(f"{head}: no interval clearly misses (each miss is within its 95% CI)")
            continue
        parts = [
            f"{m['from']}-{m['to']} on {m['days_missed']} of {m['days']} days "
            f"(worst {fmt(m['worst'], e['kpi'])})"
            for m in runs[:limit]
        ]
        more = f"; {len(runs) - limit} more" if len(runs) > limit else ""
        lines.append(f"{head}: " + "; ".join(parts) + more)
    return lines


def day_lines(days: dict) -> list[str]:
    """Per target measured per day: the days meeting it and the days that miss, worst first."""
    lines = []
    for e in days["targets"]:
        head = f"{_label(e['kpi'])} {target_text(e['kpi'], e['bound'], e['target'])}"
        text = f"{head}: met on {e['days_met']} of {e['days']} days"
        if e["missed"]:
            worst = ", ".join(
                f"{when(m)} {fmt(m['value'], e['kpi'])}"
                + ("" if m["clearly"] is not False else " within its 95% CI")
                for m in e["missed"][:3]
            )
            more = f"; {len(e['missed']) - 3} more" if len(e["missed"]) > 3 else ""
            text += f"; missed on {worst}{more}"
        lines.append(text)
    return lines


def print_run(out: Console, summary, all_kpis: bool = False) -> None:
    """Attainment interval by interval first, where it misses, targets day by day, then the
    overall KPI table."""
    attainment, days = summary.attainment(), summary.day_attainment()
    if attainment["targets"]:
        every = f" of {summary.scenario.interval / 60:g} min"
        out.print(attainment_table(attainment, summary.to_dict(), every))
        lines = misses_lines(attainment)
        if lines:
            out.print("[bold]Where it misses[/bold] (times of day, days missing, worst):")
            for line in lines:
                out.print(f"  {line}", markup=False, highlight=False)
        out.print()
    if days["targets"]:
        out.print("[bold]Targets day by day[/bold] (by the day orders and items were created):")
        for line in day_lines(days):
            out.print(f"  {line}", markup=False, highlight=False)
        out.print()
    name = escape(summary.scenario.name)  # user text: never markup
    title = f"{name}: {summary.replications} replications, seed {summary.seed}"
    both = {"targets": attainment["targets"] + days["targets"]}
    out.print(kpi_table(summary, title, all_kpis, both))


def plans_table(
    plans: dict[str, dict], currency: str | None = None, attained: dict | None = None
) -> Table:
    """Per scenario: agent-hours, overtime and fulfilment cost per day, with B − A, and the
    intervals meeting each overall target."""
    table = Table(title="The plans: hours and cost per day (B − A: paired difference)")
    table.add_column("figure", no_wrap=True)
    for label in plans:
        table.add_column(label, justify="right")
    names = ["agent_hours", "overtime_hours", "delivery_cost", "fixed_cost", "fulfilment_cost"]
    for name in names:
        if not any((row.get(name) or {}).get("mean") for row in plans.values()):
            continue  # not modelled, or zero in every plan
        cells = []
        for row in plans.values():
            v = row.get(name) or {}
            text = format_value(v.get("mean"), name, currency or "money")
            if v.get("difference") is not None:
                diff = format_value(v["difference"], name, currency or "money", signed=True)
                text += f" ({diff})"
            cells.append(text)
        table.add_row(name, *cells)
    attained = attained or {}
    first: dict = next(iter(attained.values()), {})
    for kpi in [e["kpi"] for e in first.get("targets", [])]:
        if "=" in kpi:
            continue
        cells = []
        for label in plans:
            e = next((e for e in attained[label]["targets"] if e["kpi"] == kpi), None)
            cells.append("-" if e is None else f"{e['intervals_met']} of {e['intervals']}")
        table.add_row(f"intervals meeting {kpi}", *cells)
    return table
