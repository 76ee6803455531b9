"""What every ``sim`` command shares: the click group, loading with clear errors, common
options, progress, staged results folders and the exit codes (0 ok, 1 a check failed, 2 bad
input)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sim.scenario.errors import ScenarioError
from sim.scenario.limits import MAX_REPLICATIONS

REPLICATIONS = click.IntRange(min=1, max=MAX_REPLICATIONS)
"""A replication count on the command line: a typo of a few zeros is an error (exit 2)."""

if TYPE_CHECKING:
    from sim.scenario.schema import Scenario


def os_error(exc: OSError) -> str:
    """An OSError in one line: the file and what went wrong (a link refused says why)."""
    from sim.report.files import LinkError

    if isinstance(exc, LinkError) or not exc.filename:
        return str(exc)
    return f"cannot write {exc.filename}: {exc.strerror or exc}"


def fail(message: str, code: int = 2) -> None:
    from sim.scenario.errors import inert

    click.echo(inert(message).encode("utf-8", "backslashreplace").decode("utf-8"), err=True)
    sys.exit(code)


def load(path: str) -> Scenario:
    try:
        return load_warning(path)
    except ScenarioError as exc:
        fail(f"error: {exc}")
        raise  # unreachable


def load_warning(path: str) -> Scenario:
    """load_scenario, printing its warnings (a duration without a unit) as ``warning: ...``."""
    import warnings

    from sim.scenario.loading import load_scenario
    from sim.scenario.pitfalls import ScenarioWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ScenarioWarning)
        try:
            return load_scenario(path)
        finally:
            for w in caught:
                if issubclass(w.category, ScenarioWarning):
                    click.echo(f"warning: {w.message}", err=True)


@contextmanager
def progress_bar(total: int, label: str, quiet: bool):
    """Runs done: a rich bar on a terminal, plain periodic lines otherwise, nothing when quiet.

    Yields ``advance(done, total)``; see :func:`sim.experiments.progress.progress`.
    """
    from sim.experiments.progress import progress

    with progress(total, label, quiet) as advance:
        yield advance


def _enter(resource) -> Callable:
    """A click callback entering ``resource(value)`` for the life of the command."""

    def callback(ctx: click.Context, _param, value):
        ctx.with_resource(resource(value))
        return value

    return callback


def input_options(fn: Callable) -> Callable:
    """Where input files may be read from, and how big a run may be (docs/inputs.md)."""
    from sim.scenario.confine import extra_roots
    from sim.scenario.limits import MAX_CALLS, call_limit

    fn = click.option(
        "--data-root",
        "data_root",
        multiple=True,
        type=click.Path(exists=True, file_okay=False),
        expose_value=False,
        callback=_enter(lambda dirs: extra_roots(*dirs, cwd_tree=True)),
        help="a folder input files may also read from (repeatable); by default only the "
        "folder of the file named here, and the current folder when that file lies in it",
    )(fn)
    return click.option(
        "--max-calls",
        type=click.IntRange(min=1),
        expose_value=False,
        callback=_enter(call_limit),
        help=f"largest expected number of first calls in one replication [default: {MAX_CALLS:,}]",
    )(fn)


def warn_overload(console, summary) -> None:
    """Calls still waiting at the end of the horizon: the load exceeded capacity."""
    backlog, offered = summary.kpis.get("open_calls"), summary.kpis.get("offered")
    if backlog is None or not backlog.mean or offered is None or not offered.mean:
        return
    share = backlog.mean / (offered.mean * summary.scenario.horizon.days)
    if share > 0.01:
        console.print(
            f"[yellow]warning:[/yellow] {backlog.mean:,.0f} calls still waiting at the end "
            f"({share:.1%} of those offered): the load exceeds capacity and the queue grows; "
            "the figures describe an overloaded system (see open_calls)"
        )


def out_folder(
    out: str | None, name: str, command: str | None = None, inputs: tuple[str, ...] = ()
) -> Path:
    """``--out``, or ``results/<name>/<UTC timestamp>/``; exit 2 at once (before any run) when
    it is a folder of files no sim command wrote, or one ``command`` did not write, or one
    holding an input file: writing would replace it."""
    from sim.report.files import default_out_dir
    from sim.report.staging import check_replaceable

    folder = Path(out) if out else default_out_dir(name)
    try:
        check_replaceable(folder, command, inputs)
    except FileExistsError as exc:
        fail(f"error: --out {folder}: {exc.strerror}")
    return folder


@contextmanager
def results_folder(folder: Path):
    """A staged results folder that replaces ``folder`` whole on success (exit 2 on OSError)."""
    from sim.report.staging import staged_folder

    try:
        with staged_folder(folder) as staged:
            yield staged
    except OSError as exc:
        fail(f"error: cannot write results to {folder}: {exc.strerror or exc}")


def kept_runs(folder: Path, scenarios: list[Scenario], seed: int, quiet: bool) -> list:
    """The stores of finished replications beside ``folder`` (:mod:`sim.experiments.checkpoint`;
    one per scenario, a subfolder each when there are several), saying how many a rerun
    resumes from. Runs of another scenario or seed found there are cleared."""
    from sim.experiments.checkpoint import RunStore, checkpoint_folder

    kept = checkpoint_folder(folder)
    several = len(scenarios) > 1
    stores = [
        RunStore(kept / f"{i}" if several else kept, sc, seed, kept)
        for i, sc in enumerate(scenarios)
    ]
    try:
        stored = sum(len(store.load()) for store in stores)
    except OSError as exc:
        fail(f"error: --out {folder}: {os_error(exc)}")
        raise  # unreachable
    if stored and not quiet:
        click.echo(f"resuming: {stored} finished replications kept in {kept}", err=True)
    return stores


def executor_options(fn: Callable) -> Callable:
    """Where the runs execute (every experiment command takes these)."""
    fn = click.option(
        "--address",
        metavar="tcp://HOST:PORT",
        help="Dask scheduler (with --executor dask; none starts a local cluster)",
    )(fn)
    return click.option(
        "--executor",
        type=click.Choice(["serial", "processes", "dask"]),
        help="serial, processes (default, all cores) or dask",
    )(fn)


def simulation_options(fn: Callable) -> Callable:
    """The options every simulating command takes."""
    for opt in reversed(
        [
            click.option("--out", type=click.Path(file_okay=False), help="results folder"),
            click.option(
                "--seed", type=click.IntRange(min=0), help="root seed (default: the file's)"
            ),
            click.option("--replications", type=REPLICATIONS, help="replications"),
            click.option(
                "--workers", type=click.IntRange(min=1), help="processes (default: cores)"
            ),
            click.option("--quiet", is_flag=True, help="no progress bar, only the final table"),
        ]
    ):
        fn = opt(fn)
    return fn


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sim")
def cli() -> None:
    """Simulate a contact center that sells goods delivered to the door."""


def write_report(folder: Path, workers: int | None = None) -> Path:
    """Build ``report.html`` in ``folder`` (figures rendered by ``workers`` processes, None: one
    per core); a folder that cannot hold one exits 2."""
    from sim.report.files import LinkError
    from sim.report.html import ReportError, build_report
    from sim.report.render import FigureError

    try:
        return build_report(folder, jobs=workers)
    except (ReportError, LinkError) as exc:
        fail(f"error: {exc}")
    except OSError as exc:
        fail(f"error: cannot write the report in {folder}: {exc.strerror or exc}")
    except FigureError as exc:  # e.g. figures/ cannot be written, in a worker or here
        fail(f"error: cannot write the report in {folder}: {exc}")
    raise AssertionError("unreachable")


@contextmanager
def experiment_errors(folder: Path | None = None):
    """Executor set-up failures and bad stopping rules are bad input: message and exit 2.
    Replications that raised: their seeds and tracebacks in ``folder``/failures.json, exit 1."""
    from sim.experiments.executors import ExecutorError, ReplicationError
    from sim.experiments.replication import StoppingRuleError
    from sim.model.callers import SimulationLimitError

    try:
        yield
    except (ExecutorError, StoppingRuleError, SimulationLimitError) as exc:  # serial runs
        fail(f"error: {exc}")
    except ReplicationError as exc:
        replication_failures(exc.failures, folder)
    except OSError as exc:  # finished replications kept beside the folder (a read-only disk)
        fail(f"error: {os_error(exc)}")


@contextmanager
def search_scope(folder, executor, workers, address, total: int, label: str, quiet: bool):
    """A planning search's error handling, executor and progress bar: yields (executor,
    advance)."""
    from sim.experiments.executors import executor_scope

    with (
        experiment_errors(folder),
        executor_scope(executor, workers, address) as ex,
        progress_bar(total, label, quiet) as advance,
    ):
        yield ex, advance


def replication_failures(failures: list, folder: Path | None) -> None:
    """Say which replications raised (seed, replication, error, first traceback), write them
    all to ``folder``/failures.json, exit 1."""
    loops = [f.error for f in failures if f.error.startswith("SimulationLimitError: ")]
    if loops:  # the scenario loops without progress: bad input, said without a traceback
        fail(f"error: {loops[0].split(': ', 1)[1]}")
    from sim.report.files import write_atomic

    where = ""
    if folder is not None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            data = [f.to_dict() for f in failures]
            write_atomic(folder / "failures.json", json.dumps(data, indent=2) + "\n")
            where = f"; every traceback in {folder / 'failures.json'}"
        except OSError:
            pass
    for f in failures[:10]:
        click.echo(
            f"error: replication {f.replication} (seed {f.seed}) of {f.scenario} raised {f.error}",
            err=True,
        )
    if len(failures) > 10:
        click.echo(f"error: ... and {len(failures) - 10} more replications", err=True)
    click.echo(failures[0].traceback.rstrip(), err=True)
    fail(f"error: {len(failures)} replication(s) failed{where}", 1)


def write_workbook(folder: Path) -> list[Path]:
    from sim.report.files import LinkError
    from sim.report.workbook import export_folder

    try:
        return export_folder(folder)
    except (ValueError, LinkError) as exc:  # a file of the folder is not what sim wrote
        fail(f"error: {exc}")
    except OSError as exc:
        fail(f"error: cannot write the workbook in {folder}: {exc.strerror or exc}")
    raise AssertionError("unreachable")


def duration_option(value: str, name: str) -> float:
    from sim.scenario.units import parse_duration

    try:
        return parse_duration(value)
    except ValueError as exc:
        fail(f"error: {name}: {exc}")
    raise AssertionError("unreachable")
