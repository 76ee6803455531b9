"""Closed forms of sim.planning.erlang against independent calculations: factorial sums, Poisson
tails,
a generator solved by linear algebra, matrix exponentials, and a customer-level Monte Carlo."""

from __future__ import annotations

import dataclasses
import functools
import heapq
import math

import numpy as np
import pytest
from scipy.linalg import expm
from scipy.stats import poisson

from sim.planning.erlang import (
    QueueMetrics,
    agents_required,
    erlang_a_metrics,
    erlang_b,
    erlang_c,
    erlang_c_metrics,
    offered_load,
    priority_waits,
)

# --------------------------------------------------------------------------- references


def erlang_b_by_factorials(c: int, a: float) -> float:
    return (a**c / math.factorial(c)) / sum(a**k / math.factorial(k) for k in range(c + 1))


def erlang_c_by_factorials(c: int, a: float) -> float:
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


@functools.cache
def erlang_a_by_linear_algebra(lam, s, c, patience, within, n_max=120):
    """Generator of the truncated M/M/c+M chain solved for pi, and the tagged customer's
    absorbing chain (j calls ahead; exits 'answered' and 'abandoned') by matrix algebra."""
    mu, th = 1.0 / s, 1.0 / patience
    gen = np.zeros((n_max + 1, n_max + 1))
    for n in range(n_max + 1):
        if n < n_max:
            gen[n, n + 1] = lam
        if n > 0:
            gen[n, n - 1] = min(n, c) * mu + max(n - c, 0) * th
        gen[n, n] = -gen[n].sum()
    lhs = gen.T.copy()
    lhs[-1] = 1.0
    rhs = np.zeros(n_max + 1)
    rhs[-1] = 1.0
    pi = np.linalg.solve(lhs, rhs)
    # tagged customer: transient states j = 0..K calls ahead; absorbing 'answered'
    k_max = n_max - c
    trans = np.zeros((k_max + 1, k_max + 1))
    to_answer = np.zeros(k_max + 1)
    for j in range(k_max + 1):
        advance = c * mu + j * th
        if j == 0:
            to_answer[j] = advance
        else:
            trans[j, j - 1] = advance
        trans[j, j] = -(advance + th)  # th: its own abandonment
    fundamental = np.linalg.inv(-trans)
    p_answer = fundamental @ to_answer
    time_if_answered = fundamental @ fundamental @ to_answer  # E[T; answered]
    time_in_queue = fundamental @ np.ones(k_max + 1)  # E[min(wait, patience)]
    full = np.zeros((k_max + 3, k_max + 3))  # + answered, abandoned, to take expm
    full[: k_max + 1, : k_max + 1] = trans
    full[: k_max + 1, k_max + 1] = to_answer
    full[: k_max + 1, k_max + 2] = th
    quick = expm(full * within)[: k_max + 1, k_max + 1]  # P(answered by `within` | j)
    waiting = pi[c:]  # PASTA: arrival finds k = n - c ahead
    no_wait = pi[:c].sum()
    queue = np.arange(k_max + 1) @ waiting
    answered = no_wait + p_answer @ waiting
    return {
        "pi": pi,
        "service_level": no_wait + quick @ waiting,
        "abandon_rate": 1.0 - answered,
        "asa": time_if_answered @ waiting / answered,
        "mean_wait": time_in_queue @ waiting,
        "occupancy": np.minimum(np.arange(n_max + 1), c) @ pi / c,
        "prob_wait": waiting.sum(),
        "mean_queue_length": queue,
    }


def simulate_erlang_a(lam, s, c, patience, within, n, seed):
    """FCFS M/M/c+M, customer by customer: a call takes the earliest free agent if it would
    wait no longer than its patience; abandoned calls never hold an agent, so this is exact."""
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1.0 / lam, n)).tolist()
    services = rng.exponential(s, n).tolist()
    patiences = rng.exponential(patience, n).tolist()
    free = [0.0] * c
    quick = np.zeros(n, bool)
    answered = np.zeros(n, bool)
    wait = np.zeros(n)
    for i in range(n):
        arrive, first_free = arrivals[i], free[0]
        w = first_free - arrive if first_free > arrive else 0.0
        if w <= patiences[i]:
            heapq.heapreplace(free, arrive + w + services[i])
            answered[i], wait[i], quick[i] = True, w, w <= within
        else:
            wait[i] = patiences[i]
    warm = n // 100
    return quick[warm:], answered[warm:], wait[warm:]


# --------------------------------------------------------------------------- Erlang B and C


def test_erlang_b_textbook_values():
    assert erlang_b_by_factorials(10, 5.0) == pytest.approx(0.018385, abs=5e-7)
    assert erlang_b(10, 5.0) == pytest.approx(0.018385, abs=5e-7)
    for c, a in [(1, 0.5), (3, 2.0), (7, 6.3), (20, 25.0), (30, 12.5)]:
        assert erlang_b(c, a) == pytest.approx(erlang_b_by_factorials(c, a), rel=1e-12)
    assert erlang_b(1, 3.0) == pytest.approx(3.0 / 4.0)
    assert erlang_b(5, 0.0) == 0.0


def test_erlang_c_textbook_values():
    assert erlang_c_by_factorials(14, 10.0) == pytest.approx(0.17413, abs=5e-6)
    assert erlang_c(14, 10.0) == pytest.approx(0.17413, abs=5e-6)
    for c, a in [(1, 0.5), (2, 1.5), (5, 4.2), (11, 8.3), (40, 35.0)]:
        assert erlang_c(c, a) == pytest.approx(erlang_c_by_factorials(c, a), rel=1e-12)
        assert erlang_c(c, a) > erlang_b(c, a)
    assert erlang_c(1, 0.5) == pytest.approx(0.5)  # M/M/1: P(wait) = rho
    assert erlang_c(10, 10.0) == 1.0
    assert erlang_c(10, 12.0) == 1.0


def test_erlang_b_c_large_systems_against_poisson_tails():
    """B(c, a) = P(N = c) / P(N <= c) and C from P(N = c), P(N < c), N ~ Poisson(a)."""
    for c, a in [(2000, 2000.0), (2000, 1900.0), (1500, 1700.0), (2000, 50.0)]:
        b = poisson.pmf(c, a) / poisson.cdf(c, a)
        assert erlang_b(c, a) == pytest.approx(b, rel=1e-9)
    for c, a in [(2000, 1990.0), (1000, 950.0)]:
        top = poisson.pmf(c, a) * c / (c - a)
        assert erlang_c(c, a) == pytest.approx(top / (poisson.cdf(c - 1, a) + top), rel=1e-9)


def test_offered_load():
    assert offered_load(200 / 3600, 180) == pytest.approx(10.0)
    assert offered_load(rate=0.0, mean_handle=30.0) == 0.0


def test_erlang_c_metrics_formulas():
    lam, s, c, t = 200 / 3600, 180.0, 14, 20.0
    mu, a = 1 / s, lam * s
    pw = erlang_c_by_factorials(c, a)
    m = erlang_c_metrics(rate=lam, mean_handle=s, servers=c, within=t)
    assert m.prob_wait == pytest.approx(pw, rel=1e-12)
    assert m.service_level == pytest.approx(1 - pw * math.exp(-(c * mu - lam) * t), rel=1e-12)
    assert m.service_level == pytest.approx(0.88835, abs=5e-5)
    assert m.asa == pytest.approx(pw / (c * mu - lam), rel=1e-12)
    assert m.asa == pytest.approx(7.836, abs=5e-4)
    assert m.mean_wait == m.asa
    assert m.mean_queue_length == pytest.approx(lam * m.asa, rel=1e-12)
    assert m.occupancy == pytest.approx(a / c)
    assert m.abandon_rate == 0.0
    # t = 0: answered at once iff an agent is free; t = inf: everyone is answered eventually
    assert erlang_c_metrics(lam, s, c, 0.0).service_level == pytest.approx(1 - pw)
    assert erlang_c_metrics(lam, s, c, math.inf).service_level == pytest.approx(1.0)


def test_erlang_c_metrics_unstable_and_idle():
    m = erlang_c_metrics(rate=15 / 180, mean_handle=180, servers=12, within=20)
    assert (m.service_level, m.abandon_rate, m.occupancy, m.prob_wait) == (0.0, 0.0, 1.0, 1.0)
    assert math.isinf(m.asa) and math.isinf(m.mean_wait) and math.isinf(m.mean_queue_length)
    idle = erlang_c_metrics(0.0, 180, 3, 20)
    assert idle.service_level == 1.0 and idle.asa == 0.0 and idle.occupancy == 0.0


def test_queue_metrics_to_dict():
    m = erlang_c_metrics(0.01, 100, 2, 20)
    d = m.to_dict()
    assert list(d) == [
        "service_level",
        "abandon_rate",
        "asa",
        "mean_wait",
        "occupancy",
        "prob_wait",
        "mean_queue_length",
    ]
    assert QueueMetrics(**d) == m
    with pytest.raises(AttributeError):
        m.asa = 0.0  # frozen


# --------------------------------------------------------------------------- Erlang A


ERLANG_A_CASES = [  # (rate /s, mean handle s, agents, mean patience s, within s)
    (0.03, 100.0, 3, 100.0, 30.0),
    (300 / 3600, 180.0, 12, 60.0, 20.0),  # overloaded: 15 Erlang on 12 agents
    (0.05, 60.0, 2, 400.0, 10.0),  # theta << mu
    (0.02, 100.0, 1, 25.0, 15.0),  # theta > mu
]


@pytest.mark.parametrize(("lam", "s", "c", "patience", "t"), ERLANG_A_CASES)
def test_erlang_a_against_linear_algebra(lam, s, c, patience, t):
    ref = erlang_a_by_linear_algebra(lam, s, c, patience, t)
    m = erlang_a_metrics(rate=lam, mean_handle=s, servers=c, mean_patience=patience, within=t)
    for name in (f.name for f in dataclasses.fields(QueueMetrics)):
        assert getattr(m, name) == pytest.approx(ref[name], rel=1e-8, abs=1e-12), name


@pytest.mark.parametrize(("lam", "s", "c", "patience", "t"), ERLANG_A_CASES)
def test_erlang_a_identities(lam, s, c, patience, t):
    """lambda P(abandon) = theta E[Q]; Little: mean wait = E[Q] / lambda; answered throughput
    lambda (1 - P(ab)) = busy agents x mu; and the split mean_wait = P(ans) asa + E[W; ab]."""
    m = erlang_a_metrics(lam, s, c, patience, t)
    ref = erlang_a_by_linear_algebra(lam, s, c, patience, t)
    assert lam * ref["abandon_rate"] == pytest.approx(m.mean_queue_length / patience, rel=1e-9)
    assert m.mean_wait == pytest.approx(m.mean_queue_length / lam, rel=1e-9)
    assert lam * (1 - m.abandon_rate) == pytest.approx(m.occupancy * c / s, rel=1e-9)
    assert m.asa * (1 - m.abandon_rate) < m.mean_wait
    assert 0 < m.service_level < 1 - m.abandon_rate
    assert erlang_a_metrics(lam, s, c, patience, 0.0).service_level == pytest.approx(
        1 - m.prob_wait
    )
    assert erlang_a_metrics(lam, s, c, patience, math.inf).service_level == pytest.approx(
        1 - m.abandon_rate, rel=1e-9
    )


def test_erlang_a_theta_equal_mu_is_poisson():
    """With theta = mu every call in system leaves at rate mu: the M/M/inf chain, Poisson(a)."""
    lam, s, c = 4 / 100, 100.0, 5
    a = lam * s
    m = erlang_a_metrics(lam, s, c, mean_patience=s, within=20)
    n = np.arange(200)
    pmf = poisson.pmf(n, a)
    queue = np.maximum(n - c, 0) @ pmf
    assert m.prob_wait == pytest.approx(poisson.sf(c - 1, a), rel=1e-10)
    assert m.mean_queue_length == pytest.approx(queue, rel=1e-10)
    assert m.abandon_rate == pytest.approx(queue / a, rel=1e-10)
    assert m.occupancy == pytest.approx(np.minimum(n, c) @ pmf / c, rel=1e-10)
    ref = erlang_a_by_linear_algebra(lam, s, c, s, 20)
    assert ref["pi"][:30] == pytest.approx(pmf[:30], rel=1e-8)


def test_erlang_a_converges_to_erlang_c():
    lam, s, c, t = 200 / 3600, 180.0, 14, 20.0
    exact = erlang_c_metrics(lam, s, c, t)
    for patience, tol in [(1e6, 1e-3), (1e9, 1e-6)]:
        m = erlang_a_metrics(lam, s, c, patience, t)
        for name in (
            "service_level",
            "asa",
            "mean_wait",
            "occupancy",
            "prob_wait",
            "mean_queue_length",
        ):
            assert getattr(m, name) == pytest.approx(getattr(exact, name), rel=tol), name
        assert m.abandon_rate < 10 * s / patience
    assert erlang_a_metrics(lam, s, c, math.inf, t) == exact


def test_erlang_a_monte_carlo():
    """Customer-level simulation, 400k calls, fixed seed: within ~4 batch-means standard errors
    (SE about 0.0015 on the shares, 0.1 s on the waits)."""
    lam, s, c, patience, t = 0.03, 100.0, 3, 100.0, 30.0
    quick, answered, wait = simulate_erlang_a(lam, s, c, patience, t, 400_000, seed=2024)
    m = erlang_a_metrics(lam, s, c, patience, t)
    assert quick.mean() == pytest.approx(m.service_level, abs=0.006)
    assert 1 - answered.mean() == pytest.approx(m.abandon_rate, abs=0.005)
    assert wait[answered].mean() == pytest.approx(m.asa, abs=0.4)
    assert wait.mean() == pytest.approx(m.mean_wait, abs=0.4)
    assert (wait > 0).mean() == pytest.approx(m.prob_wait, abs=0.006)


@pytest.mark.parametrize(
    ("c", "a", "patience"),
    [(1000, 990.0, 60.0), (2000, 2000.0, 600.0), (1500, 1800.0, 60.0), (2000, 100.0, 30.0)],
)
def test_erlang_a_stable_for_large_systems(c, a, patience):
    s = 180.0
    m = erlang_a_metrics(a / s, s, c, patience, 20.0)
    for name in ("service_level", "abandon_rate", "occupancy", "prob_wait"):
        value = getattr(m, name)
        assert math.isfinite(value) and 0.0 <= value <= 1.0, (name, value)
    assert math.isfinite(m.asa) and 0 <= m.asa <= m.mean_wait / (1 - m.abandon_rate)
    assert m.mean_wait == pytest.approx(m.mean_queue_length / (a / s), rel=1e-9)
    assert a / s * (1 - m.abandon_rate) == pytest.approx(m.occupancy * c / s, rel=1e-9)


# --------------------------------------------------------------------------- priority


def test_priority_mm1_two_classes_cobham_by_hand():
    s, rho = 60.0, 0.8
    lam1, lam2 = 0.3 * rho / s, 0.7 * rho / s
    residual = (lam1 + lam2) * 2 * s**2 / 2  # lambda E[S^2] / 2 = 48 s
    w1 = residual / (1 - lam1 * s)
    w2 = residual / ((1 - lam1 * s) * (1 - rho))
    assert (w1, w2) == pytest.approx((48 / 0.76, 48 / (0.76 * 0.2)))
    assert priority_waits([lam1, lam2], s, 1) == pytest.approx([w1, w2], rel=1e-12)
    assert priority_waits([lam1, lam2], s, 1) == pytest.approx([63.1579, 315.7895], abs=1e-4)


@pytest.mark.parametrize(
    ("rates", "s", "c"),
    [
        ([0.01, 0.02, 0.03], 60.0, 4),
        ([0.2, 0.5], 100.0, 80),
        ([0.001, 0.003, 0.002, 0.004], 300.0, 4),
    ],
)
def test_priority_conservation_law(rates, s, c):
    """Work conservation: the rate-weighted mean of class waits is the FCFS M/M/c wait."""
    waits = priority_waits(rates, s, c)
    fcfs = erlang_c_metrics(sum(rates), s, c, 20.0).asa
    assert np.dot(rates, waits) / sum(rates) == pytest.approx(fcfs, rel=1e-12)
    assert waits == sorted(waits)  # higher priority never waits longer
    assert priority_waits([sum(rates)], s, c) == pytest.approx([fcfs], rel=1e-12)


def test_priority_unstable_raises():
    with pytest.raises(ValueError, match="unstable"):
        priority_waits([0.5 / 60, 0.5 / 60], 60.0, 1)
    with pytest.raises(ValueError):
        priority_waits([], 60.0, 1)


# --------------------------------------------------------------------------- staffing


def _met(rate, s, t, sl, patience, ab, occ, c):
    if math.isinf(patience):
        m = erlang_c_metrics(rate, s, c, t)
        if rate * s >= c:
            return False
    else:
        m = erlang_a_metrics(rate, s, c, patience, t)
    return (
        (sl is None or m.service_level >= sl)
        and (ab is None or m.abandon_rate <= ab)
        and (occ is None or m.occupancy <= occ)
    )


@pytest.mark.parametrize(
    ("rate", "s", "t", "sl", "patience", "ab", "occ"),
    [
        (200 / 3600, 180.0, 20.0, 0.8, math.inf, None, None),
        (200 / 3600, 180.0, 20.0, 0.8, 120.0, 0.03, None),
        (0.5, 240.0, 30.0, 0.9, math.inf, None, None),  # 120 Erlang
        (0.5, 240.0, 30.0, 0.5, math.inf, None, 0.85),  # occupancy binds
        (2000 / 180, 180.0, 20.0, 0.95, 300.0, 0.01, 0.97),  # 2000 Erlang
        (30 / 3600, 300.0, 60.0, 0.8, 180.0, None, None),  # under 3 Erlang
        (300 / 3600, 180.0, 20.0, None, 60.0, 0.05, None),  # abandonment only
        (300 / 3600, 180.0, 20.0, 0.0, 60.0, None, None),  # a zero target: one agent does
    ],
)
def test_agents_required_is_smallest(rate, s, t, sl, patience, ab, occ):
    c = agents_required(
        rate, s, t, sl, mean_patience=patience, abandon_target=ab, max_occupancy=occ
    )
    assert _met(rate, s, t, sl, patience, ab, occ, c)
    assert c == 1 or not _met(rate, s, t, sl, patience, ab, occ, c - 1)


def test_agents_required_known_values():
    assert agents_required(200 / 3600, 180, 20, 0.8) == 14  # SL(13) = 0.79..., SL(14) = 0.888
    assert erlang_c_metrics(200 / 3600, 180, 13, 20).service_level < 0.8
    assert agents_required(0.0, 180, 20, 0.8) == 0
    assert agents_required(200 / 3600, 180, 20, None) == 11  # Erlang C: just stable
    with pytest.raises(ValueError, match="max_agents"):
        agents_required(200 / 3600, 180, 20, 0.8, max_agents=12)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "call",
    [
        lambda: erlang_b(0, 1.0),
        lambda: erlang_b(2.5, 1.0),
        lambda: erlang_b(True, 1.0),
        lambda: erlang_b(3, -1.0),
        lambda: erlang_c(3, math.nan),
        lambda: erlang_c(3, math.inf),
        lambda: offered_load(-1.0, 10.0),
        lambda: erlang_c_metrics(0.1, 0.0, 3, 20),
        lambda: erlang_c_metrics(0.1, 10.0, 3, -1),
        lambda: erlang_a_metrics(0.1, 10.0, 3, 0.0, 20),
        lambda: erlang_a_metrics(-0.1, 10.0, 3, 60.0, 20),
        lambda: priority_waits([0.01, -0.01], 10.0, 1),
        lambda: agents_required(0.1, 10.0, 20, 1.5),
        lambda: agents_required(0.1, 10.0, 20, 0.8, abandon_target=-0.1),
        lambda: agents_required(0.1, 10.0, 20, 0.8, max_occupancy=0.0),
        lambda: agents_required(0.1, 10.0, 20, 0.8, max_agents=0),
    ],
)
def test_bad_arguments_raise_value_error(call):
    with pytest.raises(ValueError):
        call()
