"""Call logs as untrusted input: the generic CSV/Parquet format, mapping files, row checks.

Owns turning a switch's export into clean numpy columns (one row per call that asked for an
agent) and saying exactly which rows could not be used and why. Rows are never dropped silently:
each unusable row is counted by reason and the first few are reported with their line and
column; above :data:`MAX_BAD_SHARE` the whole log is refused. Values from the file are quoted
only shortened (:func:`_show`), never at large. The format is in ``docs/call-log.md``.

Reading is vectorised with pyarrow (its multi-threaded CSV reader, compute kernels for parsing
times and numbers); there is no Python loop over rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import pydantic
from pydantic import Field

from sim.scenario.confine import excerpt
from sim.scenario.schema_types import Model
from sim.scenario.yamlsource import ErrorItem, ScenarioError, load_yaml, validation_error

__all__ = [
    "ABANDONED",
    "ANSWERED",
    "FIELDS",
    "MAX_BAD_SHARE",
    "SELF_SERVED",
    "CallLogData",
    "LogMapping",
    "load_mapping",
    "read_call_log",
]

SELF_SERVED, ANSWERED, ABANDONED = 1, 2, 3  # the codes of sim.model.records.Outcome
OUTCOME_NAMES = {"self_served": SELF_SERVED, "answered": ANSWERED, "abandoned": ABANDONED}
REQUIRED = ("arrival", "outcome", "wait")
NUMERIC = ("wait", "handle_time", "after_call_work")
LABELS = ("call_type", "tier", "agent", "group", "customer")
FIELDS = (*REQUIRED, "handle_time", *LABELS, "after_call_work")
MAX_BAD_SHARE = 0.05  # more unusable rows than this: the log is refused
MAX_EXAMPLES = 5  # offending rows shown per log
MAX_ROWS = 50_000_000  # a bigger log is refused (memory: ~60 bytes a row once parsed)
ISO_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M")
_NUMBER = r"^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$"
_CLOCK = r"^\s*[0-9]+:[0-5]?[0-9](:[0-5]?[0-9](\.[0-9]*)?)?\s*$"


class LogMapping(Model):
    """How an export that is not in the generic format maps onto it (``--map FILE``)."""

    fields: ClassVar[tuple[str, ...]] = FIELDS  # what ``columns`` may name

    columns: dict[str, str | list[str]] = Field(
        default_factory=dict,
        description="field -> the export's column, or a list of columns joined with a space",
    )
    outcomes: dict[str, Literal["answered", "abandoned", "self_served", "skip"]] = Field(
        default_factory=dict, description="the export's outcome codes -> ours; skip drops the row"
    )
    time_format: str | None = Field(
        None, description="strptime format of arrival (after joining), e.g. '%y%m%d %H:%M:%S'"
    )
    durations: Literal["seconds", "clock"] = Field(
        "seconds", description="wait and handle times as seconds, or clock text H:MM:SS"
    )
    delimiter: str = Field(",", min_length=1, max_length=1, description="CSV field separator")
    missing: list[str] = Field(
        default_factory=list,
        description="label values that mean 'not known' (e.g. customer 0, agent NO_SERVER)",
    )
    tier_priority: dict[str, int] = Field(
        default_factory=dict, description="tier -> priority (0 served first), if known"
    )

    @pydantic.field_validator("columns")
    @classmethod
    def _known_fields(cls, v):
        for key, cols in v.items():
            if key not in cls.fields:
                raise ValueError(f"unknown field '{key}'; fields: {', '.join(cls.fields)}")
            if isinstance(cols, list) and (not cols or len(cols) > 4):
                raise ValueError(f"{key}: give 1 to 4 columns to join")
        return v

    def source(self, name: str) -> list[str]:
        cols = self.columns.get(name, name)
        return [cols] if isinstance(cols, str) else list(cols)


def load_mapping(path: str | Path, kind: type[LogMapping] | None = None) -> LogMapping:
    """Read and validate a mapping file; errors name the file, line and key."""
    data, smap = load_yaml(path)
    try:
        return (kind or LogMapping).model_validate(data)
    except pydantic.ValidationError as exc:
        raise validation_error(exc, smap, kind or LogMapping) from None


@dataclass
class Labels:
    """A label column dictionary-encoded: ``names[codes[i]]``; code -1 when empty."""

    codes: np.ndarray
    names: list[str]


@dataclass
class CallLogData:
    """The usable rows of a call log as numpy columns, and what was left out."""

    source: str
    rows_read: int
    arrival: np.ndarray  # int64 seconds since 1970-01-01 00:00, local time as written
    outcome: np.ndarray  # int8: SELF_SERVED, ANSWERED, ABANDONED
    wait: np.ndarray  # float s
    handle: np.ndarray  # float s, nan unless answered
    acw: np.ndarray | None = None
    labels: dict[str, Labels] = field(default_factory=dict)  # call_type, tier, agent, ...
    dropped: dict[str, int] = field(default_factory=dict)  # reason -> rows
    examples: list[str] = field(default_factory=list)  # first offending rows, with line

    def __len__(self) -> int:
        return len(self.arrival)

    def keep(self, mask: np.ndarray) -> CallLogData:
        """The same log restricted to ``mask`` (e.g. without very short calls)."""
        sub = lambda a: None if a is None else a[mask]  # noqa: E731
        return CallLogData(
            self.source,
            self.rows_read,
            self.arrival[mask],
            self.outcome[mask],
            self.wait[mask],
            self.handle[mask],
            sub(self.acw),
            {k: Labels(v.codes[mask], v.names) for k, v in self.labels.items()},
            dict(self.dropped),
            list(self.examples),
        )


def _show(value) -> str:
    """A value from the file, shortened: never echo a file at large."""
    text = str(value)
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _error(source: str, line: int | None, column: str, message: str) -> ScenarioError:
    return ScenarioError([ErrorItem(source, line, f"column '{column}'", message)])


def _read_table(path: Path, mapping: LogMapping, wanted: list[str]):
    """The raw table: Parquet as stored, CSV with every wanted column read as text."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    name = str(path)
    if not path.is_file():
        problem = "not a regular file" if path.exists() else "file not found"
        raise ScenarioError([ErrorItem(name, None, "", problem)])
    head: list[str] = []  # the CSV's first lines, once read
    have: list[str] = []
    try:
        if path.suffix.lower() not in (".parquet", ".pq"):
            _check_text(path, name)
        if path.suffix.lower() in (".parquet", ".pq"):
            pf = pq.ParquetFile(path)
            if pf.metadata.num_rows > MAX_ROWS:
                raise _error(name, None, "*", f"more than {MAX_ROWS:,} rows; split the log")
            have = pf.schema_arrow.names
            return pf.read(columns=[c for c in wanted if c in have]), have, False
        with open(path, "rb") as fh:
            head = fh.read(1 << 16).decode("utf-8-sig", errors="replace").splitlines()
        header = next(iter(head), "")
        have = [h.strip().strip('"') for h in header.split(mapping.delimiter)]
        table = pacsv.read_csv(
            path,
            parse_options=pacsv.ParseOptions(delimiter=mapping.delimiter),
            convert_options=pacsv.ConvertOptions(
                include_columns=[c for c in wanted if c in have],
                column_types={c: pa.string() for c in wanted},
                strings_can_be_null=False,
            ),
        )
    except ScenarioError:
        raise
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
        ragged = _ragged_line(path, mapping.delimiter, len(have)) if head else None
        if ragged is not None:
            line, fields = ragged
            message = f"{fields} fields where the header has {len(have)} (a row cut short, or an "
            message += "unquoted delimiter inside a value)"
            raise ScenarioError([ErrorItem(name, line, "", message)]) from None
        text = excerpt(str(exc).splitlines()[0], 120)
        raise ScenarioError([ErrorItem(name, None, "", f"cannot read the log: {text}")]) from None
    if table.num_rows > MAX_ROWS:
        raise _error(name, None, "*", f"more than {MAX_ROWS:,} rows; split the log")
    return table, have, True


def _check_text(path: Path, name: str) -> None:
    """A CSV log is UTF-8 text: a binary file (or another encoding) is named as such instead of
    the parser echoing its bytes back."""
    import codecs

    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    nul = head.find(b"\x00")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        where = nul
    except UnicodeDecodeError as exc:
        where = exc.start if nul < 0 else min(nul, exc.start)
    if where < 0:
        return
    message = f"not UTF-8 text (byte {where}): a call log is a CSV file in UTF-8, or Parquet"
    raise ScenarioError([ErrorItem(name, None, "", message)])


def _ragged_line(path: Path, delimiter: str, columns: int) -> tuple[int, int] | None:
    """(line, fields) of the first row whose field count differs from the header's, or None.
    Read again only when the parser failed, to name the line instead of quoting the row."""
    import csv

    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        next(reader, None)
        for row in reader:
            if row and len(row) != columns:
                return reader.line_num, len(row)
    return None


class _Rows:
    """Collects per-row problems: a boolean mask per reason, with the column it concerns."""

    def __init__(self, n: int, source: str, csv: bool):
        self.n, self.source, self.csv = n, source, csv
        self.bad = np.zeros(n, dtype=bool)
        # values: the column as read (a NumPy or Arrow array, indexed by row) or None
        self.reasons: list[tuple[str, str, np.ndarray, Any]] = []
        self.first_rows: list[tuple[int, str, str, Any]] = []  # set by report()

    def flag(self, column: str, reason: str, mask: np.ndarray, values: Any) -> None:
        mask = np.asarray(mask, dtype=bool) & ~self.bad
        if mask.any():
            self.reasons.append((column, reason, mask, values))
            self.bad |= mask

    def where(self, row: int) -> str:
        return f"line {row + 2}" if self.csv else f"row {row + 1}"

    def report(self) -> tuple[dict[str, int], list[str]]:
        dropped, firsts = {}, []
        for column, reason, mask, values in self.reasons:
            dropped[f"{column}: {reason}"] = int(mask.sum())
            for row in np.flatnonzero(mask)[:MAX_EXAMPLES].tolist():
                firsts.append((row, column, reason, values[row] if values is not None else ""))
        firsts.sort()
        self.first_rows = firsts[:MAX_EXAMPLES]
        examples = [
            f"{self.source}: {self.where(r)}: column '{c}': {reason} ({_show(v)})"
            for r, c, reason, v in firsts[:MAX_EXAMPLES]
        ]
        return dropped, examples

    def refuse_if_too_many(self, dropped: dict[str, int]) -> None:
        """Raise, with the counts by reason and the first rows, above :data:`MAX_BAD_SHARE`."""
        n_bad, n = int(self.bad.sum()), self.n
        if not n or n_bad <= MAX_BAD_SHARE * n:
            return
        counts = "; ".join(f"{k}: {v:,}" for k, v in dropped.items())
        summary = ErrorItem(
            self.source,
            None,
            "rows",
            f"{n_bad:,} of {n:,} rows cannot be used (more than {MAX_BAD_SHARE:.0%}): "
            f"{counts}; the first offending rows follow",
        )
        raise ScenarioError(
            [summary]
            + [  # one item per offending row: the line (CSV) or row (Parquet) and column
                ErrorItem(
                    self.source,
                    r + 2 if self.csv else None,
                    f"column '{c}'" if self.csv else f"row {r + 1}: column '{c}'",
                    f"{reason} ({_show(v)})",
                )
                for r, c, reason, v in self.first_rows
            ]
        )


def _text(table, cols: list[str]):
    """The column (or columns joined with a space) as an arrow string array."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arrays = []
    for c in cols:
        col = table.column(c).combine_chunks()
        if pa.types.is_timestamp(col.type):
            col = pc.strftime(col, format="%Y-%m-%dT%H:%M:%S")
        elif not pa.types.is_string(col.type):
            col = pc.cast(col, pa.string())
        arrays.append(pc.fill_null(col, ""))
    if len(arrays) == 1:
        return arrays[0]
    return pc.binary_join_element_wise(*arrays, " ")


def _encode(text) -> tuple[np.ndarray, list[str]]:
    """Dictionary-encode a string array: (int32 codes, distinct values)."""
    import pyarrow.compute as pc

    enc = pc.dictionary_encode(text)
    codes = enc.indices.to_numpy(zero_copy_only=False).astype(np.int32)
    return codes, enc.dictionary.to_pylist()


def _parse_times(text, fmt: str | None):
    """Seconds since 1970 as int64 (local time as written) and a mask of unparseable values."""
    import pyarrow as pa
    import pyarrow.compute as pc

    stripped = pc.utf8_trim_whitespace(text)
    if fmt is None:
        stripped = pc.replace_substring_regex(stripped, r"(:[0-9]{2})\.[0-9]+$", r"\1")
    out = None
    for f in (fmt,) if fmt is not None else ISO_FORMATS:
        parsed = pc.strptime(stripped, format=f, unit="s", error_is_null=True)
        out = parsed if out is None else pc.coalesce(out, parsed)
    values = pc.cast(out, pa.int64()).to_numpy(zero_copy_only=False)
    bad = np.asarray(pc.is_null(out).to_numpy(zero_copy_only=False), dtype=bool)
    return np.where(bad, 0, values).astype(np.int64), bad


def _parse_numbers(text, clock: bool):
    """Floats; (value, empty mask, unparseable mask). ``clock`` also accepts H:MM:SS."""
    import pyarrow as pa
    import pyarrow.compute as pc

    empty = np.asarray(
        pc.equal(pc.utf8_trim_whitespace(text), "").to_numpy(zero_copy_only=False), dtype=bool
    )
    is_num = np.asarray(
        pc.match_substring_regex(text, _NUMBER).to_numpy(zero_copy_only=False), dtype=bool
    )
    values = np.full(len(text), np.nan)
    if is_num.any():
        nums = pc.if_else(pa.array(is_num), text, "0")
        values = np.where(
            is_num, pc.cast(nums, pa.float64()).to_numpy(zero_copy_only=False), np.nan
        )
    bad = ~empty & ~is_num
    if clock and bad.any():
        is_clock = np.asarray(
            pc.match_substring_regex(text, _CLOCK).to_numpy(zero_copy_only=False), dtype=bool
        )
        if is_clock.any():
            clock_text = pc.utf8_trim_whitespace(pc.if_else(pa.array(is_clock), text, "0:0"))
            colons = pc.count_substring(clock_text, ":").to_numpy(zero_copy_only=False)
            padded = pc.if_else(
                pa.array(colons == 1), pc.binary_join_element_wise("0", clock_text, ":"), clock_text
            )  # M:SS -> 0:M:SS
            parts = pc.split_pattern(padded, ":")
            secs = sum(
                pc.cast(pc.list_element(parts, k), pa.float64()).to_numpy(zero_copy_only=False)
                * scale
                for k, scale in ((0, 3600.0), (1, 60.0), (2, 1.0))
            )
            values = np.where(is_clock, secs, values)
            bad &= ~is_clock
    return values, empty, bad


def read_call_log(path: str | Path, mapping: LogMapping | None = None) -> CallLogData:
    """Read a call log (CSV or Parquet, generic format or through ``mapping``).

    Raises :class:`ScenarioError` (file, line, column, what is allowed) for a log that cannot
    be used: a missing required column, or more than :data:`MAX_BAD_SHARE` unusable rows.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    path, mapping = Path(path), mapping or LogMapping()
    name = str(path)
    sources = {f: mapping.source(f) for f in FIELDS}
    wanted = sorted({c for cols in sources.values() for c in cols})
    table, have, is_csv = _read_table(path, mapping, wanted)
    for f in REQUIRED:
        missing = [c for c in sources[f] if c not in have]
        if missing:
            found = ", ".join(_show(h) for h in have[:12]) + (" ..." if len(have) > 12 else "")
            hint = "" if f in mapping.columns else f" (map it with --map: columns: {{{f}: ...}})"
            raise _error(
                name,
                1 if is_csv else None,
                missing[0],
                f"required column for '{f}' is missing; the header has {found}{hint}",
            )
    present = {f: cols for f, cols in sources.items() if all(c in have for c in cols)}
    n = table.num_rows
    rows = _Rows(n, name, is_csv)
    col = {f: ",".join(cols) for f, cols in present.items()}

    first = table.column(present["arrival"][0])
    if len(present["arrival"]) == 1 and pa.types.is_timestamp(first.type):
        stamps = pc.cast(first, pa.timestamp("s"), safe=False)
        bad_time = np.asarray(pc.is_null(stamps).to_numpy(zero_copy_only=False), dtype=bool)
        arrival = (
            pc.fill_null(pc.cast(stamps, pa.int64()), 0)
            .to_numpy(zero_copy_only=False)
            .astype(np.int64)
        )
        text = None
    else:
        text = _text(table, present["arrival"])
        arrival, bad_time = _parse_times(text, mapping.time_format)
    allowed = mapping.time_format or "ISO 8601 like 1999-02-01T08:09:22"
    rows.flag(col["arrival"], f"not a date-time ({allowed})", bad_time, text)

    raw_outcome = pc.utf8_trim_whitespace(_text(table, present["outcome"]))
    codes = {k: v for k, v in OUTCOME_NAMES.items()}
    if mapping.outcomes:
        codes = {k: (OUTCOME_NAMES.get(v, 0)) for k, v in mapping.outcomes.items()}
    word_codes, words = _encode(raw_outcome)
    lookup = np.array([codes.get(w, codes.get(w.lower(), -1)) for w in words] or [-1], np.int8)
    outcome = lookup[word_codes]
    allowed_out = ", ".join(codes) if mapping.outcomes else "answered, abandoned, self_served"
    rows.flag(col["outcome"], f"unknown outcome (allowed: {allowed_out})", outcome < 0, raw_outcome)

    clock = mapping.durations == "clock"
    numbers = {}
    for f in NUMERIC:
        if f not in present:
            continue
        stored = table.column(present[f][0])
        if len(present[f]) == 1 and (
            pa.types.is_integer(stored.type) or pa.types.is_floating(stored.type)
        ):
            values = pc.cast(stored, pa.float64()).to_numpy(zero_copy_only=False)
            values = np.asarray(values, dtype=float)
            t, empty, bad = values, np.isnan(values), np.zeros(n, dtype=bool)
        else:
            t = _text(table, present[f])
            values, empty, bad = _parse_numbers(t, clock)
        numbers[f] = values
        rows.flag(col[f], "not a number", bad, t)
        rows.flag(col[f], "negative", values < 0, t)
        if f == "wait":
            rows.flag(col[f], "empty", empty, t)
    handle = numbers.get("handle_time", np.full(n, np.nan))
    answered = outcome == ANSWERED
    rows.flag(
        col.get("handle_time", "handle_time"),
        "answered call without a handle time",
        answered & np.isnan(handle),
        None,
    )
    skip = outcome == 0  # mapped to skip: left out on purpose, counted, not an error
    ok = ~rows.bad & ~skip
    dropped, examples = rows.report()
    rows.refuse_if_too_many(dropped)
    if skip.any():
        dropped["outcome: mapped to skip"] = int((skip & ~rows.bad).sum())
    if not ok.any():
        raise ScenarioError([ErrorItem(name, None, "", "the log has no usable call")])
    labels = {}
    for f in LABELS:
        if f in present:
            codes_f, names = _encode(pc.utf8_trim_whitespace(_text(table, present[f])))
            unknown = [i for i, v in enumerate(names) if v == "" or v in mapping.missing]
            if unknown:
                codes_f = np.where(np.isin(codes_f, unknown), -1, codes_f)
            labels[f] = Labels(codes_f[ok], names)
    order = np.argsort(arrival[ok], kind="stable")
    data = CallLogData(
        name,
        n,
        arrival[ok],
        outcome[ok],
        numbers["wait"][ok],
        np.where(answered, handle, np.nan)[ok],
        numbers["after_call_work"][ok] if "after_call_work" in numbers else None,
        labels,
        dropped,
        examples,
    )
    return data if np.all(order[1:] > order[:-1]) else data.keep(order)
