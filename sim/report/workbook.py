"""An Excel workbook per results folder, for planners who live in spreadsheets.

Sheets: ``summary`` (each KPI's mean, 95 % CI, target and verdict, with its unit), then one
sheet per CSV file of the folder (``intervals``, ``daily``, ``replications``, ``staffing``,
``comparison``, ``points``), and ``staffing`` from the agents columns of ``intervals.csv`` when
the folder has no ``staffing.csv``. Cells hold exactly the numbers of the CSV files; headers
carry the unit, and shares are shown as percentages by the cell format (the value stays a
fraction, as in the CSV). Every text cell is stored as text, never as a formula, whatever it
starts with (a call type named ``=HYPERLINK(...)`` stays those characters). Files are read
inside the folder only, never through links (:func:`sim.report.files.read_inside`).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from sim.report.files import read_inside, read_rows, real_subfolders, write_atomic
from sim.report.numbers import KEY_UNITS, figure_of, header
from sim.report.staging import RESULT_FILES
from sim.scenario.kpis import unit_label, unit_of

__all__ = ["export_folder", "write_workbook"]

_KEYS = ("day", "weekday", "start")


def _value(text: str):
    """A CSV cell as a number when it is one (int when whole and written without a point)."""
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _read_csv(path: Path) -> tuple[list[str], list[list]]:
    rows = read_rows(path)
    if not rows:
        return [], []
    body = [[_value(c) for c in r] for r in rows[1:]]
    for j in range(len(rows[0])):  # a column of True/False (significant, meets_targets)
        cells = {r[j] for r in body if j < len(r)} - {None}
        if cells and cells <= {"True", "False"}:
            for r in body:
                if j < len(r) and r[j] is not None:
                    r[j] = r[j] == "True"
    return rows[0], body


_PER_ROW = ("intervals", "daily", "backtest", "staffing")
"""Sheets with a row per interval or day: their counts are per row, not per day."""

_SIDES = ("history_", "model_", "baseline_", "alternative_")
"""Prefixes of a figure seen from two sides (a back-test, a comparison): the figure's unit."""


def _units(folder: Path, stem: str, columns: list[str], currency) -> list[str]:
    """Each column's header with its unit: from the folder's ``columns.csv`` (the data
    dictionary the run wrote) when it names the column, else as :func:`header` says."""
    known: dict[str, str] = {}
    if (folder / "columns.csv").is_file():
        names, rows = _read_csv(folder / "columns.csv")
        if names[:3] == ["file", "column", "unit"]:
            known = {str(r[1]): str(r[2]) for r in rows if len(r) >= 3 and r[0] == f"{stem}.csv"}
    out = []
    for c in columns:
        base = next((c.removeprefix(p) for p in _SIDES if c.startswith(p)), c)
        said = header(base, currency, stem in _PER_ROW)  # keys stay as named
        unit = known.get(c) if c not in KEY_UNITS else None
        unit = unit or (said[len(base) + 2 : -1] if said != base else "")
        out.append(f"{c} ({unit})" if unit else c)
    return out


def _sheet(wb, title: str, columns: list[str], rows: list[list], headers: list[str]):
    from openpyxl.styles import Font

    ws = wb.create_sheet(title[:31])
    ws.append(headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append(row)
    for cells in ws.iter_rows():
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, never a formula (openpyxl reads "=..." as one)
    for j, c in enumerate(columns, start=1):
        if unit_of(figure_of(c)).is_share:
            for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                cell.number_format = "0.0%"
        ws.column_dimensions[ws.cell(1, j).column_letter].width = max(10, min(40, len(c) + 4))
    ws.freeze_panes = "A2"
    return ws


def _summary_rows(summary: dict, currency: str | None) -> tuple[list[str], list[list]]:
    columns = ["kpi", "mean", "ci95_low", "ci95_high", "target", "met", "unit"]
    rows = []
    for name, k in (summary.get("kpis") or {}).items():
        ci = k.get("ci95") or [None, None]
        unit = _kpi_unit(name, currency)
        rows.append(
            [
                name,
                k.get("mean"),
                ci[0],
                ci[1],
                k.get("target"),
                k.get("met"),
                unit,
            ]
        )
    return columns, rows


def _kpi_unit(name: str, currency: str | None) -> str:
    """A KPI's unit as files store it (shares as fractions: "share")."""
    return "share" if unit_of(name).is_share else unit_label(name, currency or "money")


def _staffing_from_intervals(columns: list[str], rows: list[list]):
    keep = [c for c in columns if c in _KEYS or c.startswith(("agents_on_duty", "agents_sched"))]
    keep = [c for c in keep if c in _KEYS or c.endswith("_mean")]
    index = [columns.index(c) for c in keep]
    return keep, [[r[i] if i < len(r) else None for i in index] for r in rows]  # short rows


def write_workbook(folder: str | Path, out: str | Path | None = None) -> Path | None:
    """``results.xlsx`` in ``folder`` from its summary.json and CSV files; None when the folder
    holds none of them."""
    from openpyxl import Workbook

    folder = Path(folder)
    wb = Workbook()
    wb.remove(wb.active)
    currency = None
    summary_path = folder / "summary.json"
    data = read_inside(summary_path)
    if data is not None:
        try:
            summary = json.loads(data.decode("utf-8"))
        except UnicodeDecodeError as exc:  # not a file sim wrote: named, its bytes never shown
            raise ValueError(f"{summary_path}: not UTF-8 text (byte {exc.start})") from None
        except ValueError as exc:
            raise ValueError(f"{summary_path}: not JSON: {str(exc)[:120]}") from None
        try:
            currency = summary.get("currency")
            cols, rows = _summary_rows(summary, currency)
        except (AttributeError, KeyError, TypeError, ValueError):
            raise ValueError(f"{summary_path}: not a summary.json written by sim") from None
        ws = _sheet(wb, "summary", cols, rows, [header(c, currency) for c in cols])
        for (cell,) in ws.iter_rows(min_row=2, min_col=7, max_col=7):
            if cell.value == "share":
                for c in ws[cell.row][1:5]:
                    c.number_format = "0.0%"
    csvs = sorted(folder.glob("*.csv"), key=lambda p: (p.stem != "intervals", p.stem))
    for path in csvs:
        cols, rows = _read_csv(path)
        if cols and "kpi" in cols and "unit" not in cols:  # a row per KPI: its unit per row
            k = cols.index("kpi")
            cols = [*cols, "unit"]
            rows = [[*r, _kpi_unit(str(r[k]), currency) if k < len(r) else None] for r in rows]
        if cols:
            _sheet(wb, path.stem, cols, rows, _units(folder, path.stem, cols, currency))
    intervals = folder / "intervals.csv"
    if intervals in csvs and (folder / "staffing.csv") not in csvs:
        cols, rows = _staffing_from_intervals(*_read_csv(intervals))
        _sheet(wb, "staffing", cols, rows, _units(folder, "intervals", cols, currency))
    if not wb.sheetnames:
        return None
    buf = io.BytesIO()
    wb.save(buf)
    out = Path(out) if out else folder / "results.xlsx"
    write_atomic(out, buf.getvalue())
    return out


def export_folder(folder: str | Path) -> list[Path]:
    """A workbook for the folder and for each run folder inside it (a comparison's scenarios);
    none for a folder no command wrote (its CSV files may be anything: never gather them)."""
    folder = Path(folder)
    if not any((folder / name).is_file() for name in RESULT_FILES):
        return []
    written = [write_workbook(folder)]
    for sub in real_subfolders(folder):
        if (sub / "summary.json").is_file():
            written.append(write_workbook(sub))
    return [p for p in written if p is not None]
