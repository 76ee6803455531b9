"""What changed between two scenarios: the keys whose resolved values differ.

Compares the resolved scenarios (``extends`` merged, durations in seconds), so two files that
say the same thing in different words show no change, and a changed base file shows up.
"""

from __future__ import annotations

__all__ = ["changes", "changes_by_label", "describe"]


def changes(a: dict, b: dict, path: str = "") -> list[tuple[str, object, object]]:
    """(dotted path, value in a, value in b) for each leaf that differs; a mapping present on
    one side only is one entry, not one per key. ``name`` and ``description`` are left out."""
    out: list[tuple[str, object, object]] = []
    for key in list(a) + [k for k in b if k not in a]:
        here = f"{path}.{key}" if path else str(key)
        if here in ("name", "description"):
            continue
        x, y = a.get(key), b.get(key)
        if isinstance(x, dict) and isinstance(y, dict):
            out += changes(x, y, here)
        elif x != y:
            out.append((here, x, y))
    return out


def describe(a: dict, b: dict, limit: int = 6, width: int = 60) -> str:
    """One line: ``agents.groups.general.staffing: {...} -> {...}; replications: 20 -> 30``."""
    found = changes(a, b)
    if not found:
        return "no change in the resolved scenario (same model; only the name differs)"
    parts = [f"{p}: {_short(x, width)} -> {_short(y, width)}" for p, x, y in found[:limit]]
    more = len(found) - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def _short(value: object, width: int) -> str:
    text = "(none)" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def changes_by_label(scenarios: list, labels: list[str]) -> dict[str, dict]:
    """Per alternative: the keys of its resolved scenario that differ from the baseline's."""
    from sim.scenario.resolved import scenario_to_dict

    base = scenario_to_dict(scenarios[0])
    out = {}
    for label, sc in zip(labels[1:], scenarios[1:], strict=True):
        other = scenario_to_dict(sc)
        out[label] = {
            "summary": describe(base, other),
            "keys": [
                {"key": k, "baseline": a, "alternative": b} for k, a, b in changes(base, other)
            ],
        }
    return out
