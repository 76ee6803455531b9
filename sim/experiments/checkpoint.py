"""Finished replications of ``sim run`` and ``sim compare`` kept on disk, so a killed run
resumes where it stopped.

Each finished replication is one ``.npz`` file (KPIs as JSON text, per-interval and per-day
columns as arrays; no pickles), written atomically in a folder beside the results folder. A
rerun with the same scenario, seed and ``--out`` loads them instead of running them again;
the numbers are the same bit for bit, since replication ``i`` always uses the streams of
(seed, i). The folder is removed once the results folder is complete.

The folder lies beside the results folder, where anyone who can write there may have planted
something: a link in its place is removed (never written through, never read), and a file
whose contents are not what :meth:`RunStore.save` writes (a ``meta`` that is not a mapping, a
KPI out of its range, arrays of another shape) is ignored and its replication run again.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.model.simulation import RunResult
from sim.scenario.kpis import value_range
from sim.scenario.resolved import scenario_to_yaml
from sim.scenario.schema import Scenario

if TYPE_CHECKING:
    from sim.experiments.executors import Executor

__all__ = ["RunStore", "checkpoint_folder", "run_kept"]

_VERSION = "1"


def checkpoint_folder(out: str | Path) -> Path:
    """Where the finished replications of a run into ``out`` are kept: ``.<name>.partial``."""
    out = Path(out)
    return out.parent / f".{out.name}.partial"


def unlink_planted(folder: Path) -> None:
    """Remove ``folder`` when it is a link or a file: a checkpoint folder is sim's own, made
    fresh when missing, and never followed elsewhere."""
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        folder.unlink()


class RunStore:
    """The finished replications of one (scenario, seed) run into one results folder.

    The folder is read once: later :meth:`load` calls answer from memory (with what
    :meth:`save` kept since), so counting them for a message and then resuming costs one read.
    """

    def __init__(
        self, folder: str | Path, scenario: Scenario, seed: int, root: str | Path | None = None
    ):
        """``root``: the checkpoint folder ``folder`` lies in (a compare's or a sizing's; by
        default ``folder`` itself): no folder from it down to ``folder`` may be a link."""
        self.folder, self.scenario, self.seed = Path(folder), scenario, int(seed)
        self.root = self.folder if root is None else Path(root)
        text = f"{_VERSION}\n{self.seed}\n{scenario_to_yaml(scenario)}"
        self.fingerprint = hashlib.sha256(text.encode("utf-8")).hexdigest()
        self._runs: dict[int, RunResult] | None = None  # what the folder holds, once read

    def load(self) -> dict[int, RunResult]:
        """Stored runs of this scenario and seed; a folder of another run is cleared."""
        if self._runs is None:
            self._runs = self._read_folder()
        return dict(self._runs)

    def _read_folder(self) -> dict[int, RunResult]:
        from sim.report.files import read_inside

        self._unlink_planted()
        try:
            same = read_inside(self.folder / "fingerprint") == self.fingerprint.encode("utf-8")
        except OSError:
            same = False
        if not same:
            shutil.rmtree(self.folder, ignore_errors=True)
            return {}
        runs: dict[int, RunResult] = {}
        for path in sorted(self.folder.glob("rep-*.npz")):
            try:
                run = self._read(path)
            except (OSError, ValueError, KeyError, TypeError):
                continue  # unreadable or not as save() writes it: run it again
            if runs and _shapes(run) != _shapes(next(iter(runs.values()))):
                continue  # columns of another length than the others kept
            runs[run.replication] = run
        return runs

    def save(self, run: RunResult) -> None:
        """Keep one finished replication (atomically: whole or absent)."""
        from sim.report.files import write_atomic

        self._unlink_planted()
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = self.folder / "fingerprint"
        if not stamp.exists() or stamp.is_symlink():
            write_atomic(stamp, self.fingerprint.encode("utf-8"))
        meta = {"kpis": run.kpis, "elapsed_s": run.elapsed_s, "replication": run.replication}
        arrays: dict[str, Any] = {"meta": np.array(json.dumps(meta))}  # ndarrays for savez
        arrays |= {f"i:{k}": np.asarray(v) for k, v in run.intervals.items()}
        for k, v in (run.extra.get("daily") or {}).items():
            arrays[f"d:{k}"] = np.asarray(v)
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        write_atomic(self.folder / f"rep-{run.replication:06d}.npz", buf.getvalue())
        if self._runs is not None:
            self._runs[run.replication] = run

    def _unlink_planted(self) -> None:
        parts = self.folder.relative_to(self.root).parts
        for i in range(len(parts) + 1):
            unlink_planted(self.root.joinpath(*parts[:i]))

    def clear(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        self._runs = {}

    def _read(self, path: Path) -> RunResult:
        """One kept replication; ValueError (or KeyError, TypeError) when it is not as
        :meth:`save` writes it."""
        from sim.report.files import read_inside

        raw = read_inside(path)
        if raw is None:
            raise ValueError(f"{path}: gone")
        with np.load(io.BytesIO(raw), allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            intervals = {k[2:]: data[k] for k in data.files if k.startswith("i:")}
            daily = {k[2:]: data[k] for k in data.files if k.startswith("d:")}
        if not isinstance(meta, dict) or not isinstance(meta.get("kpis"), dict):
            raise ValueError(f"{path}: meta is not as sim writes it")
        rep, elapsed = meta.get("replication"), meta.get("elapsed_s")
        if type(rep) is not int or rep < 0 or f"rep-{rep:06d}.npz" != path.name:
            raise ValueError(f"{path}: replication {rep!r} is not the file's")
        if not isinstance(elapsed, int | float) or not 0 <= elapsed < math.inf:
            raise ValueError(f"{path}: elapsed_s {elapsed!r}")
        for name, value in meta["kpis"].items():
            low, high = value_range(name)
            if value is not None and not (
                _number(value) and (math.isnan(value) or low - 1e-9 <= value <= high + 1e-9)
            ):  # NaN: a figure without data (no answered call has no ASA)
                raise ValueError(f"{path}: KPI {name!r} = {value!r} is out of its range")
        for arrays in (intervals, daily):
            if any(a.dtype.kind not in "biufU" or a.ndim != 1 for a in arrays.values()):
                raise ValueError(f"{path}: an array is not a column of numbers or text")
            if len({a.shape for a in arrays.values()}) > 1:
                raise ValueError(f"{path}: columns of different lengths")
        return RunResult(
            self.scenario,
            self.seed,
            rep,
            meta["kpis"],
            intervals,
            None,
            float(elapsed),
            {"daily": daily} if daily else {},
        )


def _shapes(run: RunResult) -> dict[str, tuple]:
    return {k: v.shape for k, v in run.intervals.items()}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def run_kept(
    executor: Executor,
    scenario: Scenario,
    seed: int,
    reps: Iterable[int],
    store: RunStore | None,
    progress: Callable[[int, int], None] | None = None,
    done: int = 0,
) -> list[RunResult]:
    """Replications ``reps`` of ``scenario``, in order: those ``store`` keeps are loaded, the
    others run on ``executor`` and are saved as each finishes. ``progress(done + n, done +
    len(reps))`` after each one run. When some raise, the
    :class:`~sim.experiments.executors.ReplicationError` holds every other one, kept or run."""
    from sim.experiments.executors import Job, ReplicationError, run_all

    reps = list(reps)
    wanted = set(reps)
    kept = {r: run for r, run in (store.load() if store else {}).items() if r in wanted}
    jobs = [Job(r, scenario, seed, r) for r in reps if r not in kept]
    save = None if store is None else (lambda _rep, run: store.save(run))
    try:
        kept |= run_all(executor, jobs, progress, done + len(kept), done + len(reps), save)
    except ReplicationError as exc:
        exc.results = kept | exc.results
        raise
    return [kept[r] for r in reps]
