"""Call-back KPIs (``routing.callback``) from the call-back records and the queue's counts.

The callers who took a call-back are not in the queue's figures (service level, ASA, offered:
:func:`sim.kpi.calls.call_masks`); here they are counted with them: ``callback_rate`` is their
share of the callers who reached the queue, and ``answer_rate`` counts a reached call-back as
answered; ``answer_rate`` and ``abandon_rate`` are shares of all those callers, so with the
failed and open call-backs and the open calls they still add up to 1. Call-backs count as
their calls do: by the call's arrival, after the warm-up.
"""

from __future__ import annotations

import numpy as np

from sim.kpi.calls import ratio
from sim.records.callbacks import CallbackState
from sim.records.storage import Rows

__all__ = ["callback_kpis"]


def callback_kpis(
    log: Rows, warmup: float, horizon: float, offered: int, answered: int, abandoned: int
) -> dict[str, float | None]:
    """``callback_rate``, ``callback_wait`` (mean, request to reaching the customer),
    ``callback_failed`` (share of call-backs given up), ``open_callbacks`` (neither at the
    horizon) and ``answer_rate`` with reached call-backs; ``offered`` and ``answered``: the
    queue's counts (calls that stayed in it)."""
    counted = (log.arrival >= warmup) & (log.arrival < horizon)
    n = int(counted.sum())
    reached = counted & (log.state == CallbackState.REACHED)
    n_reached = int(reached.sum())
    return {
        "callback_rate": ratio(n, offered + n),
        "callback_wait": ratio(
            float(np.sum(log.reached[reached] - log.request[reached])), n_reached
        ),
        "callback_failed": ratio(int((counted & (log.state == CallbackState.FAILED)).sum()), n),
        "open_callbacks": float((counted & (log.state == CallbackState.OPEN)).sum()),
        "answer_rate": ratio(answered + n_reached, offered + n),
        "abandon_rate": ratio(abandoned, offered + n),
    }
