"""Results folders on disk: file formats (JSON, CSV) and atomic writing.

Owns writing plain data (text, JSON values, columns) as files, each atomically (a temporary
file in the same folder, then rename), so a reader never sees half a file. What a run's folder
holds (scenario.yaml, summary.json, replications.csv, intervals.csv, daily.csv) is decided by
the experiment summaries that produce the data; this module imports nothing but the standard
library and numpy. It does not plot (see :mod:`sim.report.html`).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "default_out_dir",
    "safe_name",
    "write_atomic",
    "write_folder",
    "write_table",
]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _umask()


def write_atomic(path: str | Path, text: str | bytes) -> None:
    """Write a whole file or nothing: temp file beside it, fsync, then rename over it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8") if isinstance(text, str) else text
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; results are for sharing
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


DIGITS = 10
"""Significant digits of floats in CSV files: far below any simulation's noise, and no
16-digit tails like 0.8975490196078433."""


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float | np.floating):
        return "" if math.isnan(value) else f"{float(value):.{DIGITS}g}"
    if isinstance(value, np.integer):
        return str(int(value))
    return str(value)


def write_table(path: str | Path, columns: Mapping[str, list | np.ndarray]) -> None:
    """Columns of equal length to CSV (empty cell for None/NaN; floats to DIGITS digits)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    names = list(columns)
    writer.writerow(names)
    n = len(next(iter(columns.values()))) if columns else 0
    for i in range(n):
        writer.writerow([_cell(columns[name][i]) for name in names])
    write_atomic(path, buf.getvalue())


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
