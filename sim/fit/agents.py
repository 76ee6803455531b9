"""Agents on duty, reconstructed from who answered when.

A call log says nothing of who was logged in; it says which agent was busy when. Per interval,
the agents *seen* are those busy (talk plus after-call work) at some moment of it. This
undercounts agents who were present but idle all interval and overcounts those who worked only
part of it; the factor that turns agents seen into agents available is calibrated by simulation
(:mod:`.calibrate`). Without an agent column the mean number busy (busy agent-seconds / interval
length) is used instead, and the same calibration scales it.
"""

from __future__ import annotations

import math

import numpy as np

from sim.fit.arrivals import LogCalendar
from sim.fit.calllog import ANSWERED, CallLogData
from sim.scenario.units import DAY, WEEKDAYS, format_clock

__all__ = [
    "agents_seen",
    "erlang_a_agents",
    "erlang_a_by_group",
    "group_skills",
    "overflow_routes",
    "staffing_maps",
]

SKILL_MIN_SHARE = 0.01  # a group has a skill when the type is at least this share of its calls
SKILL_MIN_OF_TYPE = 0.05  # ... or when it answered at least this share of the type's calls
PILE_MIN_SHARE = 0.10  # an overflow delay: one whole second of wait holding this share of answers
PILE_OVER_NEIGHBOURS = 4.0  # ... and this many times the answers of each neighbouring second
PILE_MIN_CALLS = 10
MIN_CALLS_TO_MATCH = 5  # abandons (answers) a slot needs before Erlang A matches its rate (ASA)


def _group_of_call(data: CallLogData) -> tuple[np.ndarray, list[str]]:
    grp = data.labels.get("group")
    if grp is None:
        return np.zeros(len(data), dtype=np.int32), ["agents"]
    names = [n or "unknown" for n in grp.names]
    codes = grp.codes.copy()
    if (codes < 0).any():
        names.append("unknown")
        codes[codes < 0] = len(names) - 1
    return codes, names


def agents_seen(data: CallLogData, cal: LogCalendar, interval: float) -> dict:
    """Per group: agents seen per weekday x interval of the day (mean over open days).

    Returns ``{"groups": {name: [[per slot] x 7 weekdays]}, "method": ...}``; weekdays with no
    open day hold zeros.
    """
    answered = data.outcome == ANSWERED
    start = cal.seconds[answered] + data.wait[answered]
    busy = data.handle[answered] + (
        np.nan_to_num(data.acw[answered]) if data.acw is not None else 0.0
    )
    stop = start + np.maximum(busy, 0.0)
    gcodes, gnames = _group_of_call(data)
    gcodes = gcodes[answered]
    n_slots = cal.days * round(DAY / interval)
    s0 = np.minimum((start // interval).astype(np.int64), n_slots - 1)
    s1 = np.clip((np.maximum(stop - 1e-6, start) // interval).astype(np.int64), s0, n_slots - 1)
    lengths = s1 - s0 + 1
    call = np.repeat(np.arange(len(s0)), lengths)
    offsets = np.cumsum(lengths) - lengths
    slot = s0[call] + (np.arange(len(call)) - offsets[call])
    # seen: took a call in the interval, or busy all through it (not just finishing one)
    counted = (slot == s0[call]) | (slot < s1[call])
    call, slot = call[counted], slot[counted]
    agent = data.labels.get("agent")
    per_group = {}
    for g, name in enumerate(gnames):
        mine = gcodes[call] == g
        if agent is not None:
            codes = agent.codes[answered][call[mine]].astype(np.int64)
            keys = np.unique(slot[mine] * (len(agent.names) + 1) + codes + 1)
            counts: np.ndarray = np.bincount(keys // (len(agent.names) + 1), minlength=n_slots)
        else:
            lo = np.maximum(start[call[mine]], slot[mine] * interval)
            hi = np.minimum(stop[call[mine]], (slot[mine] + 1) * interval)
            counts = np.bincount(slot[mine], weights=hi - lo, minlength=n_slots) / interval
        per_group[name] = _by_weekday(counts.astype(float), cal, interval)
    method = (
        "distinct agents busy in the interval"
        if agent is not None
        else ("mean agents busy (busy agent-seconds / interval): no agent column")
    )
    return {"groups": per_group, "method": method}


def _by_weekday(counts: np.ndarray, cal: LogCalendar, interval: float) -> list[list[float]]:
    slots = round(DAY / interval)
    grid = counts.reshape(cal.days, slots)
    out = []
    for w in range(7):
        mine = (cal.weekday == w) & cal.open
        out.append(grid[mine].mean(axis=0).tolist() if mine.any() else [0.0] * slots)
    return out


def erlang_a_agents(
    history: dict,
    cal: LogCalendar,
    mean_handle: float,
    mean_patience: float,
    interval: float,
    has: set[str],
) -> dict:
    """Agents per weekday x slot that make Erlang A (M/M/n+M, steady state within the interval)
    give the slot's observed abandonment (its ASA when it has fewer than
    :data:`MIN_CALLS_TO_MATCH` abandons, the offered load when it has too few answers too),
    interpolated between whole agents; ``history`` is an interval table
    (``calibrate.history_table``), ``has`` the figures it holds (``abandoned``, ``asa``).

    Without this the staffing shape would follow the load (or, from a call log, the agents
    seen) and miss where the center was under- or over-staffed: the intraday service level.
    Returns ``agents_seen``'s form with one group, ``agents``, and the slots matched by each.
    """
    from sim.fit.calibrate import pooled_by_slot

    open_days = np.flatnonzero(cal.open) + 1
    pooled = pooled_by_slot([history], open_days)
    days_of = {w: int(((cal.weekday == i) & cal.open).sum()) for i, w in enumerate(WEEKDAYS)}
    slots = round(DAY / interval)
    grid = np.zeros((7, slots))
    matched: dict[str, int] = {"abandon_rate": 0, "asa": 0, "load": 0}
    for key, (fig,) in pooled.items():
        wd, clock = key.split()
        offered = fig["offered"]
        if not offered > 0:
            continue
        rate, load = offered / interval, offered * mean_handle / interval
        calls = offered * days_of[wd]
        metric = "load"
        if (
            "abandoned" in has
            and calls * fig["abandon_rate"] >= MIN_CALLS_TO_MATCH
            and math.isfinite(mean_patience)
        ):
            metric = "abandon_rate"
        elif "asa" in has and calls * (1 - fig["abandon_rate"]) >= MIN_CALLS_TO_MATCH:
            metric = "asa"
        matched[metric] += 1
        n = max(load, 1.0)
        if metric != "load":
            n = agents_for(metric, fig[metric], rate, mean_handle, mean_patience)
        s = round((int(clock[:2]) * 3600 + int(clock[3:]) * 60) / interval)
        grid[WEEKDAYS.index(wd), s] = n
    method = (
        "INFERRED: Erlang A agents giving each weekday-interval's observed "
        f"abandonment ({matched['abandon_rate']} slots; ASA: {matched['asa']}; offered load "
        f"where too few calls: {matched['load']})"
    )
    return {"groups": {"agents": grid.tolist()}, "method": method, "matched": matched}


def agents_for(metric: str, target: float, rate: float, handle: float, patience: float) -> float:
    """Agents (between whole numbers, linearly) at which Erlang A's ``metric`` is ``target``:
    bisection over whole agents (the figure falls as agents rise)."""
    from sim.planning.erlang import erlang_a_metrics

    def value(c: int) -> float:
        try:
            return float(getattr(erlang_a_metrics(rate, handle, c, patience, math.inf), metric))
        except ValueError:  # a queue too long to compute: as bad as it gets
            return math.inf

    load = rate * handle
    lo, hi = 1, max(2, math.ceil(load + 5 * math.sqrt(load) + 5))
    v_lo, v_hi = value(lo), value(hi)
    if v_hi >= target:
        return float(hi)
    if v_lo <= target:
        return 1.0
    while hi - lo > 1:
        mid = (lo + hi) // 2
        v_mid = value(mid)
        if v_mid > target:
            lo, v_lo = mid, v_mid
        else:
            hi, v_hi = mid, v_mid
    if not math.isfinite(v_lo):
        return float(hi)
    return lo + (v_lo - target) / (v_lo - v_hi)


def erlang_a_by_group(total: list[list[float]], seen: dict) -> dict[str, list[list[float]]]:
    """The Erlang A agents of each weekday-slot (``total``) split over the groups in the
    proportions of their agents seen there (``seen["groups"]``); in a slot where none was seen,
    in the groups' shares of all agents seen. The groups keep the log's mix, and their sum
    takes the slot's Erlang A count."""
    names = list(seen["groups"])
    per = np.array([seen["groups"][n] for n in names], dtype=float)  # group x weekday x slot
    target = np.asarray(total, dtype=float)
    overall = per.sum(axis=(1, 2))
    share = overall / overall.sum() if overall.sum() > 0 else np.full(len(names), 1 / len(names))
    in_slot = per.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        split = np.where(in_slot > 0, per / in_slot, share[:, None, None])
    return {n: (split[g] * target).tolist() for g, n in enumerate(names)}


def group_skills(data: CallLogData, types: list[str], cal: LogCalendar, interval: float) -> dict:
    """Call types each group serves, and where the types nobody answered went.

    A group serves a type when the type is at least :data:`SKILL_MIN_SHARE` of the group's
    answered calls, or the group answered at least :data:`SKILL_MIN_OF_TYPE` of the type's
    answers, or it answered the most of them: a type of 0.4 % of the calls is still served by
    the agents who answered it (a share threshold alone dropped it from every group, and the
    scenario did not validate). A type nobody answered goes to the group that answered the most
    calls arriving in the same weekday-intervals as that type's calls (the agents on duty for
    the same traffic). Returns ``{"skills": {group: [types]}, "assigned": {type: {group, why}}}``.
    """
    gcodes, gnames = _group_of_call(data)
    ctype = data.labels.get("call_type")
    answered = data.outcome == ANSWERED
    n_groups = len(gnames)
    if ctype is None:
        used = [g for g in range(n_groups) if (answered & (gcodes == g)).any()]
        return {"skills": {gnames[g]: list(types) for g in used}, "assigned": {}}
    n_types = len(ctype.names)
    mine = answered & (ctype.codes >= 0)
    counts = np.bincount(
        gcodes[mine] * n_types + ctype.codes[mine], minlength=n_groups * n_types
    ).reshape(n_groups, n_types)
    of_group = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    of_type = counts / np.maximum(counts.sum(axis=0, keepdims=True), 1)
    top = counts == counts.max(axis=0, keepdims=True)
    serves = (counts > 0) & ((of_group >= SKILL_MIN_SHARE) | (of_type >= SKILL_MIN_OF_TYPE) | top)
    skills: dict[str, list[str]] = {gnames[g]: [] for g in range(n_groups) if counts[g].any()}
    assigned = {}
    slot = _weekday_slot(cal, interval)
    for c, name in enumerate(ctype.names):
        if name not in types:
            continue
        if counts[:, c].any():
            for g in np.flatnonzero(serves[:, c]).tolist():
                skills[gnames[g]].append(name)
            continue
        if not skills:
            continue
        same_time = np.isin(slot, np.unique(slot[ctype.codes == c])) & answered
        near = np.bincount(gcodes[same_time], minlength=n_groups).astype(float)
        near[[g for g in range(n_groups) if gnames[g] not in skills]] = -1.0
        if near.max() <= 0:  # no call answered at those times: the busiest group
            near = np.where(near < 0, -1.0, counts.sum(axis=1).astype(float))
        g = int(np.argmax(near))
        skills[gnames[g]].append(name)
        assigned[name] = {
            "group": gnames[g],
            "why": f"no {name} call was answered in the log: given to {gnames[g]}, the group "
            "that answered the most calls arriving in the same weekday-intervals",
        }
    return {"skills": {g: s for g, s in skills.items() if s}, "assigned": assigned}


def _weekday_slot(cal: LogCalendar, interval: float) -> np.ndarray:
    """Per call: weekday x interval of the day, as one number."""
    slots = round(DAY / interval)
    return cal.weekday[cal.day] * slots + (cal.seconds % DAY // interval).astype(np.int64)


def overflow_routes(data: CallLogData) -> dict[str, list[dict]]:
    """Per call type with an overflow: the groups that answered it and after what wait.

    A group that may take a type only once the call has waited ``after`` (``routing`` with
    ``{group, after}``) answers it at that wait whenever one of its agents is free then, so its
    answered waits pile up on one value: one whole second (>= 1 s) holding at least
    :data:`PILE_MIN_SHARE` of the pair's answers and :data:`PILE_OVER_NEIGHBOURS` times each
    neighbouring second's. A group serving the type at once has a smooth wait distribution with
    no such pile. Without this the fitted groups would take each other's calls at once (pooling),
    which answers more calls quickly than the history did. Types with no pile are left out (the
    skills route them). Returns ``{type: [{group, after, answered, pile_share}]}``, immediate
    groups first (most answers first), then overflow steps by ``after``.
    """
    ctype = data.labels.get("call_type")
    if ctype is None or data.labels.get("group") is None:
        return {}
    gcodes, gnames = _group_of_call(data)
    answered = data.outcome == ANSWERED
    out = {}
    for c, tname in enumerate(ctype.names):
        steps: list[tuple[int, int, str, float]] = []  # after, -answered, group, pile share
        for g, gname in enumerate(gnames):
            mine = answered & (ctype.codes == c) & (gcodes == g)
            n = int(mine.sum())
            if n == 0:
                continue
            secs = np.floor(data.wait[mine] + 5e-4).astype(np.int64)  # logs keep ms
            counts = np.bincount(secs)
            after, share = 0, 0.0
            if len(counts) > 1:
                d = int(np.argmax(counts[1:])) + 1
                around = max(
                    counts[d - 1] if d > 1 else 0, counts[d + 1] if d + 1 < len(counts) else 0
                )
                pile = int(counts[d])
                if (
                    pile >= PILE_MIN_CALLS
                    and pile >= PILE_MIN_SHARE * n
                    and pile >= PILE_OVER_NEIGHBOURS * around
                ):
                    after, share = d, pile / n
            steps.append((after, -n, gname, share))
        if any(s[0] for s in steps) and any(not s[0] for s in steps):
            out[tname] = [
                {"group": g, "after": a, "answered": -m, "pile_share": p}
                for a, m, g, p in sorted(steps)
            ]
    return out


def staffing_maps(
    seen: dict,
    factor: float,
    interval: float,
    open_weekdays: list[str],
    open_grid: list[list[int]] | None = None,
) -> dict:
    """Scenario ``staffing`` per group: agents seen x factor, at least 1 where seen.

    A mean of 5.3 agents becomes 6 agents for the first 30 % of the interval and 5 for the
    rest (whole minutes), so the agent-time is the mean's: rounding each interval to 5 or 6
    moved the model's service level by 20 points from one interval to the next on a bank's log.

    One ``{"HH:MM": n}`` map per open weekday, written only where the count changes, and 0 for
    the other weekdays (a staffing map names every weekday) and for the weekday-intervals in
    which the center had no call (``open_grid``, :func:`.arrivals.opening_hours`).
    """
    out = {}
    for name, grid in seen["groups"].items():
        plan: dict = {}
        for w, wd in enumerate(WEEKDAYS):
            if wd not in open_weekdays:
                plan[wd] = 0
                continue
            row = np.asarray(grid[w])
            if open_grid is not None:
                row = np.where(np.asarray(open_grid[w], dtype=bool), row, 0.0)
            want = np.where(row > 0, np.maximum(row * factor, 1.0), 0.0)
            times, last = {}, None
            for start, v in _dithered(want, interval):
                if v != last:
                    times[format_clock(start)] = v
                    last = v
            plan[wd] = times
        if any(any(v > 0 for v in t.values()) for t in plan.values() if isinstance(t, dict)):
            out[name] = plan
    return out


def _dithered(want: np.ndarray, interval: float) -> list[tuple[float, int]]:
    """(start s, agents) steps: per interval ceil(x) for the fraction of x, floor(x) after."""
    steps = []
    minutes = interval / 60
    for s, x in enumerate(want.tolist()):
        lo = math.floor(x)
        up = round((x - lo) * minutes)
        if up >= minutes:
            lo, up = lo + 1, 0
        if up:
            steps.append((s * interval, lo + 1))
        steps.append((s * interval + up * 60, lo))
    return [(t, v) for t, v in steps if t < (len(want)) * interval]


def agent_hours(staffing: dict, interval: float) -> float:
    """Agent-hours of one week of ``staffing_maps`` output."""
    total = 0.0
    for plan in staffing.values():
        for times in plan.values():
            if not isinstance(times, dict):
                total += float(times) * DAY  # a whole day at one count (0 when closed)
                continue
            starts = [int(k[:2]) * 3600 + int(k[3:]) * 60 for k in times]
            ends = [*starts[1:], DAY]
            total += sum(v * (e - s) for v, s, e in zip(times.values(), starts, ends, strict=True))
    return total / 3600.0 if math.isfinite(total) else 0.0
