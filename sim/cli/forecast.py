"""``sim forecast``: volumes for the days ahead from a history, back-tested, with intervals and
special days, written as a results folder with a scenario to plan with (docs/forecast.md)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import click
from rich.table import Table

from sim.cli.common import cli, duration_option, fail, load, out_folder, results_folder
from sim.report.terminal import console as _console
from sim.scenario.errors import ScenarioError

_HORIZON = re.compile(r"^\s*([0-9]{1,4})\s*(d|day|days|w|week|weeks)\s*$")


def horizon_days(value: str) -> int:
    """``--horizon``: whole days or weeks (``14d``, ``2w``)."""
    m = _HORIZON.match(value)
    if not m:
        fail(f"error: --horizon: {value[:40]!r} is not a number of days or weeks (e.g. 14d, 2w)")
        raise AssertionError("unreachable")
    return int(m.group(1)) * (7 if m.group(2).startswith("w") else 1)


def _date(value: str | None, name: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        fail(f"error: {name}: {value[:40]!r} is not a date YYYY-MM-DD")
    raise AssertionError("unreachable")


@cli.command()
@click.argument("history", type=click.Path())
@click.option(
    "--map",
    "mapping",
    type=click.Path(),
    help="mapping file of an export (call log or interval report)",
)
@click.option("--interval", default="30min", show_default=True, help="forecast interval")
@click.option("--horizon", default="2w", show_default=True, help="days ahead: 14d, 2w")
@click.option("--start", help="first day forecast, YYYY-MM-DD [default: the day after the history]")
@click.option(
    "--special-days", type=click.Path(), help="CSV or YAML of closed days, holidays, events"
)
@click.option(
    "--origins",
    type=click.IntRange(min=1, max=52),
    default=8,
    show_default=True,
    help="back-test forecast origins (a week apart) at most",
)
@click.option("--base", type=click.Path(), help="scenario whose agents, types and targets to use")
@click.option("--out", type=click.Path(file_okay=False), help="results folder")
@click.option("--workers", type=click.IntRange(min=1), help="processes drawing the report")
@click.option("--quiet", is_flag=True, help="only the final table")
@click.option("--no-report", is_flag=True, help="do not write report.html")
def forecast(
    history, mapping, interval, horizon, start, special_days, origins, base, out, workers, quiet,
    no_report,
) -> None:  # fmt: skip
    """Forecast calls per interval for the days after HISTORY (a call log or interval report).

    Writes forecast.csv (mean and 80%/95% prediction intervals per interval and call type),
    accuracy.csv (the back-test of every method), scenario.yaml with arrivals.csv (dated, for
    sim staff and sim run) and report.html.
    """
    from sim.forecast.history import read_history
    from sim.forecast.pipeline import ForecastOptions, forecast_files, run_forecast
    from sim.forecast.scenario_out import arrivals_table, scenario_yaml
    from sim.forecast.special import read_special_days
    from sim.report.files import safe_name, write_atomic, write_folder

    step = duration_option(interval, "--interval")
    if step < 60 or 86400 % step or step != int(step):
        fail(f"error: --interval must divide a day and be at least 1min, got {interval}")
    days = horizon_days(horizon)
    first = _date(start, "--start")
    base_data = None
    if base:
        from sim.scenario.resolved import scenario_to_dict

        base_data = scenario_to_dict(load(base))
    try:
        hist = read_history(history, mapping, int(step))
        special = read_special_days(special_days) if special_days else []
    except ScenarioError as exc:
        fail(f"error: {exc}")
    folder = out_folder(out, f"forecast-{Path(history).stem}")
    say = (lambda line: None) if quiet else (lambda line: click.echo(line, err=True))
    say(f"read {hist.counts.sum():,.0f} calls over {hist.days} days ({hist.kind})")
    try:
        result = run_forecast(hist, special, ForecastOptions(days, first, origins))
    except ValueError as exc:
        fail(f"error: {history}: {exc}")
    methods = len({r["method"] for r in result.scores})
    say(f"back-tested {methods} methods in {result.seconds:.1f} s CPU")
    name = safe_name(f"forecast-{Path(history).stem}")
    with results_folder(folder) as staged:
        write_folder(staged, {**forecast_files(result), "arrivals.csv": arrivals_table(result)})
        write_atomic(staged / "scenario.yaml", scenario_yaml(result, name, base_data))
        load(str(staged / "scenario.yaml"))  # what is handed to planning must validate
        report = None
        if not no_report:
            from sim.report.forecast_report import build_forecast_report

            report = build_forecast_report(staged, workers)
    _print(result, folder, report is not None)


def _print(result, folder: Path, report: bool) -> None:
    from sim.forecast.special import CARRY

    console = _console()
    table = Table(title=f"sim forecast: back-test over {len(result.origins)} origins")
    for col in ("method", "WAPE", "MAPE", "bias", "80% holds", "95% holds"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for r in result.scores:
        if r["horizon_day"] != "all":
            continue
        table.add_row(
            r["method"] + (" (chosen)" if r["chosen"] else ""),
            f"{r['wape']:.1%}",
            f"{r['mape']:.1%}",
            f"{r['bias']:+.1%}",
            f"{r['cover80']:.1%}",
            f"{r['cover95']:.1%}",
        )
    console.print(table)
    console.print(f"chosen: {result.chosen}: {result.why}", markup=False, highlight=False)
    total = result.mean.sum()
    console.print(
        f"forecast: {total:,.0f} calls in {result.options.horizon} days from {result.start}; "
        f"day-to-day cv {result.day_to_day_cv:.3f}",
        markup=False,
    )
    carry, event = result.effects["after closure"], result.effects["event"]
    if (result.kinds[-result.options.horizon :] == CARRY).any():
        shares = ", ".join(f"{k} +{v:.0%}" for k, v in carry["share_back"].items())
        seen = sum(carry["days_seen"].values())
        how = f"{seen} days seen" if seen else "assumed: none seen"
        console.print(f"after closure, of the closed days' calls: {shares} ({how})", markup=False)
    if event["days_seen"]:
        seen = event["days_seen"]
        console.print(f"event: x{event['factor']:.3f} ({seen} days seen)", markup=False)
    console.print(f"results: {folder}", markup=False, highlight=False)
    if report:
        console.print(f"report: {folder / 'report.html'}", markup=False, highlight=False)
