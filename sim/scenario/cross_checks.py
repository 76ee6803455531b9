"""Checks of a scenario that need more than one section: shares summing to 1, skills, routes
and targets naming what exists, every call type served, the business sections' cross-checks,
zero-delay loops and the size of a run. Each problem is (location, message, suggestion), for
the loader to turn into one error per problem (:mod:`sim.scenario.schema`)."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from sim.scenario.fulfilment_schema import business_checks
from sim.scenario.kpis import HEADLINE, unit_of
from sim.scenario.limits import run_size, zero_delay_loops
from sim.scenario.pitfalls import share_targets
from sim.scenario.routing_schema import ROUTING_KEYS
from sim.scenario.schema_types import SHARE_KPIS, Target, by_day, suggest
from sim.scenario.units import WEEKDAYS

if TYPE_CHECKING:
    from sim.scenario.schema import Scenario

__all__ = ["cross_check"]


def cross_check(sc: Scenario) -> list[tuple[tuple, str, str | None]]:
    """Checks that need more than one section: (location, message, suggestion) per problem."""
    problems: list[tuple[tuple, str, str | None]] = []
    for key in ("customer_tiers", "call_types"):
        total = sum(item.share for item in getattr(sc, key).values())
        if abs(total - 1.0) > 1e-6:
            problems.append(
                ((key,), f"shares sum to {total:.6g}, not 1 (or add `normalize: true`)", None)
            )
    problems += share_targets(
        {name: t.model_dump(exclude_none=True) for name, t in sc.targets.items()}, SHARE_KPIS
    )
    types_, groups = list(sc.call_types), list(sc.agents.groups)
    for gname, group in sc.agents.groups.items():
        for i, skill in enumerate(group.skills):
            if skill not in sc.call_types:
                problems.append(
                    (
                        ("agents", "groups", gname, "skills", i),
                        f"unknown call type '{skill}'; call types: {', '.join(types_)}",
                        suggest(skill, types_),
                    )
                )
    for gname in sc.agents.handle_time_factor:
        if gname not in sc.agents.groups:
            problems.append(
                (
                    ("agents", "handle_time_factor", gname),
                    f"unknown agent group '{gname}'; groups: {', '.join(groups)}",
                    suggest(gname, groups),
                )
            )
    routes = dict(sc.routing.rules)
    if sc.routing.default is not None:
        routes["default"] = sc.routing.default
    for ctype, route in routes.items():
        if ctype != "default" and ctype not in sc.call_types:
            problems.append(
                (
                    ("routing", ctype),
                    f"unknown call type '{ctype}'; routing keys are call types, "
                    f"{', '.join(ROUTING_KEYS)}",
                    suggest(ctype, [*types_, *ROUTING_KEYS]),
                )
            )
            continue
        seen = set()
        for i, step in enumerate(route):
            if step.group not in sc.agents.groups:
                problems.append(
                    (
                        ("routing", ctype, i),
                        f"unknown agent group '{step.group}'; groups: {', '.join(groups)}",
                        suggest(step.group, groups),
                    )
                )
            elif step.group in seen:
                problems.append((("routing", ctype, i), f"group '{step.group}' twice", None))
            seen.add(step.group)
    for ctype in types_:
        if sc.call_types[ctype].share > 0 and not sc.route(ctype):
            problems.append(
                (("call_types", ctype), f"no agent group can serve call type '{ctype}'", None)
            )
    for name, target in sc.targets.items():
        if name not in HEADLINE:
            problems.append(
                (
                    ("targets", name),
                    f"unknown KPI '{name}'; a target may name: {', '.join(HEADLINE)}",
                    suggest(name, list(HEADLINE)),
                )
            )
        elif target.within is not None and name != "service_level":
            problems.append((("targets", name, "within"), "within goes with service_level", None))
        else:
            problems += _target_range(name, target)
    problems += _dated_staffing(sc)
    problems += business_checks(sc)
    problems += zero_delay_loops(sc)
    problems += run_size(sc)
    return problems


_MAX_AMOUNT = 1e12


def _dated_staffing(sc: Scenario) -> list[tuple[tuple, str, str | None]]:
    """Staffing by date: a dated horizon, every key one of its dates and every date given."""
    problems: list[tuple[tuple, str, str | None]] = []
    for gname, group in sc.agents.groups.items():
        plan = group.staffing
        if not by_day(plan) or next(iter(plan)) in WEEKDAYS:  # type: ignore[arg-type]
            continue
        where = ("agents", "groups", gname, "staffing")
        start = sc.horizon.start_date
        if start is None:
            message = "staffing by date needs a dated horizon (horizon.start_date)"
            problems.append((where, message, None))
            continue
        dates = [(start + datetime.timedelta(days=d)).isoformat() for d in range(sc.horizon.days)]
        outside = [k for k in plan if k not in dates]  # type: ignore[union-attr]
        if outside:
            problems.append(
                (
                    (*where, outside[0]),
                    f"{outside[0]} is outside the horizon ({dates[0]} to {dates[-1]})",
                    None,
                )
            )
            continue
        missing = [d for d in dates if d not in plan]  # type: ignore[operator]
        if missing:
            problems.append(
                (
                    where,
                    f"staffing by date must give every date of the horizon ({dates[0]} to "
                    f"{dates[-1]}); missing {', '.join(missing[:3])}"
                    + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
                    + " (write 0 for a closed day)",
                    None,
                )
            )
    return problems


def _target_range(name: str, target: Target) -> list[tuple[tuple, str, str | None]]:
    """A target a figure that is not a share can reach: from 0 to 1e12 (shares: see
    :func:`sim.scenario.pitfalls.share_targets`)."""
    if unit_of(name).is_share or 0 <= target.value <= _MAX_AMOUNT:
        return []
    message = f"{name} is from 0 to {_MAX_AMOUNT:g}; a target of {target.value:g} cannot apply"
    return [(("targets", name, target.bound), message, None)]
