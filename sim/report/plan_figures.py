"""Figures for planners: a weekday x interval heat map of a KPI against its target, the plans of
a comparison overlaid interval by interval, and compact small multiples of differences.

Separate from :mod:`sim.report.plots` (the figures of one run over time) because these answer
"where and how much does the plan miss" and "what does the other plan change where".
"""

from __future__ import annotations

import numpy as np
from matplotlib import colors as mcolors
from matplotlib import ticker

from sim.report.drawing import ENTITY_COLOURS, PALETTE, FigureSink, legend, new_figure, series
from sim.report.numbers import column_unit
from sim.scenario.kpis import unit_label, unit_of

__all__ = ["attainment_heat_map", "overlay", "small_multiples"]


def _weekday_grid(table: dict, values: np.ndarray):
    """(weekdays, starts, grid) of ``values`` averaged over the days of each weekday."""
    weekdays = list(dict.fromkeys(str(w) for w in table["weekday"]))
    starts = sorted(set(str(s) for s in table["start"]))
    grid = np.full((len(weekdays), len(starts)), np.nan)
    wd = np.array([str(w) for w in table["weekday"]])
    st = np.array([str(s) for s in table["start"]])
    for r, w in enumerate(weekdays):
        for c, s in enumerate(starts):
            cell = values[(wd == w) & (st == s)]
            cell = cell[np.isfinite(cell)]
            if len(cell):
                grid[r, c] = cell.mean()
    return weekdays, starts, grid


def attainment_heat_map(table: dict, kpi: str, target, sink: FigureSink) -> dict | None:
    """``kpi`` by weekday (rows) and time of day (columns), coloured against the target: red
    below an at-least target (above an at-most one), green on the good side, white at it."""
    s = series(table, kpi)
    if s is None or "weekday" not in table or "start" not in table or target is None:
        return None
    bound, level = target
    scale, unit = unit_of(kpi).scale, unit_label(kpi)
    weekdays, starts, grid = _weekday_grid(table, s[0] * scale)
    if not np.isfinite(grid).any():
        return None
    level *= scale
    low, high = float(np.nanmin(grid)), float(np.nanmax(grid))
    norm = mcolors.TwoSlopeNorm(
        vcenter=level, vmin=min(low, level - 1e-9), vmax=max(high, level + 1e-9)
    )
    cmap = "RdYlGn" if bound == "at_least" else "RdYlGn_r"
    fig, axes = new_figure(height=0.42 * len(weekdays) + 1.4, width=10.5)
    ax = axes[0, 0]
    ax.grid(False)
    mesh = ax.pcolormesh(np.ma.masked_invalid(grid), cmap=cmap, norm=norm, edgecolors="white")
    missed = grid < level if bound == "at_least" else grid > level
    rows, cols = np.nonzero(missed & np.isfinite(grid))
    ax.plot(cols + 0.5, rows + 0.5, "x", color="black", ms=4, mew=0.8, label="misses the target")
    step = max(1, len(starts) // 12)
    ax.set_xticks(np.arange(0, len(starts), step) + 0.5, starts[::step], fontsize=8)
    ax.set_yticks(np.arange(len(weekdays)) + 0.5, [w.capitalize() for w in weekdays])
    ax.invert_yaxis()
    ax.set_xlabel("interval starting at")
    bar = fig.colorbar(mesh, ax=ax, pad=0.01)
    bar.set_label(f"{kpi} ({unit})" if unit else kpi, fontsize=8)
    bar.ax.axhline(level, color="black", linewidth=1.5)
    legend(fig, ax)
    sign = "≥" if bound == "at_least" else "≤"
    return sink.add(
        fig,
        f"attainment_{kpi.replace('.', '_').replace('=', '_')}",
        f"{kpi} by weekday and interval against the target ({sign} {level:g}{unit})",
        "Mean over replications (and over the days of each weekday); x: the interval misses "
        "the target. The colour scale is centred on the target (black line on the scale).",
    )


PANEL_NAMES = {
    "service_level": "service level",
    "abandon_rate": "abandonment",
    "agents_on_duty": "agents on duty",
}


def _listed(names: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return " and ".join(filter(None, [", ".join(names[:-1]), names[-1]]))


def overlay(tables: dict[str, dict], sink: FigureSink, targets: dict) -> dict | None:
    """The plans' average day on shared axes: service level, abandonment (when any plan has
    some) and agents on duty, one colour per plan, the target dashed."""

    def drawn(kpi: str) -> bool:  # abandonment only when some plan has any
        found = [s[0] for t in tables.values() if (s := series(t, kpi)) is not None]
        if kpi == "abandon_rate":
            return any(np.nansum(np.abs(values)) > 0 for values in found)
        return bool(found)

    shown = [k for k in ("service_level", "abandon_rate", "agents_on_duty") if drawn(k)]
    if not shown or not tables:
        return None
    fig, axes = new_figure(rows=len(shown), height=2.3, width=10.5, sharex=True)
    for row, kpi in enumerate(shown):
        ax = axes[row, 0]
        scale, unit = unit_of(kpi).scale, column_unit(kpi)
        for i, (name, table) in enumerate(tables.items()):
            s = series(table, kpi)
            if s is None:
                continue
            starts = sorted(set(str(x) for x in table["start"]))
            _, _, grid = _weekday_grid({**table, "weekday": ["all"] * len(s[0])}, s[0] * scale)
            x = np.arange(len(starts))
            colour = ENTITY_COLOURS[i % len(ENTITY_COLOURS)]
            ax.step(x, grid[0], where="post", color=colour, label=name if row == 0 else None)
            ax.set_xticks(x[:: max(1, len(x) // 12)], starts[:: max(1, len(x) // 12)], fontsize=8)
        if kpi in targets:
            ax.axhline(targets[kpi][1] * scale, color=PALETTE["target"], ls="--", lw=1)
        ax.set_ylabel(f"{kpi.replace('_', ' ')}\n({unit})", fontsize=8)
        if kpi == "agents_on_duty":  # whole people: no 14.2 agents on the scale
            ax.yaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    axes[-1, 0].set_xlabel("interval starting at (average over the days of the run)")
    legend(fig, *axes[:, 0])
    return sink.add(
        fig,
        "compare_overlay",
        "The plans interval by interval",
        f"{_listed([PANEL_NAMES[k] for k in shown]).capitalize()} per interval of the average "
        "day, one line per plan; dashed: the target.",
    )


def small_multiples(
    areas: dict[str, list[str]], pairs: list[tuple[str, dict]], sink: FigureSink
) -> dict | None:
    """One panel per area (calls, agents, orders, ...): each KPI's difference with its 95 % CI,
    in the KPI's unit, one marker per pair; KPIs whose difference is exactly 0 everywhere are
    left out (they take room and say nothing)."""
    panels = []
    for area, kpis in areas.items():
        keep = [
            k for k in kpis
            if any(_num((d.get(k) or {}).get("mean")) not in (None, 0.0) for _, d in pairs)
        ]  # fmt: skip
        if keep:
            panels.append((area, keep))
    if not panels:
        return None
    cols = 3
    rows = (len(panels) + cols - 1) // cols
    tall = [max(len(k) for _, k in panels[r * cols : (r + 1) * cols]) + 2 for r in range(rows)]
    fig, axes = new_figure(
        rows=rows,
        cols=cols,
        height=0.3 * sum(tall) / rows + 0.3,
        width=11.0,
        gridspec_kw={"height_ratios": tall},
    )
    for ax, (area, kpis) in zip(axes.flat, panels, strict=False):
        y = np.arange(len(kpis))
        for j, (_label, diffs) in enumerate(pairs):
            offset = (j - (len(pairs) - 1) / 2) * 0.25
            for i, k in enumerate(kpis):
                d = diffs.get(k) or {}
                mean, ci = _num(d.get("mean")), d.get("ci95") or [None, None]
                if mean is None:
                    continue
                scale = unit_of(k).scale
                colour = PALETTE["significant" if d.get("significant") else "not_significant"]
                lo, hi = _num(ci[0]), _num(ci[1])
                if lo is not None and hi is not None:
                    ax.plot([lo * scale, hi * scale], [i + offset] * 2, color=colour, lw=1.5)
                marker = "os^Dv"[j % 5]
                ax.plot(mean * scale, i + offset, marker, color=colour, ms=4)
        ax.axvline(0, color="#888888", lw=0.8)
        ax.set_yticks(y, [k.replace("_", " ") for k in kpis], fontsize=7)
        ax.tick_params(axis="x", labelsize=7)
        ax.xaxis.set_major_locator(ticker.MaxNLocator(4))
        ax.invert_yaxis()
        ax.set_title(area, fontsize=9, loc="left")
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    return sink.add(
        fig,
        "compare_differences",
        "Differences by area",
        "Each KPI's paired difference (alternative − baseline) with its 95% CI, in the KPI's "
        "unit (shares in percentage points); black: significant; KPIs that do not change "
        "are left out; markers o s ^ for the alternatives in table order.",
    )


def _num(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None
