"""Staffing per date: a forecast's dated scenario (a Monday holiday, the busier day after it)
staffed by ``sim staff`` per date, and staffing maps keyed by date in scenario files."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from conftest import sim_cli, sim_ok
from forecast_synth import make_history

from sim.model.calendar import staffing_timeline
from sim.planning.slots import day_types, plan_keys, staffing_map
from sim.report.folder import read_table
from sim.scenario.errors import ScenarioError
from sim.scenario.loading import load_scenario, scenario_from_dict

HOLIDAY, AFTER, WEEK_LATER = "mon 2025-07-07", "tue 2025-07-08", "tue 2025-07-15"


@pytest.fixture(scope="module")
def staffed(tmp_path_factory):
    """Half a year of history with Monday holidays and their carry-over, forecast for the two
    weeks from Sunday 2025-07-06 (the Monday after it a holiday), then staffed."""
    folder = tmp_path_factory.mktemp("perdate")
    syn = make_history(days=182, daily=300.0, holiday_weeks=(6, 15))
    report = syn.interval_report(folder / "report.csv")
    special = syn.special_days_csv(folder / "special.csv", extra=[dt.date(2025, 7, 7)])
    sim_ok("forecast", report, "--special-days", special, "--out", folder / "fc", "--quiet",
           "--no-report")  # fmt: skip
    sim_ok("staff", folder / "fc" / "scenario.yaml", "--out", folder / "st", "--quiet",
           "--replications", 6, "--verify", 20)  # fmt: skip
    return folder


@pytest.mark.slow  # forecast, staff and report: ~10 s of CPU
def test_the_holiday_is_closed_and_the_day_after_staffed_for_its_volume(staffed):
    st = staffed / "st"
    data = json.loads((st / "staffing.json").read_text())
    hours = data["agent_hours_per_day"]
    assert list(hours)[:3] == ["sun 2025-07-06", HOLIDAY, AFTER] and len(hours) == 14
    assert hours[HOLIDAY] == 0.0
    assert hours[AFTER] > 1.1 * hours[WEEK_LATER] > 0  # its own day type, not pooled with it
    assert [AFTER] in data["day_types"].values()
    assert "planned per date" in data["planned_for"] and "day-to-day cv" in data["planned_for"]
    # the fresh-seed check, slot by slot of every date with calls: what #22/#23 ask of a plan
    # (at least 90 % of slots met, at most 1 % significantly short: with ~180 slots each judged
    # on 20 replications, one unlucky slot is within what that allows)
    check = data["fresh_seed_check"]
    assert check["slots"] > 100 and check["share_meeting"] >= 0.9 and check["share_short"] <= 0.01
    table = read_table(st / "staffing.csv")
    after = np.array(table["day_type"]) == AFTER
    assert after.sum() == 48 and "True" not in np.array(table["significant_miss"])[after]
    assert "planned per date" in (st / "staffing.yaml").read_text()
    page = (st / "report.html").read_text()
    assert "Agent-hours per day" in page and "no calls and no agents" in page


@pytest.mark.slow
def test_the_written_scenario_runs_as_is_with_staffing_by_date(staffed):
    st = staffed / "st"
    sc = load_scenario(st / "scenario.yaml")
    plan = sc.agents.groups["agents"].staffing
    assert isinstance(plan, dict) and plan["2025-07-07"] == 0 and len(plan) == 14
    on_duty = staffing_timeline(sc, sc.agents.groups["agents"])
    edges = np.arange(0, 15) * 86400.0
    per_day = on_duty.integral(edges) / 3600.0
    hours = json.loads((st / "staffing.json").read_text())["agent_hours_per_day"]
    assert per_day == pytest.approx(list(hours.values()))  # the model runs what was planned
    sim_ok("run", st / "scenario.yaml", "--out", staffed / "run", "--replications", 2,
           "--no-report", "--quiet")  # fmt: skip


BASE = {
    "name": "dated",
    "horizon": {"days": 3, "start_date": "2027-01-04"},
    "arrivals": {"rate_per_hour": 10},
    "call_types": {"a": {"share": 1, "handle_time": {"dist": "fixed", "value": 60}}},
    "customer_tiers": {"t": {"share": 1}},
    "agents": {"groups": {"g": {"skills": ["a"], "staffing": 1}}},
}


def _with(staffing, horizon=None) -> dict:
    data = json.loads(json.dumps(BASE))
    data["agents"]["groups"]["g"]["staffing"] = staffing
    if horizon is not None:
        data["horizon"] = horizon
    return data


def test_staffing_by_date_puts_each_date_on_duty():
    plan = {"2027-01-04": 2, "2027-01-05": {"08:00": 5, "17:00": 0}, "2027-01-06": 0}
    sc = scenario_from_dict(_with(plan))
    on_duty = staffing_timeline(sc, sc.agents.groups["g"])
    # before 08:00 on the 5th: the 4th's 2 agents run on, as a weekday map's previous day does
    assert on_duty.integral(np.arange(4) * 86400.0) / 3600 == pytest.approx([48, 16 + 45, 0])
    # the same days by weekday: the same timeline
    weekly = {d: 0 for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    weekly.update(mon=2, tue={"08:00": 5, "17:00": 0})
    same = scenario_from_dict(_with(weekly))
    other = staffing_timeline(same, same.agents.groups["g"])
    assert np.array_equal(on_duty.times, other.times)
    assert np.array_equal(on_duty.values, other.values)


def test_a_weekday_scenario_keeps_its_weekday_plan():
    sc = scenario_from_dict(BASE)  # dated, but no arrivals per day: weekdays suffice
    assert plan_keys(sc)[0] == "mon" and len(day_types(sc).of_row) == 7
    weekly = np.repeat(np.arange(7), 48).reshape(7, 48)
    assert set(staffing_map(sc, weekly)) == {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}


@pytest.mark.parametrize(
    ("staffing", "horizon", "message"),
    [
        ({"2027-01-04": 1, "2027-01-05": 1, "2027-01-09": 1}, None, "2027-01-09 is outside the"),
        ({"2027-01-04": 1, "2027-01-06": 1}, None, "missing 2027-01-05"),
        ({"2027-01-04": 1, "mon": 1}, None, "mixes weekdays (mon) and dates (2027-01-04)"),
        ({"2027-01-04": 1, "2027-02-30": 1}, None, "2027-02-30 is not a calendar date"),
        ({"2027-01-05": 1, "2027-01-04": 1}, None, "comes after a later or the same date"),
        ({"2027-01-04": 1, "08:00": 1}, None, "'08:00' is not a date"),
        ({"2027-01-04": {"mon": 1}}, None, "must give agents or a daily map"),
        ({"2027-01-04": 1}, {"days": 1}, "needs a dated horizon"),
    ],
)
def test_bad_staffing_by_date_is_one_clear_error(tmp_path, staffing, horizon, message):
    data = _with(staffing, horizon)
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(data)
    assert message in str(err.value)
    path = tmp_path / "s.yaml"
    lines = [f"{k}: {json.dumps(v)}" for k, v in staffing.items()]  # dates unquoted: YAML dates
    path.write_text(_yaml(data, lines))
    res = sim_cli("validate", path)
    assert res.exit_code == 2, res.output
    assert len(res.output.strip().splitlines()) == 1 and "Traceback" not in res.output
    if "02-30" in message:  # YAML itself refuses the unquoted date (ruamel names no line)
        assert "s.yaml:1: invalid YAML: 'day is out of range for month'" in res.output
        return
    assert message in res.output
    assert "s.yaml:" in res.output and "agents.groups.g.staffing" in res.output


def _yaml(data: dict, lines: list[str]) -> str:
    """``data`` as YAML with the staffing keys written bare (``2027-01-04:`` reads as a date)."""
    head = {k: v for k, v in data.items() if k != "agents"}
    out = [f"{k}: {json.dumps(v)}" for k, v in head.items()]
    out += ["agents:", "  groups:", "    g:", "      skills: [a]", "      staffing:"]
    return "\n".join(out + ["        " + line for line in lines]) + "\n"


def test_a_dated_scenario_with_arrivals_per_day_gets_a_day_type_per_date(tmp_path):
    rows = ["day,start,calls"]
    for day, calls in ((1, 0), (2, 30), (3, 20), (4, 20)):  # closed, busy, two normal days
        rows += [f"{day},{h:02d}:00,{calls}" for h in range(8, 18)]
    (tmp_path / "arrivals.csv").write_text("\n".join(rows) + "\n")
    data = _with(3, {"days": 4, "start_date": "2027-01-03"})  # a Sunday
    data["arrivals"] = {"file": "arrivals.csv"}
    data["interval"] = 3600
    sc = scenario_from_dict(data, base_dir=tmp_path)
    types = day_types(sc)
    assert types.names == ["sun 2027-01-03", "mon 2027-01-04", "tue 2027-01-05+wed 2027-01-06"]
    assert types.of_row.tolist() == [0, 1, 2, 2]
    assert plan_keys(sc) == ["2027-01-03", "2027-01-04", "2027-01-05", "2027-01-06"]
    levels = np.zeros((3, 24), dtype=np.int64)
    levels[1, 8:18], levels[2, 8:18] = 5, 4
    plan = staffing_map(sc, types.rows(levels))
    assert plan == {
        "2027-01-03": 0,
        "2027-01-04": {"00:00": 0, "08:00": 5, "18:00": 0},
        "2027-01-05": {"00:00": 0, "08:00": 4, "18:00": 0},
        "2027-01-06": {"00:00": 0, "08:00": 4, "18:00": 0},
    }
    data["agents"]["groups"]["g"]["staffing"] = plan
    staffed = scenario_from_dict(data, base_dir=tmp_path)  # the plan is a valid scenario
    on_duty = staffing_timeline(staffed, staffed.agents.groups["g"])
    assert on_duty.integral(np.arange(5) * 86400.0) / 3600 == pytest.approx([0, 50, 40, 40])
    unpooled = day_types(sc, pool=False)
    assert unpooled.count == 4 and unpooled.of_row.tolist() == [0, 1, 2, 3]


def test_shift_templates_refuse_a_plan_per_date(tmp_path):
    from sim.planning.shifts import load_templates

    rows = ["day,start,calls", "1,08:00,5", "2,08:00,9"]
    (tmp_path / "arrivals.csv").write_text("\n".join(rows) + "\n")
    data = _with(1, {"days": 2, "start_date": "2027-01-04"})
    data["arrivals"] = {"file": "arrivals.csv"}
    sc = scenario_from_dict(data, base_dir=tmp_path)
    (tmp_path / "t.yaml").write_text('templates:\n  day:\n    length: 8h\n    starts: "08:00"\n')
    with pytest.raises(ScenarioError, match="plan is per date"):
        load_templates(tmp_path / "t.yaml", sc)
    load_templates(tmp_path / "t.yaml", scenario_from_dict(BASE))  # per weekday: fine
