"""Experiment files: the format (docs/experiments.md), parameters set by dotted path on a base
scenario, grid and Latin-hypercube designs, and the scenario of every point.

Untrusted input like a scenario: errors name file, line and path; the base scenario is read
only inside the data roots. Running the points and storing the runs is :mod:`sim.experiments.sweep`.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import itertools
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sim.scenario.confine import data_roots, excerpt
from sim.scenario.kpis import KPIS, base_name, lookup
from sim.scenario.limits import MAX_REPLICATIONS
from sim.scenario.loading import EXPERIMENT_KEYS, SCENARIO_KEYS, load_scenario, scenario_from_dict
from sim.scenario.resolved import scenario_to_dict
from sim.scenario.schema import Scenario
from sim.scenario.yamlsource import ErrorItem, ScenarioError, SourceMap, load_yaml, validation_error

__all__ = [
    "RESERVED",
    "ExecutorSettings",
    "Experiment",
    "Parameter",
    "Sweep",
    "load_experiment",
    "parse_path",
    "set_path",
]

RESERVED = ("point", "replication", "seed")
"""Columns of the store that are not parameters or KPIs."""

_SEGMENT = re.compile(r"^(?P<key>[^.\[\]]+)(?P<index>(?:\[\d+\])*)$")


# --- the experiment file -----------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Parameter(_Model):
    """The values one parameter takes: a list, a range, or bounds for a Latin hypercube."""

    values: list[Any] | None = Field(None, min_length=1, description="grid values, in order")
    from_: float | None = Field(None, alias="from", description="range start (grid)")
    to: float | None = Field(None, description="range end, included when on the step (grid)")
    step: float | None = Field(None, gt=0, description="range step (grid)")
    low: float | None = Field(None, description="lower bound (latin_hypercube)")
    high: float | None = Field(None, description="upper bound (latin_hypercube)")
    integer: bool = Field(False, description="whole numbers only (latin_hypercube)")

    @model_validator(mode="before")
    @classmethod
    def _list_is_values(cls, data: Any) -> Any:
        if isinstance(data, list):
            return {"values": data}
        if not isinstance(data, dict):
            return {"values": [data]}
        return data

    @model_validator(mode="after")
    def _one_form(self):
        forms = [
            self.values is not None,
            any(v is not None for v in (self.from_, self.to, self.step)),
            any(v is not None for v in (self.low, self.high)),
        ]
        if sum(forms) != 1:
            raise ValueError("give a list of values, or from/to/step, or low/high")
        if forms[1]:
            if None in (self.from_, self.to, self.step):
                raise ValueError("a range needs from, to and step")
            if self.to < self.from_:
                raise ValueError("a range needs from <= to")
            if (self.to - self.from_) / self.step > 100_000:
                raise ValueError("the range has more than 100000 values")
        if forms[2]:
            if None in (self.low, self.high):
                raise ValueError("bounds need low and high")
            if self.high < self.low:
                raise ValueError("bounds need low <= high")
        return self

    def grid_values(self) -> list[Any] | None:
        """The values of a list or range (None for bounds)."""
        if self.values is not None:
            return list(self.values)
        if self.from_ is None:
            return None
        assert self.to is not None and self.step is not None  # given with from (validated)
        count = math.floor((self.to - self.from_) / self.step + 1e-9) + 1
        whole = all(float(v).is_integer() for v in (self.from_, self.to, self.step))
        return [
            int(self.from_ + k * self.step)
            if whole
            else float(f"{self.from_ + k * self.step:.12g}")
            for k in range(count)
        ]

    def axis(self) -> list[Any]:
        """The values of a parameter of a grid (checked: a list or a range, not bounds)."""
        values = self.grid_values()
        assert values is not None
        return values

    @property
    def bounds(self) -> tuple[float, float]:
        """(low, high) of a Latin-hypercube parameter (checked: given together)."""
        assert self.low is not None and self.high is not None
        return self.low, self.high


class ExecutorSettings(_Model):
    """Where the sweep runs, unless the command line says otherwise."""

    kind: Literal["serial", "processes", "dask"] = "processes"
    workers: int | None = Field(None, ge=1)
    address: str | None = Field(None, description="Dask scheduler, tcp://host:port")


class Experiment(_Model):
    """An experiment file: a base scenario, parameters and their values, and replications."""

    name: str = Field(min_length=1, description="names the results folder")
    description: str = ""
    scenario: str = Field(description="base scenario file, relative to the experiment file")
    fixed: dict[str, Any] = Field(
        default_factory=dict, description="dotted path -> value, set on the base first"
    )
    parameters: dict[str, Parameter] = Field(
        min_length=1, description="dotted path -> values or bounds"
    )
    design: Literal["grid", "latin_hypercube"] = "grid"
    points: int | None = Field(None, ge=1, le=100_000, description="latin_hypercube points")
    replications: int = Field(10, ge=1, le=MAX_REPLICATIONS, description="replications per point")
    seed: int | None = Field(None, ge=0, description="default: the base scenario's seed")
    kpis: list[str] = Field(default_factory=list, description="KPIs in the printed table")
    executor: ExecutorSettings | None = None

    @field_validator("parameters", "fixed")
    @classmethod
    def _paths(cls, value: dict) -> dict:
        for path, values in value.items():
            parts = parse_path(path)
            if path in RESERVED:
                raise ValueError(f"'{path}' is a column of the results, not a parameter")
            if _LOADER_KEYS & {*parts, *_keys(values)}:
                raise ValueError(f"'{path}': values and rows are read from files by the loader")
        return value


_LOADER_KEYS = {"values", "rows"}


def _keys(value: Any) -> set:
    """Every mapping key inside ``value`` (for the loader-only keys check)."""
    if isinstance(value, dict):
        return set(value) | set().union(*(_keys(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_keys(v) for v in value))
    return set()


def parse_path(path: str) -> list[str | int]:
    """``agents.groups.team.shifts[0].count`` -> ``['agents', 'groups', 'team', 'shifts', 0,
    'count']``; ValueError when it is not a dotted path."""
    parts: list[str | int] = []
    for segment in str(path).split("."):
        m = _SEGMENT.match(segment)
        if not m:
            raise ValueError(f"'{path}' is not a dotted path like agents.groups.team.staffing")
        parts.append(m["key"])
        parts += [int(i) for i in re.findall(r"\[(\d+)\]", m["index"])]
    return parts


def set_path(data: dict, path: str, value: Any) -> None:
    """Set ``value`` at dotted ``path`` in nested plain data, creating missing mappings.

    A missing key is created (the scenario schema then rejects a misspelt one with its allowed
    keys); a list index must exist. Raises ValueError when the path runs through a value that
    is not a mapping or list.
    """
    parts = parse_path(path)
    node: Any = data
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        where = ".".join(str(p) for p in parts[:depth]) or "the scenario"
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                raise ValueError(f"{where} has no item [{part}]")
        elif not isinstance(node, dict):
            raise ValueError(f"{where} is {node!r}, not a mapping with key '{part}'")
        if last:
            node[part] = value
        else:
            if isinstance(part, str) and part not in node:
                node[part] = {}
            node = node[part]


# --- loading and the points --------------------------------------------------------------------


@dataclass
class Sweep:
    """A loaded experiment: the validated file, its base scenario and every point's scenario."""

    experiment: Experiment
    path: Path
    text: str
    base: Scenario
    points: list[dict[str, Any]]  # per point: parameter path -> value
    scenarios: list[Scenario]
    seed: int

    @property
    def parameters(self) -> list[str]:
        return list(self.experiment.parameters)

    @functools.cached_property
    def fingerprint(self) -> str:
        """Identifies what every stored run depends on (the points' scenarios and the seed), so
        a resume into a folder of another experiment is refused. Replications may grow."""
        data = {"seed": self.seed, "points": [scenario_to_dict(s) for s in self.scenarios]}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _design_points(exp: Experiment, seed: int) -> list[dict[str, Any]]:
    names = list(exp.parameters)
    if exp.design == "grid":
        axes = [exp.parameters[n].axis() for n in names]
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*axes)]
    from scipy.stats import qmc

    try:
        sampler = qmc.LatinHypercube(d=len(names), rng=seed)
    except TypeError:  # scipy < 1.15
        sampler = qmc.LatinHypercube(d=len(names), seed=seed)
    unit = sampler.random(exp.points)
    points = []
    for row in unit:
        point: dict[str, Any] = {}
        for name, u in zip(names, row, strict=True):
            p = exp.parameters[name]
            low, high = p.bounds
            if p.integer:
                lo, hi = math.ceil(low), math.floor(high)
                point[name] = int(min(hi, lo + math.floor(u * (hi - lo + 1))))
            else:
                point[name] = float(low + u * (high - low))
        points.append(point)
    return points


def _check_design(exp: Experiment, smap: SourceMap) -> list[ErrorItem]:
    problems = []
    for name, p in exp.parameters.items():
        loc = ("parameters", name)
        if exp.design == "grid" and p.low is not None:
            problems.append(
                smap.error(
                    loc,
                    "low/high bounds need design: latin_hypercube; a "
                    "grid takes a list of values or from/to/step",
                )
            )
        if exp.design == "latin_hypercube":
            if p.low is None:
                problems.append(smap.error(loc, "a latin_hypercube parameter needs low and high"))
            elif p.integer and math.ceil(p.bounds[0]) > math.floor(p.bounds[1]):
                problems.append(smap.error(loc, "no whole number lies between low and high"))
    known = [k.name for k in KPIS]
    for i, name in enumerate(exp.kpis):
        if lookup(name) is None:  # a misspelt KPI was left out of the table silently
            close = difflib.get_close_matches(base_name(name), known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f"; KPIs: {', '.join(known)}"
            problems.append(smap.error(("kpis", i), f"unknown KPI {excerpt(name, 60)}{hint}"))
    if exp.design == "latin_hypercube" and exp.points is None:
        problems.append(smap.error(("design",), "design: latin_hypercube needs points: N"))
    if exp.design == "grid" and exp.points is not None:
        problems.append(smap.error(("points",), "points goes with design: latin_hypercube"))
    if exp.design == "grid" and not problems:
        size = math.prod(len(p.axis()) for p in exp.parameters.values())
        if size > 100_000:
            problems.append(smap.error(("parameters",), f"the grid has {size} points (> 100000)"))
    return problems


def _new_key_hint(base: dict, path: str) -> str:
    """When ``path`` runs through a key the base scenario does not have (a misspelt group
    creates a new, incomplete one), say so with the closest existing key."""
    node: Any = base
    parts = parse_path(path)
    for depth, part in enumerate(parts):
        if isinstance(part, int) or not isinstance(node, dict):
            return ""
        if part not in node:
            if not node or depth == len(parts) - 1:
                return ""  # adding to an empty section, or the key the path sets
            where = ".".join(str(p) for p in parts[:depth])
            close = difflib.get_close_matches(part, [str(k) for k in node], n=1)
            have = f"did you mean '{close[0]}'?" if close else f"it has {', '.join(map(str, node))}"
            return f" ('{part}' is not in the base scenario's {where}: {have})"
        node = node[part]
    return ""


def _point_scenario(
    data: dict,
    assignments: dict[str, Any],
    base_dir: Path,
    smap: SourceMap,
    section: str,
    label: str,
) -> Scenario:
    """Set every assignment on a copy of ``data`` and validate; errors name the parameter."""
    base, data = data, json.loads(json.dumps(data))
    for path, value in assignments.items():
        try:
            set_path(data, path, value)
        except ValueError as exc:
            raise ScenarioError([smap.error((section, path), f"{label}: {exc}")]) from None
    try:
        return scenario_from_dict(data, base_dir=base_dir)
    except ScenarioError as exc:
        items = []
        for item in exc.items:
            owner = next(
                (
                    p
                    for p in assignments
                    if item.path.startswith(p) or p.startswith(item.path + ".")
                ),
                None,
            )
            setting = ", ".join(
                f"{p} = {v!r}" for p, v in assignments.items() if owner is None or p == owner
            )
            loc = (section, owner) if owner else (section,)
            hints = (_new_key_hint(base, p) for p in ([owner] if owner else assignments))
            hint = next((h for h in hints if h), "")
            items.append(
                smap.error(
                    loc,
                    f"{label} ({setting}) makes an invalid scenario: "
                    f"{item.path + ': ' if item.path else ''}{item.message}{hint}",
                )
            )
        raise ScenarioError(items) from None


def load_experiment(path: str | Path, seed: int | None = None) -> Sweep:
    """Read and check an experiment file, its base scenario and every point.

    Raises
    ------
    ScenarioError
        naming the file, line and dotted path of every problem; a point that makes an invalid
        scenario names the parameter and value.
    """
    path = Path(path)
    with data_roots(path.parent):  # the base scenario and its files: under the experiment's
        return _load_experiment(path, seed)


def _looks_like_scenario(data: Any) -> bool:
    """A scenario's keys and none of an experiment's: the file was given to the wrong command."""
    return (
        isinstance(data, dict)
        and not EXPERIMENT_KEYS & data.keys()
        and bool(SCENARIO_KEYS & data.keys())
    )


def _load_experiment(path: Path, seed: int | None) -> Sweep:
    data, smap = load_yaml(path)
    if _looks_like_scenario(data):
        message = (
            "this is a scenario file, not an experiment: run it with `sim run`, or name it as "
            "`scenario:` of an experiment file with `parameters:` (docs/experiments.md)"
        )
        raise ScenarioError([ErrorItem(str(path), 1, "", message)])
    try:
        exp = Experiment.model_validate(data)
    except pydantic.ValidationError as exc:
        raise validation_error(exc, smap, Experiment) from None
    problems = _check_design(exp, smap)
    if problems:
        raise ScenarioError(problems)
    base_file = path.parent / exp.scenario
    if not base_file.is_file():
        raise ScenarioError([smap.error(("scenario",), f"scenario file not found: {base_file}")])
    try:
        base = load_scenario(base_file)
    except ScenarioError as exc:  # the base cannot be read at all: blame the `scenario:` line
        item = exc.items[0]
        if len(exc.items) > 1 or item.file != str(base_file) or item.line:
            raise
        raise ScenarioError([smap.error(("scenario",), f"{base_file}: {item.message}")]) from None
    if exp.fixed:
        base = _point_scenario(
            scenario_to_dict(base), exp.fixed, base_file.parent, smap, "fixed", "the fixed settings"
        )
    seed = (exp.seed if exp.seed is not None else base.seed) if seed is None else int(seed)
    points = _design_points(exp, seed)
    base_data = scenario_to_dict(base)
    scenarios = [
        _point_scenario(base_data, point, base_file.parent, smap, "parameters", f"point {i}")
        for i, point in enumerate(points)
    ]
    return Sweep(exp, path, path.read_text(encoding="utf-8"), base, points, scenarios, seed)
