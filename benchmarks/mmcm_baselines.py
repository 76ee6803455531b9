"""Reference M/M/c+M (Erlang A) simulators that the benchmark times `sim.simulate` against.

Two independent implementations of one queue, each as a plain outsider would write it:

- :func:`run_plain_simpy`: idiomatic SimPy, one process per caller and a ``simpy.Resource``;
- :func:`run_ciw`: the Ciw queueing library.

Both take the same arguments and return the same KPI dict, so the benchmark can compare
speed only among runs that agree on the answer. :func:`erlang_a` gives the exact figures.

KPI definitions (those of ``sim.kpi.calls``): arrivals in ``[warmup_s, horizon_s)`` count; the
source stops at ``horizon_s`` and the queue is drained, so every counted call ends answered or
abandoned. ``service_level`` = answered with wait <= ``within`` / counted arrivals (abandoned
calls stay in the denominator); ``abandon_rate`` = abandoned / counted; ``asa`` = mean wait of
answered calls, s. ``elapsed_s`` is the CPU time of the simulation run only (building the
model and reading KPIs off the records are excluded).
"""

from __future__ import annotations

import math
import time

import numpy as np

SL_WITHIN_S = 20.0
DRAIN_S = 3600.0  # time after the horizon for calls still queued or in service to finish


def _kpis(
    arrivals: int, quick: int, answered: int, abandoned: int, wait_answered: float, elapsed: float
) -> dict:
    """The shared result dict (counts over arrivals after the warm-up)."""
    return {
        "arrivals": arrivals,
        "service_level": quick / arrivals if arrivals else math.nan,
        "abandon_rate": abandoned / arrivals if arrivals else math.nan,
        "asa": wait_answered / answered if answered else math.nan,
        "unresolved": arrivals - answered - abandoned,
        "elapsed_s": elapsed,
    }


# --------------------------------------------------------------------------- plain SimPy


def run_plain_simpy(
    rate_per_s: float,
    mean_handle_s: float,
    servers: int,
    mean_patience_s: float,
    horizon_s: float,
    warmup_s: float,
    seed: int,
) -> dict:
    """M/M/c+M the textbook SimPy way: a Resource, one process per caller, ``req | timeout``.

    Random draws are taken one at a time from ``numpy.random.default_rng(seed)`` as each caller
    arrives: that is what a plain implementation does (batching draws would be faster, and
    would no longer be the baseline we want to compare against).
    """
    import simpy

    env = simpy.Environment()
    agents = simpy.Resource(env, capacity=servers)
    rng = np.random.default_rng(seed)
    stats = {"arrivals": 0, "quick": 0, "answered": 0, "abandoned": 0, "wait": 0.0}

    def caller(counted: bool, patience: float, handle: float):
        arrived = env.now
        req = agents.request()
        result = yield req | env.timeout(patience)
        if req not in result:
            req.cancel()  # gave up waiting
            if counted:
                stats["abandoned"] += 1
            return
        wait = env.now - arrived
        if counted:
            stats["answered"] += 1
            stats["wait"] += wait
            stats["quick"] += wait <= SL_WITHIN_S
        yield env.timeout(handle)
        agents.release(req)

    def source():
        mean_gap = 1.0 / rate_per_s
        while True:
            yield env.timeout(rng.exponential(mean_gap))
            if env.now >= horizon_s:
                return  # no new callers; the ones in the system finish below
            counted = env.now >= warmup_s
            stats["arrivals"] += counted
            env.process(
                caller(counted, rng.exponential(mean_patience_s), rng.exponential(mean_handle_s))
            )

    env.process(source())
    started = time.process_time()
    env.run()  # until the event queue is empty: the source stopped and everyone left
    elapsed = time.process_time() - started
    return _kpis(
        stats["arrivals"],
        stats["quick"],
        stats["answered"],
        stats["abandoned"],
        stats["wait"],
        elapsed,
    )


# --------------------------------------------------------------------------- Ciw


def run_ciw(
    rate_per_s: float,
    mean_handle_s: float,
    servers: int,
    mean_patience_s: float,
    horizon_s: float,
    warmup_s: float,
    seed: int,
) -> dict:
    """M/M/c+M in Ciw 3 (``reneging_time_distributions``: renegers leave a 'renege' record).

    Ciw cannot stop its arrivals at a time, so it runs ``DRAIN_S`` past the horizon and only
    arrivals before the horizon are counted; by then every one of them has left (P(a call is
    still there) < 1e-8).
    """
    import ciw

    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=rate_per_s)],
        service_distributions=[ciw.dists.Exponential(rate=1.0 / mean_handle_s)],
        number_of_servers=[servers],
        reneging_time_distributions=[ciw.dists.Exponential(rate=1.0 / mean_patience_s)],
    )
    ciw.seed(seed)
    sim = ciw.Simulation(network)
    started = time.process_time()
    sim.simulate_until_max_time(horizon_s + DRAIN_S)
    elapsed = time.process_time() - started

    arrivals = quick = answered = abandoned = 0
    wait_answered = 0.0
    for rec in sim.get_all_records():
        if not warmup_s <= rec.arrival_date < horizon_s:
            continue
        arrivals += 1
        if rec.record_type == "service":
            answered += 1
            wait_answered += rec.waiting_time
            quick += rec.waiting_time <= SL_WITHIN_S
        elif rec.record_type == "renege":
            abandoned += 1
    return _kpis(arrivals, quick, answered, abandoned, wait_answered, elapsed)


# --------------------------------------------------------------------------- exact Erlang A


def _erlang_a_chain(
    rate_per_s: float, mean_handle_s: float, servers: int, mean_patience_s: float, within_s: float
) -> dict:
    """Exact Erlang A by the birth-death chain; used when ``sim.planning.erlang`` is not importable.

    Death rate in state n is ``min(n, c) mu + max(n - c, 0) theta``; the chain is cut where the
    terms are negligible. By PASTA an arrival finding k calls queued is answered with
    probability ``alpha / (alpha + (k+1) theta)`` (``alpha = c mu``) after a hypoexponential
    wait of rates ``alpha + j theta``, j = 0..k; SL sums ``P(wait <= t, answered | k)``,
    computed as ``alpha / (alpha + (k+1) theta) * I_x(k+1, alpha/theta + 1)``,
    ``x = 1 - exp(-theta t)``.
    """
    from scipy.special import betainc

    lam, mu, theta, c = rate_per_s, 1.0 / mean_handle_s, 1.0 / mean_patience_s, servers
    log_p = [0.0]
    n = 0
    while True:  # log of unnormalised p_n, until far past the mode and negligible
        n += 1
        death = min(n, c) * mu + max(n - c, 0) * theta
        log_p.append(log_p[-1] + math.log(lam / death))
        if n > c and log_p[-1] < max(log_p) - 50.0:
            break
    p = np.exp(np.array(log_p) - max(log_p))
    p /= p.sum()
    pq = p[c:]  # arrival finds k = 0, 1, ... waiting
    k = np.arange(len(pq), dtype=float)
    alpha = c * mu
    answered_k = alpha / (alpha + (k + 1.0) * theta)
    within_k = answered_k * betainc(k + 1.0, alpha / theta + 1.0, -math.expm1(-theta * within_s))
    wait_k = answered_k * np.cumsum(1.0 / (alpha + (k + 1.0) * theta))
    answered = p[:c].sum() + answered_k @ pq
    return {
        "service_level": float(p[:c].sum() + within_k @ pq),
        "abandon_rate": float(theta * (k @ pq) / lam),
        "asa": float((wait_k @ pq) / answered),
    }


def erlang_a(
    rate_per_s: float,
    mean_handle_s: float,
    servers: int,
    mean_patience_s: float,
    within_s: float = SL_WITHIN_S,
) -> dict:
    """Exact steady-state SL, abandon rate and ASA: ``sim.planning.erlang`` if it imports, else
    our own.

    Returns the figures plus ``"source"`` naming which was used.
    """
    try:
        from sim.planning.erlang import erlang_a_metrics
    except Exception:  # sim is work in progress: any import failure means "use our own"
        out = _erlang_a_chain(rate_per_s, mean_handle_s, servers, mean_patience_s, within_s)
        return {**out, "source": "benchmarks birth-death chain"}
    m = erlang_a_metrics(rate_per_s, mean_handle_s, servers, mean_patience_s, within_s)
    return {
        "service_level": m.service_level,
        "abandon_rate": m.abandon_rate,
        "asa": m.asa,
        "source": "sim.planning.erlang.erlang_a_metrics",
    }
