"""The results folder of a run: resolved scenario, summary.json, replications.csv, intervals.csv,
and daily.csv when the scenario has business flows.

Owns file formats and atomic writing (write to a temporary file in the same folder, then
rename), so a reader never sees half a file. It does not plot (see :mod:`sim.report.html`).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from sim.experiments.replication import Summary
from sim.scenario.schema import scenario_to_yaml

__all__ = [
    "default_out_dir",
    "write_atomic",
    "write_comparison_folder",
    "write_run_folder",
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


def write_table(path: str | Path, columns: dict[str, list | np.ndarray]) -> None:
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
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "scenario"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path(root) / safe / stamp


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


def write_run_folder(out: str | Path, summary: Summary) -> Path:
    """The spec's results folder for a run of replications."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "scenario.yaml", scenario_to_yaml(summary.scenario))
    write_atomic(out / "summary.json", _json(summary.to_dict()))
    names: list[str] = []
    for run in summary.runs:
        names += [k for k in run.kpis if k not in names]
    rows = {
        "replication": [r.replication for r in summary.runs],
        "seed": [r.seed for r in summary.runs],
    }
    rows.update({name: [r.kpis.get(name) for r in summary.runs] for name in names})
    write_table(out / "replications.csv", rows)
    write_table(out / "intervals.csv", summary.interval_summary())
    daily = summary.daily_summary()
    if daily is not None:
        write_table(out / "daily.csv", daily)
    return out


def write_comparison_folder(out: str | Path, comparison, extra: dict | None = None) -> Path:
    """A comparison's folder: ``comparison.json`` (scenarios, pairs of differences, summaries,
    and ``extra`` such as ``plans`` and ``changes``), ``comparison.csv`` (one row per
    alternative and KPI) and a run folder per scenario."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "comparison.json", _json(comparison.to_dict() | (extra or {})))
    rows: dict[str, list] = {
        k: []
        for k in (
            "baseline",
            "alternative",
            "kpi",
            "baseline_mean",
            "alternative_mean",
            "difference",
            "ci_low",
            "ci_high",
            "significant",
            "n",
            "variance_reduction",
        )
    }
    for label, diffs in comparison.differences.items():
        for name, d in diffs.items():
            values = (
                comparison.labels[0],
                label,
                name,
                d.baseline_mean,
                d.alternative_mean,
                d.mean,
                d.ci95[0] if d.ci95 else None,
                d.ci95[1] if d.ci95 else None,
                d.significant,
                d.n,
                d.variance_reduction,
            )
            for key, value in zip(rows, values, strict=True):
                rows[key].append(value)
    write_table(out / "comparison.csv", rows)
    for label, summary in zip(comparison.labels, comparison.summaries, strict=True):
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("._") or "scenario"
        write_run_folder(out / safe, summary)
    return out
