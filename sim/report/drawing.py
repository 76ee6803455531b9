"""Shared drawing of the report figures: one colour per concept, a styled empty figure, one
legend above the plots, KPI axis labels and target lines. Figures are saved as PNG and SVG by
:class:`sim.report.render.FigureSink` (re-exported here).

The figure modules (:mod:`sim.report.plots`, :mod:`sim.report.sweep_figures`,
:mod:`sim.report.plan_figures`, the fit and staffing reports) draw with these; this module
knows nothing of files or folders (see :mod:`sim.report.html`) nor of the model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib import colors as mcolors
from matplotlib import ticker
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from sim.report.render import DPI, FigureSink
from sim.scenario.kpis import format_value, unit_of

__all__ = [
    "DPI",
    "ENTITY_COLOURS",
    "PALETTE",
    "FigureSink",
    "above_note",
    "axis_label",
    "band_err",
    "legend",
    "lighter",
    "mark_above",
    "new_figure",
    "present",
    "series",
    "target_line",
    "thousands",
]

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
    "pos_collected": "#2F4F4F",
    "cost_per_delivery": "#882255",
    "target": "#000000",
    "significant": "#000000",
    "not_significant": "#999999",
    "other": "#555555",
}
# Named things (agent groups, delivery channels) take these in the order the file lists them.
ENTITY_COLOURS = ("#332288", "#AA4499", "#999933", "#44AA99", "#DDCC77", "#88CCEE", "#CC6677")


def axis_label(kpi: str) -> str:
    """``kpi`` with spaces and its unit, for an axis."""
    unit = unit_of(kpi).label()
    return f"{kpi.replace('_', ' ')} ({unit})" if unit else kpi


def new_figure(rows: int = 1, cols: int = 1, height: float = 3.2, width: float = 10.0, **kw):
    """A figure of ``rows`` x ``cols`` axes (always 2-d) with a light grid and no top/right
    spines; ``kw`` goes to ``Figure.subplots`` (e.g. ``sharex``)."""
    fig = Figure(figsize=(width, height * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False, **kw)
    for ax in axes.flat:
        ax.grid(True, color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    return fig, axes


def legend(fig: Figure, *axes, ci: bool = False) -> None:
    """One legend above the plots, outside the data, for all ``axes`` (and the CI shading);
    a label drawn on several axes is listed once."""
    handles: list[Any] = []  # matplotlib artists
    labels: list[str] = []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:  # axes drawing the same thing list it once
                handles.append(h)
                labels.append(lab)
    if ci:
        handles.append(Patch(facecolor="#888888", alpha=0.3, linewidth=0))
        labels.append("shaded: 95% CI")
    if handles:
        fig.legend(
            handles,
            labels,
            loc="outside upper left",
            ncols=min(len(handles), 5),
            fontsize=8,
            frameon=False,
        )


def mark_above(ax, x, values: np.ndarray, top: float, colour: str) -> int:
    """Mark with ▲ at the top of the scale the points of ``values`` above ``top`` (a scale cut
    so that a few far values do not flatten the rest); return how many there are."""
    above = np.isfinite(values) & (values > top)
    if above.any():
        ax.plot(x[above], np.full(above.sum(), top), "^", color=colour, ms=6, zorder=5)
    return int(above.sum())


def above_note(ax, text: str) -> None:
    """The ▲ note of :func:`mark_above`, in the axis's top left corner, over the data."""
    ax.text(
        0.01,
        0.97,
        text,
        transform=ax.transAxes,
        va="top",
        fontsize=8,
        color="#333333",
        bbox=dict(facecolor="white", edgecolor="none", alpha=0.8, pad=1),
    )


def series(table: dict, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(mean, low, high) of a figure in a table with ``_mean/_ci_low/_ci_high`` columns.

    A bare ``name`` column is accepted (no interval); None when absent or all missing.
    """
    if f"{name}_mean" in table:
        mean = table[f"{name}_mean"]
        lo = table.get(f"{name}_ci_low", np.full(len(mean), np.nan))
        hi = table.get(f"{name}_ci_high", np.full(len(mean), np.nan))
    elif name in table:
        mean = table[name]
        lo = hi = np.full(len(mean), np.nan)
    else:
        return None
    if mean.dtype == object or not np.any(np.isfinite(mean)):
        return None
    return mean, lo, hi


def present(table: dict, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`series` of a figure the caller knows is in the table."""
    found = series(table, name)
    assert found is not None, name
    return found


def lighter(colour: str, amount: float) -> tuple:
    """``colour`` mixed with white: ``amount`` 0 keeps it, 1 gives white."""
    r, g, b = mcolors.to_rgb(colour)
    return (r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount)


def target_line(ax, target, kpi: str) -> None:
    """The target of ``kpi`` as a dashed line, on the axis's scale (shares in %)."""
    if target is None:
        return
    bound, value = target
    sign = {"at_least": "≥ ", "at_most": "≤ "}.get(bound, "")
    ax.axhline(
        value * unit_of(kpi).scale,
        color=PALETTE["target"],
        linestyle="--",
        linewidth=1.2,
        label=f"target {sign}{format_value(value, kpi)}",
    )


def band_err(s) -> np.ndarray:
    """Error-bar lengths (below, above) of a (mean, low, high) series; 0 where unknown."""
    return np.nan_to_num(np.vstack([s[0] - s[1], s[2] - s[0]]), nan=0.0).clip(min=0)


def thousands(axis) -> None:
    """Tick labels of an amount with thousands separators, as the tables write it (60,000)."""
    axis.set_major_formatter(
        ticker.FuncFormatter(lambda v, _: f"{v:,.0f}" if abs(v) >= 100 else f"{v:,g}")
    )
