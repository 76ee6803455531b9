"""Loading scenario files: the format's rules, each error's file/line/path, and round trips.

Follows the README's "Scenario reference" (unknown keys, units, shares, distributions,
``extends:``).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from pydantic import TypeAdapter
from ruamel.yaml import YAML

from sim.scenario.confine import extra_roots
from sim.scenario.distributions import (
    BatchSampler,
    Patience,
    draws,
    uniform_draws,
    uniforms,
)
from sim.scenario.errors import ScenarioError
from sim.scenario.loading import load_scenario, scenario_from_dict
from sim.scenario.resolved import scenario_to_dict, scenario_to_yaml
from sim.scenario.schema import Scenario
from sim.scenario.units import parse_clock, parse_duration
from sim.scenario.yamlsource import load_yaml

FIXTURES = Path(__file__).parent / "scenarios"
MINIMAL = (FIXTURES / "ok_minimal.yaml").read_text(encoding="utf-8")


def line_of(text: str, needle: str, nth: int = 0) -> int:
    """1-based line number of the ``nth`` line of ``text`` containing ``needle``."""
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    return hits[nth]


def errors_of(path) -> list:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return info.value.items


def one_error(items, path: str):
    found = [i for i in items if i.path == path]
    assert found, f"no error at {path}; errors: {[str(i) for i in items]}"
    return found[0]


# --- the spec's scenarios ---------------------------------------------------------------------


def test_minimal_scenario_loads_as_written():
    s = load_scenario(FIXTURES / "ok_minimal.yaml")
    assert s.name == "erlang-c-textbook"
    assert (s.horizon.days, s.warmup, s.interval) == (20, 86400.0, 1800.0)
    assert s.arrivals.rate_per_hour == 200.0
    assert s.call_types["general"].handle_time.mean == 180.0
    assert s.customer_tiers["standard"].patience.dist == "never"
    assert s.agents.groups["team"].staffing == 14
    assert s.targets["service_level"].within == 20.0
    assert s.targets["service_level"].at_least == 0.80
    assert (s.replications, s.seed) == (10, 1)


def test_full_shape_without_back_office_and_delivery_loads():
    s = load_scenario(FIXTURES / "ok_full_shape.yaml")
    assert s.horizon.start_weekday == "mon"
    assert s.arrivals.daily_volume == 12000
    assert s.arrivals.weekday_factors == {"mon": 1.15, "sat": 0.8, "sun": 0.75}
    assert list(s.arrivals.intraday_profile) == ["00:00", "08:00", "12:00", "22:00"]
    assert s.customer_tiers["vip"].patience.cv == 1.0
    assert s.ivr.self_service == 0.15 and s.ivr.time.value == 40.0
    assert set(s.call_types) == {
        "inquiry",
        "direct_order",
        "sales_delivery",
        "lead_registration",
        "complaint",
    }
    assert s.call_types["sales_delivery"].accept_rate == 0.35
    assert s.call_types["complaint"].first_contact_resolution == 0.55
    assert s.redial.after_unresolved.delay.mean == 4 * 3600.0
    assert s.agents.after_call_work.mean == 20.0
    shifts = s.agents.groups["complaints"].shifts
    assert [(x.start, x.end, x.count) for x in shifts] == [
        ("08:00", "16:30", 12),
        ("13:30", "22:00", 10),
    ]
    assert shifts[0].breaks[0].length == 1800.0 and shifts[1].breaks == []
    assert s.agents.handle_time_factor == {"general": 1.0, "complaints": 1.1}
    assert [(r.group, r.after) for r in s.route("complaint")] == [
        ("complaints", 0.0),
        ("general", 60.0),
    ]
    assert [r.group for r in s.route("inquiry")] == ["general"]
    assert s.routing.tier_priority is True
    assert s.targets["abandon_rate"].at_most == 0.05


# --- units --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("20s", 20),
        ("3min", 180),
        ("1.5h", 5400),
        ("2d", 172800),
        (45, 45),
        (2.5, 2.5),
        ("90", 90),
        ("0.5min", 30),
        ("1e2s", 100),
        (" 3 min ", 180),
        ("1w", 604800),
    ],
)
def test_durations_with_units(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "bad", ["3 lightyears", "-5s", "abc", "1.5hh", "", "5 h m", "1e400s", True, None, [3], -1]
)
def test_bad_durations_are_errors(bad):
    with pytest.raises(ValueError, match=r"duration|unit"):
        parse_duration(bad)


def test_durations_in_a_file_become_seconds_and_bad_ones_point_at_their_line(write):
    text = MINIMAL.replace("warmup: 1d", "warmup: 1.5h").replace("mean: 3min", "mean: 200s")
    s = load_scenario(write(text))
    assert s.warmup == 5400.0 and s.call_types["general"].handle_time.mean == 200.0
    text = MINIMAL.replace("mean: 3min", "mean: 3 fortnights")
    path = write(text)
    item = one_error(errors_of(path), "call_types.general.handle_time.mean")
    assert item.file == str(path) and item.line == line_of(text, "3 fortnights")
    assert "unit" in item.message


@pytest.mark.parametrize(
    ("text", "seconds"), [("00:00", 0), ("08:30", 30600), ("8:05", 29100), ("24:00", 86400)]
)
def test_clock_times(text, seconds):
    assert parse_clock(text) == seconds


@pytest.mark.parametrize("bad", ["24:01", "08:60", "0830", "ab:cd", 830, "8:5", None])
def test_bad_clock_times(bad):
    with pytest.raises(ValueError, match="clock time"):
        parse_clock(bad)


def test_yaml_1_2_no_stays_a_string_and_unquoted_clock_keys_stay_times(write):
    text = MINIMAL.replace("name: erlang-c-textbook", "name: no").replace(
        "staffing: 14}", "staffing: {00:00: 4, 08:30: 14}}"
    )
    data, _ = load_yaml(write(text))
    assert data["name"] == "no"
    assert list(data["agents"]["groups"]["team"]["staffing"]) == ["00:00", "08:30"]
    s = load_scenario(write(text))
    assert s.name == "no"
    assert s.agents.groups["team"].staffing == {"00:00": 4, "08:30": 14}


# --- distributions ------------------------------------------------------------------------------

EMPIRICAL_VALUES = [30.0, 60.0, 90.0, 120.0, 150.0]  # tests/scenarios/ok_aht.csv

DISTRIBUTIONS = [
    ({"dist": "exponential", "mean": "3min"}, 180.0, 180.0**2),
    ({"dist": "lognormal", "mean": "200s", "cv": 0.9}, 200.0, (0.9 * 200) ** 2),
    ({"dist": "gamma", "mean": "200s", "cv": 0.5}, 200.0, (0.5 * 200) ** 2),
    ({"dist": "gamma", "mean": 60, "cv": 1.0}, 60.0, 3600.0),
    ({"dist": "fixed", "value": "45s"}, 45.0, 0.0),
    ({"dist": "uniform", "low": "10s", "high": "1min"}, 35.0, 50.0**2 / 12),
    (
        {"dist": "empirical", "file": "ok_aht.csv"},
        float(np.mean(EMPIRICAL_VALUES)),
        float(np.var(EMPIRICAL_VALUES)),
    ),
]


@pytest.mark.parametrize(("spec", "mean", "var"), DISTRIBUTIONS, ids=lambda v: str(v)[:30])
def test_distributions_by_mean_and_cv_draw_their_declared_moments(spec, mean, var):
    dist = TypeAdapter(Patience).validate_python(spec, context={"base_dir": str(FIXTURES)})
    assert dist.mean == pytest.approx(mean) and dist.var == pytest.approx(var)
    x = dist.sample(np.random.default_rng(20261123), 100_000)
    assert x.shape == (100_000,) and np.all(x >= 0)
    n = x.size
    assert abs(x.mean() - mean) <= 5 * math.sqrt(var / n) + 1e-9
    m4 = np.mean((x - x.mean()) ** 4)
    assert abs(x.var() - var) <= 5 * math.sqrt(max(m4 - x.var() ** 2, 0) / n) + 1e-9
    if var > 0:
        assert x.var() == pytest.approx(var, rel=0.05)


def test_empirical_resamples_only_observed_values():
    dist = TypeAdapter(Patience).validate_python(
        {"dist": "empirical", "file": "ok_aht.csv"}, context={"base_dir": str(FIXTURES)}
    )
    assert dist.values == tuple(EMPIRICAL_VALUES)  # header skipped, "2min" read as 120 s
    x = dist.sample(np.random.default_rng(1), 10_000)
    assert set(np.unique(x)) == set(EMPIRICAL_VALUES)


def test_empirical_file_is_relative_to_the_scenario_file(write):
    text = MINIMAL.replace(
        "{dist: exponential, mean: 3min}", f"{{dist: empirical, file: {FIXTURES / 'ok_aht.csv'}}}"
    )
    with extra_roots(FIXTURES):  # a file outside the scenario's folder needs --data-root
        s = load_scenario(write(text))
    assert s.call_types["general"].handle_time.mean == 90.0
    (write("x\n10\n20\n", name="data/aht.csv"))
    s = load_scenario(
        write(
            MINIMAL.replace(
                "{dist: exponential, mean: 3min}", "{dist: empirical, file: data/aht.csv}"
            )
        )
    )
    assert s.call_types["general"].handle_time.values == (10.0, 20.0)
    path = write(
        MINIMAL.replace("{dist: exponential, mean: 3min}", "{dist: empirical, file: data/none.csv}")
    )
    item = one_error(errors_of(path), "call_types.general.handle_time")
    assert "none.csv" in item.message and item.line == line_of(MINIMAL, "handle_time")


def test_never_patience_never_ends():
    dist = TypeAdapter(Patience).validate_python({"dist": "never"})
    assert math.isinf(dist.mean)
    assert np.all(np.isinf(dist.sample(np.random.default_rng(0), 10)))


def test_never_is_for_patience_only(write):
    path = write(MINIMAL.replace("{dist: exponential, mean: 3min}", "{dist: never}"))
    item = one_error(errors_of(path), "call_types.general.handle_time.dist")
    assert "never" in item.message and "exponential" in item.message


@pytest.mark.parametrize(
    ("spec", "path", "words"),
    [
        ("{dist: exponentail, mean: 3min}", "call_types.general.handle_time.dist", "exponential"),
        ("{dist: lognormal, mean: 3min}", "call_types.general.handle_time.cv", "missing"),
        ("{dist: gamma, mean: -3min, cv: 1}", "call_types.general.handle_time.mean", "duration"),
        ("{dist: uniform, low: 1min, high: 10s}", "call_types.general.handle_time", "high"),
        ("{dist: exponential, maen: 3min}", "call_types.general.handle_time.maen", "unknown"),
        ("{mean: 3min}", "call_types.general.handle_time", "dist"),
    ],
)
def test_bad_distributions_point_at_their_line(write, spec, path, words):
    text = MINIMAL.replace("{dist: exponential, mean: 3min}", spec)
    file = write(text)
    item = one_error(errors_of(file), path)
    assert item.file == str(file) and item.line == line_of(text, "handle_time")
    assert words in str(item)


def test_misspelt_distribution_kind_suggests_the_right_one(write):
    file = write(MINIMAL.replace("{dist: exponential, mean: 3min}", "{dist: lognormel, mean: 3}"))
    item = one_error(errors_of(file), "call_types.general.handle_time.dist")
    assert item.suggestion == "lognormal"


# --- shares -------------------------------------------------------------------------------------

TIERS = "  standard: {share: 1, patience: {dist: never}}   # never abandons\n"


def test_shares_that_do_not_sum_to_one_are_an_error(write):
    text = MINIMAL.replace(TIERS, "  vip: {share: 0.1}\n  standard: {share: 0.8}\n")
    item = one_error(errors_of(write(text)), "customer_tiers")
    assert item.line == line_of(text, "customer_tiers:") and "0.9" in item.message
    assert "normalize" in item.message
    within = MINIMAL.replace(TIERS, "  vip: {share: 0.1}\n  standard: {share: 0.9000000001}\n")
    assert load_scenario(write(within)).customer_tiers["vip"].share == 0.1  # within 1e-6


def test_call_type_shares_are_checked_too(write):
    text = MINIMAL.replace("    share: 1\n", "    share: 0.7\n")
    item = one_error(errors_of(write(text)), "call_types")
    assert "0.7" in item.message


def test_normalize_true_rescales_shares(write):
    text = MINIMAL.replace(TIERS, "  normalize: true\n  vip: {share: 1}\n  standard: {share: 3}\n")
    s = load_scenario(write(text))
    assert s.customer_tiers["vip"].share == pytest.approx(0.25)
    assert s.customer_tiers["standard"].share == pytest.approx(0.75)
    assert "normalize" not in s.customer_tiers


def test_normalize_false_keeps_the_check_and_other_values_are_errors(write):
    text = MINIMAL.replace(TIERS, "  normalize: false\n  vip: {share: .2}\n  b: {share: .3}\n")
    assert one_error(errors_of(write(text)), "customer_tiers")
    text = MINIMAL.replace(TIERS, "  normalize: maybe\n  standard: {share: 1}\n")
    item = one_error(errors_of(write(text)), "customer_tiers.normalize")
    assert item.line == line_of(text, "normalize")


# --- extends ------------------------------------------------------------------------------------


def test_extends_deep_merges_relative_to_the_file():
    with extra_roots(FIXTURES):  # the parent is one folder up: outside the child's own tree
        s = load_scenario(FIXTURES / "ok_extends" / "child.yaml")
    assert s.name == "child"
    assert (s.horizon.days, s.warmup) == (5, 3600.0)  # mapping merged: warmup from the base
    ht = s.call_types["general"].handle_time
    assert (ht.dist, ht.mean, ht.cv) == ("gamma", 240.0, 0.8)  # mapping replaced key by key
    assert s.call_types["general"].share == 1.0
    assert s.agents.groups["team"].staffing == 12  # a scalar replaces a mapping
    assert s.targets["service_level"].within == 20.0  # from the base
    assert s.targets["service_level"].at_least == 0.9  # from the child
    assert s.targets["abandon_rate"].at_most == 0.05
    assert s.arrivals.rate_per_hour == 100 and s.seed == 3


def test_extends_lists_replace_and_errors_name_the_file_that_wrote_the_key(write):
    base = (
        MINIMAL.replace(
            "    team: {skills: [general], staffing: 14}",
            "    team: {skills: [general], staffing: 14}\n"
            "    backup: {skills: [general], staffing: 2}",
        )
        + "routing:\n  general: [team, backup]\n"
    )
    base_path = write(base, name="base/base.yaml")
    child = "extends: ../base/base.yaml\nrouting:\n  general: [backup]\n"
    item = one_error(errors_of(write(child, name="child/child.yaml")), "extends")
    assert "outside the data root" in item.message and "--data-root" in item.message
    with extra_roots(base_path.parent.parent):  # --data-root: the parent folder may be read
        s = load_scenario(write(child, name="child/child.yaml"))
    assert [r.group for r in s.route("general")] == ["backup"]
    assert s.agents.groups["backup"].staffing == 2
    bad_child = "extends: ../base/base.yaml\n\nhorizon: {days: 0}\n"
    child_path = write(bad_child, name="child/bad.yaml")
    with extra_roots(base_path.parent.parent):
        item = one_error(errors_of(child_path), "horizon.days")
    assert (item.file, item.line) == (str(child_path), 3)
    broken_base = base.replace("rate_per_hour: 200", "rate_per_hour: lots")
    write(broken_base, name="base/base.yaml")
    with extra_roots(base_path.parent.parent):
        item = one_error(errors_of(write(child, name="child/child.yaml")), "arrivals.rate_per_hour")
    assert item.file.endswith("base.yaml") and base_path.samefile(item.file)
    assert item.line == line_of(broken_base, "rate_per_hour")


def test_extends_cycle_is_an_error():
    items = errors_of(FIXTURES / "bad_cycle_a.yaml")
    assert len(items) == 1 and "cycle" in items[0].message and items[0].path == "extends"
    assert items[0].line == 2


def test_extends_itself_and_a_missing_parent_are_errors(write):
    items = errors_of(write("extends: s.yaml\nname: x\n"))
    assert "cycle" in items[0].message
    items = errors_of(write("extends: nowhere.yaml\nname: x\n"))
    assert "not found" in items[0].message and "nowhere.yaml" in items[0].message
    assert items[0].path == "extends" and items[0].line == 1  # blamed on the extends line
    items = errors_of(write("extends: [a.yaml]\nname: x\n"))
    assert items[0].path == "extends" and items[0].line == 1


# --- unknown keys -------------------------------------------------------------------------------


def test_unknown_keys_give_file_line_dotted_path_allowed_keys_and_a_suggestion():
    path = FIXTURES / "bad_typos.yaml"
    text = path.read_text(encoding="utf-8")
    items = errors_of(path)
    item = one_error(items, "call_types.inquiry.handel_time")
    assert item.file == str(path) and item.line == line_of(text, "handel_time")
    assert item.suggestion == "handle_time"
    assert "did you mean 'handle_time'?" in str(item)
    assert "allowed here" in item.message and "first_contact_resolution" in item.message
    item = one_error(items, "agents.groups.team.shfits")
    assert item.suggestion == "shifts" and item.line == line_of(text, "shfits")
    assert str(path) in str(ScenarioError(items)) and len(items) >= 2


@pytest.mark.parametrize(
    ("old", "new", "path", "suggestion"),
    [
        (
            "horizon: {days: 20, warmup: 1d}",
            "horizon: {days: 20, warmpu: 1d}",
            "horizon.warmpu",
            "warmup",
        ),
        ("replications: 10", "replication: 10", "replication", "replications"),
        (
            "rate_per_hour: 200",
            "rate_per_hour: 200\n  weekday_factor: {mon: 1}",
            "arrivals.weekday_factor",
            "weekday_factors",
        ),
        ("{share: 1, patience", "{shares: 1, patience", "customer_tiers.standard.shares", "share"),
        (
            "within: 20s, at_least",
            "within: 20s, at_lest",
            "targets.service_level.at_lest",
            "at_least",
        ),
        ("staffing: 14}", "staffing: 14, skils: []}", "agents.groups.team.skils", "skills"),
        ("seed: 1", "seed: 1\nzzz: 3", "zzz", None),
    ],
)
def test_unknown_keys_everywhere(write, old, new, path, suggestion):
    text = MINIMAL.replace(old, new)
    assert text != MINIMAL
    file = write(text)
    item = one_error(errors_of(file), path)
    assert item.suggestion == suggestion
    assert item.line == line_of(text, path.rsplit(".", 1)[-1] + ":")
    assert f"{file}:{item.line}: {path}: unknown key" in str(item)


def test_unknown_key_in_a_shift_break_has_a_clean_path_and_a_suggestion(write):
    text = MINIMAL.replace(
        "    team: {skills: [general], staffing: 14}",
        "    team:\n      skills: [general]\n      shifts:\n"
        '        - {start: "08:00", end: "16:00", count: 3}\n'
        '        - {start: "16:00", end: "23:00", count: 3, break: {at: "18:00", lenght: 5}}',
    )
    items = errors_of(write(text))
    item = one_error(items, "agents.groups.team.shifts[1].break.lenght")
    assert item.suggestion == "length" and item.line == line_of(text, "lenght")
    assert all("Break" not in i.path for i in items), [str(i) for i in items]
    assert not any("valid list" in i.message for i in items)  # the other union member's noise
    item = one_error(
        errors_of(
            write(text.replace("break: {", "break: [{").replace("lenght: 5}", "lenght: 5}]"))
        ),
        "agents.groups.team.shifts[1].break[0].lenght",
    )
    assert item.suggestion == "length"


# --- cross-references ---------------------------------------------------------------------------

TWO_TYPES = """\
name: refs
horizon: {days: 2}
arrivals: {rate_per_hour: 60}
call_types:
  inquiry: {share: 0.5, handle_time: {dist: exponential, mean: 3min}}
  complaint: {share: 0.5, handle_time: {dist: exponential, mean: 5min}}
customer_tiers:
  standard: {share: 1}
agents:
  groups:
    general:
      skills:
        - inquiry
        - complaint
      staffing: 5
    complaints:
      skills: [complaint]
      staffing: 2
routing:
  complaint:
    - complaints
    - {group: general, after: 60s}
"""


def test_cross_reference_fixture_is_valid(write):
    s = load_scenario(write(TWO_TYPES))
    assert [r.group for r in s.route("complaint")] == ["complaints", "general"]


def test_routing_naming_an_unknown_group_points_at_its_line(write):
    text = TWO_TYPES.replace("{group: general, after: 60s}", "{group: genral, after: 60s}")
    item = one_error(errors_of(write(text)), "routing.complaint[1]")
    assert item.line == line_of(text, "genral") and item.suggestion == "general"
    assert "unknown agent group 'genral'" in item.message


def test_routing_naming_an_unknown_call_type_points_at_its_line(write):
    text = TWO_TYPES.replace("routing:\n", "routing:\n  complain: [general]\n")
    item = one_error(errors_of(write(text)), "routing.complain")
    assert item.line == line_of(text, "complain:") and item.suggestion == "complaint"


def test_skill_naming_an_unknown_call_type_points_at_its_line(write):
    text = TWO_TYPES.replace(
        "        - complaint\n", "        - complaint\n        - complaints\n", 1
    )
    item = one_error(errors_of(write(text)), "agents.groups.general.skills[2]")
    assert item.line == line_of(text, "        - complaints")
    assert item.suggestion == "complaint" and "unknown call type 'complaints'" in item.message


def test_call_type_no_group_can_serve_points_at_its_line(write):
    text = (
        TWO_TYPES.replace("        - complaint\n", "", 1)
        .replace("      skills: [complaint]", "      skills: [inquiry]")
        .replace(
            "routing:\n  complaint:\n    - complaints\n    - {group: general, after: 60s}\n", ""
        )
    )
    item = one_error(errors_of(write(text)), "call_types.complaint")
    assert item.line == line_of(text, "  complaint:") and "no agent group" in item.message


def test_unsorted_staffing_map_points_at_its_line(write):
    text = TWO_TYPES.replace(
        "      staffing: 5", '      staffing:\n        "08:00": 5\n        "07:00": 2'
    )
    item = one_error(errors_of(write(text)), "agents.groups.general.staffing")
    assert item.line == line_of(text, "      staffing:")
    assert "07:00" in item.message and "increase" in item.message


def test_handle_time_factor_and_target_names_are_checked(write):
    text = TWO_TYPES + "targets:\n  servcie_level: {at_least: 0.8}\n"
    text = text.replace("agents:\n", "agents:\n  handle_time_factor: {generl: 1.2}\n")
    items = errors_of(write(text))
    assert one_error(items, "targets.servcie_level").suggestion == "service_level"
    assert one_error(items, "agents.handle_time_factor.generl").suggestion == "general"


# --- numbers that make no sense -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ("rate_per_hour: 200", "rate_per_hour: .inf", "arrivals.rate_per_hour"),
        ("rate_per_hour: 200", "rate_per_hour: -1", "arrivals.rate_per_hour"),
        ("staffing: 14", "staffing: .inf", "agents.groups.team.staffing"),
        ("staffing: 14", "staffing: 2.5", "agents.groups.team.staffing"),
        ("interval: 30min", "interval: never", "interval"),
        ("interval: 30min", "interval: 7min", "interval"),
        ("at_least: 0.80", "at_least: .nan", "targets.service_level.at_least"),
        ("days: 20", "days: 0", "horizon.days"),
        ("warmup: 1d", "warmup: 20d", "horizon"),
        ("share: 1\n", "share: 1.5\n", "call_types.general.share"),
    ],
)
def test_nonsense_numbers_are_errors_at_their_line(write, old, new, path):
    text = MINIMAL.replace(old, new)
    assert text != MINIMAL
    item = one_error(errors_of(write(text)), path)
    assert item.line == line_of(text, new.split(":")[0].strip() + ":")


# --- round trips --------------------------------------------------------------------------------

ROUND_TRIP = [
    FIXTURES / "ok_minimal.yaml",
    FIXTURES / "ok_full_shape.yaml",
    FIXTURES / "ok_extends" / "child.yaml",
    FIXTURES / "ok_tiny.yaml",
    *sorted((FIXTURES.parent.parent / "scenarios").glob("*.yaml")),
]


@pytest.mark.parametrize("path", ROUND_TRIP, ids=lambda p: p.name)
def test_round_trip_through_dict_and_yaml(path, tmp_path):
    with extra_roots(FIXTURES):
        s = load_scenario(path)
    assert scenario_from_dict(scenario_to_dict(s)) == s
    out = tmp_path / "scenario.yaml"
    out.write_text(scenario_to_yaml(s), encoding="utf-8")
    assert load_scenario(out) == s


def test_round_trip_keeps_empirical_values_and_infinite_durations(write, tmp_path):
    text = TWO_TYPES.replace(
        "{dist: exponential, mean: 5min}", f"{{dist: empirical, file: {FIXTURES / 'ok_aht.csv'}}}"
    )
    text = text.replace("after: 60s", "after: never")
    with extra_roots(FIXTURES):
        s = load_scenario(write(text))
    assert math.isinf(s.route("complaint")[1].after)
    assert scenario_from_dict(scenario_to_dict(s)) == s
    out = tmp_path / "elsewhere" / "scenario.yaml"
    out.parent.mkdir()
    out.write_text(scenario_to_yaml(s), encoding="utf-8")
    item = one_error(errors_of(out), "call_types.complaint.handle_time")  # values: loader-only
    assert "values are read from `file`" in item.message
    data = YAML(typ="safe").load(out.read_text(encoding="utf-8"))  # the record keeps them
    assert data["call_types"]["complaint"]["handle_time"]["values"] == EMPIRICAL_VALUES


def test_scenario_to_yaml_is_plain_yaml_with_seconds():
    s = load_scenario(FIXTURES / "ok_minimal.yaml")
    data = YAML(typ="safe").load(scenario_to_yaml(s))
    assert data["horizon"]["warmup"] == 86400.0
    assert data["call_types"]["general"]["handle_time"] == {"dist": "exponential", "mean": 180.0}


def test_scenario_is_frozen():
    s = load_scenario(FIXTURES / "ok_minimal.yaml")
    with pytest.raises(Exception, match="frozen"):
        s.seed = 2  # type: ignore[misc]
    assert isinstance(s, Scenario)


def test_creates_needs_its_section(write):
    """`creates:` without the back office or delivery that must take the business is an error."""
    text = (Path(__file__).parent / "scenarios" / "ok_full_shape.yaml").read_text()
    path = write(
        text.replace("    accept_rate: 0.35", "    accept_rate: 0.35\n    creates: delivery_order")
    )
    with pytest.raises(
        ScenarioError,
        match=re.escape(
            "call_types.sales_delivery.creates: creates delivery_order but the scenario has no "
            "`delivery:` section"
        ),
    ):
        load_scenario(path)


def test_target_met_is_the_one_verdict_for_scalars_arrays_nan_and_none():
    from sim.scenario.schema import Target

    floor, cap = Target(at_least=0.8), Target(at_most=0.05)
    assert floor.bound == "at_least" and floor.value == 0.8 and cap.bound == "at_most"
    assert floor.met(0.8) is True and floor.met(0.79) is False and floor.met(8 / 10) is True
    assert floor.met(0.8 - 1e-13) is True  # rounding of a ratio, not a miss
    assert cap.met(0.05) is True and cap.met(0.0501) is False
    assert floor.met(None) is None  # no data: no verdict
    got = floor.met(np.array([0.9, 0.7, np.nan]))  # NaN: nothing offered in that interval
    np.testing.assert_array_equal(got, [True, False, True])


@pytest.mark.parametrize("batch", [1, 7, 4096])
def test_draws_serve_the_values_of_batch_samplers_in_the_same_batches(batch):
    spec = TypeAdapter(Patience).validate_python({"dist": "lognormal", "mean": 60, "cv": 0.5})
    rngs = [np.random.default_rng(3) for _ in range(4)]
    samplers = [BatchSampler(spec, rngs[0], batch), draws(spec, rngs[1], batch)]
    samplers += [uniforms(rngs[2], batch), uniform_draws(rngs[3], batch)]
    values = [[draw() for _ in range(50)] for draw in samplers]
    assert values[0] == values[1] and values[2] == values[3]
    states = [rng.bit_generator.state["state"] for rng in rngs]
    assert states[0] == states[1] and states[2] == states[3]  # as many batches drawn
