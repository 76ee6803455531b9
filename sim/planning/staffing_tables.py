"""What the terminal shows for ``sim staff`` (per group and day type, with the fresh-seed
check) and ``sim erlang --agents A..B`` (one row per number of agents)."""

from __future__ import annotations

import numpy as np
from rich.markup import escape
from rich.table import Table

from sim.scenario.kpis import format_value

__all__ = ["erlang_range_table", "staffing_table"]


def erlang_range_table(title, rows, within, target, abandon_target) -> Table:
    """One row per number of agents; targets met in green."""
    table = Table(title=title)
    for col in ("agents", f"SL ({within})", "abandon", "ASA", "occupancy", "P(wait)"):
        table.add_column(col, justify="right")
    for r in rows:
        ok = (target is None or r["service_level"] >= target) and (
            abandon_target is None or r["abandon_rate"] <= abandon_target
        )
        mark = "[green]" if ok and (target or abandon_target) else ""
        table.add_row(
            f"{mark}{r['agents']}",
            f"{r['service_level']:.2%}",
            f"{r['abandon_rate']:.2%}",
            f"{r['asa']:.1f} s",
            f"{r['occupancy']:.1%}",
            f"{r['prob_wait']:.2%}",
        )
    return table


def staffing_table(result) -> Table:
    """Per group and day type: agent-hours a day, peak agents, and the fresh-seed check
    (slots meeting every target, within noise, significantly short, lowest service level)."""
    from sim.planning.staffing import check_text  # here: `sim erlang` loads only this module

    v = result.verified
    state = check_text(result.check())
    table = Table(title=f"{escape(result.scenario.name)}: recommended staffing; {state}")
    for col in ("group", "day type", "agent-h/day", "Erlang h/day", "peak", "met", "noise",
                "short", "lowest SL (%)"):  # fmt: skip
        table.add_column(col, justify="left" if col in ("group", "day type") else "right")
    hours = result.scenario.interval / 3600.0
    used = result.measured_slots()
    if v is not None:
        offered = used & np.isfinite(v.est[0])  # the slots the check counts
        meets, misses = v.meets(result.targets), v.short(result.targets, 0.025)
    for gi, g in enumerate(result.groups):
        for k, name in enumerate(result.types.names):
            mine = used[gi, k]
            if not mine.any():
                continue
            cells = [
                escape(g),  # user text: never markup
                name,
                f"{result.levels[gi, k][mine].sum() * hours:,.1f}",
                f"{result.erlang_levels[gi, k][mine].sum() * hours:,.1f}",
                f"{result.levels[gi, k][mine].max():.0f}",
            ]
            if v is None:
                cells += ["-", "-", "-", "-"]
            else:
                sl = v.est[0][gi, k][mine]
                low = np.nanmin(sl) if np.isfinite(sl).any() else None
                calls = offered[gi, k]
                met, short = meets[gi, k][calls], misses[gi, k][calls]
                cells += [
                    f"{int(met.sum())}/{int(calls.sum())}",
                    str(int((~met & ~short).sum())),
                    str(int(short.sum())),
                    "-" if low is None else format_value(low, "service_level", with_unit=False),
                ]
            table.add_row(*cells)
    return table
