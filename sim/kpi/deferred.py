"""E-mail KPIs (deferred work) as pure numpy functions of the e-mail records.

E-mails are left out of the call KPIs (service level, ASA, abandonment: :mod:`sim.kpi.calls`);
they have their own, reported only by scenarios with call types of channel ``email``. The
agents' time on them counts in occupancy like a call's.

Choices a planner may question:

- An e-mail counts when it *arrives* after the warm-up and before the horizon.
- ``response_time`` is the mean over the e-mails handled by the horizon: one still open is
  not in it (its response time is not known); ``backlog`` shows what remains open.
- ``response_within`` counts only the e-mails whose fate is known at the horizon: those that
  arrived at least ``within`` before it (an e-mail still open then has missed it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.kpi.calls import ratio
from sim.records.emails import Emails
from sim.scenario.units import DAY

__all__ = ["EmailRecords", "email_kpis"]


@dataclass
class EmailRecords:
    """What the e-mail KPIs need: the e-mails and the names of their call types."""

    emails: Emails
    call_types: list[str]  # names of the e-mail types, parallel to ``types``
    types: list[int]  # their call type codes
    warmup: float
    horizon: float
    within: float  # s, the response_within target's `within` (default 24 h)


def email_kpis(rec: EmailRecords) -> dict[str, float | None]:
    """``emails`` per day, ``response_time``, ``response_within``, ``backlog`` (open at each
    day's end after the warm-up, mean over those days), and per e-mail type ``asa`` (mean wait
    of taken e-mails), ``mean_wait`` (all e-mails, open ones waiting to the horizon) and
    ``response_time``."""
    e, horizon = rec.emails, rec.horizon
    counted = (e.arrival >= rec.warmup) & (e.arrival < horizon)
    handled = counted & (e.end <= horizon)
    response = e.end - e.arrival
    started = ~np.isnan(e.start)
    wait = np.where(started, e.start, horizon) - e.entry
    known = counted & (e.arrival + rec.within <= horizon)
    days = (horizon - rec.warmup) / DAY
    ends = np.arange(DAY, horizon + DAY / 2, DAY)
    ends = ends[ends > rec.warmup]
    arrived = np.sort(e.arrival)
    done = np.sort(np.where(np.isnan(e.end), np.inf, e.end))
    open_at = np.searchsorted(arrived, ends, "right") - np.searchsorted(done, ends, "right")
    k: dict[str, float | None] = {
        "emails": float(counted.sum()) / days,
        "response_time": _mean(response[handled]),
        "response_within": ratio(int(np.sum(known & (response <= rec.within))), int(np.sum(known))),
        "backlog": float(np.mean(open_at)) if len(ends) else None,
    }
    for name, c in zip(rec.call_types, rec.types, strict=True):
        mine = counted & (e.call_type == c)
        k[f"asa.type={name}"] = _mean(wait[mine & started & (e.start < horizon)])
        k[f"mean_wait.type={name}"] = _mean(wait[mine])
        k[f"response_time.type={name}"] = _mean(response[mine & handled])
    return k


def _mean(values: np.ndarray) -> float | None:
    return float(np.mean(values)) if len(values) else None
