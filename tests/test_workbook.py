"""The Excel export: one workbook per results folder holding the numbers of the CSV files, with
units in the headers; CSV floats rounded to a sensible number of digits."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.report.files import DIGITS, write_table

openpyxl = pytest.importorskip("openpyxl")


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("xlsx") / "run"
    result = CliRunner().invoke(
        cli,
        [
            *("run", "scenarios/hotline_baseline.yaml", "--replications", "2", "--workers", "1"),
            *("--quiet", "--no-report", "--xlsx", "--out", str(out)),
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"workbook: {out / 'results.xlsx'}" in result.output
    return out


def _csv(path):
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


def _same(cell, text: str) -> bool:
    if text == "":
        return cell is None
    try:
        return float(cell) == float(text)
    except (TypeError, ValueError):
        return str(cell) == text


@pytest.mark.parametrize("name", ["intervals", "daily", "replications"])
def test_workbook_holds_the_numbers_of_the_csv_files(run_folder, name):
    book = openpyxl.load_workbook(run_folder / "results.xlsx", read_only=True)
    rows = _csv(run_folder / f"{name}.csv")
    sheet = [list(r) for r in book[name].iter_rows(values_only=True)]
    assert len(sheet) == len(rows)
    for want, got in zip(rows[1:], sheet[1:], strict=True):
        assert all(_same(g, w) for g, w in zip(got, want, strict=True)), (want[:4], got[:4])
    # headers carry the unit; the name before it is the CSV's column
    heads = dict(zip(rows[0], sheet[0], strict=True))
    if name == "intervals":
        assert heads["service_level_mean"] == "service_level_mean (share)"
        assert heads["asa_mean"] == "asa_mean (s)"
        assert heads["offered_mean"] == "offered_mean (calls)"
        assert heads["agents_on_duty_mean"] == "agents_on_duty_mean (agents)"
    assert all(h.split(" (")[0] == c for c, h in heads.items())


def test_summary_and_staffing_sheets(run_folder):
    book = openpyxl.load_workbook(run_folder / "results.xlsx")
    assert book.sheetnames[:2] == ["summary", "intervals"] and "staffing" in book.sheetnames
    summary = json.loads((run_folder / "summary.json").read_text())
    rows = {r[0]: r for r in book["summary"].iter_rows(min_row=2, values_only=True)}
    sl = summary["kpis"]["service_level"]
    assert rows["service_level"][1] == sl["mean"] and rows["service_level"][6] == "share"
    assert rows["service_level"][5] is sl["met"]
    assert book["summary"]["B2"].number_format in ("General", "0.0%")
    sl_row = next(r for r in book["summary"].iter_rows(min_row=2) if r[0].value == "asa")
    assert sl_row[6].value == "s"
    staffing = book["staffing"]
    head = [c.value for c in staffing[1]]
    assert head[:3] == ["day", "weekday", "start"]
    assert "agents_on_duty.group=general_mean (agents)" in head


def test_csv_floats_are_rounded_but_keep_their_digits(tmp_path):
    write_table(tmp_path / "t.csv", {"x": [0.8975490196078433, 1 / 3, 5291.666666666667, None]})
    rows = _csv(tmp_path / "t.csv")
    assert [r[0] for r in rows[1:]] == ["0.8975490196", "0.3333333333", "5291.666667", ""]
    assert DIGITS == 10


def test_export_command(run_folder, tmp_path):
    (run_folder / "results.xlsx").unlink()
    result = CliRunner().invoke(cli, ["export", str(run_folder)])
    assert result.exit_code == 0, result.output
    assert (run_folder / "results.xlsx").is_file()
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(cli, ["export", str(tmp_path / "empty")])
    assert result.exit_code == 2 and "is this a results folder" in result.output


def test_currency_is_shown_beside_money(tmp_path):
    root = Path(__file__).resolve().parents[1]
    path = tmp_path / "eur.yaml"
    path.write_text(
        f"extends: {root / 'scenarios/hotline_baseline.yaml'}\nname: eur\ncurrency: EUR\n"
        "horizon: {days: 2}\n"
    )
    out = tmp_path / "run"
    result = CliRunner().invoke(
        cli,
        f"run {path} --replications 2 --workers 1 --quiet --no-report --xlsx --out {out} "
        f"--data-root {root / 'scenarios'}",  # extends a bundled scenario: outside tmp_path
    )
    assert result.exit_code == 0, result.output
    assert "cost_per_delivery (EUR/delivery)" in result.output
    assert json.loads((out / "summary.json").read_text())["currency"] == "EUR"
    rows = openpyxl.load_workbook(out / "results.xlsx")["summary"].iter_rows(values_only=True)
    assert {r[0]: r[6] for r in rows}["cost_per_delivery"] == "EUR/delivery"


def test_units_come_from_columns_csv_and_booleans_stay_booleans(run_folder, tmp_path):
    """Issue 26: the replications sheet said `offered (calls)` where columns.csv says
    calls/day; the compare and back-test sheets had no units; `significant` was text."""
    from sim.report.workbook import write_workbook

    book = openpyxl.load_workbook(run_folder / "results.xlsx")
    units = {(r[0], r[1]): r[2] for r in _csv(run_folder / "columns.csv")[1:]}
    heads = [c.value for c in book["replications"][1]]
    assert units[("replications.csv", "offered")] == "calls/day"
    assert "offered (calls/day)" in heads and heads[:2] == ["replication", "seed"]
    for head in heads[2:]:
        column, unit = head.split(" (", 1)
        assert unit[:-1] == units[("replications.csv", column)], head
    cmp = tmp_path / "cmp"
    cmp.mkdir()
    (cmp / "comparison.json").write_text("{}")
    (cmp / "comparison.csv").write_text(
        "baseline,alternative,kpi,baseline_mean,alternative_mean,difference,significant\n"
        "a,b,service_level,0.8,0.9,0.1,True\na,b,asa,20,10,-10,False\n"
    )
    (cmp / "backtest.csv").write_text(
        "weekday,start,history_offered,model_offered,model_offered_ci_low,history_asa,model_asa\n"
        "mon,08:00,11,16.75,6.0,12.5,13\n"
    )
    book = openpyxl.load_workbook(write_workbook(cmp))
    rows = list(book["comparison"].iter_rows(values_only=True))
    assert rows[0][-1] == "unit" and [r[-1] for r in rows[1:]] == ["share", "s"]
    assert [r[6] for r in rows[1:]] == [True, False]  # booleans, not the text "True"
    heads = [c.value for c in book["backtest"][1]]
    assert heads == [
        "weekday",
        "start",
        "history_offered (calls)",
        "model_offered (calls)",
        "model_offered_ci_low (calls)",
        "history_asa (s)",
        "model_asa (s)",
    ]
