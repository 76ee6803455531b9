"""The regression check: it flags a changed model, passes an unchanged one, exact mode, bad input.

The false-alarm rate of an unchanged model over many seeds is measured by
``benchmarks/regress_false_alarms.py``, not here (a test must not pass by luck).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.quality import regress as rg
from sim.quality import significance as sig

TINY = """\
name: regress-tiny
horizon: {{days: 2, warmup: 2h}}
arrivals: {{rate_per_hour: 120}}
call_types:
  general: {{share: 1, handle_time: {{dist: exponential, mean: {aht}}}}}
customer_tiers:
  standard: {{share: 1, patience: {{dist: exponential, mean: 3min}}}}
agents:
  groups:
    team: {{skills: [general], staffing: {agents}}}
targets:
  service_level: {{within: 20s, at_least: 0.8}}
replications: 10
seed: 7
"""


@pytest.fixture
def project(tmp_path):
    """A scenario folder with one tiny Erlang A scenario and its fresh baseline."""
    scenarios, baselines = tmp_path / "scenarios", tmp_path / "baselines"
    scenarios.mkdir()
    (scenarios / "tiny.yaml").write_text(TINY.format(aht="3min", agents=8))
    updates = rg.update(scenarios, baselines)
    assert [u.action for u in updates] == ["created"]
    return scenarios, baselines


def edit_scenario(scenarios: Path, **kw) -> None:
    (scenarios / "tiny.yaml").write_text(TINY.format(**{"aht": "3min", "agents": 8, **kw}))


def failed_kpis(results) -> set[str]:
    return {r.kpi for item in results for r in item.rows if r.failed}


def test_baseline_holds_seeds_versions_settings_and_values(project):
    _, baselines = project
    data = json.loads((baselines / "tiny.json").read_text())
    assert data["seed"] == 7 and data["replications"] == list(range(10))
    assert data["settings"] == {"replications": rg.REPLICATIONS, "horizon": None}
    assert set(data["versions"]) == {"python", "numpy", "scipy", "simpy"}
    assert len(data["kpis"]["service_level"]) == 10
    assert len(set(data["kpis"]["service_level"])) == 10  # independent replications


def test_unchanged_model_with_new_seeds_passes(project):
    results = rg.check(*project)
    assert results[0].mode == "statistical" and results[0].seed == 8  # baseline seed + 1
    assert not results[0].failed, failed_kpis(results)
    assert any(r.p_value is not None for r in results[0].rows)


def test_one_agent_less_is_flagged(project):
    edit_scenario(project[0], agents=7)
    results = rg.check(*project)
    assert results[0].failed
    assert {"service_level", "asa", "abandon_rate", "occupancy"} <= failed_kpis(results)
    assert "the scenario changed since the baseline (hash differs)" in results[0].notes


def test_slower_handle_time_is_flagged(project):
    edit_scenario(project[0], aht="200s")  # 3 min -> 3 min 20 s
    results = rg.check(*project)
    assert {"service_level", "occupancy"} <= failed_kpis(results)
    assert "offered" not in failed_kpis(results)  # the callers did not change


def test_exact_mode_passes_on_the_same_seeds(project):
    results = rg.check(*project, exact=True)
    assert results[0].mode == "exact" and results[0].seed == 7
    assert {r.verdict for r in results[0].rows} == {"identical"}


def test_exact_mode_fails_on_a_perturbed_value(project):
    path = project[1] / "tiny.json"
    data = json.loads(path.read_text())
    data["kpis"]["asa"][3] *= 1 + 1e-12
    path.write_text(json.dumps(data))
    results = rg.check(*project, exact=True)
    assert failed_kpis(results) == {"asa"}
    assert next(r for r in results[0].rows if r.kpi == "asa").verdict == "differs"
    assert not rg.check(*project)[0].failed  # a tiny shift is no statistical change


def test_exact_mode_not_comparable_when_libraries_differ(project):
    path = project[1] / "tiny.json"
    data = json.loads(path.read_text())
    data["versions"]["numpy"] = "0.0.1"
    path.write_text(json.dumps(data))
    results = rg.check(*project, exact=True)
    assert results[0].mode == "statistical"
    assert any("not comparable" in n and "numpy 0.0.1 ->" in n for n in results[0].notes)


def test_update_says_what_moved(project):
    edit_scenario(project[0], agents=9)
    updates = rg.update(*project)
    assert updates[0].action == "rewritten"
    moved = {r.kpi for r in updates[0].moved}
    assert {"service_level", "asa"} <= moved and "offered" not in moved
    assert not rg.check(*project)[0].failed
    assert rg.update(*project)[0].action == "unchanged"


def test_compare_samples_constants_and_none():
    same = sig.compare_samples("abandon_rate", [0.0] * 5, [0.0] * 5)
    assert same.verdict == "same" and not same.tests and not same.failed
    moved = sig.compare_samples("abandon_rate", [0.0] * 5, [0.5] * 5)
    assert moved.verdict == "changed" and moved.failed
    empty = sig.compare_samples("asa", [None] * 4, [None] * 4)
    assert empty.verdict == "no data" and not empty.failed
    some = sig.compare_samples("asa", [None, 1.0, 2.0, 3.0], [1.5, 2.5, None, None])
    assert len(some.tests) == 2  # None count (Fisher) and values (Welch)
    assert sig.compare_samples("x", None, [1.0]).verdict == "new"
    gone = sig.compare_samples("x", [1.0], None)
    assert gone.verdict == "missing" and gone.failed


def test_holm_matches_hand_computation():
    # sorted p: 0.01, 0.02, 0.04 -> 3*0.01, 2*0.02, 1*0.04 -> 0.03, 0.04, 0.04 (monotone)
    assert sig.holm([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])
    assert sig.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def test_cli_exit_codes(project):
    scenarios, baselines = project
    args = [
        "regress",
        "--scenarios",
        str(scenarios),
        "--baselines",
        str(baselines),
        "--quiet",
        "--workers",
        "1",
    ]
    ok = CliRunner().invoke(cli, args)
    assert ok.exit_code == 0, ok.output
    assert "no significant change" in ok.output and "service_level" in ok.output
    edit_scenario(scenarios, agents=7)
    bad = CliRunner().invoke(cli, args)
    assert bad.exit_code == 1 and "changed" in bad.output and "CHANGED: regress-tiny" in bad.output


def test_cli_missing_baseline_is_bad_input(project):
    scenarios, baselines = project
    (scenarios / "other.yaml").write_text(TINY.format(aht="3min", agents=8))
    out = CliRunner().invoke(
        cli, ["regress", "--scenarios", str(scenarios), "--baselines", str(baselines)]
    )
    assert out.exit_code == 2
    assert "no baseline for" in out.output and "other.yaml" in out.output
    assert "run sim regress --update" in out.output


def test_stale_and_damaged_baselines_are_bad_input(project):
    scenarios, baselines = project
    (baselines / "gone.json").write_text("{}")
    with pytest.raises(rg.RegressError, match=r"gone\.json has no scenario"):
        rg.check(scenarios, baselines)
    (baselines / "gone.json").unlink()
    (baselines / "tiny.json").write_text('{"format": 1, "kpis": ')
    with pytest.raises(rg.RegressError, match=r"tiny\.json: not valid JSON"):
        rg.check(scenarios, baselines)
    (baselines / "tiny.json").write_text('{"format": 1}')
    with pytest.raises(rg.RegressError, match="missing scenario_file"):
        rg.check(scenarios, baselines)


def test_update_removes_stale_and_bad_scenario_is_bad_input(project):
    scenarios, baselines = project
    (baselines / "gone.json").write_text("{}")
    assert [u.action for u in rg.update(scenarios, baselines)] == ["unchanged", "removed"]
    assert not (baselines / "gone.json").exists()
    (scenarios / "tiny.yaml").write_text(
        TINY.format(aht="3min", agents=8).replace("agents:", "agentz:")
    )
    with pytest.raises(rg.RegressError, match="cannot load the bundled scenario"):
        rg.check(scenarios, baselines)


def test_long_horizon_is_cut_and_the_override_kept(project, monkeypatch):
    scenarios, baselines = project
    monkeypatch.setattr(rg, "MAX_DAYS", 1)
    (baselines / "tiny.json").unlink()
    rg.update(scenarios, baselines)
    data = json.loads((baselines / "tiny.json").read_text())
    assert data["settings"]["horizon"] == {"days": 1, "warmup": 7200.0}
    monkeypatch.setattr(rg, "MAX_DAYS", 30)  # stored settings win over the defaults
    assert rg.update(scenarios, baselines)[0].action == "unchanged"
    assert rg.check(scenarios, baselines, exact=True)[0].mode == "exact"
