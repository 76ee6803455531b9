"""``sim forecast`` on the command line: the results folder, the dated scenario it hands to
planning, and one clear line with exit 2 for every kind of bad input."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from conftest import sim_cli, sim_ok
from forecast_synth import make_history

from sim.report.folder import read_table
from sim.scenario.errors import ScenarioError
from sim.scenario.loading import load_scenario, scenario_from_dict


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Half a year of an interval report with two call types, its holidays, one in the horizon."""
    folder = tmp_path_factory.mktemp("forecast")
    syn = make_history(days=182, holiday_weeks=(6, 15))
    report = syn.interval_report(folder / "report.csv")
    special = syn.special_days_csv(folder / "special.csv", extra=[dt.date(2025, 7, 7)])
    return syn, report, special


@pytest.fixture(scope="module")
def folder(inputs, tmp_path_factory):
    _, report, special = inputs
    out = tmp_path_factory.mktemp("out") / "fc"
    sim_ok("forecast", report, "--special-days", special, "--out", out, "--quiet")
    return out


def test_the_folder_holds_every_output(folder):
    for name in ("forecast.csv", "forecast_total.csv", "forecast_days.csv", "accuracy.csv",
                 "forecast.json", "history_days.csv", "scenario.yaml", "arrivals.csv",
                 "report.html"):  # fmt: skip
        assert (folder / name).is_file(), name
    fc = read_table(folder / "forecast.csv")
    total = read_table(folder / "forecast_total.csv")
    assert list(fc) == ["start", "call_type", "mean", "lo80", "hi80", "lo95", "hi95"]
    per_start = fc["mean"].reshape(-1, 2).sum(axis=1)  # types A and B of each interval
    assert per_start == pytest.approx(total["mean"], rel=1e-8, abs=1e-8)
    meta = json.loads((folder / "forecast.json").read_text())
    assert meta["start_date"] == "2025-07-06" and meta["horizon_days"] == 14
    acc = read_table(folder / "accuracy.csv")
    assert set(acc["method"]) == {
        "seasonal_naive",
        "average_8w",
        "weighted_12w",
        "ets_profile",
        "blend",
    }
    page = (folder / "report.html").read_text()
    assert "Back-test" in page and "Special days" in page and "data:image/png" in page


def test_the_scenario_is_dated_and_the_holiday_has_no_calls(folder):
    sc = load_scenario(folder / "scenario.yaml")
    assert sc.horizon.start_date == dt.date(2025, 7, 6) and sc.horizon.start_weekday == "sun"
    assert sc.horizon.days == 14 and sc.interval == 1800
    rows = np.array(sc.arrivals.rows)
    per_day = np.bincount(rows[:, 0].astype(int), weights=rows[:, 2])[1:]
    days = read_table(folder / "forecast_days.csv")
    assert per_day == pytest.approx(days["mean"], rel=1e-5)
    closed = list(days["kind"]).index("closed")
    assert days["date"][closed] == "2025-07-07" and per_day[closed] == 0  # the Monday holiday
    assert per_day[closed + 1] > 1.15 * per_day[closed + 8]  # Tuesday after it, and a week on
    assert sc.arrivals.day_to_day_cv > 0
    assert set(sc.call_types) == {"A", "B"}


def test_a_base_scenario_keeps_its_agents(inputs, tmp_path):
    _, report, special = inputs
    base = tmp_path / "base.yaml"
    base.write_text(
        "name: base\nhorizon: {days: 7}\narrivals: {rate_per_hour: 10}\n"
        "call_types: {A: {share: 0.7, handle_time: {dist: exponential, mean: 4min}},\n"
        "  B: {share: 0.3, handle_time: {dist: exponential, mean: 4min}}}\n"
        "customer_tiers: {all: {share: 1}}\n"
        "agents: {groups: {team: {skills: [A, B], staffing: 12}}}\n"
    )
    out = tmp_path / "out"
    sim_ok("forecast", report, "--special-days", special, "--base", base, "--out", out,
           "--horizon", "1w", "--no-report", "--quiet")  # fmt: skip
    sc = load_scenario(out / "scenario.yaml")
    assert sc.agents.groups["team"].staffing == 12 and sc.horizon.days == 7
    assert sc.arrivals.file == "arrivals.csv"


def test_start_after_the_history_leaves_a_gap(inputs, tmp_path):
    _, report, _ = inputs
    out = tmp_path / "out"
    sim_ok("forecast", report, "--start", "2025-07-21", "--horizon", "3d", "--out", out,
           "--no-report", "--quiet")  # fmt: skip
    days = read_table(out / "forecast_days.csv")
    assert list(days["date"]) == ["2025-07-21", "2025-07-22", "2025-07-23"]


def test_start_date_sets_the_weekday_and_must_agree(tmp_path):
    base = {
        "name": "x",
        "arrivals": {"rate_per_hour": 10},
        "call_types": {"a": {"share": 1, "handle_time": {"dist": "fixed", "value": 60}}},
        "customer_tiers": {"t": {"share": 1}},
        "agents": {"groups": {"g": {"skills": ["a"], "staffing": 1}}},
    }
    sc = scenario_from_dict({**base, "horizon": {"days": 2, "start_date": "2026-12-08"}})
    assert sc.horizon.start_weekday == "tue"
    with pytest.raises(ScenarioError, match="disagrees with start_date"):
        scenario_from_dict(
            {**base, "horizon": {"days": 2, "start_date": "2026-12-08", "start_weekday": "mon"}}
        )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--horizon", "2 months"], "--horizon: '2 months' is not a number of days or weeks"),
        (["--start", "07/07/2025"], "--start: '07/07/2025' is not a date"),
        (["--start", "2025-03-03"], "is inside the history"),
        (["--interval", "7min"], "--interval must divide a day"),
        (["--interval", "15min"], "rows are 30 min apart"),
        (["--horizon", "400d"], "the horizon must be 1 to 366 days"),
    ],
)
def test_bad_options_give_one_line_and_exit_2(inputs, tmp_path, args, message):
    _, report, _ = inputs
    res = sim_cli("forecast", report, "--out", tmp_path / "o", "--quiet", *args)
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("history", "special", "message"),
    [
        ("start,offered\n", None, "has no usable row"),
        ("arrival,outcome,wait\n2025-01-06T08:00:00,answered,0\n", None, "answered call without"),
        ("start,offered\n2025-01-06T08:00:00,1\n2025-01-07T08:00:00,1\n", None, "needs at least"),
        (None, "date,kind\n2025-01-06,party\n", "special.csv:2: column 'kind'"),
        (None, "date,kind\n", None),
    ],
)
def test_bad_files_give_one_line_and_exit_2(inputs, tmp_path, history, special, message):
    _, report, _ = inputs
    path = report
    if history is not None:
        path = tmp_path / "history.csv"
        path.write_text(history)
    args = ["forecast", path, "--out", tmp_path / "o", "--quiet", "--no-report"]
    if special is not None:
        (tmp_path / "special.csv").write_text(special)
        args += ["--special-days", tmp_path / "special.csv"]
    res = sim_cli(*args)
    if message is None:  # an empty special-days file is no special day
        assert res.exit_code == 0, res.output
        return
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) <= 2


def test_missing_history_and_other_folders(tmp_path):
    res = sim_cli("forecast", tmp_path / "nope.csv", "--quiet")
    assert res.exit_code == 2 and "file not found" in res.output
    mine = tmp_path / "documents"
    mine.mkdir()
    (mine / "letter.txt").write_text("x")
    res = sim_cli("forecast", tmp_path / "nope.csv", "--out", mine)
    assert res.exit_code == 2 and (mine / "letter.txt").exists()
