"""``sim run``, ``validate``, ``schema``, ``report`` and ``export``: one scenario and its results
folder."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.markup import escape

from sim.cli.common import (
    cli,
    executor_options,
    experiment_errors,
    fail,
    input_options,
    kept_runs,
    load,
    load_warning,
    out_folder,
    progress_bar,
    replication_failures,
    results_folder,
    simulation_options,
    warn_overload,
    write_report,
    write_workbook,
)
from sim.report.terminal import console as _console
from sim.report.terminal import print_run
from sim.scenario.errors import ScenarioError

if TYPE_CHECKING:
    from sim.scenario.schema import Scenario


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
    from sim.experiments.replication import MAX_REPLICATIONS, replicate
    from sim.report.files import write_folder

    scenario = load(file)
    rule = _rule(until) if until else None
    n = replications or (MAX_REPLICATIONS if rule else scenario.replications)
    folder = out_folder(out, scenario.name, "sim run", (file,))
    store = None
    if rule is None:  # finished replications kept beside the folder: a rerun resumes
        (store,) = kept_runs(folder, [scenario], scenario.seed if seed is None else seed, quiet)
    with (
        experiment_errors(folder),
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
    with results_folder(folder) as staged:
        write_folder(staged, summary.files())
        report = None if no_report else write_report(staged, workers)
        log_path = (
            _write_call_log(staged, scenario, summary.seed, call_log_format) if call_log else None
        )
        books = write_workbook(staged) if xlsx else []
    if store is not None:
        store.clear()
    print_run(_console(), summary, all_kpis)
    console = _console()
    warn_overload(console, summary)
    console.print(f"results: {escape(str(folder))}")
    if log_path is not None:
        console.print(f"call log: {escape(str(folder / log_path.name))}")
    for book in books:
        console.print(f"workbook: {escape(str(folder / book.relative_to(staged)))}")
    if report is not None:
        console.print(f"report: {escape(str(folder / report.name))}")
    if summary.failures:
        replication_failures(summary.failures, folder)
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
            load_warning(file)
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


@cli.command()
@click.argument("folder", type=click.Path())
def report(folder) -> None:
    """(Re)build report.html (and figures/) from the results folder FOLDER."""
    from sim.report.files import real_folder

    click.echo(f"report: {write_report(real_folder(folder))}")


@cli.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("--xlsx", is_flag=True, default=True, help="write results.xlsx (the default)")
def export(folder, xlsx) -> None:
    """Write results.xlsx in a results FOLDER (and in each scenario folder of a comparison):
    summary, intervals, daily, staffing and the other CSV files, with units in the headers."""
    from sim.report.files import real_folder

    written = write_workbook(real_folder(folder))
    if not written:
        from sim.report.staging import RESULT_FILES

        names = ", ".join(RESULT_FILES)
        fail(f"error: {folder}: none of {names} (what sim writes); is this a results folder?")
    for book in written:
        click.echo(f"workbook: {book}")


def _rule(text: str):
    from sim.experiments.replication import StoppingRule, StoppingRuleError

    try:
        return StoppingRule.parse(text)
    except StoppingRuleError as exc:
        fail(f"error: --until: {exc}")


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


def _write_call_log(folder: Path, scenario: Scenario, seed: int, fmt: str) -> Path:
    """Replication 0 again, in this process with its records (same streams: same calls)."""
    from sim.model.simulation import simulate
    from sim.records.call_log import call_log_table, encode_call_log
    from sim.report.files import write_atomic

    result = simulate(scenario, seed=seed, replication=0)
    table = call_log_table(result.records, scenario.horizon.start_weekday)
    path = folder / f"calls.{fmt}"
    try:
        write_atomic(path, encode_call_log(table, fmt))
        return path
    except OSError as exc:
        fail(f"error: cannot write {path}: {exc.strerror or exc}")
    raise AssertionError("unreachable")
