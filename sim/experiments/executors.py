"""Where replications run: in this process, in a pool of processes, or on a Dask cluster.

Owns one small interface (:class:`Executor`: submit jobs, get results back as they finish) and
its three implementations. It does not decide which runs to make or how to summarise them; a
job is a pure function of (scenario, seed, replication), so the executor never changes a number.
A job may carry a reduction (a top-level function of the run with its records) that the worker
applies, so planning searches ship back a few counts instead of a run. A replication that raises
comes back as a :class:`Failure` (seed, replication, traceback), never as a lost pool.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sim.model.simulation import RunResult, simulate
from sim.scenario.schema import Scenario

__all__ = [
    "EXECUTORS",
    "DaskExecutor",
    "Executor",
    "ExecutorError",
    "Failure",
    "Job",
    "ProcessExecutor",
    "ReplicationError",
    "SerialExecutor",
    "default_workers",
    "executor_scope",
    "make_executor",
    "run_all",
    "run_job",
]

EXECUTORS = ("serial", "processes", "dask")


class ExecutorError(RuntimeError):
    """An executor cannot be set up (Dask missing, scheduler unreachable): bad input, exit 2."""


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Job:
    """One replication to run.

    ``key`` is the caller's label for the result (an index, or (point, replication));
    ``intervals=False`` drops the per-interval table from the shipped result (sweeps only need
    the KPIs, and it is most of the bytes sent back). ``reduce``, when given, is a picklable
    top-level function (or a ``functools.partial`` of one) applied in the worker to the run
    *with* its records; its result is shipped back instead of the run.
    """

    key: object
    scenario: Scenario
    seed: int
    replication: int
    intervals: bool = True
    reduce: Callable[[RunResult], Any] | None = None


@dataclass(frozen=True)
class Failure:
    """A replication that raised: where it came from and the worker's traceback."""

    key: object
    scenario: str
    seed: int
    replication: int
    error: str
    traceback: str

    def to_dict(self) -> dict:
        return {
            "scenario": self.scenario,
            "seed": self.seed,
            "replication": self.replication,
            "error": self.error,
            "traceback": self.traceback,
        }


class ReplicationError(RuntimeError):
    """Some replications raised. ``failures`` say which (seed, replication, traceback);
    ``results`` holds what the other jobs of the batch returned, by key."""

    def __init__(self, failures: list[Failure], results: dict | None = None):
        self.failures = sorted(failures, key=lambda f: (f.seed, f.replication, str(f.key)))
        self.results = results or {}
        first = self.failures[0]
        more = f" (and {len(self.failures) - 1} more)" if len(self.failures) > 1 else ""
        super().__init__(
            f"replication {first.replication} (seed {first.seed}) of {first.scenario} "
            f"failed: {first.error}{more}"
        )


def run_job(job: Job) -> Any:
    """Run one job: its reduction of the run, or the run without records (the light part worth
    shipping); a :class:`Failure` if it raises."""
    try:
        run = simulate(
            job.scenario,
            seed=job.seed,
            replication=job.replication,
            keep_records=job.reduce is not None,
        )
        if job.reduce is not None:
            return job.reduce(run)
        if not job.intervals:
            run.intervals = {}
        return run
    except Exception as exc:  # reported with its seed, not a crash of the whole run
        return Failure(
            job.key,
            job.scenario.name,
            job.seed,
            job.replication,
            f"{type(exc).__name__}: {exc}",
            traceback.format_exc(),
        )


class Executor:
    """Runs jobs and yields ``(job.key, result)`` in the order they finish (the result is what
    :func:`run_job` returns: a run, a reduction or a :class:`Failure`).

    Use as a context manager; one executor may run several batches (sequential stopping keeps
    the same pool). Callers that need an order sort by key, so the order of completion never
    reaches a figure.
    """

    kind: str = ""
    workers: int = 1

    def run(self, jobs: Iterable[Job]) -> Iterator[tuple[object, Any]]:
        raise NotImplementedError

    def close(self) -> None:
        """Release workers (idempotent)."""

    def abort(self) -> None:
        """Release workers at once, their jobs unfinished (after Ctrl-C or an error)."""
        self.close()

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class SerialExecutor(Executor):
    """Runs every job in this process, one after the other (debugging, profiling, tiny runs)."""

    kind = "serial"

    def run(self, jobs: Iterable[Job]) -> Iterator[tuple[object, Any]]:
        for job in jobs:
            yield job.key, run_job(job)


def _exit_with_parent(every_s: float = 0.5) -> None:
    """Pool-worker initializer: exit when the process that started this worker dies (then the
    worker is re-parented), so a SIGKILLed sweep leaves no orphan workers waiting for jobs.
    Ctrl-C (SIGINT, sent to the whole process group) is the parent's to handle: it stops the
    workers, which would otherwise each print a KeyboardInterrupt traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()  # the main process (fork) or the fork server, which dies with it

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every_s)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


class ProcessExecutor(Executor):
    """A pool of local processes (default: one per core), started on first use."""

    kind = "processes"

    def __init__(self, workers: int | None = None):
        self.workers = default_workers() if workers is None else max(1, int(workers))
        self._pool: ProcessPoolExecutor | None = None

    def run(self, jobs: Iterable[Job]) -> Iterator[tuple[object, Any]]:
        jobs = list(jobs)
        if self.workers == 1 or len(jobs) <= 1:  # a pool would only add start-up time
            yield from SerialExecutor().run(jobs)
            return
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, initializer=_exit_with_parent
            )
        # Keep at most 2 jobs per worker in flight: results come back steadily and a killed
        # sweep has not pickled thousands of scenarios into the queue.
        pending: dict = {}
        todo = iter(jobs)
        try:
            while True:
                while len(pending) < 2 * self.workers:
                    job = next(todo, None)
                    if job is None:
                        break
                    pending[self._pool.submit(run_job, job)] = job.key
                if not pending:
                    return
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield pending.pop(future), future.result()
        finally:
            for future in pending:
                future.cancel()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def abort(self) -> None:
        if self._pool is not None:  # workers ignore SIGINT: stop them, not wait for their jobs
            for process in (getattr(self._pool, "_processes", None) or {}).values():
                process.terminate()
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


class DaskExecutor(Executor):
    """A ``dask.distributed`` cluster: the scheduler at ``address``, or a new LocalCluster.

    Workers must be able to import :mod:`sim` (install the package where they run).
    """

    kind = "dask"

    def __init__(self, workers: int | None = None, address: str | None = None):
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError as exc:
            raise ExecutorError(
                "the dask executor needs dask.distributed: pip install 'sim[dask]' "
                f"(import failed: {exc})"
            ) from None
        self._cluster = None
        self._client: Client | None = None
        try:
            if address:
                self._client = Client(address, timeout="10s")
            else:
                n = default_workers() if workers is None else max(1, int(workers))
                self._cluster = LocalCluster(
                    n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0"
                )  # any free port
                self._client = Client(self._cluster)
        except (OSError, TimeoutError) as exc:
            self.close()
            raise ExecutorError(
                f"cannot connect to the Dask scheduler at {address}: {exc}"
            ) from None
        threads = self._client.nthreads()
        self.workers = max(1, sum(threads.values())) if threads else max(1, int(workers or 1))

    def run(self, jobs: Iterable[Job]) -> Iterator[tuple[object, Any]]:
        from dask.distributed import as_completed

        jobs = list(jobs)
        if not jobs:
            return
        client = self._client
        assert client is not None, "the executor is closed"
        futures = {client.submit(run_job, job, pure=False): job.key for job in jobs}
        try:
            for future in as_completed(futures):
                yield futures[future], future.result()
        finally:
            client.cancel([f for f in futures if not f.done()])

    def close(self) -> None:
        client, self._client = getattr(self, "_client", None), None
        if client is not None:
            client.close()
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def make_executor(
    kind: str | Executor | None = None, workers: int | None = None, address: str | None = None
) -> Executor:
    """The executor named ``kind`` (default ``processes``; ``dask`` when an address is given).

    An :class:`Executor` passed in is returned as is.
    """
    if isinstance(kind, Executor):
        return kind
    kind = kind or ("dask" if address else "processes")
    if address and kind != "dask":
        raise ExecutorError(f"--address goes with --executor dask, not {kind}")
    if kind == "serial":
        return SerialExecutor()
    if kind == "processes":
        return ProcessExecutor(workers)
    if kind == "dask":
        return DaskExecutor(workers, address)
    raise ExecutorError(f"unknown executor {kind!r}; choose one of {', '.join(EXECUTORS)}")


@contextmanager
def executor_scope(
    kind: str | Executor | None = None, workers: int | None = None, address: str | None = None
) -> Iterator[Executor]:
    """An executor for a ``with`` block: made here and closed at its end, or the caller's own
    :class:`Executor` (left open, so one pool can serve several calls)."""
    if isinstance(kind, Executor):
        yield kind
        return
    executor = make_executor(kind, workers, address)
    try:
        yield executor
    except BaseException:
        executor.abort()
        raise
    executor.close()


def run_all(
    executor: Executor,
    jobs: list[Job],
    progress: Callable[[int, int], None] | None = None,
    done: int = 0,
    total: int | None = None,
    on_result: Callable[[Any, Any], None] | None = None,
) -> dict:
    """Results of ``jobs`` keyed by ``job.key``, whatever order they finish in.

    ``progress(done + finished, total)`` and ``on_result(key, run)`` are called after each one.
    When some raise, the others still run to the end and then :class:`ReplicationError` names
    the failed ones.
    """
    total = len(jobs) if total is None else total
    out: dict = {}
    failures: list[Failure] = []
    for key, result in executor.run(jobs):
        if isinstance(result, Failure):
            failures.append(result)
        else:
            out[key] = result
            if on_result is not None:
                on_result(key, result)
        if progress is not None:
            progress(done + len(out) + len(failures), total)
    if failures:
        raise ReplicationError(failures, out)
    return out
