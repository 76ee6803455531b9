"""Router behaviour on small deterministic scenarios: overflow, overtime, after-call work, IVR."""

from __future__ import annotations

import numpy as np
import pytest

from sim import scenario_from_dict, simulate
from sim.records.calls import Origin, Outcome


def scenario(groups, routing=None, **over):
    data = {
        "name": "cc",
        "horizon": {"days": 1},
        "arrivals": {"rate_per_hour": 20},
        "call_types": {"x": {"share": 1, "handle_time": {"dist": "fixed", "value": 60}}},
        "customer_tiers": {"std": {"share": 1}},
        "agents": {"groups": groups},
    }
    if routing:
        data["routing"] = routing
    data.update(over)
    return scenario_from_dict(data)


def test_overflow_group_takes_calls_only_after_the_wait():
    sc = scenario(
        {"first": {"skills": ["x"], "staffing": 0}, "backup": {"skills": ["x"], "staffing": 3}},
        routing={"x": ["first", {"group": "backup", "after": "45s"}], "skip_unstaffed": False},
    )
    c = simulate(sc, seed=1).records.calls
    answered = c.outcome == Outcome.ANSWERED
    assert answered.sum() > 300
    waits = c.wait()[answered]
    assert np.all(waits >= 45 - 1e-9)
    assert np.mean(np.isclose(waits, 45)) > 0.9  # an idle backup agent takes it at 45 s sharp
    assert np.all(c.group[answered] == 1)


def test_overtime_agent_finishes_the_call_then_leaves():
    sc = scenario(
        {"team": {"skills": ["x"], "staffing": {"00:00": 2, "01:00": 0}}},
        call_types={"x": {"share": 1, "handle_time": {"dist": "fixed", "value": 1500}}},
        arrivals={"rate_per_hour": 30},
    )
    run = simulate(sc, seed=2)
    c = run.records.calls
    answered = c.outcome == Outcome.ANSWERED
    assert np.all(c.answer[answered] < 3600)  # nobody on duty after 01:00
    assert np.any(c.release[answered] > 3600)  # ...but calls running at 01:00 were finished
    np.testing.assert_allclose(c.end[answered] - c.answer[answered], 1500)
    assert run.kpis["overtime_hours"] > 0
    left = (c.outcome == Outcome.OPEN) & (c.arrival > 3600)
    assert left.sum() > 0  # never-abandoning callers after 01:00 stay open at the horizon


def test_after_call_work_and_group_speed_factor():
    sc = scenario(
        {"slow": {"skills": ["x"], "staffing": 5}},
        agents={
            "groups": {"slow": {"skills": ["x"], "staffing": 5}},
            "after_call_work": {"dist": "fixed", "value": 15},
            "handle_time_factor": {"slow": 1.5},
        },
    )
    c = simulate(sc, seed=3).records.calls
    answered = c.outcome == Outcome.ANSWERED
    np.testing.assert_allclose(c.end[answered] - c.answer[answered], 90)
    np.testing.assert_allclose(c.release[answered] - c.end[answered], 15)


def test_ivr_self_service_and_time():
    sc = scenario(
        {"team": {"skills": ["x"], "staffing": 5}},
        ivr={"self_service": 0.3, "time": {"dist": "fixed", "value": 40}},
        horizon={"days": 5},
    )
    run = simulate(sc, seed=4)
    c = run.records.calls
    assert run.kpis["self_service_rate"] == pytest.approx(0.3, abs=0.03)
    queued = ~np.isnan(c.queue_entry)
    np.testing.assert_allclose(c.queue_entry[queued] - c.arrival[queued], 40)
    served = c.outcome == Outcome.SELF_SERVED
    np.testing.assert_allclose(c.end[served] - c.arrival[served], 40)


@pytest.mark.slow
def test_redials_after_abandon_come_back_as_the_same_customer():
    sc = scenario(  # two agents for 120 calls an hour of 60 s: heavy redials (one agent: a loop)
        {"team": {"skills": ["x"], "staffing": 2}},
        arrivals={"rate_per_hour": 120},
        customer_tiers={"std": {"share": 1, "patience": {"dist": "fixed", "value": 30}}},
        redial={"after_abandon": {"probability": 1.0, "delay": {"dist": "fixed", "value": 300}}},
    )
    c = simulate(sc, seed=5).records.calls
    again = np.flatnonzero(c.origin == Origin.AFTER_ABANDON)
    assert len(again) > 50
    abandoned = np.flatnonzero(c.outcome == Outcome.ABANDONED)
    # every abandonment before the last 300 s has exactly one redial, 300 s later
    due = abandoned[c.end[abandoned] + 300 < sc.horizon_s]
    by_customer_attempt = {
        (cu, at): i for i, cu, at in zip(again, c.customer[again], c.attempt[again], strict=True)
    }
    for i in due:
        j = by_customer_attempt[(c.customer[i], c.attempt[i] + 1)]
        assert c.arrival[j] == pytest.approx(c.end[i] + 300)


def test_workers_do_not_change_results():
    from sim.experiments.replication import replicate

    sc = scenario({"team": {"skills": ["x"], "staffing": 1}}, replications=4)
    one, two = replicate(sc, workers=1), replicate(sc, workers=2)
    assert one.to_dict() == two.to_dict()
    for a, b in zip(one.runs, two.runs, strict=True):
        for name in a.intervals:
            np.testing.assert_array_equal(a.intervals[name], b.intervals[name])


def test_listeners_read_the_true_state_of_a_call_during_the_run(monkeypatch):
    """A call's row is written when things happen: a listener of handled calls reads it
    ANSWERED with its group and end, one of abandoned calls reads it ABANDONED at its hang-up,
    and at any moment the calls in a queue are exactly those WAITING (both answer paths, at
    once and after a wait, are exercised)."""
    from sim.model.contact_center import ContactCenter

    seen: dict[str, list] = {"handled": [], "abandoned": [], "waiting": []}
    connect = ContactCenter.connect

    def spy(center, on_abandoned, on_handled, by_type=None):
        calls = center.calls

        def handled(cid, at):
            g = calls.group[cid]
            assert center.pool.group_of[calls.agent[cid]] == g
            seen["handled"].append((calls.outcome[cid], calls.end[cid] == at, g, calls.answer[cid]))

        def abandoned(cid, at):
            seen["abandoned"].append((calls.outcome[cid], calls.end[cid] == at))

        def count(_now, _value):
            waiting = sum(calls.outcome[cid] == Outcome.WAITING for cid in range(len(calls)))
            seen["waiting"].append((waiting, center.waiting))
            center.env.later(600.0, count)

        center.env.later(600.0, count)
        connect(center, abandoned, [*on_handled, handled], by_type)

    monkeypatch.setattr(ContactCenter, "connect", spy)
    sc = scenario(
        {"a": {"skills": ["x"], "staffing": 1}, "b": {"skills": ["x"], "staffing": 2}},
        arrivals={"rate_per_hour": 150},
        customer_tiers={"std": {"share": 1, "patience": {"dist": "exponential", "mean": 60}}},
    )
    c = simulate(sc, seed=3).records.calls
    handled, abandoned = seen["handled"], seen["abandoned"]
    assert len(handled) == (c.outcome == Outcome.ANSWERED).sum() > 100
    assert all(o == Outcome.ANSWERED and same_end for o, same_end, _, _ in handled)
    assert {g for _, _, g, _ in handled} == {0, 1}
    waited = c.answer > c.queue_entry
    assert 0 < waited.sum() < len(handled)
    assert len(abandoned) == (c.outcome == Outcome.ABANDONED).sum() > 10
    assert all(o == Outcome.ABANDONED and same_end for o, same_end in abandoned)
    assert len(seen["waiting"]) > 100 and all(a == b for a, b in seen["waiting"])
    assert any(a > 0 for a, _ in seen["waiting"])
    assert not np.isin(c.outcome, [Outcome.ARRIVING, Outcome.WAITING]).any()  # OPEN at the end


def test_each_answered_call_has_its_agents_group():
    sc = scenario(
        {"a": {"skills": ["x"], "staffing": 1}, "b": {"skills": ["x"], "staffing": 2}},
        arrivals={"rate_per_hour": 90},
        customer_tiers={"std": {"share": 1, "patience": {"dist": "fixed", "value": 600}}},
    )
    c = simulate(sc, seed=3).records.calls
    answered = ~np.isnan(c.answer)
    assert np.array_equal(answered, c.outcome == Outcome.ANSWERED)
    waited = answered & (c.answer > c.queue_entry)
    assert 0 < waited.sum() < answered.sum()  # both paths are exercised
    groups = {int(a): int(g) for a, g in zip(c.agent[answered], c.group[answered], strict=True)}
    assert set(groups.values()) == {0, 1}  # every agent in one group, and both groups answer
    assert sorted(groups) == [0, 1, 2] and groups[0] == 0 and groups[1] == groups[2] == 1
