"""Bad input found by a newcomer's audit: each gives one clear error and exit code 2."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.experiments.experiment_file import load_experiment
from sim.scenario.errors import ScenarioError
from sim.scenario.limits import MAX_REPLICATIONS

ROOT = Path(__file__).resolve().parents[1]
TEXTBOOK = ROOT / "scenarios" / "erlang_c_textbook.yaml"


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.mark.parametrize(
    ("command", "option"),
    [
        ("run", "--replications"),
        ("compare", "--replications"),
        ("sweep", "--replications"),
        ("staff", "--replications"),
        ("staff", "--verify"),
        ("size", "--replications"),
        ("size", "--verify"),
        ("fit", "--replications"),
    ],
)
def test_replication_counts_on_the_command_line_are_bounded(command, option):
    """A typo of a few zeros (--replications 1000000000) used to start a run that never ended
    (silently with --quiet); it is a usage error like any other out-of-range value."""
    params = {p.opts[0]: p for p in cli.commands[command].params}
    kind = params[option].type
    assert isinstance(kind, click.IntRange) and kind.max == MAX_REPLICATIONS
    result = invoke(command, TEXTBOOK, option, MAX_REPLICATIONS + 1)
    assert result.exit_code == 2
    assert f"Invalid value for '{option}'" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_experiment_file_replications_are_bounded(write):
    path = write(
        f"name: e\nscenario: {TEXTBOOK.name}\nparameters:\n"
        "  agents.groups.team.staffing: [12, 13]\n"
        f"replications: {MAX_REPLICATIONS * 10}\n",
        name="e.yaml",
    )
    write(TEXTBOOK.read_text(encoding="utf-8"), name=TEXTBOOK.name)
    with pytest.raises(ScenarioError) as err:
        load_experiment(path)
    assert "e.yaml:5: replications" in str(err.value)
    assert f"{MAX_REPLICATIONS}" in str(err.value)


def test_sweep_points_keep_intervals_where_the_figure_can_lie():
    """points.csv held answer_rate_ci_high 1.0006 and open_calls_ci_low -13.9: the README
    promises shares in [0, 1] and counts not below 0, as in every other results file."""
    from types import SimpleNamespace

    import pyarrow as pa

    from sim.experiments.sweep import _points_table

    sweep = SimpleNamespace(parameters=["x"], points=[{"x": 1}], seed=7)
    table = pa.table(
        {
            "point": [0, 0, 0],
            "x": [1, 1, 1],
            "replication": [0, 1, 2],
            "seed": [7, 7, 7],
            "answer_rate": [1.0, 0.999, 0.9995],
            "open_calls": [0.0, 0.0, 5.0],
        }
    )
    points = _points_table(sweep, table)
    assert points["answer_rate_ci_high"] == [1.0]
    assert 0.99 < points["answer_rate_ci_low"][0] < 0.9995
    assert points["open_calls_ci_low"] == [0.0]
    assert points["open_calls_ci_high"][0] > 5.0


def test_export_refuses_a_folder_no_command_wrote(tmp_path):
    """`sim export` on any folder gathered every CSV in it into results.xlsx (a folder of
    unrelated exports, credentials included) and exited 0; `sim report` refused the same
    folder. Now both refuse it: exit 2, nothing written."""
    (tmp_path / "secret.csv").write_text("password\nhunter2\n", encoding="utf-8")
    result = invoke("export", tmp_path)
    assert result.exit_code == 2
    assert "is this a results folder" in result.output and "summary.json" in result.output
    assert not (tmp_path / "results.xlsx").exists()


def test_fit_report_shows_the_back_test_in_units_as_the_terminal_does(tmp_path):
    """The report printed 1.048e+04, 0.9205 and 2.815 where the terminal said 10,479 calls/day,
    92.1% and 2.82 s: the same figures, shown the same way, in their units."""
    import json
    import re

    from conftest import fixture_data

    from sim.scenario.kpis import format_ci, format_value

    data = fixture_data("fit_truth.yaml")
    data["horizon"]["days"] = 7
    scenario = tmp_path / "week.yaml"
    scenario.write_text(json.dumps(data), encoding="utf-8")  # JSON is YAML
    log = tmp_path / "run" / "calls.csv"
    opts = ("--quiet", "--workers", "1")
    assert (
        invoke(
            "run",
            scenario,
            "--call-log",
            "--call-log-format",
            "csv",
            "--replications",
            "1",
            "--no-report",
            "--out",
            tmp_path / "run",
            *opts,
        ).exit_code
        == 0
    )
    result = invoke(
        "fit",
        log,
        "--no-calibrate",
        "--replications",
        "2",
        "--max-days",
        "7",
        "--out",
        tmp_path / "fit",
        *opts,
    )
    assert result.exit_code == 0, result.output
    page = (tmp_path / "fit" / "report.html").read_text(encoding="utf-8")
    overall = json.loads((tmp_path / "fit" / "fit.json").read_text())["backtest"]["overall"]
    for name, e in overall.items():
        for text in (format_value(e["history"], name), format_ci(e["model_ci95"], name)):
            assert text in page and text in result.output, (name, text)
    assert "e+0" not in re.sub(r"data:image/[^\"]+", "", page)  # text, not an image's base64
    assert " pp</td>" in page and " calls</td>" in page
    (tmp_path / "fit" / "report.html").unlink()  # sim report rebuilds a fit folder's page too
    rebuilt = invoke("report", tmp_path / "fit")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert (tmp_path / "fit" / "report.html").read_text(encoding="utf-8") == page
    (tmp_path / "fit" / "fit.json").write_text('{"log": 1}', encoding="utf-8")
    damaged = invoke("report", tmp_path / "fit")
    assert damaged.exit_code == 2 and "fit.json: not as sim fit writes it" in damaged.output


HEADER = "arrival,outcome,wait,handle_time\n"
ROW = "2024-01-01T08:00:00,answered,5,120\n"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "calls.csv: not a regular file"),  # a folder named calls.csv
        (b"\x00\x9f\x92\x96garbage\xff" * 50, "calls.csv: not UTF-8 text (byte 0)"),
        (HEADER + "2024-01-01T07:00:00,\xe9t\xe9,1,2\n", "calls.csv: not UTF-8 text (byte"),
        (HEADER + ROW * 3 + "2024-01-01T09:00:00,answered\n" + ROW, "calls.csv:5: 2 fields"),
    ],
)
def test_fit_names_a_log_it_cannot_read_without_echoing_it(tmp_path, content, expected):
    """A folder was "file not found"; a binary file was quoted byte for byte; a short row was
    quoted without its line. Now: one line naming the file (and line), exit 2."""
    path = tmp_path / "calls.csv"
    if content is None:
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_bytes(content.encode("latin-1"))
    result = invoke("fit", path, "--no-calibrate", "--quiet", "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert expected in result.output, result.output
    assert "garbage" not in result.output and "answered" not in result.output
    assert result.output.count("\n") == 1


def test_staff_shows_service_levels_in_percent(tmp_path):
    """`sim staff` printed "lowest SL 0.805" and its report "lowest service level 0.805"
    where every other table and page shows shares in % (the README's rule)."""
    import json
    import re

    out = tmp_path / "out"
    quick = ("--replications", "2", "--workers", "1", "--quiet", "--max-iterations", "2")
    result = invoke("staff", ROOT / "tests" / "scenarios" / "tiny_mmc.yaml", "--out", out, *quick)
    assert result.exit_code == 0, result.output
    worst = json.loads((out / "staffing.json").read_text())["fresh_seed_check"]["worst_slot"]
    shown = f"{100 * worst['service_level']:.1f}"
    assert "lowest SL (%)" in result.output and f" {shown} " in result.output
    page = (out / "report.html").read_text(encoding="utf-8")
    assert f"lowest service level {shown}%" in page
    assert not re.search(r"lowest service level 0\.\d{3}", page)
    svg = next((out / "figures").glob("staffing_*.svg")).read_text(encoding="utf-8")
    assert "<!-- service level (%) -->" in svg and "<!-- target 80% -->" in svg
    ticks = re.findall(r"<!-- (\d+(?:\.\d+)?) -->", svg.split("agents scheduled")[0])
    assert ticks and all("." not in t for t in ticks), ticks  # whole agents


def test_a_file_given_to_the_wrong_command_says_so():
    """`sim sweep SCENARIO` listed a dozen unknown keys and `sim run EXPERIMENT` five missing
    ones; one line naming the right command says what is wrong."""
    experiment = ROOT / "experiments" / "agents_vs_service_level.yaml"
    for args, words in (
        (("sweep", TEXTBOOK), "this is a scenario file, not an experiment: run it with `sim run`"),
        (("run", experiment), "this is an experiment file (a sweep), not a scenario"),
        (("validate", experiment), "run it with `sim sweep`"),
    ):
        result = invoke(*args, "--quiet") if args[0] != "validate" else invoke(*args)
        assert result.exit_code == 2, result.output
        assert words in result.output
        assert result.output.count("\n") == 1, result.output


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"\xba\x00\x01binary", "summary.json: not UTF-8 text (byte 0)"),
        (b"{bad", "summary.json: "),
        (b'{"kpis": 3}', "summary.json: "),
    ],
)
@pytest.mark.parametrize("command", ["report", "export"])
def test_report_and_export_of_a_damaged_folder_exit_2(tmp_path, command, content, words):
    """A summary.json that is binary, not JSON or not shaped as sim writes it gave a traceback
    (report: binary or odd shape; export: any of them)."""
    (tmp_path / "summary.json").write_bytes(content)
    result = invoke(command, tmp_path)
    assert result.exit_code == 2, result.output
    assert words in result.output and "Traceback" not in result.output
    assert "binary" not in result.output
    assert result.output.count("\n") == 1, result.output


@pytest.mark.parametrize(
    "args",
    [
        ("run", TEXTBOOK),
        ("compare", TEXTBOOK, TEXTBOOK),
        ("sweep", ROOT / "experiments" / "agents_vs_service_level.yaml", "--data-root", ROOT),
        ("staff", TEXTBOOK),
        ("size", ROOT / "scenarios" / "hotline_baseline.yaml"),
        ("fit", "LOG"),
    ],
)
def test_out_never_replaces_a_folder_of_other_files(tmp_path, args):
    """`sim run FILE --out ~/Documents` deleted the documents: a results folder is replaced
    whole, and any existing folder was taken for one. Now: exit 2 before any run, files kept."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "thesis.txt").write_text("years of work", encoding="utf-8")
    if args[-1] == "LOG":
        log = tmp_path / "calls.csv"
        log.write_text(HEADER + ROW * 3, encoding="utf-8")
        args = (*args[:-1], log)
    result = invoke(*args, "--out", docs, "--quiet", "--replications", "1")
    assert result.exit_code == 2, result.output
    assert "not a results folder" in result.output and "'thesis.txt'" in result.output
    assert sorted(p.name for p in docs.iterdir()) == ["thesis.txt"]
    assert (docs / "thesis.txt").read_text(encoding="utf-8") == "years of work"


def test_staged_folder_refuses_a_folder_of_other_files_and_reuses_results(tmp_path):
    from sim.report.staging import staged_folder

    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.md").write_text("mine", encoding="utf-8")
    with pytest.raises(FileExistsError), staged_folder(out) as new:
        (new / "summary.json").write_text("{}", encoding="utf-8")
    assert (out / "notes.md").is_file()
    (out / "notes.md").unlink()
    for _ in range(2):  # empty, then a results folder: both replaced
        with staged_folder(out) as new:
            (new / "summary.json").write_text("{}", encoding="utf-8")
    assert sorted(p.name for p in out.iterdir()) == ["summary.json"]


def test_experiment_kpis_must_be_kpis(write):
    """`kpis: [service_levl]` ran the whole sweep and printed a table with no KPI column."""
    write(TEXTBOOK.read_text(encoding="utf-8"), name=TEXTBOOK.name)
    path = write(
        f"name: e\nscenario: {TEXTBOOK.name}\nparameters:\n"
        "  agents.groups.team.staffing: [12, 13]\n"
        "kpis: [service_levl, occupancy.group=team]\n",
        name="e.yaml",
    )
    with pytest.raises(ScenarioError) as err:
        load_experiment(path)
    assert len(err.value.items) == 1
    assert "e.yaml:5: kpis[0]: unknown KPI 'service_levl' (did you mean 'service_level'?)" in str(
        err.value
    )


def test_erlang_reads_shares_as_scenario_files_do_and_blames_the_bad_option():
    """`--target 80` said "service_level_target is a fraction" (an internal name) and `--rate
    banana` without --agents complained about --agents, not the rate."""
    ok = invoke("erlang", "--rate", "200/h", "--aht", "3min", "--target", "80%", "--json")
    assert ok.exit_code == 0 and '"agents_required": 14' in ok.output
    bad = invoke("erlang", "--rate", "200/h", "--aht", "3min", "--target", "80")
    assert bad.exit_code == 2
    assert "Invalid value for '--target'" in bad.output and "did you mean 80%?" in bad.output
    rate = invoke("erlang", "--rate", "banana", "--aht", "3min")
    assert rate.exit_code == 2 and "rate 'banana'" in rate.output


def test_report_intervals_are_written_as_in_the_terminal(tmp_path):
    """The comparison page wrote `+5.15 .. +5.46 pp` where the terminal and the run page write
    `+5.15 … +5.46 pp`."""
    tiny = ROOT / "tests" / "scenarios" / "tiny_mmc.yaml"
    other = tmp_path / "more.yaml"
    text = tiny.read_text(encoding="utf-8")
    other.write_text(text.replace("name: ", "name: more-", 1), encoding="utf-8")
    (tmp_path / tiny.name).write_text(text, encoding="utf-8")
    out = tmp_path / "cmp"
    args = ("--replications", "3", "--workers", "1", "--quiet", "--out", out)
    result = invoke("compare", tmp_path / tiny.name, other, *args)
    assert result.exit_code == 0, result.output
    page = (out / "report.html").read_text(encoding="utf-8")
    assert " … " in page and " .. " not in page


def test_values_rounding_to_zero_have_no_minus_sign():
    """`answer_rate +0.00 … -0.00` read "-0.00 … +0.00 pp" in compare's table and report."""
    from sim.scenario.kpis import format_ci, format_value

    assert format_value(-1e-9, "answer_rate", signed=True) == "+0.00 pp"
    assert format_value(-1e-9, "asa") == "0.00 s"
    assert format_ci((-4e-7, 3e-7), "answer_rate", signed=True) == "+0.00 pp … +0.00 pp"
    assert format_value(-0.004, "asa", signed=True) == "+0.00 s"
    assert format_value(-0.006, "asa", signed=True) == "-0.01 s"


def test_sweep_report_header_names_the_sweeps_seed_and_replications(tmp_path):
    """The header said the base scenario's seed (not --seed's) and no replications."""
    import re

    tiny = ROOT / "tests" / "scenarios" / "tiny_mmc.yaml"
    (tmp_path / tiny.name).write_text(tiny.read_text(encoding="utf-8"), encoding="utf-8")
    exp = tmp_path / "e.yaml"
    exp.write_text(
        f"name: e\nscenario: {tiny.name}\nparameters:\n  arrivals.rate_per_hour: [50, 60]\n",
        encoding="utf-8",
    )
    out = tmp_path / "sweep"
    args = ("--replications", "2", "--seed", "99", "--workers", "1", "--quiet", "--out", out)
    result = invoke("sweep", exp, *args)
    assert result.exit_code == 0, result.output
    header = re.search(r'<p class="meta">(.*?)</p>', (out / "report.html").read_text(), re.S)
    assert header is not None
    text = " ".join(header.group(1).split())
    assert "seed 99" in text and "2 replications" in text, text


def test_a_misspelt_group_in_a_sweep_parameter_names_the_closest_group(write):
    """`agents.groups.teem.staffing` said only "agents.groups.teem.skills: required key is
    missing": the typo made a new, incomplete group."""
    write(TEXTBOOK.read_text(encoding="utf-8"), name=TEXTBOOK.name)
    path = write(
        f"name: e\nscenario: {TEXTBOOK.name}\nparameters:\n"
        "  agents.groups.teem.staffing: [12, 13]\n",
        name="e.yaml",
    )
    with pytest.raises(ScenarioError) as err:
        load_experiment(path)
    assert "'teem' is not in the base scenario's agents.groups: did you mean 'team'?" in str(
        err.value
    )


def test_fit_page_numbers_are_never_in_scientific_notation():
    """The arrivals table of a busy center read 1.347e+04 first calls a day."""
    from sim.report.fit_report import _n

    assert _n(13470.4) == "13,470"
    assert _n(1234567.0) == "1,234,567"
    assert _n(8.9087) == "8.909" and _n(0.78564) == "0.7856" and _n(5) == "5"


def test_fit_page_weekday_factors_all_have_three_decimals():
    """The arrivals table read 1.189, 1.03 and 0.7856 in one column."""
    from sim.report.fit_report import _ci, _factor

    assert [_factor(v) for v in (1.1894, 1.03, 0.78564)] == ["1.189", "1.030", "0.786"]
    assert _factor(None) == "-" and _factor(float("nan")) == "-"
    assert _ci((0.9, 1.1), _factor) == "0.900 … 1.100"


def test_out_never_replaces_a_folder_of_hidden_files_either(tmp_path):
    """A folder holding only hidden entries (a new repository's .git) is no results folder."""
    from sim.report.staging import check_replaceable

    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    with pytest.raises(FileExistsError, match=r"\.git"):
        check_replaceable(repo)
    empty = tmp_path / "empty"
    empty.mkdir()
    check_replaceable(empty)  # an empty folder may be written
