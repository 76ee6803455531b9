"""Untrusted tabular files (call logs, interval reports) opened for reading in batches.

:class:`Table` opens a CSV (UTF-8, any delimiter, header read whole up to :data:`MAX_HEADER`
and trimmed) or a Parquet file, refuses Parquet column types that cannot be read (lists,
structs) and yields record batches: CSV text through pyarrow's streaming reader in blocks of
:data:`CSV_BLOCK`, Parquet :data:`PARQUET_BATCH` rows at a time, so that memory holds one batch
of text, never the file. A parser failure is named by its line (a ragged row, a field too long)
instead of the parser's own message echoing the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sim.fit.logparse import column_error, supported
from sim.scenario.confine import excerpt
from sim.scenario.errors import ErrorItem, ScenarioError

__all__ = ["CSV_BLOCK", "MAX_HEADER", "PARQUET_BATCH", "Table", "read_error"]

MAX_HEADER = 4 << 20  # bytes of a CSV header line
CSV_BLOCK = 8 << 20  # bytes of CSV text parsed at a time
PARQUET_BATCH = 1 << 18  # rows of Parquet decoded at a time


def read_error(name: str, message: str, line: int | None = None) -> ScenarioError:
    """One problem with a whole file: ``file:line: message``."""
    return ScenarioError([ErrorItem(name, line, "", message)])


class Table:
    """A CSV or Parquet file opened for reading in batches: its column names and types.

    ``kind`` names the file in messages ("call log"); a file of more than ``max_rows`` rows is
    refused (Parquet at once from its metadata, CSV by the caller as batches come)."""

    def __init__(self, path: Path, delimiter: str, max_rows: int, kind: str = "call log"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.path, self.name, self.delimiter = path, str(path), delimiter
        self.max_rows, self.kind = max_rows, kind
        if not path.is_file():
            problem = "not a regular file" if path.exists() else "file not found"
            raise read_error(self.name, problem)
        self.csv = path.suffix.lower() not in (".parquet", ".pq")
        try:
            if self.csv:
                _check_text(path, self.name)
                self.have, self.header_bytes = self._header()
            else:
                self.parquet = pq.ParquetFile(path)
                if self.parquet.metadata.num_rows > max_rows:
                    raise self.too_many()
                self.have = list(self.parquet.schema_arrow.names)
        except (pa.ArrowException, OSError) as exc:
            raise self._failed(exc) from None

    def _header(self) -> tuple[list[str], int]:
        """The header's column names, however wide (read up to :data:`MAX_HEADER` bytes)."""
        import csv

        with open(self.path, "rb") as fh:
            raw = fh.readline(MAX_HEADER + 1)
        if len(raw) > MAX_HEADER:
            message = (
                f"the header line is longer than {MAX_HEADER >> 20} MiB: is this a {self.kind}?"
            )
            raise read_error(self.name, message, 1)
        text = raw.decode("utf-8-sig", errors="replace").rstrip("\r\n")
        names = next(csv.reader([text], delimiter=self.delimiter), [])
        if not names:
            message = f"no header row: a {self.kind} is a header row, then one row a line"
            raise read_error(self.name, message, 1)
        return [h.strip() for h in names], len(raw)

    def check_types(self, columns: list[str]) -> None:
        """Parquet columns must hold text, numbers, times or durations (not lists, structs)."""
        if self.csv:
            return
        schema = self.parquet.schema_arrow
        for c in columns:
            dtype = schema.field(c).type
            if not supported(dtype):
                message = (
                    f"a column of type {excerpt(str(dtype), 60)}; a {self.kind}'s columns hold "
                    "text, numbers, timestamps or durations"
                )
                raise column_error(self.name, None, c, message)

    def batches(self, columns: list[str], dictionary: list[str]) -> Iterator:
        """Record batches of ``columns`` (CSV: all as text); a read error names the file."""
        import pyarrow as pa
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        try:
            if self.csv:
                reader = pacsv.open_csv(
                    self.path,
                    read_options=pacsv.ReadOptions(  # the header's names as read, trimmed
                        block_size=max(CSV_BLOCK, 4 * self.header_bytes),
                        column_names=self.have,
                        skip_rows=1,
                    ),
                    parse_options=pacsv.ParseOptions(delimiter=self.delimiter),
                    convert_options=pacsv.ConvertOptions(
                        include_columns=columns,
                        column_types={c: pa.string() for c in columns},
                        strings_can_be_null=False,
                    ),
                )
            else:
                schema = self.parquet.schema_arrow
                text = [c for c in dictionary if pa.types.is_string(schema.field(c).type)]
                reader = pq.ParquetFile(self.path, read_dictionary=text).iter_batches(
                    batch_size=PARQUET_BATCH, columns=columns
                )
            yield from reader
        except (pa.ArrowException, OSError) as exc:
            raise self._failed(exc) from None

    def _failed(self, exc: Exception) -> ScenarioError:
        if self.csv and hasattr(self, "have"):
            bad = _bad_line(self.path, self.delimiter, len(self.have), self.kind)
            if bad is not None:
                return read_error(self.name, bad[1], bad[0])
        if "straddling" in str(exc):
            message = f"a row longer than the reader's block: is this a {self.kind}?"
            return read_error(self.name, message)
        text = excerpt(str(exc).splitlines()[0], 120)
        return read_error(self.name, f"cannot read the {self.kind}: {text}")

    def too_many(self) -> ScenarioError:
        message = f"more than {self.max_rows:,} rows, the limit of a {self.kind}: split it"
        return read_error(self.name, message)


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
    message = f"not UTF-8 text (byte {where}): save it as a CSV file in UTF-8, or Parquet"
    raise read_error(name, message)


def _bad_line(path: Path, delimiter: str, columns: int, kind: str) -> tuple[int, str] | None:
    """(line, problem) of the first row the parser could not take: another number of fields
    than the header, or a field too long. Read again only when the parser failed, to name the
    line instead of quoting the row."""
    import csv

    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        try:
            next(reader, None)
            for row in reader:
                if row and len(row) != columns:
                    message = f"{len(row)} fields where the header has {columns} (a row cut "
                    return reader.line_num, message + "short, or an unquoted delimiter inside)"
        except csv.Error:
            limit = csv.field_size_limit()
            message = f"a field longer than {limit:,} characters (the fields of a {kind} are short)"
            return reader.line_num, message
    return None
