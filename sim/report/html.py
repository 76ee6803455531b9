"""The HTML report of a results folder: one self-contained file (Jinja2 template, inline figures).

Owns reading the files of a results folder (run, comparison or sweep) and laying them out; the
figures are drawn by :mod:`sim.report.plots`. It never imports the model, so it rebuilds a report
from
any folder that holds the files below.

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

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import numpy as np

from sim.report.files import write_atomic
from sim.report.plots import (
    FigureSink,
    business_figures,
    forest_plot,
    heat_map,
    interval_figures,
    is_num,
    series,
    sweep_lines,
)
from sim.scenario.kpis import HEADLINE, format_ci, format_value, judge
from sim.scenario.units import parse_duration

__all__ = ["Folder", "ReportError", "build_report", "comparison_pairs", "read_table"]

_KEYS = ("point", "replications", "n", "seed", "runs")  # sweep columns that are not parameters
_TEMPLATES = Path(__file__).parent / "templates"


class ReportError(Exception):
    """A folder that holds nothing a report can be built from."""


# --- reading the folder -----------------------------------------------------------------------


def read_table(path: str | Path) -> dict[str, np.ndarray]:
    """A CSV file as columns: float arrays (empty cell = NaN) or, for text, object arrays."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        return {}
    header, body = rows[0], rows[1:]
    cols: dict[str, np.ndarray] = {}
    for j, name in enumerate(header):
        raw = [r[j] if j < len(r) else "" for r in body]
        try:
            cols[name] = np.array([float(v) if v.strip() else np.nan for v in raw], dtype=float)
        except ValueError:
            cols[name] = np.array(raw, dtype=object)
    return cols


@dataclass
class Folder:
    """The files of a results folder, as plain data (missing files are None)."""

    path: Path
    scenario_text: str | None = None
    scenario: dict = field(default_factory=dict)
    summary: dict | None = None
    intervals: dict | None = None
    daily: dict | None = None
    comparison: dict | None = None
    points: dict | None = None
    sweep: dict | None = None
    experiment_text: str | None = None

    @classmethod
    def read(cls, path: str | Path) -> Folder:
        path = Path(path)
        if not path.is_dir():
            raise ReportError(f"{path}: not a folder")
        f = cls(path)
        text = _text(path / "scenario.yaml")
        if text is not None:
            from ruamel.yaml import YAML

            f.scenario_text = text
            try:
                data = YAML(typ="safe", pure=True).load(text)
            except Exception as exc:  # a broken file still gets its text shown
                raise ReportError(f"{path / 'scenario.yaml'}: not YAML: {exc}") from exc
            f.scenario = data if isinstance(data, dict) else {}
        f.summary = _json(path / "summary.json")
        f.comparison = _json(path / "comparison.json")
        f.sweep = _json(path / "sweep.json")
        f.experiment_text = _text(path / "experiment.yaml")
        for name in ("intervals", "daily", "points"):
            if (path / f"{name}.csv").is_file():
                setattr(f, name, read_table(path / f"{name}.csv"))
        if f.summary is None and f.comparison is None and f.points is None:
            raise ReportError(
                f"{path}: no summary.json, comparison.json or points.csv; is this a results folder?"
            )
        return f

    def targets(self) -> dict[str, tuple[str, float]]:
        """KPI -> (bound, value), from the scenario, sweep.json, then summary.json."""
        out: dict[str, tuple[str, float]] = {}
        sources = [self.scenario.get("targets"), (self.sweep or {}).get("targets")]
        for block in sources:
            for kpi, t in (block or {}).items():
                if isinstance(t, dict):
                    for bound in ("at_least", "at_most"):
                        if is_num(t.get(bound)):
                            out[kpi] = (bound, float(t[bound]))
        for kpi, k in ((self.summary or {}).get("kpis") or {}).items():
            if kpi not in out and is_num(k.get("target")):
                out[kpi] = ("target", float(k["target"]))
        return out

    def interval_s(self) -> float | None:
        try:
            return parse_duration(self.scenario.get("interval"))
        except (TypeError, ValueError):
            return None

    def within_s(self) -> float | None:
        t = (self.scenario.get("targets") or {}).get("service_level") or {}
        try:
            return parse_duration(t.get("within", 20.0))
        except (TypeError, ValueError):
            return None


def _text(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.is_file() else None


def _json(path: Path) -> dict | None:
    text = _text(path)
    if text is None:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path}: not JSON: {exc}") from exc
    return data if isinstance(data, dict) else None


# --- what the report shows -------------------------------------------------------------------


def _kpi_rows(folder: Folder) -> tuple[list[dict], list[dict]]:
    """The KPI table: the spec's KPIs and those with targets first, every other figure after."""
    kpis = (folder.summary or {}).get("kpis") or {}
    targets = folder.targets()
    main, more = [], []
    for name, k in kpis.items():
        ci = k.get("ci95") or [None, None]
        row = {
            "name": name,
            "mean": format_value(k.get("mean"), name),
            "ci": format_ci(ci, name),
            "target": "",
            "verdict": "",
            "status": "",
            "note": "",
        }
        if name in targets:
            bound, value = targets[name]
            row["target"] = {"at_least": "≥ ", "at_most": "≤ "}.get(bound, "") + format_value(
                value, name
            )
            met = k.get("met")
            row["status"] = {True: "met", False: "missed"}.get(met, "nodata")
            row["verdict"] = {True: "met", False: "missed"}.get(met, "no data")
            if met is not None and is_num(ci[0]) and ci[0] <= value <= ci[1]:
                row["note"] = "CI spans target"
        (main if name in HEADLINE or row["target"] else more).append(row)
    return main, more


def comparison_pairs(data: dict) -> list[tuple[str, dict]]:
    """(label "B − A", {kpi: {"mean", "ci95", "significant"}}) per pair, from comparison.json."""
    pairs = []
    if isinstance(data.get("pairs"), list):
        for p in data["pairs"]:
            base = p.get("baseline", p.get("a", "?"))
            alt = p.get("alternative", p.get("b", "?"))
            label = p.get("label") or f"{alt} − {base}"
            pairs.append((str(label), p.get("differences") or p.get("kpis") or {}))
    elif isinstance(data.get("differences"), dict):
        pairs = [(str(k), v) for k, v in data["differences"].items() if isinstance(v, dict)]
    return pairs


def _comparison(folder: Folder, sink: FigureSink) -> dict | None:
    if folder.comparison is None:
        return None
    pairs = comparison_pairs(folder.comparison)
    kpis: list[str] = []
    for _, diffs in pairs:
        kpis += [k for k in diffs if k not in kpis and is_num((diffs[k] or {}).get("mean"))]
    kpis.sort(key=lambda k: (HEADLINE.index(k) if k in HEADLINE else len(HEADLINE), k))
    rows = []
    for label, diffs in pairs:
        for k in kpis:
            d = diffs.get(k) or {}
            rows.append(
                {
                    "pair": label,
                    "kpi": k,
                    "mean": format_value(d.get("mean"), k, signed=True),
                    "ci": format_ci(d.get("ci95"), k, signed=True),
                    "significant": ", ".join(filter(None, ["yes", judge(k, d.get("mean"))]))
                    if d.get("significant")
                    else "no",
                }
            )
    figure = forest_plot(pairs, kpis, sink) if kpis else None
    return {"rows": rows, "figure": figure, **_side_by_side(folder)}


def _side_by_side(folder: Folder) -> dict:
    """Each compared scenario's KPI means, from comparison.json's ``summaries`` mapping
    (name -> summary.json shape) or from the summary.json of each subfolder."""
    data = (folder.comparison or {}).get("summaries")
    summaries: dict[str, dict] = {}
    if isinstance(data, dict):
        summaries = {str(k): v for k, v in data.items() if isinstance(v, dict)}
    else:
        for sub in sorted(p for p in folder.path.iterdir() if p.is_dir()):
            summary = _json(sub / "summary.json")
            if summary is not None:
                summaries[str(summary.get("scenario") or sub.name)] = summary
    order = [str(n) for n in (folder.comparison or {}).get("scenarios") or []]
    summaries = dict(
        sorted(
            summaries.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)
        )
    )
    names: list[str] = []
    for summary in summaries.values():
        names += [
            k
            for k, v in (summary.get("kpis") or {}).items()
            if k not in names and (k in HEADLINE or "target" in v)
        ]
    rows = []
    for k in names:
        cells = []
        for summary in summaries.values():
            v = (summary.get("kpis") or {}).get(k) or {}
            cells.append(
                {
                    "mean": format_value(v.get("mean"), k),
                    "status": {True: "met", False: "missed"}.get(v.get("met"), ""),
                }
            )
        rows.append({"kpi": k, "cells": cells})
    return {"scenarios": list(summaries), "levels": rows}


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
        [k for k in kpis if k in targets or k in HEADLINE],
        key=lambda k: (k not in targets, HEADLINE.index(k) if k in HEADLINE else 99),
    )
    shown = shown[:8] or kpis[:4]
    figures = (
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
    }


def _cell(v, column: str) -> str:
    if isinstance(v, str):
        return v
    if not is_num(float(v)):
        return "–"
    return format_value(float(v), column[:-5]) if column.endswith("_mean") else f"{float(v):g}"


# --- the report -------------------------------------------------------------------------------


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def build_report(folder: str | Path, out: str | Path | None = None) -> Path:
    """Write ``report.html`` (and ``figures/*.png|svg``) for a results folder; return its path.

    The HTML is self-contained: figures are inline base64 PNG, styles inline, no URL of any
    kind, and every text that comes from files (scenario names, descriptions, YAML) is escaped.

    Raises
    ------
    ReportError
        when the folder holds none of ``summary.json``, ``comparison.json``, ``points.csv``.
    """
    from sim.report.staffing_report import build_staffing_report, is_staffing_folder

    if is_staffing_folder(Path(folder)) and not (Path(folder) / "summary.json").is_file():
        return build_staffing_report(folder, out)
    f = Folder.read(folder)
    out = Path(out) if out else f.path / "report.html"
    sink = FigureSink(out.parent / "figures")
    summary = f.summary or {}
    kpis = summary.get("kpis") or {}
    groups = [str(g) for g in ((f.scenario.get("agents") or {}).get("groups") or {})]
    compared = (f.comparison or {}).get("scenarios")
    name = (
        summary.get("scenario")
        or f.scenario.get("name")
        or (" vs ".join(map(str, compared)) if isinstance(compared, list) else None)
        or (f.sweep or {}).get("name")
        or f.path.name
    )
    kind = "comparison" if f.comparison else "sweep" if f.points is not None else "run"
    main, more = _kpi_rows(f)
    context = {
        "title": f"{name}: {kind} report",
        "name": str(name),
        "kind": kind,
        "folder": f.path.name,
        "description": str(f.scenario.get("description") or ""),
        "seed": summary.get("seed", f.scenario.get("seed", (f.comparison or {}).get("seed"))),
        "replications": summary.get("replications", (f.comparison or {}).get("replications")),
        "kpi_rows": main,
        "more_rows": more,
        "run_figures": interval_figures(
            f.intervals or {}, sink, f.targets(), f.interval_s(), f.within_s(), kpis, groups
        ),
        "business_figures": business_figures(kpis, f.daily or {}, f.targets(), sink),
        "comparison": _comparison(f, sink),
        "sweep": _sweep(f, sink),
        "scenario_text": f.scenario_text,
        "experiment_text": f.experiment_text,
    }
    html = _environment().get_template("report.html.j2").render(**context)
    write_atomic(out, html)
    return out
