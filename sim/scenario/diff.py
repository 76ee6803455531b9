"""What changed between two scenarios: the keys whose resolved values differ.

Compares the resolved scenarios (``extends`` merged, durations in seconds), so two files that
say the same thing in different words show no change, and a changed base file shows up. A
group's ``staffing`` is compared as what it puts on duty (a step function of weekday and time),
not key by key: two maps with different breakpoints differ only where the agents differ.
"""

from __future__ import annotations

import bisect
import re

from sim.scenario.schema_types import date_key
from sim.scenario.units import DAY, WEEKDAYS, parse_clock

__all__ = [
    "ABSENT",
    "changes",
    "changes_by_label",
    "day_span",
    "describe",
    "staffing_by_day",
    "staffing_of_groups",
    "staffing_summary",
]

_STAFFING = re.compile(r"agents\.groups\.[^.]+\.staffing")
ABSENT = "(not set)"
"""How a key given on one side only reads (not "none", which reads as zero agents)."""


def changes(a: dict, b: dict, path: str = "") -> list[tuple[str, object, object]]:
    """(dotted path, value in a, value in b) for each leaf that differs; a mapping present on
    one side only is one entry, not one per key. ``name`` and ``description`` are left out.
    Staffing given on both sides gives one entry per weekdays and time range whose agents
    differ: (``"agents.groups.G.staffing, mon-fri 08:00-10:00"``, 9, 7)."""
    out: list[tuple[str, object, object]] = []
    for key in list(a) + [k for k in b if k not in a]:
        here = f"{path}.{key}" if path else str(key)
        if here in ("name", "description"):
            continue
        x, y = a.get(key), b.get(key)
        if _STAFFING.fullmatch(here) and _maps(x, y):
            out += _pooled(here, staffing_by_day(x, y))
        elif isinstance(x, dict) and isinstance(y, dict):
            out += changes(x, y, here)
        elif x != y:
            out.append((here, x, y))
    return out


def _maps(a: object, b: object) -> bool:
    """Two staffing values to compare as step functions: given on both sides, different, one
    of them a map (two plain numbers read well as they are), none by date (compared date by
    date, key by key), and well-formed (a results folder's scenario.yaml may hold anything)."""
    if a is None or b is None or a == b or not (isinstance(a, dict) or isinstance(b, dict)):
        return False
    if any(isinstance(v, dict) and any(date_key(k) for k in v) for v in (a, b)):
        return False
    try:
        staffing_by_day(a, b)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return False
    return True


def staffing_by_day(a: object, b: object) -> dict[str, list[tuple[str, str, int, int]]]:
    """Per weekday, the time ranges ("HH:MM", "HH:MM", agents in a, agents in b) where two
    staffing values (a number, a daily map or a map per weekday) put different agents on
    duty; neighbouring ranges with the same pair are one."""
    out: dict[str, list[tuple[str, str, int, int]]] = {}
    for day in WEEKDAYS:
        sa, sb = _day_steps(a, day), _day_steps(b, day)
        starts = sorted({t for t, _ in sa} | {t for t, _ in sb})
        rows: list[list] = []
        for t0, t1 in zip(starts, [*starts[1:], DAY], strict=True):
            va, vb = _value_at(sa, t0), _value_at(sb, t0)
            if va == vb:
                continue
            if rows and rows[-1][1] == t0 and rows[-1][2:] == [va, vb]:
                rows[-1][1] = t1
            else:
                rows.append([t0, t1, va, vb])
        if rows:
            out[day] = [(_clock(r[0]), _clock(r[1]), r[2], r[3]) for r in rows]
    return out


def _day_steps(staffing: object, day: str) -> list[tuple[float, int]]:
    """(start s, agents) covering ``day`` from midnight: before a map's first time, the value
    running past midnight (the same map's last value, or the previous weekday's)."""
    plan = staffing
    if isinstance(plan, dict) and plan and next(iter(plan)) in WEEKDAYS:
        plan = plan.get(day, 0)
        previous = staffing[WEEKDAYS[WEEKDAYS.index(day) - 1]]  # type: ignore[index]
    else:
        previous = plan
    if not isinstance(plan, dict):
        return [(0.0, int(plan))]  # type: ignore[call-overload]
    steps = sorted((parse_clock(k), int(v)) for k, v in plan.items())
    if steps[0][0] > 0:
        carried = previous if not isinstance(previous, dict) else list(previous.values())[-1]
        steps.insert(0, (0.0, int(carried)))
    return steps


def _value_at(steps: list[tuple[float, int]], t: float) -> int:
    return steps[bisect.bisect_right([s for s, _ in steps], t) - 1][1]


def _clock(seconds: float) -> str:
    return f"{int(seconds // 3600):02d}:{int(seconds % 3600 // 60):02d}"


def day_span(days: list[str]) -> str:
    """``mon-fri``, ``mon, wed``, ``sat-sun``: weekdays in order, runs of three or more
    written as a range."""
    index = sorted(WEEKDAYS.index(d) for d in days)
    runs: list[list[int]] = []
    for i in index:
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    parts: list[str] = []
    for run in runs:
        names = [WEEKDAYS[i] for i in run]
        parts += [f"{names[0]}-{names[-1]}"] if len(run) > 2 else names
    return ", ".join(parts)


def _pooled(path: str, by_day: dict[str, list]) -> list[tuple[str, object, object]]:
    """One entry per (time range, a, b), the weekdays sharing it pooled."""
    days: dict[tuple, list[str]] = {}
    for day, rows in by_day.items():
        for row in rows:
            days.setdefault(tuple(row), []).append(day)
    order = sorted(days, key=lambda r: (WEEKDAYS.index(days[r][0]), r[0]))
    return [(f"{path}, {day_span(days[r])} {r[0]}-{r[1]}", r[2], r[3]) for r in order]


def describe(a: dict, b: dict, limit: int = 6, width: int = 60) -> str:
    """One line: ``agents.groups.general.staffing: {...} -> {...}; replications: 20 -> 30``;
    a staffing change as one part: where and how much the agents on duty differ."""
    found = changes(a, b)
    if not found:
        return "no change in the resolved scenario (same model; only the name differs)"
    parts: list[str] = []
    where = ""
    for p, x, y in found:
        path = p.split(", ", 1)[0]
        if ", " not in p or not _STAFFING.fullmatch(path):
            parts.append(f"{p}: {_short(x, width)} -> {_short(y, width)}")
        elif not parts or not parts[-1].startswith(path + ":"):
            group = path.split(".")[2]
            x, y = (_groups(s)[group]["staffing"] for s in (a, b))
            parts.append(f"{path}: {staffing_summary(staffing_by_day(x, y))}")
            where = " (staffing by weekday and time: report.html, comparison.json)"
    more = len(parts) - limit
    return "; ".join(parts[:limit]) + (f"; and {more} more" if more > 0 else "") + where


def staffing_summary(by_day: dict[str, list]) -> str:
    """``differs on mon-fri for 22.5 h of the week, 5-14 -> 3-11 agents there``."""
    rows = [r for day_rows in by_day.values() for r in day_rows]
    hours = sum(parse_clock(r[1]) - parse_clock(r[0]) for r in rows) / 3600
    a, b = [r[2] for r in rows], [r[3] for r in rows]
    return (
        f"differs on {day_span(list(by_day))} for {hours:g} h of the week, "
        f"{_span(a)} -> {_span(b)} agents there"
    )


def _span(values: list) -> str:
    return f"{min(values)}" if min(values) == max(values) else f"{min(values)}-{max(values)}"


def _short(value: object, width: int) -> str:
    text = ABSENT if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def changes_by_label(scenarios: list, labels: list[str]) -> dict[str, dict]:
    """Per alternative: the keys of its resolved scenario that differ from the baseline's, and
    per group whose staffing differs, the ranges by weekday (``staffing``)."""
    from sim.scenario.resolved import scenario_to_dict

    base = scenario_to_dict(scenarios[0])
    out = {}
    for label, sc in zip(labels[1:], scenarios[1:], strict=True):
        other = scenario_to_dict(sc)
        out[label] = {
            "summary": describe(base, other),
            "keys": [
                {"key": k, "baseline": a, "alternative": b} for k, a, b in changes(base, other)
            ],
            "staffing": staffing_of_groups(base, other),
        }
    return out


def staffing_of_groups(a: dict, b: dict) -> dict[str, dict]:
    """Group -> :func:`staffing_by_day`, for each group with a staffing map on either side
    whose agents on duty differ (groups on shifts, or the same on both sides, left out)."""
    ga, gb = _groups(a), _groups(b)
    out = {}
    for name in ga:
        x, y = ga[name].get("staffing"), gb.get(name, {}).get("staffing")
        if _maps(x, y):
            found = staffing_by_day(x, y)
            if found:
                out[str(name)] = found
    return out


def _groups(scenario: dict) -> dict[str, dict]:
    agents = scenario.get("agents")
    groups = agents.get("groups") if isinstance(agents, dict) else None
    if not isinstance(groups, dict):
        return {}
    return {k: v for k, v in groups.items() if isinstance(v, dict)}
