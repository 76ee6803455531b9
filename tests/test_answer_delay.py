"""customer_tiers.T.answer_delay: a tier's calls wait a delay before an agent may answer them."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import sim_cli

from sim import scenario_from_dict, simulate
from sim.planning.staffing import staff
from sim.records.calls import Outcome
from sim.scenario.yamlsource import ScenarioError


def scenario(tiers, agents=50, rate=40, handle=None, groups=None, **over):
    data = {
        "name": "delay",
        "horizon": {"days": 1},
        "arrivals": {"rate_per_hour": rate},
        "call_types": {
            "x": {"share": 1, "handle_time": handle or {"dist": "exponential", "mean": 300}}
        },
        "customer_tiers": tiers,
        "agents": {"groups": groups or {"team": {"skills": ["x"], "staffing": agents}}},
    }
    data.update(over)
    return scenario_from_dict(data)


def _answered_waits(c) -> np.ndarray:
    """The waits of the answered calls; every other call is still open at the horizon."""
    done = c.outcome == Outcome.ANSWERED
    assert done.sum() > 20 and (c.outcome[~done] == Outcome.OPEN).all()
    return c.wait()[done]


def test_a_constant_delay_with_plenty_of_agents_is_every_wait():
    sc = scenario({"std": {"share": 1, "answer_delay": {"dist": "fixed", "value": 30}}})
    c = simulate(sc, seed=3).records.calls
    answered = c.outcome == Outcome.ANSWERED
    assert answered.sum() > 800
    assert not (c.outcome == Outcome.ABANDONED).any()
    waits = c.wait()[answered]
    np.testing.assert_allclose(waits, 30.0, rtol=0, atol=1e-9)


def test_patience_runs_from_the_queue_entry_during_the_delay():
    held = {"dist": "fixed", "value": 30}

    def fixed(value: float) -> dict:
        return {
            "std": {"share": 1, "patience": {"dist": "fixed", "value": value}, "answer_delay": held}
        }

    short = scenario(fixed(10))
    c = simulate(short, seed=4).records.calls
    gone = c.outcome == Outcome.ABANDONED  # after 10 s, before the 30 s delay
    assert gone.sum() > 20 and (c.outcome[~gone] == Outcome.OPEN).all()
    np.testing.assert_allclose(c.wait()[gone], 10.0, rtol=0, atol=1e-9)
    long = scenario(fixed(40))
    c = simulate(long, seed=4).records.calls  # 30 s of its 40 s patience used, answered
    np.testing.assert_allclose(_answered_waits(c), 30.0, rtol=0, atol=1e-9)


def test_overflow_steps_count_from_the_queue_entry_not_the_end_of_the_delay():
    def run(delay: float) -> np.ndarray:
        sc = scenario(
            {"std": {"share": 1, "answer_delay": {"dist": "fixed", "value": delay}}},
            groups={
                "first": {"skills": ["x"], "staffing": 0},
                "backup": {"skills": ["x"], "staffing": 30},
            },
            routing={"x": ["first", {"group": "backup", "after": "45s"}], "skip_unstaffed": False},
        )
        c = simulate(sc, seed=5).records.calls
        return _answered_waits(c)

    np.testing.assert_allclose(run(30.0), 45.0, rtol=0, atol=1e-9)  # the step's wait
    np.testing.assert_allclose(run(60.0), 60.0, rtol=0, atol=1e-9)  # the step is open at 45


def test_little_law_on_the_queue_length_counts_held_calls():
    """The time-integral of the calls waiting equals the sum of every call's time waiting (a
    sample-path identity), with a random delay on one tier, abandons and congestion."""
    sc = scenario(
        {
            "std": {
                "share": 0.6,
                "patience": {"dist": "exponential", "mean": 120},
                "answer_delay": {"dist": "lognormal", "mean": 40, "cv": 1.2},
            },
            "gold": {"share": 0.4, "priority": 0, "patience": {"dist": "exponential", "mean": 300}},
        },
        agents=9,
        rate=100,
    )
    run = simulate(sc, seed=6)
    c = run.records.calls
    horizon = sc.horizon_s
    left = np.where(c.outcome == Outcome.OPEN, horizon, np.fmin(c.answer, c.end))
    left = np.where(c.outcome == Outcome.ANSWERED, c.answer, left)
    waited = float(np.sum(left - c.queue_entry))
    assert (c.outcome == Outcome.ABANDONED).sum() > 20
    assert run.kpis["mean_queue_length"] == pytest.approx(waited / horizon, rel=1e-9)
    std = c.tier == 0
    assert c.wait()[std & (c.outcome == Outcome.ANSWERED)].min() > 0  # never answered at once


def test_a_tier_without_delay_keeps_its_draws_bit_for_bit():
    """Adding the key to one tier draws from its own stream: the other tier's callers are the
    same bits, and with agents to spare its waits too."""
    patience = {"dist": "exponential", "mean": 120}
    tiers = {"std": {"share": 0.5}, "gold": {"share": 0.5, "patience": patience}}
    base = simulate(scenario(tiers), seed=7).records.calls
    tiers["std"]["answer_delay"] = {"dist": "gamma", "mean": 50, "cv": 0.8}
    held = simulate(scenario(tiers), seed=7).records.calls
    for col in ("arrival", "tier", "call_type", "patience", "handle", "queue_entry"):
        np.testing.assert_array_equal(getattr(base, col), getattr(held, col))
    gold = base.tier == 1
    np.testing.assert_array_equal(base.wait()[gold], held.wait()[gold])
    assert (held.wait()[~gold] > 0).all() and (base.wait()[~gold] == 0).all()


@pytest.mark.parametrize(
    "delay", [{"dist": "never"}, {"dist": "fixed", "value": -1}, "soon", {"dist": "exponential"}]
)
def test_a_bad_answer_delay_is_refused(delay):
    with pytest.raises(ScenarioError, match="answer_delay"):
        scenario({"std": {"share": 1, "answer_delay": delay}})


@pytest.mark.parametrize(
    ("delay", "within_20s"),
    [
        ({"dist": "exponential", "mean": 40}, 1 - math.exp(-0.5)),
        ({"dist": "fixed", "value": 20}, 1.0),
        ({"dist": "fixed", "value": 21}, 0.0),
        ({"dist": "uniform", "low": 10, "high": 50}, 0.25),
        ({"dist": "gamma", "mean": 40, "cv": 1}, 1 - math.exp(-0.5)),  # cv 1: exponential
        ({"dist": "lognormal", "mean": 20 * math.exp(0.5 * math.log(2)), "cv": 1}, 0.5),
    ],
)
def test_the_service_level_no_staffing_can_exceed(delay, within_20s):
    """Half the calls held: at most 1/2 + 1/2 P(delay <= 20 s) are answered within 20 s (the
    lognormal's median is mean / sqrt(1 + cv^2), here 20 s)."""
    sc = scenario({"gold": {"share": 0.5}, "std": {"share": 0.5, "answer_delay": delay}})
    assert sc.answerable_within(20.0) == pytest.approx(0.5 + 0.5 * within_20s, abs=1e-12)


def test_staffing_for_a_target_the_delays_put_out_of_reach_plans_without_them(write, tmp_path):
    """No staffing answers a held call before its delay ends: below the target, sim staff plans
    without the hold and says so in every file of the plan (or refuses, if told to keep it)."""
    held = {"dist": "fixed", "value": 30}
    tiers = {"gold": {"share": 0.5}, "std": {"share": 0.5, "answer_delay": held}}
    targets = {"service_level": {"within": "20s", "at_least": 0.8}}
    with pytest.raises(ValueError, match=r"out of reach.*tiers std, at most 50.0% of calls"):
        staff(scenario(tiers, targets=targets), keep_answer_delay=True)
    lines = [
        "name: held",
        "horizon: {days: 1}",
        "arrivals: {rate_per_hour: 40}",
        "call_types: {x: {share: 1, handle_time: {dist: exponential, mean: 300}}}",
        "customer_tiers:",
        "  gold: {share: 0.5}",
        "  std: {share: 0.5, answer_delay: {dist: fixed, value: 30}}",
        "agents: {groups: {team: {skills: [x], staffing: 5}}}",
        "targets: {service_level: {within: 20s, at_least: 0.8}}",
    ]
    file = write("\n".join(lines) + "\n")
    res = sim_cli("staff", file, "--out", tmp_path / "k", "--quiet", "--keep-answer-delay")
    assert res.exit_code == 2 and "out of reach" in res.output, res.output
    assert not (tmp_path / "k").exists()
    out = tmp_path / "o"
    quick = ("--replications", "2", "--verify", "4", "--max-iterations", "3", "--no-report")
    res = sim_cli("staff", file, "--out", out, "--quiet", *quick)
    assert res.exit_code == 0, res.output
    assert "NOTE: planned WITHOUT the answer_delay of customer tiers std" in res.output
    info = json.loads((out / "staffing.json").read_text())
    assert len(info["changed"]) == 1 and "at most 50.0%" in info["changed"][0]
    assert "planned WITHOUT" in info["planned_for"]
    plan = (out / "scenario.yaml").read_text()
    assert "answer_delay:" not in plan and "# planned" in plan and "WITHOUT" in plan
    assert "WITHOUT" in (out / "staffing.yaml").read_text()
    run = sim_cli("run", out / "scenario.yaml", "--out", tmp_path / "r", "--quiet")
    assert run.exit_code == 0, run.output
