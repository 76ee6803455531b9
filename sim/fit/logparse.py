"""Parsing untrusted tabular exports (call logs, interval reports) into checked numpy columns.

Shared by the readers of :mod:`sim.fit.calllog` and the interval report: :class:`Rows`
collects per-row problems (counted by reason, the first rows kept with their line or row
number) over a table read in batches; :func:`parse_times` and :func:`parse_numbers` parse text
columns with pyarrow kernels (no Python loop over rows); :func:`as_text` turns any supported
column type into text, :func:`typed_numbers` reads numeric and duration columns as seconds;
:class:`LabelCodes` dictionary-encodes a name column over batches, refusing control characters
and bounding the number of distinct names. Values from a file are quoted only shortened
(:func:`show`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.scenario.errors import ErrorItem, ScenarioError

__all__ = [
    "CONTROL",
    "ISO_FORMATS",
    "MAX_EXAMPLES",
    "LabelCodes",
    "Rows",
    "as_text",
    "column_error",
    "parse_numbers",
    "parse_times",
    "show",
    "supported",
    "typed_numbers",
]

MAX_EXAMPLES = 5  # offending rows shown per table
MAX_NAME_CHARS = 200  # a longer label (call type, agent, customer id...) is a bad row
ISO_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M")
_NUMBER = r"^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$"
_CLOCK = r"^\s*[0-9]+:[0-5]?[0-9](:[0-5]?[0-9](\.[0-9]*)?)?\s*$"
_OFFSET = r"^(.*[0-9]:[0-9]{2}(?::[0-9]{2})?(?:\.[0-9]*)?)\s*(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)$"
CONTROL = r"[\x00-\x1f\x7f-\x9f\x{061c}\x{200e}\x{200f}\x{202a}-\x{202e}\x{2066}-\x{2069}]"
"""C0 and C1 controls, DEL and the bidirectional controls: never in a name that may reach a
terminal (ESC sequences, U+202E right-to-left override)."""


def show(value: Any) -> str:
    """A value from the file, shortened: never echo a file at large."""
    if hasattr(value, "as_py"):
        value = value.as_py()
    text = str(value)
    return repr(text if len(text) <= 40 else text[:37] + "...")


def column_error(source: str, line: int | None, column: str, message: str) -> ScenarioError:
    """One problem with a whole column: ``file:line: column 'x': message``."""
    return ScenarioError([ErrorItem(source, line, f"column '{column}'", message)])


class Rows:
    """Per-row problems of a table read in batches: rows flagged by reason and column.

    Call :meth:`batch` before each batch (its row count), then :meth:`flag` with boolean masks
    over the batch; a row is counted once, under its first reason. :meth:`report` gives the
    counts by ``"column: reason"`` and the first offending rows as ``file: line N: column 'x':
    reason ('value')``; :meth:`refuse` raises when more than ``max_share`` of the rows are bad.
    """

    def __init__(self, source: str, csv: bool, n: int = 0):
        self.source, self.csv = source, csv
        self.offset = 0  # rows in earlier batches
        self.bad = np.zeros(n, dtype=bool)
        self.n_bad = 0
        self.counts: dict[tuple[str, str], int] = {}
        self.firsts: list[tuple[int, str, str, str]] = []  # (row, column, reason, shown value)

    def batch(self, n: int) -> None:
        """Start the next batch of ``n`` rows."""
        self.offset += len(self.bad)
        self.bad = np.zeros(n, dtype=bool)

    def exclude(self, mask: np.ndarray) -> None:
        """Leave the rows of ``mask`` out of this batch's checks without counting them (rows
        dropped on purpose, e.g. outcomes mapped to skip)."""
        self.bad |= np.asarray(mask, dtype=bool)

    def flag(self, column: str, reason: str, mask: np.ndarray, values: Any = None) -> None:
        """Flag the rows of ``mask`` (not flagged before); ``values`` indexes the column read."""
        mask = np.asarray(mask, dtype=bool) & ~self.bad
        rows = np.flatnonzero(mask[: len(self.bad)])
        if not len(rows):
            return
        self.bad |= mask
        shown = [show(values[r]) if values is not None else "" for r in rows[:MAX_EXAMPLES]]
        self.add(column, reason, (rows[:MAX_EXAMPLES] + self.offset).tolist(), len(rows), shown)

    def add(self, column: str, reason: str, rows: list[int], count: int, shown: list[str]):
        """Count ``count`` rows found bad after their batch (e.g. by a whole-log check);
        ``rows`` are the first of them (numbered over the whole table) with ``shown`` values."""
        key = (column, reason)
        kept = sum(1 for f in self.firsts if (f[1], f[2]) == key)
        self.counts[key] = self.counts.get(key, 0) + count
        self.n_bad += count
        for row, value in list(zip(rows, shown, strict=True))[: max(MAX_EXAMPLES - kept, 0)]:
            self.firsts.append((row, column, reason, value))

    def where(self, row: int) -> str:
        return f"line {row + 2}" if self.csv else f"row {row + 1}"

    @property
    def first_rows(self) -> list[tuple[int, str, str, str]]:
        return sorted(self.firsts)[:MAX_EXAMPLES]

    def report(self) -> tuple[dict[str, int], list[str]]:
        dropped = {f"{c}: {r}": n for (c, r), n in self.counts.items()}
        examples = [
            f"{self.source}: {self.where(r)}: column '{c}': {reason} ({v})"
            for r, c, reason, v in self.first_rows
        ]
        return dropped, examples

    def refuse(self, n: int, max_share: float) -> None:
        """Raise when more than ``max_share`` of the ``n`` rows cannot be used: the counts by
        reason, then one error line per first offending row (file:line for CSV)."""
        if not n or self.n_bad <= max_share * n:
            return
        counts = "; ".join(f"{k}: {v:,}" for k, v in self.report()[0].items())
        summary = ErrorItem(
            self.source,
            None,
            "rows",
            f"{self.n_bad:,} of {n:,} rows cannot be used (more than {max_share:.0%}): "
            f"{counts}; the first offending rows follow",
        )
        raise ScenarioError(
            [summary]
            + [
                ErrorItem(
                    self.source,
                    r + 2 if self.csv else None,
                    f"column '{c}'" if self.csv else f"row {r + 1}: column '{c}'",
                    f"{reason} ({v})",
                )
                for r, c, reason, v in self.first_rows
            ]
        )


def supported(dtype) -> bool:
    """Whether a column of this Arrow type can be read: text, numbers, times, durations."""
    import pyarrow as pa

    t = pa.types
    if t.is_dictionary(dtype):
        return supported(dtype.value_type)
    checks = (t.is_string, t.is_large_string, t.is_binary, t.is_large_binary, t.is_integer,
              t.is_floating, t.is_decimal, t.is_timestamp, t.is_duration, t.is_date, t.is_time,
              t.is_boolean, t.is_null)  # fmt: skip
    return any(check(dtype) for check in checks)


def _local(col):
    """A time-zone-aware timestamp as the wall-clock time it was written in (local time)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.local_timestamp(col) if pa.types.is_timestamp(col.type) and col.type.tz else col


def _seconds(col):
    """A duration column as float seconds, whatever its unit."""
    import pyarrow as pa
    import pyarrow.compute as pc

    per = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}[col.type.unit]
    return pc.divide(pc.cast(pc.cast(col, pa.int64()), pa.float64()), per)


def as_text(col):
    """Any supported column as a trimmed string array, nulls as ""; timestamps as ISO text in
    local time as written, durations as seconds. Bytes that are not UTF-8 raise ArrowInvalid."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if pa.types.is_dictionary(col.type):
        col = col.dictionary_decode()
    if pa.types.is_timestamp(col.type):
        col = pc.strftime(_local(col), format="%Y-%m-%dT%H:%M:%S")
    elif pa.types.is_duration(col.type):
        col = _seconds(col)
    if not pa.types.is_string(col.type):
        col = pc.cast(col, pa.string())
    return pc.utf8_trim_whitespace(pc.fill_null(col, ""))


def typed_numbers(col):
    """(float seconds, empty mask) of a numeric or duration column; None for other types."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = pa.types
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if t.is_duration(col.type):
        col = _seconds(col)
    elif not (t.is_integer(col.type) or t.is_floating(col.type) or t.is_decimal(col.type)):
        return None
    values = np.asarray(pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False), dtype=float)
    return values, np.isnan(values)


def typed_times(col):
    """(int64 seconds since 1970 in local time as written, bad mask) of a timestamp column;
    None for other types."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if not pa.types.is_timestamp(col.type):
        return None
    stamps = pc.cast(_local(col), pa.timestamp("s"), safe=False)
    bad = np.asarray(pc.is_null(stamps).to_numpy(zero_copy_only=False), dtype=bool)
    values = pc.fill_null(pc.cast(stamps, pa.int64()), 0).to_numpy(zero_copy_only=False)
    return np.asarray(values, dtype=np.int64), bad


def _mask(array) -> np.ndarray:
    return np.asarray(array.to_numpy(zero_copy_only=False), dtype=bool)


def parse_times(text, fmt: str | None):
    """Seconds since 1970 as int64 (local time as written) and a mask of unparseable values.

    A time-zone offset at the end (``Z``, ``+02:00``) is ignored: the time is read as written,
    never converted to UTC. Without ``fmt``, the ISO 8601 forms of :data:`ISO_FORMATS`, a
    fraction of a second cut. Values are tried plain first; only those that fail are cleaned
    of offsets and fractions and tried again."""
    import pyarrow as pa
    import pyarrow.compute as pc

    formats = (fmt,) if fmt is not None else ISO_FORMATS
    text = pc.utf8_trim_whitespace(text)
    out = _strptime(text, formats)
    if out.null_count:
        cleaned = pc.replace_substring_regex(text, _OFFSET, r"\1")
        if fmt is None:
            cleaned = pc.replace_substring_regex(cleaned, r"(:[0-9]{2})\.[0-9]*$", r"\1")
        out = pc.coalesce(out, _strptime(cleaned, formats))
    values = pc.cast(out, pa.int64()).to_numpy(zero_copy_only=False)
    bad = _mask(pc.is_null(out))
    return np.where(bad, 0, values).astype(np.int64), bad


def _strptime(text, formats: tuple[str, ...]):
    """The first format that parses each value (null where none does)."""
    import pyarrow.compute as pc

    out = None
    for f in formats:
        parsed = pc.strptime(text, format=f, unit="s", error_is_null=True)
        out = parsed if out is None else pc.coalesce(out, parsed)
        if not out.null_count:
            break
    return out


def parse_numbers(text, clock: bool):
    """Floats; (value, empty mask, unparseable mask). ``clock`` also accepts H:MM:SS and M:SS.
    A number too large for a float (``1e999``) is unparseable, never an infinity."""
    import pyarrow as pa
    import pyarrow.compute as pc

    empty = _mask(pc.equal(pc.utf8_trim_whitespace(text), ""))
    is_num = _mask(pc.match_substring_regex(text, _NUMBER))
    values = np.full(len(text), np.nan)
    if is_num.any():
        nums = pc.if_else(pa.array(is_num), text, "0")
        values = np.where(
            is_num, pc.cast(nums, pa.float64()).to_numpy(zero_copy_only=False), np.nan
        )
    bad = ~empty & ~is_num
    if clock and bad.any():
        is_clock = _mask(pc.match_substring_regex(text, _CLOCK))
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
    bad |= ~empty & ~np.isfinite(values)
    return np.where(bad, np.nan, values), empty, bad


class LabelCodes:
    """A name column dictionary-encoded over batches: codes into one list of distinct names.

    Empty values and the field's missing codes get code -1. Rows whose name holds a control
    character (:data:`CONTROL`: names reach terminals) or is longer than
    :data:`MAX_NAME_CHARS` are flagged; more than ``limit``
    distinct names stop the read with a clear error (each name becomes a model element)."""

    def __init__(self, source: str, column: str, field: str, limit: int | None):
        import pyarrow as pa

        self.source, self.column, self.field, self.limit = source, column, field, limit
        self.seen = pa.array([], pa.string())  # the distinct names so far, in order of code
        self.chunks: list[np.ndarray] = []

    def encode(self, text, missing: set[str], rows: Rows) -> np.ndarray:
        """int32 codes of a batch's (trimmed) text; flags rows with control characters."""
        import pyarrow as pa
        import pyarrow.compute as pc

        enc = pc.dictionary_encode(text)
        local = enc.dictionary
        control = _mask(pc.match_substring_regex(local, CONTROL))
        long = _mask(pc.greater(pc.utf8_length(local), MAX_NAME_CHARS))
        unusable = control | long
        unknown = unusable | _mask(pc.equal(local, ""))
        if missing:
            unknown |= _mask(pc.is_in(local, value_set=pa.array(sorted(missing), pa.string())))
        found = pc.index_in(local, value_set=self.seen)
        new = _mask(pc.is_null(found)) & ~unknown
        remap = np.array(pc.fill_null(found, -1).to_numpy(zero_copy_only=False), np.int32)
        remap[new] = len(self.seen) + np.arange(int(new.sum()), dtype=np.int32)
        remap[unknown] = -1
        if new.any():
            self.seen = pa.concat_arrays([self.seen, local.filter(pa.array(new))])
        if self.limit is not None and len(self.seen) > self.limit:
            message = (
                f"more than {self.limit:,} distinct {self.field} values (each becomes a part "
                "of the model); is this the right column?"
            )
            raise column_error(self.source, None, self.column, message)
        indices = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        if unusable.any():
            reason = "a control character in a name (names are printable)"
            rows.flag(self.column, reason, control[indices], text)
            reason = f"a name longer than {MAX_NAME_CHARS} characters"
            rows.flag(self.column, reason, long[indices], text)
        return remap[indices]

    @property
    def names(self) -> list[str]:
        return self.seen.to_pylist()

    def codes(self) -> np.ndarray:
        return np.concatenate(self.chunks) if self.chunks else np.zeros(0, dtype=np.int32)
