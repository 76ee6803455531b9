"""``sim fit``: a scenario from a center's history (call log or interval report), input modelling
before any planning decision (docs/fit.md)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from sim.cli.common import (
    REPLICATIONS,
    cli,
    duration_option,
    fail,
    out_folder,
    results_folder,
    write_report,
)
from sim.report.terminal import console as _console
from sim.scenario.errors import ScenarioError
from sim.scenario.kpis import format_ci, format_value


@cli.command()
@click.argument("log", type=click.Path())
@click.option("--map", "mapping", type=click.Path(), help="mapping file for other exports")
@click.option(
    "--interval",
    metavar="DURATION",
    help="interval of the profile [call log: 30min; interval report: its own spacing]",
)
@click.option("--out", type=click.Path(file_okay=False), help="results folder")
@click.option(
    "--within",
    "--service-time",
    "within",
    default="20s",
    show_default=True,
    metavar="DURATION",
    help="service-level threshold (an interval report's service_time column wins)",
)
@click.option(
    "--min-handle",
    default="3s",
    show_default=True,
    metavar="DURATION",
    help="answered calls with shorter talk are removed as ghost calls (0 keeps all)",
)
@click.option(
    "--redial-window",
    default="24h",
    show_default=True,
    metavar="DURATION",
    help="a customer's call within this of their previous call is a redial",
)
@click.option(
    "--call-log",
    "shape_log",
    type=click.Path(),
    help="interval report: a call log of the same center for the handle times' shape",
)
@click.option("--no-calibrate", is_flag=True, help="skip calibrating agents by simulation")
@click.option(
    "--replications",
    type=REPLICATIONS,
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
    shape_log,
    no_calibrate,
    replications,
    max_days,
    seed,
    workers,
    quiet,
    no_report,
) -> None:
    """Fit a scenario to the call log or interval report LOG (CSV or Parquet; docs/call-log.md,
    docs/interval-report.md, docs/fit.md), told apart by their columns.

    Writes scenario.yaml (runnable as is, every number commented with its source), fit.json
    (every estimate with sample size, estimator and interval), backtest.csv and report.html.
    """
    from sim.experiments.executors import default_workers
    from sim.fit import interval_report as ir
    from sim.fit.calllog import CallLogData, LogMapping, load_mapping, read_call_log
    from sim.fit.from_intervals import finish_report_fit, fit_report, handle_shapes
    from sim.fit.pipeline import FitOptions, finish_fit, fit_log, write_fit_folder

    step = duration_option(interval or "30min", "--interval")
    if step < 60 or 86400 % step:
        fail(f"error: --interval must divide a day and be at least 1min, got {interval}")
    try:
        data: ir.IntervalReport | CallLogData
        spec: LogMapping | None
        if ir.file_kind(log, mapping) == "intervals":
            spec = ir.load_report_mapping(mapping) if mapping else None
            data = ir.read_interval_report(log, spec, step if interval else None)
        else:
            spec = load_mapping(mapping) if mapping else None
            data = read_call_log(log, spec)
        if shape_log and not isinstance(data, ir.IntervalReport):
            fail(f"error: --call-log is for an interval report; {log} is a call log")
        beside = read_call_log(shape_log) if shape_log else None
    except ScenarioError as exc:
        fail(f"error: {exc}")
    report_kind = isinstance(data, ir.IntervalReport)
    options = FitOptions(
        interval=data.interval if isinstance(data, ir.IntervalReport) else step,
        within=duration_option(within, "--within"),
        min_handle=duration_option(min_handle, "--min-handle"),
        redial_window=duration_option(redial_window, "--redial-window"),
        tier_priority=dict(spec.tier_priority) if spec else {},
    )
    say = None if quiet else (lambda line: click.echo(line, err=True))
    folder = out_folder(out, f"fit-{Path(log).stem}", "sim fit", (log,))
    report = None
    with results_folder(folder) as staged:  # whole or absent: a failure blocks no rerun
        try:
            if isinstance(data, ir.IntervalReport):
                shapes = handle_shapes(beside, options.min_handle) if beside is not None else None
                name = Path(shape_log).name if shape_log else ""
                result = fit_report(data, options, shapes, name)
            else:
                result = fit_log(data, options)
            if say:
                what = "interval rows" if report_kind else "calls"
                say(f"read and fitted {len(data):,} {what} in {result.fit['fit_seconds']:.1f} s")
            (finish_report_fit if report_kind else finish_fit)(
                result,
                staged,
                calibrate=not no_calibrate,
                replications=replications,
                seed=seed,
                workers=workers or default_workers(),
                max_days=max_days,
                say=say,
            )
            write_fit_folder(staged, result)
        except (ValueError, ScenarioError) as exc:
            fail(f"error: {log}: {exc}")
        except MemoryError:
            fail(f"error: {log}: not enough memory to fit {len(data):,} rows; fit a shorter period")
        except OSError as exc:
            fail(f"error: cannot write results to {folder}: {exc.strerror or exc}")
        if not no_report:
            report = folder / write_report(staged, workers).name
    _print_fit(result.fit, folder, report)


def _print_fit(fit: dict, folder: Path, report: Path | None) -> None:
    table = Table(title=f"sim fit: {fit['log']['file']}: back-test over the log")
    heads = ("figure", "history", "model", "model 95% CI", "inside", "one run 95%", "within tol.")
    for col in heads:
        table.add_column(col, justify="left" if col == "figure" else "right")
    yes_no = {True: "yes", False: "[red]no[/red]", None: "–"}
    for name, e in fit.get("backtest", {}).get("overall", {}).items():
        table.add_row(
            name,
            format_value(e["history"], name),
            format_value(e["model"], name),
            format_ci(e["model_ci95"], name),
            yes_no[e["inside"] if e["model_ci95"] else None],
            format_ci(e.get("model_range95"), name),
            yes_no[e.get("within_tolerance")],
        )
    console = _console()
    console.print(table)
    said = fit.get("backtest", {}).get("verdict")
    if said:
        miss = said.startswith("MISS")
        console.print(said, style="red" if miss else None, markup=False, highlight=False)
    for line in fit.get("messages", []):
        console.print(line, markup=False, highlight=False)
    dropped = sum(fit["log"]["rows_dropped"].values())
    console.print(
        f"{fit['log']['calls_used']:,} calls used of {fit['log']['rows_read']:,} rows "
        f"({dropped:,} row{'' if dropped == 1 else 's'} not usable, "
        f"{fit['log']['short_calls_removed']:,} very short calls); "
        f"agents factor {fit['agents']['factor']:.3f}"
    )
    for line in fit["log"]["examples"]:
        console.print(f"not used: {line}", markup=False, highlight=False)
    console.print(f"results: {folder}")
    if report is not None:
        console.print(f"report: {report}")
