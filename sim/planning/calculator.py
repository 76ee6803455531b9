"""The Erlang calculator behind ``sim erlang``: rates and durations from the command line, and
the figures for a number of agents. Light on purpose (no simulation, no SciPy statistics), so
the command answers at once.
"""

from __future__ import annotations

import math
import re

from sim.planning.erlang import agents_required, erlang_a_metrics
from sim.scenario.units import DAY, parse_duration

__all__ = ["agents_range", "duration_arg", "erlang_calculator", "erlang_table", "parse_rate"]

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


def duration_arg(text: str, name: str) -> float:
    """A CLI duration (``3min``, ``20s``, a number of seconds) or ValueError naming the option."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise ValueError(f"--{name}: {exc}") from None


def erlang_calculator(
    rate: float,
    mean_handle: float,
    agents: int | None = None,
    mean_patience: float = math.inf,
    within: float = 20.0,
    target: float | None = None,
    abandon_target: float | None = None,
    max_occupancy: float | None = None,
    concurrency: int = 1,
) -> dict:
    """Erlang C (``mean_patience`` inf) or Erlang A figures for ``agents``, and the smallest
    number of agents meeting the targets given (``agents_required``). Rates per second, times in
    seconds. Raises ValueError on bad input (and for Erlang C with agents <= load: unstable).

    ``concurrency`` K: chats an agent holds at once; N agents are N x K servers (exact without
    slowdown, exponential times: docs/chat.md), the figures are those of the servers (occupancy:
    the share of slots busy) and the agents required ceil(servers required / K)."""
    if concurrency < 1:
        raise ValueError(f"concurrency must be a whole number >= 1, got {concurrency}")
    out: dict = {
        "model": "erlang_c" if math.isinf(mean_patience) else "erlang_a",
        "rate_per_hour": rate * 3600.0,
        "aht": mean_handle,
        "load": rate * mean_handle,
        "patience": None if math.isinf(mean_patience) else mean_patience,
        "within": within,
    }
    if concurrency > 1:
        out["concurrency"] = concurrency
    if agents is not None:
        servers = agents * concurrency
        if math.isinf(mean_patience) and servers <= rate * mean_handle:
            slots = f" x {concurrency} chats" if concurrency > 1 else ""
            raise ValueError(
                f"{agents} agents{slots} cannot carry {rate * mean_handle:.3g} Erlang "
                f"without abandonment: the queue grows without bound"
            )
        m = erlang_a_metrics(rate, mean_handle, servers, mean_patience, within)
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
        servers = agents_required(
            rate, mean_handle, within, target, mean_patience, abandon_target, max_occupancy
        )
        out["agents_required"] = -(-servers // concurrency)
        if concurrency > 1:
            out["servers_required"] = servers
    return out


def erlang_table(
    rate: float,
    mean_handle: float,
    agents: range,
    mean_patience: float = math.inf,
    within: float = 20.0,
    concurrency: int = 1,
) -> list[dict]:
    """Erlang C / A figures for each number of agents in ``agents`` (Erlang C rows where the
    agents cannot carry the load without abandonment are left out: the queue is unstable);
    each agent ``concurrency`` servers (:func:`erlang_calculator`)."""
    rows = []
    for n in agents:
        if math.isinf(mean_patience) and n * concurrency <= rate * mean_handle:
            continue
        m = erlang_a_metrics(rate, mean_handle, n * concurrency, mean_patience, within)
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
