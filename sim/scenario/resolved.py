"""The resolved scenario as plain data and YAML: what a results folder stores as
``scenario.yaml`` (``extends`` merged, durations in seconds) and what reads back identically.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.scenario.schema import Scenario

__all__ = ["SECONDS_NOTE", "scenario_to_dict", "scenario_to_yaml"]

SECONDS_NOTE = "every duration is in seconds"
"""Said in the leading comments of a file written by the program (a resolved or fitted
scenario): bare numbers there are seconds by construction, so loading it again does not warn
about durations without a unit."""


def scenario_to_dict(scenario: Scenario, exclude_defaults: bool = False) -> dict:
    """The scenario as plain data that :func:`scenario_from_dict` reads back identically
    (``exclude_defaults``: only the keys whose value is not the default)."""
    return _plain(
        scenario.model_dump(
            mode="python", by_alias=True, exclude_none=True, exclude_defaults=exclude_defaults
        )
    )


def _plain(value: Any) -> Any:
    """Lists for tuples and ``"never"`` for an infinite duration (JSON has no infinity)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, float) and math.isinf(value) and value > 0:
        return "never"
    return value


def scenario_to_yaml(scenario: Scenario) -> str:
    """The fully resolved scenario as YAML (durations in seconds), for the results folder."""
    import io

    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False
    buf = io.StringIO()
    yaml.dump(scenario_to_dict(scenario), buf)
    return f"# resolved scenario: {SECONDS_NOTE}\n{buf.getvalue()}"
