"""Fulfilment sizing: the fewest couriers, courier-company capacity and back-office staff that meet
the delivery and back-office targets at the lowest daily cost, searched by simulation.

Owns the fulfilment cost model and the coordinate search; the model itself is
:mod:`sim.model.simulation`.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sim.experiments.checkpoint import RunStore, run_kept
from sim.experiments.executors import Executor, executor_scope
from sim.scenario.loading import scenario_from_dict
from sim.scenario.resolved import dump_yaml, scenario_to_dict
from sim.scenario.schema import Scenario

__all__ = [
    "FULFILMENT_TARGETS",
    "Coordinate",
    "SizingResult",
    "coordinates",
    "daily_cost",
    "plan_costs",
    "size",
    "verify_point",
    "write_sizing_folder",
]

FULFILMENT_TARGETS = ("delivery_on_time", "delivery_success", "back_office_on_time")
BACKLOG_KPIS = ("orders_open", "orders_deferred", "back_office_backlog")
"""Work left undone that a cheaper point may not grow: delivery_success counts closed orders
only, so without this fewer couriers would look cheaper by leaving orders undelivered."""
BACKLOG_SLACK = 1.1
SCALE_UPS = 4  # x1.5 each: up to 5 times the scenario's resources
VERIFY_OFFSET = 1_000_000  # fresh seeds: replications the search never runs


@dataclass(frozen=True)
class Coordinate:
    """One resource to size: where it sits in the scenario data and its current value."""

    label: str
    path: tuple[str, ...]
    value: int


def coordinates(scenario: Scenario) -> list[Coordinate]:
    """Couriers of each courier channel, daily capacity of each company, back-office staff."""
    out = []
    if scenario.delivery is not None:
        for name, ch in scenario.delivery.channels.items():
            key = ch.sized_by  # couriers, or a company's daily_capacity
            out.append(
                Coordinate(
                    f"{name}.{key}", ("delivery", "channels", name, key), int(getattr(ch, key))
                )
            )
    if scenario.back_office is not None:
        out.append(
            Coordinate(
                "back_office.staff",
                ("back_office", "team", "staff"),
                int(scenario.back_office.team.staff),
            )
        )
    return out


def _with_values(
    data: dict, coords: list[Coordinate], values: tuple[int, ...], base_dir: Path
) -> Scenario:
    data = copy.deepcopy(data)
    for c, v in zip(coords, values, strict=True):
        node = data
        for key in c.path[:-1]:
            node = node[key]
        node[c.path[-1]] = int(v)
    return scenario_from_dict(data, base_dir=base_dir, source="sizing point")


def fixed_daily_cost(scenario: Scenario) -> float:
    """Costs not simulated, per day: company capacity bought and back-office staff hours.

    ``daily_capacity x cost_per_capacity_day`` per company, plus ``staff x cost_per_hour x``
    (opening hours a week / 7) for the back office.
    """
    cost = 0.0
    if scenario.delivery is not None:
        for ch in scenario.delivery.channels.values():
            cost += ch.bought_capacity_cost
    bo = scenario.back_office
    if bo is not None and bo.team.cost_per_hour:
        days = len(bo.team.hours.days) if bo.team.hours.days is not None else 7
        cost += bo.team.staff * bo.team.cost_per_hour * bo.team.hours.length_s / 3600 * days / 7
    return cost


PLAN_FIGURES = ("agent_hours", "overtime_hours", "delivery_cost")


def plan_costs(comparison) -> dict[str, dict]:
    """Per compared scenario, what the plan costs per day: scheduled agent-hours and overtime
    (from the staffing timelines over the measured horizon), the delivery cost the model
    charges (attempts and courier days), the fixed cost (:func:`fixed_daily_cost`) and their
    fulfilment total; each alternative's paired difference to the baseline where simulated."""
    out: dict[str, dict] = {}
    base = comparison.labels[0]
    for label, summary in zip(comparison.labels, comparison.summaries, strict=True):
        row: dict = {}
        for name in PLAN_FIGURES:
            k = summary.kpis.get(name)
            if k is not None and k.mean is not None:
                row[name] = {"mean": k.mean, "ci95": list(k.ci95) if k.ci95 else None}
                d = comparison.differences.get(label, {}).get(name)
                if d is not None and label != base:
                    row[name]["difference"] = d.mean
                    row[name]["difference_ci95"] = list(d.ci95) if d.ci95 else None
        fixed = fixed_daily_cost(summary.scenario)
        row["fixed_cost"] = {"mean": fixed}
        if fixed:
            variable = row.get("delivery_cost", {}).get("mean") or 0.0
            row["fulfilment_cost"] = {"mean": variable + fixed}
        out[label] = row
    return out


def daily_cost(scenario: Scenario, kpis: dict) -> float:
    """Cost per day of one run: the delivery cost the model charges (attempts x
    ``cost_per_attempt`` and working courier days x ``cost_per_courier_day``, as
    ``cost_per_delivery.channel=X x orders_delivered.channel=X``) plus :func:`fixed_daily_cost`.
    """
    cost = fixed_daily_cost(scenario)
    if scenario.delivery is not None:
        for name in scenario.delivery.channels:
            per = kpis.get(f"cost_per_delivery.channel={name}")
            n = kpis.get(f"orders_delivered.channel={name}")
            if per is not None and n:
                cost += per * n
    return cost


@dataclass
class Evaluation:
    values: tuple[int, ...]
    cost: float
    kpis: dict[str, float | None]
    feasible: bool


@dataclass
class SizingResult:
    """The cheapest feasible point found, every point simulated, and the targets left out
    because no amount of these resources reached them (within the search's limits)."""

    scenario: Scenario
    coords: list[Coordinate]
    best: Evaluation
    start: Evaluation
    evaluations: list[Evaluation]
    unreachable: dict[str, float | None]
    replications: int
    seed: int
    elapsed_s: float
    sized: Scenario | None = None
    notes: list[str] = field(default_factory=list)
    verified: dict | None = None  # the sized point on fresh seeds (:func:`verify_point`)

    @property
    def met_on_fresh_seeds(self) -> bool | None:
        """Every sized-for target met by the fresh-seed means (None: not re-checked)."""
        return None if self.verified is None else self.verified["met"]


class _Search:
    """The points simulated so far and the rule a point must meet (see :func:`size`)."""

    def __init__(
        self,
        scenario: Scenario,
        coords,
        wanted,
        seed,
        reps,
        executor,
        base,
        progress,
        advance,
        kept: Path | None = None,
    ) -> None:
        self.data = scenario_to_dict(scenario)
        self.kept = kept  # finished replications of each point, for a rerun to resume
        self.coords, self.active = coords, dict(wanted)
        self.seed, self.reps, self.executor, self.base = seed, reps, executor, base
        self.progress, self.advance = progress, advance
        self.cache: dict[tuple[int, ...], Evaluation] = {}
        self.evaluations: list[Evaluation] = []
        self.caps: dict[str, float] = {}  # backlog at the horizon may not grow
        self.unreachable: dict[str, float | None] = {}  # targets no scaled point reached

    def kpi_means(self, values: tuple[int, ...]) -> dict[str, float | None]:
        """Mean of every KPI over the replications of the point, and its daily cost."""
        sc = _with_values(self.data, self.coords, values, self.base)
        done = len(self.evaluations) * self.reps
        store = self.store("p-" + "-".join(map(str, values)), sc)
        runs = run_kept(self.executor, sc, self.seed, range(self.reps), store, self.advance, done)
        names = {k for r in runs for k in r.kpis}
        means: dict[str, float | None] = {}
        for k in names:
            vals = [v for r in runs if (v := r.kpis.get(k)) is not None]
            means[k] = sum(vals) / len(vals) if vals else None
        means["daily_cost"] = sum(daily_cost(sc, r.kpis) for r in runs) / len(runs)
        return means

    def store(self, name: str, scenario: Scenario) -> RunStore | None:
        """Where the replications of one point (``name``) are kept, if anywhere."""
        return (
            None
            if self.kept is None
            else RunStore(self.kept / name, scenario, self.seed, self.kept)
        )

    def meets(self, kpis: dict) -> bool:
        """Every active target met and no backlog above its cap."""
        for k, cap in self.caps.items():
            v = kpis.get(k)
            if v is not None and v > cap:
                return False
        return all(t.met(kpis.get(k)) is not False for k, t in self.active.items())

    def evaluate(self, values: tuple[int, ...]) -> Evaluation:
        """The point, simulated once; its verdict under the current targets and caps."""
        if values not in self.cache:
            self._record(values, self.kpi_means(values))
        ev = self.cache[values]
        ev.feasible = self.meets(ev.kpis)  # the active targets may have shrunk
        return ev

    def _record(self, values: tuple[int, ...], kpis: dict) -> None:
        ev = Evaluation(values, kpis["daily_cost"], kpis, self.meets(kpis))
        self.cache[values] = ev
        self.evaluations.append(ev)
        if self.progress:
            labels = [c.label for c in self.coords]
            self.progress(
                f"{dict(zip(labels, values, strict=True))}: "
                f"cost {ev.cost:,.0f}/day, {'meets' if ev.feasible else 'misses'}"
            )

    def start(self, current: tuple[int, ...]) -> Evaluation:
        """The scenario's own point, simulated once; its backlog caps every other point."""
        first = self.kpi_means(current)
        self.caps.update(
            {k: BACKLOG_SLACK * v + 1.0 for k in BACKLOG_KPIS if (v := first.get(k)) is not None}
        )
        self._record(current, first)
        return self.evaluate(current)

    def feasible_point(self, current: tuple[int, ...], start: Evaluation) -> tuple[int, ...]:
        """A point meeting every reachable target: the start, or it scaled by 1.5 up to
        ``SCALE_UPS`` times; targets still missed then go to ``unreachable``."""
        point, ev = current, start
        for _ in range(SCALE_UPS):
            if ev.feasible:
                return point
            point = tuple(max(v + 1, math.ceil(v * 1.5)) for v in point)
            ev = self.evaluate(point)
        if ev.feasible:
            return point
        for k in list(self.active):
            v = ev.kpis.get(k)
            if v is not None and not self.meets({k: v}):
                self.unreachable[k] = v
                del self.active[k]
        if not self.active:
            raise ValueError(
                "no target can be reached by scaling couriers, capacity and "
                f"back-office staff: {self.unreachable}"
            )
        return current if self.evaluate(current).feasible else point

    def descend(self, best: Evaluation, max_passes: int) -> Evaluation:
        """Coordinate search: per resource, bisect for the smallest value still meeting every
        target and keep the cheapest feasible point on that line; repeat until nothing moves."""
        for _ in range(max_passes):
            changed = False
            for i in range(len(self.coords)):
                lo_fail, hi_ok = -1, best.values[i]
                line = [best]
                while hi_ok - lo_fail > 1:
                    mid = (lo_fail + hi_ok) // 2
                    trial = self.evaluate((*best.values[:i], mid, *best.values[i + 1 :]))
                    if trial.feasible:
                        hi_ok = mid
                        line.append(trial)
                    else:
                        lo_fail = mid
                cheapest = min(line, key=lambda e: (e.cost, sum(e.values)))
                if cheapest.values != best.values:
                    best, changed = cheapest, True
            if not changed:
                break
        return best


def verify_point(
    sized: Scenario,
    targets: dict,
    seed: int,
    replications: int,
    executor: Executor,
    store: RunStore | None = None,
    unsized: tuple[str, ...] = (),
) -> dict:
    """The sized point re-simulated on replications the search never ran (``VERIFY_OFFSET``
    on): per target the mean, its 95 % CI and the verdict, and whether all the sized-for ones
    are met (``unsized``: targets out of reach, shown with ``sized_for`` False and left out of
    ``met``; a planner must see what the sized plan does to them too). This is the figure shown
    to the planner, not the search's own (in-sample) one."""
    from sim.experiments.replication import kpi_mean_ci

    reps = range(VERIFY_OFFSET, VERIFY_OFFSET + replications)
    runs = run_kept(executor, sized, seed, reps, store)
    kpis = {}
    for k, target in targets.items():
        mean, ci, n = kpi_mean_ci(k, (run.kpis.get(k) for run in runs))
        # clear: the whole interval on the right side (else more replications could tip it)
        clear = None if ci is None else bool(target.met(ci[0]) and target.met(ci[1]))
        kpis[k] = {"mean": mean, "ci95": ci, "replications": n, "met": target.met(mean)}
        kpis[k]["clear"] = clear if kpis[k]["met"] else None
        kpis[k]["sized_for"] = k not in unsized
    met = all(v["met"] is not False for v in kpis.values() if v["sized_for"])
    return {
        "replications": replications,
        "first_replication": VERIFY_OFFSET,
        "kpis": kpis,
        "met": met,
    }


def size(
    scenario: Scenario,
    seed: int | None = None,
    replications: int | None = None,
    executor: str | Executor | None = "serial",
    max_passes: int = 3,
    base_dir: str | Path = ".",
    progress: Callable[[str], None] | None = None,
    advance: Callable[[int, int], None] | None = None,
    verify: int = 20,
    kept: str | Path | None = None,
) -> SizingResult:
    """The couriers, company capacity and back-office staff meeting ``delivery_on_time``,
    ``delivery_success`` and ``back_office_on_time`` (those the scenario targets) at the lowest
    daily cost (:func:`daily_cost`), by coordinate search with common random numbers.

    Every point runs replications ``0..R-1`` of the same seed, so two points differ by their
    resources only. The search: if the scenario's own point misses a target, every resource is
    scaled by 1.5 until it meets (at most 4 times; a target still missed then is reported as
    unreachable by these resources and left out). Then, one resource at a time, the smallest
    value still meeting every target is found by bisection between 0 and the current value
    (the targets are taken as monotone in each resource) and the cheapest feasible value seen
    on that line is kept; passes repeat until nothing changes (``max_passes``). It is a local
    search: a cheaper mix reached only by raising one resource to cut another is not explored.

    A point must also leave no more work undone than the scenario's own resources do: each of
    ``orders_open``, ``orders_deferred`` and ``back_office_backlog`` at most 1.1 x its value at
    the starting point + 1 (otherwise delivering less would look cheaper). Runs go to
    ``executor``; ``advance(done, total)`` counts them (``total``: those of the current point).

    The cheapest point is then re-simulated with ``verify`` fresh replications
    (:func:`verify_point`; 0: not re-checked, and the result says so): the search picked it
    on the noise of its own seeds, so its in-sample figures flatter it.

    ``kept``: a folder where every finished replication is kept (one
    :class:`~sim.experiments.checkpoint.RunStore` per point): a rerun with the same folder loads
    them, replays the same search and runs only what is missing.
    """
    started = time.perf_counter()
    seed = scenario.seed if seed is None else int(seed)
    reps = replications or scenario.replications
    coords = coordinates(scenario)
    if not coords:
        raise ValueError("the scenario has no delivery channels or back office to size")
    wanted = {k: t for k, t in scenario.targets.items() if k in FULFILMENT_TARGETS}
    if not wanted:
        raise ValueError(
            "the scenario has no delivery_on_time, delivery_success or "
            "back_office_on_time target to size for"
        )
    base = Path(base_dir)
    with executor_scope(executor) as ex:
        folder = None if kept is None else Path(kept)
        search = _Search(scenario, coords, wanted, seed, reps, ex, base, progress, advance, folder)
        current = tuple(c.value for c in coords)
        start = search.start(current)
        point = search.feasible_point(current, start)
        best = search.descend(search.evaluate(point), max_passes)
        sized = _with_values(search.data, coords, best.values, base)
        verified = None
        if verify > 0:
            if progress:
                progress(f"checking the sized point with {verify} fresh replications")
            check = search.store("fresh-seeds", sized)
            unsized = tuple(search.unreachable)
            verified = verify_point(sized, wanted, seed, verify, ex, check, unsized)
    return SizingResult(
        scenario,
        coords,
        best,
        start,
        search.evaluations,
        search.unreachable,
        reps,
        seed,
        time.perf_counter() - started,
        sized,
        verified=verified,
    )


def write_sizing_folder(out: str | Path, result: SizingResult) -> Path:
    """sizing.json (best point, cost model, unreachable targets), sizing.csv (every point
    simulated) and sizing.yaml (the sized ``delivery:`` and ``back_office:`` sections)."""
    import json

    from sim.report.files import write_atomic, write_table

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    labels = [c.label for c in result.coords]
    cols: dict[str, list] = {
        k: [] for k in (*labels, "daily_cost", *FULFILMENT_TARGETS, "meets_targets")
    }
    for ev in result.evaluations:
        for label, v in zip(labels, ev.values, strict=True):
            cols[label].append(v)
        cols["daily_cost"].append(ev.cost)
        for k in FULFILMENT_TARGETS:
            cols[k].append(ev.kpis.get(k))
        cols["meets_targets"].append(ev.feasible)
    write_table(out / "sizing.csv", cols)
    summary = {
        "scenario": result.scenario.name,
        "seed": result.seed,
        "replications": result.replications,
        "points_simulated": len(result.evaluations),
        "replications_simulated": len(result.evaluations) * result.replications,
        "elapsed_s": result.elapsed_s,
        "start": {
            "values": dict(zip(labels, result.start.values, strict=True)),
            "daily_cost": result.start.cost,
            "meets_targets": result.start.feasible,
        },
        "best": {
            "values": dict(zip(labels, result.best.values, strict=True)),
            "daily_cost": result.best.cost,
            "kpis": {k: result.best.kpis.get(k) for k in FULFILMENT_TARGETS},
        },
        "unreachable_targets": result.unreachable,
        "fresh_seeds": result.verified,  # the figures to trust: replications the search never ran
    }
    write_atomic(out / "sizing.json", json.dumps(summary, indent=2) + "\n")
    assert result.sized is not None  # size() returns the sized scenario
    data = scenario_to_dict(result.sized)
    sections = {k: data[k] for k in ("back_office", "delivery") if k in data}
    head = "# sized fulfilment (sim size); paste over the scenario's sections\n"
    write_atomic(out / "sizing.yaml", dump_yaml(sections, head))
    return out
