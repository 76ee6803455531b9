"""Checks of a scenario that need more than one section: shares summing to 1, skills, routes
and targets naming what exists, every call type served, the business sections' cross-checks,
zero-delay loops and the size of a run. Each problem is (location, message, suggestion), for
the loader to turn into one error per problem (:mod:`sim.scenario.loading`)."""

from __future__ import annotations

import datetime

from sim.scenario.kpis import HEADLINE, unit_of
from sim.scenario.limits import MAX_SLOTS, max_calls
from sim.scenario.outbound_schema import outbound_checks
from sim.scenario.pitfalls import share_targets
from sim.scenario.routing_schema import ROUTING_KEYS
from sim.scenario.schema import Scenario
from sim.scenario.schema_types import SHARE_KPIS, RedialRule, Target, by_day, suggest
from sim.scenario.units import DAY, WEEKDAYS

__all__ = ["business_checks", "cross_check", "expected_calls", "run_size", "zero_delay_loops"]


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
        elif target.within is not None and name not in ("service_level", "response_within"):
            problems.append(
                (
                    ("targets", name, "within"),
                    "within goes with service_level or response_within",
                    None,
                )
            )
        else:
            problems += _target_range(name, target)
    problems += _dated_staffing(sc)
    if sc.outbound is not None:
        shares = {name: ct.share for name, ct in sc.call_types.items()}
        routed = {name for name in sc.call_types if sc.route(name)}
        problems += outbound_checks(sc.outbound, shares, routed, groups)
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


def business_checks(sc: Scenario) -> list[tuple[tuple, str, str | None]]:
    """Links between calls, the back office and delivery: every name used must exist."""
    problems: list[tuple[tuple, str, str | None]] = []
    bo, dl = sc.back_office, sc.delivery
    work = bo.work if bo is not None else None
    needs = {
        "delivery_order": (dl is not None, "`delivery:` section"),
        "lead": (work is not None and work.lead is not None, "back_office.work.lead"),
        "work_order": (
            work is not None and work.work_order is not None,
            "back_office.work.work_order",
        ),
    }
    for name, ctype in sc.call_types.items():
        if ctype.creates is not None and not needs[ctype.creates][0]:
            problems.append(
                (
                    ("call_types", name, "creates"),
                    f"creates {ctype.creates} but the scenario has no {needs[ctype.creates][1]}",
                    None,
                )
            )
    if work is not None and work.lead is not None and work.lead.creates != "nothing" and dl is None:
        problems.append(
            (
                ("back_office", "work", "lead", "creates"),
                "converted leads create delivery orders but the scenario has no "
                "`delivery:` section",
                None,
            )
        )
    if dl is None:
        return problems
    channels, tiers = list(dl.channels), list(sc.customer_tiers)
    for i, rule in enumerate(dl.routing):
        for key in ("use", "fallback"):
            name = getattr(rule, key)
            if name is not None and name not in dl.channels:
                problems.append(
                    (
                        ("delivery", "routing", i, key),
                        f"unknown channel '{name}'; channels: {', '.join(channels)}",
                        suggest(name, channels),
                    )
                )
        for tier in rule.when.values("tier") or []:
            if tier not in sc.customer_tiers:
                problems.append(
                    (
                        ("delivery", "routing", i, "when", "tier"),
                        f"unknown customer tier '{tier}'; tiers: {', '.join(tiers)}",
                        suggest(tier, tiers),
                    )
                )
        if rule.fallback is not None and rule.fallback == rule.use:
            problems.append(
                (
                    ("delivery", "routing", i, "fallback"),
                    "fallback is the same channel as use",
                    None,
                )
            )
    last = dl.routing[-1].when
    if any(last.values(k) for k in ("tier", "source", "payment")):
        problems.append(
            (
                ("delivery", "routing", len(dl.routing) - 1),
                "the last routing rule must have no `when`, so that every order has a channel",
                None,
            )
        )
    complaining = [n for n, ch in dl.channels.items() if ch.complaint_rate > 0]
    if complaining and dl.complaint_call_type not in sc.call_types:
        problems.append(
            (
                ("delivery", "complaint_call_type"),
                f"unknown call type '{dl.complaint_call_type}' for complaint calls "
                f"(channels {', '.join(complaining)} have a complaint_rate); "
                f"call types: {', '.join(types_ := list(sc.call_types))}",
                suggest(dl.complaint_call_type, types_),
            )
        )
    return problems


def zero_delay_loops(sc: Scenario) -> list[tuple[tuple, str, str | None]]:
    """A redial that always happens, at once, repeats without end: reject it."""
    rules: list[tuple[tuple[str, ...], RedialRule | None]] = [
        (("redial", k), getattr(sc.redial, k)) for k in ("after_abandon", "after_unresolved")
    ]
    work = sc.back_office.work.work_order if sc.back_office is not None else None
    if work is not None and work.call_back is not None:
        rules.append((("back_office", "work", "work_order", "call_back"), work.call_back))
    return [
        (
            loc,
            "a redial with probability 1 and zero delay repeats without end at the same "
            "instant; give a delay or a probability below 1",
            None,
        )
        for loc, rule in rules
        if rule is not None and rule.probability >= 1 and rule.delay.mean <= 0
    ]


def expected_calls(sc: Scenario) -> float:
    """Expected first calls over the horizon: the day's volume (rate, daily volume or the
    arrivals file's rows, days beyond the file repeating its cycle) x each weekday's factor."""
    arr, days = sc.arrivals, sc.horizon.days
    if arr.rows:
        dated = [r for r in arr.rows if r[0] > 0]
        cycle = max((r[0] for r in dated), default=0)
        per_day = [
            sum(r[2] for r in (dated or arr.rows) if r[0] == (k + 1 if dated else 0))
            for k in range(max(cycle, 1))
        ]
    elif arr.rate_per_hour is not None:
        per_day = [arr.rate_per_hour * 24]
    else:
        assert arr.daily_volume is not None  # exactly one of rate, daily volume, file: validated
        per_day = [arr.daily_volume]
    first = WEEKDAYS.index(sc.horizon.start_weekday)
    return sum(
        per_day[d % len(per_day)] * arr.weekday_factors.get(WEEKDAYS[(first + d) % 7], 1.0)
        for d in range(days)
    )


def run_size(sc: Scenario) -> list[tuple[tuple, str, str | None]]:
    """The horizon's expected first calls must fit (checked before any allocation)."""
    calls = expected_calls(sc)
    problems: list[tuple[tuple, str, str | None]] = []
    slots = sc.horizon.days * round(DAY / sc.interval)
    if slots > MAX_SLOTS:
        message = (
            f"{sc.horizon.days} days of {sc.interval:g} s intervals make {slots:,} reporting "
            f"intervals; the limit is {MAX_SLOTS:,}: use a longer interval or a shorter horizon"
        )
        problems.append((("interval",), message, None))
    limit = max_calls()
    if calls > limit:
        message = (
            f"expects {calls:,.0f} calls in one replication; the limit is {limit:,} (about "
            "120 bytes a call). Check rates and weekday_factors, shorten the horizon, or "
            "raise the limit with --max-calls"
        )
        problems.append((("arrivals",), message, None))
    return problems
