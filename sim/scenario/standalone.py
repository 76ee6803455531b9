"""A scenario that runs from any folder: the data files it was loaded with, written beside it.

A scenario names data files (``arrivals.file``, an empirical distribution's ``file``) relative
to itself, and the loader reads them into ``rows`` and ``values``. A scenario handed over as a
new file (the plan ``sim staff`` recommends) gets those data written out again under ``data/``
beside it, from what was read, not copied from where it was: the new folder holds everything
the scenario needs, reads nothing outside itself, and runs as it was simulated.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from sim.scenario.units import format_clock

__all__ = ["DATA_FOLDER", "standalone"]

DATA_FOLDER = "data"
"""Subfolder (beside the scenario file) holding its data files."""


def standalone(data: dict) -> tuple[dict, dict[str, str]]:
    """``data``, a scenario as :func:`sim.scenario.resolved.scenario_to_dict` gives it, with
    every loaded file named anew under :data:`DATA_FOLDER`: returns the new mapping (without
    ``rows`` and ``values``, which a scenario file cannot give) and ``{path: CSV text}``."""
    data = copy.deepcopy(data)
    files: dict[str, str] = {}
    arrivals = data.get("arrivals") or {}
    if arrivals.get("file") is not None:
        arrivals["file"] = _add(files, "arrivals.csv", _arrivals_csv(arrivals.pop("rows", [])))
    for spec in _empirical(data):
        spec["file"] = _add(files, spec["file"], _values_csv(spec.pop("values", [])))
    return data, files


def _empirical(value: Any) -> list[dict]:
    """Every empirical distribution in ``value`` (mappings with ``dist: empirical``)."""
    if isinstance(value, list):
        return [spec for item in value for spec in _empirical(item)]
    if not isinstance(value, dict):
        return []
    found = [value] if value.get("dist") == "empirical" and "file" in value else []
    return found + [spec for item in value.values() for spec in _empirical(item)]


def _add(files: dict[str, str], name: str, text: str) -> str:
    """Store ``text`` under ``data/`` as the original file's base name, made a plain name
    (one file per distinct text; ``-2``, ``-3`` when two texts share a name)."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", str(name).replace("\\", "/").rsplit("/", 1)[-1])
    base = base.strip("._") or "values.csv"
    stem, dot, ext = base.rpartition(".")
    stem, ext = (stem, f".{ext}") if dot and stem else (base, "")
    n = 1
    while True:
        path = f"{DATA_FOLDER}/{stem}{'' if n == 1 else f'-{n}'}{ext}"
        if files.setdefault(path, text) == text:
            return path
        n += 1


def _arrivals_csv(rows: list) -> str:
    """``start,calls`` (with ``day`` first when any row has one) as the loader reads them back;
    ``repr`` of a float reads back as the same float."""
    with_day = any(int(day) for day, _, _ in rows)
    lines = ["day,start,calls" if with_day else "start,calls"]
    for day, start, calls in rows:
        cells = [format_clock(start), repr(float(calls))]
        lines.append(",".join(([str(int(day)) if day else ""] if with_day else []) + cells))
    return "\n".join(lines) + "\n"


def _values_csv(values: list) -> str:
    """One column of seconds under a header line (which the loader skips)."""
    return "\n".join(["seconds", *(repr(float(v)) for v in values)]) + "\n"
