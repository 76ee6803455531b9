"""``sim compare``, ``sweep`` and ``regress``: many scenarios or many points, same seeds."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape
from rich.table import Table

from sim.cli.common import (
    cli,
    executor_options,
    experiment_errors,
    fail,
    input_options,
    kept_runs,
    load,
    out_folder,
    progress_bar,
    results_folder,
    simulation_options,
    write_report,
    write_workbook,
)
from sim.report.terminal import console as _console
from sim.report.terminal import plans_table, with_unit
from sim.scenario.errors import ScenarioError
from sim.scenario.kpis import HEADLINE, format_ci, format_value, judge

if TYPE_CHECKING:
    pass


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
    from sim.experiments.checkpoint import checkpoint_folder
    from sim.experiments.comparison import compare as run_compare
    from sim.experiments.comparison import scenario_labels
    from sim.planning.sizing import plan_costs
    from sim.report.files import write_folder
    from sim.scenario.diff import changes_by_label

    if len(files) < 2:
        fail("error: compare needs at least two scenario files")
    scenarios = [load(f) for f in files]
    n = replications or scenarios[0].replications
    labels = "_vs_".join(scenario_labels(scenarios))
    folder = out_folder(out, "compare_" + labels, "sim compare", files)
    # finished replications kept beside the folder: a rerun resumes
    stores = kept_runs(folder, scenarios, scenarios[0].seed if seed is None else seed, quiet)
    with (
        experiment_errors(folder),
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
            stores=stores,
        )
    extra: dict[str, Any] = {
        "plans": plan_costs(comparison),
        "changes": changes_by_label(scenarios, comparison.labels),
        "currency": scenarios[0].currency,
    }
    with results_folder(folder) as staged:
        files = comparison.files()
        files["comparison.json"] = {**files["comparison.json"], **extra}
        write_folder(staged, files)
        report = None if no_report else write_report(staged, workers)
        books = write_workbook(staged) if xlsx else []
    shutil.rmtree(checkpoint_folder(folder), ignore_errors=True)
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
            # the bounds are clipped to where the figure can lie ([0, 1]); the unclipped side
            # is the half-width of the t-interval
            width = None if lo is None else max(hi - mean, mean - lo)
            half = "" if width is None else f" ± {format_value(width, k, with_unit=False)}"
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
    from sim.experiments.experiment_file import load_experiment
    from sim.experiments.sweep import run_sweep
    from sim.report.files import LinkError, real_folder

    try:
        loaded = load_experiment(experiment, seed=seed)
    except ScenarioError as exc:
        fail(f"error: {exc}")
    folder = real_folder(
        out_folder(out, loaded.experiment.name, "sim sweep", (experiment,))
    )  # written in place
    reps = replications or loaded.experiment.replications
    try:
        with (
            experiment_errors(folder),
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
    except (ScenarioError, LinkError, ValueError) as exc:
        fail(f"error: {exc}")
    except OSError as exc:
        fail(f"error: cannot write results to {folder}: {exc.strerror or exc}")
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
        console.print(f"report: {write_report(folder, workers)}")


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
        fail(f"error: {exc}")
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
