"""Shared test helpers: writing a scenario text to a file, and small fixture scenarios as data."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sim.scenario.yamlsource import load_yaml

SCENARIOS = Path(__file__).parent / "scenarios"
# The spec's call KPIs, written out (not read from the registry, so that a test naming them
# fails if the registry loses one).
CALL_KPIS = (
    "offered",
    "service_level",
    "answer_rate",
    "abandon_rate",
    "asa",
    "mean_wait",
    "occupancy",
    "first_contact_resolution",
)


@pytest.fixture
def write(tmp_path):
    """``write(text, name="s.yaml")`` -> the path of a new file in ``tmp_path`` holding ``text``."""

    def _write(text: str, name: str = "s.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return _write


def fixture_data(name: str) -> dict:
    """A fixture scenario in tests/scenarios/ as a plain mapping (a fresh copy each time)."""
    data, _ = load_yaml(SCENARIOS / name)
    return copy.deepcopy(data)


@pytest.fixture
def business_data() -> dict:
    return fixture_data("business_small.yaml")


def sim_cli(*args: object) -> Result:
    """``sim <args>`` in-process through click's runner (each argument passed as ``str``)."""
    from sim.cli import cli

    return CliRunner().invoke(cli, [str(a) for a in args])


def sim_ok(*args: object) -> Result:
    """:func:`sim_cli` that must succeed (exit code 0; the output is the failure message)."""
    res = sim_cli(*args)
    assert res.exit_code == 0, res.output
    return res


def simulated_log(scenario: Path, seed: int, folder: Path) -> Path:
    """Replication ``seed`` of ``scenario`` written as a call log (``folder/calls.parquet``)."""
    from sim.model.simulation import simulate
    from sim.records.call_log import call_log_table, encode_call_log
    from sim.scenario.loading import load_scenario

    run = simulate(load_scenario(scenario), seed=seed)
    path = folder / "calls.parquet"
    path.write_bytes(encode_call_log(call_log_table(run.records)))
    return path


def one_call_type(data: dict, rate: float, name: str, mean: str, staffing: int, **fields) -> dict:
    """``data`` with every call of type ``name`` (exponential handle time ``mean``, ``fields``
    added) at ``rate`` per hour, answered by one group of ``staffing`` agents."""
    data["arrivals"] = {"rate_per_hour": rate}
    handle = {"dist": "exponential", "mean": mean}
    data["call_types"] = {name: {"share": 1, "handle_time": handle, **fields}}
    data["agents"] = {"groups": {"all": {"skills": [name], "staffing": staffing}}}
    return data
