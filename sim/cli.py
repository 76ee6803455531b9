"""The ``sim`` command: parse, call the library, print. Exit 0 ok, 1 a check failed, 2 bad input."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from sim.scenario import Scenario, ScenarioError, json_schema, load_scenario

__all__ = ["main"]

PRIMARY_KPIS = (
    "offered", "service_level", "answer_rate", "abandon_rate", "asa", "mean_wait", "occupancy",
    "first_contact_resolution", "delivery_on_time", "delivery_success", "first_attempt_success",
    "cost_per_delivery", "back_office_on_time", "lead_conversion",
)  # fmt: skip


def _fail(message: str, code: int = 2) -> None:
    click.echo(message, err=True)
    sys.exit(code)


def _load(path: str) -> Scenario:
    try:
        return load_scenario(path)
    except ScenarioError as exc:
        _fail(f"error: {exc}")
        raise  # unreachable


@contextmanager
def progress_bar(total: int, label: str, quiet: bool):
    """A rich progress bar on a terminal; nothing otherwise. Yields ``advance(done, total)``."""
    if quiet or not sys.stderr.isatty():
        yield lambda done, total: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done, total: bar.update(task, completed=done)


def _fmt(value: float | None, name: str) -> str:
    if value is None:
        return "-"
    if name in ("offered", "calls") or name.startswith(("asa", "mean_wait", "cost")):
        return f"{value:,.1f}"
    return f"{value:.4f}" if abs(value) < 10 else f"{value:,.1f}"


def kpi_table(summary, title: str, all_kpis: bool = False) -> Table:
    """The KPI table: mean, 95% CI, target and met/missed."""
    table = Table(title=title)
    for col, justify in (("KPI", "left"), ("mean", "right"), ("95% CI", "right"),
                         ("target", "right"), ("", "left")):
        table.add_column(col, justify=justify)
    for name, k in summary.kpis.items():
        if not all_kpis and name not in PRIMARY_KPIS and k.target is None:
            continue
        ci = f"{_fmt(k.ci95[0], name)} .. {_fmt(k.ci95[1], name)}" if k.ci95 else "-"
        target, verdict = "", ""
        if k.target is not None:
            target = f"{'>=' if k.bound == 'at_least' else '<='} {_fmt(k.target, name)}"
            if k.met is None:
                verdict = "no data"
            else:
                verdict = "[green]met[/green]" if k.met else "[red]missed[/red]"
                if not k.clear:
                    verdict += " (CI spans target)"
        table.add_row(name, _fmt(k.mean, name), ci, target, verdict)
    return table


def simulation_options(fn: Callable) -> Callable:
    """The options every simulating command takes."""
    for opt in reversed([
        click.option("--out", type=click.Path(file_okay=False), help="results folder"),
        click.option("--seed", type=click.IntRange(min=0), help="root seed (default: the file's)"),
        click.option("--replications", type=click.IntRange(min=1), help="replications"),
        click.option("--workers", type=click.IntRange(min=1), help="processes (default: cores)"),
        click.option("--quiet", is_flag=True, help="no progress bar, only the final table"),
    ]):
        fn = opt(fn)
    return fn


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sim")
def cli() -> None:
    """Simulate a contact center that sells goods delivered to the door."""


@cli.command()
@click.argument("file", type=click.Path())
@simulation_options
@click.option("--all-kpis", is_flag=True, help="print every KPI, not only the spec's")
@click.option("--strict", is_flag=True, help="exit 1 when a target is missed")
def run(file, out, seed, replications, workers, quiet, all_kpis, strict) -> None:
    """Run the replications of FILE, print the KPI table and write the results folder."""
    from sim.experiment import replicate
    from sim.results import default_out_dir, write_run_folder

    scenario = _load(file)
    n = replications or scenario.replications
    with progress_bar(n, f"{scenario.name}: replications", quiet) as advance:
        summary = replicate(scenario, replications=n, seed=seed, workers=workers,
                            progress=advance)
    folder = Path(out) if out else default_out_dir(scenario.name)
    try:
        write_run_folder(folder, summary)
    except OSError as exc:
        _fail(f"error: cannot write results to {folder}: {exc.strerror or exc}")
    console = Console()
    console.print(kpi_table(summary, f"{scenario.name}: {summary.replications} replications, "
                                     f"seed {summary.seed}", all_kpis))
    console.print(f"results: {folder}")
    if strict and any(k.met is False for k in summary.kpis.values()):
        sys.exit(1)


@cli.command()
@click.argument("files", type=click.Path(), nargs=-1, required=True)
def validate(files) -> None:
    """Check scenario FILES: print ok or every error; exit 0 or 2."""
    bad = False
    for file in files:
        try:
            load_scenario(file)
            click.echo(f"{file}: ok")
        except ScenarioError as exc:
            bad = True
            click.echo(str(exc), err=True)
    sys.exit(2 if bad else 0)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of scenario files (for editor completion and checks)."""
    click.echo(json.dumps(json_schema(), indent=2))


# --- regression check of model outputs ---------------------------------------------------------


@cli.command()
@click.option("--baselines", type=click.Path(file_okay=False), default="results/baselines",
              show_default=True, help="folder of baseline files (<scenario stem>.json)")
@click.option("--scenarios", type=click.Path(file_okay=False), default="scenarios",
              show_default=True, help="folder of the bundled scenarios (*.yaml)")
@click.option("--update", is_flag=True, help="re-make the baselines and say what moved")
@click.option("--exact", is_flag=True, help="same seeds as the baseline; expect identical numbers")
@click.option("--seed", type=click.IntRange(min=0),
              help="seed of the re-run (default: the baseline's + 1)")
@click.option("--workers", type=click.IntRange(min=1), help="processes (default: cores)")
@click.option("--quiet", is_flag=True, help="no progress bar, only the final tables")
def regress(baselines, scenarios, update, exact, seed, workers, quiet) -> None:
    """Re-run the bundled scenarios, test their KPIs against the baselines; exit 1 on a change."""
    from sim import regress as rg
    from sim.experiment import default_workers

    workers = workers or default_workers()
    bar = lambda total, label: progress_bar(total, label, quiet)  # noqa: E731
    console = Console(width=None if sys.stdout.isatty() else 120)
    try:
        if update:
            for line in rg.iter_moved(rg.update(Path(scenarios), Path(baselines),
                                                workers=workers, progress=bar)):
                console.print(line, markup=False, highlight=False)
            return
        results = rg.check(Path(scenarios), Path(baselines), exact=exact, seed=seed,
                           workers=workers, progress=bar)
    except rg.RegressError as exc:
        _fail(f"error: {exc}")
    for item in results:
        console.print(rg.regress_table(item))
        for note in item.notes:
            console.print(f"note: {note}", markup=False, highlight=False)
    failed = [item.name for item in results if item.failed]
    tested = sum(len(r.tests) for item in results for r in item.rows)
    exact_n = sum(len(item.rows) for item in results if item.mode == "exact")
    console.print(f"{len(results)} scenarios, {tested} statistical tests, {exact_n} exact "
                  "comparisons: "
                  + (f"CHANGED: {', '.join(failed)}" if failed else "no significant change"),
                  markup=False, highlight=False)
    sys.exit(1 if failed else 0)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``sim`` console script."""
    try:
        cli.main(args=argv, prog_name="sim", standalone_mode=True)
    except ScenarioError as exc:  # raised from deeper layers (e.g. experiment files)
        _fail(f"error: {exc}")


if __name__ == "__main__":  # pragma: no cover
    main()
