"""Call-backs (``routing.callback``): nothing lost, one state each, agents never over capacity,
calls first when placed when idle, the check against Cobham's priority queue, the keys."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import scenario_from_dict, simulate
from sim.experiments.replication import mean_ci
from sim.planning.erlang import priority_waits
from sim.records.callbacks import CallbackState
from sim.records.calls import Outcome
from sim.scenario.errors import ScenarioError


def _scenario(
    callback: dict | None, *, agents=3, rate=40.0, patience=None, days=1, groups=1, aht=240.0
):
    skills = {f"g{i}": {"skills": ["general"], "staffing": agents} for i in range(groups)}
    data = {
        "name": "callbacks",
        "horizon": {"days": days, "warmup": 0},
        "arrivals": {"rate_per_hour": rate},
        "call_types": {
            "general": {"share": 1, "handle_time": {"dist": "exponential", "mean": aht}}
        },
        "customer_tiers": {
            "standard": {
                "share": 1,
                "patience": {"dist": "never"}
                if patience is None
                else {"dist": "exponential", "mean": patience},
            }
        },
        "agents": {"groups": skills},
        "seed": 11,
    }
    if callback is not None:
        data["routing"] = {"callback": callback}
    return scenario_from_dict(data, source="<test>")


CALLBACKS = st.fixed_dictionaries(
    {
        "offer": st.sampled_from(["always", {"after": 30}, {"after": "2min"}]),
        "accept": st.sampled_from([0.0, 0.3, 1.0]),
        "reach": st.sampled_from([1.0, 0.6, 0.0]),
        "retries": st.integers(0, 3),
        "retry_after": st.sampled_from([60, "10min"]),
        "placed": st.sampled_from(["when_idle", "in_turn"]),
    }
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    callback=CALLBACKS,
    agents=st.integers(1, 4),
    patience=st.sampled_from([None, 90.0]),
    groups=st.integers(1, 2),
    seed=st.integers(0, 2**16),
)
def test_every_call_and_call_back_ends_in_one_recorded_state(
    callback, agents, patience, groups, seed
):
    sc = _scenario(callback, agents=agents, rate=50.0, patience=patience, groups=groups)
    run = simulate(sc, seed=seed)
    calls, log = run.records.calls, run.extra["callbacks"]
    ended = {int(o) for o in Outcome} - {int(Outcome.ARRIVING), int(Outcome.WAITING)}
    assert set(np.unique(calls.outcome).tolist()) <= ended - {int(Outcome.CALLBACK)}
    # one call-back per caller who took one; its state and its call's outcome agree
    assert len(np.unique(log.call)) == len(log.call)
    took = np.isin(calls.outcome, [Outcome.CALLED_BACK, Outcome.CALLBACK_FAILED])
    states = {
        CallbackState.REACHED: Outcome.CALLED_BACK,
        CallbackState.FAILED: Outcome.CALLBACK_FAILED,
        CallbackState.OPEN: Outcome.OPEN,
    }
    for state, outcome in states.items():
        assert (calls.outcome[log.call[log.state == state]] == outcome).all()
    assert took.sum() == (log.state != CallbackState.OPEN).sum()
    assert (log.attempts <= callback["retries"] + 1).all()
    failed = log.state == CallbackState.FAILED
    assert (log.attempts[failed] == callback["retries"] + 1).all()
    reached = log.state == CallbackState.REACHED
    assert (log.reached[reached] >= log.request[reached]).all()
    if callback["accept"] == 0.0:
        assert len(log.call) == 0
    # an agent holds one voice call or call-back at a time
    talked = np.isin(calls.outcome, [Outcome.ANSWERED, Outcome.CALLED_BACK])
    for agent in np.unique(calls.agent[talked]):
        mine = talked & (calls.agent == agent)
        order = np.argsort(calls.answer[mine], kind="stable")
        starts, ends = calls.answer[mine][order], calls.release[mine][order]
        assert (starts[1:] >= ends[:-1] - 1e-9).all()
    # when idle: a call-back is placed only while no caller waits (one group: its queue)
    if callback["placed"] == "when_idle" and groups == 1:
        stop = np.where(calls.outcome == Outcome.ANSWERED, calls.answer, calls.end)
        stop = np.where(calls.outcome == Outcome.OPEN, np.inf, stop)
        queued = (calls.outcome == Outcome.ANSWERED) | (calls.outcome == Outcome.ABANDONED)
        for t in log.reached[reached]:
            assert not (queued & (calls.queue_entry < t) & (stop > t)).any()
    # in turn (tried once): nobody who reached the queue before the request waits past it
    if callback["placed"] == "in_turn" and groups == 1 and callback["retries"] == 0:
        answered = calls.outcome == Outcome.ANSWERED
        for asked, t in zip(log.request[reached], log.reached[reached], strict=True):
            assert not (answered & (calls.queue_entry < asked) & (calls.answer > t)).any()


def test_when_idle_is_cobhams_priority_queue():
    """Offered always, reach 1, nobody abandoning: the queue is the first class of a
    non-preemptive priority M/M/c and the call-backs the second (Cobham 1954)."""
    aht, agents, rho, accept = 120.0, 4, 0.75, 0.5
    rate = rho * agents / aht * 3600
    callback = {"offer": "always", "accept": accept, "reach": 1, "placed": "when_idle"}
    sc = _scenario(callback, agents=agents, rate=rate, days=12, aht=aht)
    lam = rate / 3600
    exact = priority_waits([lam * (1 - accept), lam * accept], aht, agents)
    got = [simulate(sc, seed=5, replication=r, keep_records=False).kpis for r in range(6)]
    for k, name in enumerate(("asa", "callback_wait")):
        _, (lo, hi), _ = mean_ci([g[name] for g in got], level=0.99)
        assert lo <= exact[k] <= hi, (name, exact[k], lo, hi)
    assert exact[0] < exact[1]


def test_in_turn_call_backs_wait_like_the_queue():
    """Virtual hold: a call-back keeps its place, so both classes wait about alike (FCFS)."""
    sc = _scenario(
        {"offer": "always", "accept": 0.5, "reach": 1, "placed": "in_turn"},
        agents=4,
        rate=45.0,
        days=8,
    )
    k = simulate(sc, seed=3, keep_records=False).kpis
    assert k["callback_wait"] == pytest.approx(k["asa"], rel=0.35)
    when_idle = {"offer": "always", "accept": 0.5, "reach": 1, "placed": "when_idle"}
    idle = simulate(_scenario(when_idle, agents=4, rate=45.0, days=8), seed=3).kpis
    assert idle["callback_wait"] > 1.5 * idle["asa"]


def test_kpis_only_with_call_backs_and_answer_rate_counts_reached_ones():
    plain = simulate(_scenario(None), keep_records=False).kpis
    assert "callback_rate" not in plain
    k = simulate(
        _scenario({"offer": "always", "accept": 0.4, "reach": 0.5, "retries": 0}),
        keep_records=False,
    ).kpis
    assert 0.3 < k["callback_rate"] < 0.5
    assert 0.35 < k["callback_failed"] < 0.65
    assert k["answer_rate"] < 0.9  # failed call-backs are not answered


def test_accepting_draws_from_its_own_stream():
    """The callers' own draws do not shift: with accept 0, every call is as without the key."""
    base = simulate(_scenario(None)).records.calls
    none_accept = simulate(_scenario({"offer": "always", "accept": 0.0})).records.calls
    for name in ("arrival", "answer", "end", "agent"):
        np.testing.assert_array_equal(getattr(base, name), getattr(none_accept, name))


@pytest.mark.parametrize(
    ("callback", "field"),
    [
        ({"offer": "sometimes", "accept": 0.3}, "offer"),
        ({"offer": "always"}, "accept"),
        ({"offer": "always", "accept": 1.5}, "accept"),
        ({"offer": "always", "accept": 0.3, "placed": "at_once"}, "placed"),
        ({"offer": {"after": 0}, "accept": 0.3}, "after"),
        ({"offer": "always", "accept": 0.3, "retries": -1}, "retries"),
    ],
)
def test_bad_keys_are_named(callback, field):
    with pytest.raises(ScenarioError, match=field):
        _scenario(callback)


def test_records_or_not_the_same_figures_and_an_export_without_call_backs(tmp_path):
    from sim.records.call_log import call_log_table

    sc = _scenario({"offer": {"after": 20}, "accept": 0.5, "reach": 0.7, "retries": 1}, days=2)
    kept = simulate(sc, seed=9)
    assert kept.kpis == simulate(sc, seed=9, keep_records=False).kpis
    table = call_log_table(kept.records)
    calls = kept.records.calls
    ended = (calls.outcome != Outcome.OPEN) & (calls.outcome < Outcome.CALLBACK)
    assert table.num_rows == int(ended.sum()) > 0


def test_a_reached_call_back_creates_its_business():
    """The handled-call listeners hear a reached call-back (here: calls made again)."""
    data = {
        "name": "callbacks-redial",
        "horizon": {"days": 1, "warmup": 0},
        "arrivals": {"rate_per_hour": 30},
        "call_types": {
            "general": {
                "share": 1,
                "handle_time": {"dist": "exponential", "mean": 240},
                "first_contact_resolution": 0.0,
            }
        },
        "customer_tiers": {"standard": {"share": 1, "patience": {"dist": "never"}}},
        "agents": {"groups": {"g0": {"skills": ["general"], "staffing": 3}}},
        "routing": {"callback": {"offer": "always", "accept": 1.0}},
        "redial": {
            "after_unresolved": {"probability": 1.0, "delay": {"dist": "fixed", "value": 600}}
        },
        "seed": 3,
    }
    calls = simulate(scenario_from_dict(data, source="<test>")).records.calls
    assert (calls.outcome[calls.attempt == 0] != Outcome.ANSWERED).all()  # all took one
    assert (calls.attempt > 0).any()  # and called again after the unresolved call-back


def _priority_ctmc_waits(lam1: float, lam2: float, mu: float, c: int, top: int = 70):
    """Mean waits of a two-class non-preemptive priority M/M/c from its Markov chain (states:
    busy agents below c, or all busy with n1, n2 waiting, truncated at ``top`` each), solved
    numerically: a reference independent of Cobham's formula."""
    from scipy.sparse import lil_matrix
    from scipy.sparse.linalg import spsolve

    index = {("b", b): b for b in range(c)}
    for n1 in range(top + 1):
        for n2 in range(top + 1):
            index[(n1, n2)] = len(index)
    q = lil_matrix((len(index), len(index)))

    def add(a, b, rate):
        q[index[a], index[b]] += rate
        q[index[a], index[a]] -= rate

    for b in range(c):
        add(("b", b), ("b", b + 1) if b + 1 < c else (0, 0), lam1 + lam2)
        if b:
            add(("b", b), ("b", b - 1), b * mu)
    for n1 in range(top + 1):
        for n2 in range(top + 1):
            if n1 < top:
                add((n1, n2), (n1 + 1, n2), lam1)
            if n2 < top:
                add((n1, n2), (n1, n2 + 1), lam2)
            after = (n1 - 1, n2) if n1 else (0, n2 - 1) if n2 else ("b", c - 1)
            add((n1, n2), after, c * mu)
    a = q.T.tocsr().tolil()
    a[0, :] = 1.0  # replace one balance equation by the normalisation
    rhs = np.zeros(len(index))
    rhs[0] = 1.0
    p = spsolve(a.tocsr(), rhs)
    l1 = sum(p[i] * k[0] for k, i in index.items() if k[0] != "b")
    l2 = sum(p[i] * k[1] for k, i in index.items() if k[0] != "b")
    return l1 / lam1, l2 / lam2


@pytest.mark.parametrize(
    ("lam1", "lam2", "s", "c"), [(0.3 / 60, 0.2 / 60, 60.0, 1), (0.02, 0.01, 100.0, 4)]
)
def test_cobhams_formula_matches_the_markov_chain(lam1, lam2, s, c):
    """The formula the check uses (``priority_waits``) against the chain solved numerically."""
    exact = priority_waits([lam1, lam2], s, c)
    assert _priority_ctmc_waits(lam1, lam2, 1 / s, c) == pytest.approx(exact, rel=1e-6)
