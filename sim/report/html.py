"""The HTML report of a results folder: one self-contained file (Jinja2 template, inline figures).

Owns reading the files of a results folder (run, comparison or sweep) and laying them out; the
figures are drawn by :mod:`sim.report.plots` and :mod:`sim.report.sweep_figures`. It never
imports the model, so it rebuilds a report from any folder that holds the files below.

Files read (every one optional except that a folder must hold at least one of the first three):

- ``summary.json`` (a run): ``{"scenario", "seed", "replications", "kpis": {name: {"mean",
  "ci95": [lo, hi], "target"?, "met"?}}}``. Per-channel business KPIs are named
  ``<kpi>.channel=<name>``: ``orders_created``, ``orders_attempted``, ``orders_delivered``,
  ``orders_failed`` (per day) and ``orders_open`` (a count at the horizon) draw
  the order funnel; ``cost_per_delivery`` the cost per delivery by channel.
- ``comparison.json`` (a comparison): ``{"pairs": [{"baseline": A, "alternative": B,
  "differences": {kpi: {"mean", "ci95": [lo, hi], "significant": bool}}}]}`` where a
  difference is alternative minus baseline; ``"kpis"`` is accepted for ``"differences"``, and a
  mapping ``{"differences": {"B - A": {kpi: {...}}}}`` is accepted as well.
- ``points.csv`` (a sweep): one row per point, parameter columns (any column that is not a KPI
  column nor ``point``, ``replications``, ``n``, ``seed``) and ``<kpi>_mean``,
  ``<kpi>_ci_low``, ``<kpi>_ci_high``; targets come from ``scenario.yaml`` (the base scenario)
  or ``sweep.json`` ``{"targets": {kpi: {"at_least"|"at_most": value}}}``.
- ``intervals.csv``: ``day``, ``weekday``, ``start`` ("HH:MM") and ``<figure>_mean``,
  ``_ci_low``, ``_ci_high`` for ``offered``, ``agents_on_duty``, ``service_level``,
  ``abandon_rate``, ``asa``, ``occupancy`` and ``occupancy.group=<name>``.
- ``daily.csv`` (business flows): ``day``, optional ``weekday``, and ``<figure>_mean``,
  ``_ci_low``, ``_ci_high`` (or a bare ``<figure>`` column) for ``delivery_on_time`` (share),
  ``back_office_backlog`` (items open at the day's end), ``cash_collected`` and
  ``pos_collected`` (money collected on delivery that day; per channel
  ``cash_collected.channel=<name>`` is summed when the total is missing).
- ``scenario.yaml`` (shown at the end, targets, interval, groups) and ``experiment.yaml``.

A figure whose columns are missing is left out; the report never fails for a missing figure.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
import numpy as np

from sim.report.compare_page import comparison_pairs, comparison_section
from sim.report.drawing import FigureSink, series
from sim.report.files import write_atomic
from sim.report.folder import Folder, ReportError, read_table
from sim.report.numbers import MAIN_KPIS, fmt, fmt_range, headline, is_num, when
from sim.report.plan_figures import attainment_heat_map
from sim.report.plots import business_figures, interval_figures
from sim.report.sweep_figures import heat_map, sweep_lines
from sim.scenario.kpis import SHOWN, lookup

__all__ = ["Folder", "ReportError", "build_report", "comparison_pairs", "read_table"]

_KEYS = ("point", "replications", "n", "seed", "runs")  # sweep columns that are not parameters
_TEMPLATES = Path(__file__).parent / "templates"


# --- what the report shows -------------------------------------------------------------------


def _kpi_rows(folder: Folder, attained: dict) -> tuple[list[dict], list[dict]]:
    """The KPI table: the spec's KPIs and those with targets first, every other figure after."""
    kpis = (folder.summary or {}).get("kpis") or {}
    targets = folder.targets()
    missed_in = {
        e["kpi"]: e for e in attained["targets"] if e.get("intervals_missed", e.get("days_missed"))
    }
    currency = folder.scenario.get("currency")
    main: list[dict] = []
    more: list[dict] = []
    for name, k in kpis.items():
        ci = k.get("ci95") or [None, None]
        kpi = lookup(name)
        row = {
            "name": name,
            "about": kpi.description if kpi is not None else "",
            "mean": fmt(k.get("mean"), name, currency),
            "ci": fmt_range(ci[0], ci[1], name, currency),
            "target": "",
            "verdict": "",
            "status": "",
            "note": "",
        }
        if name in targets:
            bound, value = targets[name]
            sign = {"at_least": "≥ ", "at_most": "≤ "}.get(bound, "")
            row["target"] = sign + fmt(value, name, currency)
            met = k.get("met")
            row["status"] = {True: "met", False: "missed"}.get(met, "nodata")
            row["verdict"] = {True: "met", False: "missed"}.get(met, "no data")
            if met is not None and is_num(ci[0]) and ci[0] <= value <= ci[1]:
                row["note"] = "CI spans target"
            entry = missed_in.get(name)
            if met is not None and entry:  # where it misses, met overall or not
                per = "intervals" if "intervals" in entry else "days"
                where = "in" if per == "intervals" else "on"
                missed = f"missed {where} {entry[per + '_missed']} of {entry[per]} {per}"
                if met:
                    row["verdict"], row["status"] = "met overall", "partly"
                else:
                    missed = "also " + missed
                row["note"] = missed + (f"; {row['note']}" if row["note"] else "")
        (main if name in SHOWN or row["target"] else more).append(row)
    return main, more


def _attained(folder: Folder, section: str = "attainment") -> dict:
    """summary.json's ``attainment`` (or ``attainment_days``) section (a folder written before
    it existed has none)."""
    data = (folder.summary or {}).get(section)
    if isinstance(data, dict) and isinstance(data.get("targets"), list):
        return data
    return {"intervals": 0, "days": 0, "targets": []}


def _day_attainment(folder: Folder, days: dict) -> list[dict] | None:
    """Targets measured per day (on-time delivery, back office on time): a row per target with
    the days meeting it and the days that miss, worst first."""
    if not days["targets"]:
        return None
    kpis = (folder.summary or {}).get("kpis") or {}
    rows = []
    for e in days["targets"]:
        k, n, ok = e["kpi"], e["days"], e["days_met"]
        missed = [
            f"{when(m)} {fmt(m['value'], k)}"
            + (" (within its 95% CI)" if m.get("clearly") is False else "")
            for m in e["missed"]
        ]
        rows.append(
            {
                "kpi": k,
                "target": ("≥ " if e["bound"] == "at_least" else "≤ ") + fmt(e["target"], k),
                "overall": fmt((kpis.get(k) or {}).get("mean"), k),
                "days": f"{ok} of {n}" if n else "–",
                "clearly": "–"
                if e.get("days_missed_clearly") is None
                else e["days_missed_clearly"],
                "missed": ", ".join(missed),
                "status": "met" if n and ok == n else "missed",
            }
        )
    return rows


def _attainment(folder: Folder, attained: dict, sink: FigureSink) -> dict | None:
    """Targets interval by interval: headlines, a row per target (call types and tiers too),
    where it misses, the worst intervals and a weekday x interval heat map per target."""
    entries = attained["targets"]
    if not entries:
        return None
    kpis = (folder.summary or {}).get("kpis") or {}
    rows, misses = [], []
    for e in entries:
        k = e["kpi"]
        target = ("≥ " if e["bound"] == "at_least" else "≤ ") + fmt(e["target"], k)
        n, ok = e["intervals"], e["intervals_met"]
        share = e["share_calls_met"]
        worst = e["worst"][0] if e["worst"] else None
        row = {
            "kpi": k,
            "target": target,
            "overall": fmt((kpis.get(k) or {}).get("mean"), k),
            "headline": headline(e, kpis.get(k)),
            "intervals": f"{ok} of {n} ({ok / n:.0%})" if n else "–",
            "calls": "–" if share is None else f"{share:.0%}",
            "clearly": e.get("intervals_missed_clearly", "–"),
            "worst": "" if worst is None else f"{when(worst)}: {fmt(worst['value'], k)}",
            "status": "met" if n and ok == n else "missed",
        }
        rows.append(row)
        if e.get("intervals_missed") and not e["misses"]:
            misses.append(
                {
                    "kpi": k,
                    "target": target,
                    "when": "no time of day clearly misses",
                    "days": "–",
                    "intervals": e["intervals_missed"],
                    "clearly": 0,
                    "worst": row["worst"],
                }
            )
        for m in e["misses"]:
            misses.append(
                {
                    "kpi": k,
                    "target": target,
                    "when": f"{m['from']}–{m['to']}",
                    "days": f"{m['days_missed']} of {m['days']} days",
                    "intervals": m["intervals_missed"],
                    "clearly": "–" if m.get("clearly") is None else m["clearly"],
                    "worst": fmt(m["worst"], k),
                }
            )
    main = [e for e in entries if "=" not in e["kpi"]]
    worst_tables = [
        {
            "kpi": e["kpi"],
            "target": rows[entries.index(e)]["target"],
            "rows": [_worst_row(w, e["kpi"]) for w in e["worst"]],
        }
        for e in main
        if e["worst"]
    ]
    targets = folder.targets()
    figures = [
        attainment_heat_map(folder.intervals, e["kpi"], targets.get(e["kpi"]), sink)
        for e in main
        if folder.intervals is not None
    ]
    return {
        "intervals": attained["intervals"],
        "headlines": [r for r in rows if "=" not in r["kpi"]],
        "rows": rows,
        "misses": [m for m in misses if "=" not in m["kpi"]],
        "segment_misses": [m for m in misses if "=" in m["kpi"]],
        "worst": worst_tables,
        "figures": [f for f in figures if f],
    }


def _worst_row(w: dict, kpi: str) -> dict:
    w = {**w, kpi: w.get("value")}
    return {
        "when": when(w),
        "offered": "–" if w.get("offered") is None else f"{w['offered']:,.1f}",
        "agents": "–" if w.get("agents_on_duty") is None else f"{w['agents_on_duty']:.1f}",
        **{k: fmt(w.get(k), k) for k in ("service_level", "abandon_rate", "asa")},
    }


def _sweep(folder: Folder, sink: FigureSink) -> dict | None:
    pts = folder.points
    if pts is None:
        return None
    kpis = [c[:-5] for c in pts if c.endswith("_mean") and series(pts, c[:-5]) is not None]
    params = [c for c in pts if not c.endswith(("_mean", "_ci_low", "_ci_high")) and c not in _KEYS]
    numeric = [
        p
        for p in params
        if pts[p].dtype != object and len(np.unique(pts[p][np.isfinite(pts[p])])) > 1
    ]
    targets = folder.targets()
    shown = sorted(
        [k for k in kpis if k in targets or k in MAIN_KPIS],
        key=lambda k: (k not in targets, MAIN_KPIS.index(k) if k in MAIN_KPIS else 99),
    )
    varying = [k for k in shown if np.nanmax(pts[f"{k}_mean"]) - np.nanmin(pts[f"{k}_mean"]) > 1e-9]
    constant = [k for k in shown if k not in varying]  # a panel of a flat line says nothing
    shown = varying[:8] or kpis[:4]
    figures: list[dict | None] = (
        [sweep_lines(pts, p, [q for q in numeric if q != p], shown, targets, sink) for p in numeric]
        if shown
        else []
    )
    if len(numeric) == 2:  # a heat map needs every other parameter fixed
        for k in [k for k in shown if k in targets] or shown[:1]:
            figures.append(heat_map(pts, numeric[0], numeric[1], k, targets.get(k), sink))
    head = params + [f"{k}_mean" for k in shown]
    n = len(next(iter(pts.values()))) if pts else 0
    table = [[_cell(pts[c][i], c) for c in head] for i in range(min(n, 500))]
    return {
        "figures": [f for f in figures if f],
        "params": params,
        "head": head,
        "table": table,
        "points": n,
        "constant": [f"{k} {fmt(float(np.nanmean(pts[f'{k}_mean'])), k)}" for k in constant],
    }


def _cell(v, column: str) -> str:
    if isinstance(v, str):
        return v
    if not is_num(float(v)):
        return "–"
    return fmt(float(v), column[:-5]) if column.endswith("_mean") else f"{float(v):g}"


# --- the report -------------------------------------------------------------------------------


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _first(*sources: dict | None, key: str):
    """``key`` of the first source holding it: the run's, comparison's or sweep's own file
    before the scenario (a sweep run with --seed has another seed than its base scenario)."""
    for source in sources:
        if source and source.get(key) is not None:
            return source[key]
    return None


def build_report(
    folder: str | Path, out: str | Path | None = None, jobs: int | None = None
) -> Path:
    """Write ``report.html`` (and ``figures/*.png|svg``) for a results folder; return its path.

    ``jobs``: processes rendering the figures (None: one per core; 1: in this process).

    The HTML is self-contained: figures are inline base64 PNG, styles inline, no URL of any
    kind, and every text that comes from files (scenario names, descriptions, YAML) is escaped.

    Raises
    ------
    ReportError
        when the folder holds none of ``summary.json``, ``comparison.json``, ``points.csv``.
    """
    from sim.report.staffing_report import build_staffing_report, is_staffing_folder

    if is_staffing_folder(Path(folder)) and not (Path(folder) / "summary.json").is_file():
        return build_staffing_report(folder, out, jobs)
    if (Path(folder) / "fit.json").is_file() and out is None:
        from sim.report.fit_report import build_fit_report

        try:
            return build_fit_report(folder, jobs)
        except (ValueError, KeyError, TypeError, AttributeError):  # a damaged fit.json
            raise ReportError(f"{Path(folder) / 'fit.json'}: not as sim fit writes it") from None
    f = Folder.read(folder)
    out = Path(out) if out else f.path / "report.html"
    summary = f.summary or {}
    kpis = summary.get("kpis") or {}
    groups = [str(g) for g in ((f.scenario.get("agents") or {}).get("groups") or {})]
    compared = (f.comparison or {}).get("scenarios")
    name = (
        (f.sweep or {}).get("name")  # a sweep is named by its experiment, not its base scenario
        or summary.get("scenario")
        or f.scenario.get("name")
        or (" vs ".join(map(str, compared)) if isinstance(compared, list) else None)
        or f.path.name
    )
    kind = "comparison" if f.comparison else "sweep" if f.points is not None else "run"
    none: dict = {"intervals": 0, "days": 0, "targets": []}
    attained = _attained(f) if kind == "run" else none
    days = _attained(f, "attainment_days") if kind == "run" else none
    main, more = _kpi_rows(f, {"targets": attained["targets"] + days["targets"]})
    with FigureSink(out.parent / "figures", jobs) as sink:  # the figures render meanwhile
        figures = {
            "attainment": _attainment(f, attained, sink),
            "run_figures": interval_figures(
                f.intervals or {}, sink, f.targets(), f.interval_s(), f.within_s(), kpis, groups
            ),
            "business_figures": business_figures(kpis, f.daily or {}, f.targets(), sink),
            "comparison": comparison_section(f, sink),
            "sweep": _sweep(f, sink),
        }
    context = {
        "title": f"{name}: {kind} report",
        "name": str(name),
        "kind": kind,
        "folder": f.path.name,
        "description": str(f.scenario.get("description") or ""),
        "seed": _first(summary, f.comparison, f.sweep, f.scenario, key="seed"),
        "replications": _first(summary, f.comparison, f.sweep, key="replications"),
        "day_attainment": _day_attainment(f, days),
        "kpi_rows": main,
        "more_rows": more,
        **figures,
        "scenario_text": shortened(f.scenario_text) if f.scenario_text else None,
        "experiment_text": f.experiment_text,
    }
    html = _environment().get_template("report.html.j2").render(**context)
    write_atomic(out, html)
    return out


def shortened(text: str, keep: int = 5, longest: int = 12) -> str:
    """A YAML text with each list of more than ``longest`` items (an arrivals file's rows)
    cut to its first ``keep`` and a comment saying how many follow, so the page shows the
    scenario, not 850 rows of it; the file itself stays whole."""
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        indent = _indent(lines[i])
        if not _item(lines[i]):
            out.append(lines[i])
            i += 1
            continue
        starts, end = [i], i + 1  # the list: items at this indent, their lines deeper
        while end < len(lines) and (
            _indent(lines[end]) > indent or (_indent(lines[end]) == indent and _item(lines[end]))
        ):
            starts += [end] if _indent(lines[end]) == indent else []
            end += 1
        if len(starts) > longest:
            out += lines[i : starts[keep]]
            more = len(starts) - keep
            out.append(
                " " * indent + f"# … {more:,} more items, in the results folder's scenario.yaml"
            )
        else:
            out += lines[i:end]
        i = end
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _item(line: str) -> bool:
    return line.lstrip(" ").startswith("- ") or line.strip() == "-"
