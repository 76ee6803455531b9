"""The forecast as a scenario to plan with: dated (``horizon.start_date``), its arrivals the
forecast per day and interval (``arrivals.csv`` with ``day`` rows, so a closed day has no
call), its uncertainty the day-to-day variation (``day_to_day_cv``).

With a base scenario (``--base``, e.g. the one ``sim fit`` wrote) everything but the horizon and
the arrivals is the base's; without one, a minimal scenario says what it assumed: one group
serving every call type, handle times from the history (3 minutes when it has none), no
abandonment, and a starting staffing for ``sim staff`` to size.
"""

from __future__ import annotations

import math

import numpy as np

from sim.forecast.pipeline import ForecastResult
from sim.scenario.resolved import SECONDS_NOTE, dump_yaml

__all__ = ["ASSUMED_HANDLE_S", "arrivals_table", "scenario_yaml"]

ASSUMED_HANDLE_S = 180.0


def arrivals_table(r: ForecastResult) -> dict[str, list]:
    """Columns day, start, calls: every interval of every day, zeros too (a day without rows
    would repeat the file's cycle)."""
    horizon, per_day, step = r.options.horizon, r.per_day, r.history.interval
    days = np.repeat(np.arange(1, horizon + 1), per_day)
    slots = np.tile(np.arange(per_day), horizon) * step
    starts = [f"{s // 3600:02d}:{s % 3600 // 60:02d}" for s in slots.tolist()]
    calls = [float(f"{c:.6g}") for c in r.mean.ravel().tolist()]
    return {"day": days.tolist(), "start": starts, "calls": calls}


def _handle(r: ForecastResult, name: str) -> tuple[float, str]:
    means = r.history.handle_means
    if name in means:
        return means[name], "mean handle time of its answered calls in the history"
    if "" in means:
        return means[""], "mean handle time of all answered calls in the history"
    return ASSUMED_HANDLE_S, "assumed: the history has no handle times (give --base)"


def _minimal(r: ForecastResult, name: str) -> tuple[dict, list[str]]:
    types = r.history.types or ["calls"]
    totals = r.by_type.sum(axis=(0, 1)) if r.history.types else np.array([1.0])
    shares = totals / totals.sum() if totals.sum() > 0 else np.full(len(types), 1 / len(types))
    shares = np.round(shares, 6)
    shares[-1] = round(1.0 - float(shares[:-1].sum()), 6)
    notes = ["call type shares: each type's share of the forecast calls"]
    call_types = {}
    handle = 0.0
    for t, share in zip(types, shares.tolist(), strict=True):
        mean, why = _handle(r, t)
        handle += share * mean
        call_types[t] = {
            "share": share,
            "handle_time": {"dist": "exponential", "mean": round(mean, 1)},
        }
        notes.append(f"handle_time of {t}: {why}")
    peak = float(r.mean.max()) * handle / r.history.interval  # Erlangs in the busiest interval
    staffing = max(1, math.ceil(peak * 1.2 + 1))
    notes.append(
        f"staffing {staffing}: a starting point (the busiest interval's load {peak:.1f} Erlang "
        "plus 20 %); size it with sim staff"
    )
    notes.append("customer tiers: one, callers never abandon (the forecast knows no patience)")
    data = {
        "call_types": call_types,
        "customer_tiers": {"all": {"share": 1}},
        "agents": {"groups": {"agents": {"skills": list(types), "staffing": staffing}}},
        "targets": {"service_level": {"within": 20, "at_least": 0.8}},
    }
    return data, notes


def scenario_yaml(r: ForecastResult, name: str, base: dict | None = None) -> str:
    """scenario.yaml's text: ``base`` (a scenario as plain data) with the forecast's horizon and
    arrivals, or a minimal scenario."""
    notes: list[str] = []
    if base is None:
        rest, notes = _minimal(r, name)
    else:
        rest = {k: v for k, v in base.items() if k not in ("name", "horizon", "arrivals")}
        rest.pop("interval", None)
        notes = [
            f"call types, agents, routing and targets from the base scenario {base.get('name')}"
        ]
    data = {
        "name": name,
        "description": f"forecast by sim forecast ({r.chosen}) from {r.history.source}",
        "horizon": {"days": r.options.horizon, "start_date": r.start.isoformat()},
        "interval": r.history.interval,
        "arrivals": {"file": "arrivals.csv", "day_to_day_cv": round(r.day_to_day_cv, 4)},
        **rest,
    }
    head = [
        f"# sim forecast: {SECONDS_NOTE}.",
        f"# arrivals: the forecast's mean calls per day and interval from {r.start} "
        f"({r.options.horizon} days; closed days have none);",
        f"# day_to_day_cv {r.day_to_day_cv:.4f}: the back-test's error of day totals beyond "
        "Poisson noise, so that a plan staffed on it holds across the forecast's range.",
        *[f"# {n}." for n in notes],
    ]
    return dump_yaml(data, "\n".join(head) + "\n")
