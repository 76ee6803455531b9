"""Redials: the same customer calling again, from the customer column of a log.

A call is *followed* when the same customer's next call arrives within ``window`` of its end
(abandoned: the hang-up; answered: the end of talk). The follow-up is a redial, not a first
call, so it is left out of the arrivals. Calls ending less than ``window`` before the log's
last call cannot show whether they were followed; they are left out of the shares (censoring).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.planning.fit.estimators import fit_family, wilson
from sim.scenario.calllog import ABANDONED, ANSWERED, CallLogData

__all__ = ["fit_redials"]


def fit_redials(data: CallLogData, window: float) -> tuple[dict, np.ndarray]:
    """Redial shares and delays, and the mask of calls that are redials.

    Returns ({} and no redials) when the log has no customer column.
    """
    n = len(data)
    is_redial = np.zeros(n, dtype=bool)
    cust = data.labels.get("customer")
    if cust is None:
        return {"note": "no customer column: redials cannot be seen; none modelled"}, is_redial
    t = data.arrival.astype(float)
    handle = np.nan_to_num(data.handle)
    end = t + data.wait + np.where(data.outcome == ANSWERED, handle, 0.0)
    known = cust.codes >= 0
    order = np.lexsort((t, cust.codes))
    order = order[known[order]]
    same = cust.codes[order[1:]] == cust.codes[order[:-1]]
    delay = t[order[1:]] - end[order[:-1]]
    follows = same & (delay <= window)
    followed = np.zeros(n, dtype=bool)
    followed[order[:-1][follows]] = True
    is_redial[order[1:][follows]] = True
    delay_of = np.full(n, np.nan)
    delay_of[order[:-1][follows]] = np.maximum(delay[follows], 0.0)
    observable = known & (end + window <= t.max())
    out = {
        "window_s": window,
        "estimator": "share of calls whose customer calls again within the window (Wilson CI)",
    }
    for key, outcome in (("after_abandon", ABANDONED), ("after_answered", ANSWERED)):
        base = observable & (data.outcome == outcome)
        k, m = int((followed & base).sum()), int(base.sum())
        entry: dict[str, Any] = {"calls": m, "followed": k, "probability": k / m if m else None}
        entry["probability_ci95"] = wilson(k, m)
        delays = delay_of[followed & base]
        if len(delays) >= 2:
            entry["delay"] = fit_family(np.maximum(delays, 1.0))
        out[key] = entry
    types = data.labels.get("call_type")
    if types is not None:
        per_type = {}
        for c, name in enumerate(types.names):
            base = observable & (data.outcome == ANSWERED) & (types.codes == c)
            k, m = int((followed & base).sum()), int(base.sum())
            per_type[name] = {"calls": m, "followed": k, "share": k / m if m else None}
        out["after_answered_by_type"] = per_type
    out["redial_calls"] = int(is_redial.sum())
    return out, is_redial
