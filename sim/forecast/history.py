"""A history as calls per day, interval and call type: the one input every forecast method reads.

Two entry points fill it: :func:`counts_from_call_log` (a call log read by
:mod:`sim.fit.calllog`) and :func:`read_interval_report` (rows of ``start, offered
[, call_type]``). A day with no row at all is *no data* (``has_data`` False), never zero calls:
whether it was closed is said by the special days, not guessed from a gap. Inside a day that has
rows, an interval without one had no calls (exports leave out empty intervals).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sim.fit.calllog import SELF_SERVED, CallLogData, load_mapping, read_call_log
from sim.scenario.yamlsource import ErrorItem, ScenarioError

__all__ = [
    "MAX_CELLS",
    "MAX_DAYS",
    "History",
    "counts_from_call_log",
    "read_history",
    "read_interval_report",
]

DAY = 86400
MAX_DAYS = 3660  # a history spanning more days is refused (a stray date in 1900, ...)
MAX_TYPES = 100
MAX_CELLS = 40_000_000  # days x intervals x call types held in memory (320 MB of floats)


@dataclass
class History:
    """Calls per (day, interval, call type) from ``first_day`` on, and which days have data."""

    source: str
    kind: str  # "call log" or "interval report"
    first_day: np.datetime64  # datetime64[D]
    interval: int  # seconds
    counts: np.ndarray  # (days, per_day, types) float
    has_data: np.ndarray  # (days,) bool
    types: list[str]  # names of the call types; [] when the history has none
    handle_means: dict[str, float] = field(default_factory=dict)  # s per type, "" for all

    @property
    def days(self) -> int:
        return len(self.has_data)

    @property
    def totals(self) -> np.ndarray:
        """(days, per_day) calls of every type."""
        return self.counts.sum(axis=2)

    def date(self, day: int) -> np.datetime64:
        return self.first_day + np.timedelta64(day, "D")


def _bin(
    source: str,
    kind: str,
    seconds: np.ndarray,
    type_codes: np.ndarray,
    types: list[str],
    weights: np.ndarray | None,
    interval: int,
    row_days: np.ndarray | None = None,
) -> History:
    """Sum ``weights`` (1 per call when None) by day, interval and type; the days of
    ``row_days`` (every row's, default those of ``seconds``) have data."""
    day = seconds // DAY
    row_days = day if row_days is None else row_days
    first, last = int(row_days.min()), int(row_days.max())
    n_days = last - first + 1
    if n_days > MAX_DAYS:
        a, b = (str(np.datetime64(d, "D")) for d in (first, last))
        raise ScenarioError(
            [
                ErrorItem(
                    source, None, "", f"spans {n_days:,} days ({a} to {b}); at most {MAX_DAYS:,}"
                )
            ]
        )
    per_day = DAY // interval
    n_types = max(len(types), 1)
    if n_days * per_day * n_types > MAX_CELLS:
        raise ScenarioError(
            [
                ErrorItem(
                    source,
                    None,
                    "",
                    f"{n_days:,} days x {per_day} intervals x {n_types} call types is too much "
                    f"to hold (at most {MAX_CELLS:,}): use a longer --interval or fewer days",
                )
            ]
        )
    slot = (day - first) * per_day + (seconds % DAY) // interval
    cell = slot * n_types + np.maximum(type_codes, 0)
    counts = np.bincount(cell, weights=weights, minlength=n_days * per_day * n_types)
    has_data = np.bincount(row_days - first, minlength=n_days) > 0
    return History(
        source,
        kind,
        np.datetime64(first, "D"),
        interval,
        counts.reshape(n_days, per_day, n_types).astype(float),
        has_data,
        list(types),
    )


def _type_codes(codes: np.ndarray | None, names: list[str]) -> tuple[np.ndarray, list[str]]:
    """Type codes 0..k-1 of the types actually used (an unknown type, code -1, is its own)."""
    if codes is None or not names:
        return np.zeros(0 if codes is None else len(codes), dtype=np.int64), []
    used, inverse = np.unique(codes, return_inverse=True)
    if len(used) > MAX_TYPES:
        raise ValueError(f"{len(used)} call types; at most {MAX_TYPES}")
    labels = [names[c] if c >= 0 else "(none)" for c in used.tolist()]
    if len(labels) == 1:
        return np.zeros(len(codes), dtype=np.int64), labels
    return inverse.astype(np.int64), labels


def counts_from_call_log(data: CallLogData, interval: int) -> History:
    """Calls offered to agents (answered or abandoned; self-served ones stayed in the IVR) per
    day, interval and call type. Every row, self-served ones too, marks its day as having data."""
    if interval < 60 or DAY % interval:
        raise ValueError("the interval must divide a day and be at least 1min")
    offered = data.outcome != SELF_SERVED
    if not offered.any():
        raise ScenarioError([ErrorItem(data.source, None, "", "no call was offered to an agent")])
    label = data.labels.get("call_type")
    try:
        codes, types = _type_codes(
            None if label is None else label.codes[offered], [] if label is None else label.names
        )
    except ValueError as exc:
        raise ScenarioError(
            [ErrorItem(data.source, None, "column 'call_type'", str(exc))]
        ) from None
    arrival = data.arrival  # days with only self-served calls have data too
    hist = _bin(
        data.source, "call log", arrival[offered], codes, types, None, interval, arrival // DAY
    )
    answered = np.isfinite(data.handle) & offered
    if answered.any():
        hist.handle_means[""] = float(data.handle[answered].mean())
        for t, name in enumerate(types):
            sel = answered[offered] & (codes == t)
            if sel.any():
                hist.handle_means[name] = float(data.handle[offered][sel].mean())
    return hist


# --- interval reports --------------------------------------------------------------------------


def read_interval_report(
    path: str | Path, interval: int, mapping: str | Path | None = None
) -> History:
    """Offered calls per day, interval and call type from an interval report (CSV or Parquet,
    read by :mod:`sim.fit.interval_report`, the reader ``sim fit`` uses).

    Report intervals finer than ``interval`` (15 minutes into 30) are summed; coarser ones are
    refused. Raises :class:`ScenarioError` naming the file, line and column.
    """
    from sim.fit import interval_report as ir

    spec = ir.load_report_mapping(mapping) if mapping else None
    report = ir.read_interval_report(path, spec, default_interval=interval)
    step = int(report.interval)
    if interval % step:
        message = (
            f"the report's rows are {step // 60} min apart (a {step // 60}-minute grid); "
            "--interval must be a multiple of it"
        )
        raise ScenarioError([ErrorItem(report.source, None, "column 'start'", message)])
    label = report.call_type
    try:
        codes, types = _type_codes(
            None if label is None else label.codes, [] if label is None else label.names
        )
    except ValueError as exc:
        raise ScenarioError(
            [ErrorItem(report.source, None, "column 'call_type'", str(exc))]
        ) from None
    if label is None:
        codes = np.zeros(len(report), dtype=np.int64)
    return _bin(
        report.source, "interval report", report.start, codes, types, report.offered, interval
    )


def read_history(path: str | Path, mapping: str | Path | None, interval: int) -> History:
    """A call log or an interval report, recognised from its columns (and a mapping's) as
    ``sim fit`` recognises them."""
    from sim.fit.interval_report import file_kind

    if file_kind(path, mapping) == "intervals":
        return read_interval_report(path, interval, mapping)
    spec = load_mapping(mapping) if mapping else None
    return counts_from_call_log(read_call_log(path, spec), interval)
