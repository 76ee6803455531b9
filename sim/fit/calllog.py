"""Call logs as untrusted input: the generic CSV/Parquet format read into checked numpy columns.

Owns turning a switch's export (through a mapping file, :mod:`sim.fit.logmapping`) into
clean columns, one row per call that asked for an agent, and saying exactly which rows could
not be used and why. Rows are never dropped silently: each unusable row is counted by reason
and the first few are reported with their line and column; above :data:`MAX_BAD_SHARE` the
whole log is refused. The format is in ``docs/call-log.md``.

The file is read in batches (pyarrow's streaming CSV reader, Parquet batch by batch) and each
batch parsed with pyarrow kernels into the final columns, so memory holds the parsed log and
one batch of text, never the whole file as text; there is no Python loop over rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sim.fit.logmapping import (
    ABANDONED,
    ANSWERED,
    FIELDS,
    LABELS,
    NUMERIC,
    OUTCOME_NAMES,
    REQUIRED,
    SELF_SERVED,
    LogMapping,
    Source,
    load_mapping,
)
from sim.fit.logparse import (
    LabelCodes,
    Rows,
    as_text,
    column_error,
    parse_numbers,
    parse_times,
    show,
    typed_numbers,
    typed_times,
)
from sim.fit.logtable import Table, read_error
from sim.scenario.limits import (
    MAX_AGENTS,
    MAX_CALL_SECONDS,
    MAX_LOG_DAYS,
    MAX_LOG_ROWS,
    MAX_NAMES,
)

__all__ = [
    "ABANDONED",
    "ANSWERED",
    "FIELDS",
    "MAX_BAD_SHARE",
    "SELF_SERVED",
    "CallLogData",
    "Labels",
    "LogMapping",
    "load_mapping",
    "read_call_log",
]

MAX_BAD_SHARE = 0.05  # more unusable rows than this: the log is refused
MAX_ROWS = MAX_LOG_ROWS
DAY = 86_400
EARLY = 3600  # an arrival this long before the call's start (not_before) is no clock drift
NAME_LIMITS = {"call_type": MAX_NAMES, "tier": MAX_NAMES, "group": MAX_NAMES, "agent": MAX_AGENTS}
MIDNIGHT_REASON = (
    "at exactly 00:00:00 far more often than the seconds around midnight: a time of 0:00:00 "
    "usually means 'none' (map it with missing: and else:, docs/call-log.md)"
)


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


class _Reader:
    """One call log read batch by batch into the final columns."""

    def __init__(self, table: Table, mapping: LogMapping):
        self.table, self.mapping, self.name = table, mapping, table.name
        self.specs = {f: mapping.spec(f) for f in FIELDS}
        self.present = self._present()
        self.rows = Rows(self.name, table.csv)
        self.col = {f: _column_name(s) for f, s in self.present.items()}
        self.labels = {
            f: LabelCodes(self.name, self.col[f], f, NAME_LIMITS.get(f))
            for f in LABELS
            if f in self.present
        }
        self.parts: dict[str, list[np.ndarray]] = {
            k: [] for k in ("arrival", "outcome", "wait", "handle", "acw")
        }
        self.skipped: dict[str, int] = {}
        self.n = 0
        self.midnight: list[int] = [0, 0]  # arrivals at exactly 00:00:00, within a minute of it
        self.midnight_rows: list[tuple[int, int]] = []  # (row, arrival) of the first
        self.extremes: list[tuple[int, int]] = []  # (arrival, row) of the earliest and latest

    def _present(self) -> dict[str, Source]:
        """The fields read: required ones must be there; a mapped field's columns too."""
        have = set(self.table.have)
        present = {}
        for f, spec in self.specs.items():
            if spec is None:
                continue
            lacking = [c for c in spec.columns() if c not in have]
            if not lacking:
                present[f] = spec
            elif f in REQUIRED or f in self.mapping.columns:
                shown = ", ".join(show(h) for h in self.table.have[:12])
                found = shown + (" ..." if len(self.table.have) > 12 else "")
                hint = (
                    ""
                    if f in self.mapping.columns
                    else f" (map it with --map: columns: {{{f}: ...}})"
                )
                message = f"{'required ' if f in REQUIRED else ''}column for '{f}' is missing; "
                line = 1 if self.table.csv else None
                raise column_error(
                    self.name, line, lacking[0], f"{message}the header has {found}{hint}"
                )
        for rule in self.mapping.outcome_rules:
            for c in rule.values():
                if c not in have:
                    message = "named by outcome_rules but not in the log's header"
                    raise column_error(self.name, 1 if self.table.csv else None, c, message)
        return present

    def columns(self) -> list[str]:
        cols = {c for s in self.present.values() for c in s.columns()}
        cols |= {c for rule in self.mapping.outcome_rules for c in rule.values()}
        return sorted(cols)

    def read(self) -> CallLogData:
        cols = self.columns()
        self.table.check_types(cols)
        dictionary = [c for s in (self.present.get(f) for f in LABELS) if s for c in s.first()]
        try:
            for batch in self.table.batches(cols, dictionary):
                self.n += batch.num_rows
                if self.n > MAX_ROWS:
                    raise self.table.too_many()
                self.rows.batch(batch.num_rows)
                self._batch(batch)
            return self._finish()
        except MemoryError:
            message = (
                f"not enough memory for {self.n:,} rows (about 110 bytes a row): split the log"
            )
            raise read_error(self.name, message) from None
        except UnicodeDecodeError:
            message = "text that is not UTF-8 (save the export as UTF-8)"
            raise read_error(self.name, message) from None

    def _text(self, batch, cols: list[str], codes: set[str]):
        """Columns joined with a space (each trimmed) and the rows where one is missing."""
        import pyarrow as pa
        import pyarrow.compute as pc

        parts, missing = [], np.zeros(batch.num_rows, dtype=bool)
        for c in cols:
            try:
                text = as_text(batch.column(c))
            except pa.ArrowInvalid:
                raise column_error(self.name, None, c, "bytes that are not UTF-8 text") from None
            missing |= np.asarray(pc.equal(text, "").to_numpy(zero_copy_only=False), dtype=bool)
            if codes:
                hit = pc.is_in(text, value_set=pa.array(sorted(codes), pa.string()))
                missing |= np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)
            parts.append(text)
        joined = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, " ")
        return joined, missing

    def _field(self, batch, f: str):
        """The field's text: ``from``, or ``else`` where ``from`` is missing; missing as ""."""
        import pyarrow as pa
        import pyarrow.compute as pc

        spec, codes = self.present[f], self.mapping.missing_codes(f)
        text, missing = self._text(batch, spec.first(), codes)
        if spec.else_ is not None and missing.any():
            other, other_missing = self._text(batch, spec.fallback(), codes)
            text = pc.if_else(pa.array(missing), other, text)
            missing = missing & other_missing
        if missing.any():
            text = pc.if_else(pa.array(missing), "", text)
        return text

    def _typed(self, batch, f: str):
        """The field's single column when no text is needed (no else, no missing codes)."""
        spec = self.present[f]
        if len(spec.first()) > 1 or spec.else_ is not None or self.mapping.missing_codes(f):
            return None
        return batch.column(spec.first()[0])

    def _batch(self, batch) -> None:
        rows, n = self.rows, batch.num_rows
        outcome = self._outcome(batch)
        skip = outcome == 0  # left out on purpose: counted, never checked
        rows.exclude(skip)
        arrival = self._arrival(batch)
        numbers = {f: self._number(batch, f) for f in NUMERIC if f in self.present}
        handle = numbers.get("handle_time", np.full(n, np.nan))
        answered = outcome == ANSWERED
        rows.flag(
            self.col.get("handle_time", "handle_time"),
            "answered call without a handle time",
            answered & np.isnan(handle),
        )
        codes = {
            f: lab.encode(self._field(batch, f), self.mapping.missing_codes(f), rows)
            for f, lab in self.labels.items()
        }
        ok = ~rows.bad
        self._skips(batch, outcome, skip)
        kept = arrival[ok]
        self.parts["arrival"].append(kept)
        self.parts["outcome"].append(outcome[ok])
        self.parts["wait"].append(numbers["wait"][ok])
        self.parts["handle"].append(np.where(answered, handle, np.nan)[ok])
        if "after_call_work" in numbers:
            self.parts["acw"].append(numbers["after_call_work"][ok])
        for f, c in codes.items():
            self.labels[f].chunks.append(c[ok])
        if len(kept):
            self._watch(kept, np.flatnonzero(ok) + rows.offset)

    def _arrival(self, batch) -> np.ndarray:
        spec, fmt = self.present["arrival"], self.mapping.time_format
        typed = self._typed(batch, "arrival")
        parsed = typed_times(typed) if typed is not None else None
        text = None
        if parsed is None:
            text = self._field(batch, "arrival")
            parsed = parse_times(text, fmt)
        arrival, bad = parsed
        self.rows.flag(
            self.col["arrival"],
            f"not a date-time ({fmt or 'ISO 8601 like 1999-02-01T08:09:22'})",
            bad,
            text,
        )
        if spec.not_before is not None:  # a clock more than 12 h before the start: next day
            start, start_bad = parse_times(self._text(batch, spec.start(), set())[0], fmt)
            crossed = ~bad & ~start_bad & (arrival < start - DAY // 2)
            arrival = np.where(crossed, arrival + DAY, arrival)
            early = ~bad & ~start_bad & (arrival < start - EARLY)  # a clock's drift is less
            reason = "more than an hour before the call's start (not_before): a time of 0:00:00"
            self.rows.flag(self.col["arrival"], reason + " usually means 'none'", early, text)
        return arrival

    def _outcome(self, batch) -> np.ndarray:
        import pyarrow as pa
        import pyarrow.compute as pc

        raw = self._field(batch, "outcome")
        named = dict(OUTCOME_NAMES)
        if self.mapping.outcomes:
            named = {k: OUTCOME_NAMES.get(v, 0) for k, v in self.mapping.outcomes.items()}
        enc = pc.dictionary_encode(raw)
        words = enc.dictionary.to_pylist()
        lookup = np.array([named.get(w, named.get(w.lower(), -1)) for w in words] + [-1], np.int8)
        outcome = lookup[np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)]
        decided = np.zeros(batch.num_rows, dtype=bool)
        for rule in self.mapping.outcome_rules:
            holds = ~decided
            for c, values in rule.values().items():
                text = self._text(batch, [c], set())[0]
                hit = pc.is_in(text, value_set=pa.array(values, pa.string()))
                holds &= np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)
            outcome = np.where(holds, OUTCOME_NAMES.get(rule.then, 0), outcome).astype(np.int8)
            decided |= holds
        allowed = ", ".join(named) if self.mapping.outcomes else "answered, abandoned, self_served"
        self.rows.flag(
            self.col["outcome"], f"unknown outcome (allowed: {allowed})", outcome < 0, raw
        )
        self.raw_outcome, self.decided = raw, decided
        return outcome

    def _skips(self, batch, outcome: np.ndarray, skip: np.ndarray) -> None:
        """Count the rows left out on purpose by code (or by rule)."""
        if not skip.any():
            return
        by_rule = skip & self.decided
        if by_rule.any():
            key = "outcome: skipped by outcome_rules"
            self.skipped[key] = self.skipped.get(key, 0) + int(by_rule.sum())
        words = np.asarray(self.raw_outcome.to_numpy(zero_copy_only=False), dtype=object)
        names, counts = np.unique(words[skip & ~self.decided], return_counts=True)
        for word, count in zip(names.tolist(), counts.tolist(), strict=True):
            key = f"outcome: {show(word)} mapped to skip"
            self.skipped[key] = self.skipped.get(key, 0) + count

    def _number(self, batch, f: str) -> np.ndarray:
        typed = self._typed(batch, f)
        numbers = typed_numbers(typed) if typed is not None else None
        text = None
        if numbers is None:
            text = self._field(batch, f)
            values, empty, bad = parse_numbers(text, self.mapping.durations == "clock")
        else:
            values, empty = numbers
            bad = ~empty & ~np.isfinite(values)
            values = np.where(bad, np.nan, values)
        shown = text if text is not None else values
        col = self.col[f]
        self.rows.flag(col, "not a number", bad, shown)
        self.rows.flag(col, "negative", values < 0, shown)
        limit = f"longer than a day (at most {MAX_CALL_SECONDS:,.0f} s)"
        self.rows.flag(col, limit, values > MAX_CALL_SECONDS, shown)
        if f == "wait":
            self.rows.flag(col, "empty", empty, shown)
        return values

    def _watch(self, kept: np.ndarray, rows: np.ndarray) -> None:
        """Track what whole-log checks need: the earliest and latest arrivals, and how many sit
        at exactly midnight against the seconds around it."""
        clock = kept % DAY
        at = clock == 0
        self.midnight[0] += int(at.sum())
        self.midnight[1] += int(((clock > 0) & (clock <= 60) | (clock >= DAY - 60)).sum())
        room = max(5 - len(self.midnight_rows), 0)
        self.midnight_rows += zip(rows[at][:room].tolist(), kept[at][:room].tolist(), strict=True)
        lo, hi = int(np.argmin(kept)), int(np.argmax(kept))
        self.extremes += [(int(kept[lo]), int(rows[lo])), (int(kept[hi]), int(rows[hi]))]
        self.extremes = [min(self.extremes), max(self.extremes)]

    def _finish(self) -> CallLogData:
        """Whole-log checks, then the columns joined one at a time (each column's batches
        freed as it is joined: the peak is the parsed log plus one column)."""
        import pyarrow as pa

        pa.default_memory_pool().release_unused()  # the batches' text, back to the system
        rows, name = self.rows, self.name
        exact, near = self.midnight
        masks = None
        if exact > 5 + 10 * near / 120:  # a second at midnight ten times busier than those near
            masks = [part % DAY != 0 for part in self.parts["arrival"]]
            firsts = [r for r, _ in self.midnight_rows]
            shown = [show(np.datetime64(t, "s")) for _, t in self.midnight_rows]
            rows.add(self.col["arrival"], MIDNIGHT_REASON, firsts, exact, shown)
        rows.refuse(self.n, MAX_BAD_SHARE)
        dropped, examples = rows.report()
        dropped.update(self.skipped)
        usable = sum(len(p) for p in self.parts["arrival"]) - (exact if masks else 0)
        if not usable:
            raise read_error(name, "the log has no usable call")
        self._check_span()

        def join(parts: list[np.ndarray]) -> np.ndarray:
            if masks is not None:
                parts[:] = [p[m] for p, m in zip(parts, masks, strict=True)]
            joined = np.concatenate(parts)
            parts.clear()
            return joined

        cols = {k: join(self.parts[k]) for k in ("arrival", "outcome", "wait", "handle")}
        acw = join(self.parts["acw"]) if self.parts["acw"] else None
        labels = {f: Labels(join(lab.chunks), lab.names) for f, lab in self.labels.items()}
        data = CallLogData(
            name,
            self.n,
            cols["arrival"],
            cols["outcome"],
            cols["wait"],
            cols["handle"],
            acw,
            labels,
            dropped,
            examples,
        )
        return _sorted(data)

    def _check_span(self) -> None:
        (first, r0), (last, r1) = self.extremes
        days = (last // DAY) - (first // DAY) + 1
        if days <= MAX_LOG_DAYS:
            return
        when = lambda t, r: f"{np.datetime64(t, 's')} ({self.rows.where(r)})"  # noqa: E731
        message = (
            f"arrivals span {days:,} days, from {when(first, r0)} to {when(last, r1)}; at most "
            f"{MAX_LOG_DAYS:,} days a log: check the dates (and time_format), or split the log"
        )
        raise column_error(self.name, None, self.col["arrival"], message)


def _column_name(spec: Source) -> str:
    first = ",".join(spec.first())
    return first + (f" or {','.join(spec.fallback())}" if spec.else_ is not None else "")


def _sorted(data: CallLogData) -> CallLogData:
    """Rows in order of arrival, reordered one column at a time (peak memory: one column)."""
    order = np.argsort(data.arrival, kind="stable")
    if np.all(order[1:] > order[:-1]):
        return data
    for name in ("arrival", "outcome", "wait", "handle", "acw"):
        values = getattr(data, name)
        if values is not None:
            setattr(data, name, values[order])
    for lab in data.labels.values():
        lab.codes = lab.codes[order]
    return data


def read_call_log(path: str | Path, mapping: LogMapping | None = None) -> CallLogData:
    """Read a call log (CSV or Parquet, generic format or through ``mapping``).

    Raises :class:`ScenarioError` (file, line, column, what is allowed) for a log that cannot
    be used: a missing required column, a column of an unsupported type, more than
    :data:`MAX_BAD_SHARE` unusable rows, too many rows, days or distinct names.
    """
    mapping = mapping or LogMapping()
    return _Reader(Table(Path(path), mapping.delimiter, MAX_ROWS), mapping).read()
