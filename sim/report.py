"""Reports: figures (matplotlib, Agg backend) and one self-contained HTML file per results folder.

Owns reading the files of a results folder (run, comparison or sweep) and drawing them; it never
imports the model, so it rebuilds a report from any folder that holds the files below.

Files read (every one optional except that a folder must hold at least one of the first three):

- ``summary.json`` (a run): ``{"scenario", "seed", "replications", "kpis": {name: {"mean",
  "ci95": [lo, hi], "target"?, "met"?}}}``. Per-channel business KPIs are named
  ``<kpi>.channel=<name>``: ``orders_created``, ``orders_attempted``, ``orders_delivered``,
  ``orders_failed``, ``orders_open`` (orders per replication over the measured horizon) draw
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

import base64
import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import numpy as np
from matplotlib import colors as mcolors
from matplotlib import ticker
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim.results import write_atomic
from sim.units import parse_duration

__all__ = ["PALETTE", "ReportError", "build_report", "read_table"]

# One colour per concept, used for that concept in every figure (Okabe-Ito, colour-blind safe).
PALETTE = {
    "offered": "#0072B2",
    "agents_on_duty": "#E69F00",
    "service_level": "#009E73",
    "abandon_rate": "#D55E00",
    "asa": "#CC79A7",
    "occupancy": "#56B4E9",
    "delivery_on_time": "#117733",
    "back_office_backlog": "#6F4E37",
    "cash_collected": "#B8860B",
    "pos_collected": "#4B0082",
    "cost_per_delivery": "#882255",
    "target": "#000000",
    "significant": "#000000",
    "not_significant": "#999999",
    "other": "#555555",
}
# Named things (agent groups, delivery channels, funnel stages) take these in their file order.
ENTITY_COLOURS = ("#332288", "#AA4499", "#999933", "#44AA99", "#DDCC77", "#88CCEE", "#CC6677")
FUNNEL = ("orders_created", "orders_attempted", "orders_delivered", "orders_failed", "orders_open")

# Display of a KPI by its base name (before the first "."): (scale, unit, description).
_SHARE = (100.0, "%", None)
KPI_DISPLAY = {
    "offered": (1.0, "calls/day", "calls reaching the queue"),
    "service_level": _SHARE,
    "answer_rate": _SHARE,
    "abandon_rate": _SHARE,
    "asa": (1.0, "s", "average speed of answer"),
    "mean_wait": (1.0, "s", "mean wait of all offered calls"),
    "occupancy": _SHARE,
    "first_contact_resolution": _SHARE,
    "delivery_on_time": _SHARE,
    "delivery_success": _SHARE,
    "first_attempt_success": _SHARE,
    "cost_per_delivery": (1.0, "money/delivery", None),
    "back_office_on_time": _SHARE,
    "lead_conversion": _SHARE,
    "calls": (1.0, "calls/day", "all calls including IVR"),
    "self_service_rate": _SHARE,
    "open_calls": (1.0, "calls", "still open at the horizon"),
    "mean_queue_length": (1.0, "calls", None),
    "overtime_hours": (1.0, "h/day", None),
}
MAIN_KPIS = tuple(list(KPI_DISPLAY)[:14])  # the spec's KPIs, in its order
_KEYS = ("point", "replications", "n", "seed", "runs")
DPI = 110
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
            raise ReportError(f"{path}: no summary.json, comparison.json or points.csv; "
                              "is this a results folder?")
        return f

    def targets(self) -> dict[str, tuple[str, float]]:
        """KPI -> (bound, value), from the scenario, sweep.json, then summary.json."""
        out: dict[str, tuple[str, float]] = {}
        sources = [self.scenario.get("targets"), (self.sweep or {}).get("targets")]
        for block in sources:
            for kpi, t in (block or {}).items():
                if isinstance(t, dict):
                    for bound in ("at_least", "at_most"):
                        if _is_num(t.get(bound)):
                            out[kpi] = (bound, float(t[bound]))
        for kpi, k in ((self.summary or {}).get("kpis") or {}).items():
            if kpi not in out and _is_num(k.get("target")):
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


def _is_num(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


# --- formatting -------------------------------------------------------------------------------


def _display(kpi: str) -> tuple[float, str, str | None]:
    return KPI_DISPLAY.get(kpi.split(".")[0], (1.0, "", None))


def _axis_label(kpi: str, what: str | None = None) -> str:
    unit = _display(kpi)[1]
    return f"{what or kpi.replace('_', ' ')} ({unit})" if unit else (what or kpi)


def fmt(value, kpi: str) -> str:
    """A KPI value for a table: shares in %, times in s, counts with thousands separators."""
    if not _is_num(value):
        return "–"
    scale, unit, _ = _display(kpi)
    v = value * scale
    if unit == "%":
        return f"{v:.1f}%"
    text = f"{v:,.2f}" if abs(v) < 100 else f"{v:,.0f}"
    return f"{text} {unit}" if unit else text


def _kpi_rows(folder: Folder) -> tuple[list[dict], list[dict]]:
    """The KPI table: spec KPIs and those with targets first, every other figure after."""
    kpis = (folder.summary or {}).get("kpis") or {}
    targets = folder.targets()
    main, more = [], []
    for name, k in kpis.items():
        ci = k.get("ci95") or [None, None]
        row = {"name": name, "mean": fmt(k.get("mean"), name),
               "ci": f"{fmt(ci[0], name)} … {fmt(ci[1], name)}" if _is_num(ci[0]) else "–",
               "target": "", "verdict": "", "status": "", "note": ""}
        if name in targets or _is_num(k.get("target")):
            bound, value = targets.get(name, ("target", k.get("target")))
            sign = {"at_least": "≥ ", "at_most": "≤ "}.get(bound, "")
            row["target"] = sign + fmt(value, name)
            met = k.get("met")
            row["status"] = {True: "met", False: "missed"}.get(met, "nodata")
            row["verdict"] = {True: "met", False: "missed"}.get(met, "no data")
            if met is not None and _is_num(ci[0]) and ci[0] <= value <= ci[1]:
                row["note"] = "CI spans target"
        (main if name in MAIN_KPIS or row["target"] else more).append(row)
    return main, more


# --- figures ----------------------------------------------------------------------------------


@dataclass
class _Figures:
    """Saves each figure as PNG and SVG in ``figures/`` and keeps the PNG for inlining."""

    out: Path
    items: list[dict] = field(default_factory=list)

    def add(self, fig: Figure, name: str, title: str, caption: str) -> dict:
        FigureCanvasAgg(fig)
        png, svg = io.BytesIO(), io.BytesIO()
        fig.savefig(png, format="png", dpi=DPI, metadata={"Software": None})
        fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
        write_atomic(self.out / f"{name}.png", png.getvalue())
        write_atomic(self.out / f"{name}.svg", svg.getvalue())
        src = "data:image/png;base64," + base64.b64encode(png.getvalue()).decode("ascii")
        item = {"name": name, "title": title, "caption": caption, "src": src}
        self.items.append(item)
        return item


def _figure(rows: int = 1, cols: int = 1, height: float = 3.4, width: float = 10.0, **kw):
    fig = Figure(figsize=(width, height * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False, **kw)
    for ax in axes.flat:
        ax.grid(True, color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    return fig, axes


def _series(table: dict, name: str):
    """(mean, low, high) columns of a figure, or None; low/high may be NaN."""
    if f"{name}_mean" in table:
        mean = table[f"{name}_mean"]
        lo = table.get(f"{name}_ci_low", np.full(len(mean), np.nan))
        hi = table.get(f"{name}_ci_high", np.full(len(mean), np.nan))
    elif name in table:
        mean = table[name]
        lo = hi = np.full(len(mean), np.nan)
    else:
        return None
    if mean.dtype == object or np.all(np.isnan(mean)):
        return None
    return mean, lo, hi


def _lighter(colour: str, amount: float) -> tuple:
    r, g, b = mcolors.to_rgb(colour)
    return (r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount)


class _Timeline:
    """The x axis of per-interval figures: days since the start of day 1, with day ticks."""

    def __init__(self, table: dict, interval_s: float | None):
        day = table["day"].astype(float)
        clock = [str(s) for s in table["start"]]
        minutes = np.array([int(s[:-3]) * 60 + int(s[-2:]) for s in clock], dtype=float)
        self.x = (day - 1) + minutes / 1440.0
        steps = np.diff(self.x)
        step = interval_s / 86400.0 if interval_s else (steps[steps > 0].min() if
                                                            len(steps) else 1 / 48)
        self.edges = np.append(self.x, self.x[-1] + step)
        weekday = table.get("weekday")
        self.names = {int(d): str(w).capitalize() for d, w in
                      zip(day, weekday if weekday is not None else [""] * len(day), strict=True)}

    def step(self, ax, values, lo=None, hi=None, colour="k", label=None, scale=1.0, clip=None):
        y = np.append(values, values[-1]) * scale
        ax.step(self.edges, y, where="post", color=colour, linewidth=1.3, label=label)
        if lo is not None and hi is not None and np.any(np.isfinite(lo)):
            lo2, hi2 = np.append(lo, lo[-1]) * scale, np.append(hi, hi[-1]) * scale
            if clip is not None:
                lo2, hi2 = np.clip(lo2, *clip), np.clip(hi2, *clip)
            ax.fill_between(self.edges, lo2, hi2, step="post", color=colour, alpha=0.2,
                            linewidth=0, label="95% CI" if label else None)

    def format(self, ax) -> None:
        span = self.edges[-1] - self.edges[0]
        ax.set_xlim(self.edges[0], self.edges[-1])
        if span > 3:
            every = max(1, math.ceil(span / 14))
            ax.xaxis.set_major_locator(ticker.MultipleLocator(every))
            ax.xaxis.set_minor_locator(ticker.MultipleLocator(0.25 if span <= 8 else 1))
            ax.xaxis.set_major_formatter(ticker.FuncFormatter(
                lambda v, _: f"{self.names.get(round(v) + 1, '')} d{round(v) + 1}"))
            ax.set_xlabel("day of the run (ticks at 00:00)")
        else:
            ax.xaxis.set_major_locator(ticker.MultipleLocator(0.25))
            ax.xaxis.set_major_formatter(ticker.FuncFormatter(
                lambda v, _: f"d{int(v + 1e-9) + 1} {round((v % 1) * 24) % 24:02d}:00"))
            ax.set_xlabel("day and time of day")


def _target_line(ax, target, kpi: str, scale: float = 1.0) -> None:
    if target is None:
        return
    bound, value = target
    sign = {"at_least": "≥ ", "at_most": "≤ "}.get(bound, "")
    ax.axhline(value * scale, color=PALETTE["target"], linestyle="--", linewidth=1.2,
               label=f"target {sign}{fmt(value, kpi)}")


def _run_figures(folder: Folder, figs: _Figures) -> list[dict]:
    table, targets = folder.intervals, folder.targets()
    if not table or "day" not in table or "start" not in table or not len(table["day"]):
        return []
    tl = _Timeline(table, folder.interval_s())
    minutes = (tl.edges[1] - tl.edges[0]) * 1440
    per = f"per {minutes:.0f} min" if minutes < 60 else f"per {minutes / 60:g} h"
    out = []

    offered, agents = _series(table, "offered"), _series(table, "agents_on_duty")
    if offered is not None:
        fig, axes = _figure()
        ax = axes[0, 0]
        tl.step(ax, *offered, colour=PALETTE["offered"], label="offered calls")
        ax.set_ylabel(f"offered calls ({per})", color=PALETTE["offered"])
        ax.set_ylim(bottom=0)
        handles, labels = ax.get_legend_handles_labels()
        if agents is not None:
            ax2 = ax.twinx()
            tl.step(ax2, agents[0], colour=PALETTE["agents_on_duty"], label="agents on duty")
            ax2.set_ylabel("agents on duty (agents)", color=PALETTE["agents_on_duty"])
            ax2.set_ylim(bottom=0)
            h2, l2 = ax2.get_legend_handles_labels()
            handles, labels = handles + h2, labels + l2
        ax.legend(handles, labels, loc="upper left", fontsize=8, ncols=3)
        tl.format(ax)
        out.append(figs.add(fig, "offered_vs_agents", "Offered calls and agents on duty",
                            f"Mean offered calls {per} with their 95% CI over replications, "
                            "and the agents on duty (scheduled plus overtime)."))

    sl = _series(table, "service_level")
    if sl is not None:
        fig, axes = _figure()
        ax = axes[0, 0]
        within = folder.within_s()
        what = f"answered within {within:g} s" if within else "answered in time"
        tl.step(ax, *sl, colour=PALETTE["service_level"], label="service level", scale=100,
                clip=(0, 100))
        _target_line(ax, targets.get("service_level"), "service_level", 100)
        ax.set_ylim(0, 102)
        ax.set_ylabel(f"service level (% {what})")
        ax.legend(loc="lower left", fontsize=8, ncols=3)
        tl.format(ax)
        out.append(figs.add(fig, "service_level", "Service level per interval",
                            "Share of offered calls answered in time (abandoned calls count as "
                            "not in time), mean and 95% CI band, with the target."))

    ab, asa = _series(table, "abandon_rate"), _series(table, "asa")
    if ab is not None or asa is not None:
        fig, axes = _figure(rows=2, height=2.6, sharex=True)
        if ab is not None:
            ax = axes[0, 0]
            tl.step(ax, *ab, colour=PALETTE["abandon_rate"], label="abandonment", scale=100,
                    clip=(0, 100))
            _target_line(ax, targets.get("abandon_rate"), "abandon_rate", 100)
            ax.set_ylim(bottom=0)
            ax.set_ylabel("abandoned (% of offered)")
            ax.legend(loc="upper left", fontsize=8, ncols=3)
        if asa is not None:
            ax = axes[1, 0]
            tl.step(ax, *asa, colour=PALETTE["asa"], label="ASA", clip=(0, np.inf))
            _target_line(ax, targets.get("asa"), "asa")
            ax.set_ylim(bottom=0)
            ax.set_ylabel("average speed of answer (s)")
            ax.legend(loc="upper left", fontsize=8, ncols=3)
        tl.format(axes[1, 0])
        out.append(figs.add(fig, "abandonment_asa", "Abandonment and speed of answer",
                            "Share of offered calls that hung up while waiting, and the mean "
                            "wait of answered calls, per interval with 95% CI bands."))

    groups = [n[len("occupancy.group="):-len("_mean")] for n in table
              if n.startswith("occupancy.group=") and n.endswith("_mean")]
    names = groups or [None]
    if any(_series(table, f"occupancy.group={g}" if g else "occupancy") for g in names):
        fig, axes = _figure()
        ax = axes[0, 0]
        overall = (folder.summary or {}).get("kpis") or {}
        single = list((folder.scenario.get("agents") or {}).get("groups") or {})
        for i, g in enumerate(names):
            s = _series(table, f"occupancy.group={g}" if g else "occupancy")
            if s is None:
                continue
            label = g or (single[0] if len(single) == 1 else "all agents")
            mean = (overall.get(f"occupancy.group={label}") or overall.get("occupancy") or {})
            if _is_num(mean.get("mean")):
                label += f" (overall {fmt(mean['mean'], 'occupancy')})"
            colour = ENTITY_COLOURS[i % len(ENTITY_COLOURS)] if g else PALETTE["occupancy"]
            tl.step(ax, *s, colour=colour, label=label, scale=100, clip=(0, 100))
        ax.set_ylim(0, 102)
        ax.set_ylabel("occupancy (% of time on duty busy)")
        ax.legend(loc="lower left", fontsize=8, ncols=3)
        tl.format(ax)
        out.append(figs.add(fig, "occupancy", "Occupancy per agent group",
                            "Time agents spend talking and in after-call work over their time "
                            "on duty, per interval with 95% CI bands."))
    return out


def _channels(kpis: dict, prefix: str) -> list[str]:
    return [k.split(".channel=", 1)[1] for k in kpis if k.startswith(f"{prefix}.channel=")]


def _business_figures(folder: Folder, figs: _Figures) -> list[dict]:
    kpis = (folder.summary or {}).get("kpis") or {}
    targets = folder.targets()
    out = []
    channels: list[str] = []
    for stage in (*FUNNEL, "cost_per_delivery"):
        channels += [c for c in _channels(kpis, stage) if c not in channels]
    colour = {c: ENTITY_COLOURS[i % len(ENTITY_COLOURS)] for i, c in enumerate(channels)}

    stages = [s for s in FUNNEL if _channels(kpis, s)]
    if stages:
        fig, axes = _figure(height=3.6)
        ax = axes[0, 0]
        width = 0.8 / max(len(channels), 1)
        for i, c in enumerate(channels):
            vals = [kpis.get(f"{s}.channel={c}", {}) for s in stages]
            mean = np.array([v.get("mean") if _is_num(v.get("mean")) else np.nan for v in vals])
            err = _errors(vals, mean)
            x = np.arange(len(stages)) + (i - (len(channels) - 1) / 2) * width
            ax.bar(x, mean, width, yerr=err, color=colour[c], label=c, capsize=2)
        ax.set_xticks(np.arange(len(stages)), [s.removeprefix("orders_") for s in stages])
        ax.set_ylabel("orders (mean per replication)")
        ax.legend(title="channel", fontsize=8)
        out.append(figs.add(fig, "order_funnel", "Order funnel by delivery channel",
                            "Orders created, attempted, delivered, failed and still open at the "
                            "horizon, per channel, with 95% CIs."))

    daily = folder.daily or {}
    if "day" in daily and len(daily["day"]):
        day = daily["day"].astype(float)
        ontime = _series(daily, "delivery_on_time")
        if ontime is not None:
            fig, axes = _figure(height=3.0)
            ax = axes[0, 0]
            ax.plot(day, ontime[0] * 100, "o-", color=PALETTE["delivery_on_time"],
                    label="on time")
            ax.fill_between(day, np.clip(ontime[1] * 100, 0, 100),
                            np.clip(ontime[2] * 100, 0, 100), color=PALETTE["delivery_on_time"],
                            alpha=0.2, linewidth=0, label="95% CI")
            _target_line(ax, targets.get("delivery_on_time"), "delivery_on_time", 100)
            ax.set_ylim(0, 102)
            ax.set_ylabel("delivered on time (% of orders)")
            _day_axis(ax, day)
            ax.legend(loc="lower left", fontsize=8, ncols=3)
            out.append(figs.add(fig, "delivery_on_time", "On-time delivery per day",
                                "Share of orders delivered within the promise, by day, with "
                                "95% CI band and target."))
        backlog = _series(daily, "back_office_backlog")
        if backlog is not None:
            fig, axes = _figure(height=3.0)
            ax = axes[0, 0]
            ax.bar(day, backlog[0], 0.7, yerr=_band_err(backlog), capsize=2,
                   color=PALETTE["back_office_backlog"], label="backlog at day's end")
            ax.set_ylabel("back-office backlog (items)")
            _day_axis(ax, day)
            ax.legend(loc="upper left", fontsize=8)
            out.append(figs.add(fig, "back_office_backlog", "Back-office backlog per day",
                                "Leads and work orders still open at the end of each day, "
                                "mean with 95% CI."))
        money = {m: _money(daily, m) for m in ("cash_collected", "pos_collected")}
        money = {m: s for m, s in money.items() if s is not None}
        if money:
            fig, axes = _figure(height=3.0)
            ax = axes[0, 0]
            width = 0.8 / len(money)
            for i, (m, s) in enumerate(money.items()):
                x = day + (i - (len(money) - 1) / 2) * width
                ax.bar(x, s[0], width, yerr=_band_err(s), capsize=2, color=PALETTE[m],
                       label={"cash_collected": "cash", "pos_collected": "POS"}[m])
            ax.set_ylabel("collected on delivery (money/day)")
            _day_axis(ax, day)
            ax.legend(loc="upper left", fontsize=8)
            out.append(figs.add(fig, "cash_pos", "Cash and POS collected per day",
                                "What the couriers collect at the door each day (what finance "
                                "must reconcile), mean with 95% CI."))

    costs = _channels(kpis, "cost_per_delivery")
    if costs:
        fig, axes = _figure(height=0.6 + 0.45 * len(costs))
        ax = axes[0, 0]
        vals = [kpis[f"cost_per_delivery.channel={c}"] for c in costs]
        mean = np.array([v.get("mean") if _is_num(v.get("mean")) else np.nan for v in vals])
        ax.barh(np.arange(len(costs)), mean, 0.6, xerr=_errors(vals, mean), capsize=3,
                color=[colour[c] for c in costs])
        ax.set_yticks(np.arange(len(costs)), costs)
        ax.invert_yaxis()
        ax.set_xlabel("cost per delivered order (money/delivery)")
        out.append(figs.add(fig, "cost_per_delivery", "Cost per delivery by channel",
                            "Delivery cost (all attempts) over orders delivered, per channel, "
                            "with 95% CIs."))
    return out


def _errors(vals: list[dict], mean: np.ndarray) -> np.ndarray:
    lo = np.array([(v.get("ci95") or [np.nan, np.nan])[0] for v in vals], dtype=float)
    hi = np.array([(v.get("ci95") or [np.nan, np.nan])[1] for v in vals], dtype=float)
    return np.nan_to_num(np.vstack([mean - lo, hi - mean]), nan=0.0).clip(min=0)


def _band_err(s) -> np.ndarray:
    return np.nan_to_num(np.vstack([s[0] - s[1], s[2] - s[0]]), nan=0.0).clip(min=0)


def _money(daily: dict, name: str):
    s = _series(daily, name)
    if s is not None:
        return s
    parts = [_series(daily, k[:-5]) for k in daily
             if k.startswith(f"{name}.channel=") and k.endswith("_mean")]
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    total = np.nansum([p[0] for p in parts], axis=0)
    return total, np.full(len(total), np.nan), np.full(len(total), np.nan)


def _day_axis(ax, day: np.ndarray) -> None:
    ax.set_xlabel("day of the run")
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True, nbins=15))


# --- comparison -------------------------------------------------------------------------------


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


def _comparison(folder: Folder, figs: _Figures) -> dict | None:
    if folder.comparison is None:
        return None
    pairs = comparison_pairs(folder.comparison)
    kpis: list[str] = []
    for _, diffs in pairs:
        kpis += [k for k in diffs if k not in kpis and _is_num((diffs[k] or {}).get("mean"))]
    kpis.sort(key=lambda k: (MAIN_KPIS.index(k) if k in MAIN_KPIS else len(MAIN_KPIS), k))
    rows = []
    for label, diffs in pairs:
        for k in kpis:
            d = diffs.get(k) or {}
            ci = d.get("ci95") or [None, None]
            scale, unit, _ = _display(k)
            unit = "pp" if unit == "%" else unit
            rows.append({"pair": label, "kpi": k, "mean": _signed(d.get("mean"), scale, unit),
                         "ci": f"{_signed(ci[0], scale, unit)} … {_signed(ci[1], scale, unit)}"
                         if _is_num(ci[0]) else "–",
                         "significant": "yes" if d.get("significant") else "no"})
    figure = None
    if kpis:
        fig, axes = _figure(rows=len(kpis), height=0.55 + 0.32 * len(pairs), width=9.0)
        for ax, k in zip(axes[:, 0], kpis, strict=True):
            scale, unit, _ = _display(k)
            for i, (_, diffs) in enumerate(pairs):
                d = diffs.get(k) or {}
                if not _is_num(d.get("mean")):
                    continue
                ci = d.get("ci95") or [d["mean"], d["mean"]]
                m, lo, hi = d["mean"] * scale, ci[0] * scale, ci[1] * scale
                c = PALETTE["significant" if d.get("significant") else "not_significant"]
                ax.errorbar([m], [i], xerr=[[max(m - lo, 0)], [max(hi - m, 0)]], fmt="o",
                            color=c, mfc=c if d.get("significant") else "white", capsize=3)
            ax.axvline(0, color=PALETTE["target"], linewidth=0.8)
            ax.set_yticks(range(len(pairs)), [p[0] for p in pairs], fontsize=8)
            ax.set_ylim(len(pairs) - 0.5, -0.5)
            ax.set_xlabel(f"Δ {k} ({'percentage points' if unit == '%' else unit or 'value'})",
                          fontsize=8)
        figure = figs.add(fig, "comparison_forest", "Paired differences (forest plot)",
                          "Mean difference (alternative − baseline) over common-random-number "
                          "replications with its 95% CI; filled = significant, hollow = not.")
    return {"rows": rows, "figure": figure, "pairs": [p[0] for p in pairs]}


def _signed(v, scale: float, unit: str) -> str:
    return f"{v * scale:+,.2f} {unit}".strip() if _is_num(v) else "–"


# --- sweep ------------------------------------------------------------------------------------


def _sweep(folder: Folder, figs: _Figures) -> dict | None:
    pts = folder.points
    if pts is None:
        return None
    suffix = ("_mean", "_ci_low", "_ci_high")
    kpis = [c[:-5] for c in pts if c.endswith("_mean") and _series(pts, c[:-5]) is not None]
    params = [c for c in pts if not c.endswith(suffix) and c not in _KEYS]
    numeric = [p for p in params if pts[p].dtype != object
               and len(np.unique(pts[p][~np.isnan(pts[p])])) > 1]
    targets = folder.targets()
    shown = sorted([k for k in kpis if k in targets or k in MAIN_KPIS],
                   key=lambda k: (k not in targets, MAIN_KPIS.index(k) if k in MAIN_KPIS else 99))
    shown = shown[:8] or kpis[:4]
    figures = []
    for p in numeric:
        figures.append(_sweep_lines(pts, p, [q for q in numeric if q != p], shown, targets, figs))
    if len(numeric) >= 2:
        x, y = numeric[:2]
        rest = [q for q in numeric[2:]]
        if not rest:
            for k in [k for k in shown if k in targets] or shown[:1]:
                figures.append(_heat_map(pts, x, y, k, targets.get(k), figs))
    head = params + [f"{k}_mean" for k in shown]
    n = len(next(iter(pts.values()))) if pts else 0
    table = [[_cell(pts[c][i], c) for c in head] for i in range(min(n, 500))]
    return {"figures": [f for f in figures if f], "params": params, "kpis": shown,
            "head": head, "table": table, "points": n}


def _cell(v, column: str) -> str:
    if isinstance(v, str):
        return v
    if not _is_num(float(v)):
        return "–"
    return fmt(float(v), column[:-5]) if column.endswith("_mean") else f"{float(v):g}"


def _sweep_lines(pts, p, others, kpis, targets, figs) -> dict:
    cols = 2 if len(kpis) > 1 else 1
    rows = math.ceil(len(kpis) / cols)
    fig, axes = _figure(rows=rows, cols=cols, height=2.8, width=10.0)
    combos = sorted({tuple(pts[q][i] for q in others) for i in range(len(pts[p]))})
    lines = len(combos) <= 6
    for ax, k in zip(axes.flat, kpis, strict=False):
        scale = _display(k)[0]
        base = PALETTE.get(k.split(".")[0], PALETTE["other"])
        mean, lo, hi = _series(pts, k)
        for j, combo in enumerate(combos if lines else [None]):
            mask = np.ones(len(mean), bool) if combo is None else np.all(
                [pts[q] == v for q, v in zip(others, combo, strict=True)], axis=0)
            order = np.argsort(pts[p][mask])
            x = pts[p][mask][order]
            colour = _lighter(base, 0.6 * j / max(len(combos) - 1, 1)) if lines else base
            label = ", ".join(f"{q}={v:g}" for q, v in zip(others, combo, strict=True)) \
                if combo else None
            if lines:
                ax.plot(x, mean[mask][order] * scale, "o-", color=colour, label=label, ms=3)
                ax.fill_between(x, lo[mask][order] * scale, hi[mask][order] * scale,
                                color=colour, alpha=0.2, linewidth=0)
            else:
                m = mean[mask][order] * scale
                err = _band_err((m, lo[mask][order] * scale, hi[mask][order] * scale))
                ax.errorbar(x, m, yerr=err, fmt="o", color=colour, ms=3, capsize=2)
        _target_line(ax, targets.get(k), k, scale)
        ax.set_xlabel(p)
        ax.set_ylabel(_axis_label(k), fontsize=8)
        if (lines and others) or k in targets:
            ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(kpis):]:
        ax.set_visible(False)
    safe = "".join(ch if ch.isalnum() else "_" for ch in p)
    return figs.add(fig, f"sweep_{safe}", f"KPIs against {p}",
                    f"Each KPI's mean over replications at each value of {p}, with 95% CI "
                    "bands" + (", one line per value of the other parameters" if others else "")
                    + "; dashed: the target.")


def _heat_map(pts, x, y, k, target, figs) -> dict | None:
    scale = _display(k)[0]
    mean = _series(pts, k)[0] * scale
    xs, ys = np.unique(pts[x]), np.unique(pts[y])
    fig, axes = _figure(height=4.2, width=8.0)
    ax = axes[0, 0]
    ax.grid(False)
    full = len(xs) * len(ys) == len(mean) and len(xs) > 1 and len(ys) > 1
    if full:
        z = np.full((len(ys), len(xs)), np.nan)
        for i in range(len(mean)):
            z[np.searchsorted(ys, pts[y][i]), np.searchsorted(xs, pts[x][i])] = mean[i]
        mesh = ax.pcolormesh(np.arange(len(xs)), np.arange(len(ys)), z, cmap="viridis",
                             shading="nearest")
        for (r, c), v in np.ndenumerate(z):
            if np.isfinite(v):
                ax.text(c, r, f"{v:.3g}", ha="center", va="center", fontsize=7,
                        color="white" if v < np.nanmean(z) else "black")
        if target is not None and np.nanmin(z) < target[1] * scale < np.nanmax(z):
            ax.contour(np.arange(len(xs)), np.arange(len(ys)), np.ma.masked_invalid(z),
                       levels=[target[1] * scale], colors=PALETTE["target"], linewidths=2)
        ax.set_xticks(range(len(xs)), [f"{v:g}" for v in xs])
        ax.set_yticks(range(len(ys)), [f"{v:g}" for v in ys])
    elif len(mean) >= 3:
        ok = np.isfinite(mean)
        try:
            mesh = ax.tricontourf(pts[x][ok], pts[y][ok], mean[ok], levels=12, cmap="viridis")
            if target is not None and np.nanmin(mean) < target[1] * scale < np.nanmax(mean):
                ax.tricontour(pts[x][ok], pts[y][ok], mean[ok], levels=[target[1] * scale],
                              colors=PALETTE["target"], linewidths=2)
        except (ValueError, RuntimeError):  # collinear points: no triangulation
            return None
        ax.plot(pts[x], pts[y], "k.", ms=3)
    else:
        return None
    fig.colorbar(mesh, ax=ax, label=_axis_label(k))
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    bound = ""
    if target is not None:
        bound = {"at_least": "≥ ", "at_most": "≤ "}.get(target[0], "") + fmt(target[1], k)
    safe = "".join(ch if ch.isalnum() else "_" for ch in f"{k}_{x}_{y}")
    return figs.add(fig, f"heat_{safe}", f"{k} over {x} and {y}",
                    f"Mean {k} at each point" + (f"; the black line is the target ({bound}): "
                                                 "the points on its good side meet it."
                                                 if target else "."))


# --- the report -------------------------------------------------------------------------------


def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(_TEMPLATES), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True,
                              lstrip_blocks=True)


def build_report(folder: str | Path, out: str | Path | None = None) -> Path:
    """Write ``report.html`` (and ``figures/*.png|svg``) for a results folder; return its path.

    The HTML is self-contained: figures are inline base64 PNG, styles inline, no URL of any
    kind, and every text that comes from files (scenario names, descriptions, YAML) is escaped.

    Raises
    ------
    ReportError
        when the folder holds none of ``summary.json``, ``comparison.json``, ``points.csv``.
    """
    f = Folder.read(folder)
    out = Path(out) if out else f.path / "report.html"
    figs = _Figures(out.parent / "figures")
    summary = f.summary or {}
    name = (summary.get("scenario") or f.scenario.get("name")
            or (f.comparison or {}).get("name") or (f.sweep or {}).get("name") or f.path.name)
    kind = "comparison" if f.comparison else "sweep" if f.points is not None else "run"
    main, more = _kpi_rows(f)
    context = {
        "title": f"{name}: {kind} report",
        "name": str(name),
        "kind": kind,
        "folder": f.path.name,
        "description": str(f.scenario.get("description") or ""),
        "seed": summary.get("seed", f.scenario.get("seed", (f.comparison or {}).get("seed"))),
        "replications": summary.get("replications",
                                    (f.comparison or {}).get("replications")),
        "kpi_rows": main,
        "more_rows": more,
        "run_figures": _run_figures(f, figs),
        "business_figures": _business_figures(f, figs),
        "comparison": _comparison(f, figs),
        "sweep": _sweep(f, figs),
        "scenario_text": f.scenario_text,
        "experiment_text": f.experiment_text,
        "palette": PALETTE,
    }
    html = _environment().get_template("report.html.j2").render(**context)
    write_atomic(out, html)
    return out
