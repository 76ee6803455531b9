"""Parameter sweeps: running the points of an experiment file, and the resumable results store.

Owns running the points (the file format is :mod:`sim.experiments.experiment_file`) and the
tidy Parquet store that every finished run is written to at once, so a killed sweep resumes
where it stopped. Runs go through
:mod:`sim.experiments.executors`; intervals and summaries come from
:mod:`sim.experiments.replication`.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim.experiments.executors import (
    Executor,
    ExecutorError,
    Failure,
    Job,
    ReplicationError,
    executor_scope,
)
from sim.experiments.experiment_file import ExecutorSettings, Sweep
from sim.experiments.replication import kpi_mean_ci
from sim.report.files import LinkError, read_inside, write_atomic, write_table
from sim.scenario.kpis import HEADLINE
from sim.scenario.resolved import scenario_to_yaml
from sim.scenario.yamlsource import ErrorItem, ScenarioError

__all__ = [
    "SweepResult",
    "read_results",
    "run_sweep",
]


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
    return _read_run(Path(out) / "results.parquet")


def _read_run(path: Path) -> pa.Table:
    """A Parquet file of a sweep folder (never through a link; ValueError naming it when it is
    not one sim wrote)."""
    data = read_inside(path)
    try:
        return pq.read_table(pa.BufferReader(data if data is not None else b""))
    except (pa.ArrowException, OSError) as exc:
        raise ValueError(f"{path}: not a run file sim wrote ({str(exc)[:80]})") from None


def _consolidate(out: Path, wanted: list[tuple[int, int]], parameters: list[str]) -> pa.Table:
    """Gather the run files into ``results.parquet``: sorted by (point, replication), columns
    point, parameters, replication, seed, KPIs (a KPI missing in some runs is null there)."""
    tables = [_read_run(out / "runs" / _run_file(p, r)) for p, r in wanted]
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
            mean, ci, _ = kpi_mean_ci(k, (columns[k][j] for j in rows))
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
    if meta.is_file() or meta.is_symlink():
        try:
            data = json.loads((read_inside(meta) or b"").decode("utf-8"))
        except (OSError, ValueError):
            data = None
        stored = data.get("fingerprint") if isinstance(data, dict) else None
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
    if (out / "runs").is_symlink():  # its files are listed, deleted and read: never elsewhere
        raise LinkError(out / "runs")
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
