"""Interval reports as untrusted input: counts and averages per interval and queue (an ACD's or
WFM tool's export), the history most centers have instead of per-call records.

The same rules as call logs (:mod:`sim.fit.calllog`, whose CSV/Parquet reading, mapping
file and number/time parsing are reused): clear one-line errors with file, line and column;
unusable rows counted by reason, more than ``MAX_BAD_SHARE`` of them refuse the report; bounds
on rows, days and labels. Figures that contradict each other (more answered plus abandoned than
offered) are unusable rows, not silently clipped. The format is in ``docs/interval-report.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from sim.fit.calllog import (
    ABANDONED,
    ANSWERED,
    MAX_BAD_SHARE,
    SELF_SERVED,
    CallLogData,
    Labels,
)
from sim.fit.logmapping import LogMapping, load_mapping
from sim.fit.logparse import (
    LabelCodes,
    Rows,
    as_text,
    column_error,
    parse_numbers,
    parse_times,
    show,
)
from sim.fit.logtable import Table
from sim.scenario.limits import MAX_LOG_DAYS, MAX_LOG_ROWS
from sim.scenario.units import DAY
from sim.scenario.yamlsource import ErrorItem, ScenarioError, load_yaml

__all__ = [
    "COUNTS",
    "REPORT_FIELDS",
    "IntervalReport",
    "ReportMapping",
    "file_kind",
    "load_report_mapping",
    "read_interval_report",
    "report_from_calls",
]

REQUIRED = ("start", "offered")
COUNTS = ("offered", "answered", "abandoned", "answered_within")  # calls: whole numbers
AVERAGES = ("handle_time", "asa", "abandon_wait")  # seconds (clock text with durations: clock)
REPORT_FIELDS = (*REQUIRED, "call_type", *COUNTS[1:], "service_time", *AVERAGES, "agents")
CALL_LOG_KEYS = ("arrival", "outcome", "wait")  # the columns that make a file a call log
MAX_DAYS = MAX_LOG_DAYS  # a longer span is refused: ten years of history is more than a fit needs
MAX_CALL_TYPES = 200  # more distinct call types than this: a wrong column mapped as call_type
MAX_AGENTS = 100_000.0
MAX_OFFERED = 20_000_000  # offered calls in all: the fit lays one time stamp per call
MAX_AVERAGE = 86_400.0  # an average handle time or wait of more than a day is a wrong value


class ReportMapping(LogMapping):
    """A mapping file for an interval report: ``columns`` names this format's fields."""

    fields: ClassVar[tuple[str, ...]] = REPORT_FIELDS
    required_fields: ClassVar[tuple[str, ...]] = REQUIRED
    label_fields: ClassVar[tuple[str, ...]] = ("call_type",)


def load_report_mapping(path: str | Path) -> LogMapping:
    """Read and validate a mapping file for an interval report (errors name file, line, key)."""
    return load_mapping(path, ReportMapping)


def _header(path: Path, delimiter: str) -> list[str]:
    """Column names of a CSV (first line) or Parquet file, without reading the rows."""
    return Table(path, delimiter, MAX_LOG_ROWS, kind="interval report").have


def file_kind(path: str | Path, mapping_file: str | Path | None = None) -> str:
    """``"intervals"`` for an interval report, ``"calls"`` for a call log (the default).

    A mapping whose ``columns`` name ``start`` or ``offered`` means a report, one naming
    ``arrival``, ``outcome`` or ``wait`` a call log; otherwise the header decides: ``start`` and
    ``offered`` without ``arrival`` is a report.
    """
    mapping: dict = {}
    if mapping_file is not None:
        data, _ = load_yaml(mapping_file)
        mapping = data if isinstance(data, dict) else {}
    given = mapping.get("columns")
    columns: dict = given if isinstance(given, dict) else {}
    if any(k in columns for k in REQUIRED):
        return "intervals"
    if any(k in columns for k in CALL_LOG_KEYS):
        return "calls"
    delimiter = mapping.get("delimiter") if isinstance(mapping.get("delimiter"), str) else ","
    have = set(_header(Path(path), delimiter or ","))
    return "intervals" if set(REQUIRED) <= have and "arrival" not in have else "calls"


@dataclass
class IntervalReport:
    """The usable rows of an interval report as numpy columns, and what was left out.

    Optional figures absent from the report are None; an empty cell is NaN.
    """

    source: str
    rows_read: int
    interval: float  # s, the report's (from the spacing of ``start``, or given)
    start: np.ndarray  # int64 seconds since 1970-01-01 00:00, local time as written
    offered: np.ndarray
    call_type: Labels | None
    figures: dict[str, np.ndarray] = field(default_factory=dict)  # answered, asa, agents, ...
    service_time: float | None = None  # s, from the column (one value for the whole report)
    writes_empty_rows: bool = False  # the export writes intervals with no call (offered 0)
    dropped: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.start)

    def figure(self, name: str) -> np.ndarray | None:
        return self.figures.get(name)


def _spacing(start: np.ndarray) -> float:
    """The most common gap between consecutive distinct starts of one day (exports omit empty
    intervals, so the smallest or the greatest common gap would be fooled by a stray row)."""
    stamps = np.unique(start)
    gaps = np.diff(stamps)
    gaps = gaps[(gaps > 0) & (gaps < DAY) & (stamps[1:] // DAY == stamps[:-1] // DAY)]
    if not len(gaps):
        return 0.0
    values, counts = np.unique(gaps, return_counts=True)
    return float(values[np.argmax(counts)])


def read_interval_report(
    path: str | Path,
    mapping: LogMapping | None = None,
    interval: float | None = None,
    default_interval: float | None = None,
) -> IntervalReport:
    """Read an interval report (CSV or Parquet, generic format or through ``mapping``).

    ``interval`` (s): the report's interval; by default read from the spacing of ``start``, or
    ``default_interval`` when no day has two rows.
    Raises :class:`ScenarioError` (file, line, column, what is allowed) for a report that
    cannot be used.
    """
    path, mapping = Path(path), mapping or ReportMapping()
    name = str(path)
    table = Table(path, mapping.delimiter, MAX_LOG_ROWS, kind="interval report")
    have, is_csv = table.have, table.csv
    sources = {f: mapping.source(f) for f in REPORT_FIELDS}
    for f in REQUIRED:
        missing = [c for c in sources[f] if c not in have]
        if missing:
            found = ", ".join(show(h) for h in have[:12]) + (" ..." if len(have) > 12 else "")
            raise column_error(
                name,
                1 if is_csv else None,
                missing[0],
                f"required column for '{f}' is missing (an interval report has start and "
                f"offered, docs/interval-report.md); the header has {found}",
            )
    present = {f: c for f, c in sources.items() if c and all(x in have for x in c)}
    col = {f: ",".join(cols) for f, cols in present.items()}
    texts = _read_texts(table, present)
    n = len(texts["start"])
    rows = Rows(name, is_csv)
    rows.batch(n)

    text = texts["start"]
    start, bad_time = parse_times(text, mapping.time_format)
    allowed = mapping.time_format or "ISO 8601 like 2003-03-03T07:00:00"
    rows.flag(col["start"], f"not a date-time ({allowed})", bad_time, text)

    clock = mapping.durations == "clock"
    values: dict[str, np.ndarray] = {}
    for f in (*COUNTS, "service_time", *AVERAGES, "agents"):
        if f not in present:
            continue
        t = texts[f]
        v, empty, bad = parse_numbers(t, clock and f in (*AVERAGES, "service_time"))
        values[f] = v
        rows.flag(col[f], "not a number", bad, t)
        rows.flag(col[f], "negative", v < 0, t)
        if f in COUNTS:
            rows.flag(col[f], "not a whole number of calls", np.abs(v - np.round(v)) > 1e-6, t)
        if f == "offered":
            rows.flag(col[f], "empty (offered is required)", empty, t)
        if f == "agents":
            rows.flag(col[f], f"more than {MAX_AGENTS:,.0f} agents", v > MAX_AGENTS, t)
        if f in AVERAGES:
            rows.flag(col[f], "more than a day", v > MAX_AVERAGE, t)
    offered = values["offered"]
    zero = lambda f: np.nan_to_num(values[f]) if f in values else np.zeros(n)  # noqa: E731
    if "answered" in values or "abandoned" in values:
        over = zero("answered") + zero("abandoned") > offered + 1e-9
        which = ",".join(col[f] for f in ("answered", "abandoned") if f in col)
        rows.flag(which, "answered + abandoned exceed offered", over, texts["offered"])
    if "answered_within" in values:
        cap = values["answered"] if "answered" in values else offered
        over = np.nan_to_num(values["answered_within"]) > np.nan_to_num(cap, nan=np.inf) + 1e-9
        capped = "answered" if "answered" in values else "offered"
        rows.flag(col["answered_within"], f"answered_within exceeds {capped}", over, texts[capped])

    rows.refuse(n, MAX_BAD_SHARE)
    ok = ~rows.bad
    if not ok.any():
        raise ScenarioError([ErrorItem(name, None, "", "the report has no usable row")])
    spacing = _spacing(start[ok])
    step = float(interval) if interval else spacing or float(default_interval or 0)
    if interval and spacing and interval % spacing:
        message = (
            f"the report's intervals are {spacing / 60:g} min apart: --interval must be a "
            f"multiple of that, got {interval / 60:g} min"
        )
        raise column_error(name, None, col["start"], message)
    if not step or step < 60 or DAY % step:
        what = f"{step:g} s" if step else "no two intervals on one day"
        message = (
            f"cannot tell the interval from the spacing of start ({what}); give it with "
            "--interval (it must divide a day and be at least 1min)"
        )
        raise column_error(name, None, col["start"], message)
    if not interval:  # read from the spacing: a row off that grid is a wrong row
        rows.flag(col["start"], f"not on the {step / 60:g}-minute grid", start % step != 0, text)
    types = None
    if "call_type" in present:
        labels = LabelCodes(name, col["call_type"], "call_type", MAX_CALL_TYPES)
        codes = labels.encode(texts["call_type"], mapping.missing_codes("call_type"), rows)
        names = labels.names
        if (codes < 0).any():  # empty or a missing code: one type of its own
            codes = np.where(codes < 0, len(names), codes)
            names = [*names, "unknown"]
        types = Labels(codes, names)
    key = start.astype(np.int64) * (MAX_CALL_TYPES + 1)
    key = key + (types.codes if types is not None else 0)
    order = np.argsort(key, kind="stable")
    seen_before = np.zeros(n, dtype=bool)
    seen_before[order[1:]] = key[order[1:]] == key[order[:-1]]
    rows.flag(col["start"], "the same interval (and call type) twice", seen_before, text)

    dropped, examples = rows.report()
    rows.refuse(n, MAX_BAD_SHARE)
    ok = ~rows.bad
    if not ok.any() or not offered[ok].sum():
        raise ScenarioError([ErrorItem(name, None, "", "the report has no offered call")])
    if offered[ok].sum() > MAX_OFFERED:
        message = f"more than {MAX_OFFERED:,} offered calls in all; split the report"
        raise column_error(name, None, col["offered"], message)
    span = (start[ok].max() - start[ok].min()) / DAY
    if span > MAX_DAYS:
        message = f"the report spans {span:,.0f} days (at most {MAX_DAYS:,}); cut it"
        raise column_error(name, None, col["start"], message)
    service_time = None
    if "service_time" in values:
        given = np.unique(values["service_time"][ok & ~np.isnan(values["service_time"])])
        if len(given) > 1:
            message = (
                f"several service-level thresholds ({', '.join(f'{v:g}' for v in given[:5])} s);"
                " a report holds one (split it)"
            )
            raise column_error(name, None, col["service_time"], message)
        service_time = float(given[0]) if len(given) else None
    return IntervalReport(
        name,
        n,
        step,
        start[ok],
        offered[ok],
        Labels(types.codes[ok], types.names) if types is not None else None,
        {f: v[ok] for f, v in values.items() if f not in ("offered", "service_time")},
        service_time,
        bool((offered[ok] == 0).any()),
        dropped,
        examples,
    )


def _read_texts(table: Table, present: dict[str, list[str]]) -> dict:
    """Every field read as text (columns joined with a space), the batches put together: a
    report is small (a year of 30-minute intervals is 17,520 rows a queue)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cols = sorted({c for cs in present.values() for c in cs})
    table.check_types(cols)
    parts: dict[str, list] = {f: [] for f in present}
    for batch in table.batches(cols, []):
        for f, cs in present.items():
            try:
                texts = [as_text(batch.column(c)) for c in cs]
            except pa.ArrowInvalid:
                raise column_error(table.name, None, cs[0], "bytes that are not UTF-8") from None
            joined = texts[0] if len(texts) == 1 else pc.binary_join_element_wise(*texts, " ")
            parts[f].append(joined)
    return {f: pa.concat_arrays(p) if p else pa.array([], pa.string()) for f, p in parts.items()}


def report_from_calls(
    data: CallLogData, interval: float, within: float, agents: dict | None = None
) -> dict[str, np.ndarray]:
    """The interval report of a call log: one row per interval and call type with calls.

    Intervals with no call are left out, as most exports do. ``agents`` (``{start: n}``, start
    in seconds as in ``data.arrival``) fills the ``agents`` column; without it the column holds
    the distinct agents answering in the interval when the log names them. For tests and to
    compare a call-log fit with a report fit of the same traffic.
    """
    queued = data.outcome != SELF_SERVED  # never asked for an agent
    slot = (data.arrival // int(interval)).astype(np.int64)
    ctype = data.labels.get("call_type")
    codes = ctype.codes if ctype is not None else np.zeros(len(data), dtype=np.int32)
    names = ctype.names if ctype is not None else ["all"]
    width = len(names) + 1
    key = slot * width + codes + 1
    keys, inv = np.unique(key[queued], return_inverse=True)
    sub = lambda a: a[queued]  # noqa: E731
    add = lambda w: np.bincount(inv, weights=w, minlength=len(keys))  # noqa: E731
    answered = sub(data.outcome) == ANSWERED
    abandoned = sub(data.outcome) == ABANDONED
    wait = sub(data.wait)
    n_ans, n_ab = add(answered * 1.0), add(abandoned * 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = {
            "start": (keys // width) * int(interval),
            "call_type": np.array(names, dtype=object)[keys % width - 1],
            "offered": add(np.ones(len(inv))).astype(np.int64),
            "answered": n_ans.astype(np.int64),
            "abandoned": n_ab.astype(np.int64),
            "answered_within": add(answered & (wait <= within)).astype(np.int64),
            "service_time": np.full(len(keys), within),
            "handle_time": add(np.where(answered, sub(data.handle), 0.0)) / n_ans,
            "asa": add(np.where(answered, wait, 0.0)) / n_ans,
            "abandon_wait": add(np.where(abandoned, wait, 0.0)) / n_ab,
        }
    slots = keys // width
    if agents is not None:
        out["agents"] = np.array([agents.get(int(s) * int(interval), np.nan) for s in slots])
    elif "agent" in data.labels:
        who = data.labels["agent"].codes[queued]
        mine = answered & (who >= 0)
        answer_slot = ((sub(data.arrival) + wait) // int(interval)).astype(np.int64)
        pairs = np.unique(answer_slot[mine] * (len(data.labels["agent"].names) + 1) + who[mine])
        per_slot = np.unique(pairs // (len(data.labels["agent"].names) + 1), return_counts=True)
        seen = dict(zip(per_slot[0].tolist(), per_slot[1].tolist(), strict=True))
        out["agents"] = np.array([seen.get(int(s), 0) for s in slots], dtype=float)
    return out
