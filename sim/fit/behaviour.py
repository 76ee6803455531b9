"""Who calls and how they behave: call-type and tier shares, handle times, patience, priority.

Handle times are fitted per call type on answered calls; patience per tier on every queued call
(abandoned: observed patience; answered: right-censored at its wait). See docs/fit.md.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.fit.calllog import ABANDONED, ANSWERED, SELF_SERVED, CallLogData
from sim.fit.estimators import (
    censored_family_fit,
    exponential_patience,
    fit_family,
    kaplan_meier,
    survival,
    wilson,
)

__all__ = [
    "ALL",
    "fit_handle_times",
    "fit_patience",
    "fit_shares",
    "short_calls",
    "tier_groups",
    "tier_priorities",
]

ALL = "all"  # the name of the single call type / tier when the log has no such column
PRIORITY_SHARE = 0.8  # one tier overtakes another at least this often: it has priority
PRIORITY_MIN_OVERTAKES = 20


def _groups(data: CallLogData, field: str) -> list[tuple[str, np.ndarray]]:
    """(name, mask) per label of ``field``; one group ``all`` when the column is missing."""
    lab = data.labels.get(field)
    if lab is None:
        return [(ALL, np.ones(len(data), dtype=bool))]
    out = []
    for code, name in enumerate(lab.names):
        mask = lab.codes == code
        if mask.any():
            out.append((name or "unknown", mask))
    if (lab.codes < 0).any():
        out.append(("unknown", lab.codes < 0))
    return out


def tier_groups(data: CallLogData) -> list[tuple[str, np.ndarray]]:
    """(tier name, mask of its calls) per tier of the log (one, ``all``, without tiers)."""
    return _groups(data, "tier")


def fit_shares(data: CallLogData, first: np.ndarray, field: str) -> dict:
    """Share of first calls per label, with Wilson intervals."""
    total = int(first.sum())
    out = {}
    for name, mask in _groups(data, field):
        k = int((mask & first).sum())
        if k:
            out[name] = {"calls": k, "share": k / total, "share_ci95": wilson(k, total)}
    return out


def fit_handle_times(data: CallLogData, min_handle: float) -> dict:
    """Per call type: talk-time family by AIC with mean and cv; short calls counted apart.

    Answered calls shorter than ``min_handle`` are not fitted here: :func:`short_calls` has
    already removed them from the whole fit (docs/fit.md, "very short calls").
    """
    out = {}
    answered = data.outcome == ANSWERED
    for name, mask in _groups(data, "call_type"):
        x = data.handle[mask & answered]
        if len(x):
            out[name] = fit_family(x)
    pooled = fit_family(data.handle[answered]) if answered.any() else None
    acw = None
    if data.acw is not None:
        a = data.acw[answered & ~np.isnan(data.acw)]
        if len(a) and (a > 0).mean() > 0.5:
            acw = fit_family(a)
    return {"by_type": out, "pooled": pooled, "after_call_work": acw, "min_handle_s": min_handle}


def short_calls(data: CallLogData, min_handle: float) -> np.ndarray:
    """Mask of answered calls with talk under ``min_handle`` (ghost calls, line faults)."""
    return (data.outcome == ANSWERED) & (data.handle < min_handle)


def fit_patience(data: CallLogData) -> dict:
    """Per tier: exponential MLE, Kaplan–Meier curve, and the censored family by AIC."""
    out = {}
    queued = data.outcome != SELF_SERVED
    for name, mask in _groups(data, "tier"):
        m = mask & queued
        w, d = data.wait[m], data.outcome[m] == ABANDONED
        if not len(w):
            continue
        entry: dict[str, Any] = {
            "exponential": exponential_patience(w, d),
            "kaplan_meier": kaplan_meier(w, d),
        }
        if d.sum() >= 30:
            fam = censored_family_fit(w, d)
            entry["families"] = fam
            use = fam["family"]
            entry["family"] = use
            entry["mean"] = fam["params"][use]["mean"]
            entry["cv"] = fam["params"][use]["cv"]
            t = np.asarray(entry["kaplan_meier"]["t"], dtype=float)
            entry["family_survival"] = survival(use, entry["mean"], entry["cv"], t).tolist()
        elif d.sum() > 0:
            entry.update(family="exponential", mean=entry["exponential"]["mean"], cv=1.0)
            entry["note"] = "fewer than 30 abandons: exponential only"
        else:
            entry.update(family="never", note="no abandoned call in this tier")
        out[name] = entry
    return out


def tier_priorities(data: CallLogData, given: dict[str, int]) -> dict:
    """Tier priority: from the mapping if given, else inferred from overtaking.

    First come, first served answers calls of one call type in arrival order. So take the
    answered calls that waited, per call type in arrival order, and count the neighbours where
    the later call was answered more than a second before the earlier one (an overtake). When
    one tier overtakes another at least :data:`PRIORITY_SHARE` of the time (of at least
    :data:`PRIORITY_MIN_OVERTAKES` overtakes between them), it is served first; a tier's
    priority is one below the lowest of the tiers that overtake it, and tiers that do not
    overtake each other share a priority (a full ranking by overtakes gave a bank's tier 2
    priority over tier 0 on 18 overtakes against 0, and the model starved tier 0).
    """
    names = [n for n, _ in _groups(data, "tier")]
    answered = data.outcome == ANSWERED
    at_once = {
        n: float((data.wait[m & answered] < 1.0).mean())
        for n, m in _groups(data, "tier")
        if (m & answered).any()
    }
    out = {"source": "", "priority": {}, "overtakes": {}, "answered_at_once": at_once}
    if given:
        return {**out, "source": "mapping file", "priority": dict(given)}
    tier, ctype = data.labels.get("tier"), data.labels.get("call_type")
    if tier is None or len(names) < 2:
        return {**out, "source": "one tier: no priority"}
    m = (data.outcome == ANSWERED) & (tier.codes >= 0)
    types = ctype.codes[m] if ctype is not None else np.zeros(int(m.sum()), dtype=np.int32)
    arrival, answer = data.arrival[m].astype(float), data.arrival[m] + data.wait[m]
    order = np.lexsort((arrival, types))
    same = types[order][1:] == types[order][:-1]
    jumps = same & (answer[order][1:] < answer[order][:-1] - 1.0)
    later, earlier = tier.codes[m][order][1:][jumps], tier.codes[m][order][:-1][jumps]
    k = len(tier.names)
    counts = np.bincount(later * k + earlier, minlength=k * k).reshape(k, k)
    out["overtakes"] = {
        f"{tier.names[a]} over {tier.names[b]}": int(counts[a, b])
        for a in range(k)
        for b in range(k)
        if a != b and counts[a, b]
    }
    pair = counts + counts.T
    np.fill_diagonal(pair, 0)
    share = np.divide(counts, pair, out=np.zeros((k, k)), where=pair > 0)
    strong = (pair >= PRIORITY_MIN_OVERTAKES) & (share >= PRIORITY_SHARE)
    if not strong.any():
        return {**out, "source": "no tier overtakes another: first come, first served"}
    level = [0] * k  # below every tier that strongly overtakes it, and no lower
    for _ in range(k):
        level = [max([level[a] + 1 for a in range(k) if strong[a, b]], default=0) for b in range(k)]
    return {
        **out,
        "source": "inferred: a tier that overtakes another is served before it",
        "priority": {tier.names[a]: level[a] for a in range(k)},
    }
