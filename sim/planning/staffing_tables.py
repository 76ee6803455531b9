"""What the terminal shows for ``sim staff`` (per group and day type, with the fresh-seed
check) and ``sim erlang --agents A..B`` (one row per number of agents)."""

from __future__ import annotations

import numpy as np
from rich.markup import escape
from rich.table import Table

from sim.scenario.kpis import format_value

__all__ = ["erlang_range_table", "staffing_table"]


def erlang_range_table(title, rows, within) -> Table:
    """One row per number of agents; with targets, whether each row meets them (in green) and
    the row they require, in words (a log or a pipe shows no colour)."""
    table = Table(title=title)
    judged = any("meets_targets" in r for r in rows)
    columns = ("agents", f"SL ({within})", "abandon", "ASA", "occupancy", "P(wait)")
    for col in (*columns, "targets") if judged else columns:
        table.add_column(col, justify="left" if col == "targets" else "right")
    for r in rows:
        mark = "[green]" if r.get("meets_targets") else ""
        cells = [
            f"{mark}{r['agents']}",
            f"{r['service_level']:.2%}",
            f"{r['abandon_rate']:.2%}",
            f"{r['asa']:.1f} s",
            f"{r['occupancy']:.1%}",
            f"{r['prob_wait']:.2%}",
        ]
        if judged:
            met = "met" if r["meets_targets"] else "missed"
            cells.append(f"{mark}← required ({met})" if r.get("required") else f"{mark}{met}")
        table.add_row(*cells, style="bold" if r.get("required") else None)
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
