"""Figures of one run's report: per interval (offered vs agents, service level, abandonment,
ASA, occupancy) and business flows (order funnel, cost, on-time, backlog, money per day).

Drawn from plain columns and KPI dicts with :mod:`sim.report.drawing`; it knows nothing of
files or folders (see :mod:`sim.report.html`) nor of the model.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib import ticker

from sim.report.drawing import (
    ENTITY_COLOURS,
    PALETTE,
    FigureSink,
    band_err,
    legend,
    new_figure,
    present,
    series,
    target_line,
    thousands,
)
from sim.report.numbers import is_num, when
from sim.scenario.kpis import format_value, unit_of

__all__ = ["average_day", "business_figures", "interval_figures"]

FUNNEL = ("orders_created", "orders_attempted", "orders_delivered", "orders_failed", "orders_open")

AVERAGE_DAY_AFTER = 8  # days: longer runs are drawn as an average day, not day after day
DAY_TICKS = 12  # labelled days at most on a per-day axis ("Fri (day 5)" takes room)


def _minutes(clock: str) -> int:
    hours, minutes = str(clock).split(":")
    return int(hours) * 60 + int(minutes)


def average_day(table: dict) -> dict:
    """Per-interval columns averaged over days, by time of day.

    The mean is the mean of the days' means. Its 95% half-width is sqrt(sum h_d^2) / D from
    the days' half-widths h_d, which treats days as independent (they are apart by a night of
    calls, so the correlation between the same interval on two days is small).
    """
    clocks = [str(s) for s in table["start"]]
    order = sorted(set(clocks), key=_minutes)
    where = {c: i for i, c in enumerate(order)}
    idx = np.array([where[c] for c in clocks], dtype=np.int64)
    n = len(order)

    def by_time(values):
        ok = np.isfinite(values)
        total = np.bincount(idx[ok], weights=values[ok], minlength=n)
        return total, np.bincount(idx[ok], minlength=n).astype(float)

    out: dict = {
        "day": np.ones(n),
        "weekday": np.array([""] * n, dtype=object),
        "start": np.array(order, dtype=object),
    }
    for column in table:
        if not column.endswith("_mean"):
            continue
        s = series(table, column[:-5])
        if s is None:
            continue
        total, count = by_time(s[0])
        half2, count_h = by_time(((s[2] - s[1]) / 2) ** 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = total / count
            half = np.where(count_h > 0, np.sqrt(half2) / count_h, np.nan)
        out[column] = mean
        out[f"{column[:-5]}_ci_low"], out[f"{column[:-5]}_ci_high"] = mean - half, mean + half
    return out


class _Timeline:
    """The x axis of per-interval figures: days since the start of day 1 (0 = day 1, 00:00)."""

    def __init__(self, table: dict, interval_s: float | None, days_averaged: int = 0):
        day = table["day"].astype(float)
        minutes = np.array([_minutes(s) for s in table["start"]], dtype=float)
        self.x = (day - 1) + minutes / 1440.0
        steps = np.diff(self.x)
        step = (
            interval_s / 86400.0
            if interval_s
            else (steps[steps > 0].min() if np.any(steps > 0) else 1 / 48)
        )
        self.edges = np.append(self.x, self.x[-1] + step)
        self.days_averaged = days_averaged
        weekday = table.get("weekday", [""] * len(day))
        self.names = {int(d): str(w).capitalize() for d, w in zip(day, weekday, strict=True)}

    @property
    def per(self) -> str:
        minutes = (self.edges[1] - self.edges[0]) * 1440
        return f"per {minutes:.0f} min" if minutes < 60 else f"per {minutes / 60:g} h"

    def step(self, ax, values, lo=None, hi=None, colour="k", label=None, scale=1.0, clip=None):
        """The values as steps over their intervals, with the 95% CI as a band."""
        y = np.append(values, values[-1]) * scale
        ax.step(self.edges, y, where="post", color=colour, linewidth=1.3, label=label)
        if lo is not None and hi is not None and np.any(np.isfinite(lo)):
            lo2, hi2 = np.append(lo, lo[-1]) * scale, np.append(hi, hi[-1]) * scale
            if clip is not None:
                lo2, hi2 = np.clip(lo2, *clip), np.clip(hi2, *clip)
            ax.fill_between(self.edges, lo2, hi2, step="post", color=colour, alpha=0.2, linewidth=0)

    def format(self, ax) -> None:
        span = self.edges[-1] - self.edges[0]
        ax.set_xlim(self.edges[0], self.edges[-1])
        if self.days_averaged:
            ax.xaxis.set_major_locator(ticker.MultipleLocator(0.125))
            ax.xaxis.set_major_formatter(
                ticker.FuncFormatter(
                    lambda v, _: f"{round(v * 24) % 24:02d}:00" if v < 1 - 1e-9 else "24:00"
                )
            )
            ax.set_xlabel(f"time of day (mean over {self.days_averaged} days)")
        elif span > 3:
            every = max(1, math.ceil(span / 14))
            ax.xaxis.set_major_locator(ticker.MultipleLocator(every))
            ax.xaxis.set_minor_locator(ticker.MultipleLocator(0.25))
            ax.xaxis.set_major_formatter(
                ticker.FuncFormatter(
                    lambda v, _: f"{self.names.get(round(v) + 1, '')} d{round(v) + 1}"
                )
            )
            ax.set_xlabel("day of the run (major ticks at 00:00, minor every 6 h)")
        else:
            ax.xaxis.set_major_locator(ticker.MultipleLocator(0.25))
            ax.xaxis.set_major_formatter(
                ticker.FuncFormatter(
                    lambda v, _: f"d{int(v + 1e-9) + 1} {round((v % 1) * 24) % 24:02d}:00"
                )
            )
            ax.set_xlabel("day and time of day")


def _share_step(
    tl: _Timeline,
    ax,
    s: tuple[np.ndarray, np.ndarray, np.ndarray],
    kpi: str,
    label: str,
    targets: dict,
) -> None:
    """A share KPI per interval in % (clipped to 0-100) in its colour, with its target."""
    tl.step(ax, *s, colour=PALETTE[kpi], label=label, scale=100, clip=(0, 100))
    target_line(ax, targets.get(kpi), kpi)


def interval_figures(
    table: dict,
    sink: FigureSink,
    targets: dict,
    interval_s: float | None,
    within_s: float | None,
    overall: dict,
    groups: list[str],
) -> list[dict]:
    """Offered vs agents, service level, abandonment and ASA, occupancy per group.

    ``table`` holds intervals.csv's columns; ``targets`` maps KPI to (bound, value);
    ``overall`` is summary.json's ``kpis``; ``groups`` the agent groups of the scenario.
    Runs longer than AVERAGE_DAY_AFTER days are drawn as an average day.
    """
    if (
        not table
        or "day" not in table
        or "start" not in table
        or not len(table["day"])
        or table["start"].dtype != object
    ):  # start is "HH:MM" text
        return []
    days = len(np.unique(table["day"]))
    averaged = days if days > AVERAGE_DAY_AFTER else 0
    if averaged:
        table = average_day(table)
    tl = _Timeline(table, interval_s, averaged)
    note = (
        f" Mean over the {averaged} simulated days by time of day (too many days to "
        "read one after another); the band combines the days' 95% CIs."
        if averaged
        else ""
    )
    out = []

    offered, agents = series(table, "offered"), series(table, "agents_on_duty")
    if offered is not None:
        fig, axes = new_figure()
        ax = axes[0, 0]
        tl.step(ax, *offered, colour=PALETTE["offered"], label="offered calls")
        ax.set_ylabel(f"offered calls ({tl.per})", color=PALETTE["offered"])
        ax.set_ylim(bottom=0)
        axes_ = [ax]
        if agents is not None:
            ax2 = ax.twinx()
            ax2.spines["top"].set_visible(False)
            tl.step(ax2, agents[0], colour=PALETTE["agents_on_duty"], label="agents on duty")
            ax2.set_ylabel("agents on duty (agents)", color=PALETTE["agents_on_duty"])
            ax2.set_ylim(0, max(np.nanmax(agents[0]) * 1.1, 1))
            ax2.yaxis.set_major_locator(ticker.MaxNLocator(integer=True))  # whole people
            axes_.append(ax2)
        legend(fig, *axes_, ci=True)
        tl.format(ax)
        out.append(
            sink.add(
                fig,
                "offered_vs_agents",
                "Offered calls and agents on duty",
                f"Mean offered calls {tl.per} with their 95% CI over replications, "
                "and the agents on duty (scheduled plus overtime)." + note,
            )
        )

    sl = series(table, "service_level")
    if sl is not None:
        fig, axes = new_figure()
        ax = axes[0, 0]
        what = f"answered within {within_s:g} s" if within_s else "answered in time"
        _share_step(tl, ax, sl, "service_level", "service level", targets)
        ax.set_ylim(0, 102)
        ax.set_ylabel(f"service level\n(% {what})")
        legend(fig, ax, ci=True)
        tl.format(ax)
        out.append(
            sink.add(
                fig,
                "service_level",
                "Service level per interval",
                "Share of offered calls answered in time (abandoned calls count as "
                "not in time), mean and 95% CI band, with the target." + note,
            )
        )

    ab, asa = series(table, "abandon_rate"), series(table, "asa")
    if ab is not None or asa is not None:
        fig, axes = new_figure(rows=2, height=2.4, sharex=True)
        if ab is not None:
            ax = axes[0, 0]
            _share_step(tl, ax, ab, "abandon_rate", "abandonment", targets)
            ax.set_ylim(bottom=0)
            ax.set_ylabel("abandoned\n(% of offered)")
        if asa is not None:
            ax = axes[1, 0]
            tl.step(ax, *asa, colour=PALETTE["asa"], label="ASA", clip=(0, np.inf))
            target_line(ax, targets.get("asa"), "asa")
            ax.set_ylim(bottom=0)
            ax.set_ylabel("average speed\nof answer (s)")
        legend(fig, axes[0, 0], axes[1, 0], ci=True)
        tl.format(axes[1, 0])
        axes[0, 0].label_outer()
        out.append(
            sink.add(
                fig,
                "abandonment_asa",
                "Abandonment and speed of answer",
                "Share of offered calls that hung up while waiting, and the mean "
                "wait of answered calls, per interval with 95% CI bands." + note,
            )
        )

    groups = groups or [
        c[len("occupancy.group=") : -5]
        for c in table
        if c.startswith("occupancy.group=") and c.endswith("_mean")
    ]
    per_group = [g for g in groups if series(table, f"occupancy.group={g}") is not None]
    lines = [(g, f"occupancy.group={g}", ENTITY_COLOURS[groups.index(g) % 7]) for g in per_group]
    if not lines and series(table, "occupancy") is not None:
        name = groups[0] if len(groups) == 1 else "all agents"
        lines = [(name, "occupancy", PALETTE["occupancy"])]
    if lines:  # one panel per group: overlaid, several groups are unreadable
        fig, axes = new_figure(rows=len(lines), height=3.0 if len(lines) == 1 else 1.9, sharex=True)
        for ax, (group, column, colour) in zip(axes[:, 0], lines, strict=True):
            total = overall.get(f"occupancy.group={group}") or overall.get("occupancy") or {}
            label = group
            if is_num(total.get("mean")):
                label = f"{group} (overall {format_value(total['mean'], 'occupancy')})"
            tl.step(
                ax, *present(table, column), colour=colour, label=label, scale=100, clip=(0, 100)
            )
            ax.set_ylim(0, 102)
            ax.yaxis.set_major_locator(ticker.MultipleLocator(25 if len(lines) > 1 else 20))
            ax.set_ylabel(f"{group}\noccupancy (%)")
            ax.label_outer()
        legend(fig, *axes[:, 0], ci=True)
        tl.format(axes[-1, 0])
        out.append(
            sink.add(
                fig,
                "occupancy",
                "Occupancy per agent group",
                "Time agents spend talking and in after-call work over their time "
                "on duty, per interval with 95% CI bands." + note,
            )
        )
    return out


# --- business flows ---------------------------------------------------------------------------


def _channels(kpis: dict, prefix: str) -> list[str]:
    return [k.split(".channel=", 1)[1] for k in kpis if k.startswith(f"{prefix}.channel=")]


def _errors(vals: list[dict], mean: np.ndarray) -> np.ndarray:
    lo = np.array([(v.get("ci95") or [np.nan, np.nan])[0] for v in vals], dtype=float)
    hi = np.array([(v.get("ci95") or [np.nan, np.nan])[1] for v in vals], dtype=float)
    return np.nan_to_num(np.vstack([mean - lo, hi - mean]), nan=0.0).clip(min=0)


def _money(daily: dict, name: str):
    """The day's total; summed over ``<name>.channel=<c>`` columns (no CI) when missing."""
    s = series(daily, name)
    if s is not None:
        return s
    parts = [
        series(daily, k[:-5])
        for k in daily
        if k.startswith(f"{name}.channel=") and k.endswith("_mean")
    ]
    found = [p for p in parts if p is not None]
    if not found:
        return None
    total = np.nansum([p[0] for p in found], axis=0)
    return total, np.full(len(total), np.nan), np.full(len(total), np.nan)


def _channel_bars(ax, kpis: dict, stages: list[str], channels: list[str], colour: dict) -> None:
    """One group of bars per stage, one bar per channel, with 95% CIs."""
    width = 0.8 / max(len(channels), 1)
    for i, c in enumerate(channels):
        vals = [kpis.get(f"{s}.channel={c}", {}) for s in stages]
        mean = np.array([v.get("mean") if is_num(v.get("mean")) else np.nan for v in vals])
        x = np.arange(len(stages)) + (i - (len(channels) - 1) / 2) * width
        ax.bar(x, mean, width, yerr=_errors(vals, mean), color=colour[c], label=c, capsize=2)
    ax.set_xticks(np.arange(len(stages)), [s.removeprefix("orders_") for s in stages])


def _day_axis(ax, daily: dict, label: str = "day of the run") -> None:
    """Days named as the tables name them (``Fri (day 5)``), at most DAY_TICKS labelled."""
    days = [int(d) for d in daily["day"]]
    weekdays = daily.get("weekday")
    every = math.ceil(len(days) / DAY_TICKS)
    shown = days[::every]
    labels = [
        when({"weekday": weekdays[days.index(d)], "day": d}) if weekdays is not None else str(d)
        for d in shown
    ]
    ax.set_xticks(shown, labels, fontsize=8)
    ax.set_xlabel(label)


def business_figures(kpis: dict, daily: dict, targets: dict, sink: FigureSink) -> list[dict]:
    """Order funnel and cost per delivery by channel (from ``kpis``), and per day (from
    ``daily``): on-time share, back-office backlog, cash and POS collected. Each is drawn only
    when its KPIs or columns exist."""
    out = []
    channels: list[str] = []
    for stage in (*FUNNEL, "cost_per_delivery"):
        channels += [c for c in _channels(kpis, stage) if c not in channels]
    colour = {c: ENTITY_COLOURS[i % len(ENTITY_COLOURS)] for i, c in enumerate(channels)}

    stages = [s for s in FUNNEL if _channels(kpis, s)]
    if stages:
        # Flows per day and the stock left at the end are different quantities: own panels.
        flows = [s for s in stages if s != "orders_open"]
        panels = [p for p in (flows, [s for s in stages if s == "orders_open"]) if p]
        fig, axes = new_figure(
            cols=len(panels),
            height=3.4,
            gridspec_kw={"width_ratios": [len(p) + 0.6 for p in panels]},
        )
        for ax, panel in zip(axes[0], panels, strict=True):
            _channel_bars(ax, kpis, panel, channels, colour)
            ax.set_ylabel(
                "orders per day" if panel is flows else "orders open at the end\nof the run"
            )
            ax.set_ylim(bottom=0)
        legend(fig, axes[0, 0])
        out.append(
            sink.add(
                fig,
                "order_funnel",
                "Order funnel by delivery channel",
                "Orders created, attempted, delivered and failed per day, and (own panel) the "
                "orders still open at the end of the run, per channel, with 95% CIs.",
            )
        )

    if "day" in daily and len(daily["day"]):
        day = daily["day"].astype(float)
        ontime = series(daily, "delivery_on_time")
        if ontime is not None:
            fig, axes = new_figure(height=2.8)
            ax = axes[0, 0]
            c = PALETTE["delivery_on_time"]
            ax.plot(day, ontime[0] * 100, "o-", color=c, label="on time")
            ax.fill_between(
                day,
                np.clip(ontime[1] * 100, 0, 100),
                np.clip(ontime[2] * 100, 0, 100),
                color=c,
                alpha=0.2,
                linewidth=0,
            )
            target_line(ax, targets.get("delivery_on_time"), "delivery_on_time")
            ax.set_ylim(0, 102)
            ax.set_ylabel("delivered on time\n(% of orders)")
            _day_axis(ax, daily, "day the orders were created")
            legend(fig, ax, ci=True)
            out.append(
                sink.add(
                    fig,
                    "delivery_on_time",
                    "On-time delivery per day",
                    "Share of orders delivered within the promise, by the day they were "
                    "created, with 95% CI band and target; a day without a point has no order "
                    "whose promise ends within the run.",
                )
            )
        backlog = series(daily, "back_office_backlog")
        if backlog is not None:
            fig, axes = new_figure(height=2.8)
            ax = axes[0, 0]
            ax.bar(
                day,
                backlog[0],
                0.7,
                yerr=band_err(backlog),
                capsize=2,
                color=PALETTE["back_office_backlog"],
                label="backlog at the day's end",
            )
            ax.set_ylabel("back-office backlog\n(items)")
            _day_axis(ax, daily)
            legend(fig, ax)
            out.append(
                sink.add(
                    fig,
                    "back_office_backlog",
                    "Back-office backlog per day",
                    "Leads and work orders still open at the end of each day, mean with 95% CI.",
                )
            )
        money = {m: _money(daily, m) for m in ("cash_collected", "pos_collected")}
        money = {m: s for m, s in money.items() if s is not None}
        if money:
            fig, axes = new_figure(height=2.8)
            ax = axes[0, 0]
            width = 0.8 / len(money)
            for i, (m, s) in enumerate(money.items()):
                x = day + (i - (len(money) - 1) / 2) * width
                ax.bar(
                    x,
                    s[0],
                    width,
                    yerr=band_err(s),
                    capsize=2,
                    color=PALETTE[m],
                    label={"cash_collected": "cash", "pos_collected": "POS"}[m],
                )
            ax.set_ylabel(f"collected on delivery\n({unit_of('cash_collected').label()})")
            thousands(ax.yaxis)
            _day_axis(ax, daily)
            legend(fig, ax)
            out.append(
                sink.add(
                    fig,
                    "cash_pos",
                    "Cash and POS collected per day",
                    "What the couriers collect at the door each day (what finance "
                    "must reconcile), mean with 95% CI.",
                )
            )

    costs = _channels(kpis, "cost_per_delivery")
    if costs:
        fig, axes = new_figure(height=0.9 + 0.45 * len(costs))
        ax = axes[0, 0]
        vals = [kpis[f"cost_per_delivery.channel={c}"] for c in costs]
        mean = np.array([v.get("mean") if is_num(v.get("mean")) else np.nan for v in vals])
        ax.barh(
            np.arange(len(costs)),
            mean,
            0.6,
            xerr=_errors(vals, mean),
            capsize=3,
            color=[colour[c] for c in costs],
        )
        ax.set_yticks(np.arange(len(costs)), costs)
        ax.invert_yaxis()
        ax.set_xlabel(f"cost per delivered order ({unit_of('cost_per_delivery').label()})")
        thousands(ax.xaxis)
        out.append(
            sink.add(
                fig,
                "cost_per_delivery",
                "Cost per delivery by channel",
                "Delivery cost (all attempts) over orders delivered, per channel, with 95% CIs.",
            )
        )
    return out


# --- comparison and sweep ---------------------------------------------------------------------
