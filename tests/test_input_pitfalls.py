"""The input mistakes planners make most, each with a clear message: percentages where shares
are meant, durations without a unit, shares that do not sum to 1 among other errors, and time
maps under ``extends:``."""

from __future__ import annotations

import warnings

import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.scenario.errors import ScenarioError
from sim.scenario.loading import load_scenario
from sim.scenario.pitfalls import ScenarioWarning
from sim.scenario.resolved import scenario_to_yaml
from sim.scenario.units import parse_share

BASE = """\
name: base
horizon: {days: 1}
arrivals:
  daily_volume: 1000
  intraday_profile: {"00:00": 1, "08:00": 3, "20:00": 1}
customer_tiers: {standard: {share: 1}}
call_types:
  general: {share: 0.6, handle_time: {dist: exponential, mean: 3min}}
  other: {share: 0.4, handle_time: {dist: exponential, mean: 200s}}
agents:
  groups:
    team: {skills: [general, other], staffing: {"00:00": 4, "09:00": 8, "18:00": 4}}
targets:
  service_level: {within: 20s, at_least: 0.8}
"""


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


def load_quietly(path):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ScenarioWarning)
        return load_scenario(path)


def messages(path) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_quietly(path)
    return [f"{i.path}: {i.message}" for i in info.value.items]


def test_percentages_where_shares_are_meant(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    path = write(
        tmp_path,
        "pct.yaml",
        "extends: base.yaml\nname: pct\n"
        "call_types: {general: {share: 65%}, other: {share: 35 %}}\n"
        "ivr: {self_service: 15%, time: {dist: fixed, value: 40s}}\n"
        "targets: {service_level: {within: 20s, at_least: 80%}, abandon_rate: {at_most: 5%}}\n",
    )
    sc = load_quietly(path)
    assert sc.call_types["general"].share == pytest.approx(0.65)
    assert sc.call_types["other"].share == pytest.approx(0.35)
    assert sc.ivr.self_service == pytest.approx(0.15)
    assert sc.targets["service_level"].at_least == pytest.approx(0.8)
    assert sc.targets["abandon_rate"].at_most == pytest.approx(0.05)
    assert parse_share("100%") == 1.0 and parse_share(0.5) == 0.5


def test_share_and_target_mistakes_say_what_is_allowed(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    path = write(
        tmp_path,
        "bad.yaml",
        "extends: base.yaml\nname: bad\n"
        "call_types: {general: {share: 60 percent}, other: {share: 140%}}\n"
        "targets: {service_level: {within: 20s, at_least: 80}, asa: {at_most: 20}}\n",
    )
    found = messages(path)
    assert (
        "call_types.general.share: expected a share such as 0.35 or 35%, got '60 percent'" in found
    )
    assert any(m.startswith("call_types.other.share: a share must be in [0, 1]") for m in found)
    assert (
        "targets.service_level.at_least: service_level is a share in [0, 1]: write 0.8 or 80%"
        in found
    )
    assert not any(m.startswith("targets.asa") for m in found)  # asa is seconds, 20 is fine


def test_shares_summing_to_1_1_are_listed_with_every_other_error(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    path = write(
        tmp_path,
        "two.yaml",
        "extends: base.yaml\nname: two\n"
        "customer_tiers: {standard: {share: 1}, vip: {share: 0.1}}\n"
        "horizon: {days: 0}\n",
    )
    found = messages(path)
    assert any(m.startswith("horizon.days") for m in found), found
    assert "customer_tiers: shares sum to 1.1, not 1 (or add `normalize: true`)" in found
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 2 and "shares sum to 1.1" in result.output
    assert "horizon.days" in result.output and "Traceback" not in result.output


def test_a_duration_without_a_unit_warns_with_the_seconds_it_means(tmp_path):
    path = write(tmp_path, "s.yaml", BASE.replace("mean: 200s", "mean: 6"))
    with pytest.warns(ScenarioWarning) as caught:
        sc = load_scenario(path)
    assert sc.call_types["other"].handle_time.mean == 6.0  # seconds, as documented
    (w,) = [w for w in caught if issubclass(w.category, ScenarioWarning)]
    text = str(w.message)
    assert "s.yaml:9: call_types.other.handle_time.mean: 6 has no unit and is read as 6 s" in text
    assert "6min if minutes were meant" in text
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 0 and "warning:" in result.output and "read as 6 s" in result.output
    # units, zero and long bare values are not warned about; nor is a resolved scenario file
    load_quietly(write(tmp_path, "ok.yaml", BASE.replace("mean: 200s", "mean: 200")))
    load_quietly(write(tmp_path, "resolved.yaml", scenario_to_yaml(sc)))


def test_extends_replaces_a_time_map_as_a_whole(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    path = write(
        tmp_path,
        "child.yaml",
        "extends: base.yaml\nname: child\n"
        'arrivals: {intraday_profile: {"00:00": 1, "12:00": 2}}\n'
        'agents: {groups: {team: {staffing: {"00:00": 6, "09:00": 30}}}}\n',
    )
    sc = load_quietly(path)
    assert sc.agents.groups["team"].staffing == {"00:00": 6, "09:00": 30}
    assert sc.arrivals.intraday_profile == {"00:00": 1.0, "12:00": 2.0}
    assert sc.arrivals.daily_volume == 1000  # other keys still merge
    assert sc.agents.groups["team"].skills == ("general", "other") or list(
        sc.agents.groups["team"].skills
    ) == ["general", "other"]
