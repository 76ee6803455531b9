"""Results folders on disk: file formats (JSON, CSV), atomic writing, and reading back.

Owns writing plain data (text, JSON values, columns) as files, each atomically (a temporary
file in the same folder, then rename), so a reader never sees half a file, and reading them
back. A results folder may be handed back as input, so it is read and written as regular files
inside it, never through a symbolic link: a file is opened with ``O_NOFOLLOW`` inside its folder
opened with ``O_NOFOLLOW`` (:func:`read_inside`, :func:`write_atomic`); the folder the user
names may itself be a link (:func:`real_folder`). Text cells of CSV files are guarded against
spreadsheet formulas (:func:`guard_cell`), and the readers undo the guard (:func:`read_rows`).
What a run's folder holds (scenario.yaml, summary.json, replications.csv, intervals.csv,
daily.csv) is decided by the experiment summaries that produce the data; this module imports
nothing but the standard library and numpy. It does not plot (see :mod:`sim.report.html`).
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import math
import os
import re
import secrets
import stat
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "LinkError",
    "default_out_dir",
    "guard_cell",
    "read_inside",
    "read_rows",
    "real_folder",
    "real_subfolders",
    "safe_name",
    "unguard_cell",
    "write_atomic",
    "write_folder",
    "write_table",
]


class LinkError(OSError):
    """A symbolic link (or a FIFO, device, ...) where a results folder holds its own files."""

    def __init__(self, path: str | Path, what: str = "a symbolic link"):
        super().__init__(
            errno.ELOOP,
            f"{what}; sim reads and writes a results folder's own regular files only, never "
            "through links",
            str(path),
        )

    def __str__(self) -> str:
        return f"{self.filename}: {self.strerror}"


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NOFOLLOW


def real_folder(path: str | Path) -> Path:
    """The folder a user named, its links resolved once (the user chose them): below it, no
    link is followed."""
    return Path(os.path.realpath(path))


def _open_folder(folder: Path, create: bool) -> int | None:
    """A descriptor of ``folder``, never through a link (:class:`LinkError`); when missing,
    made (``create``) or None."""
    try:
        return os.open(folder, _DIR_FLAGS)
    except FileNotFoundError:
        if not create:
            return None
        folder.mkdir(parents=True, exist_ok=True)
        return _open_folder(folder, create)
    except OSError as exc:
        if os.path.islink(folder):
            raise LinkError(folder) from None
        if exc.errno == errno.ENOTDIR:
            raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(folder)) from None
        raise


def read_inside(path: str | Path) -> bytes | None:
    """The bytes of regular file ``path``, None when it (or its folder) is absent.

    Raises :class:`LinkError` when the file, or the folder holding it, is a symbolic link or
    the file is not a regular file (a FIFO is never waited on)."""
    path = Path(path)
    parent = _open_folder(path.parent, create=False)
    if parent is None:
        return None
    try:
        fd = os.open(path.name, os.O_RDONLY | os.O_NONBLOCK | _NOFOLLOW, dir_fd=parent)
    except FileNotFoundError:
        return None
    except OSError:
        if os.path.islink(path):
            raise LinkError(path) from None
        raise
    finally:
        os.close(parent)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise LinkError(path, "not a regular file")
        with os.fdopen(os.dup(fd), "rb") as fh:
            return fh.read()
    finally:
        os.close(fd)


def real_subfolders(folder: str | Path) -> list[Path]:
    """The subfolders of ``folder`` (sorted); :class:`LinkError` for a link to a folder."""
    found = []
    for p in Path(folder).iterdir():
        if p.is_symlink() and p.is_dir():
            raise LinkError(p)
        if stat.S_ISDIR(p.lstat().st_mode):
            found.append(p)
    return sorted(found)


def write_atomic(path: str | Path, text: str | bytes) -> None:
    """Write a whole file or nothing: temp file beside it, fsync, then rename over it.

    The folder written into is opened without following a link (:class:`LinkError` when it is
    one), and the file is created and renamed inside it: a link named ``path`` is replaced,
    never written through."""
    path = Path(path)
    data = text.encode("utf-8") if isinstance(text, str) else text
    parent = _open_folder(path.parent, create=True)
    assert parent is not None  # made when missing
    try:
        tmp = f".{path.name}.{secrets.token_hex(4)}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW
        fd = os.open(tmp, flags, 0o666, dir_fd=parent)  # less the umask: results are shared
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path.name, src_dir_fd=parent, dst_dir_fd=parent)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=parent)
            raise
    finally:
        os.close(parent)


DIGITS = 10
"""Significant digits of floats in CSV files: far below any simulation's noise, and no
16-digit tails like 0.8975490196078433."""


_FORMULA = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet read a cell as a formula (OWASP's CSV injection list)."""


def guard_cell(text: str) -> str:
    """Text a spreadsheet shows as text: one ``'`` before a text starting like a formula (and
    before one starting with ``'``, so that :func:`unguard_cell` undoes exactly this)."""
    return "'" + text if text.startswith((*_FORMULA, "'")) else text


def unguard_cell(text: str) -> str:
    """The text :func:`guard_cell` was given."""
    return text[1:] if text.startswith("'") else text


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float | np.floating):
        return "" if math.isnan(value) else f"{float(value):.{DIGITS}g}"
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    return guard_cell(str(value))  # text, never a formula: numbers above are written bare


def write_table(path: str | Path, columns: Mapping[str, list | np.ndarray]) -> None:
    """Columns of equal length to CSV (empty cell for None/NaN; floats to DIGITS digits; text
    guarded against formulas, see :func:`guard_cell`)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    names = list(columns)
    writer.writerow([guard_cell(str(name)) for name in names])
    n = len(next(iter(columns.values()))) if columns else 0
    for i in range(n):
        writer.writerow([_cell(columns[name][i]) for name in names])
    write_atomic(path, buf.getvalue())


def read_rows(path: str | Path) -> list[list[str]] | None:
    """The rows of a CSV file :func:`write_table` wrote (guards undone), read by
    :func:`read_inside`; None when absent. ``ValueError`` naming the file when it is not
    UTF-8 CSV (its bytes never shown)."""
    data = read_inside(path)
    if data is None:
        return None
    try:
        text = data.decode("utf-8")
        return [[unguard_cell(c) for c in row] for row in csv.reader(io.StringIO(text, newline=""))]
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except csv.Error as exc:
        raise ValueError(f"{path}: not CSV: {str(exc)[:120]}") from None


def default_out_dir(name: str, root: str | Path = "results") -> Path:
    """``results/<name>/<UTC timestamp>/``, the name made safe for a folder."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path(root) / safe_name(name) / stamp


def _json(data) -> str:
    def clean(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [clean(x) for x in v]
        if isinstance(v, np.generic):
            return clean(v.item())
        return v

    return json.dumps(clean(data), indent=2) + "\n"


def write_folder(out: str | Path, files: Mapping[str, Any]) -> Path:
    """Write a results folder from plain data, each file atomically; return the folder.

    ``files`` maps a name to its content, in a format chosen by the name: ``<name>/`` a
    subfolder (a mapping like ``files``; the name made safe), ``*.json`` a JSON value,
    ``*.csv`` columns (see :func:`write_table`), any other name text or bytes. The run and
    comparison summaries of :mod:`sim.experiments` produce this data (their ``files()``).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        if name.endswith("/"):
            write_folder(out / safe_name(name[:-1]), content)
        elif name.endswith(".json"):
            write_atomic(out / name, _json(content))
        elif name.endswith(".csv"):
            write_table(out / name, content)
        elif isinstance(content, str | bytes):
            write_atomic(out / name, content)
        else:
            raise TypeError(f"{name}: text or bytes expected, got {type(content).__name__}")
    return out


def safe_name(name: str) -> str:
    """``name`` made safe for a folder: runs of other characters become ``_``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "scenario"
