"""Slots of a staffing plan and the evidence that decides them.

Owns which weekdays are statistically the same *day type* (identical load), how a run is
reduced to per-interval counts in its worker, how those counts pool into a slot (group x day
type x interval of the day) over replications and days, and the tests a slot's level must pass:
"not significantly below target - delta" and "significantly short of the target". The search
that uses them is :mod:`sim.planning.staffing`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.experiments.executors import Executor, Job, executor_scope, run_all
from sim.kpi.calls import CallRecords, call_masks, interval_counts
from sim.model.calendar import date_of, staffing_timeline, weekday_of
from sim.model.simulation import RunResult
from sim.planning.loads import StaffingTargets, first_groups, group_loads, priced_outcomes
from sim.records.calls import Outcome
from sim.scenario.loading import scenario_from_dict
from sim.scenario.resolved import scenario_to_dict
from sim.scenario.schema import Scenario
from sim.scenario.units import DAY, WEEKDAYS, format_clock

__all__ = [
    "DayTypes",
    "Evidence",
    "dated_plan",
    "day_types",
    "plan_keys",
    "plan_labels",
    "run_counts",
    "simulate_slots",
    "staffing_map",
    "with_staffing",
]

MEASURES = ("service_level", "abandon_rate", "occupancy")
OFFSETS = (-2, -1, 0, 1, 2)
"""Levels around the simulated one that each run also prices (:func:`priced_counts`)."""
# rows of run_counts: offered, answered within the target time, abandoned, busy s, present s,
# then per offset priced quick, priced abandoned, present s at that level
_NUM_DEN = ((1, 0), (2, 0), (3, 4))  # the ratio of each measure
_DIRECT = 5


def _row(kind: int, offset: int) -> int:
    """Row of run_counts holding priced ``kind`` (0 quick, 1 abandoned, 2 present s)."""
    return _DIRECT + kind * len(OFFSETS) + OFFSETS.index(offset)


def first_measured_bin(scenario: Scenario) -> int:
    """First interval measured: the one where the warm-up ends (its calls after the warm-up
    count, so a day-long interval after a short warm-up is still measured)."""
    return math.floor(scenario.warmup / scenario.interval + 1e-9)


def first_group_of_calls(scenario: Scenario, rec: CallRecords) -> np.ndarray:
    """Each call's group index counted as its owner: the group of its type's first route step."""
    firsts = first_groups(scenario)
    gidx = {g: i for i, g in enumerate(rec.groups)}
    type_group = np.array([gidx[firsts[ct]] for ct in rec.call_types], dtype=np.int64)
    return type_group[rec.calls.call_type.astype(np.int64)]


def run_counts(run: RunResult) -> np.ndarray:
    """One replication reduced in its worker: per group and interval of the horizon, calls
    offered (counted in the group of their first route step), answered within the target time,
    abandoned, agent busy and present seconds, and the same priced at the levels ``OFFSETS``
    around the simulated one (:func:`priced_counts`). Shape (5 + 3 x len(OFFSETS), groups,
    bins); intervals wholly inside the warm-up are 0. The binning is
    :func:`sim.kpi.calls.interval_counts`, as the KPIs'."""
    scenario, rec = run.scenario, run.records
    assert rec is not None  # the job keeps the records for this reduction
    owner = first_group_of_calls(scenario, rec)
    masks = call_masks(rec)
    k = interval_counts(rec, scenario.interval, owner, len(rec.groups), masks)
    direct = np.stack([k["offered"], k["quick"], k["abandoned"], k["busy"], k["present"]])
    out = np.concatenate([direct, priced_counts(run, owner, masks[1], k)])
    out[:, :, : first_measured_bin(scenario)] = 0.0
    return out


def seen_on_arrival(run: RunResult, owner: np.ndarray, offered: np.ndarray, group: int):
    """For the offered calls of ``group`` (counted in the group of their first route step):
    when each queued, the calls in its group's system then (its calls waiting plus the
    group's agents busy) and the group's agents present. Returns (times, in_system, agents)."""
    rec = run.records
    assert rec is not None
    c = rec.calls
    left = np.where(c.outcome == Outcome.ANSWERED, c.answer, c.end)  # left the queue
    left = np.where(np.isnan(left), np.inf, left)
    t = c.queue_entry[offered & (owner == group)]
    queued = ~np.isnan(c.queue_entry) & (owner == group)
    waiting = np.searchsorted(np.sort(c.queue_entry[queued]), t, side="left")
    waiting -= np.searchsorted(np.sort(left[queued]), t, side="right")
    served = c.group == group
    busy = np.searchsorted(np.sort(c.answer[served & ~np.isnan(c.answer)]), t, "right")
    busy -= np.searchsorted(np.sort(c.release[served & ~np.isnan(c.release)]), t, "right")
    present = rec.present[group]
    agents = present.values[np.searchsorted(present.times, t, side="right") - 1]
    return t, np.maximum(waiting + busy, 0), agents


def seen_histogram(run: RunResult, most: int = 200) -> np.ndarray:
    """How many offered calls of each group and interval found n = 0..most calls in their
    group's system (:func:`seen_on_arrival`; more counts as ``most``): (groups, bins, most + 1).
    The distribution of the number in system an iterative staffing algorithm prices every
    level from (e.g. the reference one of the test suite)."""
    scenario, rec = run.scenario, run.records
    assert rec is not None
    owner = first_group_of_calls(scenario, rec)
    offered = call_masks(rec)[1]
    n_bins = round(scenario.horizon_s / scenario.interval)
    out = np.zeros((len(rec.groups), n_bins, most + 1))
    for g in range(len(rec.groups)):
        t, n, _ = seen_on_arrival(run, owner, offered, g)
        bins = np.minimum((t // scenario.interval).astype(np.int64), n_bins - 1)
        np.add.at(out[g], (bins, np.minimum(n, most)), 1.0)
    out[:, : first_measured_bin(scenario)] = 0.0
    return out


def priced_counts(run: RunResult, owner: np.ndarray, offered: np.ndarray, k: dict) -> np.ndarray:
    """The counterfactual step of the iterative staffing algorithm: each offered call is priced
    at every level ``c + d`` (``d`` in ``OFFSETS``, ``c`` the agents present when it queued)
    from the number of calls in its group's system when it queued (:func:`seen_on_arrival`) by
    :func:`sim.planning.loads.priced_outcomes`. Returns (3 x len(OFFSETS), groups, bins): the
    sums of P(answered within the target time), of P(abandons), and the present agent-seconds
    at each level. A level's scheduled offset is turned into agents on duty with the
    shrinkage's rounding."""
    scenario, rec = run.scenario, run.records
    assert rec is not None
    loads = group_loads(scenario)
    shrink = 1.0 - (scenario.agents.shrinkage or 0.0)
    edges, which = k["edges"], k["which"]
    n_groups, n_bins = len(rec.groups), len(edges) - 1
    out = np.zeros((3, len(OFFSETS), n_groups, n_bins))
    for g, name in enumerate(rec.groups):
        _, in_system, agents = seen_on_arrival(run, owner, offered, g)
        sched = staffing_timeline(scenario, scenario.agents.groups[name])
        level = sched.integral(edges) / scenario.interval  # scheduled per bin
        on = np.floor(level * shrink + 0.5)
        bins = which[offered & (owner == g)]
        for j, d in enumerate(OFFSETS):
            extra = np.floor(np.maximum(level + d, 0.0) * shrink + 0.5) - on  # on duty
            quick, abandon = priced_outcomes(  # an agent of K chats: K servers
                in_system, np.maximum(agents + extra[bins], 0.0) * loads[name].slots,
                loads[name].mean_handle,
                loads[name].mean_patience, scenario.service_level_within(),
            )  # fmt: skip
            out[0, j, g] = np.bincount(bins, quick, minlength=n_bins)
            out[1, j, g] = np.bincount(bins, abandon, minlength=n_bins)
            out[2, j, g] = np.maximum(k["present"][g] + extra * scenario.interval, 0.0)
    return out.reshape(3 * len(OFFSETS), n_groups, n_bins)


def simulate_runs(
    scenario: Scenario,
    seed: int,
    reps: list[int],
    executor: str | Executor | None = "serial",
    progress: Callable[[int, int], None] | None = None,
    done: int = 0,
    total: int | None = None,
) -> np.ndarray:
    """:func:`run_counts` of replications ``reps`` (len(reps), 5, groups, bins), in order."""
    jobs = [Job(r, scenario, seed, r, reduce=run_counts) for r in reps]
    with executor_scope(executor) as ex:
        got = run_all(ex, jobs, progress, done, total)
    return np.stack([got[r] for r in reps])


def weekday_slot_index(scenario: Scenario) -> np.ndarray:
    """Slot (weekday x interval of day) of each interval of the horizon."""
    per_day = round(DAY / scenario.interval)
    weekday = np.array(
        [WEEKDAYS.index(weekday_of(scenario, d)) for d in range(scenario.horizon.days)]
    )
    return (weekday[:, None] * per_day + np.arange(per_day)[None, :]).ravel()


def simulate_slots(
    scenario: Scenario,
    seed: int,
    replications: int,
    executor: str | Executor | None = "serial",
    progress: Callable[[int, int], None] | None = None,
    done: int = 0,
    total: int | None = None,
) -> np.ndarray:
    """Per-replication counts (replications, 5, groups, 7 x intervals per day) summed over the
    days of each weekday slot. Replication ``r`` uses ``Streams(seed, r)`` whatever the
    staffing (common random numbers); the same numbers for any executor and worker count."""
    runs = simulate_runs(scenario, seed, list(range(replications)), executor, progress, done, total)
    per_day = round(DAY / scenario.interval)
    out = np.zeros((*runs.shape[:3], 7 * per_day))
    # Any: numpy's stubs refuse slices in ufunc.at's index, which numpy takes
    where: Any = (slice(None), slice(None), slice(None), weekday_slot_index(scenario))
    np.add.at(out, where, runs)
    return out


def rates(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Service level, abandon rate and occupancy from counts (..., 5, groups, slots)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return tuple(counts[..., n, :, :] / counts[..., d, :, :] for n, d in _NUM_DEN)


# --- day types --------------------------------------------------------------------------------


def dated_plan(scenario: Scenario) -> bool:
    """A plan per date, not per weekday: the horizon is dated and the arrivals differ by day
    (a file with ``day`` rows, e.g. a forecast's), so a holiday Monday is not a Monday."""
    rows = scenario.arrivals.rows
    return scenario.horizon.start_date is not None and any(r[0] > 0 for r in rows)


def plan_keys(scenario: Scenario) -> list[str]:
    """The rows of a plan as a ``staffing`` map keys them: the weekdays, or the dates of a
    dated plan (:func:`dated_plan`)."""
    if not dated_plan(scenario):
        return list(WEEKDAYS)
    return [str(date_of(scenario, d)) for d in range(scenario.horizon.days)]


def plan_labels(scenario: Scenario) -> list[str]:
    """The rows of a plan as people read them: ``mon`` or ``mon 2027-01-04``."""
    if not dated_plan(scenario):
        return list(WEEKDAYS)
    return [
        f"{weekday_of(scenario, d)} {date_of(scenario, d)}" for d in range(scenario.horizon.days)
    ]


@dataclass(frozen=True)
class DayTypes:
    """The plan's rows (weekdays, or the dates of a dated plan) grouped by identical load, and
    which days of the horizon are measured.

    ``of_row[r]`` is the day type whose staffing row ``r`` gets (every row has one: a row only
    in the warm-up gets the type of the day it precedes, a weekday the horizon lacks that of
    the next weekday staffed); ``days[k]`` the horizon days measured as type ``k``; ``labels``
    the rows as people read them (:func:`plan_labels`).
    """

    names: list[str]
    of_row: np.ndarray  # (7,) or (horizon days,)
    days: list[np.ndarray]
    per_day: int
    first_bin: int
    notes: list[str]
    ties: np.ndarray | None = None  # (types, per_day): the first interval of each one's block
    labels: tuple[str, ...] = WEEKDAYS

    def pool(self, m: np.ndarray) -> np.ndarray:
        """(..., types, per_day) sums -> the same with each interval holding its block's sum
        (neighbouring intervals of one load decided together, see :func:`_ties`)."""
        if self.ties is None:
            return m
        out = np.zeros_like(m)
        for k in range(self.count):
            tie = self.ties[k]
            summed = np.zeros_like(m[..., k, :])
            np.add.at(summed, (..., tie), m[..., k, :])  # type: ignore[arg-type]
            out[..., k, :] = summed[..., tie]
        return out

    @property
    def count(self) -> int:
        return len(self.names)

    def rows(self, levels: np.ndarray) -> np.ndarray:
        """(..., types, per_day) -> (..., plan rows, per_day): each row its type's levels."""
        return levels[..., self.of_row, :]

    def rows_of(self, k: int) -> list[str]:
        """The plan rows (:attr:`labels`) staffed as day type ``k``."""
        return [self.labels[r] for r in np.flatnonzero(self.of_row == k)]

    def measured(self, k: int) -> np.ndarray:
        """(days of type k, per_day) mask of intervals measured (after the warm-up)."""
        bins = self.days[k][:, None] * self.per_day + np.arange(self.per_day)[None, :]
        return bins >= self.first_bin

    def gather(self, per_bin: np.ndarray, k: int) -> np.ndarray:
        """(..., bins) -> (..., days of type k, per_day)."""
        bins = self.days[k][:, None] * self.per_day + np.arange(self.per_day)[None, :]
        return per_bin[..., bins]


def _signature(rates: list[np.ndarray], days: list[int], per_day: int) -> bytes:
    """The load of a weekday's days, in calls per hour to 1e-6 (the rates come from sums over
    the horizon, whose last bits depend on the day's position)."""
    rows = [r[d * per_day : (d + 1) * per_day] for d in days for r in rates]
    return b"".join(np.round(row * 3600.0, 6).tobytes() for row in rows)


def day_types(scenario: Scenario, pool: bool = True) -> DayTypes:
    """Group the plan's rows by their load (arrival rate of every group in every interval of
    each of their measured days): the weekdays, or each date of a dated plan
    (:func:`dated_plan`: a holiday and the busy day after it are days of their own).
    Identical rows are one day type, decided on their pooled evidence; ``pool=False`` keeps
    one type per row. A scenario with delivery or a back office (calls they cause need not
    follow the day's arrival rates) is not pooled."""
    per_day = round(DAY / scenario.interval)
    first = first_measured_bin(scenario)
    n_days = scenario.horizon.days
    dated = dated_plan(scenario)
    labels = tuple(plan_labels(scenario))
    row = [d if dated else WEEKDAYS.index(weekday_of(scenario, d)) for d in range(n_days)]
    measured = [d for d in range(n_days) if (d + 1) * per_day > first]
    loads = [load.rate for load in group_loads(scenario).values()]
    pool = pool and scenario.delivery is None and scenario.back_office is None
    by_row: dict[int, list[int]] = {}
    for d in measured:
        by_row.setdefault(row[d], []).append(d)
    types: dict[bytes, list[int]] = {}
    for w in sorted(by_row):
        key = _signature(loads, by_row[w], per_day) if pool else b"#%d" % w
        types.setdefault(key, []).append(w)
    groups = list(types.values())
    of_row = np.full(len(labels), -1, dtype=np.int64)
    for k, ws in enumerate(groups):
        of_row[ws] = k
    notes = []
    for d in range(n_days):  # warm-up days: the type of the day they precede
        w = row[d]
        if of_row[w] < 0 and d + 1 < n_days:
            nxt = next((e for e in range(d + 1, n_days) if e in measured), None)
            if nxt is not None:
                of_row[w] = of_row[row[nxt]]
                notes.append(f"{labels[w]} is only in the warm-up: staffed as {labels[row[nxt]]}")
    n = len(labels)
    for w in range(n):  # weekdays the horizon lacks: the next weekday staffed
        if of_row[w] < 0:
            nxt = next(v % n for v in range(w + 1, w + n + 1) if of_row[v % n] >= 0)
            of_row[w] = of_row[nxt]
            notes.append(f"{labels[w]} is not in the horizon: staffed as {labels[nxt]}")
    names = ["every day" if len(groups) == 1 else "+".join(labels[w] for w in ws) for ws in groups]
    days = [np.array([d for d in measured if row[d] in ws], dtype=np.int64) for ws in groups]
    # redials add a load that follows earlier intervals, not the rates: no neighbours pooled
    redial = scenario.redial.after_abandon or scenario.redial.after_unresolved
    ties = None if not pool or redial else np.stack([_ties(loads, d, per_day, first) for d in days])
    return DayTypes(names, of_row, days, per_day, first, notes, ties, labels)


def _ties(rates: list[np.ndarray], days: np.ndarray, per_day: int, first: int) -> np.ndarray:
    """Blocks of neighbouring intervals that are statistically the same: interval p joins
    p - 1 when every group's arrival rate is the same in p, p - 1 and p - 2 on every day of the
    type (so the calls carried into p come from the same load; the first interval after a
    change of load, and the one after it, start blocks of their own) and all three are
    measured. Only without redials (whose load follows earlier intervals). Returns the first
    interval of each interval's block."""
    tie = np.arange(per_day)
    for p in range(2, per_day):
        bins = days * per_day + p
        same = bool(np.all(bins - 2 >= first)) and all(
            np.array_equal(np.round(r[bins] * 3600.0, 6), np.round(r[bins - j] * 3600.0, 6))
            for r in rates
            for j in (1, 2)
        )
        if same:
            tie[p] = tie[p - 1]
    return tie


# --- evidence ----------------------------------------------------------------------------------


def moments(runs: np.ndarray, types: DayTypes, offset: int = 0) -> np.ndarray:
    """Sufficient sums of the slot ratios: (3 measures, 6, groups, types, per_day) with
    [n units, sum num, sum den, sum num^2, sum den^2, sum num x den] over the (replication, day)
    units of each slot. ``runs`` is (replications, rows of :func:`run_counts`, groups, bins).

    ``offset`` != 0: the ratios at ``offset`` agents from the simulated level, the measured
    counts corrected by what the counterfactual prices (answered quickly: measured + priced at
    the level - priced at the simulated one; the model only prices the difference)."""
    g = runs.shape[2]
    out = np.zeros((3, 6, g, types.count, types.per_day))
    counts = runs[:, :_DIRECT].copy()
    if offset:
        for kind, row in ((0, 1), (1, 2)):  # quick, abandoned
            counts[:, row] += runs[:, _row(kind, offset)] - runs[:, _row(kind, 0)]
        counts[:, 4] = runs[:, _row(2, offset)]
    for k in range(types.count):
        mask = types.measured(k)[None, None, :, :]  # (1, 1, days, per_day)
        x = types.gather(counts, k)  # (reps, 5, groups, days, per_day)
        for m, (ni, di) in enumerate(_NUM_DEN):
            num = np.where(mask, x[:, ni], 0.0)
            den = np.where(mask, x[:, di], 0.0)
            unit = np.broadcast_to(mask, num.shape).astype(float)
            for j, v in enumerate((unit, num, den, num * num, den * den, num * den)):
                out[m, j, :, k] = v.sum(axis=(0, 2))
    return out


@dataclass
class Evidence:
    """Pooled ratio estimates of a slot at one level: estimate and standard error per measure
    (NaN estimate: nothing offered), from :func:`moments` (several blocks simply add)."""

    est: np.ndarray  # (3, ...) service level, abandon rate, occupancy
    se: np.ndarray
    n: np.ndarray  # units

    @classmethod
    def of(cls, m: np.ndarray) -> Evidence:
        n, sx, sy, sxx, syy, sxy = (m[:, j] for j in range(6))
        with np.errstate(invalid="ignore", divide="ignore"):
            est = np.where(sy > 0, sx / np.where(sy > 0, sy, 1.0), np.nan)
            resid = np.maximum(sxx - 2 * est * sxy + est * est * syy, 0.0)
            mean_den = sy / np.maximum(n, 1)
            var = resid / (np.maximum(n, 1) * np.maximum(n - 1, 1) * mean_den**2)
            se = np.where(n >= 2, np.sqrt(var), np.inf)
        return cls(est, se, n)

    def where(self, mask: np.ndarray, other: Evidence) -> Evidence:
        """This evidence where ``mask`` (a slot array), ``other``'s elsewhere."""
        return Evidence(*(np.where(mask, a, b) for a, b in zip(
            (self.est, self.se, self.n), (other.est, other.se, other.n), strict=True
        )))  # fmt: skip

    def _t(self, alpha: float) -> np.ndarray:
        from scipy import stats

        return stats.t.ppf(1 - alpha, np.maximum(self.n[0] - 1, 1))

    def bounds(self, alpha: float) -> tuple[np.ndarray, np.ndarray]:
        """One-sided (1 - alpha) lower and upper confidence bounds of each measure."""
        half = self._t(alpha) * self.se
        return self.est - half, self.est + half

    def ok(self, targets: StaffingTargets, delta: float, alpha: float) -> np.ndarray:
        """Not significantly worse than the targets loosened by ``delta`` (nothing offered: ok)."""
        low, high = self.bounds(alpha)
        with np.errstate(invalid="ignore"):
            bad = np.zeros(self.est.shape[1:], dtype=bool)
            for m, limit in _limits(targets):
                bad |= high[m] < limit - delta if m == 0 else low[m] > limit + delta
        return ~bad

    def sure(self, targets: StaffingTargets, delta: float, alpha: float) -> np.ndarray:
        """Significantly better than the targets loosened by ``delta`` (nothing offered: yes)."""
        low, high = self.bounds(alpha)
        with np.errstate(invalid="ignore"):
            ok = np.ones(self.est.shape[1:], dtype=bool)
            for m, limit in _limits(targets):
                x = self.est[m]
                fine = low[m] >= limit - delta if m == 0 else high[m] <= limit + delta
                ok &= np.isnan(x) | fine
        return ok

    def within(self, targets: StaffingTargets, delta: float) -> np.ndarray:
        """The point estimates reach the targets loosened by ``delta`` (nothing offered: yes);
        with :meth:`ok`, a level is accepted only on evidence, not on a wide interval."""
        with np.errstate(invalid="ignore"):
            ok = np.ones(self.est.shape[1:], dtype=bool)
            for m, limit in _limits(targets):
                x = self.est[m]
                ok &= ~(x < limit - delta - 1e-12) if m == 0 else ~(x > limit + delta + 1e-12)
        return ok

    def short(self, targets: StaffingTargets, alpha: float) -> np.ndarray:
        """Significantly worse than a target (the level does not do)."""
        low, high = self.bounds(alpha)
        with np.errstate(invalid="ignore"):
            bad = np.zeros(self.est.shape[1:], dtype=bool)
            for m, limit in _limits(targets):
                bad |= high[m] < limit if m == 0 else low[m] > limit
        return bad

    def meets(self, targets: StaffingTargets) -> np.ndarray:
        """The point estimates meet every target (nothing offered: met)."""
        return targets.met(*self.est)


def _limits(targets: StaffingTargets) -> list[tuple[int, float]]:
    out = []
    for m, value in enumerate((targets.service_level, targets.abandon_rate, targets.max_occupancy)):
        if value is not None:
            out.append((m, value))
    return out


# --- plans as scenarios ------------------------------------------------------------------------


def with_staffing(scenario: Scenario, plan: dict[str, np.ndarray], base_dir=".") -> Scenario:
    """``scenario`` with each group in ``plan`` on a ``staffing`` map (plan rows x intervals per
    day: a row per weekday, mon first, or per date, :func:`plan_keys`) instead of its own
    staffing or shifts."""
    data = scenario_to_dict(scenario)
    for g, slots in plan.items():
        group = {k: v for k, v in data["agents"]["groups"][g].items() if k != "shifts"}
        group["staffing"] = staffing_map(scenario, slots)
        data["agents"]["groups"][g] = group
    return scenario_from_dict(data, base_dir=base_dir, source=f"{scenario.name} (staffing)")


def staffing_map(scenario: Scenario, slots: np.ndarray) -> int | dict:
    """A scenario ``staffing`` value for a (plan rows, intervals per day) array: a number or a
    daily ``{"HH:MM": agents}`` map when every row is the same, else one entry per row (every
    weekday, or every date of a dated plan, :func:`plan_keys`: a row missing is an error)."""
    keys = plan_keys(scenario)
    rows = np.asarray(slots, dtype=np.int64).reshape(len(keys), -1)

    def day_map(row: np.ndarray) -> int | dict:
        if np.all(row == row[0]):
            return int(row[0])
        change = np.concatenate(([True], row[1:] != row[:-1]))
        return {format_clock(k * scenario.interval): int(row[k]) for k in np.flatnonzero(change)}

    if np.all(rows == rows[0]):
        return day_map(rows[0])
    return {key: day_map(rows[w]) for w, key in enumerate(keys)}
