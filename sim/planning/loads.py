"""Load and targets of a staffing problem: arrival rates per group and interval, the targets
every interval must reach, and the interval-by-interval Erlang staffing on them (the
calculator behind ``sim erlang`` is :mod:`sim.planning.calculator`).

Owns reading rates and targets; the closed forms themselves are :mod:`sim.planning.erlang`, the
search by simulation :mod:`sim.planning.staffing`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.model.calendar import arrival_rates
from sim.model.workforce import scheduled_for
from sim.planning.erlang import agents_required
from sim.scenario.schema import Scenario, Target

__all__ = [
    "GroupLoad",
    "StaffingTargets",
    "erlang_staffing",
    "first_groups",
    "group_loads",
    "required_for",
]

# --- targets and loads ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffingTargets:
    """What every interval must reach: service level within ``within`` s, abandonment, occupancy."""

    within: float = 20.0
    service_level: float | None = None
    abandon_rate: float | None = None
    max_occupancy: float | None = None

    @classmethod
    def of(cls, scenario: Scenario, max_occupancy: float | None = None) -> StaffingTargets:
        """The scenario's ``service_level`` and ``abandon_rate`` targets; ``occupancy: {at_most}``
        (or ``max_occupancy``, which wins) caps occupancy."""
        t = scenario.targets
        sl, ab, occ = t.get("service_level"), t.get("abandon_rate"), t.get("occupancy")
        return cls(
            within=scenario.service_level_within(),
            service_level=sl.at_least if sl is not None else None,
            abandon_rate=ab.at_most if ab is not None else None,
            max_occupancy=max_occupancy
            if max_occupancy is not None
            else (occ.at_most if occ is not None else None),
        )

    def any(self) -> bool:
        return any(
            v is not None for v in (self.service_level, self.abandon_rate, self.max_occupancy)
        )

    def met(self, service_level, abandon_rate, occupancy) -> np.ndarray:
        """Element-wise: all targets met (NaN, i.e. nothing offered, counts as met)."""
        ok = np.ones(np.shape(service_level), dtype=bool)
        for limit, bound, values in (
            (self.service_level, "at_least", service_level),
            (self.abandon_rate, "at_most", abandon_rate),
            (self.max_occupancy, "at_most", occupancy),
        ):
            if limit is not None:
                ok &= Target.model_validate({bound: limit}).met(values)
        return ok


@dataclass(frozen=True)
class GroupLoad:
    """Calls first offered to one agent group, per interval of the horizon.

    ``rate`` is calls per second in each interval (after IVR self-service), ``mean_handle`` the
    mean handle time in seconds (talk x the group's factor, plus after-call work) and
    ``mean_patience`` seconds (``inf``: nobody abandons). ``slots``: the servers an agent is,
    its ``concurrency`` when every call type counted in the group is a chat (N agents of K chats
    are N K servers: exact without slowdown, docs/chat.md), else 1 (a voice call takes the
    agent whole; a group mixing voice and chat is staffed as if each chat took an agent, an
    upper bound the search by simulation corrects).
    """

    rate: np.ndarray
    mean_handle: float
    mean_patience: float
    slots: int = 1


def first_groups(scenario: Scenario) -> dict[str, str]:
    """Call type -> the group of its first route step (where its load is counted)."""
    return {ct: scenario.route(ct)[0].group for ct in scenario.call_types}


def group_loads(scenario: Scenario) -> dict[str, GroupLoad]:
    """Per group, the arrival rate of each interval and the mean handle time of its calls.

    The interval rate is the mean of :func:`sim.model.calendar.arrival_rates` over the interval,
    times
    the share that passes the IVR and the shares of the call types whose first route step is the
    group. Redials are not in it: the simulation step of :func:`staff` accounts for them. The
    patience is the tiers' abandonment rates averaged by share, ``1 / sum(share / mean)``: the
    exponential patience with the same initial hazard (Erlang A's parameter).
    """
    interval = scenario.interval
    edges = np.arange(0.0, scenario.horizon_s + interval / 2, interval)
    rate = arrival_rates(scenario).integral(edges) / interval
    if scenario.ivr is not None:
        rate = rate * (1.0 - scenario.ivr.self_service)
    theta = sum(
        t.share / t.patience.mean
        for t in scenario.customer_tiers.values()
        if math.isfinite(t.patience.mean) and t.patience.mean > 0
    )
    patience = 1.0 / theta if theta > 0 else math.inf
    acw = scenario.agents.after_call_work.mean if scenario.agents.after_call_work else 0.0
    firsts = first_groups(scenario)
    loads = {}
    for g in scenario.agents.groups:
        types = [ct for ct, first in firsts.items() if first == g]
        share = sum(scenario.call_types[ct].share for ct in types)
        factor = scenario.agents.handle_time_factor.get(g, 1.0)
        handle = (
            (
                sum(
                    scenario.call_types[ct].share * scenario.call_types[ct].handle_time.mean
                    for ct in types
                )
                / share
                * factor
                + acw
            )
            if share > 0
            else 1.0
        )
        chats = bool(types) and all(scenario.call_types[ct].channel == "chat" for ct in types)
        slots = scenario.agents.groups[g].concurrency if chats else 1
        loads[g] = GroupLoad(rate * share, handle, patience, slots)
    return loads


def erlang_staffing(scenario: Scenario, targets: StaffingTargets) -> dict[str, np.ndarray]:
    """Agents to schedule per group and interval of the horizon by Erlang A (C when nobody
    abandons) on each interval's load as if it were stationary, inflated for shrinkage and
    absenteeism (:func:`sim.model.workforce.scheduled_for`)."""
    cache: dict[tuple, int] = {}
    return {
        g: np.array(
            [required_for(lam, load, targets, scenario, cache) for lam in load.rate.tolist()],
            dtype=np.int64,
        )
        for g, load in group_loads(scenario).items()
    }


def required_for(
    rate: float, load: GroupLoad, targets: StaffingTargets, scenario: Scenario, cache: dict
) -> int:
    """Scheduled agents meeting ``targets`` for a stationary queue at ``rate`` calls/s with the
    group's handle time and patience (Erlang A, C when nobody abandons), an agent
    ``load.slots`` servers; 0 for no calls."""
    key = (rate, load.mean_handle, load.mean_patience, load.slots)
    if key not in cache:
        try:
            on_duty = agents_required(
                rate,
                load.mean_handle,
                targets.within,
                targets.service_level,
                load.mean_patience,
                targets.abandon_rate,
                targets.max_occupancy,
            )
        except ValueError:
            on_duty = 0
        on_duty = -(-on_duty // load.slots)  # servers -> agents
        cache[key] = scheduled_for(max(on_duty, 1 if rate > 0 else 0), scenario)
    return cache[key]


# --- the counterfactual step -------------------------------------------------------------------


def priced_outcomes(
    in_system: np.ndarray, agents: np.ndarray, mean_handle, mean_patience, within: float
) -> tuple[np.ndarray, np.ndarray]:
    """P(answered within ``within``) and P(abandons) of an arrival that finds ``in_system``
    calls (waiting plus in service) with ``agents`` on duty, in M/M/c+M (Erlang A; Erlang C
    when the patience is infinite), FCFS, the agents constant while it waits.

    The pricing step of the iterative staffing algorithm (Feldman, Mandelbaum, Massey & Whitt
    2008, *Management Science* 54(2)): the numbers in system seen by the arrivals of one run
    price any level ``c`` of their interval. With ``k = n - c >= 0`` calls waiting ahead the
    arrival needs ``k + 1`` queue advances at rates ``c mu + j theta``; in units of the handle
    time (``r = theta / mu``) it is answered with probability ``c / (c + (k+1) r)`` and within
    ``t`` with that times ``I_x(k + 1, c / r + 1)``, ``x = 1 - exp(-r t)`` (the terms of
    :func:`sim.planning.erlang.erlang_a_metrics`). ``mean_handle`` / ``mean_patience`` may be
    per-arrival arrays. No agent on duty: never answered, abandons if impatient.
    """
    from scipy.special import betainc, gammainc

    n, c = np.broadcast_arrays(np.asarray(in_system, float), np.asarray(agents, float))
    h = np.broadcast_to(np.asarray(mean_handle, dtype=float), n.shape)
    patience = np.broadcast_to(np.asarray(mean_patience, dtype=float), n.shape)
    quick = np.where(c > 0, 1.0, 0.0)  # free agent: answered at once; none on duty: never
    abandon = np.where(c > 0, 0.0, np.isfinite(patience).astype(float))
    wait = (n >= c) & (c > 0)  # only these are priced (the rest are most calls)
    # each distinct (n, c, handle, patience) once: the special functions are the cost
    keys = np.stack([n[wait], c[wait], h[wait], patience[wait]])
    if len(np.unique(keys[2])) == 1 and len(np.unique(keys[3])) == 1:  # one group's calls
        _, first, back = np.unique(keys[0] * 1e6 + keys[1], return_index=True, return_inverse=True)
        keys = keys[:, first]
    else:
        keys, back = np.unique(keys, axis=1, return_inverse=True)
    n, c, h, patience = keys
    k = n - c + 1.0  # queue advances needed
    finite = np.isfinite(patience)
    r = np.where(finite, h / np.where(finite, patience, 1.0), 0.0)
    answered = c / (c + k * r)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = -np.expm1(-r * within / h)
        quick_a = answered * betainc(k, c / np.where(r > 0, r, 1.0) + 1.0, x)
    quick_c = gammainc(k, c * within / h)  # Erlang C: Gamma(k, c mu) within t
    quick[wait] = np.where(finite, quick_a, quick_c)[back]
    abandon[wait] = (1.0 - answered)[back]
    return np.nan_to_num(quick), np.nan_to_num(abandon)
