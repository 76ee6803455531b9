"""Checks for the input mistakes planners make most, run beside the schema.

- Shares that do not sum to 1 are reported together with every other error, even when the
  schema rejects the file (the full cross-section checks need a valid scenario; this one only
  needs the numbers).
- A duration written as a bare number is seconds; below a minute it is often a forgotten
  ``min`` (``handle_time: {mean: 6}``), so the loader warns with the value it will use.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from pydantic import BaseModel

from sim.scenario.units import parse_duration, parse_share

__all__ = [
    "BARE_DURATION_BELOW",
    "ScenarioWarning",
    "bare_durations",
    "share_sums",
    "share_targets",
    "warn",
]

BARE_DURATION_BELOW = 60.0
"""Bare-number durations below this many seconds get a warning (0 never does)."""

SHARE_GROUPS = ("customer_tiers", "call_types")


class ScenarioWarning(UserWarning):
    """A scenario that loads but probably does not say what its author meant."""


def share_sums(data: dict) -> list[tuple[tuple, str, None]]:
    """(location, message, None) for each group of shares, read from the raw file, that does
    not sum to 1 (unless it says ``normalize: true``); groups with unreadable shares are left
    to the schema's own messages."""
    problems = []
    for key in SHARE_GROUPS:
        block = data.get(key) if isinstance(data, dict) else None
        if not isinstance(block, dict) or block.get("normalize") is True:
            continue
        try:
            shares = [parse_share(v.get("share")) for k, v in block.items() if k != "normalize"]
        except (AttributeError, ValueError):
            continue
        total = math.fsum(shares)
        if shares and abs(total - 1.0) > 1e-6:
            problems.append(
                ((key,), f"shares sum to {total:.6g}, not 1 (or add `normalize: true`)", None)
            )
    return problems


def share_targets(targets: Any, share_kpis) -> list[tuple[tuple, str, None]]:
    """(location, message, None) for a target on a share KPI outside [0, 1] (``80`` for 80 %).

    Reads raw or validated data: percentages (``80%``) are fine, other text is the schema's."""
    problems = []
    for name, target in (targets if isinstance(targets, dict) else {}).items():
        if name not in share_kpis or not isinstance(target, dict):
            continue
        for key in ("at_least", "at_most"):
            bound = target.get(key)
            if isinstance(bound, bool) or not isinstance(bound, int | float):
                continue
            if not 0 <= bound <= 1:
                hint = f"{bound / 100:g} or {bound:g}%" if 1 < bound <= 100 else "e.g. 0.8 or 80%"
                problems.append(
                    (("targets", name, key), f"{name} is a share in [0, 1]: write {hint}", None)
                )
    return problems


def _is_duration(field) -> bool:
    return any(getattr(m, "func", None) is parse_duration for m in field.metadata)


def bare_durations(model: BaseModel, raw: Any, loc: tuple = ()) -> list[tuple[tuple, float]]:
    """(location, value) of each duration the file wrote as a bare number in (0, 60) s."""
    found: list[tuple[tuple, float]] = []
    if not isinstance(raw, dict):
        return found
    for name, field in type(model).model_fields.items():
        key = field.alias or name
        if key not in raw:
            continue
        here, value, written = (*loc, key), getattr(model, name), raw[key]
        if _is_duration(field):
            bare = isinstance(written, int | float) and not isinstance(written, bool)
            if bare and 0 < written < BARE_DURATION_BELOW:
                found.append((here, float(written)))
        elif isinstance(value, BaseModel):
            found += bare_durations(value, written, here)
        elif isinstance(value, dict) and isinstance(written, dict):
            for k, v in value.items():
                if isinstance(v, BaseModel):
                    found += bare_durations(v, written.get(k), (*here, k))
        elif isinstance(value, list | tuple) and isinstance(written, list):
            for i, v in enumerate(value):
                if isinstance(v, BaseModel) and i < len(written):
                    found += bare_durations(v, written[i], (*here, i))
    return found


def warn(message: str) -> None:
    warnings.warn(message, ScenarioWarning, stacklevel=3)
