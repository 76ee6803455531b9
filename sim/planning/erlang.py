"""Closed forms of queueing theory: Erlang B/C/A, Cobham's priority queue and staffing from them.

Owns the exact figures the simulator is validated against; knows nothing of SimPy or scenarios.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = [
    "QueueMetrics",
    "agents_required",
    "erlang_a_metrics",
    "erlang_b",
    "erlang_c",
    "erlang_c_metrics",
    "offered_load",
    "priority_waits",
]

_TAIL = 1e-15  # the M/M/c+M chain is cut where the probability left beyond is below this
_MAX_QUEUE_STATES = 2_000_000  # more queue states than this: refuse rather than eat the memory


class _QueueTooLong(ValueError):
    """The exact Erlang A chain would need more than ``_MAX_QUEUE_STATES`` queue states."""


# --------------------------------------------------------------------------- argument checks


def _number(name: str, value: float, *, positive: bool = False, allow_inf: bool = False) -> float:
    if value is True or value is False:
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if math.isnan(x):
        raise ValueError(f"{name} must not be NaN")
    if math.isinf(x) and not (allow_inf and x > 0):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if x < 0 or (positive and x == 0):
        raise ValueError(f"{name} must be {'> 0' if positive else '>= 0'}, got {value!r}")
    return x


def _servers(value: Any, name: str = "servers") -> int:
    """``value`` as a whole number >= 1; any input (user-given), checked here."""
    if value is True or value is False:
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    try:
        c = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r}") from None
    if c < 1:
        raise ValueError(f"{name} must be >= 1, got {c}")
    return c


def _share(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    x = _number(name, value)
    if x > 1:
        raise ValueError(f"{name} is a fraction in [0, 1], got {value!r}")
    return x


# --------------------------------------------------------------------------- Erlang B and C


def offered_load(rate: float, mean_handle: float) -> float:
    """Offered load in Erlang: ``a = lambda * E[S]``.

    Parameters
    ----------
    rate : float
        Arrival rate lambda, calls per second (>= 0).
    mean_handle : float
        Mean handle (service) time E[S], seconds (> 0).

    Returns
    -------
    float
        The offered load, Erlang (mean number of busy agents with unlimited agents).
    """
    return _number("rate", rate) * _number("mean_handle", mean_handle, positive=True)


def erlang_b(servers: int, load: float) -> float:
    """Erlang B: the probability that an arrival finds all ``servers`` busy in M/M/c/c (loss).

    ``B(c, a) = (a^c / c!) / sum_{k=0}^{c} a^k / k!``, evaluated without factorials by the
    stable recursion ``B(0) = 1``, ``B(k) = a B(k-1) / (k + a B(k-1))`` (Cooper 1981,
    *Introduction to Queueing Theory*, 2nd ed.; Gross & Harris, *Fundamentals of Queueing
    Theory*). Every step is a ratio in [0, 1], so it neither overflows nor
    loses accuracy for thousands of servers.

    Parameters
    ----------
    servers : int
        Number of servers (agents), c >= 1.
    load : float
        Offered load a = lambda * E[S], Erlang (>= 0).

    Returns
    -------
    float
        Blocking probability in [0, 1].
    """
    c = _servers(servers)
    a = _number("load", load)
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(servers: int, load: float) -> float:
    """Erlang C: the probability that an arrival waits (all agents busy) in M/M/c.

    ``C(c, a) = c B(c, a) / (c - a (1 - B(c, a)))`` for ``a < c`` (Cooper 1981;
    Gross & Harris), built on the stable Erlang B recursion. When ``a >= c`` the
    queue is unstable and every arrival waits: 1.0 is returned.

    Parameters
    ----------
    servers : int
        Number of agents, c >= 1.
    load : float
        Offered load a = lambda * E[S], Erlang (>= 0).

    Returns
    -------
    float
        Probability of waiting in [0, 1].
    """
    c = _servers(servers)
    a = _number("load", load)
    if a >= c:
        return 1.0
    b = erlang_b(c, a)
    return min(1.0, c * b / (c - a * (1.0 - b)))


# --------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class QueueMetrics:
    """Steady-state figures of one queue, in the simulator's KPI definitions (times in seconds).

    Attributes
    ----------
    service_level : float
        P(answered within the threshold) among *all* offered calls: abandoned calls stay in
        the denominator.
    abandon_rate : float
        Share of offered calls that abandon.
    asa : float
        Average speed of answer: mean wait of answered calls, s.
    mean_wait : float
        Mean wait of all offered calls (abandoned ones up to abandonment), s.
    occupancy : float
        Mean busy agents / agents.
    prob_wait : float
        P(an arrival waits > 0), i.e. finds all agents busy.
    mean_queue_length : float
        Time-average number of calls waiting.
    """

    service_level: float
    abandon_rate: float
    asa: float
    mean_wait: float
    occupancy: float
    prob_wait: float
    mean_queue_length: float

    def to_dict(self) -> dict[str, float]:
        """The fields as a plain ``{name: float}`` dict."""
        return {k: float(v) for k, v in asdict(self).items()}


_IDLE = QueueMetrics(
    service_level=1.0,
    abandon_rate=0.0,
    asa=0.0,
    mean_wait=0.0,
    occupancy=0.0,
    prob_wait=0.0,
    mean_queue_length=0.0,
)  # no calls at all


def erlang_c_metrics(rate: float, mean_handle: float, servers: int, within: float) -> QueueMetrics:
    """Exact steady-state metrics of M/M/c (Erlang C: no abandonment), FCFS.

    With ``a = lambda E[S]``, ``mu = 1 / E[S]`` and ``C = C(c, a)`` (:func:`erlang_c`)
    (Cooper 1981; Gross & Harris):

    - ``P(W > t) = C exp(-(c mu - lambda) t)``, so ``service_level = 1 - C exp(-(c mu - lambda) t)``
    - ``asa = mean_wait = C / (c mu - lambda)`` (every call is answered)
    - ``mean_queue_length = lambda * asa = C a / (c - a)`` (Little), ``occupancy = a / c``,
      ``prob_wait = C``, ``abandon_rate = 0``.

    If the queue is unstable (``a >= c``) the steady state does not exist: the queue grows
    without bound. The figures returned are then the limits: ``service_level = 0``,
    ``asa = mean_wait = mean_queue_length = inf``, ``occupancy = 1``, ``prob_wait = 1``,
    ``abandon_rate = 0``.

    Parameters
    ----------
    rate : float
        Arrival rate lambda, calls per second.
    mean_handle : float
        Mean handle time E[S], seconds (exponential).
    servers : int
        Number of agents c.
    within : float
        Service-level threshold t, seconds (``inf`` allowed).

    Returns
    -------
    QueueMetrics
    """
    lam = _number("rate", rate)
    s = _number("mean_handle", mean_handle, positive=True)
    c = _servers(servers)
    t = _number("within", within, allow_inf=True)
    a = lam * s
    if a == 0:
        return _IDLE
    if a >= c:
        inf = math.inf
        return QueueMetrics(
            service_level=0.0,
            abandon_rate=0.0,
            asa=inf,
            mean_wait=inf,
            occupancy=1.0,
            prob_wait=1.0,
            mean_queue_length=inf,
        )
    pw = erlang_c(c, a)
    drain = (c - a) / s  # c mu - lambda, per second
    wait = pw / drain
    return QueueMetrics(
        service_level=1.0 - pw * math.exp(-drain * t),
        abandon_rate=0.0,
        asa=wait,
        mean_wait=wait,
        occupancy=a / c,
        prob_wait=pw,
        mean_queue_length=lam * wait,
    )


def _erlang_a_distribution(c: int, a: float, r: float) -> np.ndarray:
    """Stationary distribution p[n], n = 0..c+K, of the M/M/c+M number in system.

    Time in units of E[S]: birth rate ``a``, death rate ``min(n, c) + r max(n - c, 0)`` with
    ``r = theta / mu``. Built in log space (``log p_n = n log a - log n!`` up to ``c``, then
    ``log p_{c+j} = log p_c + sum_{i<=j} log(a / (c + i r))``) and cut where the probability
    left beyond is below ``_TAIL``: once the ratio ``q = a / (c + (j+1) r)`` is < 1 the ratios
    only fall, so the tail is bounded by ``p_{c+j} q / (1 - q)``.
    """
    from scipy.special import gammaln, logsumexp  # Erlang A only: Erlang C stays SciPy-free

    n = np.arange(c + 1, dtype=float)
    log_a = math.log(a)
    lower = n * log_a - gammaln(n + 1.0)
    peak = max(0.0, (a - c) / r)  # where the queue terms stop growing
    if peak > _MAX_QUEUE_STATES:
        raise _QueueTooLong(
            f"Erlang A: with load {a:g} on {c} agents and patience {1 / r:g} handle times the "
            f"queue holds about {peak:.3g} calls; too long to compute exactly"
        )
    # first guess at the queue states needed past the peak: ~40 geometric decay lengths if
    # agents outpace arrivals, else ~40 standard deviations of the near-Gaussian queue
    spread = 40.0 * math.sqrt(a / r + 1.0)
    if c + r > a:
        spread = min(spread, 40.0 / math.log((c + r) / a))
    parts = [lower]
    last, done = lower[-1], 0
    chunk = int(peak + spread) + 64
    while True:
        chunk = min(chunk, _MAX_QUEUE_STATES - done)
        if chunk <= 0:
            raise _QueueTooLong(
                f"Erlang A: more than {_MAX_QUEUE_STATES} queue states needed (load {a:g} on "
                f"{c} agents, patience {1 / r:g} handle times); too long to compute exactly"
            )
        i = np.arange(done + 1, done + chunk + 1, dtype=float)
        part = last + np.cumsum(log_a - np.log(c + i * r))
        parts.append(part)
        last, done = part[-1], done + chunk
        q = a / (c + (done + 1) * r)
        if q < 1.0:
            total = logsumexp(np.concatenate(parts))
            if last + math.log(q / (1.0 - q)) < total + math.log(_TAIL) - 2.0:
                break
        chunk *= 2
    logp = np.concatenate(parts)
    p = np.exp(logp - logsumexp(logp))
    tail = np.cumsum(p[::-1])[::-1]  # tail[n] = P(N >= n)
    keep = max(c + 1, int(np.searchsorted(-tail, -_TAIL)))  # first n with P(N >= n) < _TAIL
    p = p[:keep]
    return p / p.sum()


def erlang_a_metrics(
    rate: float, mean_handle: float, servers: int, mean_patience: float, within: float
) -> QueueMetrics:
    """Exact steady-state metrics of M/M/c+M (Erlang A: exponential patience), FCFS.

    The number in system is a birth-death chain with birth rate ``lambda`` and death rate
    ``min(n, c) mu + max(n - c, 0) theta`` (``theta = 1 / mean_patience``) (Palm 1943;
    Garnett, Mandelbaum & Reiman 2002, "Designing a call center with impatient customers",
    MSOM 4(3)); it is always stable. Its stationary distribution ``p_n`` is computed exactly
    (log space, cut where the tail is < 1e-15). By PASTA an arrival sees ``p_n``.

    An arrival finding ``n = c + k`` waits for ``k + 1`` queue advances; with ``j`` calls ahead
    the next comes at rate ``alpha + j theta`` (``alpha = c mu``), so its offered wait ``V_k``
    is hypoexponential with rates ``alpha + j theta``, ``j = 0..k``, whose density is
    ``prod_j (alpha + j theta) / (k! theta^k) e^{-alpha v} (1 - e^{-theta v})^k``. It is
    answered within ``t`` iff ``V_k <= min(t, tau)``, ``tau ~ Exp(theta)`` its own patience:

    - ``P(answered within t | k) = alpha / (alpha + (k+1) theta) I_x(k + 1, alpha/theta + 1)``,
      ``x = 1 - e^{-theta t}``, ``I`` the regularised incomplete beta function;
    - ``P(answered | k) = alpha / (alpha + (k+1) theta)``;
    - ``E[V_k; answered] = P(answered | k) sum_{j=1}^{k+1} 1 / (alpha + j theta)``;
    - ``E[min(V_k, tau)] = (k + 1) / (alpha + (k+1) theta)``.

    (Mandelbaum & Zeltyn 2007, "Service engineering in action: the Palm/Erlang-A queue, with
    applications to call centers", sum such terms in closed form with incomplete gamma
    functions; here the sum is taken term by term over the exact distribution.) Then
    ``service_level = P(n < c) + sum_k p_{c+k} P(answered within t | k)``,
    ``abandon_rate = theta E[Q] / lambda``, ``asa = E[wait | answered]``,
    ``mean_wait = E[min(wait, tau)]`` (= ``E[Q] / lambda``, Little), ``occupancy =
    E[min(n, c)] / c``, ``prob_wait = P(n >= c)``, ``mean_queue_length = E[Q]``.

    Parameters
    ----------
    rate : float
        Arrival rate lambda, calls per second.
    mean_handle : float
        Mean handle time E[S] = 1 / mu, seconds (exponential).
    servers : int
        Number of agents c.
    mean_patience : float
        Mean patience 1 / theta, seconds (exponential); ``inf`` gives :func:`erlang_c_metrics`.
    within : float
        Service-level threshold t, seconds (``inf`` allowed).

    Returns
    -------
    QueueMetrics

    Raises
    ------
    ValueError
        On bad arguments, or when the chain would need more than 2e6 queue states (a queue
        overloaded or critically loaded with near-infinite patience, e.g. patience 1e12 s).
    """
    lam = _number("rate", rate)
    s = _number("mean_handle", mean_handle, positive=True)
    c = _servers(servers)
    patience = _number("mean_patience", mean_patience, positive=True, allow_inf=True)
    t = _number("within", within, allow_inf=True)
    if math.isinf(patience):
        return erlang_c_metrics(lam, s, c, t)
    a = lam * s
    if a == 0:
        return _IDLE
    from scipy.special import betainc

    r = s / patience  # theta / mu; below, time is in units of E[S]
    p = _erlang_a_distribution(c, a, r)
    pq = p[c:]  # arrival finds k = 0, 1, ... calls waiting (all agents busy)
    k = np.arange(len(pq), dtype=float)
    exits = c + (k + 1.0) * r  # alpha + (k+1) theta
    answered_k = c / exits
    x = -math.expm1(-r * t / s)
    within_k = answered_k * betainc(k + 1.0, c / r + 1.0, x)
    wait_answered_k = answered_k * np.cumsum(1.0 / (c + (k + 1.0) * r))
    no_wait = float(p[:c].sum())
    prob_wait = float(pq.sum())
    queue = float(k @ pq)
    answered = no_wait + float(answered_k @ pq)
    busy = float(np.minimum(np.arange(len(p)), c) @ p)
    return QueueMetrics(
        service_level=min(1.0, no_wait + float(within_k @ pq)),
        abandon_rate=min(1.0, r * queue / a),
        asa=float(wait_answered_k @ pq) / answered * s,
        mean_wait=float(((k + 1.0) / exits) @ pq) * s,
        occupancy=min(1.0, busy / c),
        prob_wait=min(1.0, prob_wait),
        mean_queue_length=queue,
    )


# --------------------------------------------------------------------------- priority


def priority_waits(rates: Sequence[float], mean_handle: float, servers: int) -> list[float]:
    """Mean wait in queue per class of a non-preemptive priority M/M/c (class 0 highest).

    All classes share one exponential service time (mean ``E[S] = 1 / mu``); FCFS within a
    class. Cobham (1954, "Priority assignment in waiting line problems", JORSA 2(1)), for
    M/M/c as in Gross & Harris:

    ``W_k = W0 / ((1 - s_{k-1}) (1 - s_k))``, ``W0 = C(c, a) / (c mu)``,
    ``s_k = sum_{i<=k} lambda_i / (c mu)``, ``s_{-1} = 0``,

    with ``C`` Erlang C at the total load ``a = sum lambda_i E[S]``. For ``c = 1``,
    ``W0 = rho / mu = lambda E[S^2] / 2``, the classic M/M/1 result.

    Parameters
    ----------
    rates : sequence of float
        Arrival rate per class, calls per second, highest priority first.
    mean_handle : float
        Mean handle time E[S], seconds.
    servers : int
        Number of agents c.

    Returns
    -------
    list of float
        Mean wait in queue per class, seconds.

    Raises
    ------
    ValueError
        On bad arguments or if the total load is >= c (unstable).
    """
    lams = [_number(f"rates[{i}]", x) for i, x in enumerate(rates)]
    if not lams:
        raise ValueError("rates must hold at least one class")
    s = _number("mean_handle", mean_handle, positive=True)
    c = _servers(servers)
    a = sum(lams) * s
    if a >= c:
        raise ValueError(f"unstable: load {a:g} Erlang on {c} agents (needs load < agents)")
    w0 = erlang_c(c, a) * s / c
    waits, before = [], 0.0
    for lam in lams:
        after = before + lam * s / c
        waits.append(w0 / ((1.0 - before) * (1.0 - after)))
        before = after
    return waits


# --------------------------------------------------------------------------- staffing


def agents_required(
    rate: float,
    mean_handle: float,
    within: float,
    service_level_target: float | None,
    mean_patience: float = math.inf,
    abandon_target: float | None = None,
    max_occupancy: float | None = None,
    max_agents: int = 10000,
) -> int:
    """The smallest number of agents meeting every target given (Erlang C or Erlang A).

    Targets: ``service_level >= service_level_target``, ``abandon_rate <= abandon_target``,
    ``occupancy <= max_occupancy`` (``None``: no such target). Erlang C
    (:func:`erlang_c_metrics`) when ``mean_patience`` is ``inf``, and then the queue must also be
    stable (agents > load); Erlang A (:func:`erlang_a_metrics`) otherwise.

    The search starts at a bound no answer can be below (``SL <= P(answered) <= c / a`` gives
    ``c >= SL_target a``; ``abandon >= 1 - c / a`` gives ``c >= (1 - abandon_target) a``), gallops
    up and bisects; it relies on the metrics being monotone in the number of agents, as they are
    for these models. With no calls (``rate == 0``) no agents are needed: 0 is returned.

    Parameters
    ----------
    rate : float
        Arrival rate, calls per second.
    mean_handle : float
        Mean handle time, seconds.
    within : float
        Service-level threshold, seconds.
    service_level_target : float or None
        Minimum service level, a fraction in [0, 1].
    mean_patience : float
        Mean patience, seconds; ``inf`` (default) for no abandonment.
    abandon_target : float or None
        Maximum abandon rate, a fraction in [0, 1].
    max_occupancy : float or None
        Maximum occupancy, a fraction in (0, 1].
    max_agents : int
        Give up above this many agents.

    Returns
    -------
    int
        The number of agents c: c meets all targets, c - 1 does not.

    Raises
    ------
    ValueError
        On bad arguments or when ``max_agents`` agents do not meet the targets.
    """
    lam = _number("rate", rate)
    s = _number("mean_handle", mean_handle, positive=True)
    t = _number("within", within, allow_inf=True)
    patience = _number("mean_patience", mean_patience, positive=True, allow_inf=True)
    sl = _share("service_level_target", service_level_target)
    ab = _share("abandon_target", abandon_target)
    occ = _share("max_occupancy", max_occupancy)
    if occ == 0:
        raise ValueError("max_occupancy must be > 0")
    top = _servers(max_agents, "max_agents")
    a = lam * s
    if a == 0:
        return 0
    erlang_c_model = math.isinf(patience)

    def meets(c: int) -> bool:
        if erlang_c_model:
            if a >= c:
                return False
            m = erlang_c_metrics(lam, s, c, t)
        else:
            try:
                m = erlang_a_metrics(lam, s, c, patience, t)
            except _QueueTooLong:  # millions waiting: no target can be met
                return False
        return (
            (sl is None or m.service_level >= sl)
            and (ab is None or m.abandon_rate <= ab)
            and (occ is None or m.occupancy <= occ)
        )

    lo = 1  # smallest candidate; everything below it fails
    if erlang_c_model:
        lo = max(lo, math.floor(a) + 1)
        if occ is not None:
            lo = max(lo, math.floor(a / occ))
    if sl is not None:
        lo = max(lo, math.floor(sl * a))
    if ab is not None:
        lo = max(lo, math.floor((1.0 - ab) * a))
    return _smallest(meets, min(lo, top), top)


def _smallest(meets: Callable[[int], bool], lo: int, top: int) -> int:
    """Smallest c in [lo, top] with ``meets(c)``, for a monotone ``meets``: gallop, then bisect."""
    failed, step, hi = lo - 1, 1, lo
    while not meets(hi):
        if hi >= top:
            raise ValueError(f"targets not met with max_agents={top} agents")
        failed, hi, step = hi, min(hi + step, top), step * 2
    while hi - failed > 1:
        mid = (failed + hi) // 2
        if meets(mid):
            hi = mid
        else:
            failed = mid
    return hi
