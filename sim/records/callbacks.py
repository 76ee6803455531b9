"""The call-back records: one row per call-back a caller asked for (``routing.callback``), its
codes and columns; the model writes them (:mod:`sim.model.callbacks`), the KPIs read them."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

import numpy as np

from sim.records.storage import NAN

__all__ = ["CALLBACK_COLUMNS", "CallbackState"]


class CallbackState(IntEnum):
    """How a call-back ended. OPEN: not yet reached nor given up at the horizon."""

    OPEN = 0
    REACHED = 1
    FAILED = 2


CALLBACK_COLUMNS: dict[str, tuple[type, Any]] = {
    "call": (np.int64, -1),  # the call id whose caller asked for it
    "arrival": (float, NAN),  # s, the call's arrival (warm-up: counted as the call is)
    "request": (float, NAN),  # s, when the caller took the call-back and left the queue
    "state": (np.int8, int(CallbackState.OPEN)),  # CallbackState
    "attempts": (np.int16, 0),  # attempts made so far
    "reached": (float, NAN),  # s, when an agent reached the customer
}
