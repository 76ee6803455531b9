"""Staffing that meets the targets: the Erlang calculator, Erlang staffing per interval and its
correction by simulation (an iterative staffing algorithm), with the tables a planner reads.

Owns "how many agents, when"; shift scheduling lives in :mod:`sim.planning.shifts`, the closed
forms in
:mod:`sim.planning.erlang`, the on-duty discounts (shrinkage, absenteeism) in
:mod:`sim.model.workforce`.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sim.experiments.executors import Executor, Job, executor_scope, run_all
from sim.experiments.replication import mean_ci
from sim.kpi.calls import interval_counts
from sim.model.calendar import arrival_rates, weekday_of
from sim.model.simulation import RunResult
from sim.model.workforce import scheduled_for
from sim.planning.erlang import agents_required, erlang_a_metrics
from sim.scenario.schema import Scenario, scenario_from_dict, scenario_to_dict
from sim.scenario.units import DAY, WEEKDAYS, format_clock, parse_duration

__all__ = [
    "GroupLoad",
    "StaffingResult",
    "StaffingTargets",
    "erlang_calculator",
    "erlang_staffing",
    "group_loads",
    "parse_rate",
    "simulate_slots",
    "staff",
    "staffing_yaml",
    "with_staffing",
    "write_staffing_folder",
]

_RATE_UNITS = {
    "h": 3600.0,
    "hour": 3600.0,
    "min": 60.0,
    "m": 60.0,
    "s": 1.0,
    "sec": 1.0,
    "d": DAY,
    "day": DAY,
}


def parse_rate(value: object) -> float:
    """An arrival rate in calls per second from ``"200/h"``, ``"3.5/min"``, ``"0.1/s"``,
    ``"4800/d"`` or a bare number (calls per hour, as ``arrivals.rate_per_hour``)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        rate = float(value) / 3600.0
    else:
        m = re.fullmatch(r"\s*([0-9.eE+-]+)\s*(?:/\s*([a-z]+))?\s*", str(value))
        if m is None or (m.group(2) is not None and m.group(2) not in _RATE_UNITS):
            raise ValueError(
                f"rate {value!r}: write calls per time, e.g. 200/h, 3.5/min, 0.1/s "
                f"(a bare number is per hour)"
            )
        try:
            number = float(m.group(1))
        except ValueError:
            raise ValueError(f"rate {value!r}: {m.group(1)!r} is not a number") from None
        rate = number / _RATE_UNITS[m.group(2) or "h"]
    if not math.isfinite(rate) or rate < 0:
        raise ValueError(f"rate must be a finite number >= 0, got {value!r}")
    return rate


# --- targets and loads ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffingTargets:
    """What every interval must reach: service level within ``within`` s, abandonment, occupancy."""

    within: float = 20.0
    service_level: float | None = None
    abandon_rate: float | None = None
    max_occupancy: float | None = None

    @classmethod
    def of(cls, scenario: Scenario, max_occupancy: float | None = None) -> StaffingTargets:
        """The scenario's ``service_level`` and ``abandon_rate`` targets; ``occupancy: {at_most}``
        (or ``max_occupancy``, which wins) caps occupancy."""
        t = scenario.targets
        sl, ab, occ = t.get("service_level"), t.get("abandon_rate"), t.get("occupancy")
        return cls(
            within=scenario.service_level_within(),
            service_level=sl.at_least if sl is not None else None,
            abandon_rate=ab.at_most if ab is not None else None,
            max_occupancy=max_occupancy
            if max_occupancy is not None
            else (occ.at_most if occ is not None else None),
        )

    def any(self) -> bool:
        return any(
            v is not None for v in (self.service_level, self.abandon_rate, self.max_occupancy)
        )

    def met(self, service_level, abandon_rate, occupancy) -> np.ndarray:
        """Element-wise: all targets met (NaN, i.e. nothing offered, counts as met)."""
        ok = np.ones(np.shape(service_level), dtype=bool)
        with np.errstate(invalid="ignore"):
            if self.service_level is not None:
                ok &= ~(np.asarray(service_level) < self.service_level - 1e-12)
            if self.abandon_rate is not None:
                ok &= ~(np.asarray(abandon_rate) > self.abandon_rate + 1e-12)
            if self.max_occupancy is not None:
                ok &= ~(np.asarray(occupancy) > self.max_occupancy + 1e-12)
        return ok


@dataclass(frozen=True)
class GroupLoad:
    """Calls first offered to one agent group, per interval of the horizon.

    ``rate`` is calls per second in each interval (after IVR self-service), ``mean_handle`` the
    mean handle time in seconds (talk x the group's factor, plus after-call work) and
    ``mean_patience`` seconds (``inf``: nobody abandons).
    """

    rate: np.ndarray
    mean_handle: float
    mean_patience: float


def first_groups(scenario: Scenario) -> dict[str, str]:
    """Call type -> the group of its first route step (where its load is counted)."""
    return {ct: scenario.route(ct)[0].group for ct in scenario.call_types}


def group_loads(scenario: Scenario) -> dict[str, GroupLoad]:
    """Per group, the arrival rate of each interval and the mean handle time of its calls.

    The interval rate is the mean of :func:`sim.model.calendar.arrival_rates` over the interval,
    times
    the share that passes the IVR and the shares of the call types whose first route step is the
    group. Redials are not in it: the simulation step of :func:`staff` accounts for them. The
    patience is the tiers' abandonment rates averaged by share, ``1 / sum(share / mean)``: the
    exponential patience with the same initial hazard (Erlang A's parameter).
    """
    interval = scenario.interval
    edges = np.arange(0.0, scenario.horizon_s + interval / 2, interval)
    rate = arrival_rates(scenario).integral(edges) / interval
    if scenario.ivr is not None:
        rate = rate * (1.0 - scenario.ivr.self_service)
    theta = sum(
        t.share / t.patience.mean
        for t in scenario.customer_tiers.values()
        if math.isfinite(t.patience.mean) and t.patience.mean > 0
    )
    patience = 1.0 / theta if theta > 0 else math.inf
    acw = scenario.agents.after_call_work.mean if scenario.agents.after_call_work else 0.0
    firsts = first_groups(scenario)
    loads = {}
    for g in scenario.agents.groups:
        types = [ct for ct, first in firsts.items() if first == g]
        share = sum(scenario.call_types[ct].share for ct in types)
        factor = scenario.agents.handle_time_factor.get(g, 1.0)
        handle = (
            (
                sum(
                    scenario.call_types[ct].share * scenario.call_types[ct].handle_time.mean
                    for ct in types
                )
                / share
                * factor
                + acw
            )
            if share > 0
            else 1.0
        )
        loads[g] = GroupLoad(rate * share, handle, patience)
    return loads


def erlang_staffing(scenario: Scenario, targets: StaffingTargets) -> dict[str, np.ndarray]:
    """Agents to schedule per group and interval of the horizon by Erlang A (C when nobody
    abandons) on each interval's load as if it were stationary, inflated for shrinkage and
    absenteeism (:func:`sim.model.workforce.scheduled_for`)."""
    out = {}
    cache: dict[tuple, int] = {}
    for g, load in group_loads(scenario).items():
        need = np.zeros(len(load.rate), dtype=np.int64)
        for i, lam in enumerate(load.rate.tolist()):
            key = (lam, load.mean_handle, load.mean_patience)
            if key not in cache:
                on_duty = agents_required(
                    lam,
                    load.mean_handle,
                    targets.within,
                    targets.service_level,
                    load.mean_patience,
                    targets.abandon_rate,
                    targets.max_occupancy,
                )
                cache[key] = scheduled_for(max(on_duty, 1 if lam > 0 else 0), scenario)
            need[i] = cache[key]
        out[g] = need
    return out


# --- the Erlang calculator -----------------------------------------------------------------------


def erlang_calculator(
    rate: float,
    mean_handle: float,
    agents: int | None = None,
    mean_patience: float = math.inf,
    within: float = 20.0,
    target: float | None = None,
    abandon_target: float | None = None,
    max_occupancy: float | None = None,
) -> dict:
    """Erlang C (``mean_patience`` inf) or Erlang A figures for ``agents``, and the smallest
    number of agents meeting the targets given (``agents_required``). Rates per second, times in
    seconds. Raises ValueError on bad input (and for Erlang C with agents <= load: unstable)."""
    out: dict = {
        "model": "erlang_c" if math.isinf(mean_patience) else "erlang_a",
        "rate_per_hour": rate * 3600.0,
        "aht": mean_handle,
        "load": rate * mean_handle,
        "patience": None if math.isinf(mean_patience) else mean_patience,
        "within": within,
    }
    if agents is not None:
        if math.isinf(mean_patience) and agents <= rate * mean_handle:
            raise ValueError(
                f"{agents} agents cannot carry {rate * mean_handle:.3g} Erlang "
                f"without abandonment: the queue grows without bound"
            )
        m = erlang_a_metrics(rate, mean_handle, agents, mean_patience, within)
        out.update(
            agents=agents,
            service_level=m.service_level,
            abandon_rate=m.abandon_rate,
            asa=m.asa,
            mean_wait=m.mean_wait,
            occupancy=m.occupancy,
            prob_wait=m.prob_wait,
        )
    if target is not None or abandon_target is not None or max_occupancy is not None:
        out["agents_required"] = agents_required(
            rate, mean_handle, within, target, mean_patience, abandon_target, max_occupancy
        )
    return out


# --- simulation per slot -----------------------------------------------------------------------


def with_staffing(
    scenario: Scenario, plan: dict[str, np.ndarray], base_dir: str | Path = "."
) -> Scenario:
    """``scenario`` with each group in ``plan`` on a ``staffing`` map (7 x intervals per day,
    one row per weekday, mon first) instead of its own staffing or shifts."""
    data = scenario_to_dict(scenario)
    for g, slots in plan.items():
        group = {k: v for k, v in data["agents"]["groups"][g].items() if k != "shifts"}
        group["staffing"] = staffing_map(scenario, slots)
        data["agents"]["groups"][g] = group
    return scenario_from_dict(data, base_dir=base_dir, source=f"{scenario.name} (staffing)")


def staffing_map(scenario: Scenario, slots: np.ndarray) -> int | dict:
    """A scenario ``staffing`` value for a (7, intervals per day) array: a number, a daily
    ``{"HH:MM": agents}`` map, or one per weekday that the horizon has."""
    slots = np.asarray(slots, dtype=np.int64)
    present = sorted(
        {WEEKDAYS.index(weekday_of(scenario, d)) for d in range(scenario.horizon.days)}
    )
    rows = slots[present]

    def day_map(row: np.ndarray) -> int | dict:
        if np.all(row == row[0]):
            return int(row[0])
        change = np.concatenate(([True], row[1:] != row[:-1]))
        return {format_clock(k * scenario.interval): int(row[k]) for k in np.flatnonzero(change)}

    if np.all(rows == rows[0]):
        return day_map(rows[0])
    return {WEEKDAYS[w]: day_map(slots[w]) for w in present}


def _slot_index(scenario: Scenario) -> np.ndarray:
    """Slot (weekday x interval of day) of each interval of the horizon."""
    per_day = round(DAY / scenario.interval)
    days = scenario.horizon.days
    weekday = np.array([WEEKDAYS.index(weekday_of(scenario, d)) for d in range(days)])
    return (weekday[:, None] * per_day + np.arange(per_day)[None, :]).ravel()


def _run_counts(run: RunResult) -> np.ndarray:
    """One replication reduced in its worker: per group and interval of the horizon, calls
    offered (by first route step), answered within the target time, abandoned, agent busy and
    present seconds. Shape (5, groups, bins); intervals wholly inside the warm-up are 0."""
    scenario, rec = run.scenario, run.records
    firsts = first_groups(scenario)
    gidx = {g: i for i, g in enumerate(rec.groups)}
    type_group = np.array([gidx[firsts[ct]] for ct in rec.call_types], dtype=np.int64)
    owner = type_group[rec.calls.call_type.astype(np.int64)]
    k = interval_counts(rec, scenario.interval, owner, len(rec.groups))
    out = np.stack([k["offered"], k["quick"], k["abandoned"], k["busy"], k["present"]])
    out[:, :, : _first_slot_bin(scenario)] = 0.0  # wholly inside the warm-up: tells nothing
    return out


def _first_slot_bin(scenario: Scenario) -> int:
    """First interval measured for staffing: the one where the warm-up ends (its calls after
    the warm-up count, so a day-long interval after a short warm-up is still measured)."""
    return math.floor(scenario.warmup / scenario.interval + 1e-9)


def simulate_slots(
    scenario: Scenario,
    seed: int,
    replications: int,
    executor: str | Executor | None = "serial",
    progress: Callable[[int, int], None] | None = None,
    done: int = 0,
    total: int | None = None,
) -> np.ndarray:
    """Per-replication counts (replications, 5, groups, slots) pooled over the days of each slot.

    Replication ``r`` uses ``Streams(seed, r)`` whatever the staffing (common random numbers);
    each worker ships back only its counts (:func:`_run_counts`), and the numbers are the same
    for any executor and worker count. ``progress(done + finished, total)`` after each run.
    """
    jobs = [Job(r, scenario, seed, r, reduce=_run_counts) for r in range(replications)]
    with executor_scope(executor) as ex:
        results = run_all(ex, jobs, progress, done, total)
    slot = _slot_index(scenario)
    per_day = round(DAY / scenario.interval)
    out = np.zeros((replications, 5, len(scenario.agents.groups), 7 * per_day))
    for r in range(replications):
        np.add.at(out[r], (slice(None), slice(None), slot), results[r])
    return out


def _rates(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Service level, abandon rate and occupancy from counts (..., 5, groups, slots)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        off = counts[..., 0, :, :]
        return (
            counts[..., 1, :, :] / off,
            counts[..., 2, :, :] / off,
            counts[..., 3, :, :] / counts[..., 4, :, :],
        )


# --- the iterative staffing algorithm -----------------------------------------------------------


@dataclass
class StaffingResult:
    """The recommended staffing and how it performs.

    ``staffing[g]`` is a (7, intervals per day) array of agents to schedule (rows for weekdays
    the horizon lacks are 0); ``counts`` the per-replication counts of the final simulation
    (see :func:`simulate_slots`); ``history`` the scheduled agent-hours of each iteration.
    """

    scenario: Scenario
    seed: int
    targets: StaffingTargets
    staffing: dict[str, np.ndarray]
    erlang: dict[str, np.ndarray]
    counts: np.ndarray
    iterations: int
    converged: bool
    replications: int
    simulated: int
    elapsed_s: float
    history: list[float] = field(default_factory=list)

    def used_slots(self) -> np.ndarray:
        """Boolean (7 * per_day,) mask of slots the horizon has after the warm-up."""
        per_day = round(DAY / self.scenario.interval)
        used = np.zeros(7 * per_day, dtype=bool)
        bins = _slot_index(self.scenario)
        used[bins[_first_slot_bin(self.scenario) :]] = True
        return used

    def agent_hours(self) -> float:
        """Scheduled agent-hours over the horizon (all groups, warm-up included)."""
        return _hours(self.scenario, self.staffing)

    def table(self) -> dict[str, list]:
        """staffing.csv columns: per group, weekday and interval: agents, Erlang start, offered
        calls per replication, service level (mean over replications, 95% t interval clipped
        to [0, 1]), abandon rate,
        occupancy, and the share of replications meeting every target."""
        per_day = round(DAY / self.scenario.interval)
        sl, ab, occ = _rates(self.counts)
        ok = self.targets.met(sl, ab, occ)
        cols: dict[str, list] = {
            k: []
            for k in (
                "group",
                "weekday",
                "start",
                "agents",
                "erlang_agents",
                "offered_per_replication",
                "service_level",
                "service_level_ci_low",
                "service_level_ci_high",
                "abandon_rate",
                "occupancy",
                "p_meets_target",
            )
        }
        used = self.used_slots()
        for gi, g in enumerate(self.staffing):
            for s in np.flatnonzero(used):
                w, k = divmod(int(s), per_day)
                mean, ci, _ = mean_ci(None if math.isnan(v) else v for v in sl[:, gi, s])
                cols["group"].append(g)
                cols["weekday"].append(WEEKDAYS[w])
                cols["start"].append(format_clock(k * self.scenario.interval))
                cols["agents"].append(int(self.staffing[g][w, k]))
                cols["erlang_agents"].append(int(self.erlang[g][w, k]))
                cols["offered_per_replication"].append(float(self.counts[:, 0, gi, s].mean()))
                cols["service_level"].append(mean)
                cols["service_level_ci_low"].append(max(0.0, ci[0]) if ci else None)
                cols["service_level_ci_high"].append(min(1.0, ci[1]) if ci else None)
                cols["abandon_rate"].append(_nanmean(ab[:, gi, s]))
                cols["occupancy"].append(_nanmean(occ[:, gi, s]))
                cols["p_meets_target"].append(float(ok[:, gi, s].mean()))
        return cols


def _nanmean(values: np.ndarray) -> float | None:
    values = values[~np.isnan(values)]
    return float(values.mean()) if len(values) else None


def _slots_from_bins(scenario: Scenario, per_bin: np.ndarray) -> np.ndarray:
    """(horizon intervals,) -> (7, per_day): the largest value over the days of each slot."""
    per_day = round(DAY / scenario.interval)
    out = np.zeros(7 * per_day, dtype=np.int64)
    np.maximum.at(out, _slot_index(scenario), per_bin.astype(np.int64))
    return out.reshape(7, per_day)


def staff(
    scenario: Scenario,
    seed: int | None = None,
    replications: int | None = None,
    executor: str | Executor | None = "serial",
    max_iterations: int = 20,
    max_occupancy: float | None = None,
    base_dir: str | Path = ".",
    progress: Callable[[str], None] | None = None,
    advance: Callable[[int, int], None] | None = None,
) -> StaffingResult:
    """The fewest agents per group and interval meeting the targets in every interval.

    1. **Erlang start**: :func:`erlang_staffing` on each interval's offered load.
    2. **Correction by simulation**, after the iterative staffing algorithm of Feldman,
       Mandelbaum, Massey & Whitt (2008, "Staffing of time-varying queues to achieve
       time-stable performance", *Management Science* 54(2)): simulate the whole horizon with
       the current staffing, measure each interval's performance, restaff each interval, repeat
       until the staffing stops changing. Their ISA sets each interval's staffing from the
       simulated number in system; here the target is the service level itself, so each slot
       (group x weekday x interval) runs its own search instead: up (galloping) while it
       misses, down while it meets, bisecting once both a missing and a meeting level are known.
       A slot's measure is pooled over the replications and the days of that weekday: calls
       offered (counted in the group of their call type's first route step and the interval
       where they arrive), answered within the target time, abandoned, and the group's
       occupancy. Every iteration uses the same seeds (common random numbers), so the search
       compares staffings, not noise. It stops when a simulated staffing meets every slot and
       every slot's next level down has been seen to miss (or after ``max_iterations``).

    Redials, priorities, overflow between groups, shrinkage and absenteeism are whatever the
    model simulates; the staffing found is of *scheduled* agents. Runs go to ``executor`` (a
    kind or an open :class:`Executor`); ``progress`` gets a line per iteration, ``advance(done,
    total)`` the replications run (total: the most ``max_iterations`` could need).
    """
    started = time.perf_counter()
    seed = scenario.seed if seed is None else int(seed)
    reps = replications or scenario.replications
    targets = StaffingTargets.of(scenario, max_occupancy)
    if not targets.any():
        raise ValueError(
            "the scenario has no service_level, abandon_rate or occupancy target to staff for"
        )
    groups = list(scenario.agents.groups)
    erlang = {
        g: _slots_from_bins(scenario, v) for g, v in erlang_staffing(scenario, targets).items()
    }
    loads = group_loads(scenario)
    shape = (len(groups), 7 * round(DAY / scenario.interval))
    level = np.stack([erlang[g].ravel() for g in groups]).astype(np.int64)
    needs_one = (
        np.stack(
            [
                _slots_from_bins(scenario, (loads[g].rate > 0).astype(np.int64)).ravel()
                for g in groups
            ]
        )
        > 0
    )
    lo = needs_one.astype(np.int64)  # every level below lo misses (or is pointless)
    hi = np.full(shape, -1, dtype=np.int64)  # smallest level seen meeting; -1: none yet
    seen_miss = np.zeros(shape, dtype=bool)
    step = np.ones(shape, dtype=np.int64)
    history: list[float] = []
    simulated = 0
    converged = False
    with executor_scope(executor) as ex:
        iteration = 0
        while True:
            iteration += 1
            plan = {g: level[i].reshape(7, -1) for i, g in enumerate(groups)}
            trial = with_staffing(scenario, plan, base_dir)
            counts = simulate_slots(
                trial, seed, reps, ex, advance, simulated, max_iterations * reps
            )
            simulated += reps
            pooled = counts.sum(axis=0)
            ok = targets.met(*_rates(pooled))
            history.append(_hours(scenario, plan))
            missed = ~ok
            hi = np.where(missed & (level >= hi), -1, hi)  # a meeting level gone stale
            hi = np.where(ok & ((hi < 0) | (level < hi)), level, hi)
            lo = np.where(missed, np.maximum(lo, level + 1), lo)
            seen_miss |= missed
            if progress:
                progress(
                    f"iteration {iteration}: {int(missed.sum())} slot(s) miss, "
                    f"{int(((hi < 0) | (lo < hi)).sum())} still searched"
                )
            if ok.all() and np.all(level <= lo):
                converged = True
                break
            if iteration >= max_iterations:
                break
            nxt = np.maximum(np.where(hi < 0, level + step, 0), lo)  # none meets yet: gallop up
            if iteration == 1:  # jump to Erlang on the load simulated (redials, overflow in)
                nxt = np.where(
                    hi < 0,
                    np.maximum(
                        nxt, _erlang_on_simulated(scenario, targets, loads, groups, pooled, reps)
                    ),
                    nxt,
                )
            bisect = (hi >= 0) & seen_miss
            nxt[bisect] = (lo[bisect] + hi[bisect]) // 2
            down = (hi >= 0) & ~seen_miss  # only meeting levels so far: gallop down
            nxt[down] = np.maximum(hi[down] - step[down], lo[down])
            settled = (hi >= 0) & (lo >= hi)
            nxt[settled] = hi[settled]
            step = np.where(settled | bisect, 1, step * 2)
            level = nxt
    staffing = {g: level[i].reshape(7, -1) for i, g in enumerate(groups)}
    return StaffingResult(
        scenario,
        seed,
        targets,
        staffing,
        erlang,
        counts,
        iteration,
        converged,
        reps,
        simulated,
        time.perf_counter() - started,
        history,
    )


def _erlang_on_simulated(
    scenario: Scenario,
    targets: StaffingTargets,
    loads: dict[str, GroupLoad],
    groups: list[str],
    pooled: np.ndarray,
    reps: int,
) -> np.ndarray:
    """Erlang staffing per slot on the arrival rate the simulation offered each group (first
    calls, redials and complaint calls alike), as scheduled agents: a better place to resume
    the upward search than one agent more."""
    days_per_slot = np.bincount(_slot_index(scenario), minlength=pooled.shape[-1])
    exposure = np.maximum(days_per_slot, 1) * reps * scenario.interval
    out = np.zeros(pooled.shape[1:], dtype=np.int64)
    cache: dict[tuple, int] = {}
    for i, g in enumerate(groups):
        load = loads[g]
        for s, lam in enumerate((pooled[0, i] / exposure).tolist()):
            key = (lam, i)
            if key not in cache:
                try:
                    n = agents_required(
                        lam,
                        load.mean_handle,
                        targets.within,
                        targets.service_level,
                        load.mean_patience,
                        targets.abandon_rate,
                        targets.max_occupancy,
                    )
                except ValueError:
                    n = 0
                cache[key] = scheduled_for(n, scenario)
            out[i, s] = cache[key]
    return out


def duration_arg(text: str, name: str) -> float:
    """A CLI duration (``3min``, ``20s``, a number of seconds) or ValueError naming the option."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise ValueError(f"--{name}: {exc}") from None


def staffing_yaml(result: StaffingResult) -> str:
    """The ``agents:`` section with each group on the recommended ``staffing`` map, as YAML."""
    import io

    from ruamel.yaml import YAML

    trial = with_staffing(result.scenario, result.staffing)
    data = {"agents": scenario_to_dict(trial)["agents"]}
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = None
    yaml.sort_base_mapping_type_on_output = False
    buf = io.StringIO()
    buf.write(
        f"# staffing meeting the targets of {result.scenario.name} in every interval "
        f"(sim staff); paste over the scenario's agents: section\n"
    )
    yaml.dump(data, buf)
    return buf.getvalue()


def write_staffing_folder(out: str | Path, result: StaffingResult, schedule=None) -> Path:
    """staffing.yaml, staffing.csv and staffing.json (and the shift files of ``schedule``)."""
    import json

    from sim.report.files import write_atomic, write_table

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "staffing.yaml", staffing_yaml(result))
    write_table(out / "staffing.csv", result.table())
    t = result.targets
    summary = {
        "scenario": result.scenario.name,
        "seed": result.seed,
        "targets": {
            "within": t.within,
            "service_level": t.service_level,
            "abandon_rate": t.abandon_rate,
            "max_occupancy": t.max_occupancy,
        },
        "agent_hours": result.agent_hours(),
        "agent_hours_per_day": result.agent_hours() / result.scenario.horizon.days,
        "erlang_agent_hours": _hours(result.scenario, result.erlang),
        "iterations": result.iterations,
        "converged": result.converged,
        "replications": result.replications,
        "replications_simulated": result.simulated,
        "elapsed_s": result.elapsed_s,
        "agent_hours_per_iteration": result.history,
    }
    if schedule is not None:
        summary["shifts"] = schedule.summary()
        schedule.write(out)
    write_atomic(out / "staffing.json", json.dumps(summary, indent=2) + "\n")
    return out


def _hours(scenario: Scenario, plan: dict[str, np.ndarray]) -> float:
    bins = _slot_index(scenario)
    return sum(float(v.ravel()[bins].sum()) for v in plan.values()) * scenario.interval / 3600.0
