"""report.html of a staffing folder (``sim staff``), built from staffing.json and staffing.csv
only, so ``sim report FOLDER`` rebuilds it.

Per group and day type: agents recommended, Erlang and the scenario's own per interval, and
the fresh-seed service level per interval with its 95% band and the target.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np

from sim.report.files import write_atomic
from sim.scenario.kpis import format_value

__all__ = ["build_staffing_report", "is_staffing_folder"]


def is_staffing_folder(folder: Path) -> bool:
    return (folder / "staffing.json").is_file() and (folder / "staffing.csv").is_file()


def _column(table: dict, name: str) -> np.ndarray:
    return np.array([np.nan if v in ("", None) else float(v) for v in table[name]])


def _group_figure(table: dict, group: str, day_type: str, target, sink) -> dict | None:
    from sim.report.drawing import legend, new_figure

    mine = (np.array(table["group"]) == group) & (np.array(table["day_type"]) == day_type)
    if not mine.any() or _idle(table, mine):
        return None
    starts = np.array(table["start"])[mine]
    x = np.arange(len(starts))
    fig, axes = new_figure(2, 1, height=2.8, sharex=True)
    top, bottom = axes[0, 0], axes[1, 0]
    plan = [_column(table, name)[mine] for name in ("agents", "erlang_agents")]
    scenario = _column(table, "scenario_agents")[mine]
    # the scale is the plan's: a scenario staffed far above it would flatten the plan
    ceiling = _ceiling(np.concatenate(plan))
    clipped = np.isfinite(scenario) & (scenario > ceiling)
    for values, label, style in (
        (plan[0], "recommended", dict(color="#1f4e9c", linewidth=2.0)),
        (plan[1], "Erlang A per interval", dict(color="#999999", linestyle="--")),
        (np.minimum(scenario, ceiling), "scenario", dict(color="#d08a1a", linestyle=":")),
    ):
        top.step(x, values, where="mid", label=label, **style)
    if clipped.any():
        top.plot(x[clipped], np.full(clipped.sum(), ceiling), "^", color="#d08a1a", ms=4)
        top.text(
            0.01,
            ceiling * 0.92,
            f"▲ the scenario, above the scale in {clipped.sum()} intervals: up to "
            f"{np.nanmax(scenario):.0f} agents",
            transform=top.get_yaxis_transform(),
            va="top",
            fontsize=8,
            color="#8a5a00",
            bbox=dict(facecolor="white", edgecolor="none", alpha=0.8, pad=1),
        )
    top.set_ylim(0, ceiling * 1.06)
    top.set_ylabel("agents scheduled")
    top.yaxis.get_major_locator().set_params(integer=True)  # agents are whole
    # shares in %, as every table and the headline show them
    sl = 100 * _column(table, "service_level")[mine]
    low, high = (
        100 * _column(table, "service_level_ci_low")[mine],
        100 * _column(table, "service_level_ci_high")[mine],
    )
    bottom.plot(x, sl, color="#1f4e9c", marker=".", label="service level, fresh seeds")
    bottom.fill_between(x, low, high, color="#1f4e9c", alpha=0.2, linewidth=0)
    if target is not None:
        bottom.axhline(
            100 * target, color="#c62828", linewidth=1.2, label=f"target {100 * target:g}%"
        )
    bottom.set_ylabel("service level (%)")
    step = max(1, len(x) // 12)
    bottom.set_xticks(x[::step], starts[::step])
    legend(fig, top, bottom, ci=True)
    safe = "".join(c if c.isalnum() else "_" for c in f"{group}_{day_type}")
    return sink.add(
        fig,
        f"staffing_{safe}",
        f"{group}, {day_type}",
        "Top: agents per interval (recommended, Erlang A on each interval's load as if "
        "stationary, the scenario's own, cut at the top of the scale where it lies far above "
        "the plan). Bottom: service level re-simulated with fresh seeds, "
        "95% interval shaded, and the target.",
    )


def _idle(table: dict, mine: np.ndarray) -> bool:
    """No agent recommended and no call offered (a closed day): nothing to draw."""
    agents = _column(table, "agents")[mine]
    return bool(
        np.all(agents == 0) and not np.isfinite(_column(table, "service_level")[mine]).any()
    )


def _ceiling(plan: np.ndarray) -> float:
    """Top of the agents axis: the plan's peak with room for a scenario near it (x1.5), so the
    recommended line never lies flat on the axis under a scenario staffed for another load."""
    finite = plan[np.isfinite(plan)]
    return max(2.0, 1.5 * float(finite.max())) if len(finite) else 2.0


def _day_types(types: dict) -> str:
    """Each day type, with its days when its name does not already list them."""
    return "; ".join(
        k if k == "+".join(map(str, v)) or not v else f"{k}: {', '.join(map(str, v))}"
        for k, v in types.items()
    )


def build_staffing_report(
    folder: str | Path, out: str | Path | None = None, jobs: int | None = None
) -> Path:
    """Write ``report.html`` (and ``figures/``) for a staffing folder; return its path.
    ``jobs``: processes rendering the figures (None: one per core)."""
    from sim.report.drawing import FigureSink
    from sim.report.folder import ReportError, read_table, read_text

    folder = Path(folder)
    try:
        data = json.loads(read_text(folder / "staffing.json") or "")
    except ValueError:
        raise ReportError(f"{folder / 'staffing.json'}: not JSON") from None
    table = {k: list(v) for k, v in read_table(folder / "staffing.csv").items()}
    out = Path(out) if out else folder / "report.html"
    target = (data.get("targets") or {}).get("service_level")
    figures, idle = [], []
    with FigureSink(out.parent / "figures", jobs) as sink:
        for g in dict.fromkeys(table.get("group", [])):
            for t in dict.fromkeys(table.get("day_type", [])):
                item = _group_figure(table, str(g), str(t), target, sink)
                if item is not None:
                    figures.append(item)
                elif any(
                    a == g and b == t
                    for a, b in zip(table["group"], table["day_type"], strict=True)
                ):
                    idle.append(f"{g}, {t}")
    check = data.get("fresh_seed_check") or {}
    esc = html.escape
    if check:
        noise = check.get("within_noise")  # absent in folders of earlier versions
        verdict = (
            f"With {check['replications']} fresh replications, of {check['slots']} slots with "
            f"calls {check['slots_meeting']} ({100 * check['share_meeting']:.1f}%) meet every "
            "target"
            + ("" if noise is None else f", {noise} are below it within noise")
            + f"; {check['significant_misses']} are significantly short"
        )
        worst = check.get("worst_slot")
        if worst:
            verdict += (
                f"; lowest service level {format_value(worst['service_level'], 'service_level')} "
                f"({worst['group']}, "
                f"{worst['day_type']} {worst['start']})"
            )
    else:
        verdict = "Not checked with fresh seeds."
    if not data.get("complete", True):
        verdict = "An unfinished search: the best staffing so far. " + verdict
    rows = "".join(
        f"<tr><td class='name'>{esc(str(k))}</td><td>{esc(str(v))}</td></tr>"
        for k, v in (
            ("agent-hours (measured days)", f"{data['agent_hours']:,.1f}"),
            ("Erlang A agent-hours", f"{data['erlang_agent_hours']:,.1f}"),
            ("scenario agent-hours", f"{data['scenario_agent_hours']:,.1f}"),
            ("planned for", data.get("planned_for", "")),
            ("day types", _day_types(data["day_types"])),
            ("slots decided", f"{data['slots_decided']} of {data['slots']}"),
            ("rounds", data["rounds"]),
            ("replications simulated", data["replications_simulated"]),
            ("indifference zone", data["indifference_zone"]),
        )
        if v != ""
    )
    notes = "".join(
        f"<li>{esc(n)}</li>"
        for n in [
            *data.get("notes", []),
            *(["no calls and no agents (no figure): " + "; ".join(idle)] if idle else []),
        ]
    )
    per_day = data.get("agent_hours_per_day")  # absent in folders of earlier versions
    days = "".join(
        f"<tr><td class='name'>{esc(str(k))}</td><td>{v:,.1f}</td></tr>"
        for k, v in (per_day.items() if isinstance(per_day, dict) else ())
        if isinstance(v, int | float)
    )
    figs = "".join(
        f"<figure><h3>{esc(f['title'])}</h3><img alt='{esc(f['title'])}' src='{f['src']}'>"
        f"<figcaption>{esc(f['caption'])}</figcaption></figure>"
        for f in figures
    )
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{esc(data['scenario'])}: staffing report</title><style>"
        "body{font-family:'DejaVu Sans',Arial,sans-serif;max-width:1100px;margin:auto;"
        "padding:1em 1.5em;color:#222}table{border-collapse:collapse}td{padding:.2em .7em;"
        "border-bottom:1px solid #e3e3e3}td.name{text-align:left}figure img{max-width:100%}"
        ".verdict{font-weight:bold}</style></head><body>"
        f"<h1>{esc(data['scenario'])}: staffing report</h1>"
        f"<p class='verdict'>{esc(verdict)}.</p>"
        + "".join(
            f"<p class='verdict'>{esc(str(c))}.</p>"
            for c in (data.get("changed") if isinstance(data.get("changed"), list) else [])
        )
        + f"<table>{rows}</table>"
        f"{'<ul>' + notes + '</ul>' if notes else ''}"
        + (f"<h2>Agent-hours per day</h2><table>{days}</table>" if days else "")
        + f"{figs}</body></html>\n"
    )
    write_atomic(out, page)
    return out
