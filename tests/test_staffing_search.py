"""Staffing a planner can trust: day types, decisions on evidence, the fresh-seed check, no
warm-up artefacts, weekday maps, resuming a killed search, and the Erlang table."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.planning.erlang import erlang_a_metrics
from sim.planning.slots import Evidence, day_types, staffing_map
from sim.planning.staffing import staff
from sim.scenario.loading import load_scenario, scenario_from_dict

ROOT = Path(__file__).parent.parent


def _queue(rate_h=360, aht=200, patience=150, target=0.85, within=30, days=8, warmup=86400.0):
    return {
        "name": "stationary",
        "horizon": {"days": days, "warmup": warmup, "start_weekday": "mon"},
        "interval": 3600.0,
        "arrivals": {"rate_per_hour": rate_h},
        "call_types": {
            "general": {"share": 1, "handle_time": {"dist": "exponential", "mean": aht}}
        },
        "customer_tiers": {
            "standard": {"share": 1, "patience": {"dist": "exponential", "mean": patience}}
        },
        "agents": {"groups": {"team": {"skills": ["general"], "staffing": 22}}},
        "targets": {"service_level": {"within": within, "at_least": target}},
        "replications": 4,
        "seed": 3,
    }


# --- day types and maps ------------------------------------------------------------------------


def test_identical_weekdays_are_one_day_type_and_warmup_days_take_the_next_days_type():
    data = _queue(days=7, warmup=0.0)
    factors = {
        "mon": 1.15,
        "tue": 1.05,
        "wed": 1.0,
        "thu": 1.0,
        "fri": 1.05,
        "sat": 0.8,
        "sun": 0.7,
    }
    data["arrivals"] = {"daily_volume": 5000, "weekday_factors": factors}
    types = day_types(scenario_from_dict(data))
    assert types.names == ["mon", "tue+fri", "wed+thu", "sat", "sun"]
    assert [types.names[k] for k in types.of_weekday] == [
        "mon", "tue+fri", "wed+thu", "wed+thu", "tue+fri", "sat", "sun",
    ]  # fmt: skip
    assert [len(d) for d in types.days] == [1, 2, 2, 1, 1]
    assert day_types(scenario_from_dict(_queue())).names == ["every day"]
    # two days, the first only warm-up: mon gets tue's staffing, the other weekdays too
    short = _queue(days=2, warmup=86400.0)
    short["arrivals"] = {"daily_volume": 5000, "weekday_factors": {"mon": 2.0}}
    types = day_types(scenario_from_dict(short))
    assert types.names == ["every day"] and set(types.of_weekday) == {0}  # one daily map
    weekly = _queue(days=3, warmup=86400.0)
    weekly["arrivals"] = {"daily_volume": 5000, "weekday_factors": {"tue": 2.0}}
    types = day_types(scenario_from_dict(weekly))
    assert types.names == ["tue", "wed"]
    assert types.names[types.of_weekday[0]] == "tue"  # mon, only warm-up, precedes tue
    assert "mon is only in the warm-up: staffed as tue" in types.notes


def test_staffing_maps_name_every_weekday_and_a_missing_one_is_an_error(write):
    sc = scenario_from_dict(_queue())
    rows = np.full((7, 24), 5)
    assert staffing_map(sc, rows) == 5
    rows[6, 3:] = 2
    got = staffing_map(sc, rows)
    assert list(got) == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    text = (ROOT / "tests" / "scenarios" / "tiny_mmc.yaml").read_text()
    path = write(text.replace("staffing: 5", "staffing: {mon: 5, tue: 5}"))
    res = CliRunner().invoke(cli, ["validate", str(path)])
    assert res.exit_code == 2
    assert "missing wed, thu, fri, sat, sun" in res.output and "staffing" in res.output


def test_pooled_ratio_evidence_matches_a_hand_computation():
    quick = np.array([8.0, 9.0, 6.0, 10.0])
    offered = np.array([10.0, 10.0, 9.0, 11.0])
    m = np.zeros((3, 6, 1))
    m[0, :, 0] = [4, quick.sum(), offered.sum(), (quick**2).sum(), (offered**2).sum(),
                  (quick * offered).sum()]  # fmt: skip
    ev = Evidence.of(m)
    r = quick.sum() / offered.sum()
    se = np.sqrt(((quick - r * offered) ** 2).sum() / 3 / 4) / offered.mean()
    assert ev.est[0][0] == pytest.approx(r) and ev.se[0][0] == pytest.approx(se)
    from sim.planning.loads import StaffingTargets

    low_bar = StaffingTargets(within=20, service_level=0.75)
    high_bar = StaffingTargets(within=20, service_level=0.99)
    assert ev.ok(low_bar, 0.0, 0.05)[0] and not ev.short(low_bar, 0.05)[0]
    assert ev.short(high_bar, 0.05)[0] and not ev.meets(high_bar)[0]


def _moments(quick: list[float], offered: list[float]) -> np.ndarray:
    q, o = np.array(quick), np.array(offered)
    m = np.zeros((3, 6))
    m[0] = [len(q), q.sum(), o.sum(), (q * q).sum(), (o * o).sum(), (q * o).sum()]
    return m


def test_a_level_is_judged_on_recent_rounds_only_when_its_context_moved():
    from sim.planning.staffing import WINDOW, Search

    one = np.zeros((1, 1, 1), dtype=np.int64)
    state = Search(one + 5, one.astype(bool), one, one.astype(bool), one, round=4)
    steady = [[90, 88, 91, 89], [90, 89, 88, 91], [89, 90, 91, 88], [91, 88, 90, 89]]
    for block, quick in enumerate(steady):  # the same service level every round: pooled
        state.evidence[(0, 0, 0, 5, block)] = _moments(quick, [100] * 4)
    assert state.current(one + 5).n[0][0, 0, 0] == 16
    for block in range(4 - WINDOW, 4):  # the last rounds clearly worse: those only
        state.evidence[(0, 0, 0, 5, block)] = _moments([70, 72, 71, 69], [100] * 4)
    ev = state.current(one + 5)
    assert ev.n[0][0, 0, 0] == 4 * WINDOW and ev.est[0][0, 0, 0] == pytest.approx(0.705)


# --- the search --------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=[3, 11])
def stationary(request):
    """360/h, AHT 200 s, patience 150 s, 85% in 30 s: Erlang A says 22 (SL .856; 21: .804)."""
    sc = scenario_from_dict({**_queue(), "seed": request.param})
    return staff(sc, executor="processes", max_iterations=6)


@pytest.mark.slow
def test_stationary_case_gives_mostly_22(stationary):
    assert (stationary.staffing["team"] == 22).mean() >= 0.8


@pytest.mark.slow
def test_stationary_case_gives_22_or_23_every_hour(stationary):
    assert erlang_a_metrics(0.1, 200, 22, 150, 30).service_level == pytest.approx(0.856, abs=1e-3)
    assert erlang_a_metrics(0.1, 200, 21, 150, 30).service_level < 0.81
    result = stationary
    plan = result.staffing["team"]  # (7, 24): every weekday
    assert set(np.unique(plan)) <= {22, 23}, plan
    assert result.types.names == ["every day"]
    # agent-hours over the 7 measured days only (the warm-up day is left out)
    assert result.agent_hours() == pytest.approx(7 * plan[0].sum())
    assert result.agent_hours(result.erlang_levels) == pytest.approx(7 * 24 * 22)
    check = result.check()
    assert check["significant_misses"] == 0 and check["slots"] == 24


def _steep() -> dict:
    """One day of half-hours: 30/h at night, a ramp to 360/h by 09:30, a step drop at 10:00."""
    data = _queue(days=1, warmup=0.0)
    profile = {"00:00": 30, "07:00": 90, "07:30": 150, "08:00": 210, "08:30": 270,
               "09:00": 330, "09:30": 360, "10:00": 60, "18:00": 30}  # fmt: skip
    data["arrivals"] = {"daily_volume": 0, "intraday_profile": profile}
    volume = sum(v * 0.5 for v in [30] * 14 + [90, 150, 210, 270, 330, 360] + [60] * 16 + [30] * 12)
    data["arrivals"]["daily_volume"] = volume
    data["interval"] = 1800.0
    data["targets"] = {"service_level": {"within": 20, "at_least": 0.8}}
    data["customer_tiers"]["standard"]["patience"] = {"dist": "exponential", "mean": 300}
    data["replications"] = 20
    return data


@pytest.mark.slow
def test_steep_day_meets_with_fresh_seeds():
    sc = scenario_from_dict(_steep())
    result = staff(sc, executor="processes", verify_replications=100)
    check = result.check()
    assert check["slots"] == 48
    assert check["slots_meeting"] >= 44, check
    assert check["significant_misses"] == 0, check
    plan = result.staffing["team"][0]
    assert plan[19] > plan[14] + 10 and plan[20] < plan[19]  # it follows the ramp and the drop


# --- files, resuming and the CLI ---------------------------------------------------------------


def _run_staff(path: Path, out: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "sim", "staff", str(path), "--out", str(out), "--executor",
           "serial", "--no-report", "--max-iterations", "6"]  # fmt: skip
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_a_killed_search_leaves_a_partial_result_and_resumes(tmp_path, write):
    data = _queue(rate_h=120, days=3, warmup=3600.0)
    data["replications"] = 2
    import ruamel.yaml

    path = tmp_path / "s.yaml"
    with open(path, "w") as fh:
        ruamel.yaml.YAML(typ="safe").dump(data, fh)
    whole = tmp_path / "whole"
    assert _run_staff(path, whole).wait(timeout=300) == 0
    out = tmp_path / "killed"
    proc = _run_staff(path, out)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        state = out / "search.json"
        if state.is_file() and json.loads(state.read_text())["round"] >= 1:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = json.loads((out / "staffing.json").read_text())
    assert partial["complete"] is False
    assert "unfinished search" in (out / "staffing.yaml").read_text()
    res = _run_staff(path, out)
    _, err = res.communicate(timeout=300)
    assert res.returncode == 0, err
    assert b"resuming the search" in err
    final = json.loads((out / "staffing.json").read_text())
    assert final["complete"] is True
    assert (out / "staffing.csv").read_text() == (whole / "staffing.csv").read_text()


def test_sim_erlang_table_over_a_range_and_the_agents_required():
    args = ["erlang", "--rate", "360/h", "--aht", "200s", "--patience", "150s", "--within",
            "30s", "--target", "0.85"]  # fmt: skip
    res = CliRunner().invoke(cli, [*args, "--agents", "18..21", "--json"])
    assert res.exit_code == 0, res.output
    got = json.loads(res.output)
    assert [r["agents"] for r in got["table"]] == [18, 19, 20, 21]
    assert got["table"][3]["service_level"] == pytest.approx(
        erlang_a_metrics(0.1, 200, 21, 150, 30).service_level
    )
    assert got["agents_required"] == 22
    res = CliRunner().invoke(cli, [*args, "--agents", "18..21"])
    assert res.exit_code == 0 and "22 agents required" in res.output
    assert "21 agents miss" in res.output
    res = CliRunner().invoke(cli, [*args, "--agents", "21..18"])
    assert res.exit_code == 2 and "--agents" in res.output


def test_sim_erlang_range_marks_the_row_required():
    """Issue 26: `--target 0.8 --agents 10..20` said which row is required only by a colour."""
    args = ["erlang", "--rate", "200/h", "--aht", "3min", "--target", "0.8", "--agents", "12..16"]
    got = json.loads(CliRunner().invoke(cli, [*args, "--json"]).output)
    assert got["agents_required"] == 14  # 13 agents: 79.6%, 14: 88.8%
    assert [(r["agents"], r["meets_targets"], r["required"]) for r in got["table"]] == [
        (12, False, False),
        (13, False, False),
        (14, True, True),
        (15, True, False),
        (16, True, False),
    ]
    lines = CliRunner().invoke(cli, args).output.splitlines()  # no terminal: no colour
    rows = {line.split("│")[1].strip(): line for line in lines if line.startswith("│")}
    assert "required" in rows["14"] and "met" in rows["14"]
    assert "missed" in rows["13"] and "required" not in rows["13"] + rows["15"]
    plain = CliRunner().invoke(cli, [*args[:5], "--agents", "12..13"]).output
    assert "64.02%" in plain
    assert "targets" not in plain and "missed" not in plain  # no target: nothing to judge


def test_bundled_scenarios_still_load():
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        assert load_scenario(path).name
