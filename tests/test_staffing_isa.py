"""The steep day against a reference iterative staffing algorithm (ISA) of Feldman, Mandelbaum,
Massey & Whitt (2008, *Management Science* 54(2)), implemented here with many replications:
``sim staff`` must meet the target with fresh seeds at no more than 3% above its agent-hours.

The reference, for a service-level target: start with ample agents; simulate the plan ``s_n``
with ``REFERENCE_REPS`` replications and record, per interval, the distribution of the number
in system seen by its arrivals (``L_n``); set ``s_{n+1}`` in every interval to the smallest
``c`` whose service level priced on ``L_n`` (M/M/c+M: P(answered within 20 s | n, c), the
steep day is an M_t/M/s_t+M queue) reaches the target; stop when the plan no longer changes
(or repeats, then the larger of the two). Common random numbers: every iteration the same
seeds.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from sim.experiments.executors import Job, executor_scope, run_all
from sim.planning.loads import StaffingTargets, group_loads, priced_outcomes
from sim.planning.slots import Evidence, day_types, moments, seen_histogram, simulate_runs
from sim.planning.staffing import staff, with_staffing
from sim.scenario.loading import scenario_from_dict

REFERENCE_REPS = 1000  # 200 is not enough: 140 agent-hours, 40 of 48 met with fresh seeds
FRESH = 100
MOST = 150  # the most calls in system a histogram tells apart


def reference_isa(scenario, reps: int = REFERENCE_REPS, executor="processes", rounds: int = 15):
    """The reference ISA's daily plan (intervals per day,) and the iterations it took."""
    targets = StaffingTargets.of(scenario)
    load = next(iter(group_loads(scenario).values()))
    g = next(iter(scenario.agents.groups))
    per_day = round(86400 / scenario.interval)
    n = np.arange(MOST + 1)
    plan = np.full(per_day, 100, dtype=np.int64)  # ample: the infinite-server start
    seen: list[np.ndarray] = []
    reduce = functools.partial(seen_histogram, most=MOST)
    with executor_scope(executor) as ex:
        for it in range(1, rounds + 1):
            trial = with_staffing(scenario, {g: np.tile(plan, (7, 1))})
            jobs = [Job(r, trial, scenario.seed, r, reduce=reduce) for r in range(reps)]
            got = run_all(ex, jobs)
            hist = sum(got[r] for r in range(reps))[0][:per_day]  # (per_day, MOST + 1)
            nxt = plan.copy()
            for p in range(per_day):
                if hist[p].sum() == 0:
                    continue
                for c in range(1, MOST):
                    quick, _ = priced_outcomes(n, np.full(n.shape, c), load.mean_handle,
                                               load.mean_patience, targets.within)  # fmt: skip
                    if quick @ hist[p] / hist[p].sum() >= targets.service_level:
                        nxt[p] = c
                        break
            if np.array_equal(nxt, plan):
                return plan, it
            if any(np.array_equal(nxt, s) for s in seen):
                return np.maximum(nxt, plan), it
            seen.append(plan)
            plan = nxt
    return plan, rounds


def fresh_check(scenario, daily: np.ndarray, fresh: int = FRESH, executor="processes") -> dict:
    """The daily plan re-simulated with fresh seeds: intervals meeting the target (point
    estimate), significant misses (95% interval wholly below), agent-hours."""
    g = next(iter(scenario.agents.groups))
    trial = with_staffing(scenario, {g: np.tile(daily, (7, 1))})
    runs = simulate_runs(trial, scenario.seed, list(range(5_000_000, 5_000_000 + fresh)), executor)
    ev = Evidence.of(moments(runs, day_types(scenario, pool=False)))
    targets = StaffingTargets.of(scenario)
    offered = np.isfinite(ev.est[0])
    return {
        "intervals": int(offered.sum()),
        "meeting": int((ev.meets(targets) & offered).sum()),
        "significant_misses": int((ev.short(targets, 0.025) & offered).sum()),
        "agent_hours": float(daily.sum() * scenario.interval / 3600.0),
    }


def test_the_pricing_of_a_level_reproduces_erlang_a_and_c():
    from sim.planning.erlang import _erlang_a_distribution, erlang_a_metrics, erlang_c_metrics

    for c in (18, 22, 26):  # arrivals see the stationary distribution (PASTA)
        p = _erlang_a_distribution(c, 20.0, 200 / 150)
        n = np.arange(len(p))
        quick, abandon = priced_outcomes(n, np.full(len(n), c), 200.0, 150.0, 30.0)
        exact = erlang_a_metrics(0.1, 200, c, 150, 30)
        assert quick @ p == pytest.approx(exact.service_level, abs=1e-12)
        assert abandon @ p == pytest.approx(exact.abandon_rate, abs=1e-12)
    c, a = 25, 20.0  # Erlang C: geometric tail beyond c
    n = np.arange(600)
    logp = np.where(n <= c, n * np.log(a) - [np.sum(np.log(np.arange(1, k + 1))) for k in n], 0)
    logp = np.where(n > c, logp[c] + (n - c) * np.log(a / c), logp)
    p = np.exp(logp - logp.max())
    p /= p.sum()
    quick, abandon = priced_outcomes(n, np.full(len(n), c), 200.0, np.inf, 30.0)
    assert quick @ p == pytest.approx(erlang_c_metrics(0.1, 200, c, 30).service_level, abs=1e-9)
    assert not abandon.any()


@pytest.mark.slow
def test_steep_day_against_a_reference_iterative_staffing():
    from test_staffing_search import _steep

    scenario = scenario_from_dict(_steep())
    ref, iterations = reference_isa(scenario)
    theirs = fresh_check(scenario, ref)
    # the reference is faithful: it meets the target with fresh seeds (issue 12: 46 of 48)
    assert theirs["meeting"] >= 44 and theirs["significant_misses"] == 0, (theirs, ref)
    assert iterations < 15, ref  # it converged
    ours = fresh_check(scenario, staff(scenario, executor="processes").staffing["team"][0])
    assert ours["meeting"] >= 44 and ours["significant_misses"] == 0, ours
    assert ours["agent_hours"] <= 1.03 * theirs["agent_hours"], (ours, theirs)
