"""Loading a scenario: a YAML file (``extends:`` merged) or a plain mapping validated into a
:class:`~sim.scenario.schema.Scenario`, cross-checked, with every problem reported at once.

Above the schema and its checks (:mod:`sim.scenario.cross_checks`), so that what a scenario
may say does not depend on how it is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pydantic

from sim.scenario.confine import data_roots
from sim.scenario.cross_checks import cross_check
from sim.scenario.pitfalls import bare_durations, share_sums, share_targets, warn
from sim.scenario.resolved import says_seconds
from sim.scenario.schema import Scenario
from sim.scenario.schema_types import SHARE_KPIS
from sim.scenario.yamlsource import (
    ErrorItem,
    ScenarioError,
    SourceMap,
    check_printable,
    load_yaml,
    validation_error,
)

__all__ = ["EXPERIMENT_KEYS", "SCENARIO_KEYS", "load_scenario", "scenario_from_dict"]


def _validate(
    data: dict, smap: SourceMap, base_dir: Path, check_units: bool = True, from_file: bool = False
) -> Scenario:
    context = {"base_dir": str(base_dir), "from_file": from_file}
    try:
        scenario = Scenario.model_validate(data, context=context)
    except pydantic.ValidationError as exc:
        error = validation_error(exc, smap, Scenario)
        found = share_sums(data) + share_targets(data.get("targets"), SHARE_KPIS)
        extra = [smap.error(loc, msg, sug) for loc, msg, sug in found]
        raise ScenarioError(error.items + extra) from None  # every error at once
    problems = cross_check(scenario)
    if problems:
        raise ScenarioError([smap.error(loc, msg, sug) for loc, msg, sug in problems])
    for loc, value in bare_durations(scenario, data) if check_units else []:
        item = smap.error(
            loc,
            f"{value:g} has no unit and is read as {value:g} s; write "
            f"{value:g}s to keep it or {value:g}min if minutes were meant",
        )
        warn(str(item))
    return scenario


SCENARIO_KEYS = frozenset({"horizon", "arrivals", "call_types", "agents"})
"""Keys only a scenario file has (an experiment file names its scenario instead)."""
EXPERIMENT_KEYS = frozenset({"scenario", "parameters"})
"""Keys only an experiment (sweep) file has."""


def _looks_like_experiment(data: Any) -> bool:
    """An experiment's keys and none of a scenario's: the file was given to the wrong command,
    which one error says better than a list of missing keys."""
    return (
        isinstance(data, dict)
        and EXPERIMENT_KEYS <= data.keys()
        and not SCENARIO_KEYS & data.keys()
    )


def load_scenario(path: str | Path) -> Scenario:
    """Read, merge (``extends:``), validate and cross-check a scenario file.

    Every file it names must lie under its folder or a ``--data-root``
    (:mod:`sim.scenario.confine`).

    Raises
    ------
    ScenarioError
        with every problem found, each naming the file, line and dotted path.
    """
    path = Path(path)
    with data_roots(path.parent):
        data, smap = load_yaml(path)
        if _looks_like_experiment(data):
            message = (
                "this is an experiment file (a sweep), not a scenario: run it with "
                "`sim sweep` (docs/experiments.md)"
            )
            raise ScenarioError([ErrorItem(str(path), 1, "", message)])
        check_units = not says_seconds(path)
        return _validate(data, smap, path.parent, check_units=check_units, from_file=True)


def scenario_from_dict(data: dict, base_dir: str | Path = ".", source: str = "<dict>") -> Scenario:
    """Validate a plain mapping as a scenario (for sweeps and tests; programs write seconds, so
    bare-number durations are not warned about); files it names under ``base_dir``."""
    with data_roots(base_dir):
        check_printable(data, SourceMap(source))
        return _validate(data, SourceMap(source), Path(base_dir), check_units=False)
