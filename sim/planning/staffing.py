"""Staffing that meets the targets in every interval, found by simulation and decided with
statistics: the fewest agents per group, day type and interval, re-checked with fresh seeds.

Owns the search (:func:`staff`) and its result. The loads, targets and Erlang closed forms are
:mod:`sim.planning.loads`; day types, per-slot evidence and plans as scenarios
:mod:`sim.planning.slots`; files, checkpoints and resuming :mod:`sim.planning.staffing_files`;
shift scheduling :mod:`sim.planning.shifts`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sim.experiments.executors import Executor, executor_scope
from sim.model.calendar import staffing_timeline
from sim.planning.calculator import duration_arg, erlang_calculator, parse_rate
from sim.planning.loads import (
    GroupLoad,
    StaffingTargets,
    erlang_staffing,
    group_loads,
    required_for,
)
from sim.planning.slots import (
    OFFSETS,
    DayTypes,
    Evidence,
    day_types,
    moments,
    rates,
    simulate_runs,
    simulate_slots,
    staffing_map,
    with_staffing,
)
from sim.scenario.loading import scenario_from_dict
from sim.scenario.resolved import scenario_to_dict
from sim.scenario.schema import Scenario

__all__ = [
    "DELTA",
    "GroupLoad",
    "StaffingResult",
    "StaffingTargets",
    "check_text",
    "duration_arg",
    "erlang_calculator",
    "erlang_staffing",
    "group_loads",
    "parse_rate",
    "simulate_slots",
    "staff",
    "staffing_map",
    "with_staffing",
]

_rates = rates  # the name shifts and older callers use

DELTA = 0.01
"""Indifference zone: a level not significantly below target - DELTA (above, for at_most
targets) may be accepted; finer differences are not worth simulating for."""
ALPHA = 0.05  # one-sided significance of both tests
VERIFY_OFFSET = 1_000_000  # fresh seeds: replications the search never uses
VERIFY = 40
"""Fresh replications of the final check by default (more when a round has more): a plan at
its optimum sits a fraction of a level's step above the target, and the check's point
estimates must be closer than that for "met" to mean met (docs/staffing.md)."""
MAX_STEP = 4  # the most levels one round moves a slot
CONFIRMS = 2  # rounds a spent budget keeps for checking the plan as a whole (_confirm, _recheck)
CONFIRM_ALPHA = 0.15  # an unproven level kept by the confirming run reaches the targets at 85%
WINDOW = 2
"""Rounds of evidence a decision uses (the latest): a slot's service level depends on the
levels of the intervals before it and of the groups it shares calls with, which the search
keeps moving, so older rounds measured a context that is gone (pooled, they made levels look
better than they are with fresh seeds)."""


@dataclass
class Search:
    """The state of a search, saved after every round so a killed run resumes.

    ``levels``, ``decided``, ``lo`` are (groups, day types, intervals per day); ``evidence``
    maps (group, type, interval, level, block) to the slot's :func:`moments` there.
    """

    levels: np.ndarray
    decided: np.ndarray
    lo: np.ndarray
    fixed: np.ndarray  # not measured (only in the warm-up): Erlang, not searched
    erlang: np.ndarray
    evidence: dict = field(default_factory=dict)
    round: int = 0
    block: int = 0
    simulated: int = 0
    history: list[float] = field(default_factory=list)
    budget_spent: bool = False
    good: np.ndarray | None = None  # the last round's level reached target - delta on evidence
    priced: dict = field(default_factory=dict)  # as evidence, levels priced by other levels' runs
    types: DayTypes | None = None  # the blocks evidence pools over (set by the search, not saved)
    confirmed: int = 0  # rounds of the whole plan run after the budget was spent

    def at(self, levels: np.ndarray, since: int = 0, until: int | None = None, priced=False):
        """Pooled evidence of every slot at the given levels (blocks ``since`` to ``until``),
        over the slot's block of neighbouring intervals; ``priced``: with what runs at other
        levels priced there (:func:`sim.planning.slots.moments` with an offset)."""
        g, k, p = levels.shape
        m = np.zeros((3, 6, g, k, p))
        sources = (self.evidence, self.priced) if priced else (self.evidence,)
        for source in sources:
            for (gi, ki, pi, level, block), mom in source.items():
                if (
                    levels[gi, ki, pi] == level
                    and since <= block
                    and (until is None or block < until)
                ):
                    m[:, :, gi, ki, pi] += mom
        return Evidence.of(m if self.types is None else self.types.pool(m))

    def current(self, levels: np.ndarray) -> Evidence:
        """Evidence at the given levels from every round, unless the last ``WINDOW`` rounds
        are significantly worse than the older ones (the slots before it or the groups it
        shares calls with moved since): then from those rounds only."""
        cut = self.round - WINDOW
        new, old, pooled = self.at(levels, cut), self.at(levels, 0, cut), self.at(levels)
        worse = (old.est - new.est) * np.array([1.0, -1.0, -1.0])[:, None, None, None]
        with np.errstate(invalid="ignore"):  # 0.5% one-sided: rarely by chance alone
            drift = (worse > 2.576 * np.hypot(old.se, new.se)).any(axis=0)

        def pick(recent: np.ndarray, every: np.ndarray) -> np.ndarray:
            return np.where(drift, recent, every)

        return Evidence(pick(new.est, pooled.est), pick(new.se, pooled.se), pick(new.n, pooled.n))

    def store(self, levels: np.ndarray, runs: np.ndarray, types: DayTypes, block: int) -> None:
        """A round's runs at ``levels``: the evidence there, and each level ``OFFSETS`` away
        priced (:func:`sim.planning.slots.priced_counts`)."""
        for d in OFFSETS:
            mom = moments(runs, types, d)
            into = self.evidence if d == 0 else self.priced
            for gi, ki, pi in np.ndindex(levels.shape):
                level = int(levels[gi, ki, pi]) + d
                if level >= 0:
                    into[(gi, ki, pi, level, block)] = mom[:, :, gi, ki, pi]


@dataclass
class StaffingResult:
    """The recommended staffing, how it was found and how it does with fresh seeds.

    ``staffing[g]`` / ``erlang[g]`` are (plan rows, intervals per day) arrays (every weekday,
    or every date of a dated plan, filled from its day type); ``levels`` the same per day
    type. ``verified`` is the :class:`Evidence` of the recommended staffing over
    ``verify_replications`` fresh replications (None while searching).
    """

    scenario: Scenario
    seed: int
    targets: StaffingTargets
    types: DayTypes
    levels: np.ndarray  # (groups, types, per_day)
    erlang_levels: np.ndarray
    decided: np.ndarray
    replications: int
    simulated: int
    rounds: int
    elapsed_s: float
    delta: float
    verified: Evidence | None = None
    verify_replications: int = 0
    history: list[float] = field(default_factory=list)
    complete: bool = True
    changed: list[str] = field(default_factory=list)
    """What planning changed in the scenario before staffing it (said wherever the plan is)."""

    @property
    def groups(self) -> list[str]:
        return list(self.scenario.agents.groups)

    @property
    def staffing(self) -> dict[str, np.ndarray]:
        return plan_of(self.types, self.groups, self.levels)

    @property
    def erlang(self) -> dict[str, np.ndarray]:
        return plan_of(self.types, self.groups, self.erlang_levels)

    @property
    def converged(self) -> bool:
        return bool(self.decided.all())

    def used_slots(self) -> np.ndarray:
        """Boolean (7 * per_day,) mask of weekday slots the horizon measures."""
        from sim.planning.slots import weekday_slot_index

        used = np.zeros(7 * self.types.per_day, dtype=bool)
        used[weekday_slot_index(self.scenario)[self.types.first_bin :]] = True
        return used

    def measured_days(self) -> np.ndarray:
        """Measured days per day type (the weight of each type's row in agent-hours)."""
        return np.array([len(d) for d in self.types.days], dtype=float)

    def agent_hours(self, levels: np.ndarray | None = None) -> float:
        """Scheduled agent-hours over the measured horizon (all groups; warm-up left out)."""
        levels = self.levels if levels is None else levels
        return _hours(self.scenario, self.types, levels)

    def scenario_levels(self) -> np.ndarray:
        """The scenario's own scheduled agents per group, day type and interval (mean over the
        type's measured days)."""
        return scenario_levels(self.scenario, self.types)

    def check(self) -> dict:
        """The fresh-seed figures over the slots where calls were offered: slots meeting every
        target (point estimate), *within noise* (a point estimate misses, but not
        significantly), *significantly short* (one-sided test at ``ALPHA / 2``: the slot's 95%
        interval wholly on the wrong side of a target; ``significant_misses``), the worst
        slot. Occupancy alone (calls carried into a slot where none arrives) is no slot."""
        if self.verified is None:
            return {}
        v = self.verified
        active = self.measured_slots() & np.isfinite(v.est[0])
        meets = self.verified.meets(self.targets) & active
        misses = self.verified.short(self.targets, ALPHA / 2) & active
        sl = np.where(active, self.verified.est[0], np.nan)
        worst = None
        if np.isfinite(sl).any():
            gi, ki, pi = np.unravel_index(np.nanargmin(sl), sl.shape)
            worst = {
                "group": self.groups[gi],
                "day_type": self.types.names[ki],
                "start": _clock(self.scenario, pi),
                "service_level": float(sl[gi, ki, pi]),
            }
        return {
            "replications": self.verify_replications,
            "slots": int(active.sum()),
            "slots_meeting": int(meets.sum()),
            "share_meeting": float(meets.sum() / max(active.sum(), 1)),
            "within_noise": int((active & ~meets & ~misses).sum()),
            "significant_misses": int(misses.sum()),
            "share_short": float(misses.sum() / max(active.sum(), 1)),
            "worst_slot": worst,
        }

    def measured_slots(self) -> np.ndarray:
        """(groups, types, per_day): slots with a measured interval (after the warm-up)."""
        g = len(self.groups)
        out = np.zeros((g, self.types.count, self.types.per_day), dtype=bool)
        for k in range(self.types.count):
            out[:, k, :] = np.any(self.types.measured(k), axis=0)[None, :]
        return out


def check_text(check: dict) -> str:
    """The fresh-seed check in words: slots met, within noise (a point estimate below the
    target that the replications cannot tell from it) and significantly short (the alarm)."""
    if not check:
        return "not checked with fresh seeds"
    head = f"with {check['replications']} fresh replications"
    if check["slots_meeting"] == check["slots"]:
        return f"{head}, every slot with calls met ({check['slots']})"
    return (
        f"{head}, of {check['slots']} slots with calls {check['slots_meeting']} met, "
        f"{check['within_noise']} within noise, {check['significant_misses']} significantly short"
    )


def _clock(scenario: Scenario, interval_index: int | np.integer) -> str:
    from sim.scenario.units import format_clock

    return format_clock(interval_index * scenario.interval)


def _hours(scenario: Scenario, types: DayTypes, levels: np.ndarray) -> float:
    total = 0.0
    for k in range(types.count):
        per_interval = types.measured(k).sum(axis=0)  # measured days of each interval
        total += float((levels[:, k, :] * per_interval[None, :]).sum())
    return total * scenario.interval / 3600.0


def scenario_levels(scenario: Scenario, types: DayTypes) -> np.ndarray:
    """Scheduled agents of the scenario's own staffing or shifts per slot (mean over days)."""
    edges = np.arange(0.0, scenario.horizon_s + scenario.interval / 2, scenario.interval)
    out = np.zeros((len(scenario.agents.groups), types.count, types.per_day))
    for i, group in enumerate(scenario.agents.groups.values()):
        per_bin = staffing_timeline(scenario, group).integral(edges) / scenario.interval
        for k in range(types.count):
            out[i, k] = types.gather(per_bin, k).mean(axis=0)
    return out


def _per_bin_max(types: DayTypes, per_bin: np.ndarray) -> np.ndarray:
    """(groups, bins) -> (groups, types, per_day): the largest value over the type's days."""
    out = np.zeros((per_bin.shape[0], types.count, types.per_day), dtype=np.int64)
    for k in range(types.count):
        out[:, k] = types.gather(per_bin, k).max(axis=1)
    return out


def plan_of(types: DayTypes, groups: list[str], levels: np.ndarray) -> dict[str, np.ndarray]:
    """(groups, types, per_day) levels -> per group a (plan rows, per_day) plan: 7 weekdays, or
    the dates of a dated plan (:func:`sim.planning.slots.plan_keys`)."""
    return {g: types.rows(levels[i]) for i, g in enumerate(groups)}


# --- the search ---------------------------------------------------------------------------------


def _reachable(
    scenario: Scenario, targets: StaffingTargets, keep_answer_delay: bool, base_dir
) -> tuple[Scenario, list[str]]:
    """The scenario to staff, and what was changed in it. Customer tiers held before an agent
    may answer (``answer_delay``, e.g. what ``sim fit`` infers from a center that makes its
    regular callers wait) cap the service level whatever the staffing: when the cap is below
    the target, no plan meets it, and a search would only spend its budget raising agents
    that cannot help (the bank month of docs/fit.md: peak 34 agents, no slot met). The plan is
    then made without the hold, and says so everywhere; with ``keep_answer_delay`` that is
    refused instead."""
    reach = scenario.answerable_within(targets.within)
    if targets.service_level is None or reach >= targets.service_level:
        return scenario, []
    held = ", ".join(t for t, e in scenario.customer_tiers.items() if e.answer_delay)
    why = (
        f"with the answer_delay of customer tiers {held}, at most {reach:.1%} of calls can be "
        f"answered within {targets.within:g} s at any staffing"
    )
    if keep_answer_delay:
        raise ValueError(
            f"targets.service_level: at least {targets.service_level:.1%} within "
            f"{targets.within:g} s is out of reach: {why} (lower the target, or plan without "
            "the hold: leave out --keep-answer-delay)"
        )
    data = scenario_to_dict(scenario)
    for tier in data["customer_tiers"].values():
        tier.pop("answer_delay", None)
    note = (
        f"planned WITHOUT the answer_delay of customer tiers {held}: {why}, below the "
        f"{targets.service_level:.0%} target; the plan meets it only if those callers are no "
        "longer held before an agent may answer"
    )
    return scenario_from_dict(data, base_dir=base_dir, source=scenario.name), [note]


def staff(
    scenario: Scenario,
    seed: int | None = None,
    replications: int | None = None,
    executor: str | Executor | None = "serial",
    max_iterations: int = 6,
    max_occupancy: float | None = None,
    base_dir: str | Path = ".",
    progress: Callable[[str], None] | None = None,
    advance: Callable[[int, int], None] | None = None,
    *,
    delta: float = DELTA,
    pool_days: bool = True,
    verify_replications: int | None = None,
    checkpoint: Callable[[StaffingResult, Search], None] | None = None,
    resume: Search | None = None,
    keep_answer_delay: bool = False,
) -> StaffingResult:
    """The fewest scheduled agents per group, day type and interval meeting the targets.

    1. **Day types**: weekdays (each date of a dated forecast) with identical load are decided
       together (their days pool), so a scenario without a weekday pattern gets one daily map
       (:func:`day_types`).
    2. **Counterfactual start** (the ISA step of Feldman, Mandelbaum, Massey & Whitt 2008,
       *Management Science* 54(2)): one simulation with ample agents measures each slot's
       offered load (agents busy when nobody waits: the lag of a time-varying load, redials
       and IVR included); Erlang A on that load prices every level and gives the start.
    3. **Rounds**: one simulation of the plan a round, each undecided slot at the level it
       still needs evidence on (its own level n, or n - 1 once n is good). Every run also
       prices the levels ``OFFSETS`` around it from the number in system its arrivals saw
       (the ISA's counterfactual step, :func:`sim.planning.slots.priced_counts`), which steers
       the moves and judges n - 1 before it is simulated. A slot is decided at n when n is not
       significantly below target - ``delta`` and its point estimate meets the target (on
       runs at n, pooled over rounds, days and its block of intervals; recent rounds only
       when they are significantly worse, :meth:`Search.current`) and n - 1 is significantly
       short. Otherwise it moves up (n short of target - delta, or its point estimate
       missing), down (n - 1 meets on its point estimate) or stays. ``max_iterations`` rounds
       at most; when the budget is spent, the undecided slots (said to be) get the lowest
       level shown good and the last two rounds check the plan as a whole (:func:`_confirm`,
       :func:`_recheck`).
    4. **Fresh seeds**: the recommended staffing is re-simulated with replications the search
       never used; :meth:`StaffingResult.check` reports meets, significant misses, worst slot.
    """
    started = time.perf_counter()
    seed = scenario.seed if seed is None else int(seed)
    reps = replications or scenario.replications
    verify = max(reps, VERIFY) if verify_replications is None else verify_replications
    targets = StaffingTargets.of(scenario, max_occupancy)
    if not targets.any():
        raise ValueError(
            "the scenario has no service_level, abandon_rate or occupancy target to staff for"
        )
    scenario, changed = _reachable(scenario, targets, keep_answer_delay, base_dir)
    groups = list(scenario.agents.groups)
    types = day_types(scenario, pool_days)
    total = _ample(reps) + reps * max_iterations + verify
    say = progress or (lambda line: None)

    def simulate(plan_levels: np.ndarray, rep_ids: list[int], done: int) -> np.ndarray:
        trial = with_staffing(scenario, plan_of(types, groups, plan_levels), base_dir)
        return simulate_runs(trial, seed, rep_ids, ex, advance, done, total)

    def result(state: Search, verified=None, complete=False) -> StaffingResult:
        return StaffingResult(
            scenario, seed, targets, types, state.levels.copy(), state.erlang, state.decided,
            reps, state.simulated, state.round, time.perf_counter() - started, delta,
            verified, verify if verified is not None else 0, list(state.history), complete,
            changed,
        )  # fmt: skip

    with executor_scope(executor) as ex:
        state = resume or _start(scenario, targets, types, groups, seed, reps, simulate, say)
        state.types = types
        if checkpoint:
            checkpoint(result(state), state)
        while not state.decided.all() and state.round < max_iterations - CONFIRMS:
            _round(state, targets, types, reps, delta, simulate)
            state.history.append(_hours(scenario, types, state.levels))
            open_ = int((~state.decided).sum())
            say(
                f"round {state.round}: {int(state.decided.sum())} slots decided, {open_} "
                f"undecided; {state.history[-1]:,.1f} agent-hours; "
                f"{_elapsed(started, state.round, max_iterations, open_ == 0)}"
            )
            if checkpoint:
                checkpoint(result(state), state)
        state.budget_spent = not state.decided.all()
        if state.budget_spent and state.confirmed == 0 and state.round < max_iterations:
            moved = _best_guess(state, targets, delta)
            bumped = _confirm(state, targets, types, reps, simulate)
            state.history.append(_hours(scenario, types, state.levels))
            say(
                f"budget spent: {int((~state.decided).sum())} slots undecided; "
                f"{moved} of them set to the lowest level shown to reach the target; "
                f"the plan confirmed on new replications, {bumped} slots one agent more"
            )
            if checkpoint:
                checkpoint(result(state), state)
        if state.budget_spent and state.confirmed == 1 and state.round < max_iterations:
            bumped = _recheck(state, targets, types, reps, simulate)
            state.history.append(_hours(scenario, types, state.levels))
            say(f"the confirmed plan run once more: {bumped} slots one agent more")
            if checkpoint:
                checkpoint(result(state), state)
        say(f"checking the staffing with {verify} fresh replications")
        checked = None
        if verify:
            runs = simulate(
                state.levels, [VERIFY_OFFSET + v for v in range(verify)], total - verify
            )
            checked = Evidence.of(moments(runs, types))
    return result(state, checked, complete=True)


def _elapsed(started: float, done: int, most: int, finished: bool) -> str:
    from sim.experiments.progress import duration_text

    spent = time.perf_counter() - started
    if finished or done == 0:
        return f"elapsed {duration_text(spent)}"
    left = duration_text(spent / done * (most - done))
    return f"elapsed {duration_text(spent)}, at most ~{left} more"


def _ample(reps: int) -> int:
    """Replications of the run with ample agents: half a round's (it measures a mean, the
    offered load, and only starts the search)."""
    return max(1, (reps + 1) // 2)


def _start(scenario, targets, types, groups, seed, reps, simulate, say) -> Search:
    """Erlang levels, then one run with ample agents whose offered load prices every level."""
    loads = group_loads(scenario)
    erl_bins = erlang_staffing(scenario, targets)
    erlang = _per_bin_max(types, np.stack([erl_bins[g] for g in groups]))
    rate_bins = np.stack([(loads[g].rate > 0).astype(np.int64) for g in groups])
    lo = _per_bin_max(types, rate_bins)  # a slot with calls needs one agent
    fixed = np.zeros(erlang.shape, dtype=bool)
    for k in range(types.count):
        fixed[:, k, :] = ~types.measured(k).any(axis=0)[None, :]
    ample = 2 * erlang + 10
    ample = np.maximum(ample, np.roll(ample, 1, axis=2))
    ample = np.maximum(ample, np.roll(ample, -1, axis=2))  # calls carried into the next slot
    say(f"{types.count} day type(s): {', '.join(types.names)}; offered load with ample agents")
    for note in types.notes:
        say(note)
    runs = simulate(ample, list(range(_ample(reps))), 0)
    busy, units, offered = (np.zeros(erlang.shape) for _ in range(3))
    for k in range(types.count):
        measured = types.measured(k)[None, None, :, :]
        x = types.gather(runs, k)  # (reps, rows, groups, days, per_day)
        units[:, k, :] = measured.sum(axis=(0, 2)) * len(runs)
        busy[:, k, :] = np.where(measured, x[:, 3], 0.0).sum(axis=(0, 2))  # busy seconds
        offered[:, k, :] = np.where(measured, x[:, 0], 0.0).sum(axis=(0, 2))
    # no call arrives (no rate on any day of the type, and none offered with ample agents, so
    # no redial either): no agents, not searched (calls carried in are finished in overtime)
    closed = (lo == 0) & (offered == 0) & ~fixed
    fixed |= closed
    # agent-seconds busy per unit (the offered load x interval), over the slot's block
    m = types.pool(busy) / np.maximum(types.pool(units), 1)
    levels = erlang.copy()
    cache: dict = {}
    for i, g in enumerate(groups):
        h = loads[g].mean_handle
        for k, p in np.ndindex(levels.shape[1:]):
            if closed[i, k, p]:
                levels[i, k, p] = 0
            elif not fixed[i, k, p]:
                offered = m[i, k, p] / scenario.interval  # agents busy = offered load
                levels[i, k, p] = required_for(offered / h, loads[g], targets, scenario, cache)
    levels = np.maximum(levels, lo)
    state = Search(levels, fixed.copy(), lo, fixed, erlang, simulated=_ample(reps))
    state.history.append(_hours(scenario, types, levels))
    return state


def _verdicts(state: Search, targets, delta):
    """Evidence at each slot's level and one below, and what it shows: ``ok`` (not
    significantly short of target - delta), ``good`` (significantly better than target -
    delta, and the point estimate meets the target; measured at the level, never priced),
    ``short`` (the level below is significantly short of the target, measured there, or
    before it is simulated priced by the runs of other levels; or there is none)."""
    plan = state.levels
    below_levels = np.maximum(plan - 1, state.lo)
    # the level below stays short as the context around it moves down: all rounds count;
    # priced by other levels' runs only until it is simulated itself (the counterfactual is
    # an approximation: with no abandonment it can be far off a level or two away)
    here, below = state.current(plan), state.at(below_levels)
    priced = state.at(below_levels, priced=True)
    below = below.where(below.n[0] > 0, priced)
    seen = here.n[0] > 0
    ok = ~seen | here.ok(targets, delta, ALPHA)
    good = seen & here.sure(targets, delta, ALPHA) & here.meets(targets)
    short = (below_levels == plan) | ((below.n[0] > 0) & below.short(targets, ALPHA))
    return here, below, below_levels, ok, good, short


def _best_guess(state: Search, targets, delta) -> int:
    """Undecided slots when the budget is spent: the lowest level the evidence shows good
    (as a decision needs it), else one above the highest level simulated (returns how many
    moved)."""
    levels = sorted({key[3] for key in state.evidence})
    best = np.full(state.levels.shape, -1, dtype=np.int64)
    top = np.full(state.levels.shape, -1, dtype=np.int64)
    for level in reversed(levels):
        at = np.full(state.levels.shape, level, dtype=np.int64)
        ev = state.current(at)
        seen = ev.n[0] > 0
        good = seen & ev.sure(targets, delta, ALPHA) & ev.meets(targets)
        best = np.where(good, level, best)
        top = np.where(seen & (top < 0), level, top)
    guess = np.where(best >= 0, best, np.maximum(top + 1, state.levels))
    guess = np.maximum(guess, state.lo)
    open_ = ~state.decided
    moved = int((open_ & (guess != state.levels)).sum())
    state.levels = np.where(open_, guess, state.levels)
    return moved


def _confirm(state: Search, targets, types, reps, simulate) -> int:
    """The last round of a spent budget: the plan as it stands, undecided slots at their best
    guess (never simulated together), run on new replications. An undecided slot, whose level
    no test has shown good, gets one agent more unless this run shows it reaching the targets
    (one-sided ``CONFIRM_ALPHA``: a point estimate just at the target is a coin toss with fresh
    seeds); any slot significantly short one more (an interval short in its own right moves
    its whole block; returns how many slots moved)."""
    runs = _run_round(state, state.levels, types, reps, simulate)
    mom = moments(runs, types)
    ev = Evidence.of(types.pool(mom))  # this plan's context only: earlier rounds measured another
    more = (~state.decided & ~ev.sure(targets, 0.0, CONFIRM_ALPHA)).astype(np.int64)
    short = ev.short(targets, ALPHA) | _in_block(types, Evidence.of(mom).short(targets, ALPHA))
    more += short  # significantly short: one more still
    more[state.fixed] = 0
    state.levels = state.levels + more
    state.confirmed = 1
    return int((more > 0).sum())


def _recheck(state: Search, targets, types, reps, simulate) -> int:
    """The confirmed plan (the context every slot will have) run once more on new
    replications: a slot significantly short at its level on this run and the confirming one
    (where its level did not change there), or on this run alone, gets one agent more (its
    whole block). A confirming run of one round sees only part of a shortfall of .03."""
    since = state.block
    runs = _run_round(state, state.levels, types, reps, simulate)
    both = state.at(state.levels, since)  # pooled over each block too
    alone = Evidence.of(moments(runs, types))
    more = (both.short(targets, ALPHA) | _in_block(types, alone.short(targets, ALPHA))).astype(
        np.int64
    )
    more[state.fixed] = 0
    state.levels = state.levels + more
    state.confirmed = 2
    return int((more > 0).sum())


def _run_round(state: Search, levels: np.ndarray, types, reps, simulate) -> np.ndarray:
    """Simulate ``levels`` on the next block of replications (fresh each round: evidence grows
    where undecided) and store what the runs measure and price."""
    state.block = state.round
    runs = simulate(levels, [state.block * reps + r for r in range(reps)], state.simulated)
    state.simulated += reps
    state.round += 1
    state.store(levels, runs, types, state.block)
    _reopen(state, runs, types)
    return runs


def _reopen(state: Search, runs: np.ndarray, types: DayTypes) -> None:
    """A slot left without agents because no call arrives there (:func:`_start`) that this
    round's runs offer calls in (calls made again, which a run with ample agents has fewer
    of) is demand after all: searched from one agent like any other slot."""
    offered = np.zeros(state.levels.shape)
    for k in range(types.count):
        offered[:, k, :] = types.gather(runs[:, 0], k).sum(axis=(0, 2))  # never in the warm-up
    again = state.fixed & (offered > 0)
    if again.any():
        state.fixed = state.fixed & ~again
        state.decided = state.decided & ~again
        state.lo = np.where(again, np.maximum(state.lo, 1), state.lo)
        state.levels = np.where(again, np.maximum(state.levels, 1), state.levels)


def _in_block(types: DayTypes, flag: np.ndarray) -> np.ndarray:
    """True wherever any interval of the slot's block is."""
    return types.pool(flag.astype(float)) > 0


def _round(state: Search, targets, types, reps, delta, simulate) -> None:
    """One simulation of the plan on new replications, each undecided slot at the level it
    still needs evidence on (its own, or one below once its own is good and the level below
    is not yet shown short); its evidence there and the levels ``OFFSETS`` away priced from
    the same runs; then decide and move the rest (an iterative-staffing step: to the nearest
    level the runs price as meeting the targets)."""
    *_, below_levels, ok, good, short = _verdicts(state, targets, delta)
    test = np.where(~state.decided & good & ~short, below_levels, state.levels)
    _run_round(state, test, types, reps, simulate)
    plan = state.levels
    here, below, below_levels, ok, good, short = _verdicts(state, targets, delta)
    # decided on all the evidence so far: a slot whose level stops meeting reopens
    state.decided = state.fixed | (good & short)
    state.good = good
    nxt = plan.copy()
    # up when significantly short of target - delta, or (an iterative-staffing step) when the
    # point estimate misses the target: a level in the indifference zone would never be shown
    # good, and waiting there spends the rounds
    up = ~state.decided & (~ok | ((here.n[0] > 0) & ~here.meets(targets)))
    down = ~state.decided & good & ~short & below.meets(targets)
    step_up, step_down = _priced_steps(state, targets)
    nxt[up] = plan[up] + step_up[up]
    nxt[down] = plan[down] - step_down[down]
    state.levels = np.maximum(nxt, state.lo)


def _priced_steps(state: Search, targets) -> tuple[np.ndarray, np.ndarray]:
    """From this round's runs: agents up to the nearest level priced as meeting the targets
    (beyond the levels priced, the service level extrapolated along the priced slope; at most
    ``MAX_STEP``), and agents down to the lowest level below priced as meeting them (at least
    one: the caller moves down only when the level below meets on all the evidence)."""
    plan, since = state.levels, state.block
    up = np.full(plan.shape, -1, dtype=np.int64)
    prev = None
    for d in (dd for dd in OFFSETS if dd > 0):
        ev = state.at(plan + d, since, priced=True)
        up = np.where((up < 0) & ev.meets(targets), d, up)
        if prev is not None and targets.service_level is not None:
            slope = ev.est[0] - prev.est[0]
            with np.errstate(invalid="ignore", divide="ignore"):
                need = d + np.ceil((targets.service_level - ev.est[0]) / slope)
            far = np.where(np.isfinite(need) & (slope > 0), need, MAX_STEP)
            up = np.where(up < 0, np.clip(far, d + 1, MAX_STEP), up)
        prev = ev
    up = np.where(up < 0, MAX_STEP, up)
    down = np.ones(plan.shape, dtype=np.int64)
    for d in sorted(-dd for dd in OFFSETS if dd < -1):
        ev = state.at(plan - d, since, priced=True)
        down = np.where((down == d - 1) & ev.meets(targets) & (plan - d >= state.lo), d, down)
    return up, down
