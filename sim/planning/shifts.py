"""Shift scheduling: the shifts with the fewest paid hours covering a per-interval requirement,
by integer programming, checked by simulation.

Owns the shift-templates file and the covering MILP; the requirement comes from
:func:`sim.planning.staffing.staff`, the simulation from :mod:`sim.model.simulation`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pydantic
from pydantic import BeforeValidator, Field, model_validator
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_matrix

from sim.experiments.executors import Executor, executor_scope
from sim.model.calendar import weekday_of
from sim.scenario.distributions import Duration
from sim.scenario.loading import scenario_from_dict
from sim.scenario.resolved import dump_yaml, scenario_to_dict
from sim.scenario.schema import Clock, Model, Scenario, Weekday
from sim.scenario.units import DAY, WEEKDAYS, format_clock, parse_clock
from sim.scenario.yamlsource import ScenarioError, load_yaml, validation_error

__all__ = [
    "Schedule",
    "ShiftTemplate",
    "Templates",
    "candidate_shifts",
    "cover",
    "load_templates",
    "schedule_shifts",
]


class StartRange(Model):
    """Start times from ``from`` to ``to`` (inclusive) every ``every``."""

    from_: Clock = Field(alias="from", description="first allowed start")
    to: Clock = Field(description="last allowed start")
    every: Duration = Field(gt=0, description="step between starts, seconds")

    def times(self) -> list[float]:
        first, last = parse_clock(self.from_), parse_clock(self.to)
        span = (last - first) % DAY
        n = math.floor(span / self.every + 1e-9) + 1
        return [(first + i * self.every) % DAY for i in range(n)]


def _starts(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class TemplateBreak(Model):
    """A break ``after`` the shift start, lasting ``length`` (agents off the phones)."""

    after: Duration = Field(ge=0, description="time from the shift start, seconds")
    length: Duration = Field(gt=0, description="length of the break, seconds")


class ShiftTemplate(Model):
    """A kind of shift: its length, the start times allowed, its breaks and weekdays."""

    length: Duration = Field(gt=0, le=DAY, description="shift length, breaks included, seconds")
    starts: Annotated[list[Clock] | StartRange, BeforeValidator(_starts)] = Field(
        description='allowed starts: "HH:MM", a list of them, or {from, to, every}'
    )
    break_: TemplateBreak | list[TemplateBreak] | None = Field(
        None, alias="break", description="breaks inside the shift"
    )
    days: list[Weekday] | None = Field(None, description="weekdays it may run; default all")
    paid_hours: float | None = Field(
        None, gt=0, allow_inf_nan=False, description="paid hours per shift; default its length"
    )

    @property
    def breaks(self) -> list[TemplateBreak]:
        if self.break_ is None:
            return []
        return list(self.break_) if isinstance(self.break_, list) else [self.break_]

    def start_times(self) -> list[float]:
        if isinstance(self.starts, StartRange):
            return self.starts.times()
        return [parse_clock(s) for s in self.starts]

    @property
    def cost(self) -> float:
        return self.paid_hours if self.paid_hours is not None else self.length / 3600.0

    @model_validator(mode="after")
    def _breaks_inside(self):
        for b in self.breaks:
            if b.after + b.length > self.length:
                raise ValueError(
                    f"a break after {b.after:g} s of {b.length:g} s does not fit in "
                    f"the {self.length:g} s shift"
                )
        if self.length >= DAY:
            raise ValueError("a shift must be shorter than a day")
        return self


class Templates(Model):
    """A shift-templates file (``sim staff FILE --shifts TEMPLATES``)."""

    templates: dict[str, ShiftTemplate] = Field(min_length=1, description="templates by name")
    groups: list[str] | None = Field(None, description="agent groups to put on shifts; default all")


def load_templates(path: str | Path, scenario: Scenario | None = None) -> Templates:
    """Read and check a templates file; errors name the file, line and dotted path.

    Raises
    ------
    ScenarioError
    """
    data, smap = load_yaml(Path(path))
    try:
        templates = Templates.model_validate(data)
    except pydantic.ValidationError as exc:
        raise validation_error(exc, smap, Templates) from None
    if scenario is not None and templates.groups is not None:
        problems = [
            smap.error(
                ("groups", i),
                f"unknown agent group '{g}'; groups: {', '.join(scenario.agents.groups)}",
            )
            for i, g in enumerate(templates.groups)
            if g not in scenario.agents.groups
        ]
        if problems:
            raise ScenarioError(problems)
    return templates


# --- the covering problem ----------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """One shift that may be bought: a template started at ``start`` s on weekday ``day``."""

    template: str
    day: int  # weekday index, mon = 0
    start: float
    cost: float  # paid hours


def candidate_shifts(templates: Templates, weekdays: list[int]) -> list[Candidate]:
    """Every (template, weekday, start) allowed, on the weekdays the horizon has."""
    out = []
    for name, t in templates.templates.items():
        for w in weekdays:
            if t.days is not None and WEEKDAYS[w] not in t.days:
                continue
            for start in sorted(set(t.start_times())):
                out.append(Candidate(name, w, start, t.cost))
    return out


def coverage(candidates: list[Candidate], templates: Templates, interval: float) -> np.ndarray:
    """0/1 matrix (7 x intervals per day, candidates): the shift is on the phones during the
    whole interval (a week that wraps from Sunday to Monday). Intervals only partly worked or
    touched by a break do not count, so coverage is never overstated."""
    per_day = round(DAY / interval)
    n = 7 * per_day
    a = np.zeros((n, len(candidates)), dtype=np.int8)
    for j, c in enumerate(candidates):
        t = templates.templates[c.template]
        begin = c.day * DAY + c.start
        first = math.ceil(begin / interval - 1e-9)
        last = math.floor((begin + t.length) / interval + 1e-9)  # bins [first, last)
        on = np.zeros(n, dtype=bool)
        on[np.arange(first, last) % n] = True
        for b in t.breaks:
            b0 = math.floor((begin + b.after) / interval + 1e-9)
            b1 = math.ceil((begin + b.after + b.length) / interval - 1e-9)
            on[np.arange(b0, b1) % n] = False
        a[on, j] = 1
    return a


def cover(
    requirement: np.ndarray, candidates: list[Candidate], templates: Templates, interval: float
) -> np.ndarray:
    """Counts per candidate minimising paid hours with every interval covered: the MILP

    ``min sum_j cost_j x_j  s.t.  A x >= r,  x integer >= 0``

    solved by HiGHS through :func:`scipy.optimize.milp` (branch and bound to optimality).

    Raises ValueError when some interval with a requirement is covered by no candidate.
    """
    r = np.asarray(requirement, dtype=float).ravel()
    if not candidates:
        if np.any(r > 0):
            raise ValueError("no shift template can run on the days that need agents")
        return np.zeros(0, dtype=np.int64)
    a = coverage(candidates, templates, interval)
    uncovered = (r > 0) & (a.sum(axis=1) == 0)
    if uncovered.any():
        per_day = round(DAY / interval)
        w, k = divmod(int(np.flatnonzero(uncovered)[0]), per_day)
        raise ValueError(
            f"no shift template covers {WEEKDAYS[w]} {format_clock(k * interval)}, "
            f"which needs {int(r[uncovered][0])} agent(s)"
        )
    need = r > 0
    cost = np.array([c.cost for c in candidates])
    res = milp(
        cost,
        integrality=np.ones(len(candidates)),
        bounds=Bounds(0, np.inf),
        constraints=LinearConstraint(csr_matrix(a[need]), lb=r[need], ub=np.inf),
    )
    if res.x is None:
        raise ValueError(f"the shift MILP failed: {res.message}")
    return np.round(res.x).astype(np.int64)


# --- schedule for a staffing result ------------------------------------------------------------


@dataclass
class Schedule:
    """Chosen shifts per group, their coverage against the requirement, and the check by
    simulation (intervals meeting every target with the shifts)."""

    shifts: dict[str, list[dict]]  # group -> scenario `shifts:` entries
    requirement: dict[str, np.ndarray]  # group -> (7, per_day), raised where repairs needed
    covered: dict[str, np.ndarray]
    scenario: Scenario  # the scenario on the chosen shifts
    paid_hours: float
    over_hours: float
    met: int
    slots: int
    p_meet: dict[str, np.ndarray]
    repairs: int = 0  # MILP rounds with raised requirements after the first
    recommended: dict[str, np.ndarray] | None = None  # the staffing before repairs

    def summary(self) -> dict:
        return {
            "paid_hours": self.paid_hours,
            "over_hours": self.over_hours,
            "intervals_met": self.met,
            "intervals": self.slots,
            "repairs": self.repairs,
        }

    def write(self, out: Path) -> None:
        """shifts.yaml (the ``agents:`` section on shifts) and shifts.csv (per interval:
        required (after repairs), covered, over-staffing against it, share of replications
        meeting the targets)."""
        from sim.report.files import write_atomic, write_table

        head = (
            "# shifts with the fewest paid hours covering the staffing (sim staff "
            "--shifts); paste over the scenario's agents: section\n"
        )
        agents = {"agents": scenario_to_dict(self.scenario)["agents"]}
        write_atomic(out / "shifts.yaml", dump_yaml(agents, head))
        per_day = round(DAY / self.scenario.interval)
        cols: dict[str, list] = {
            k: []
            for k in (
                "group",
                "weekday",
                "start",
                "recommended",
                "required",
                "covered",
                "over",
                "p_meets_target",
            )
        }
        recommended = self.recommended or self.requirement
        for g, req in self.requirement.items():
            for w in range(7):
                if not req[w].any() and not self.covered[g][w].any():
                    continue
                for k in range(per_day):
                    cols["group"].append(g)
                    cols["weekday"].append(WEEKDAYS[w])
                    cols["start"].append(format_clock(k * self.scenario.interval))
                    cols["recommended"].append(int(recommended[g][w, k]))
                    cols["required"].append(int(req[w, k]))
                    cols["covered"].append(int(self.covered[g][w, k]))
                    cols["over"].append(int(self.covered[g][w, k] - recommended[g][w, k]))
                    cols["p_meets_target"].append(float(self.p_meet[g][w * per_day + k]))
        write_table(out / "shifts.csv", cols)


def shift_entries(
    candidates: list[Candidate], counts: np.ndarray, templates: Templates
) -> list[dict]:
    """Scenario ``shifts:`` entries; the same template and start on several weekdays with the
    same count become one entry with ``days``."""
    merged: dict[tuple, list[int]] = {}
    for c, n in zip(candidates, counts.tolist(), strict=True):
        if n > 0:
            merged.setdefault((c.template, c.start, n), []).append(c.day)
    out = []
    for (name, start, n), days in merged.items():
        t = templates.templates[name]
        entry: dict = {
            "start": format_clock(start),
            "end": format_clock((start + t.length) % DAY),
            "count": int(n),
        }
        if t.breaks:
            entry["break"] = [
                {"at": format_clock((start + b.after) % DAY), "length": b.length} for b in t.breaks
            ]
        if len(days) < 7:
            entry["days"] = [WEEKDAYS[d] for d in sorted(days)]
        out.append(entry)
    return out


def _on_shifts(
    result,
    templates: Templates,
    candidates: list[Candidate],
    a: np.ndarray,
    requirement: dict[str, np.ndarray],
    groups: list[str],
    base_dir: str | Path,
):
    """The scenario with ``groups`` on the cheapest shifts covering ``requirement`` (the other
    groups on their recommended staffing), and per group the shifts, coverage and paid hours."""
    from sim.planning.staffing import staffing_map

    scenario = result.scenario
    data = scenario_to_dict(scenario)
    shifts, covered, paid = {}, {}, 0.0
    for g, plan in requirement.items():
        group = {
            k: v for k, v in data["agents"]["groups"][g].items() if k not in ("shifts", "staffing")
        }
        if g in groups:
            counts = cover(plan, candidates, templates, scenario.interval)
            shifts[g] = shift_entries(candidates, counts, templates)
            covered[g] = (a @ counts).reshape(plan.shape)
            paid += float(counts @ np.array([c.cost for c in candidates]))
            if shifts[g]:
                group["shifts"] = shifts[g]
            else:
                group["staffing"] = 0
        else:
            covered[g] = plan
            group["staffing"] = staffing_map(scenario, plan)
        data["agents"]["groups"][g] = group
    sc = scenario_from_dict(data, base_dir=base_dir, source=f"{scenario.name} (shifts)")
    return sc, shifts, covered, paid


def schedule_shifts(
    result,
    templates: Templates,
    executor: str | Executor | None = "serial",
    base_dir: str | Path = ".",
    repair_rounds: int = 3,
    advance: Callable[[int, int], None] | None = None,
) -> Schedule:
    """Shifts covering ``result.staffing`` (a :class:`sim.planning.staffing.StaffingResult`) for the
    groups of ``templates``, checked by simulating the scenario on those shifts with the same
    seeds and replications.

    Shifts change more than the count in each interval (agents leave for breaks and at the
    end of a shift after their current call, and neighbouring intervals carry more or fewer
    agents than the staffing found), so a few intervals may miss. Repair: the requirement of
    each interval that misses is raised by one and the MILP solved again, up to
    ``repair_rounds`` times; the requirement reported is the one finally covered. Runs go to
    ``executor``; ``advance(done, total)`` counts them.
    """
    from sim.planning.staffing import _rates, simulate_slots

    scenario = result.scenario
    weekdays = sorted(
        {WEEKDAYS.index(weekday_of(scenario, d)) for d in range(scenario.horizon.days)}
    )
    groups = templates.groups or list(scenario.agents.groups)
    candidates = candidate_shifts(templates, weekdays)
    a = coverage(candidates, templates, scenario.interval)
    names = list(scenario.agents.groups)
    absent = [w for w in range(7) if w not in weekdays]  # filled from their day type: not bought
    base = {g: result.staffing[g].copy() for g in names}
    for plan in base.values():
        plan[absent] = 0
    requirement = {g: plan.copy() for g, plan in base.items()}
    used = result.used_slots()
    reps = result.replications
    with executor_scope(executor) as ex:
        for round_ in range(repair_rounds + 1):
            on_shifts, shifts, covered, paid = _on_shifts(
                result, templates, candidates, a, requirement, groups, base_dir
            )
            counts = simulate_slots(
                on_shifts, result.seed, reps, ex, advance, round_ * reps, (repair_rounds + 1) * reps
            )
            pooled_ok = result.targets.met(*_rates(counts.sum(axis=0)))  # (groups, slots)
            missing = ~pooled_ok & used[None, :]
            for i, g in enumerate(names):
                if g not in groups:
                    missing[i] = False
            if not missing.any() or round_ == repair_rounds:
                break
            for i, g in enumerate(names):
                requirement[g] = requirement[g] + missing[i].reshape(requirement[g].shape)
    ok = result.targets.met(*_rates(counts))  # (reps, groups, slots)
    p_meet = {g: ok[:, i, :].mean(axis=0) for i, g in enumerate(names)}
    over = sum(float((covered[g] - base[g]).sum()) for g in groups)
    met = int(pooled_ok[:, used].sum())
    return Schedule(
        {g: shifts.get(g, []) for g in groups},
        requirement,
        covered,
        on_shifts,
        paid,
        over * scenario.interval / 3600.0,
        met,
        int(used.sum()) * len(names),
        p_meet,
        round_,
        base,
    )
