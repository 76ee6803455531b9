"""Target attainment interval by interval: where, and by how much, a plan misses its targets.

Planners staff intervals, not weeks: a week's service level of 90 % can hide every night at
60 %. This module takes the per-interval means over replications (the ``intervals.csv`` table)
and, for each target that has a per-interval figure (service level, abandonment, waits,
occupancy, and the same per call type and tier), says how many intervals and how many calls
meet it, which intervals are worst, and which times of day miss on which days.

An interval with no offered calls has no figure and is left out. The share of calls is the
offered calls of the intervals that meet the target over all offered calls.

Targets measured per day (on-time delivery, back office on time: the ``daily.csv`` table) are
judged day by day in the same way (:func:`day_attainment`): a week on time at 90 % can hide a
Saturday at 0 %.
"""

from __future__ import annotations

import numpy as np

__all__ = ["WORST", "attainment", "day_attainment", "interval_targets", "meets"]

WORST = 10  # worst intervals listed per target
_CONTEXT = ("offered", "agents_on_duty", "service_level", "abandon_rate", "asa")


def interval_targets(targets: dict, columns) -> dict[str, tuple[str, float]]:
    """KPI -> (bound, value) for each target with a per-interval column in ``columns``.

    A target on ``service_level`` applies to ``service_level.type=X``, ``.tier=T`` and
    ``.channel=C`` too, unless that segment has a target of its own.
    """
    bounds = {}
    for name, t in targets.items():
        bound = "at_least" if _get(t, "at_least") is not None else "at_most"
        bounds[name] = (bound, float(_get(t, bound)))
    out = {}
    for col in columns:
        if not col.endswith("_mean"):
            continue
        kpi = col[: -len("_mean")]
        base = kpi.split(".")[0]
        if kpi in bounds:
            out[kpi] = bounds[kpi]
        elif base in bounds and (".type=" in kpi or ".tier=" in kpi or ".channel=" in kpi):
            out[kpi] = bounds[base]
    return out


def _get(target, key):
    return target.get(key) if isinstance(target, dict) else getattr(target, key)


def meets(values: np.ndarray, bound: str, value: float) -> np.ndarray:
    """True where ``values`` meet the bound (NaN never meets, see ``np.isfinite`` first)."""
    return values >= value - 1e-12 if bound == "at_least" else values <= value + 1e-12


def attainment(
    table: dict[str, np.ndarray], targets: dict, worst: int = WORST, interval: float | None = None
) -> dict:
    """The ``attainment`` section of ``summary.json`` from the interval table (means over
    replications: ``day``, ``weekday``, ``start`` and ``<figure>_mean`` columns); ``interval``
    (seconds, the scenario's) ends the last interval of a run of misses (by default the
    shortest gap between two starts).

    One entry per target with a per-interval figure, overall targets first, then per call type
    and tier; each holds the counts, the worst intervals and the times of day that miss.
    """
    if not table or "start" not in table:
        return {"intervals": 0, "targets": []}
    n = len(table["start"])
    offered = _col(table, "offered", n)
    entries = []
    for kpi, (bound, value) in interval_targets(targets, table).items():
        values = np.asarray(table[f"{kpi}_mean"], dtype=float)
        if "=" in kpi and not np.isfinite(values).any():
            continue  # a segment with nothing to judge (outbound calls, e-mails: no queue)
        segment_offered = _col(table, _offered_of(kpi), n) if "=" in kpi else offered
        entries.append(_entry(table, kpi, bound, value, values, segment_offered, worst, interval))
    entries.sort(key=lambda e: ("=" in e["kpi"], e["kpi"].split(".")[0] != "service_level"))
    return {"intervals": n, "targets": entries}


def day_attainment(daily: dict[str, np.ndarray] | None, targets: dict) -> dict:
    """The ``attainment_days`` section of ``summary.json`` from the daily table (means over
    replications: ``day``, ``weekday`` and ``<figure>_mean`` columns): per target with a
    per-day figure, the days with a figure, met, missed and clearly missed (95 % CI on the
    wrong side), and the days that miss, worst first."""
    if not daily or "day" not in daily:
        return {"days": 0, "targets": []}
    entries = []
    for kpi, (bound, value) in interval_targets(targets, daily).items():
        values = np.asarray(daily[f"{kpi}_mean"], dtype=float)
        has, ok, missed, clear, order = _judged(daily, kpi, bound, value, values)
        entries.append(
            {
                "kpi": kpi,
                "bound": bound,
                "target": value,
                "days": int(has.sum()),
                "days_met": int(ok.sum()),
                "days_missed": int(missed.sum()),
                "days_missed_clearly": None if clear is None else int(clear.sum()),
                "missed": [
                    {
                        "day": int(daily["day"][i]),
                        "weekday": str(daily["weekday"][i]),
                        "value": _num(values[i]),
                        "clearly": None if clear is None else bool(clear[i]),
                    }
                    for i in order[: int(missed.sum())]
                ],
            }
        )
    return {"days": len(daily["day"]), "targets": entries}


def _clearly_missed(table: dict, kpi: str, bound: str, value: float) -> np.ndarray | None:
    """Where the whole 95% CI of the interval's mean is on the wrong side of the target (the
    miss is not the noise of a few replications); None without CI columns."""
    edge = table.get(f"{kpi}_ci_high" if bound == "at_least" else f"{kpi}_ci_low")
    if edge is None:
        return None
    edge = np.asarray(edge, dtype=float)
    ok = np.isfinite(edge)
    return ok & ~meets(np.where(ok, edge, value), bound, value)


def _offered_of(kpi: str) -> str:
    return "offered." + kpi.split(".", 1)[1]


def _col(table: dict, name: str, n: int) -> np.ndarray:
    col = table.get(f"{name}_mean")
    return np.asarray(col, dtype=float) if col is not None else np.full(n, np.nan)


def _judged(table: dict, kpi: str, bound: str, value: float, values: np.ndarray):
    """Rows with a figure, meeting, missing, clearly missing (None without CI columns), and
    the row order worst miss first (rows that miss lead)."""
    has = np.isfinite(values)
    ok = has & meets(np.where(has, values, 0.0), bound, value)
    missed = has & ~ok
    gap = np.where(bound == "at_least", value - values, values - value)
    order = [int(i) for i in np.argsort(-np.where(missed, gap, -np.inf), kind="stable")]
    return has, ok, missed, _clearly_missed(table, kpi, bound, value), order


def _entry(table, kpi, bound, value, values, offered, worst, interval) -> dict:
    has, ok, missed, clear, order = _judged(table, kpi, bound, value, values)
    calls = np.where(np.isfinite(offered), offered, 0.0)
    total_calls = float(calls[has].sum())
    return {
        "kpi": kpi,
        "bound": bound,
        "target": value,
        "intervals": int(has.sum()),
        "intervals_met": int(ok.sum()),
        "intervals_missed": int(missed.sum()),
        "share_intervals_met": float(ok.sum() / has.sum()) if has.any() else None,
        "calls": total_calls,
        "calls_in_missed": float(calls[missed].sum()),
        "share_calls_met": float(calls[ok].sum() / total_calls) if total_calls > 0 else None,
        "worst": [_interval(table, i, kpi, values) for i in order[: min(worst, int(missed.sum()))]],
        "intervals_missed_clearly": None if clear is None else int(clear.sum()),
        "misses": _misses(table, missed, has, values, bound, clear, interval),
    }


def _interval(table: dict, i: int, kpi: str, values: np.ndarray) -> dict:
    row = {"day": int(table["day"][i]), "weekday": str(table["weekday"][i])}
    row.update(start=str(table["start"][i]), value=_num(values[i]))
    for name in _CONTEXT:
        col = table.get(f"{name}_mean")
        if col is not None and name != kpi:
            row[name] = _num(col[i])
    return row


def _num(v) -> float | None:
    v = float(v)
    return v if np.isfinite(v) else None


def _misses(table, missed, has, values, bound, clear, interval: float | None) -> list[dict]:
    """Runs of neighbouring times of day that miss clearly (CI on the wrong side; every miss
    when the table has no CI columns) on at least one day: from the first interval's start to
    the last one's end (``24:00`` at midnight, past midnight only when the run goes on at
    00:00), the days missing clearly out of the days with a figure, the worst value, how many
    intervals at those times miss at all and how many clearly."""
    judged = missed if clear is None else clear
    starts = np.asarray(table["start"]).astype(str)
    ordered = sorted(set(starts.tolist()))  # "HH:MM" sorts as the clock does
    minutes = [_minutes(s) for s in ordered]
    gaps = np.diff(minutes)
    step = interval / 60 if interval else float(gaps.min()) if len(gaps) else 24 * 60.0
    runs: list[list[int]] = []
    for k in range(len(ordered)):
        if not judged[starts == ordered[k]].any():
            continue
        if runs and runs[-1][-1] == k - 1 and minutes[k] - minutes[k - 1] <= step:
            runs[-1].append(k)
        else:
            runs.append([k])
    whole_day = bool(minutes) and minutes[0] == 0 and minutes[-1] + step >= 24 * 60
    if len(runs) > 1 and whole_day and runs[0][0] == 0 and runs[-1][-1] == len(ordered) - 1:
        runs[0] = runs.pop() + runs[0]  # goes on past midnight
    days = np.asarray(table["day"])
    out = []
    for run in runs:
        times = np.isin(starts, [ordered[k] for k in run])
        mask = judged & times
        worst = values[mask].min() if bound == "at_least" else values[mask].max()
        out.append(
            {
                "from": ordered[run[0]],
                "to": _clock(minutes[run[-1]] + step),
                "slots": len(run),
                "intervals_missed": int((missed & times).sum()),
                "intervals": int((has & times).sum()),
                "days_missed": len(set(days[mask].tolist())),
                "days": len(set(days[has & times].tolist())),
                "worst": _num(worst),
                "clearly": None if clear is None else int(mask.sum()),
            }
        )
    out.sort(key=lambda r: (-(r["clearly"] or 0), -r["intervals_missed"]))
    return out


def _minutes(clock: str) -> float:
    hours, _, mins = clock.partition(":")
    return int(hours) * 60 + int(mins)


def _clock(minutes: float) -> str:
    """``HH:MM``; the end of the day is ``24:00``, not ``00:00`` (a run is never zero-long)."""
    if minutes > 24 * 60:
        minutes -= 24 * 60
    return f"{int(minutes // 60):02d}:{int(minutes % 60):02d}"
