"""Figures of a sweep: each KPI against one parameter (lines with CI bands) and a KPI over two
parameters as a heat map with the target's contour; drawn with :mod:`sim.report.drawing`."""

from __future__ import annotations

import math

import numpy as np
from matplotlib import ticker

from sim.report.drawing import (
    PALETTE,
    FigureSink,
    axis_label,
    band_err,
    lighter,
    new_figure,
    present,
    target_line,
)
from sim.scenario.kpis import format_value, unit_of

__all__ = ["heat_map", "param_label", "sweep_lines"]


def _safe(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text)


def param_label(path: str, params: list[str]) -> str:
    """A sweep parameter as people say it: the last part of its path with spaces
    (``agents.groups.team.staffing`` -> ``staffing``), with the part before it when two
    parameters end alike (``team staffing``)."""
    parts = path.split(".")
    tail = parts[-1]
    if sum(q.split(".")[-1] == tail for q in params) > 1 and len(parts) > 1:
        tail = f"{parts[-2]} {tail}"
    return tail.replace("_", " ")


def sweep_lines(
    pts: dict, p: str, others: list[str], kpis: list[str], targets: dict, sink: FigureSink
) -> dict:
    """Each KPI against parameter ``p`` with CI bands; one line per combination of the
    ``others`` (shades of the KPI's colour), or points with error bars when there are many."""
    cols = 2 if len(kpis) > 1 else 1
    fig, axes = new_figure(rows=math.ceil(len(kpis) / cols), cols=cols, height=2.8)
    combos = sorted({tuple(pts[q][i] for q in others) for i in range(len(pts[p]))})
    lines = len(combos) <= 6
    for ax, k in zip(axes.flat, kpis, strict=False):
        scale = unit_of(k).scale
        base = PALETTE.get(k.split(".")[0], PALETTE["other"])
        mean, lo, hi = present(pts, k)
        for j, combo in enumerate(combos if lines else [()]):
            mask = np.ones(len(mean), bool)
            for q, v in zip(others, combo, strict=False):
                mask &= pts[q] == v
            order = np.argsort(pts[p][mask])
            x, m = pts[p][mask][order], mean[mask][order] * scale
            low, high = lo[mask][order] * scale, hi[mask][order] * scale
            if lines:
                colour = lighter(base, 0.6 * j / max(len(combos) - 1, 1))
                label = ", ".join(
                    f"{param_label(q, [p, *others])} {v:g}"
                    for q, v in zip(others, combo, strict=True)
                )
                ax.plot(x, m, "o-", color=colour, label=label or None, ms=3)
                ax.fill_between(x, low, high, color=colour, alpha=0.2, linewidth=0)
            else:
                ax.errorbar(
                    x, m, yerr=band_err((m, low, high)), fmt="o", color=base, ms=3, capsize=2
                )
        target_line(ax, targets.get(k), k)
        ax.set_xlabel(param_label(p, [p, *others]))
        ax.set_ylabel(axis_label(k), fontsize=9)
        ax.ticklabel_format(axis="y", useOffset=False, style="plain")  # no "+1e2" offsets
        if np.all(np.mod(pts[p][np.isfinite(pts[p])], 1) == 0):  # counts: whole-number ticks
            ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        if ax.get_legend_handles_labels()[0]:  # above the panel: never over its lines
            ax.legend(
                loc="lower left",
                bbox_to_anchor=(0, 1.01),
                ncols=2 if cols > 1 else 4,  # two panels a row: narrow legends
                fontsize=7,
                frameon=False,
                borderaxespad=0,
            )
    for ax in list(axes.flat)[len(kpis) :]:
        ax.set_visible(False)
    return sink.add(
        fig,
        f"sweep_{_safe(p)}",
        f"KPIs against {param_label(p, [p, *others])}",
        f"Each KPI's mean over replications at each value of {p}, with 95% CI "
        "bands"
        + (", one line per value of the other parameters" if others and lines else "")
        + "; dashed: the target.",
    )


def _decimals(values: np.ndarray, digits: int = 3) -> int:
    """Decimals that give the largest value ``digits`` significant digits and the smallest
    non-zero one at least two (so 0.4 beside 150 is 0.40, never 0), at most 4."""
    sizes = np.abs(values[np.isfinite(values) & (values != 0)])
    if not sizes.size:
        return 0

    def needed(value: float, digits: int) -> int:
        return digits - 1 - math.floor(math.log10(value))

    wanted = max(needed(float(sizes.max()), digits), needed(float(sizes.min()), 2))
    return int(min(max(wanted, 0), 4))


def heat_map(pts: dict, x: str, y: str, kpi: str, target, sink: FigureSink) -> dict | None:
    """Mean ``kpi`` over two parameters, with the target's contour: cells for a full grid,
    filled contours for scattered points (a Latin hypercube)."""
    scale = unit_of(kpi).scale
    mean = present(pts, kpi)[0] * scale
    level = target[1] * scale if target is not None else None
    xs, ys = np.unique(pts[x]), np.unique(pts[y])
    fig, axes = new_figure(height=4.2, width=8.0)
    ax = axes[0, 0]
    ax.grid(False)
    if len(xs) * len(ys) == len(mean) and len(xs) > 1 and len(ys) > 1:
        z = np.full((len(ys), len(xs)), np.nan)
        z[np.searchsorted(ys, pts[y]), np.searchsorted(xs, pts[x])] = mean
        mesh = ax.pcolormesh(
            np.arange(len(xs)), np.arange(len(ys)), z, cmap="viridis", shading="nearest"
        )
        middle = np.nanmean(z)
        decimals = _decimals(z)  # one format for every cell: 63.0 beside 78.3, not 63
        for (r, c), v in np.ndenumerate(z):
            if np.isfinite(v):
                ax.text(
                    c,
                    r,
                    f"{v:,.{decimals}f}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if v < middle else "black",
                )
        if level is not None and np.nanmin(z) < level < np.nanmax(z):
            ax.contour(
                np.arange(len(xs)),
                np.arange(len(ys)),
                np.ma.masked_invalid(z),
                levels=[level],
                colors=PALETTE["target"],
                linewidths=2,
            )
        ax.set_xticks(range(len(xs)), [f"{v:g}" for v in xs])
        ax.set_yticks(range(len(ys)), [f"{v:g}" for v in ys])
    elif np.sum(np.isfinite(mean)) >= 3:
        ok = np.isfinite(mean)
        try:
            mesh = ax.tricontourf(pts[x][ok], pts[y][ok], mean[ok], levels=12, cmap="viridis")
            if level is not None and np.nanmin(mean) < level < np.nanmax(mean):
                ax.tricontour(
                    pts[x][ok],
                    pts[y][ok],
                    mean[ok],
                    levels=[level],
                    colors=PALETTE["target"],
                    linewidths=2,
                )
        except (ValueError, RuntimeError):  # collinear points: no triangulation
            return None
        ax.plot(pts[x], pts[y], "k.", ms=3)
    else:
        return None
    fig.colorbar(mesh, ax=ax, label=axis_label(kpi))
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    caption = f"Mean {kpi} at each point."
    if target is not None:
        bound = {"at_least": "≥ ", "at_most": "≤ "}.get(target[0], "") + format_value(
            target[1], kpi
        )
        caption += f" The black line is the target ({bound}): points on its good side meet it."
    return sink.add(fig, f"heat_{_safe(f'{kpi}_{x}_{y}')}", f"{kpi} over {x} and {y}", caption)
