"""Load and targets of a staffing problem: arrival rates per group and interval, the targets
every interval must reach, and the Erlang closed forms on them (the calculator and the
interval-by-interval Erlang staffing a search starts from).

Owns reading rates and targets; the closed forms themselves are :mod:`sim.planning.erlang`, the
search by simulation :mod:`sim.planning.staffing`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from sim.model.calendar import arrival_rates
from sim.model.workforce import scheduled_for
from sim.planning.erlang import agents_required, erlang_a_metrics
from sim.scenario.schema import Scenario, Target
from sim.scenario.units import DAY, parse_duration

__all__ = [
    "GroupLoad",
    "StaffingTargets",
    "agents_range",
    "duration_arg",
    "erlang_calculator",
    "erlang_staffing",
    "erlang_table",
    "first_groups",
    "group_loads",
    "parse_rate",
    "required_for",
]

_RATE_UNITS = {
    "h": 3600.0,
    "hour": 3600.0,
    "min": 60.0,
    "m": 60.0,
    "s": 1.0,
    "sec": 1.0,
    "d": DAY,
    "day": DAY,
}


def parse_rate(value: object) -> float:
    """An arrival rate in calls per second from ``"200/h"``, ``"3.5/min"``, ``"0.1/s"``,
    ``"4800/d"`` or a bare number (calls per hour, as ``arrivals.rate_per_hour``)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        rate = float(value) / 3600.0
    else:
        m = re.fullmatch(r"\s*([0-9.eE+-]+)\s*(?:/\s*([a-z]+))?\s*", str(value))
        if m is None or (m.group(2) is not None and m.group(2) not in _RATE_UNITS):
            raise ValueError(
                f"rate {value!r}: write calls per time, e.g. 200/h, 3.5/min, 0.1/s "
                f"(a bare number is per hour)"
            )
        try:
            number = float(m.group(1))
        except ValueError:
            raise ValueError(f"rate {value!r}: {m.group(1)!r} is not a number") from None
        rate = number / _RATE_UNITS[m.group(2) or "h"]
    if not math.isfinite(rate) or rate < 0:
        raise ValueError(f"rate must be a finite number >= 0, got {value!r}")
    return rate


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
    ``mean_patience`` seconds (``inf``: nobody abandons).
    """

    rate: np.ndarray
    mean_handle: float
    mean_patience: float


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
        loads[g] = GroupLoad(rate * share, handle, patience)
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


# --- the Erlang calculator -----------------------------------------------------------------------


def erlang_calculator(
    rate: float,
    mean_handle: float,
    agents: int | None = None,
    mean_patience: float = math.inf,
    within: float = 20.0,
    target: float | None = None,
    abandon_target: float | None = None,
    max_occupancy: float | None = None,
) -> dict:
    """Erlang C (``mean_patience`` inf) or Erlang A figures for ``agents``, and the smallest
    number of agents meeting the targets given (``agents_required``). Rates per second, times in
    seconds. Raises ValueError on bad input (and for Erlang C with agents <= load: unstable)."""
    out: dict = {
        "model": "erlang_c" if math.isinf(mean_patience) else "erlang_a",
        "rate_per_hour": rate * 3600.0,
        "aht": mean_handle,
        "load": rate * mean_handle,
        "patience": None if math.isinf(mean_patience) else mean_patience,
        "within": within,
    }
    if agents is not None:
        if math.isinf(mean_patience) and agents <= rate * mean_handle:
            raise ValueError(
                f"{agents} agents cannot carry {rate * mean_handle:.3g} Erlang "
                f"without abandonment: the queue grows without bound"
            )
        m = erlang_a_metrics(rate, mean_handle, agents, mean_patience, within)
        out.update(
            agents=agents,
            service_level=m.service_level,
            abandon_rate=m.abandon_rate,
            asa=m.asa,
            mean_wait=m.mean_wait,
            occupancy=m.occupancy,
            prob_wait=m.prob_wait,
        )
    if target is not None or abandon_target is not None or max_occupancy is not None:
        out["agents_required"] = agents_required(
            rate, mean_handle, within, target, mean_patience, abandon_target, max_occupancy
        )
    return out


def erlang_table(
    rate: float,
    mean_handle: float,
    agents: range,
    mean_patience: float = math.inf,
    within: float = 20.0,
) -> list[dict]:
    """Erlang C / A figures for each number of agents in ``agents`` (Erlang C rows where the
    agents cannot carry the load without abandonment are left out: the queue is unstable)."""
    rows = []
    for n in agents:
        if math.isinf(mean_patience) and n <= rate * mean_handle:
            continue
        m = erlang_a_metrics(rate, mean_handle, n, mean_patience, within)
        rows.append(
            {
                "agents": n,
                "service_level": m.service_level,
                "abandon_rate": m.abandon_rate,
                "asa": m.asa,
                "occupancy": m.occupancy,
                "prob_wait": m.prob_wait,
            }
        )
    return rows


def required_for(
    rate: float, load: GroupLoad, targets: StaffingTargets, scenario: Scenario, cache: dict
) -> int:
    """Scheduled agents meeting ``targets`` for a stationary queue at ``rate`` calls/s with the
    group's handle time and patience (Erlang A, C when nobody abandons); 0 for no calls."""
    key = (rate, load.mean_handle, load.mean_patience)
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
        cache[key] = scheduled_for(max(on_duty, 1 if rate > 0 else 0), scenario)
    return cache[key]


def duration_arg(text: str, name: str) -> float:
    """A CLI duration (``3min``, ``20s``, a number of seconds) or ValueError naming the option."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise ValueError(f"--{name}: {exc}") from None


def agents_range(text: str) -> range:
    """``10..20`` (inclusive) or ``14`` -> a range of agents; ValueError otherwise."""
    lo, sep, hi = text.partition("..")
    try:
        first = int(lo)
        last = int(hi) if sep else first
    except ValueError:
        raise ValueError(f"--agents {text!r}: write a number (14) or a range (10..20)") from None
    if first < 1 or last < first or last - first > 1000:
        raise ValueError(f"--agents {text!r}: need 1 <= first <= last, at most 1000 apart")
    return range(first, last + 1)
