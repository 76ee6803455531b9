"""KPIs of the spec as pure numpy functions of the records: overall and per day x interval.

Owns every figure a planner reads. It knows nothing of SimPy: hand-made records are enough to
test it. A figure with nothing behind it (no calls, no agents) is ``None`` overall and NaN in
per-interval columns, never a division error.

Choices a planner may question:

- A call counts in the interval where it *arrives* at the hotline, and calls arriving during the
  warm-up are left out entirely.
- Abandoned calls stay in the service-level denominator (the spec's definition), and so do calls
  still waiting at the horizon (OPEN) and calls disconnected at closing time: they are offered
  but neither answered nor abandoned, so answer_rate + abandon_rate + disconnect_rate + open
  share = 1.
- Occupancy is measured on time, not on calls: agent busy time (talk and after-call work) inside
  the window over agent time present (on the schedule, plus overtime spent finishing a call).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.calendar import Timeline, weekday_of
from sim.model.records import Calls, Outcome
from sim.scenario.units import DAY, format_clock

__all__ = [
    "CallRecords",
    "busy_time",
    "call_kpis",
    "call_masks",
    "first_counted_interval",
    "interval_counts",
    "interval_table",
    "ratio",
]


@dataclass
class CallRecords:
    """What the call KPIs need: the calls and the agents present per group over time."""

    calls: Calls
    groups: list[str]
    present: list[Timeline]  # agents present per group (scheduled + overtime)
    scheduled: list[Timeline]  # agents scheduled per group
    tiers: list[str]
    call_types: list[str]
    warmup: float
    horizon: float
    within: float  # service-level threshold, s
    mean_queue_length: float | None = None  # time average after warm-up, measured by the router
    disconnects: bool = False  # routing.at_close: disconnect (then disconnect_rate is reported)


def ratio(num: float, den: float) -> float | None:
    """num / den, or None when there is nothing behind it."""
    return float(num) / float(den) if den > 0 else None


def _mean(values: np.ndarray) -> float | None:
    return float(np.mean(values)) if len(values) else None


def _share(busy: np.ndarray, present: np.ndarray) -> np.ndarray:
    """busy / present per bin, NaN where nobody is present (rounding can leave a busy time of
    -1e-13 in an empty bin, which must not become -inf)."""
    out = np.full(len(present), np.nan)
    np.divide(busy, present, out=out, where=present > 0)
    return out


def busy_time(starts: np.ndarray, ends: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Total overlap of the spans ``[starts, ends)`` with each bin ``[edges[k], edges[k+1])``.

    B(x) = sum_i clip(x - s_i, 0, e_i - s_i) is evaluated at the edges with sorted cumulative
    sums, so the cost is O((n + bins) log n), not n x bins.
    """
    b = _sum_after(starts, edges) - _sum_after(ends, edges)
    return np.diff(b)


def _sum_after(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """sum_i max(x - v_i, 0) at each edge x: k x minus the sum of the k values below x.

    One sorted copy and one cumulative sum alive at a time (memory: 16 bytes a value).
    """
    v = np.sort(values)
    k = np.searchsorted(v, edges)
    cum = np.empty(len(v) + 1)
    cum[0] = 0.0
    np.cumsum(v, out=cum[1:])
    del v
    return k * edges - cum[k]


def call_masks(rec: CallRecords):
    """Masks of the calls KPIs count (counted, offered, answered, abandoned) and their waits.

    Open calls wait up to the horizon. Shared with :mod:`sim.planning.staffing`, which pools the
    same
    figures by weekday slot.
    """
    c = rec.calls
    counted = (c.arrival >= rec.warmup) & (c.arrival < rec.horizon)
    offered = counted & ~np.isnan(c.queue_entry) & (c.queue_entry < rec.horizon)
    answered = offered & (c.outcome == Outcome.ANSWERED)
    abandoned = offered & (c.outcome == Outcome.ABANDONED)
    wait = c.wait()
    wait = np.where(offered & (c.outcome == Outcome.OPEN), rec.horizon - c.queue_entry, wait)
    return counted, offered, answered, abandoned, wait


def call_kpis(rec: CallRecords, masks=None) -> dict[str, float | None]:
    """The contact-center KPIs of the spec for one replication, plus per tier/type/group detail.

    ``masks``: :func:`call_masks` of ``rec`` when the caller has them already.
    """
    c = rec.calls
    counted, offered, answered, abandoned, wait = call_masks(rec) if masks is None else masks
    days = (rec.horizon - rec.warmup) / DAY
    n_off = int(offered.sum())
    quick = answered & (wait <= rec.within)
    k: dict[str, float | None] = {
        "offered": n_off / days,
        "service_level": ratio(quick.sum(), n_off),
        "answer_rate": ratio(answered.sum(), n_off),
        "abandon_rate": ratio(abandoned.sum(), n_off),
        "asa": _mean(wait[answered]),
        "mean_wait": _mean(wait[offered]),
        "occupancy": None,
        "first_contact_resolution": ratio((answered & c.resolved).sum(), answered.sum()),
        "calls": counted.sum() / days,
        "self_service_rate": ratio(
            (counted & (c.outcome == Outcome.SELF_SERVED)).sum(), counted.sum()
        ),
        "open_calls": float((counted & (c.outcome == Outcome.OPEN)).sum()),
        "mean_queue_length": rec.mean_queue_length,
    }
    if rec.disconnects:
        cut = offered & (c.outcome == Outcome.DISCONNECTED)
        k["disconnect_rate"] = ratio(cut.sum(), n_off)
    window = np.array([rec.warmup, rec.horizon])
    busy_all = present_all = scheduled_all = 0.0
    for g, name in enumerate(rec.groups):
        mine = (c.group == g) & (c.outcome == Outcome.ANSWERED)
        busy = float(busy_time(c.answer[mine], c.release[mine], window)[0])
        present = float(rec.present[g].integral(window)[0])
        busy_all, present_all = busy_all + busy, present_all + present
        scheduled_all += float(rec.scheduled[g].integral(window)[0])
        k[f"occupancy.group={name}"] = ratio(busy, present)
    k["occupancy"] = ratio(busy_all, present_all)
    k["overtime_hours"] = max(present_all - scheduled_all, 0.0) / 3600.0 / days
    k["agent_hours"] = scheduled_all / 3600.0 / days
    for segment, mine in segments(rec, offered):
        k[f"service_level.{segment}"] = ratio((quick & mine).sum(), mine.sum())
        k[f"abandon_rate.{segment}"] = ratio((abandoned & mine).sum(), mine.sum())
    return k


def segments(rec: CallRecords, offered: np.ndarray):
    """(``tier=T`` or ``type=C``, mask of the offered calls of it), when there are several."""
    c = rec.calls
    for label, column, names in (
        ("tier", c.tier, rec.tiers),
        ("type", c.call_type, rec.call_types),
    ):
        if len(names) < 2:
            continue
        for i, name in enumerate(names):
            yield f"{label}={name}", offered & (column == i)


def interval_counts(
    rec: CallRecords,
    interval: float,
    owner: np.ndarray | None = None,
    owners: int = 1,
    masks=None,
) -> dict[str, np.ndarray]:
    """The binning every per-interval figure shares: calls by the interval where they arrive.

    Over every interval of the horizon (warm-up included; calls arriving in it are not counted):
    ``offered``, ``answered``, ``quick`` (answered within ``rec.within``), ``abandoned``,
    ``answered_wait`` and ``offered_wait`` (sums of waits), each of shape (owners, bins), split
    by ``owner`` (a label per call, e.g. the group of its first route step; default all in 0);
    per agent group (groups, bins) ``busy``, ``present`` and ``scheduled`` seconds; ``which``
    the interval of each call and ``edges`` the interval bounds. ``masks``: :func:`call_masks`
    of ``rec`` when the caller has them already.
    """
    c = rec.calls
    _, offered, answered, abandoned, wait = call_masks(rec) if masks is None else masks
    edges = np.arange(0.0, rec.horizon + interval / 2, interval)
    n_bins = len(edges) - 1
    bin_of = np.minimum((c.arrival // interval).astype(np.int64), n_bins - 1)
    which = bin_of if owner is None else bin_of + n_bins * owner.astype(np.int64)
    size = owners * n_bins

    def count(mask, values=None):
        w = None if values is None else values[mask]
        got = np.bincount(which[mask], weights=w, minlength=size)
        return got.astype(float).reshape(owners, n_bins)

    busy, present, scheduled = (np.zeros((len(rec.groups), n_bins)) for _ in range(3))
    for g in range(len(rec.groups)):
        mine = (c.group == g) & (c.outcome == Outcome.ANSWERED)
        busy[g] = busy_time(c.answer[mine], c.release[mine], edges)
        present[g] = rec.present[g].integral(edges)
        scheduled[g] = rec.scheduled[g].integral(edges)
    return {
        "edges": edges,
        "which": bin_of,
        "offered": count(offered),
        "answered": count(answered),
        "quick": count(answered & (wait <= rec.within)),
        "abandoned": count(abandoned),
        "answered_wait": count(answered, wait),
        "offered_wait": count(offered, wait),
        "busy": busy,
        "present": present,
        "scheduled": scheduled,
    }


def first_counted_interval(rec: CallRecords, interval: float) -> int:
    """Index of the first interval wholly after the warm-up (earlier ones tell nothing)."""
    return int(np.ceil(rec.warmup / interval - 1e-9))


def interval_table(
    rec: CallRecords, interval: float, start_weekday: str, masks=None
) -> dict[str, np.ndarray]:
    """Per day x interval (after warm-up): counts, rates, waits, agents on duty, occupancy, and
    offered, service level and abandonment per tier and call type (when there are several).

    Columns are equal-length numpy arrays; empty intervals hold NaN in the rate columns.
    ``masks``: :func:`call_masks` of ``rec`` when the caller has them already.
    """
    masks = call_masks(rec) if masks is None else masks
    k = interval_counts(rec, interval, masks=masks)
    edges = k["edges"]
    n_bins = len(edges) - 1
    first = first_counted_interval(rec, interval)
    _, offered, answered, abandoned, wait = masks
    quick_mask = answered & (wait <= rec.within)

    def count(mask):
        return np.bincount(k["which"][mask], minlength=n_bins).astype(float)

    with np.errstate(invalid="ignore", divide="ignore"):
        n_off, n_ans, n_ab = k["offered"][0], k["answered"][0], k["abandoned"][0]
        cols = {
            "offered": n_off,
            "answered": n_ans,
            "abandoned": n_ab,
            "service_level": k["quick"][0] / n_off,
            "answer_rate": n_ans / n_off,
            "abandon_rate": n_ab / n_off,
            "asa": k["answered_wait"][0] / n_ans,
            "mean_wait": k["offered_wait"][0] / n_off,
        }
        busy_all = np.zeros(n_bins)
        present_all, scheduled_all = busy_all.copy(), busy_all.copy()
        per_group = {}
        for g, name in enumerate(rec.groups):
            busy, present = k["busy"][g], k["present"][g]
            busy_all += busy
            present_all += present
            scheduled_all += k["scheduled"][g]
            per_group[f"agents_on_duty.group={name}"] = present / interval
            per_group[f"occupancy.group={name}"] = _share(busy, present)
        cols["agents_scheduled"] = scheduled_all / interval
        cols["agents_on_duty"] = present_all / interval
        cols["occupancy"] = _share(busy_all, present_all)
        cols.update(per_group if len(rec.groups) > 1 else {})
        for segment, mine in segments(rec, offered):
            n_mine = count(mine)
            cols[f"offered.{segment}"] = n_mine
            cols[f"service_level.{segment}"] = count(quick_mask & mine) / n_mine
            cols[f"abandon_rate.{segment}"] = count(abandoned & mine) / n_mine
    starts = edges[:-1]
    day = (starts // DAY).astype(np.int64)
    week = np.array([weekday_of(start_weekday, d) for d in range(7)])
    table = {
        "day": day + 1,
        "weekday": week[day % 7],
        "start": np.array([format_clock(t % DAY) for t in starts]),
        **cols,
    }
    return {name: np.asarray(values)[first:] for name, values in table.items()}
