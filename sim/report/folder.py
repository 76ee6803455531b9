"""Reading a results folder (run, comparison or sweep) into plain data for the report.

The file formats are described in :mod:`sim.report.html`; every file is optional except that a
folder must hold ``summary.json``, ``comparison.json`` or ``points.csv``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sim.report.files import LinkError, read_inside, read_rows
from sim.report.numbers import is_num
from sim.scenario.confine import excerpt
from sim.scenario.units import parse_duration

__all__ = ["Folder", "ReportError", "read_json", "read_table", "read_text"]


class ReportError(Exception):
    """A folder that holds nothing a report can be built from."""


# --- reading the folder -----------------------------------------------------------------------


TIME_COLUMNS = ("weekday", "start")
"""The text columns of intervals.csv and daily.csv; every other one holds numbers."""


def read_table(path: str | Path, text: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
    """A CSV file as columns: float arrays (empty cell = NaN) or, for text, object arrays;
    ReportError when it is absent, a link or not CSV, or (``text`` given) when a column not in
    ``text`` holds text."""
    try:
        rows = read_rows(path)
    except (ValueError, LinkError) as exc:
        raise ReportError(str(exc)) from None
    if rows is None:
        raise ReportError(f"{path}: not found")
    if not rows:
        return {}
    header, body = rows[0], rows[1:]
    cols: dict[str, np.ndarray] = {}
    for j, name in enumerate(header):
        raw = [r[j] if j < len(r) else "" for r in body]
        try:
            cols[name] = np.array([float(v) if v.strip() else np.nan for v in raw], dtype=float)
        except ValueError:
            if text is not None and name not in text:
                cell = next(v for v in raw if v.strip() and not _is_float(v))
                raise ReportError(
                    f"{path}: column {excerpt(name, 40)} holds text ({excerpt(cell, 40)}); sim "
                    "writes numbers there"
                ) from None
            cols[name] = np.array(raw, dtype=object)
    return cols


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@dataclass
class Folder:
    """The files of a results folder, as plain data (missing files are None)."""

    path: Path
    scenario_text: str | None = None
    scenario: dict = field(default_factory=dict)
    summary: dict | None = None
    intervals: dict | None = None
    daily: dict | None = None
    comparison: dict | None = None
    points: dict | None = None
    sweep: dict | None = None
    experiment_text: str | None = None

    @classmethod
    def read(cls, path: str | Path) -> Folder:
        path = Path(path)
        if not path.is_dir():
            raise ReportError(f"{path}: not a folder")
        f = cls(path)
        text = read_text(path / "scenario.yaml")
        if text is not None:
            from ruamel.yaml import YAML

            f.scenario_text = text
            try:
                data = YAML(typ="safe", pure=True).load(text)
            except Exception as exc:  # a broken file still gets its text shown
                raise ReportError(f"{path / 'scenario.yaml'}: not YAML: {exc}") from exc
            f.scenario = data if isinstance(data, dict) else {}
        f.summary = read_json(path / "summary.json")
        kpis = (f.summary or {}).get("kpis", {})
        if not isinstance(kpis, dict) or not all(isinstance(k, dict) for k in kpis.values()):
            raise ReportError(f"{path / 'summary.json'}: 'kpis' is not as sim writes it")
        f.comparison = read_json(path / "comparison.json")
        f.sweep = read_json(path / "sweep.json")
        f.experiment_text = read_text(path / "experiment.yaml")
        for name in ("intervals", "daily", "points"):
            if (path / f"{name}.csv").exists() or (path / f"{name}.csv").is_symlink():
                text_columns = None if name == "points" else TIME_COLUMNS  # a sweep's: names
                setattr(f, name, read_table(path / f"{name}.csv", text_columns))
        if f.summary is None and f.comparison is None and f.points is None:
            raise ReportError(
                f"{path}: no summary.json, comparison.json or points.csv; is this a results folder?"
            )
        return f

    def targets(self) -> dict[str, tuple[str, float]]:
        """KPI -> (bound, value), from the scenario, sweep.json, then summary.json."""
        out: dict[str, tuple[str, float]] = {}
        sources = [self.scenario.get("targets"), (self.sweep or {}).get("targets")]
        for block in sources:
            for kpi, t in (block or {}).items():
                if isinstance(t, dict):
                    for bound in ("at_least", "at_most"):
                        if is_num(t.get(bound)):
                            out[kpi] = (bound, float(t[bound]))
        for kpi, k in ((self.summary or {}).get("kpis") or {}).items():
            if kpi not in out and is_num(k.get("target")):
                out[kpi] = ("target", float(k["target"]))
        return out

    def interval_s(self) -> float | None:
        try:
            return parse_duration(self.scenario.get("interval"))
        except (TypeError, ValueError):
            return None

    def within_s(self) -> float | None:
        t = (self.scenario.get("targets") or {}).get("service_level") or {}
        try:
            return parse_duration(t.get("within", 20.0))
        except (TypeError, ValueError):
            return None


def read_text(path: Path) -> str | None:
    """The text of a file of a results folder (:func:`~sim.report.files.read_inside`: never
    through a link), None when absent; ReportError naming it when it cannot be read."""
    try:
        data = read_inside(path)
    except OSError as exc:
        what = str(exc) if isinstance(exc, LinkError) else f"{path}: {exc.strerror}"
        raise ReportError(what) from None
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:  # not a file sim wrote: name it, never show its bytes
        raise ReportError(f"{path}: not UTF-8 text (byte {exc.start})") from None


def read_json(path: Path) -> dict | None:
    """A JSON object of a results folder (as :func:`read_text`); None when absent or not an
    object."""
    text = read_text(path)
    if text is None:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path}: not JSON: {exc}") from exc
    return data if isinstance(data, dict) else None
