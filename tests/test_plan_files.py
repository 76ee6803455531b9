"""A plan that runs: ``extends:`` resolves each file's paths against the file that names them
(confined as every input), ``sim staff`` writes a runnable ``scenario.yaml`` with its data files
beside it, and a failed ``sim fit`` or ``sim staff`` leaves nothing that blocks the rerun."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sim.scenario.confine import extra_roots
from sim.scenario.errors import ScenarioError
from sim.scenario.schema import load_scenario

BASE = """\
name: base
horizon: {days: 2}
interval: 1h
arrivals: {file: arrivals.csv}
call_types:
  general: {share: 1, handle_time: {dist: empirical, file: data/aht.csv}}
customer_tiers:
  standard: {share: 1, patience: {dist: exponential, mean: 2min}}
agents:
  groups:
    team: {skills: [general], staffing: 3}
targets:
  service_level: {within: 20s, at_least: 0.8}
replications: 2
seed: 5
"""
ARRIVALS = "start,calls\n00:00,0\n08:00,30\n12:00,20\n18:00,0\n"
AHT = "seconds\n120\n180\n240\n"


def _base(root: Path, folder: str = "planner") -> Path:
    """A base scenario in ``root/folder`` naming an arrivals file and an empirical file."""
    where = root / folder
    (where / "data").mkdir(parents=True, exist_ok=True)
    (where / "arrivals.csv").write_text(ARRIVALS, encoding="utf-8")
    (where / "data" / "aht.csv").write_text(AHT, encoding="utf-8")
    path = where / "base.yaml"
    path.write_text(BASE, encoding="utf-8")
    return path


def _errors(path: Path) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return str(info.value)


# --- extends: paths against the file that names them ------------------------------------------


def test_a_base_in_a_subfolder_reads_its_files_beside_itself(tmp_path):
    base = load_scenario(_base(tmp_path))
    child = tmp_path / "plan.yaml"
    child.write_text("extends: planner/base.yaml\nname: plan\n", encoding="utf-8")
    s = load_scenario(child)
    assert s.name == "plan"
    assert s.arrivals.rows == base.arrivals.rows and len(s.arrivals.rows) == 4
    assert s.call_types["general"].handle_time.values == (120.0, 180.0, 240.0)
    assert s.arrivals.file == os.path.join("planner", "arrivals.csv")  # seen from the child


def test_a_chain_rebases_at_every_level_and_a_key_the_child_writes_is_its_own(tmp_path):
    _base(tmp_path, "a/b")
    (tmp_path / "a" / "mid.yaml").write_text("extends: b/base.yaml\nname: mid\n", encoding="utf-8")
    (tmp_path / "arrivals.csv").write_text("start,calls\n00:00,7\n", encoding="utf-8")
    top = tmp_path / "top.yaml"
    top.write_text("extends: a/mid.yaml\nname: top\n", encoding="utf-8")
    s = load_scenario(top)
    assert s.arrivals.rows[1] == (0, 8 * 3600.0, 30.0)  # a/b/arrivals.csv
    assert s.call_types["general"].handle_time.values == (120.0, 180.0, 240.0)
    top.write_text(
        "extends: a/mid.yaml\nname: top\narrivals: {file: arrivals.csv}\n", encoding="utf-8"
    )
    assert load_scenario(top).arrivals.rows == ((0, 0.0, 7.0),)  # the child's own, beside it


def test_a_base_in_a_sibling_folder_needs_its_tree_as_a_data_root(tmp_path):
    _base(tmp_path)
    child = tmp_path / "plans" / "plan.yaml"
    child.parent.mkdir()
    child.write_text("extends: ../planner/base.yaml\nname: plan\n", encoding="utf-8")
    assert "outside the data root" in _errors(child)
    with extra_roots(tmp_path):  # --data-root: the common tree
        s = load_scenario(child)
    assert len(s.arrivals.rows) == 4 and s.call_types["general"].handle_time.mean == 180.0


def test_a_base_cannot_name_a_file_outside_the_tree_by_dotdot_or_a_symlink(tmp_path):
    root = tmp_path / "root"
    base = _base(root)
    secret = tmp_path / "secret.csv"
    secret.write_text("start,calls\n00:00,1\n", encoding="utf-8")
    child = root / "plan.yaml"
    child.write_text("extends: planner/base.yaml\nname: plan\n", encoding="utf-8")
    base.write_text(BASE.replace("file: arrivals.csv", "file: ../../secret.csv"), encoding="utf-8")
    message = _errors(child)
    assert "outside the data root" in message and "secret.csv" in message
    base.write_text(BASE, encoding="utf-8")
    (root / "planner" / "arrivals.csv").unlink()
    (root / "planner" / "arrivals.csv").symlink_to(secret)
    message = _errors(child)
    assert "outside the data root" in message and "arrivals.csv" in message
    with pytest.raises(ScenarioError, match="outside the data root"):
        load_scenario(base)  # named directly: the same rule


# --- slots where no call arrives -----------------------------------------------------------------


def _closed_nights(**extra) -> dict:
    """Open 08:00-18:00 (120 calls/h), closed at night; an occupancy target, which calls
    carried past closing time would otherwise make look missed in the first closed hour."""
    return {
        "name": "closed-nights",
        "horizon": {"days": 2, "start_weekday": "mon"},
        "interval": 3600.0,
        "arrivals": {
            "daily_volume": 1200,
            "intraday_profile": {"00:00": 0, "08:00": 1, "18:00": 0},
        },
        "call_types": {"general": {"share": 1, "handle_time": {"dist": "exponential", "mean": 300}}},
        "customer_tiers": {
            "standard": {"share": 1, "patience": {"dist": "exponential", "mean": 180}}
        },
        "agents": {"groups": {"team": {"skills": ["general"], "staffing": 10}}},
        "targets": {"service_level": {"within": 20, "at_least": 0.8}, "occupancy": {"at_most": 0.9}},
        "replications": 3,
        "seed": 2,
        **extra,
    }


def test_a_slot_where_no_call_arrives_gets_no_agents():
    from sim.planning.staffing import staff
    from sim.scenario.schema import scenario_from_dict

    result = staff(scenario_from_dict(_closed_nights()), max_iterations=4, verify_replications=3)
    plan = result.staffing["team"][0]  # monday, 24 hours
    assert (plan[:8] == 0).all() and (plan[18:] == 0).all(), plan
    assert (plan[8:18] >= 10).all(), plan
    check = result.check()
    assert check["slots"] == 10  # the open hours: no slot without calls is counted
    assert check["slots_meeting"] + check["within_noise"] + check["significant_misses"] == 10


def test_calls_made_again_into_a_closed_hour_are_demand_the_plan_staffs():
    from sim.planning.staffing import staff
    from sim.scenario.schema import scenario_from_dict

    redial = {"after_abandon": {"probability": 0.3, "delay": {"dist": "fixed", "value": 3600}}}
    data = _closed_nights(redial=redial)
    data["customer_tiers"]["standard"]["patience"] = {"dist": "exponential", "mean": 20}
    result = staff(scenario_from_dict(data), max_iterations=3, verify_replications=0)
    plan = result.staffing["team"][0]
    assert plan[18] >= 1 and plan[7] == 0, plan  # redials arrive 18:00-19:00 (few by 07:00)
