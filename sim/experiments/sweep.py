"""Parameter sweeps: experiment files, the points they describe, and the resumable results store.

Owns the experiment-file format (docs/experiments.md), setting parameters by dotted path on a
base scenario, grid and Latin-hypercube designs, and the tidy Parquet store that every finished
run is written to at once, so a killed sweep resumes where it stopped. Runs go through
:mod:`sim.experiments.executors`; intervals and summaries come from
:mod:`sim.experiments.replication`.
"""

from __future__ import annotations

import functools
import hashlib
import io
import itertools
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sim.experiments.executors import (
    Executor,
    ExecutorError,
    Failure,
    Job,
    ReplicationError,
    executor_scope,
)
from sim.experiments.replication import mean_ci
from sim.report.files import write_atomic, write_table
from sim.scenario.confine import data_roots
from sim.scenario.kpis import HEADLINE
from sim.scenario.schema import (
    Scenario,
    load_scenario,
    scenario_from_dict,
    scenario_to_dict,
    scenario_to_yaml,
)
from sim.scenario.yamlsource import ErrorItem, ScenarioError, SourceMap, load_yaml, validation_error

__all__ = [
    "Experiment",
    "Parameter",
    "Sweep",
    "SweepResult",
    "load_experiment",
    "read_results",
    "run_sweep",
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
    replications: int = Field(10, ge=1, description="replications per point")
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
    if exp.design == "latin_hypercube" and exp.points is None:
        problems.append(smap.error(("design",), "design: latin_hypercube needs points: N"))
    if exp.design == "grid" and exp.points is not None:
        problems.append(smap.error(("points",), "points goes with design: latin_hypercube"))
    if exp.design == "grid" and not problems:
        size = math.prod(len(p.axis()) for p in exp.parameters.values())
        if size > 100_000:
            problems.append(smap.error(("parameters",), f"the grid has {size} points (> 100000)"))
    return problems


def _point_scenario(
    data: dict,
    assignments: dict[str, Any],
    base_dir: Path,
    smap: SourceMap,
    section: str,
    label: str,
) -> Scenario:
    """Set every assignment on a copy of ``data`` and validate; errors name the parameter."""
    data = json.loads(json.dumps(data))
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
            items.append(
                smap.error(
                    loc,
                    f"{label} ({setting}) makes an invalid scenario: "
                    f"{item.path or '<top>'}: {item.message}",
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


def _load_experiment(path: Path, seed: int | None) -> Sweep:
    data, smap = load_yaml(path)
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


# --- the results store -------------------------------------------------------------------------


def _param_types(sweep: Sweep) -> dict[str, pa.DataType]:
    """One Arrow type per parameter column, the same in every run file."""
    types = {}
    for name in sweep.parameters:
        values = [p[name] for p in sweep.points]
        if all(isinstance(v, bool) for v in values):
            types[name] = pa.bool_()
        elif all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            types[name] = pa.int64()
        elif all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            types[name] = pa.float64()
        else:
            types[name] = pa.string()
    return types


def _cell(value: Any, dtype: pa.DataType) -> Any:
    if pa.types.is_string(dtype):
        return value if isinstance(value, str) else json.dumps(value)
    return float(value) if pa.types.is_floating(dtype) else value


def _kpi_order(names) -> list[str]:
    """Spec KPIs in the spec's order, then the others alphabetically: the same in every file."""
    names = set(names)
    return [k for k in HEADLINE if k in names] + sorted(names - set(HEADLINE))


def _run_table(
    point: int, values: dict, types: dict, replication: int, seed: int, kpis: dict
) -> pa.Table:
    """One stored run: a single tidy row."""
    columns: dict[str, pa.Array] = {"point": pa.array([point], pa.int64())}
    for name, dtype in types.items():
        columns[name] = pa.array([_cell(values[name], dtype)], dtype)
    columns["replication"] = pa.array([replication], pa.int64())
    columns["seed"] = pa.array([seed], pa.int64())
    for name in _kpi_order(kpis):
        v = kpis[name]
        columns[name] = pa.array([None if v is None else float(v)], pa.float64())
    return pa.table(columns)


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


_RUN_FILE = re.compile(r"^p(\d+)-r(\d+)\.parquet$")


def _run_file(point: int, replication: int) -> str:
    return f"p{point:06d}-r{replication:06d}.parquet"


def stored_runs(out: Path) -> set[tuple[int, int]]:
    """(point, replication) of every complete run file in ``out/runs`` (temp files excluded)."""
    folder = out / "runs"
    if not folder.is_dir():
        return set()
    found = set()
    for f in folder.iterdir():
        m = _RUN_FILE.match(f.name)
        if m:
            found.add((int(m[1]), int(m[2])))
    return found


def read_results(out: str | Path) -> pa.Table:
    """The consolidated store ``results.parquet`` of a sweep folder."""
    return pq.read_table(Path(out) / "results.parquet")


def _consolidate(out: Path, wanted: list[tuple[int, int]], parameters: list[str]) -> pa.Table:
    """Gather the run files into ``results.parquet``: sorted by (point, replication), columns
    point, parameters, replication, seed, KPIs (a KPI missing in some runs is null there)."""
    tables = [pq.read_table(out / "runs" / _run_file(p, r)) for p, r in wanted]
    table = pa.concat_tables(tables, promote_options="default")
    table = table.sort_by([("point", "ascending"), ("replication", "ascending")])
    head = ["point", *parameters, "replication", "seed"]
    table = table.select(head + _kpi_order(set(table.column_names) - set(head)))
    write_atomic(out / "results.parquet", _parquet_bytes(table))
    return table


def _points_table(sweep: Sweep, table: pa.Table) -> dict[str, list]:
    """Per point: parameters, replications, seed, then mean and 95% CI of every KPI."""
    kpis = table.column_names[len(sweep.parameters) + 3 :]
    point_col = table.column("point").to_numpy()
    out: dict[str, list] = {"point": []}
    for name in sweep.parameters:
        out[name] = []
    out["replications"], out["seed"] = [], []
    for k in kpis:
        out[f"{k}_mean"], out[f"{k}_ci_low"], out[f"{k}_ci_high"] = [], [], []
    columns = {k: table.column(k).to_pylist() for k in kpis}
    for i, point in enumerate(sweep.points):
        rows = np.flatnonzero(point_col == i)
        out["point"].append(i)
        for name in sweep.parameters:
            out[name].append(point[name])
        out["replications"].append(len(rows))
        out["seed"].append(sweep.seed)
        for k in kpis:
            mean, ci, _ = mean_ci(columns[k][j] for j in rows)
            out[f"{k}_mean"].append(mean)
            out[f"{k}_ci_low"].append(ci[0] if ci else None)
            out[f"{k}_ci_high"].append(ci[1] if ci else None)
    return out


@dataclass
class SweepResult:
    """What a sweep left in its folder."""

    out: Path
    table: pa.Table  # one row per (point, replication)
    points: dict[str, list]  # the points.csv columns
    runs: int  # runs in the store
    new: int  # runs made by this call (the rest were found stored)


def _sweep_json(sweep: Sweep, replications: int, runs: int, complete: bool) -> str:
    targets = {name: {t.bound: t.value} for name, t in sweep.base.targets.items()}
    data = {
        "name": sweep.experiment.name,
        "description": sweep.experiment.description,
        "experiment": str(sweep.path),
        "scenario": sweep.base.name,
        "design": sweep.experiment.design,
        "parameters": sweep.parameters,
        "points": len(sweep.points),
        "replications": replications,
        "seed": sweep.seed,
        "runs": runs,
        "complete": complete,
        "fingerprint": sweep.fingerprint,
        "targets": targets,
    }
    return json.dumps(data, indent=2) + "\n"


def _check_folder(out: Path, sweep: Sweep) -> None:
    """Refuse to resume into a folder holding runs of another experiment (or seed)."""
    meta = out / "sweep.json"
    if meta.is_file():
        try:
            stored = json.loads(meta.read_text(encoding="utf-8")).get("fingerprint")
        except (OSError, ValueError):
            stored = None
        if stored != sweep.fingerprint:
            raise ScenarioError(
                [
                    ErrorItem(
                        str(out),
                        None,
                        "",
                        (
                            "this folder holds a sweep of other points or another seed; "
                            "resume only the same experiment into it, or choose another --out"
                        ),
                    )
                ]
            )
    elif stored_runs(out):
        raise ScenarioError(
            [
                ErrorItem(
                    str(out),
                    None,
                    "",
                    ("this folder holds runs but no sweep.json; choose another --out"),
                )
            ]
        )


def run_sweep(
    sweep: Sweep,
    out: str | Path,
    replications: int | None = None,
    executor: str | Executor | None = None,
    workers: int | None = None,
    address: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    trust_file_address: bool = False,
) -> SweepResult:
    """Run every (point, replication) not yet stored in ``out``; consolidate the store.

    Every point uses the same seed (common random numbers across points): replication i of
    every point sees the same callers, so differences between points are not blurred by
    sampling noise. Each finished run is written at once to ``out/runs/`` (atomically), so a
    sweep killed at any moment resumes with no run missing and none twice; at the end the runs
    are gathered into ``results.parquet`` and summarised in ``points.csv``. Runs that raise
    are not stored; the others finish, then :class:`ReplicationError` names the failed ones.

    A scheduler named in the experiment file (``executor.address``) is used only with
    ``trust_file_address`` (``--allow-file-address``): a shared file must not make runs connect
    to whatever host it names.
    """
    out = Path(out)
    exp = sweep.experiment
    reps = exp.replications if replications is None else int(replications)
    settings = exp.executor or ExecutorSettings()
    if executor is None:
        executor = "dask" if address else settings.kind
    if address is None and executor == "dask" and settings.address is not None:
        if not trust_file_address:
            raise ExecutorError(
                f"the experiment file names a Dask scheduler ({settings.address}); connect to "
                "it with --address on the command line, or confirm with --allow-file-address"
            )
        address = settings.address
    workers = settings.workers if workers is None else workers
    _check_folder(out, sweep)
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "experiment.yaml", sweep.text)
    write_atomic(out / "scenario.yaml", scenario_to_yaml(sweep.base))
    wanted = [(p, r) for p in range(len(sweep.points)) for r in range(reps)]
    for stale in (out / "runs").glob(".*"):  # half-written by a killed sweep: never renamed
        stale.unlink(missing_ok=True)
    done = stored_runs(out)
    write_atomic(out / "sweep.json", _sweep_json(sweep, reps, len(done & set(wanted)), False))
    todo = [(p, r) for p, r in wanted if (p, r) not in done]
    types = _param_types(sweep)
    jobs = [Job((p, r), sweep.scenarios[p], sweep.seed, r, intervals=False) for p, r in todo]
    finished = len(wanted) - len(todo)
    if progress is not None:
        progress(finished, len(wanted))
    failures: list[Failure] = []
    if jobs:
        with executor_scope(executor, workers, address) as ex:
            for count, (key, run) in enumerate(ex.run(jobs), start=1):
                p, r = cast(tuple[int, int], key)  # the keys of the jobs above
                if isinstance(run, Failure):
                    failures.append(run)  # not stored: a rerun into the folder retries it
                else:
                    row = _run_table(p, sweep.points[p], types, r, sweep.seed, run.kpis)
                    write_atomic(out / "runs" / _run_file(p, r), _parquet_bytes(row))
                if progress is not None:
                    progress(finished + count, len(wanted))
    if failures:
        raise ReplicationError(failures)
    table = _consolidate(out, wanted, sweep.parameters)
    points = _points_table(sweep, table)
    write_table(out / "points.csv", points)
    write_atomic(out / "sweep.json", _sweep_json(sweep, reps, len(wanted), True))
    return SweepResult(out, table, points, len(wanted), len(todo))
