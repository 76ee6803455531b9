"""The KPI registry: covers what the model reports, documented, used by targets; formatting."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from sim.model.simulation import simulate
from sim.scenario.errors import ScenarioError
from sim.scenario.kpis import HEADLINE, KPIS, format_ci, format_value, judge, lookup, unit_of
from sim.scenario.loading import load_scenario, scenario_from_dict
from sim.scenario.resolved import scenario_to_dict

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = sorted((ROOT / "scenarios").glob("*.yaml"))
KINDS_OF_WORK = [  # kinds of work no bundled scenario has
    ROOT / "tests" / "scenarios" / "callback_small.yaml",
    ROOT / "tests" / "scenarios" / "ok_email.yaml",
]


def _short(path: Path):
    """The bundled scenario cut to two days (warm-up one hour): every KPI name, little time."""
    data = scenario_to_dict(load_scenario(path))
    data["horizon"] = {**data["horizon"], "days": 2, "warmup": 3600.0}
    return scenario_from_dict(data, base_dir=path.parent)


@pytest.fixture(scope="module")
def produced() -> dict[str, set[str]]:
    return {
        p.name: set(simulate(_short(p), keep_records=False).kpis) for p in BUNDLED + KINDS_OF_WORK
    }


def test_every_kpi_a_bundled_scenario_reports_has_a_registry_entry(produced):
    assert len(BUNDLED) >= 5
    for scenario, names in produced.items():
        missing = sorted(n for n in names if lookup(n) is None)
        assert not missing, f"{scenario}: KPIs without a registry entry: {missing}"


def test_every_registry_entry_is_reported_by_some_bundled_scenario(produced):
    bases = {n.split(".")[0] for names in produced.values() for n in names}
    assert {k.name for k in KPIS} - bases == set()


def _readme_table_names(section: str) -> set[str]:
    """Backticked KPI names in the table under the README heading ``section``."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"^#+ {re.escape(section)}\n(.*?)(?=^#)", text, re.S | re.M)
    assert match, f"README has no section {section!r}"
    rows = [line for line in match.group(1).splitlines() if line.startswith("| `")]
    assert rows, f"README section {section!r} has no KPI table"
    names = set()
    for row in rows:
        names |= {n.split(".")[0] for n in re.findall(r"`([a-z_]+(?:\.[^`]*)?)`", row)}
    return names


def test_every_registry_entry_is_defined_in_its_readme_section():
    for section in {k.section for k in KPIS}:
        documented = _readme_table_names(section)
        mine = {k.name for k in KPIS if k.section == section}
        assert mine - documented == set(), f"README '{section}' lacks {mine - documented}"


def test_headline_kpis_are_the_specs_fourteen_in_order_then_the_channels():
    assert HEADLINE[:4] == ("offered", "service_level", "answer_rate", "abandon_rate")
    assert HEADLINE[13] == "lead_conversion"
    assert HEADLINE[14:] == ("response_time", "response_within", "backlog")  # e-mail
    assert len({k.name for k in KPIS}) == len(KPIS)


def test_variants_resolve_to_their_base_entry():
    assert lookup("occupancy.group=day shift").name == "occupancy"
    assert lookup("service_level.tier=gold").name == "service_level"
    assert lookup("cost_per_delivery.channel=own.fleet").name == "cost_per_delivery"
    assert lookup("courier_utilisation.channel=bikes").unit.is_share
    assert lookup("agents_on_duty") is None and unit_of("agents_on_duty").label() == ""


def _with_target(name: str, bound: dict):
    data = scenario_to_dict(load_scenario(ROOT / "scenarios" / "erlang_c_textbook.yaml"))
    data["targets"] = {name: bound}
    return scenario_from_dict(data)


@pytest.mark.parametrize("name", HEADLINE)
def test_a_target_may_name_every_headline_kpi(name):
    assert name in _with_target(name, {"at_least": 0.5}).targets


def test_a_target_on_a_kpi_outside_the_headline_list_is_refused_with_the_allowed_names():
    with pytest.raises(ScenarioError) as exc:
        _with_target("calls", {"at_most": 10})
    assert "unknown KPI 'calls'" in str(exc.value)
    assert ", ".join(HEADLINE) in str(exc.value)
    with pytest.raises(ScenarioError, match="service_level"):  # the suggestion
        _with_target("service_levle", {"at_least": 0.8})


@pytest.mark.parametrize(
    ("value", "name", "kwargs", "text"),
    [
        (0.8712, "service_level", {}, "87.1%"),
        (0.8712, "service_level.tier=gold", {}, "87.1%"),
        (0.01234, "abandon_rate", {"signed": True}, "+1.23 pp"),
        (-0.01234, "abandon_rate", {"signed": True}, "-1.23 pp"),
        (12.345, "asa", {}, "12.35 s"),
        (1234.5, "offered", {}, "1,234 calls/day"),  # round half to even
        (4.5, "cost_per_delivery", {"currency": "EUR"}, "4.50 EUR/delivery"),
        (4.5, "cost_per_delivery.channel=van", {}, "4.50 money/delivery"),
        (250.0, "cash_collected", {"currency": "CHF", "signed": True}, "+250 CHF/day"),
        (0.8712, "service_level", {"with_unit": False}, "87.1"),
        (3.0, "agents_on_duty", {}, "3.00"),
        (None, "asa", {}, "–"),
        (float("nan"), "asa", {}, "–"),
        (np.float32(0.5), "occupancy", {}, "50.0%"),
        (True, "occupancy", {}, "–"),
    ],
)
def test_format_value(value, name, kwargs, text):
    assert format_value(value, name, **kwargs) == text


def test_format_ci():
    assert format_ci((0.8, 0.9), "service_level") == "80.0% … 90.0%"
    assert format_ci([-0.01, 0.02], "abandon_rate", signed=True) == "-1.00 pp … +2.00 pp"
    assert format_ci(None, "asa") == "–" and format_ci([None, None], "asa") == "–"


def test_judge_reads_the_direction_of_the_kpi():
    assert judge("service_level", 0.02) == "better" and judge("service_level", -0.02) == "worse"
    assert judge("abandon_rate.tier=gold", -0.01) == "better"
    assert judge("asa", 3.0) == "worse"
    assert judge("offered", 10.0) == "" and judge("occupancy", 0.1) == ""  # no better direction
    assert judge("asa", 0.0) == "" and judge("unknown", 1.0) == "" and judge("asa", None) == ""
