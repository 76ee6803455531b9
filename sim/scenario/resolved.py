"""The resolved scenario as plain data and YAML: what a results folder stores as
``scenario.yaml`` (``extends`` merged, durations in seconds) and what reads back identically.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.scenario.schema import Scenario

__all__ = ["SECONDS_NOTE", "dump_yaml", "says_seconds", "scenario_to_dict", "scenario_to_yaml"]

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
    return dump_yaml(scenario_to_dict(scenario), f"# resolved scenario: {SECONDS_NOTE}\n", False)


def dump_yaml(data: Any, head: str = "", flow: bool | None = None) -> str:
    """``data`` as YAML after the ``head`` text, keys in their own order (``flow`` is ruamel's
    ``default_flow_style``: None writes flat lists and maps inline)."""
    import io

    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = flow
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]  # ruamel types it None
    buf = io.StringIO()
    buf.write(head)
    yaml.dump(data, buf)
    return buf.getvalue()


def says_seconds(path: Path) -> bool:
    """Whether the file's leading comments say its durations are seconds (resolved or
    generated files, see ``SECONDS_NOTE``): then bare numbers are not warned about."""
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if not line.startswith("#"):
                    return False
                if SECONDS_NOTE in line.lower():
                    return True
    except (OSError, UnicodeDecodeError):
        pass
    return False
