"""The e-mail records: one row per e-mail (or other deferred contact) taken into the backlog.

The e-mail's call row (:mod:`sim.records.calls`) says how it ended, as for every contact; these
rows keep what the e-mail KPIs read (:mod:`sim.kpi.deferred`) beside it, so that they survive a
run that gives its call rows back as it goes (``keep_records=False``).
"""

from __future__ import annotations

from collections.abc import MutableSequence
from typing import Any

import numpy as np

from sim.records.storage import ColumnLog, Rows

__all__ = ["EMAIL_COLUMNS", "EmailLog", "Emails"]

NAN = float("nan")

# column name -> (dtype, default for a new row)
EMAIL_COLUMNS: dict[str, tuple[type, Any]] = {
    "call": (np.int64, -1),  # its call id
    "call_type": (np.int16, 0),
    "arrival": (float, NAN),  # s, when it reached the hotline
    "entry": (float, NAN),  # s, when it joined the backlog
    "start": (float, NAN),  # s, when an agent took it (nan: still waiting)
    "end": (float, NAN),  # s, end of its handling (nan: not taken)
}


class Emails(Rows):
    """Frozen e-mail records."""


class EmailLog(ColumnLog):
    """The live e-mail log (rows are e-mail ids, in the order they joined the backlog)."""

    call: MutableSequence[int]
    call_type: MutableSequence[int]
    arrival: MutableSequence[float]
    entry: MutableSequence[float]
    start: MutableSequence[float]
    end: MutableSequence[float]

    def __init__(self) -> None:
        super().__init__(EMAIL_COLUMNS, Emails)

    def freeze(self, drop: tuple[str, ...] = ()) -> Emails:
        frozen = super().freeze(drop)
        assert isinstance(frozen, Emails)
        return frozen
