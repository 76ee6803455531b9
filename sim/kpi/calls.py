"""KPIs of the spec as pure numpy functions of the records: overall and per day x interval.

Owns every figure a planner reads. It knows nothing of SimPy: hand-made records are enough to
test it. A figure with nothing behind it (no calls, no agents) is ``None`` overall and NaN in
per-interval columns, never a division error. The calls are reduced :data:`BLOCK` at a time
(:func:`reduce_calls`), the same way whether or not a run keeps its records, so both report the
same bits and the temporaries do not grow with the horizon.

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

from dataclasses import dataclass, field

import numpy as np

from sim.model.calendar import Timeline, weekday_of
from sim.records.calls import Calls, Outcome
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
    channel_of_type: list[str] = field(default_factory=list)
    """Per call type its channel (empty: every type a voice call, no ``channel=`` breakdown)."""
    slots: list[int] = field(default_factory=list)
    """Per group the chats an agent holds at once (empty: 1 each): a chat's span counts
    1/slots of its agent's time as busy."""
    deferred: tuple[int, ...] = ()  # call types of deferred work (e-mail): not counted as calls


def ratio(num: float, den: float) -> float | None:
    """num / den, or None when there is nothing behind it."""
    return float(num) / float(den) if den > 0 else None


def _share(busy: np.ndarray, present: np.ndarray) -> np.ndarray:
    """busy / present per bin, NaN where nobody is present (rounding can leave a busy time of
    -1e-13 in an empty bin, which must not become -inf)."""
    out = np.full(len(present), np.nan)
    np.divide(busy, present, out=out, where=present > 0)
    return out


def busy_time(starts: np.ndarray, ends: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Total overlap of the spans ``[starts, ends)`` with each bin ``[edges[k], edges[k+1])``.

    B(x) = sum_i clip(x - s_i, 0, e_i - s_i) is evaluated at the edges with sorted cumulative
    sums, so the cost is O((n + bins) log n), not n x bins. For calls, the agent time busy: a
    call takes its agent whole (:mod:`sim.model.agents`), so no two spans of one agent
    overlap; slot work holding 1/capacity of an agent counts from its own records.
    """
    return np.diff(_busy_until(starts, ends, edges))


def _busy_until(starts: np.ndarray, ends: np.ndarray, points: np.ndarray) -> np.ndarray:
    """B(x) of :func:`busy_time` at each of ``points`` (any order: each value is computed on
    its own, so one call for several sets of edges gives each the same bits as its own call).
    Starts in call-id order are nearly sorted (calls are answered about in arrival order): a
    stable sort, which runs on sorted stretches, takes a sixth of the time of the default."""
    return _sum_after(starts, points, stable=True) - _sum_after(ends, points)


def _sum_after(values: np.ndarray, edges: np.ndarray, stable: bool = False) -> np.ndarray:
    """sum_i max(x - v_i, 0) at each edge x: k x minus the sum of the k values below x.

    One sorted copy and one cumulative sum alive at a time (memory: 16 bytes a value).
    """
    v = np.sort(values, kind="stable" if stable else None)
    k = np.searchsorted(v, edges)
    cum = np.empty(len(v) + 1)
    cum[0] = 0.0
    np.cumsum(v, out=cum[1:])
    del v
    return k * edges - cum[k]


BLOCK = 1 << 18
"""Calls reduced at a time, in call-id order (:func:`reduce_calls`). Float sums (waits, busy
time) are summed within a block and the blocks added in order, so every path that reduces the
same calls gets the same bits, and a block's temporaries (masks, sorted copies: a few MiB) do not
grow with the horizon. A run with fewer calls is one block: the plain whole-array sums."""

_COUNTS = (
    *("counted", "offered", "answered", "abandoned", "quick"),
    *("resolved", "self_served", "open", "disconnected"),
)
_PER_BIN = ("offered", "answered", "quick", "abandoned", "answered_wait", "offered_wait")


def call_masks(rec: CallRecords, calls: Calls | None = None):
    """Masks of the calls KPIs count (counted, offered, answered, abandoned) and their waits,
    for ``calls`` (a block of ``rec.calls``; default all of them). Open calls wait up to the
    horizon."""
    c = rec.calls if calls is None else calls
    counted = (c.arrival >= rec.warmup) & (c.arrival < rec.horizon)
    if rec.deferred:  # e-mails have KPIs of their own (sim.kpi.deferred); agents' time counts
        counted &= ~np.isin(c.call_type, rec.deferred)
    offered = counted & ~np.isnan(c.queue_entry) & (c.queue_entry < rec.horizon)
    offered &= c.outcome < Outcome.CALLBACK  # callers who took a call-back left the queue
    answered = offered & (c.outcome == Outcome.ANSWERED)
    abandoned = offered & (c.outcome == Outcome.ABANDONED)
    wait = c.wait()  # a fresh array: open calls' waits written in place (memory)
    np.subtract(rec.horizon, c.queue_entry, out=wait, where=offered & (c.outcome == Outcome.OPEN))
    return counted, offered, answered, abandoned, wait


def reduce_calls(
    rec: CallRecords,
    interval: float | None = None,
    owner: np.ndarray | None = None,
    owners: int = 1,
    block: int | None = None,
    total: dict | None = None,
) -> dict:
    """Everything the call KPIs and tables need of the calls, reduced :data:`BLOCK` calls at a
    time in call-id order (``block``: another size, for tests).

    Counts (``counted``, ``offered``, ...; exact in any order), sums of waits, per group the
    busy seconds inside [warm-up, horizon) (``busy_window``), per segment
    (:func:`segments`) its offered, quick and abandoned counts, and with ``interval`` per bin
    of the horizon the counts and wait sums of :data:`_PER_BIN` (owners, bins) split by
    ``owner`` (a label per call, default all 0), ``busy`` (groups, bins) and the segments'
    counts. :func:`call_kpis`, :func:`interval_counts` and :func:`interval_table` take it.
    ``total``: the sums of the blocks before ``rec.calls`` (which then starts at a block edge),
    for a run that reduced its calls as they closed.
    """
    size = BLOCK if block is None else int(block)
    n = len(rec.calls)
    for lo in range(0, max(n, 1), size):
        part = slice(lo, min(lo + size, n))
        calls = Calls({name: col[part] for name, col in rec.calls.columns.items()})
        mine = None if owner is None else owner[part]
        got = _reduce_block(rec, calls, interval, mine, owners)
        total = got if total is None else {k: total[k] + v for k, v in got.items()}
    assert total is not None  # at least one block, empty or not
    return total


def _reduce_block(rec: CallRecords, c: Calls, interval: float | None, owner, owners: int) -> dict:
    """The sums of :func:`reduce_calls` over one block of calls."""
    counted, offered, answered, abandoned, wait = call_masks(rec, c)
    quick = answered & (wait <= rec.within)
    masks = {
        "counted": counted,
        "offered": offered,
        "answered": answered,
        "abandoned": abandoned,
        "quick": quick,
        "resolved": answered & c.resolved,
        "self_served": counted & (c.outcome == Outcome.SELF_SERVED),
        "open": counted & (c.outcome == Outcome.OPEN),
        "disconnected": offered & (c.outcome == Outcome.DISCONNECTED),
    }
    out: dict = {name: int(masks[name].sum()) for name in _COUNTS}
    out["answered_wait"] = float(np.sum(wait[answered]))
    out["offered_wait"] = float(np.sum(wait[offered]))
    window = np.array([rec.warmup, rec.horizon])
    talked = (c.outcome == Outcome.ANSWERED) | (c.outcome == Outcome.CALLED_BACK)
    spans = [(c.group == g) & talked for g in range(len(rec.groups))]
    edges = None if interval is None else np.arange(0.0, rec.horizon + interval / 2, interval)
    # B(x) once per group at the window's ends and the bins' edges: one sort of each column
    points = window if edges is None else np.concatenate([window, edges])
    if any(k > 1 for k in rec.slots):  # a chat holds 1/slots of its agent
        chat = np.isin(c.call_type, [t for t, ch in enumerate(rec.channel_of_type) if ch == "chat"])
        busy = [
            _busy_until(c.answer[m & ~chat], c.release[m & ~chat], points)
            + _busy_until(c.answer[m & chat], c.release[m & chat], points) / k
            for m, k in zip(spans, rec.slots, strict=True)
        ]
    else:
        busy = [_busy_until(c.answer[m], c.release[m], points) for m in spans]
    out["busy_window"] = np.array([b[1] - b[0] for b in busy], dtype=float)
    segs = _segment_codes(rec, c)
    for name in ("offered", "quick", "abandoned"):
        mask = masks[name]
        out[f"segments.{name}"] = np.concatenate(
            [np.bincount(code[mask], minlength=size) for code, size in segs]
            or [np.zeros(0, np.int64)]
        ).astype(np.int64)
    if edges is None or interval is None:
        return out
    n_bins = len(edges) - 1
    bin_of = (c.arrival // interval).astype(np.int64)
    np.minimum(bin_of, n_bins - 1, out=bin_of)
    which = bin_of if owner is None else bin_of + n_bins * owner.astype(np.int64)

    def count(mask, values=None, index=which, rows=owners):
        w = None if values is None else values[mask]
        got = np.bincount(index[mask], weights=w, minlength=rows * n_bins)
        return got.astype(float).reshape(rows, n_bins)

    for name in ("offered", "answered", "quick", "abandoned"):
        out[f"bins.{name}"] = count(masks[name])
    out["bins.answered_wait"] = count(answered, wait)
    out["bins.offered_wait"] = count(offered, wait)
    out["bins.busy"] = np.array([np.diff(b[2:]) for b in busy], dtype=float).reshape(
        len(spans), n_bins
    )
    for name in ("offered", "quick", "abandoned"):
        mask = masks[name]
        out[f"bins.segments.{name}"] = np.concatenate(
            [
                count(mask, index=_binned_code(code, n_bins, bin_of), rows=size)
                for code, size in segs
            ]
            or [np.zeros((0, n_bins))]
        )
    return out


def call_kpis(rec: CallRecords, sums: dict | None = None) -> dict[str, float | None]:
    """The contact-center KPIs of the spec for one replication, plus per tier/type/group detail.

    ``sums``: :func:`reduce_calls` of ``rec`` when the caller has it already.
    """
    s = reduce_calls(rec) if sums is None else sums
    days = (rec.horizon - rec.warmup) / DAY
    n_off, n_ans = s["offered"], s["answered"]
    k: dict[str, float | None] = {
        "offered": n_off / days,
        "service_level": ratio(s["quick"], n_off),
        "answer_rate": ratio(n_ans, n_off),
        "abandon_rate": ratio(s["abandoned"], n_off),
        "asa": ratio(s["answered_wait"], n_ans),
        "mean_wait": ratio(s["offered_wait"], n_off),
        "occupancy": None,
        "first_contact_resolution": ratio(s["resolved"], n_ans),
        "calls": s["counted"] / days,
        "self_service_rate": ratio(s["self_served"], s["counted"]),
        "open_calls": float(s["open"]),
        "mean_queue_length": rec.mean_queue_length,
    }
    if rec.disconnects:
        k["disconnect_rate"] = ratio(s["disconnected"], n_off)
    window = np.array([rec.warmup, rec.horizon])
    busy_all = present_all = scheduled_all = 0.0
    for g, name in enumerate(rec.groups):
        busy = float(s["busy_window"][g])
        present = float(rec.present[g].integral(window)[0])
        busy_all, present_all = busy_all + busy, present_all + present
        scheduled_all += float(rec.scheduled[g].integral(window)[0])
        k[f"occupancy.group={name}"] = ratio(busy, present)
    k["occupancy"] = ratio(busy_all, present_all)
    k["overtime_hours"] = max(present_all - scheduled_all, 0.0) / 3600.0 / days
    k["agent_hours"] = scheduled_all / 3600.0 / days
    skip = _deferred_segments(rec)
    for j, segment in enumerate(segment_names(rec)):
        if segment in skip:
            continue
        n_mine = s["segments.offered"][j]
        k[f"service_level.{segment}"] = ratio(s["segments.quick"][j], n_mine)
        k[f"abandon_rate.{segment}"] = ratio(s["segments.abandoned"][j], n_mine)
    return k


def segment_names(rec: CallRecords) -> list[str]:
    """``tier=T`` and ``type=C`` labels of the segments: every tier, then every call type,
    each when there are several; then ``channel=C`` of each channel the scenario has, when
    it has any other than voice."""
    return [
        f"{label}={name}"
        for label, names in (
            ("tier", rec.tiers),
            ("type", rec.call_types),
            ("channel", channels(rec)),
        )
        if len(names) >= 2 or label == "channel"
        for name in names
    ]


CHANNELS = ("voice", "chat", "email")
"""The channels of a call type, in the order reports list them."""


def channels(rec: CallRecords) -> list[str]:
    """The channels the call types have, in :data:`CHANNELS` order; none when all are voice
    (a voice-only scenario has no channel breakdown)."""
    have = set(rec.channel_of_type)
    return [ch for ch in CHANNELS if ch in have] if have - {"voice"} else []


def _deferred_segments(rec: CallRecords) -> set[str]:
    """The segments of deferred work (e-mail types): no calls in them, no figures shown."""
    return {f"type={rec.call_types[c]}" for c in rec.deferred}


def _segment_codes(rec: CallRecords, c: Calls) -> list[tuple[np.ndarray, int]]:
    """Per partition of :func:`segment_names` (tiers, call types; those with several), each
    call's segment code and the number of segments: counted with one ``bincount`` per
    partition, so the cost does not grow with the number of call types."""
    codes = [
        (column, len(names))  # as it is (int16): bincount takes it, no int64 copy
        for column, names in ((c.tier, rec.tiers), (c.call_type, rec.call_types))
        if len(names) >= 2
    ]
    have = channels(rec)
    if have:  # each call's channel through its type's
        of_type = np.array([have.index(ch) for ch in rec.channel_of_type], dtype=np.int16)
        codes.append((of_type[c.call_type], len(have)))
    return codes


def _binned_code(code: np.ndarray, n_bins: int, bin_of: np.ndarray) -> np.ndarray:
    """``code * n_bins + bin_of`` in int64 with one temporary (the block's memory)."""
    out = code.astype(np.int64)
    out *= n_bins
    out += bin_of
    return out


def interval_counts(
    rec: CallRecords,
    interval: float,
    owner: np.ndarray | None = None,
    owners: int = 1,
    masks=None,
    sums: dict | None = None,
) -> dict[str, np.ndarray]:
    """The binning every per-interval figure shares: calls by the interval where they arrive.

    Over every interval of the horizon (warm-up included; calls arriving in it are not counted):
    ``offered``, ``answered``, ``quick`` (answered within ``rec.within``), ``abandoned``,
    ``answered_wait`` and ``offered_wait`` (sums of waits), each of shape (owners, bins), split
    by ``owner`` (a label per call, e.g. the group of its first route step; default all in 0);
    per agent group (groups, bins) ``busy``, ``present`` and ``scheduled`` seconds; ``which``
    the interval of each call and ``edges`` the interval bounds. ``sums``: :func:`reduce_calls`
    of ``rec`` with this interval and owner, when the caller has it already. ``masks``
    (:func:`call_masks`) is accepted from callers that have them but not needed: the counts are
    reduced block by block, as the KPIs are.
    """
    out = _binned(
        rec, interval, reduce_calls(rec, interval, owner, owners) if sums is None else sums
    )
    n_bins = len(out["edges"]) - 1
    out["which"] = np.minimum((rec.calls.arrival // interval).astype(np.int64), n_bins - 1)
    return out


def _binned(rec: CallRecords, interval: float, s: dict) -> dict[str, np.ndarray]:
    """:func:`interval_counts` but ``which``, from the sums ``s``."""
    edges = np.arange(0.0, rec.horizon + interval / 2, interval)
    out = {"edges": edges, **{name: s[f"bins.{name}"] for name in (*_PER_BIN, "busy")}}
    out["present"] = np.array([line.integral(edges) for line in rec.present], dtype=float)
    out["scheduled"] = np.array([line.integral(edges) for line in rec.scheduled], dtype=float)
    for name in ("present", "scheduled"):
        out[name] = out[name].reshape(len(rec.groups), len(edges) - 1)
    return out


def first_counted_interval(rec: CallRecords, interval: float) -> int:
    """Index of the first interval wholly after the warm-up (earlier ones tell nothing)."""
    return int(np.ceil(rec.warmup / interval - 1e-9))


def interval_table(
    rec: CallRecords, interval: float, start_weekday: str, sums: dict | None = None
) -> dict[str, np.ndarray]:
    """Per day x interval (after warm-up): counts, rates, waits, agents on duty, occupancy, and
    offered, service level and abandonment per tier and call type (when there are several).

    Columns are equal-length numpy arrays; empty intervals hold NaN in the rate columns.
    ``sums``: :func:`reduce_calls` of ``rec`` with this interval, when the caller has it.
    """
    s = reduce_calls(rec, interval) if sums is None else sums
    k = _binned(rec, interval, s)
    edges = k["edges"]
    n_bins = len(edges) - 1
    first = first_counted_interval(rec, interval)
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
        skip = _deferred_segments(rec)
        for j, segment in enumerate(segment_names(rec)):
            if segment in skip:
                continue
            n_mine = s["bins.segments.offered"][j]
            cols[f"offered.{segment}"] = n_mine
            cols[f"service_level.{segment}"] = s["bins.segments.quick"][j] / n_mine
            cols[f"abandon_rate.{segment}"] = s["bins.segments.abandoned"][j] / n_mine
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
