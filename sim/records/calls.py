"""The call records: where a call stands and why it was made (the codes of its columns), its
columns, the live call log the model writes and the frozen calls the KPIs read."""

from __future__ import annotations

from collections.abc import MutableSequence
from enum import IntEnum
from typing import Any

import numpy as np

from sim.records.storage import NAN, ColumnLog, Rows

__all__ = [
    "CALL_COLUMNS",
    "IN_PROGRESS",
    "RUN_ONLY_COLUMNS",
    "CallLog",
    "Calls",
    "Origin",
    "Outcome",
]


class Outcome(IntEnum):
    """Where a call stands, written when it happens. How it ended: OPEN, still in the IVR or
    the queue when the horizon came; SELF_SERVED, ANSWERED, ABANDONED; DISCONNECTED, cut off
    while waiting when no group of its route had anyone on duty (``routing.at_close:
    disconnect``). ANSWERED and SELF_SERVED are written once decided (the end may lie ahead).
    In progress, never left in the records (at the horizon they become OPEN): ARRIVING, drawn
    and not yet in the queue (due to arrive, or in the IVR); WAITING, in a queue."""

    OPEN = 0
    SELF_SERVED = 1
    ANSWERED = 2
    ABANDONED = 3
    DISCONNECTED = 4
    ARRIVING = 5
    WAITING = 6
    CALLBACK = 7
    CALLED_BACK = 8
    CALLBACK_FAILED = 9


IN_PROGRESS = (int(Outcome.ARRIVING), int(Outcome.WAITING), int(Outcome.CALLBACK))
"""The outcomes of a call that has not ended: its row will still change."""


class Origin(IntEnum):
    """Why a call was made: a fresh call, a redial, a call caused by earlier business, or a
    customer reached by an outbound dialer."""

    FIRST = 0
    AFTER_ABANDON = 1
    AFTER_UNRESOLVED = 2
    DELIVERY_COMPLAINT = 3
    WORK_ORDER_UNRESOLVED = 4
    OUTBOUND = 5


# column name -> (dtype, default for a new row)
CALL_COLUMNS: dict[str, tuple[type, Any]] = {
    "arrival": (float, NAN),  # s, when the call reached the hotline
    "queue_entry": (float, NAN),  # s, when it left the IVR for the agent queue (nan: never)
    "tier": (np.int16, 0),
    "call_type": (np.int16, 0),
    "customer": (np.int64, 0),
    "attempt": (np.int32, 0),  # 0 for a first call, k for the k-th call again
    "origin": (np.int8, 0),  # Origin
    "outcome": (np.int8, int(Outcome.ARRIVING)),  # Outcome
    "answer": (float, NAN),  # s, when an agent took it
    "end": (float, NAN),  # s, end of talk (answered), hang-up (abandoned), IVR exit (self-served)
    "release": (float, NAN),  # s, the agent free again (after after-call work)
    "group": (np.int16, -1),
    "agent": (np.int32, -1),
    "resolved": (bool, False),
    "patience": (float, NAN),  # s, drawn at arrival
    "handle": (float, NAN),  # s, base talk time before the group's factor
}


class Calls(Rows):
    """Frozen call records."""

    def wait(self) -> np.ndarray:
        """Time in the agent queue: to answer, to hang-up; nan if never queued or still open."""
        stop = np.where(self.outcome == Outcome.ANSWERED, self.answer, self.end)
        return stop - self.queue_entry


RUN_ONLY_COLUMNS = ("customer", "attempt", "origin", "agent", "patience")
"""Call columns the model needs while it runs and the KPIs never read."""


class CallLog(ColumnLog):
    """The live call log (rows are call ids); one column per entry of :data:`CALL_COLUMNS`
    (a ``memoryview``, or an ``array.array`` where memory cannot be reserved)."""

    arrival: MutableSequence[float]
    queue_entry: MutableSequence[float]
    tier: MutableSequence[int]
    call_type: MutableSequence[int]
    customer: MutableSequence[int]
    attempt: MutableSequence[int]
    origin: MutableSequence[int]
    outcome: MutableSequence[int]
    answer: MutableSequence[float]
    end: MutableSequence[float]
    release: MutableSequence[float]
    group: MutableSequence[int]
    agent: MutableSequence[int]
    resolved: MutableSequence[int]
    patience: MutableSequence[float]
    handle: MutableSequence[float]

    def __init__(self) -> None:
        super().__init__(CALL_COLUMNS, Calls)

    def freeze(self, drop: tuple[str, ...] = ()) -> Calls:
        frozen = super().freeze(drop)
        assert isinstance(frozen, Calls)
        return frozen

    def rows(self, lo: int, hi: int) -> Calls:
        frozen = super().rows(lo, hi)
        assert isinstance(frozen, Calls)
        return frozen
