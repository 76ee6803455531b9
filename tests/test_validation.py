"""Model validation against closed forms: Erlang C, Erlang A, Cobham's priority queue, Little's law.

Each case runs a few long replications with fixed seeds and checks that the exact value lies in
the simulation's 99% t-interval (fixed seeds make the verdict deterministic: a failure is a
signal, never bad luck to re-roll).
"""

from __future__ import annotations

import numpy as np
import pytest

from sim import scenario_from_dict, simulate
from sim.experiments.replication import mean_ci
from sim.planning.erlang import erlang_a_metrics, erlang_c_metrics, priority_waits
from sim.records.calls import Outcome

pytestmark = pytest.mark.slow


def queue(rate_per_hour, aht_s, agents, patience=None, days=10, tiers=None):
    tiers = tiers or {"standard": {"share": 1}}
    for t in tiers.values():
        t["patience"] = {"dist": "exponential", "mean": patience} if patience else {"dist": "never"}
    return scenario_from_dict(
        {
            "name": "validation",
            "horizon": {"days": days, "warmup": "6h"},
            "arrivals": {"rate_per_hour": rate_per_hour},
            "call_types": {
                "general": {"share": 1, "handle_time": {"dist": "exponential", "mean": aht_s}}
            },
            "customer_tiers": tiers,
            "agents": {"groups": {"team": {"skills": ["general"], "staffing": agents}}},
            "targets": {"service_level": {"within": "20s", "at_least": 0.8}},
        }
    )


def replicate_kpis(scenario, reps=6, seed=11):
    runs = [simulate(scenario, seed=seed, replication=i, keep_records=False) for i in range(reps)]
    return {k: mean_ci((r.kpis[k] for r in runs), level=0.99) for k in runs[0].kpis}


def assert_inside(kpis, name, exact):
    _, (lo, hi), _ = kpis[name]
    assert lo <= exact <= hi, f"{name}: exact {exact:.5f} outside 99% CI [{lo:.5f}, {hi:.5f}]"


ERLANG_C_CASES = [  # (calls/h, mean handle s, agents): light, textbook, large and busy
    (100, 300, 11),
    (200, 180, 14),
    (900, 200, 54),
]


@pytest.mark.parametrize(("rate", "aht", "agents"), ERLANG_C_CASES)
def test_erlang_c(rate, aht, agents):
    kpis = replicate_kpis(queue(rate, aht, agents))
    exact = erlang_c_metrics(rate / 3600, aht, agents, 20)
    assert_inside(kpis, "service_level", exact.service_level)
    assert_inside(kpis, "asa", exact.asa)
    assert_inside(kpis, "occupancy", exact.occupancy)
    assert kpis["abandon_rate"][0] == 0.0


ERLANG_A_CASES = [  # (calls/h, mean handle s, agents, mean patience s)
    (240, 240, 16, 120),  # critically loaded without abandonment
    (300, 180, 12, 60),  # overloaded (15 Erlang on 12 agents): only abandonment keeps it stable
    (600, 300, 52, 300),
]


@pytest.mark.parametrize(("rate", "aht", "agents", "patience"), ERLANG_A_CASES)
def test_erlang_a(rate, aht, agents, patience):
    kpis = replicate_kpis(queue(rate, aht, agents, patience))
    exact = erlang_a_metrics(rate / 3600, aht, agents, patience, 20)
    assert_inside(kpis, "service_level", exact.service_level)
    assert_inside(kpis, "abandon_rate", exact.abandon_rate)
    assert_inside(kpis, "asa", exact.asa)
    assert_inside(kpis, "mean_wait", exact.mean_wait)


def test_littles_law_on_queue_length():
    """L (time-average calls waiting, measured by the router) = lambda x W (from call records)."""
    scenario = queue(300, 180, 12, patience=60, days=8)
    for rep in range(3):
        run = simulate(scenario, seed=5, replication=rep)
        lam = run.kpis["offered"] / 86400.0
        assert run.kpis["mean_queue_length"] == pytest.approx(lam * run.kpis["mean_wait"], rel=0.01)


def test_cobham_priority_two_classes():
    """Non-preemptive priority M/M/1, two tiers: mean wait per tier against Cobham (1954)."""
    aht, rho, vip_share = 60.0, 0.8, 0.3
    rate = rho / aht * 3600
    tiers = {
        "vip": {"share": vip_share, "priority": 0},
        "ordinary": {"share": 1 - vip_share, "priority": 1},
    }
    scenario = queue(rate, aht, 1, days=40, tiers=tiers)
    exact = priority_waits([rate / 3600 * vip_share, rate / 3600 * (1 - vip_share)], aht, 1)
    waits = {0: [], 1: []}
    for rep in range(6):
        calls = simulate(scenario, seed=3, replication=rep).records.calls
        counted = (calls.arrival >= scenario.warmup) & (calls.outcome == Outcome.ANSWERED)
        for tier in (0, 1):
            waits[tier].append(float(np.mean(calls.wait()[counted & (calls.tier == tier)])))
    for tier in (0, 1):
        _, (lo, hi), _ = mean_ci(waits[tier], level=0.99)
        assert lo <= exact[tier] <= hi, (tier, exact[tier], lo, hi)
    assert exact[0] < exact[1]


def test_without_tier_priority_tiers_wait_alike():
    """tier_priority: false is FIFO across tiers, so both tiers see the FCFS M/M/1 wait."""
    tiers = {"vip": {"share": 0.3, "priority": 0}, "ordinary": {"share": 0.7, "priority": 1}}
    data = queue(48, 60, 1, days=30, tiers=tiers).model_dump(by_alias=True)
    data["routing"] = {"tier_priority": False}
    scenario = scenario_from_dict(data)
    fcfs = erlang_c_metrics(48 / 3600, 60, 1, 20).asa
    for tier in (0, 1):
        per_rep = []
        for rep in range(5):
            calls = simulate(scenario, seed=4, replication=rep).records.calls
            mine = (calls.tier == tier) & (calls.outcome == Outcome.ANSWERED)
            per_rep.append(float(np.mean(calls.wait()[mine & (calls.arrival >= 21600)])))
        _, (lo, hi), _ = mean_ci(per_rep, level=0.99)
        assert lo <= fcfs <= hi, (tier, fcfs, lo, hi)
