"""The ``sim`` command: parse, call the library, print. Exit 0 ok, 1 a check failed, 2 bad input."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.markup import escape
from rich.table import Table

from sim.report.terminal import console as _console
from sim.report.terminal import plans_table, print_run, with_unit
from sim.scenario.errors import ScenarioError
from sim.scenario.kpis import HEADLINE, format_ci, format_value, judge

if TYPE_CHECKING:
    from sim.scenario.schema import Scenario

__all__ = ["main"]


def _fail(message: str, code: int = 2) -> None:
    click.echo(message.encode("utf-8", "backslashreplace").decode("utf-8"), err=True)
    sys.exit(code)


def _load(path: str) -> Scenario:
    try:
        return _load_warning(path)
    except ScenarioError as exc:
        _fail(f"error: {exc}")
        raise  # unreachable


def _load_warning(path: str) -> Scenario:
    """load_scenario, printing its warnings (a duration without a unit) as ``warning: ...``."""
    import warnings

    from sim.scenario.pitfalls import ScenarioWarning
    from sim.scenario.schema import load_scenario

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
        callback=_enter(lambda dirs: extra_roots(*dirs)),
        help="a folder input files may also read from (repeatable); by default only the "
        "folder of the file named here",
    )(fn)
    return click.option(
        "--max-calls",
        type=click.IntRange(min=1),
        expose_value=False,
        callback=_enter(call_limit),
        help=f"largest expected number of first calls in one replication [default: {MAX_CALLS:,}]",
    )(fn)


def _warn_overload(console, summary) -> None:
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


@contextmanager
def _results_folder(folder: Path):
    """A staged results folder that replaces ``folder`` whole on success (exit 2 on OSError)."""
    from sim.report.staging import staged_folder

    try:
        with staged_folder(folder) as staged:
            yield staged
    except OSError as exc:
        _fail(f"error: cannot write results to {folder}: {exc.strerror or exc}")


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
            click.option("--replications", type=click.IntRange(min=1), help="replications"),
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


@cli.command()
@click.argument("file", type=click.Path())
@simulation_options
@input_options
@click.option("--all-kpis", is_flag=True, help="print every KPI, not only the spec's")
@click.option("--strict", is_flag=True, help="exit 1 when a target is missed")
@click.option("--no-report", is_flag=True, help="do not write report.html")
@click.option("--xlsx", is_flag=True, help="also write results.xlsx (see sim export)")
@click.option(
    "--until",
    metavar="RULE",
    help="replicate until e.g. 'service_level half-width < 0.005' "
    "(--replications is then the maximum, default 200)",
)
@executor_options
@click.option(
    "--call-log",
    "call_log",
    is_flag=True,
    help="also write replication 0's calls as a call log (docs/call-log.md): calls.parquet",
)
@click.option(
    "--call-log-format",
    type=click.Choice(["parquet", "csv"]),
    default="parquet",
    show_default=True,
    help="format of --call-log",
)
def run(
    file,
    out,
    seed,
    replications,
    workers,
    quiet,
    all_kpis,
    strict,
    no_report,
    xlsx,
    until,
    executor,
    address,
    call_log,
    call_log_format,
) -> None:
    """Run the replications of FILE, print the KPI table and write the results folder."""
    from sim.experiments.checkpoint import RunStore, checkpoint_folder
    from sim.experiments.replication import MAX_REPLICATIONS, replicate
    from sim.report.files import default_out_dir, write_folder

    scenario = _load(file)
    rule = _rule(until) if until else None
    n = replications or (MAX_REPLICATIONS if rule else scenario.replications)
    folder = Path(out) if out else default_out_dir(scenario.name)
    store = None
    if rule is None:  # finished replications kept beside the folder: a rerun resumes
        root_seed = scenario.seed if seed is None else seed
        store = RunStore(checkpoint_folder(folder), scenario, root_seed)
        stored = len(store.load())
        if stored and not quiet:
            click.echo(f"resuming: {stored} finished replications kept in {store.folder}", err=True)
    with (
        _experiment_errors(folder),
        progress_bar(n, f"{scenario.name}: replications", quiet) as advance,
    ):
        summary = replicate(
            scenario,
            replications=n,
            seed=seed,
            workers=workers,
            progress=advance,
            until=rule,
            executor=executor,
            address=address,
            store=store,
        )
    if summary.stopping is not None:
        _print_stopping(summary.stopping)
    with _results_folder(folder) as staged:
        write_folder(staged, summary.files())
        report = None if no_report else _write_report(staged)
        log_path = (
            _write_call_log(staged, scenario, summary.seed, call_log_format) if call_log else None
        )
        books = _export(staged) if xlsx else []
    if store is not None:
        store.clear()
    print_run(_console(), summary, all_kpis)
    console = _console()
    _warn_overload(console, summary)
    console.print(f"results: {escape(str(folder))}")
    if log_path is not None:
        console.print(f"call log: {escape(str(folder / log_path.name))}")
    for book in books:
        console.print(f"workbook: {escape(str(folder / book.relative_to(staged)))}")
    if report is not None:
        console.print(f"report: {escape(str(folder / report.name))}")
    if summary.failures:
        _replication_failures(summary.failures, folder)
    if strict and any(k.met is False for k in summary.kpis.values()):
        sys.exit(1)


@cli.command()
@click.argument("files", type=click.Path(), nargs=-1, required=True)
@input_options
def validate(files) -> None:
    """Check scenario FILES: print ok or every error; exit 0 or 2."""
    bad = False
    for file in files:
        try:
            _load_warning(file)
            click.echo(f"{file}: ok")
        except ScenarioError as exc:
            bad = True
            click.echo(str(exc), err=True)
    sys.exit(2 if bad else 0)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of scenario files (for editor completion and checks)."""
    from sim.scenario.schema import json_schema

    click.echo(json.dumps(json_schema(), indent=2))


def _write_report(folder: Path) -> Path:
    """Build ``report.html`` in ``folder``; a folder that cannot hold one exits 2."""
    from sim.report.html import ReportError, build_report

    try:
        return build_report(folder)
    except ReportError as exc:
        _fail(f"error: {exc}")
    except OSError as exc:
        _fail(f"error: cannot write the report in {folder}: {exc.strerror or exc}")
    raise AssertionError("unreachable")


@cli.command()
@click.argument("folder", type=click.Path())
def report(folder) -> None:
    """(Re)build report.html (and figures/) from the results folder FOLDER."""
    click.echo(f"report: {_write_report(Path(folder))}")


# --- experiments: stopping rules, compare, sweep -----------------------------------------------


@contextmanager
def _experiment_errors(folder: Path | None = None):
    """Executor set-up failures and bad stopping rules are bad input: message and exit 2.
    Replications that raised: their seeds and tracebacks in ``folder``/failures.json, exit 1."""
    from sim.experiments.executors import ExecutorError, ReplicationError
    from sim.experiments.replication import StoppingRuleError
    from sim.model.callers import SimulationLimitError

    try:
        yield
    except (ExecutorError, StoppingRuleError, SimulationLimitError) as exc:  # serial runs
        _fail(f"error: {exc}")
    except ReplicationError as exc:
        _replication_failures(exc.failures, folder)


@contextmanager
def _search_scope(folder, executor, workers, address, total: int, label: str, quiet: bool):
    """A planning search's error handling, executor and progress bar: yields (executor,
    advance)."""
    from sim.experiments.executors import executor_scope

    with (
        _experiment_errors(folder),
        executor_scope(executor, workers, address) as ex,
        progress_bar(total, label, quiet) as advance,
    ):
        yield ex, advance


def _replication_failures(failures: list, folder: Path | None) -> None:
    """Say which replications raised (seed, replication, error, first traceback), write them
    all to ``folder``/failures.json, exit 1."""
    loops = [f.error for f in failures if f.error.startswith("SimulationLimitError: ")]
    if loops:  # the scenario loops without progress: bad input, said without a traceback
        _fail(f"error: {loops[0].split(': ', 1)[1]}")
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
    _fail(f"error: {len(failures)} replication(s) failed{where}", 1)


def _rule(text: str):
    from sim.experiments.replication import StoppingRule, StoppingRuleError

    try:
        return StoppingRule.parse(text)
    except StoppingRuleError as exc:
        _fail(f"error: --until: {exc}")


def _print_stopping(info: dict) -> None:
    widths = ", ".join(
        f"{k}: {'-' if v is None else f'{v:.4g}'}" for k, v in info["widths"].items()
    )
    if info["reached"]:
        click.echo(
            f"stopping rule met after {info['replications']} replications "
            f"({info['rule']}; now {widths})"
        )
    else:
        click.echo(
            f"stopping rule NOT met within the maximum of {info['max_replications']} "
            f"replications ({info['rule']}; reached {widths})"
        )


def comparison_tables(comparison, all_kpis: bool = False) -> list[Table]:
    """Per alternative B, B − A against the baseline A: both means, the difference, its 95% CI,
    whether it is significant (and then better or worse), and VR, the variance reduction of
    common random numbers."""
    base = comparison.labels[0]
    tables = []
    for label, diffs in comparison.differences.items():
        table = Table(
            title=f"{escape(label)} − {escape(base)}: {comparison.replications} paired "
            "replications, "
            f"seed {comparison.seed}"
        )
        table.add_column("KPI", overflow="fold")
        for col in ("A", "B", "B − A", "95% CI", "sig.", "VR"):
            table.add_column(col, justify="right")
        for name, d in diffs.items():
            if not all_kpis and name not in HEADLINE:
                continue
            ci = format_ci(d.ci95, name, signed=True, with_unit=False)
            sig = {True: "[bold]yes[/bold]", False: "no", None: "-"}[d.significant]
            if d.significant:
                sig += {"better": ", better", "worse": ", [red]worse[/red]"}.get(
                    judge(name, d.mean), ""
                )
            vr = d.variance_reduction
            vr_text = "-" if vr is None else ("∞" if vr == float("inf") else f"{vr:.1f}")
            table.add_row(
                with_unit(name),
                format_value(d.baseline_mean, name, with_unit=False),
                format_value(d.alternative_mean, name, with_unit=False),
                format_value(d.mean, name, signed=True, with_unit=False),
                ci,
                sig,
                vr_text,
            )
        tables.append(table)
    return tables


@cli.command()
@click.argument("files", type=click.Path(), nargs=-1, required=True)
@simulation_options
@input_options
@executor_options
@click.option("--all-kpis", is_flag=True, help="print every KPI, not only the spec's")
@click.option("--no-report", is_flag=True, help="do not write report.html")
@click.option("--xlsx", is_flag=True, help="also write a results.xlsx per folder")
def compare(
    files, out, seed, replications, workers, quiet, executor, address, all_kpis, no_report, xlsx
) -> None:
    """Run FILES with the same seeds; print each one minus the first, with 95% intervals.

    Writes comparison.json, comparison.csv and a folder per scenario (summary.json,
    replications.csv, ...). VR is the variance reduction of common random numbers: the
    variance the difference would have with independent seeds over the variance it has.
    """
    from sim.experiments.comparison import compare as run_compare
    from sim.experiments.comparison import scenario_labels
    from sim.planning.sizing import plan_costs
    from sim.report.files import default_out_dir, write_folder
    from sim.scenario.diff import changes_by_label

    if len(files) < 2:
        _fail("error: compare needs at least two scenario files")
    scenarios = [_load(f) for f in files]
    n = replications or scenarios[0].replications
    labels = "_vs_".join(scenario_labels(scenarios))
    folder = Path(out) if out else default_out_dir("compare_" + labels)
    with (
        _experiment_errors(folder),
        progress_bar(n * len(scenarios), "compare: runs", quiet) as advance,
    ):
        comparison = run_compare(
            scenarios,
            replications=n,
            seed=seed,
            workers=workers,
            progress=advance,
            executor=executor,
            address=address,
        )
    extra = {
        "plans": plan_costs(comparison),
        "changes": changes_by_label(scenarios, comparison.labels),
        "currency": scenarios[0].currency,
    }
    with _results_folder(folder) as staged:
        files = comparison.files()
        files["comparison.json"] = {**files["comparison.json"], **extra}
        write_folder(staged, files)
        report = None if no_report else _write_report(staged)
        books = _export(staged) if xlsx else []
    console = _console()
    console.print(f"A = {escape(comparison.labels[0])} (baseline)")
    for label, change in extra["changes"].items():
        console.print(f"{label} changes: {change['summary']}", markup=False, highlight=False)
    pairs = zip(comparison.labels, comparison.summaries, strict=True)
    attained = {label: summary.attainment() for label, summary in pairs}
    console.print(plans_table(extra["plans"], scenarios[0].currency, attained))
    for table in comparison_tables(comparison, all_kpis):
        console.print(table)
    console.print(
        "sig.: the 95% CI of B − A excludes 0 (better or worse, for a KPI with a direction). "
        "VR: variance reduction of common random numbers, (s²A + s²B) / s²(B − A), "
        "the variance the difference would have with independent seeds over the variance it "
        "has (∞: B − A never varies)."
    )
    console.print(f"results: {escape(str(folder))}")
    if report is not None:
        console.print(f"report: {escape(str(folder / report.name))}")
    for book in books:
        console.print(f"workbook: {escape(str(folder / book.relative_to(staged)))}")


def _export(folder: Path) -> list[Path]:
    from sim.report.workbook import export_folder

    try:
        return export_folder(folder)
    except OSError as exc:
        _fail(f"error: cannot write the workbook in {folder}: {exc.strerror or exc}")
    raise AssertionError("unreachable")


@cli.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("--xlsx", is_flag=True, default=True, help="write results.xlsx (the default)")
def export(folder, xlsx) -> None:
    """Write results.xlsx in a results FOLDER (and in each scenario folder of a comparison):
    summary, intervals, daily, staffing and the other CSV files, with units in the headers."""
    written = _export(Path(folder))
    if not written:
        _fail(f"error: {folder}: no summary.json or CSV files; is this a results folder?")
    for book in written:
        click.echo(f"workbook: {book}")


def sweep_table(result, sweep, kpis: list[str]) -> Table:
    """Per point: the parameters and each chosen KPI's mean with its 95% interval."""
    table = Table(
        title=f"{escape(sweep.experiment.name)}: {len(sweep.points)} points x "
        f"{result.points['replications'][0] if sweep.points else 0} "
        f"replications, seed {sweep.seed}; mean ± 95% half-width"
    )
    table.add_column("point", justify="right")
    short = [name.rsplit(".", 1)[-1] for name in sweep.parameters]
    for name, tail in zip(sweep.parameters, short, strict=True):
        table.add_column(tail if short.count(tail) == 1 else name, justify="right", overflow="fold")
    shown = [k for k in kpis if f"{k}_mean" in result.points]
    for k in shown:
        table.add_column(with_unit(k), justify="right", overflow="fold")
    for i in range(len(sweep.points)):
        cells = [str(i)] + [str(result.points[p][i]) for p in sweep.parameters]
        for k in shown:
            mean, lo, hi = (result.points[f"{k}_{s}"][i] for s in ("mean", "ci_low", "ci_high"))
            half = "" if lo is None else f" ± {format_value((hi - lo) / 2, k, with_unit=False)}"
            cells.append(format_value(mean, k, with_unit=False) + half)
        table.add_row(*map(escape, cells))
    return table


@cli.command()
@click.argument("experiment", type=click.Path())
@simulation_options
@input_options
@executor_options
@click.option("--no-report", is_flag=True, help="do not write report.html")
@click.option(
    "--allow-file-address",
    is_flag=True,
    help="connect to the Dask scheduler the experiment file names (executor.address)",
)
def sweep(
    experiment,
    out,
    seed,
    replications,
    workers,
    quiet,
    executor,
    address,
    no_report,
    allow_file_address,
) -> None:
    """Run the parameter sweep of the EXPERIMENT file (see docs/experiments.md).

    Every finished run is stored at once under OUT/runs/; run the same command with the same
    --out again to resume a sweep that was stopped. Writes results.parquet (one row per point
    and replication) and points.csv (mean and 95% CI per point).
    """
    from sim.experiments.sweep import load_experiment, run_sweep
    from sim.report.files import default_out_dir

    try:
        loaded = load_experiment(experiment, seed=seed)
    except ScenarioError as exc:
        _fail(f"error: {exc}")
    folder = Path(out) if out else default_out_dir(loaded.experiment.name)
    reps = replications or loaded.experiment.replications
    try:
        with (
            _experiment_errors(folder),
            progress_bar(
                len(loaded.points) * reps, f"{loaded.experiment.name}: runs", quiet
            ) as advance,
        ):
            result = run_sweep(
                loaded,
                folder,
                replications=reps,
                executor=executor,
                workers=workers,
                address=address,
                progress=advance,
                trust_file_address=allow_file_address,
            )
    except ScenarioError as exc:
        _fail(f"error: {exc}")
    except OSError as exc:
        _fail(f"error: cannot write results to {folder}: {exc.strerror or exc}")
    kpis = loaded.experiment.kpis or [
        "service_level",
        *(k for k in loaded.base.targets if k != "service_level"),
    ]
    console = _console()
    console.print(sweep_table(result, loaded, kpis))
    console.print(
        f"{result.new} runs made, {result.runs - result.new} found stored; "
        f"results: {escape(str(folder))}"
    )
    if not no_report:
        console.print(f"report: {_write_report(folder)}")


# --- regression check of model outputs ---------------------------------------------------------


@cli.command()
@click.option(
    "--baselines",
    type=click.Path(file_okay=False),
    default="results/baselines",
    show_default=True,
    help="folder of baseline files (<scenario stem>.json)",
)
@click.option(
    "--scenarios",
    type=click.Path(file_okay=False),
    default="scenarios",
    show_default=True,
    help="folder of the bundled scenarios (*.yaml)",
)
@click.option("--update", is_flag=True, help="re-make the baselines and say what moved")
@click.option("--exact", is_flag=True, help="same seeds as the baseline; expect identical numbers")
@click.option(
    "--seed", type=click.IntRange(min=0), help="seed of the re-run (default: the baseline's + 1)"
)
@click.option("--workers", type=click.IntRange(min=1), help="processes (default: cores)")
@click.option("--quiet", is_flag=True, help="no progress bar, only the final tables")
def regress(baselines, scenarios, update, exact, seed, workers, quiet) -> None:
    """Re-run the bundled scenarios, test their KPIs against the baselines; exit 1 on a change."""
    from sim.experiments.replication import default_workers
    from sim.quality import regress as rg

    workers = workers or default_workers()
    bar = lambda total, label: progress_bar(total, label, quiet)  # noqa: E731
    console = _console()
    try:
        if update:
            for line in rg.iter_moved(
                rg.update(Path(scenarios), Path(baselines), workers=workers, progress=bar)
            ):
                console.print(line, markup=False, highlight=False)
            return
        results = rg.check(
            Path(scenarios), Path(baselines), exact=exact, seed=seed, workers=workers, progress=bar
        )
    except rg.RegressError as exc:
        _fail(f"error: {exc}")
    for item in results:
        console.print(rg.regress_table(item))
        for note in item.notes:
            console.print(f"note: {note}", markup=False, highlight=False)
    failed = [item.name for item in results if item.failed]
    tested = sum(len(r.tests) for item in results for r in item.rows)
    exact_n = sum(len(item.rows) for item in results if item.mode == "exact")
    console.print(
        f"{len(results)} scenarios, {tested} statistical tests, {exact_n} exact "
        "comparisons: " + (f"CHANGED: {', '.join(failed)}" if failed else "no significant change"),
        markup=False,
        highlight=False,
    )
    sys.exit(1 if failed else 0)


# --- staffing (issue 6) ------------------------------------------------------------------------


@cli.command()
@click.option(
    "--rate",
    required=True,
    metavar="RATE",
    help="arrival rate: 200/h, 3.5/min, 0.1/s, 4800/d (a bare number is per hour)",
)
@click.option("--aht", required=True, metavar="DURATION", help="mean handle time, e.g. 3min")
@click.option(
    "--agents",
    metavar="N|A..B",
    help="agents on duty: figures for this many, or a table over a range (10..20)",
)
@click.option(
    "--patience",
    metavar="DURATION",
    help="mean patience (exponential): Erlang A; without it Erlang C (nobody abandons)",
)
@click.option(
    "--within", default="20s", show_default=True, metavar="DURATION", help="service-level threshold"
)
@click.option("--target", type=float, help="service level to reach (gives agents_required)")
@click.option("--abandon-target", type=float, help="abandon rate not to exceed")
@click.option("--max-occupancy", type=float, help="occupancy not to exceed")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
def erlang(
    rate, aht, agents, patience, within, target, abandon_target, max_occupancy, as_json
) -> None:
    """Erlang C / Erlang A calculator: service level, abandonment, ASA, occupancy, and the
    smallest number of agents meeting --target / --abandon-target / --max-occupancy."""
    import math

    from sim.planning.calculator import (
        agents_range,
        duration_arg,
        erlang_calculator,
        erlang_table,
        parse_rate,
    )
    from sim.planning.staffing_tables import erlang_range_table

    if agents is None and target is None and abandon_target is None and max_occupancy is None:
        _fail("error: give --agents, or a target (--target, --abandon-target, --max-occupancy)")
    try:
        span = agents_range(agents) if agents is not None else None
        lam = parse_rate(rate)
        args = (
            duration_arg(aht, "aht"),
            duration_arg(patience, "patience") if patience is not None else math.inf,
            duration_arg(within, "within"),
        )
        single = span is not None and len(span) == 1
        result = erlang_calculator(
            lam, args[0], span[0] if single else None, args[1], args[2], target,
            abandon_target, max_occupancy,
        )  # fmt: skip
        rows = erlang_table(lam, args[0], span, args[1], args[2]) if span and not single else None
    except ValueError as exc:
        _fail(f"error: {exc}")
    if rows is not None:
        result["table"] = rows
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    title = (
        f"{result['model'].replace('_', ' ').title()}: "
        f"{result['rate_per_hour']:g} calls/h x {result['aht']:g} s = "
        f"{result['load']:.3g} Erlang"
    )
    console = _console()
    if rows is not None:
        console.print(erlang_range_table(title, rows, within, target, abandon_target))
    else:
        table = Table(title=title)
        table.add_column("figure")
        table.add_column("value", justify="right")
        for key, label, pattern in (
            ("agents", "agents", "{:d}"),
            ("service_level", f"service level ({within})", "{:.2%}"),
            ("abandon_rate", "abandon rate", "{:.2%}"),
            ("asa", "ASA", "{:.1f} s"),
            ("mean_wait", "mean wait", "{:.1f} s"),
            ("occupancy", "occupancy", "{:.1%}"),
            ("prob_wait", "probability of waiting", "{:.2%}"),
            ("agents_required", "agents required", "{:d}"),
        ):
            if key in result:
                table.add_row(label, pattern.format(result[key]))
        console.print(table)
    if "agents_required" in result and span is not None and span[-1] < result["agents_required"]:
        console.print(
            f"[red]{span[-1]} agents miss the targets[/red]: "
            f"{result['agents_required']} agents required"
        )


@cli.command()
@click.argument("file", type=click.Path())
@simulation_options
@input_options
@click.option(
    "--max-iterations",
    type=click.IntRange(min=1),
    default=6,
    show_default=True,
    help="rounds of the search (each simulates the plan and the plan one agent lower)",
)
@click.option(
    "--delta",
    type=click.FloatRange(0, 0.5),
    default=0.01,
    show_default=True,
    help="indifference zone: a level not significantly below target - delta may be accepted",
)
@click.option(
    "--verify",
    "verify",
    type=click.IntRange(min=0),
    help="fresh replications checking the result (default: --replications; 0: no check)",
)
@click.option("--no-pool", is_flag=True, help="one day type per weekday, even if identical")
@click.option(
    "--max-occupancy",
    type=click.FloatRange(0, 1, min_open=True),
    help="occupancy not to exceed (default: the scenario's occupancy target)",
)
@click.option(
    "--shifts",
    "shifts_file",
    type=click.Path(),
    help="shift templates (docs/staffing.md): also choose shifts covering the staffing",
)
@click.option("--no-report", is_flag=True, help="do not write report.html")
@executor_options
def staff(
    file,
    out,
    seed,
    replications,
    workers,
    quiet,
    max_iterations,
    delta,
    verify,
    no_pool,
    max_occupancy,
    shifts_file,
    no_report,
    executor,
    address,
) -> None:
    """Staffing per group, day type and interval meeting FILE's service-level, abandonment (and
    occupancy) targets, found by simulation and checked with fresh seeds (docs/staffing.md).
    Writes staffing.yaml (an `agents:` section), staffing.csv, staffing.json and report.html to
    the results folder (--out) after every round; rerun into the same --out to resume."""
    from sim.planning.staffing import staff as run_staff
    from sim.planning.staffing_files import (
        fingerprint,
        load_search,
        save_search,
        write_staffing_folder,
    )
    from sim.planning.staffing_tables import staffing_table
    from sim.report.files import default_out_dir

    scenario = _load(file)
    templates = None
    if shifts_file is not None:
        from sim.planning.shifts import load_templates

        try:
            templates = load_templates(shifts_file, scenario)
        except ScenarioError as exc:
            _fail(f"error: {exc}")
    say = None if quiet else (lambda line: click.echo(line, err=True))
    folder = Path(out) if out else default_out_dir(f"{scenario.name}-staffing")
    reps = replications or scenario.replications
    key = fingerprint(
        scenario,
        seed=scenario.seed if seed is None else seed,
        replications=reps,
        delta=delta,
        pool=not no_pool,
        max_occupancy=max_occupancy,
    )
    resume = load_search(folder, key)
    if resume is not None and say:
        say(f"resuming the search saved in {folder} after round {resume.round}")

    def checkpoint(partial, state) -> None:
        try:
            save_search(folder, state, key)
            write_staffing_folder(folder, partial)
        except OSError as exc:
            _fail(f"error: cannot write results to {folder}: {exc.strerror or exc}")

    schedule = None
    total = reps * (2 + max_iterations)
    label = f"{scenario.name}: staffing runs"
    with _search_scope(folder, executor, workers, address, total, label, quiet) as (ex, advance):
        try:
            result = run_staff(
                scenario,
                seed=seed,
                replications=reps,
                executor=ex,
                max_iterations=max_iterations,
                max_occupancy=max_occupancy,
                base_dir=Path(file).parent,
                progress=say,
                advance=advance,
                delta=delta,
                pool_days=not no_pool,
                verify_replications=verify,
                checkpoint=checkpoint,
                resume=resume,
            )
            if templates is not None:
                from sim.planning.shifts import schedule_shifts

                schedule = schedule_shifts(
                    result, templates, ex, base_dir=Path(file).parent, advance=advance
                )
        except ValueError as exc:
            _fail(f"error: {exc}")
    with _results_folder(folder) as staged:
        write_staffing_folder(staged, result, schedule)
        report = None if no_report else _write_report(staged)
    console = _console()
    console.print(staffing_table(result))
    state = (
        "every slot decided"
        if result.converged
        else f"budget spent: {int((~result.decided & result.measured_slots()).sum())} slots "
        "undecided (more --max-iterations or --replications)"
    )
    console.print(
        f"{result.agent_hours():,.1f} scheduled agent-hours over the measured days "
        f"(Erlang: {result.agent_hours(result.erlang_levels):,.1f}); {result.rounds} rounds, "
        f"{state}; {result.simulated + result.verify_replications} replications simulated in "
        f"{result.elapsed_s:.1f} s"
    )
    for note in result.types.notes:
        console.print(note)
    if schedule is not None:
        console.print(
            f"shifts: {schedule.paid_hours:,.1f} paid hours "
            f"({schedule.over_hours:,.1f} agent-hours over the requirement); "
            f"intervals meeting the targets with them: {schedule.met}/{schedule.slots} "
            f"(after {schedule.repairs} repair round(s))"
        )
    console.print(f"results: {escape(str(folder))}")
    if report is not None:
        console.print(f"report: {escape(str(folder / report.name))}")


@cli.command()
@click.argument("file", type=click.Path())
@simulation_options
@input_options
@click.option(
    "--max-passes",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="rounds over the resources of the coordinate search",
)
@executor_options
def size(file, out, seed, replications, workers, quiet, max_passes, executor, address) -> None:
    """Couriers per own channel, courier-company daily capacity and back-office staff meeting
    FILE's delivery_on_time, delivery_success and back_office_on_time targets at the lowest
    daily cost (docs/staffing.md). Writes sizing.yaml, sizing.csv and sizing.json."""
    from sim.planning.sizing import FULFILMENT_TARGETS, write_sizing_folder
    from sim.planning.sizing import size as run_size
    from sim.report.files import default_out_dir

    scenario = _load(file)
    say = None if quiet else (lambda line: click.echo(line, err=True))
    folder = Path(out) if out else default_out_dir(f"{scenario.name}-sizing")
    reps = replications or scenario.replications
    label = f"{scenario.name}: sizing runs"
    with _search_scope(folder, executor, workers, address, reps, label, quiet) as (ex, advance):
        try:
            result = run_size(
                scenario,
                seed=seed,
                replications=replications,
                executor=ex,
                max_passes=max_passes,
                base_dir=Path(file).parent,
                progress=say,
                advance=advance,
            )
        except ValueError as exc:
            _fail(f"error: {exc}")
    with _results_folder(folder) as staged:
        write_sizing_folder(staged, result)
    table = Table(
        title=f"{escape(scenario.name)}: fulfilment sizing ({result.replications} "
        f"replications a point, seed {result.seed})"
    )
    for col in ("", "scenario", "sized"):
        table.add_column(col, justify="left" if not col else "right")
    for i, c in enumerate(result.coords):
        table.add_row(escape(c.label), str(result.start.values[i]), str(result.best.values[i]))
    table.add_row("daily cost", f"{result.start.cost:,.1f}", f"{result.best.cost:,.1f}")
    for k in FULFILMENT_TARGETS:
        if k in scenario.targets:
            a, b = result.start.kpis.get(k), result.best.kpis.get(k)
            table.add_row(k, format_value(a, k), format_value(b, k))
    console = _console()
    console.print(table)
    for k, v in result.unreachable.items():
        console.print(
            f"[red]{k}[/red] not reachable by these resources (best seen "
            f"{format_value(v, k)}); sized for the other targets"
        )
    console.print(
        f"{len(result.evaluations)} points x {result.replications} replications in "
        f"{result.elapsed_s:.1f} s; results: {folder}"
    )


# --- call logs: sim run --call-log, sim fit (issue 13) ------------------------------------------


def _write_call_log(folder: Path, scenario: Scenario, seed: int, fmt: str) -> Path:
    """Replication 0 again, in this process with its records (same streams: same calls)."""
    from sim.model.call_log import call_log_table, encode_call_log
    from sim.model.simulation import simulate
    from sim.report.files import write_atomic

    result = simulate(scenario, seed=seed, replication=0)
    table = call_log_table(result.records, scenario.horizon.start_weekday)
    path = folder / f"calls.{fmt}"
    try:
        write_atomic(path, encode_call_log(table, fmt))
        return path
    except OSError as exc:
        _fail(f"error: cannot write {path}: {exc.strerror or exc}")
    raise AssertionError("unreachable")


def _duration_option(value: str, name: str) -> float:
    from sim.scenario.units import parse_duration

    try:
        return parse_duration(value)
    except ValueError as exc:
        _fail(f"error: {name}: {exc}")
    raise AssertionError("unreachable")


@cli.command()
@click.argument("log", type=click.Path())
@click.option("--map", "mapping", type=click.Path(), help="mapping file for other exports")
@click.option("--interval", default="30min", show_default=True, help="interval of the profile")
@click.option("--out", type=click.Path(file_okay=False), help="results folder")
@click.option("--within", default="20s", show_default=True, help="service-level threshold")
@click.option(
    "--min-handle",
    default="3s",
    show_default=True,
    help="answered calls with shorter talk are removed as ghost calls (0 keeps all)",
)
@click.option(
    "--redial-window",
    default="24h",
    show_default=True,
    help="a customer's call within this of their previous call is a redial",
)
@click.option("--no-calibrate", is_flag=True, help="skip calibrating agents by simulation")
@click.option(
    "--replications",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="replications per calibration point and for the back-test",
)
@click.option(
    "--max-days",
    type=click.IntRange(min=1),
    default=28,
    show_default=True,
    help="days simulated by the calibration and the back-test",
)
@click.option("--seed", type=click.IntRange(min=0), default=1, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), help="processes (default: cores)")
@click.option("--quiet", is_flag=True, help="no progress lines")
@click.option("--no-report", is_flag=True, help="do not write report.html")
def fit(
    log,
    mapping,
    interval,
    out,
    within,
    min_handle,
    redial_window,
    no_calibrate,
    replications,
    max_days,
    seed,
    workers,
    quiet,
    no_report,
) -> None:
    """Fit a scenario to the call log LOG (CSV or Parquet; docs/call-log.md, docs/fit.md).

    Writes scenario.yaml (runnable as is, every number commented with its source), fit.json
    (every estimate with sample size, estimator and interval), backtest.csv and report.html.
    """
    from sim.experiments.executors import default_workers
    from sim.planning.fit.pipeline import FitOptions, finish_fit, fit_log, write_fit_folder
    from sim.report.files import default_out_dir
    from sim.scenario.calllog import load_mapping, read_call_log

    step = _duration_option(interval, "--interval")
    if step < 60 or 86400 % step:
        _fail(f"error: --interval must divide a day and be at least 1min, got {interval}")
    try:
        spec = load_mapping(mapping) if mapping else None
        data = read_call_log(log, spec)
    except ScenarioError as exc:
        _fail(f"error: {exc}")
    options = FitOptions(
        interval=step,
        within=_duration_option(within, "--within"),
        min_handle=_duration_option(min_handle, "--min-handle"),
        redial_window=_duration_option(redial_window, "--redial-window"),
        tier_priority=dict(spec.tier_priority) if spec else {},
    )
    say = None if quiet else (lambda line: click.echo(line, err=True))
    folder = Path(out) if out else default_out_dir(f"fit-{Path(log).stem}")
    try:
        result = fit_log(data, options)
        if say:
            say(f"read and fitted {len(data):,} calls in {result.fit['fit_seconds']:.1f} s")
        folder.mkdir(parents=True, exist_ok=True)
        finish_fit(
            result,
            folder,
            calibrate=not no_calibrate,
            replications=replications,
            seed=seed,
            workers=workers or default_workers(),
            max_days=max_days,
            say=say,
        )
        write_fit_folder(folder, result)
    except (ValueError, ScenarioError) as exc:
        _fail(f"error: {log}: {exc}")
    except OSError as exc:
        _fail(f"error: cannot write results to {folder}: {exc.strerror or exc}")
    report = None
    if not no_report:
        from sim.report.fit_report import build_fit_report

        report = build_fit_report(folder)
    _print_fit(result.fit, folder, report)


def _print_fit(fit: dict, folder: Path, report: Path | None) -> None:
    table = Table(title=f"sim fit: {fit['log']['file']}: back-test over the log")
    for col in ("figure", "history", "model", "model 95% CI", "inside"):
        table.add_column(col, justify="left" if col == "figure" else "right")
    for name, e in fit.get("backtest", {}).get("overall", {}).items():
        ci = e["model_ci95"]
        table.add_row(
            name,
            format_value(e["history"], name),
            format_value(e["model"], name),
            format_ci(ci, name),
            "yes" if e["inside"] else "[red]no[/red]",
        )
    console = _console()
    console.print(table)
    dropped = sum(fit["log"]["rows_dropped"].values())
    console.print(
        f"{fit['log']['calls_used']:,} calls used of {fit['log']['rows_read']:,} rows "
        f"({dropped:,} rows not usable, {fit['log']['short_calls_removed']:,} very short calls); "
        f"agents factor {fit['agents']['factor']:.3f}"
    )
    for line in fit["log"]["examples"]:
        console.print(f"not used: {line}", markup=False, highlight=False)
    console.print(f"results: {folder}")
    if report is not None:
        console.print(f"report: {report}")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``sim`` console script."""
    try:
        cli.main(args=argv, prog_name="sim", standalone_mode=True)
    except ScenarioError as exc:  # raised from deeper layers (e.g. experiment files)
        _fail(f"error: {exc}")


if __name__ == "__main__":  # pragma: no cover
    main()
