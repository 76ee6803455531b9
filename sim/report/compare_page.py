"""The comparison part of the report: what changed between the scenarios, what each plan costs
in hours and money, the plans interval by interval, and the differences by area.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from sim.report.drawing import FigureSink
from sim.report.files import real_subfolders
from sim.report.folder import TIME_COLUMNS, Folder, read_json, read_table, read_text
from sim.report.numbers import MAIN_KPIS, fmt, fmt_range, fmt_signed, is_num
from sim.report.plan_figures import overlay, small_multiples
from sim.scenario.kpis import judge, unit_label

__all__ = ["comparison_pairs", "comparison_section"]


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


AREAS = {  # KPI base name -> the panel it is drawn in
    "calls": ("offered", "calls", "self_service_rate", "open_calls"),
    "service": (
        "service_level", "answer_rate", "abandon_rate", "asa", "mean_wait",
        "mean_queue_length", "first_contact_resolution",
    ),
    "agents": ("occupancy", "agent_hours", "overtime_hours"),
    "orders and delivery": (
        "delivery_on_time", "delivery_success", "first_attempt_success", "cost_per_delivery",
        "delivery_cost", "orders_created", "attempts_per_order",
    ),
    "back office": ("back_office_on_time", "lead_conversion"),
}  # fmt: skip
PLAN_ROWS = ("agent_hours", "overtime_hours", "delivery_cost", "fixed_cost", "fulfilment_cost")


def _area(kpi: str) -> str | None:
    base = kpi.split(".")[0]
    return next((area for area, names in AREAS.items() if base in names), None)


def comparison_section(folder: Folder, sink: FigureSink) -> dict | None:
    """What changed, the plans' hours and cost, the plans interval by interval, differences
    by area (small multiples) and the table of differences (headline KPIs first, the rest
    folded)."""
    if folder.comparison is None:
        return None
    pairs = comparison_pairs(folder.comparison)
    targets = folder.targets() or _targets_of(folder)
    kpis: list[str] = []
    for _, diffs in pairs:
        kpis += [k for k in diffs if k not in kpis and is_num((diffs[k] or {}).get("mean"))]
    kpis.sort(key=lambda k: (MAIN_KPIS.index(k) if k in MAIN_KPIS else len(MAIN_KPIS), k))
    headline = [k for k in kpis if ("." not in k and _area(k)) or k in targets]
    rows: list[dict] = []
    more: list[dict] = []
    for label, diffs in pairs:
        for k in kpis:
            d = diffs.get(k) or {}
            ci = d.get("ci95") or [None, None]
            (rows if k in headline else more).append(
                {
                    "pair": label,
                    "kpi": k,
                    "mean": fmt_signed(d.get("mean"), k),
                    "ci": fmt_range(ci[0], ci[1], k, signed=True) if is_num(ci[0]) else "–",
                    "significant": ", ".join(filter(None, ["yes", judge(k, d.get("mean"))]))
                    if d.get("significant")
                    else "no",
                }
            )
    areas: dict[str, list[str]] = {}
    for k in headline:  # one panel per area and unit, so a scale never mixes units
        unit = unit_label(k, signed=True) or "count"
        areas.setdefault(f"{_area(k) or 'targets'} ({unit})", []).append(k)
    tables = {name: read_table(p, TIME_COLUMNS) for name, p in _intervals(folder).items()}
    return {
        "rows": rows,
        "more_rows": more,
        "figure": small_multiples(areas, pairs, sink),
        "overlay": overlay(tables, sink, targets) if tables else None,
        "plans": _plans(folder.comparison),
        "changes": _changes(folder),
        **_side_by_side(folder),
    }


def _targets_of(folder: Folder) -> dict[str, tuple[str, float]]:
    """KPI -> (bound, value) from the baseline's attainment (a comparison folder has no
    scenario.yaml of its own)."""
    for summary in _summaries(folder).values():
        entries = (summary.get("attainment") or {}).get("targets") or []
        return {e["kpi"]: (e["bound"], e["target"]) for e in entries if "=" not in e["kpi"]}
    return {}


def _subfolders(folder: Folder) -> dict[str, Path]:
    """Scenario name -> its run folder inside the comparison folder."""
    out = {}
    for sub in real_subfolders(folder.path):
        summary = read_json(sub / "summary.json")
        if summary is not None:
            out[str(summary.get("scenario") or sub.name)] = sub
    return out


def _intervals(folder: Folder) -> dict[str, Path]:
    assert folder.comparison is not None  # a part of comparison_section
    subs = _subfolders(folder)
    order = [str(n) for n in folder.comparison.get("scenarios") or subs]
    return {
        n: subs[n] / "intervals.csv"
        for n in order
        if n in subs and (subs[n] / "intervals.csv").is_file()
    }


def _plans(data: dict) -> dict | None:
    """Rows of hours and cost per day, one cell per scenario: mean (difference to A)."""
    plans = data.get("plans")
    if not isinstance(plans, dict) or not plans:
        return None
    currency = data.get("currency")
    rows = []
    for name in PLAN_ROWS:
        if not any(
            is_num((p.get(name) or {}).get("mean")) and (p.get(name) or {})["mean"]
            for p in plans.values()
        ):
            continue
        cells = []
        for p in plans.values():
            v = p.get(name) or {}
            diff = v.get("difference")
            cells.append(
                {
                    "mean": fmt(v.get("mean"), name, currency),
                    "difference": fmt_signed(diff, name, currency) if is_num(diff) else "",
                }
            )
        rows.append({"name": name, "cells": cells})
    return {"scenarios": list(plans), "rows": rows}


def _changes(folder: Folder) -> list[dict]:
    """Per alternative, the keys of its resolved scenario that differ from the baseline's,
    and per group whose staffing differs in effect a grid of time ranges by weekday: from
    comparison.json, or from the scenario.yaml of each run folder."""
    assert folder.comparison is not None  # a part of comparison_section
    from sim.scenario.diff import changes, staffing_of_groups

    data = folder.comparison.get("changes")
    found: dict[str, tuple[list, dict]] = {}
    if isinstance(data, dict):
        for k, v in data.items():
            if isinstance(v, dict):
                keys = [(c["key"], c["baseline"], c["alternative"]) for c in v.get("keys", [])]
                staffing = v.get("staffing")
                found[str(k)] = (keys, staffing if isinstance(staffing, dict) else {})
    else:
        from ruamel.yaml import YAML

        loaded = {}
        for name, sub in _subfolders(folder).items():
            text = read_text(sub / "scenario.yaml")
            if text is not None:
                loaded[name] = YAML(typ="safe", pure=True).load(text)
        names = [n for n, d in loaded.items() if isinstance(d, dict)]
        for n in names[1:]:
            base = loaded[names[0]]
            found[n] = (changes(base, loaded[n]), staffing_of_groups(base, loaded[n]))
    return [
        {
            "scenario": name,
            "keys": [
                (k, _short(a), _short(b))
                for k, a, b in keys
                if str(k).split(", ", 1)[0] not in {f"agents.groups.{g}.staffing" for g in grids}
            ],
            "staffing": list(grids.values()),
        }
        for name, (keys, staffing) in found.items()
        for grids in [_grids(staffing)]
    ]


def _grids(staffing: dict) -> dict[str, dict]:
    """Group -> :func:`_grid`, for the groups whose ranges are well-formed."""
    out = {}
    for group, by_day in staffing.items():
        try:
            out[str(group)] = _grid(str(group), by_day)
        except (TypeError, ValueError, IndexError, KeyError, AttributeError):
            continue  # a hand-edited comparison.json: its keys are listed as they are
    return out


def _grid(group: str, by_day: dict) -> dict:
    """One group's staffing change as a table: rows of time ranges, a column per weekday,
    cells "A → B" where the agents on duty differ."""
    from sim.scenario.diff import staffing_summary
    from sim.scenario.units import WEEKDAYS

    days = [d for d in WEEKDAYS if by_day.get(d)]
    bounds = sorted({t for d in days for r in by_day[d] for t in (r[0], r[1])})
    rows = []
    for t0, t1 in itertools.pairwise(bounds):
        cells = []
        for d in days:
            hit = [r for r in by_day[d] if r[0] <= t0 < r[1]]
            cells.append(f"{hit[0][2]} → {hit[0][3]}" if hit else "")
        if any(cells):
            rows.append({"time": f"{t0}–{t1}", "cells": cells})
    return {"group": group, "days": days, "rows": rows, "summary": staffing_summary(by_day)}


def _short(value, width: int = 80) -> str:
    from sim.scenario.diff import ABSENT

    text = ABSENT if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _summaries(folder: Folder) -> dict[str, dict]:
    """Each compared scenario's summary.json, in the comparison's order: from comparison.json's
    ``summaries`` mapping (name -> summary.json shape) or from the summary.json of each
    subfolder."""
    data = (folder.comparison or {}).get("summaries")
    summaries: dict[str, dict] = {}
    if isinstance(data, dict):
        summaries = {str(k): v for k, v in data.items() if isinstance(v, dict)}
    else:
        for sub in real_subfolders(folder.path):
            summary = read_json(sub / "summary.json")
            if summary is not None:
                summaries[str(summary.get("scenario") or sub.name)] = summary
    order = [str(n) for n in (folder.comparison or {}).get("scenarios") or []]
    return dict(
        sorted(
            summaries.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)
        )
    )


_STATUS: dict[bool | None, str] = {True: "met", False: "missed"}
"""A KPI's ``met`` in summary.json as the side-by-side table shows it."""


def _side_by_side(folder: Folder) -> dict:
    """Each compared scenario's headline KPI means and the intervals meeting each target."""
    summaries = _summaries(folder)
    names: list[str] = []
    for summary in summaries.values():
        names += [
            k
            for k, v in (summary.get("kpis") or {}).items()
            if k not in names and (k in MAIN_KPIS or "target" in v)
        ]
    rows = []
    for k in names:
        cells = []
        for summary in summaries.values():
            v = (summary.get("kpis") or {}).get(k) or {}
            cells.append(
                {
                    "mean": fmt(v.get("mean"), k),
                    "status": _STATUS.get(v.get("met"), ""),
                }
            )
        rows.append({"kpi": k, "cells": cells})
    return {"scenarios": list(summaries), "levels": rows + _attained_rows(summaries)}


def _attained_rows(summaries: dict[str, dict]) -> list[dict]:
    """Per overall target: intervals meeting it, per scenario."""
    kpis: list[str] = []
    for s in summaries.values():
        for e in (s.get("attainment") or {}).get("targets") or []:
            if "=" not in e["kpi"] and e["kpi"] not in kpis:
                kpis.append(e["kpi"])
    rows = []
    for k in kpis:
        cells = []
        for s in summaries.values():
            e = next(
                (e for e in (s.get("attainment") or {}).get("targets") or [] if e["kpi"] == k), None
            )
            if e is None or not e["intervals"]:
                cells.append({"mean": "–", "status": ""})
                continue
            ok = e["intervals_met"] == e["intervals"]
            cells.append(
                {
                    "mean": f"{e['intervals_met']} of {e['intervals']}",
                    "status": "met" if ok else "missed",
                }
            )
        rows.append({"kpi": f"{k}: intervals meeting the target", "cells": cells})
    return rows
