"""Properties of the contact-center model over small random scenarios (hypothesis).

Conservation, one call per agent at a time (a call takes its agent whole; the pool's own
invariants with slot work are in tests/test_agents.py), routing only to allowed groups,
reproducibility and common random numbers: invariants that must hold whatever the scenario.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import scenario_from_dict, simulate
from sim.records.calls import Origin, Outcome

TYPES = ["inquiry", "order", "complaint"]
DIST = st.sampled_from(
    [
        {"dist": "exponential", "mean": 120},
        {"dist": "lognormal", "mean": 200, "cv": 0.8},
        {"dist": "gamma", "mean": 90, "cv": 0.5},
        {"dist": "fixed", "value": 60},
        {"dist": "uniform", "low": 30, "high": 200},
    ]
)
PATIENCE = st.sampled_from(
    [
        {"dist": "never"},
        {"dist": "exponential", "mean": 60},
        {"dist": "fixed", "value": 45},
    ]
)


@st.composite
def scenarios(draw):
    n_types = draw(st.integers(1, 3))
    types = TYPES[:n_types]
    n_groups = draw(st.integers(1, 3))
    groups = {}
    for g in range(n_groups):
        skills = draw(st.lists(st.sampled_from(types), min_size=1, max_size=n_types, unique=True))
        if draw(st.booleans()):
            times = sorted(draw(st.lists(st.integers(0, 23), min_size=1, max_size=4, unique=True)))
            staffing = {f"{h:02d}:00": draw(st.integers(0, 6)) for h in times}
            groups[f"g{g}"] = {"skills": skills, "staffing": staffing}
        else:
            start = draw(st.integers(0, 20))
            groups[f"g{g}"] = {
                "skills": skills,
                "shifts": [
                    {
                        "start": f"{start:02d}:00",
                        "end": f"{(start + 8) % 24:02d}:00",
                        "count": draw(st.integers(1, 5)),
                        "break": {"at": f"{(start + 4) % 24:02d}:00", "length": "30min"},
                    }
                ],
            }
    for t in types:  # every type must be servable
        if not any(t in g["skills"] for g in groups.values()):
            groups["g0"]["skills"].append(t)
    routing = {
        "tier_priority": draw(st.booleans()),
        "agent_selection": draw(
            st.sampled_from(["ordered", "longest_idle", "random", "least_busy"])
        ),
        "skip_unstaffed": draw(st.booleans()),
        "at_close": draw(st.sampled_from(["wait", "disconnect"])),
    }
    if n_groups > 1 and draw(st.booleans()):
        t = draw(st.sampled_from(types))
        first = next(name for name, g in groups.items() if t in g["skills"])
        other = next(name for name in groups if name != first)
        routing[t] = [first, {"group": other, "after": draw(st.sampled_from([0, 15, 60]))}]
    shares = draw(st.lists(st.integers(1, 5), min_size=n_types, max_size=n_types))
    data = {
        "name": "prop",
        "horizon": {"days": draw(st.integers(1, 2)), "warmup": draw(st.sampled_from([0, "2h"]))},
        "arrivals": {"rate_per_hour": draw(st.integers(5, 120))},
        "call_types": {
            t: {
                "share": s / sum(shares),
                "handle_time": draw(DIST),
                "first_contact_resolution": draw(st.sampled_from([1.0, 0.7])),
            }
            for t, s in zip(types, shares, strict=True)
        },
        "customer_tiers": {
            "vip": {"share": 0.2, "priority": 0, "patience": draw(PATIENCE)},
            "std": {"share": 0.8, "priority": 1, "patience": draw(PATIENCE)},
        },
        "agents": {"groups": groups},
        "routing": routing,
        "redial": {
            "after_abandon": {
                "probability": 0.5,
                "delay": {"dist": "fixed", "value": 300},
                "redraw": draw(st.booleans()),
            },
            "after_unresolved": {"probability": 0.5, "delay": {"dist": "exponential", "mean": 600}},
        },
    }
    if draw(st.booleans()):
        data["ivr"] = {"self_service": 0.2, "time": {"dist": "fixed", "value": 30}}
    if draw(st.booleans()):
        data["agents"]["after_call_work"] = {"dist": "exponential", "mean": 20}
    return scenario_from_dict(data)


SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@SETTINGS
@given(scenarios(), st.integers(0, 2**32 - 1))
def test_invariants(scenario, seed):
    run = simulate(scenario, seed=seed)
    c = run.records.calls
    # every call ends in exactly one recorded state
    assert set(np.unique(c.outcome)) <= {o.value for o in Outcome}
    horizon = scenario.horizon_s
    answered, abandoned = c.outcome == Outcome.ANSWERED, c.outcome == Outcome.ABANDONED
    self_served, open_ = c.outcome == Outcome.SELF_SERVED, c.outcome == Outcome.OPEN
    cut = c.outcome == Outcome.DISCONNECTED
    assert answered.sum() + abandoned.sum() + self_served.sum() + open_.sum() + cut.sum() == len(c)
    # times are consistent with the state
    assert np.all(c.answer[answered] >= c.queue_entry[answered] - 1e-9)
    assert np.all(c.answer[answered] <= horizon)
    assert np.all(np.isnan(c.answer[~answered]))
    waited = c.end[abandoned] - c.queue_entry[abandoned]
    np.testing.assert_allclose(waited, c.patience[abandoned], rtol=1e-9, atol=1e-6)
    assert np.all(c.end[abandoned] <= horizon)
    # an open call is still waiting: its patience has not run out before the horizon
    queued_open = open_ & ~np.isnan(c.queue_entry) & (c.queue_entry < horizon)
    assert np.all(c.queue_entry[queued_open] + c.patience[queued_open] >= horizon - 1e-6)
    # a call takes its agent whole: no agent serves two calls at once (after-call work included)
    for agent in np.unique(c.agent[answered]):
        mine = np.flatnonzero(c.agent == agent)
        order = mine[np.argsort(c.answer[mine])]
        assert np.all(c.answer[order[1:]] >= c.release[order[:-1]] - 1e-9)
    # no call is served by a group its route does not allow, nor before the allowed wait unless
    # every earlier group had nobody on duty (skip rule); the group has the call type's skill or
    # is listed in its route (an overflow skill)
    groups = list(scenario.agents.groups)
    types = list(scenario.call_types)
    on_duty = run.records.scheduled
    for i in np.flatnonzero(answered):
        route = scenario.route(types[c.call_type[i]])
        steps = {s.group: s.after for s in route}
        group = groups[c.group[i]]
        assert group in steps
        if c.answer[i] - c.queue_entry[i] < steps[group] - 1e-6:
            assert scenario.routing.skip_unstaffed
            earlier = [groups.index(s.group) for s in route if s.after < steps[group]]
            assert all(on_duty[e].at(c.answer[i]) == 0 for e in earlier)
    # disconnected calls: only with at_close: disconnect, when no group of the route is on duty
    if scenario.routing.at_close == "wait":
        assert not cut.any()
    for i in np.flatnonzero(cut):
        route = [groups.index(s.group) for s in scenario.route(types[c.call_type[i]])]
        assert all(on_duty[g].at(c.end[i]) == 0 for g in route)
    # a redial that keeps its draws has its first attempt's patience and handle time
    if not scenario.redial.after_abandon.redraw:
        redial = np.flatnonzero(c.origin == Origin.AFTER_ABANDON)
        for i in redial:
            before = np.flatnonzero((c.customer == c.customer[i]) & (c.attempt == c.attempt[i] - 1))
            assert len(before) >= 1
            assert c.patience[i] in c.patience[before] and c.handle[i] in c.handle[before]
    # redials belong to a customer seen before, with the same tier
    again = c.origin != Origin.FIRST
    first_tier = dict(zip(c.customer[~again].tolist(), c.tier[~again].tolist(), strict=True))
    assert all(first_tier[cu] == t for cu, t in zip(c.customer[again], c.tier[again], strict=True))
    assert np.all(c.attempt[again] >= 1)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.integers(0, 2**31))
def test_same_seed_same_numbers_other_seed_other_numbers(scenario, seed):
    a, b = simulate(scenario, seed=seed), simulate(scenario, seed=seed)
    for name, col in a.records.calls.columns.items():
        np.testing.assert_array_equal(col, b.records.calls.columns[name], err_msg=name)
    assert a.kpis == b.kpis
    c = simulate(scenario, seed=seed + 1)
    assert not np.array_equal(a.records.calls.arrival, c.records.calls.arrival)


def first_calls(run):
    c = run.records.calls
    first = c.origin == Origin.FIRST
    return {k: c.columns[k][first] for k in ("arrival", "tier", "call_type", "patience", "handle")}


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.integers(0, 2**31), st.integers(0, 4))
def test_common_random_numbers_across_staffing_and_groups(scenario, seed, extra):
    """Changing staffing or adding a group leaves the first calls exactly as they were."""
    data = scenario.model_dump(by_alias=True)
    data["agents"]["groups"]["extra"] = {"skills": list(scenario.call_types), "staffing": extra}
    for group in data["agents"]["groups"].values():
        if "staffing" in group and isinstance(group["staffing"], int):
            group["staffing"] += 1
    other = scenario_from_dict(data)
    a, b = first_calls(simulate(scenario, seed=seed)), first_calls(simulate(other, seed=seed))
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
