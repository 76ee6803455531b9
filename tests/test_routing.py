"""The router's seam: explicit wiring and the agent-selection policies."""

from __future__ import annotations

import numpy as np
import pytest
import simpy

from sim import scenario_from_dict, simulate
from sim.model.back_office import BackOffice
from sim.model.contact_center import ContactCenter, Unresolved
from sim.model.events import ModelEnvironment
from sim.model.routing import Ordered
from sim.model.streams import Streams
from sim.records.calls import CallLog, Outcome


def _scenario(groups, routing=None, **over):
    data = {
        "name": "routing",
        "horizon": {"days": 1},
        "arrivals": {"rate_per_hour": 60},
        "call_types": {"x": {"share": 1, "handle_time": {"dist": "exponential", "mean": 240}}},
        "customer_tiers": {"std": {"share": 1, "patience": {"dist": "exponential", "mean": 120}}},
        "agents": {"groups": groups},
    }
    if routing:
        data["routing"] = routing
    data.update(over)
    return scenario_from_dict(data)


def test_router_refuses_to_start_unconnected():
    sc = _scenario({"a": {"skills": ["x"], "staffing": 2}})
    center = ContactCenter(ModelEnvironment(), sc, Streams(1), CallLog())
    with pytest.raises(RuntimeError, match="connect"):
        center.start()


def test_back_office_needs_the_order_intake_when_leads_create_orders(business_data):
    sc = scenario_from_dict(business_data)
    with pytest.raises(ValueError, match="create_order"):
        BackOffice(simpy.Environment(), sc, Streams(1), CallLog(), lambda *a: None, None)


def test_ordered_takes_the_first_group_with_a_free_agent_and_its_last_freed_agent():
    idle = [[], [4, 7], [9]]
    policy = Ordered(idle)
    assert policy.pick([0, 2, 1], 0.0) == (2, 9)
    assert policy.pick([0, 2, 1], 0.0) == (1, 7)
    assert policy.pick([0, 2], 0.0) is None
    assert idle == [[], [4], []]


def test_ordered_is_the_default_and_prefers_route_order():
    sc = _scenario(
        {"first": {"skills": ["x"], "staffing": 3}, "second": {"skills": ["x"], "staffing": 3}},
        routing={"x": ["first", "second"]},
    )
    c = simulate(sc, seed=3).records.calls
    answered = c.outcome == Outcome.ANSWERED
    assert np.mean(c.group[answered] == 0) > 0.6  # the first group takes most calls


# --- agent selection --------------------------------------------------------------------------

TWO_GROUPS = {"a": {"skills": ["x"], "staffing": 2}, "b": {"skills": ["x"], "staffing": 2}}


def _records(sc, seed=5):
    return simulate(sc, seed=seed).records.calls


def test_explicit_ordered_is_the_default_bit_for_bit():
    routing = {"x": ["a", "b"]}
    default = _records(_scenario(TWO_GROUPS, routing=routing))
    explicit = _records(_scenario(TWO_GROUPS, routing={**routing, "agent_selection": "ordered"}))
    for name, col in default.columns.items():
        np.testing.assert_array_equal(col, explicit.columns[name], err_msg=name)


def test_random_is_reproducible_by_seed_and_keeps_common_random_numbers():
    sc = _scenario(TWO_GROUPS, routing={"x": ["a", "b"], "agent_selection": "random"})
    one, again, other = _records(sc, 5), _records(sc, 5), _records(sc, 6)
    np.testing.assert_array_equal(one.agent, again.agent)
    np.testing.assert_array_equal(one.answer, again.answer)
    assert not np.array_equal(one.arrival, other.arrival)
    ordered = _records(_scenario(TWO_GROUPS, routing={"x": ["a", "b"]}), 5)
    # the draw of the agent comes from its own stream: the callers are the same
    np.testing.assert_array_equal(one.arrival, ordered.arrival)
    np.testing.assert_array_equal(one.handle, ordered.handle)
    assert not np.array_equal(one.group, ordered.group)


def test_random_spreads_calls_over_the_free_agents():
    sc = _scenario(
        {"a": {"skills": ["x"], "staffing": 1}, "b": {"skills": ["x"], "staffing": 3}},
        routing={"x": ["a", "b"], "agent_selection": "random"},
        arrivals={"rate_per_hour": 4},  # nearly always every agent free: 1 in 4 goes to a
    )
    c = _records(sc)
    share_a = np.mean(c.group[c.outcome == Outcome.ANSWERED] == 0)
    assert 0.15 < share_a < 0.35


def _replay_longest_idle(c, sizes, horizon):
    """An independent M/G/c replay: the free agent idle longest (ties: lower agent id, i.e.
    route order) answers an arriving call; a freed agent takes the longest-waiting call."""
    import heapq
    from collections import deque

    free_since = {a: 0.0 for a in range(sum(sizes))}
    idle, waiting, ends, answer = set(free_since), deque(), [], {}

    def start(cid, agent, t):
        answer[cid] = (t, agent)
        heapq.heappush(ends, (t + c.handle[cid], agent))

    def release_until(t):
        while ends and ends[0][0] <= t:
            at, agent = heapq.heappop(ends)
            if waiting:
                start(waiting.popleft(), agent, at)
            else:
                idle.add(agent)
                free_since[agent] = at

    for cid in np.argsort(c.queue_entry, kind="stable"):
        release_until(c.queue_entry[cid])
        if idle:
            agent = min(idle, key=lambda a: (free_since[a], a))
            idle.discard(agent)
            start(cid, agent, c.queue_entry[cid])
        else:
            waiting.append(cid)
    release_until(horizon)
    return answer


def test_longest_idle_matches_an_independent_implementation():
    sc = _scenario(
        {"a": {"skills": ["x"], "staffing": 2}, "b": {"skills": ["x"], "staffing": 3}},
        routing={"x": ["a", "b"], "agent_selection": "longest_idle"},
        arrivals={"rate_per_hour": 50},
        customer_tiers={"std": {"share": 1}},  # never abandons
    )
    c = _records(sc)
    expected = _replay_longest_idle(c, [2, 3], sc.horizon_s)
    answered = np.flatnonzero(c.outcome == Outcome.ANSWERED)
    assert len(answered) > 500
    for cid in answered:
        t, agent = expected[cid]
        assert c.answer[cid] == pytest.approx(t, abs=1e-6)
        assert c.agent[cid] == agent
    # and it differs from the ordered rule, which leaves group b's agents idle longer
    ordered = _records(_scenario(TWO_GROUPS, routing={"x": ["a", "b"]}))
    assert not np.array_equal(ordered.agent, c.agent[: len(ordered)])


def test_least_busy_balances_occupancy_between_groups():
    groups = {"a": {"skills": ["x"], "staffing": 3}, "b": {"skills": ["x"], "staffing": 3}}
    base = {"x": ["a", "b"]}
    arrivals = {"rate_per_hour": 40}
    ordered = simulate(_scenario(groups, routing=base, arrivals=arrivals), seed=2).kpis
    least = simulate(
        _scenario(groups, routing={**base, "agent_selection": "least_busy"}, arrivals=arrivals),
        seed=2,
    ).kpis
    gap = lambda k: abs(k["occupancy.group=a"] - k["occupancy.group=b"])  # noqa: E731
    assert gap(ordered) > 0.2
    assert gap(least) < 0.05


def test_least_busy_occupancy_today_by_hand():
    from sim.model.routing import LeastBusy

    # group 0: 2 agents from 0 on, 1 from 1000 on
    policy = LeastBusy([[0]], [[0.0, 1000.0]], [[2, 1]])
    policy.assigned(0, 100.0, 400.0)
    policy.assigned(0, 900.0, 1500.0)
    # at 1200, present: 2 x 1000 + 1 x 200; busy: 300 + 300
    assert policy.occupancy_today(0, 1200.0) == pytest.approx(600 / 2200)
    # the next day counts from midnight: the agent still busy from yesterday is not
    day = 86400.0
    policy.assigned(0, day - 100, day + 100)
    assert policy.occupancy_today(0, day + 200) == pytest.approx(100 / 200)


def test_call_type_overrides_the_agent_selection():
    data_routing = {"x": ["a", "b"], "agent_selection": "random"}
    sc = _scenario(
        TWO_GROUPS,
        routing=data_routing,
        call_types={
            "x": {
                "share": 1,
                "handle_time": {"dist": "exponential", "mean": 240},
                "agent_selection": "ordered",
            }
        },
    )
    ordered = _records(_scenario(TWO_GROUPS, routing={"x": ["a", "b"]}))
    np.testing.assert_array_equal(_records(sc).agent, ordered.agent)


# --- redials that remember, closing time, groups with nobody on duty --------------------------


def test_redraw_false_keeps_patience_and_handle_time():
    def run(redraw):
        sc = _scenario(
            {"a": {"skills": ["x"], "staffing": 4}},  # two agents: a loop (redials outgrow calls)
            redial={
                "after_abandon": {
                    "probability": 1,
                    "delay": {"dist": "fixed", "value": 600},
                    "redraw": redraw,
                }
            },
        )
        return _records(sc)

    for redraw in (False, True):
        c = run(redraw)
        again = np.flatnonzero(c.origin == 1)  # Origin.AFTER_ABANDON
        assert len(again) > 20
        prev = {(int(c.customer[i]), int(c.attempt[i])): i for i in range(len(c))}
        same = [
            c.patience[i] == c.patience[prev[(int(c.customer[i]), int(c.attempt[i]) - 1)]]
            and c.handle[i] == c.handle[prev[(int(c.customer[i]), int(c.attempt[i]) - 1)]]
            for i in again
        ]
        assert all(same) if not redraw else not any(same)


def _closing(at_close):
    return _scenario(
        {"a": {"skills": ["x"], "staffing": {"00:00": 1, "06:00": 0}}},
        routing={"at_close": at_close},
        arrivals={"rate_per_hour": 30},
        customer_tiers={"std": {"share": 1}},  # never abandons
    )


def test_at_close_disconnect_cuts_off_the_calls_waiting_at_closing_time():
    waited = simulate(_closing("wait"), seed=1)
    cut = simulate(_closing("disconnect"), seed=1)
    w, c = waited.records.calls, cut.records.calls
    gone = c.outcome == Outcome.DISCONNECTED
    assert gone.sum() > 5
    np.testing.assert_allclose(c.end[gone], 6 * 3600)
    assert np.all(w.outcome[gone] == Outcome.OPEN)  # the same calls, kept waiting
    assert not (w.outcome == Outcome.DISCONNECTED).any()
    later = c.queue_entry > 6 * 3600  # arriving while closed: they wait, as in the library
    assert np.all(c.outcome[later] == Outcome.OPEN)
    assert "disconnect_rate" not in waited.kpis
    assert cut.kpis["disconnect_rate"] == pytest.approx(gone.sum() / len(c))


def test_a_group_with_nobody_on_duty_is_skipped_at_once():
    groups = {"first": {"skills": ["x"], "staffing": 0}, "backup": {"skills": ["x"], "staffing": 3}}
    route = ["first", {"group": "backup", "after": "45s"}]
    light = {"rate_per_hour": 20}
    kept = _records(
        _scenario(groups, routing={"x": route, "skip_unstaffed": False}, arrivals=light)
    )
    skipped = _records(_scenario(groups, routing={"x": route}, arrivals=light))
    for c, low in ((kept, 45), (skipped, 0)):
        waits = c.wait()[c.outcome == Outcome.ANSWERED]
        assert np.all(waits >= low - 1e-9)
    assert np.mean(skipped.wait()[skipped.outcome == Outcome.ANSWERED] == 0) > 0.5


def test_a_waiting_call_moves_on_when_the_earlier_group_goes_off_duty():
    groups = {
        "first": {"skills": ["x"], "staffing": {"00:00": 1, "02:00": 0}},
        "backup": {"skills": ["x"], "staffing": 3},
    }
    route = ["first", {"group": "backup", "after": "1h"}]
    for skip in (True, False):
        sc = _scenario(
            groups,
            routing={"x": route, "skip_unstaffed": skip},
            call_types={"x": {"share": 1, "handle_time": {"dist": "fixed", "value": 600}}},
            customer_tiers={"std": {"share": 1}},
            arrivals={"rate_per_hour": 12},  # twice what the first group's agent can take
        )
        c = _records(sc)
        at_close = (c.queue_entry < 7200) & (c.answer == 7200) & (c.group == 1)
        # backup agents idle at 02:00 take the calls waiting for the closed group then
        assert (at_close.sum() >= 1) == skip


def test_listeners_by_call_type_follow_the_general_ones_for_their_type_only():
    sc = _scenario(
        {"a": {"skills": ["x", "y"], "staffing": 2}},
        call_types={
            "x": {"share": 0.5, "handle_time": {"dist": "fixed", "value": 10}},
            "y": {"share": 0.5, "handle_time": {"dist": "fixed", "value": 10}},
        },
    )
    env, calls = ModelEnvironment(), CallLog()
    center = ContactCenter(env, sc, Streams(1), calls)
    heard: list[tuple[str, int, float]] = []
    with pytest.raises(ValueError, match="one entry per call type"):
        center.connect(None, [], by_type=[None])
    center.connect(
        None,
        [lambda cid, at: heard.append(("all", cid, at))],
        by_type=[None, lambda cid, at: heard.append(("y", cid, at))],
    )
    center.start()
    for cid, ctype in enumerate([0, 1, 1]):
        calls.add(arrival=0.0, queue_entry=0.0, call_type=ctype, handle=10.0, patience=60.0)
        env.later(float(cid), center.offer, cid)
    env.run(100.0)
    assert heard == [
        ("all", 0, 10.0),
        ("all", 1, 11.0),
        ("y", 1, 11.0),
        ("all", 2, 20.0),
        ("y", 2, 20.0),
    ]  # 2 agents: call 2 waits for the first to finish at 10 s
    # a listener for unresolved calls hears only those, in its place among the others
    center = ContactCenter(ModelEnvironment(), sc, Streams(1), CallLog())
    env, calls, heard = center.env, center.calls, []
    center.connect(
        None,
        [Unresolved(lambda cid, at: heard.append(("unresolved", cid)))],
        by_type=[None, lambda cid, at: heard.append(("y", cid))],
    )
    center.start()
    for cid, (ctype, resolved) in enumerate([(0, 1), (1, 0), (1, 1), (0, 0)]):
        t = float(cid)
        calls.add(arrival=t, queue_entry=t, call_type=ctype, handle=10.0, resolved=resolved)
        env.later(float(cid), center.offer, cid)
    env.run(100.0)
    assert heard == [("unresolved", 1), ("y", 1), ("y", 2), ("unresolved", 3)]
    # with none at all the router takes its lean path: no listener, the same answers
    lean = ContactCenter(ModelEnvironment(), sc, Streams(1), CallLog())
    lean.connect(None, [], by_type=[None, None])
    lean.start()
    for cid, (ctype, resolved) in enumerate([(0, 1), (1, 0), (1, 1), (0, 0)]):
        t = float(cid)
        lean.calls.add(arrival=t, queue_entry=t, call_type=ctype, handle=10.0, resolved=resolved)
        lean.env.later(float(cid), lean.offer, cid)
    lean.env.run(100.0)
    for name in ("outcome", "answer", "end", "group", "agent"):
        a, b = lean.calls.freeze().columns[name], calls.freeze().columns[name]
        np.testing.assert_array_equal(a, b, err_msg=name)
