"""``sim erlang``, ``staff`` and ``size``: the decisions a planner asks the tool for."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.markup import escape
from rich.table import Table

from sim.cli.common import (
    cli,
    executor_options,
    fail,
    input_options,
    load,
    out_folder,
    results_folder,
    search_scope,
    simulation_options,
    write_report,
)
from sim.report.terminal import console as _console
from sim.scenario.errors import ScenarioError
from sim.scenario.kpis import format_ci, format_value
from sim.scenario.limits import MAX_REPLICATIONS

if TYPE_CHECKING:
    pass


class _Share(click.ParamType):
    """A share on the command line as in scenario files: 0.8 or 80% (80 alone is an error)."""

    name = "SHARE"

    def convert(self, value, param, ctx) -> float:
        from sim.scenario.units import parse_share

        try:
            text = str(value).strip()
            return parse_share(text if text.endswith("%") else float(text))
        except ValueError as exc:
            message = str(exc) if "share" in str(exc) else f"expected 0.8 or 80%, got {value!r}"
            self.fail(message, param, ctx)


SHARE = _Share()


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
@click.option("--target", type=SHARE, help="service level to reach, 0.8 or 80% (agents_required)")
@click.option("--abandon-target", type=SHARE, help="abandon rate not to exceed, 0.05 or 5%")
@click.option("--max-occupancy", type=SHARE, help="occupancy not to exceed, 0.9 or 90%")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 100),
    default=1,
    show_default=True,
    metavar="K",
    help="chats one agent holds at once: N agents are N x K servers; agents required = "
    "ceil(servers / K)",
)
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
def erlang(
    rate, aht, agents, patience, within, target, abandon_target, max_occupancy, concurrency, as_json
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

    try:
        span = agents_range(agents) if agents is not None else None
        lam = parse_rate(rate)
        args = (
            duration_arg(aht, "aht"),
            duration_arg(patience, "patience") if patience is not None else math.inf,
            duration_arg(within, "within"),
        )
    except ValueError as exc:
        fail(f"error: {exc}")
    if agents is None and target is None and abandon_target is None and max_occupancy is None:
        fail("error: give --agents, or a target (--target, --abandon-target, --max-occupancy)")
    try:
        one = span[0] if span is not None and len(span) == 1 else None
        single = one is not None
        result = erlang_calculator(
            lam, args[0], one, args[1], args[2], target, abandon_target, max_occupancy,
            concurrency,
        )  # fmt: skip
        rows = (
            erlang_table(lam, args[0], span, args[1], args[2], concurrency)
            if span and not single
            else None
        )
    except ValueError as exc:
        fail(f"error: {exc}")
    if rows is not None:
        if target is not None or abandon_target is not None or max_occupancy is not None:
            for r in rows:  # what the targets say of each row, and the row they require
                r["meets_targets"] = (
                    (target is None or r["service_level"] >= target)
                    and (abandon_target is None or r["abandon_rate"] <= abandon_target)
                    and (max_occupancy is None or r["occupancy"] <= max_occupancy)
                )
                r["required"] = r["agents"] == result.get("agents_required")
        result["table"] = rows
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    title = (
        f"{result['model'].replace('_', ' ').title()}: "
        f"{result['rate_per_hour']:g} calls/h x {result['aht']:g} s = "
        f"{result['load']:.3g} Erlang"
        + (
            f", agents of {concurrency} chats (servers = agents x {concurrency})"
            if concurrency > 1
            else ""
        )
    )
    console = _console()
    if rows is not None:
        console.print(erlang_range_table(title, rows, within))
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
            ("servers_required", "servers (chat slots) required", "{:d}"),
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
    type=click.IntRange(min=0, max=MAX_REPLICATIONS),
    help="fresh replications checking the result (default: 40, or --replications if more; "
    "0: no check)",
)
@click.option(
    "--no-pool",
    is_flag=True,
    help="one day type per weekday and every interval its own slot, even if identical",
)
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
@click.option(
    "--keep-answer-delay",
    is_flag=True,
    help="refuse a service-level target the tiers' answer_delay puts out of reach, instead of "
    "planning without the delay (and saying so)",
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
    keep_answer_delay,
    no_report,
    executor,
    address,
) -> None:
    """Staffing per group, day type and interval meeting FILE's service-level, abandonment (and
    occupancy) targets, found by simulation and checked with fresh seeds (docs/staffing.md).
    Writes staffing.yaml (an `agents:` section), scenario.yaml (FILE with that staffing, its
    data files beside it: `sim run` runs it from anywhere), staffing.csv, staffing.json and
    report.html to the results folder (--out), whole after every round; rerun into the same
    --out to resume."""
    from sim.planning.staffing import VERIFY
    from sim.planning.staffing import staff as run_staff
    from sim.planning.staffing_files import (
        SearchFileError,
        fingerprint,
        load_search,
        search_shape,
        write_staffing_folder,
    )
    from sim.planning.staffing_tables import staffing_table

    scenario = load(file)
    templates = None
    if shifts_file is not None:
        from sim.planning.shifts import load_templates

        try:
            templates = load_templates(shifts_file, scenario)
        except ScenarioError as exc:
            fail(f"error: {exc}")
    say = None if quiet else (lambda line: click.echo(line, err=True))
    folder = out_folder(out, f"{scenario.name}-staffing", "sim staff", (file,))
    reps = replications or scenario.replications
    key = fingerprint(
        scenario,
        seed=scenario.seed if seed is None else seed,
        replications=reps,
        delta=delta,
        pool=not no_pool,
        max_occupancy=max_occupancy,
        keep_answer_delay=keep_answer_delay,
    )
    try:
        resume = load_search(folder, key, search_shape(scenario, not no_pool))
    except SearchFileError as exc:
        fail(f"error: {exc}")
    if resume is not None and say:
        say(f"resuming the search saved in {folder} after round {resume.round}")

    def checkpoint(partial, state) -> None:  # the whole folder, staged: resumable, never half
        with results_folder(folder) as staged:
            write_staffing_folder(staged, partial, search=(state, key))

    schedule = None
    total = reps * (1 + max_iterations) + (max(reps, VERIFY) if verify is None else verify)
    label = f"{scenario.name}: staffing runs"
    with search_scope(folder, executor, workers, address, total, label, quiet) as (ex, advance):
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
                keep_answer_delay=keep_answer_delay,
            )
            if templates is not None:
                from sim.planning.shifts import schedule_shifts

                schedule = schedule_shifts(
                    result, templates, ex, base_dir=Path(file).parent, advance=advance
                )
        except ValueError as exc:
            fail(f"error: {exc}")
    with results_folder(folder) as staged:
        write_staffing_folder(staged, result, schedule)
        report = None if no_report else write_report(staged, workers)
    console = _console()
    for note in result.changed:
        console.print(f"NOTE: {note}", markup=False, highlight=False)
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
@click.option(
    "--verify",
    "verify",
    type=click.IntRange(min=0, max=MAX_REPLICATIONS),
    default=20,
    show_default=True,
    help="fresh replications re-checking the sized point (0: no check)",
)
@executor_options
def size(
    file, out, seed, replications, workers, quiet, max_passes, verify, executor, address
) -> None:
    """Couriers per own channel, courier-company daily capacity and back-office staff meeting
    FILE's delivery_on_time, delivery_success and back_office_on_time targets at the lowest
    daily cost (docs/staffing.md), re-checked with fresh seeds. Writes sizing.yaml, sizing.csv
    and sizing.json."""
    from sim.experiments.checkpoint import checkpoint_folder
    from sim.planning.sizing import FULFILMENT_TARGETS, write_sizing_folder
    from sim.planning.sizing import size as run_size

    scenario = load(file)
    say = None if quiet else (lambda line: click.echo(line, err=True))
    folder = out_folder(out, f"{scenario.name}-sizing", "sim size", (file,))
    reps = replications or scenario.replications
    label = f"{scenario.name}: sizing runs"
    with search_scope(folder, executor, workers, address, reps, label, quiet) as (ex, advance):
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
                verify=verify,
                kept=checkpoint_folder(folder),  # finished runs kept: a rerun resumes
            )
        except ValueError as exc:
            fail(f"error: {exc}")
    with results_folder(folder) as staged:
        write_sizing_folder(staged, result)
    shutil.rmtree(checkpoint_folder(folder), ignore_errors=True)
    table = Table(
        title=f"{escape(scenario.name)}: fulfilment sizing ({result.replications} "
        f"replications a point, seed {result.seed})"
    )
    fresh = (result.verified or {}).get("kpis") or {}
    columns = ["", "scenario", "sized (search)"]
    if result.verified is not None:
        columns.append(f"sized, {result.verified['replications']} fresh replications (95% CI)")
    for col in columns:
        table.add_column(col, justify="left" if not col else "right")
    pad = [""] * (len(columns) - 3)
    for i, c in enumerate(result.coords):
        table.add_row(
            escape(c.label), str(result.start.values[i]), str(result.best.values[i]), *pad
        )
    cost = f"daily cost ({scenario.currency or 'money'}/day)"
    table.add_row(cost, f"{result.start.cost:,.1f}", f"{result.best.cost:,.1f}", *pad)
    for k in FULFILMENT_TARGETS:
        if k in scenario.targets:
            a, b = result.start.kpis.get(k), result.best.kpis.get(k)
            row = [k, format_value(a, k), format_value(b, k)]
            if result.verified is not None:
                v = fresh.get(k)
                row.append(
                    "not checked"
                    if v is None
                    else f"{format_value(v['mean'], k)} ({format_ci(v['ci95'], k)}) "
                    + {True: "[green]met[/green]", False: "[red]missed[/red]"}.get(
                        v["met"], "no data"
                    )
                    + (" (CI spans target)" if v.get("clear") is False else "")
                    + ("" if v["sized_for"] else ", not reachable")
                )
            table.add_row(*row)
    console = _console()
    console.print(table)
    if result.verified is None:
        console.print("[yellow]not re-checked with fresh seeds (--verify 0)[/yellow]")
    elif result.met_on_fresh_seeds:
        unsure = [k for k, v in fresh.items() if v.get("clear") is False and v["sized_for"]]
        console.print(
            "the sized point meets every sized-for target on fresh seeds"
            + (
                f" by the mean; the 95% CI of {', '.join(unsure)} spans its target "
                "(more --verify replications to be sure)"
                if unsure
                else ""
            )
        )
    else:
        missed = ", ".join(k for k, v in fresh.items() if v["met"] is False and v["sized_for"])
        console.print(
            f"[red]the sized point misses {missed} on fresh seeds[/red]: the search's "
            "replications flattered it; run again with more --replications"
        )
    for k, v in result.unreachable.items():
        now, after = result.start.kpis.get(k), (fresh.get(k) or {}).get("mean")
        then = "" if after is None else f", {format_value(after, k)} on fresh seeds"
        console.print(
            f"[red]{k}[/red] not reachable by these resources (best seen "
            f"{format_value(v, k)}); sized for the other targets, so the sized point "
            f"does not hold it: {format_value(now, k)} with the scenario's resources{then}"
        )
    checked = result.verified["replications"] if result.verified else 0
    console.print(
        f"{len(result.evaluations)} points x {result.replications} replications"
        f"{f' + {checked} fresh' if checked else ''} in {result.elapsed_s:.1f} s; "
        f"results: {escape(str(folder))}"
    )
