"""Hostile and broken inputs (issue 15): no file outside the data roots, bounded memory and time,
loader-only fields, finite numbers, no traceback, and clear messages that never echo a file."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from sim import simulate
from sim.cli import cli
from sim.model.callers import SimulationLimitError
from sim.records.calls import Origin
from sim.scenario import confine
from sim.scenario.confine import extra_roots
from sim.scenario.errors import ScenarioError
from sim.scenario.loading import load_scenario
from sim.scenario.yamlsource import MAX_DEPTH, MAX_EXTENDS, MAX_VALUES

TINY = (Path(__file__).parent / "scenarios" / "ok_tiny.yaml").read_text(encoding="utf-8")


def invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    if not isinstance(result.exception, SystemExit | None):
        raise result.exception  # a traceback is the bug
    return result


def errors(path) -> list:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    for item in info.value.items:  # every error names its file and line
        assert item.file and item.line, str(item)
    return info.value.items


def message(path) -> str:
    return "\n".join(str(i) for i in errors(path))


def tiny(write, old: str = "", new: str = "", name: str = "s.yaml") -> Path:
    text = TINY.replace(old, new) if old else TINY
    assert text != TINY or not old
    return write(text, name=name)


# --- confinement -------------------------------------------------------------------------------


def test_proc_environ_as_arrivals_file_is_refused_and_never_printed(write, monkeypatch):
    monkeypatch.setenv("SIM_TEST_SECRET", "hunter2-token")
    path = tiny(write, "rate_per_hour: 30", "file: /proc/self/environ")
    text = message(path)
    assert "outside the data root" in text and "hunter2" not in text
    with extra_roots("/"):  # even a user-named root never opens /proc, /dev or /sys
        text = message(path)
    assert "system file" in text and "hunter2" not in text


def test_etc_passwd_as_empirical_file_is_refused(write):
    path = tiny(write, "{dist: exponential, mean: 3min}", "{dist: empirical, file: /etc/passwd}")
    text = message(path)
    assert "outside the data root" in text and "root:" not in text


def test_extends_outside_the_folder_blames_the_extends_line(write, tmp_path):
    (tmp_path / "secret.yaml").write_text("api_token: abc123\n", encoding="utf-8")
    path = write("name: x\nextends: ../secret.yaml\n", name="team/s.yaml")
    (item,) = errors(path)
    assert (item.path, item.line) == ("extends", 2) and "outside the data root" in item.message
    assert "abc123" not in str(item)


def test_a_symlink_out_of_the_folder_is_resolved_and_refused(write, tmp_path):
    outside = tmp_path / "outside.csv"
    outside.write_text("x\n10\n", encoding="utf-8")
    (tmp_path / "sc").mkdir()
    (tmp_path / "sc" / "aht.csv").symlink_to(outside)
    (tmp_path / "sc" / "zero.csv").symlink_to("/dev/zero")
    for name in ("aht.csv", "zero.csv"):
        new = f"{{dist: empirical, file: {name}}}"
        path = tiny(write, "{dist: exponential, mean: 3min}", new, name="sc/s.yaml")
        assert "outside the data root" in message(path)


def test_a_fifo_is_refused_at_once(write, tmp_path):
    os.mkfifo(tmp_path / "calls.csv")
    path = tiny(write, "rate_per_hour: 30", "file: calls.csv")
    started = time.monotonic()
    assert "not a regular file" in message(path)
    assert time.monotonic() - started < 30  # opened non-blocking: never waits for a writer


def test_data_root_option_allows_a_named_folder(write, tmp_path):
    data = tmp_path / "shared"
    data.mkdir()
    (data / "aht.csv").write_text("seconds\n100\n200\n", encoding="utf-8")
    new = f"{{dist: empirical, file: {data / 'aht.csv'}}}"
    path = tiny(write, "{dist: exponential, mean: 3min}", new, name="sc/s.yaml")
    assert invoke("validate", path).exit_code == 2
    result = invoke("validate", path, "--data-root", data)
    assert result.exit_code == 0, result.output


def test_the_command_line_reads_the_current_folders_tree_when_the_file_lies_in_it(
    write, tmp_path, monkeypatch
):
    """`sim sweep experiments/x.yaml` from a project reads ../scenarios/ (issue 26), while a
    file still cannot reach out of that tree, through a link, or from the filesystem root."""
    for where in ("outside.csv", "proj/shared/aht.csv"):
        (tmp_path / where).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / where).write_text("seconds\n100\n200\n", encoding="utf-8")
    (tmp_path / "proj" / "sc").mkdir()
    (tmp_path / "proj" / "sc" / "link.csv").symlink_to(tmp_path / "outside.csv")
    old = "{dist: exponential, mean: 3min}"
    up = tiny(write, old, "{dist: empirical, file: ../shared/aht.csv}", name="proj/sc/up.yaml")
    tiny(write, old, "{dist: empirical, file: ../../outside.csv}", name="proj/sc/far.yaml")
    tiny(write, old, "{dist: empirical, file: link.csv}", name="proj/sc/link.yaml")
    monkeypatch.chdir(tmp_path / "proj")
    assert invoke("validate", "sc/up.yaml").exit_code == 0
    for path in ("sc/far.yaml", "sc/link.yaml"):
        result = invoke("validate", path)
        assert result.exit_code == 2 and "outside the data root" in result.output, path
    assert "outside the data root" in message(up)  # from Python: the file's own folder only
    # cwd above the project: its tree holds both; cwd the file's own folder: ../shared is out;
    # cwd the root of the disk: never a root
    for cwd, code in ((tmp_path, 0), (tmp_path / "proj" / "sc", 2), (Path("/"), 2)):
        monkeypatch.chdir(cwd)
        result = invoke("validate", up)
        assert result.exit_code == code, (cwd, result.output)


def test_file_size_limit(write, monkeypatch, tmp_path):
    monkeypatch.setattr(confine, "MAX_FILE_BYTES", 1000)
    (tmp_path / "big.csv").write_text("x\n" + "1\n" * 1000, encoding="utf-8")
    path = tiny(write, "{dist: exponential, mean: 3min}", "{dist: empirical, file: big.csv}")
    assert "the limit is 1,000" in message(path)


def test_data_file_content_is_quoted_short(write):
    header = "A" * 5000
    write(f"{header},more\n1,2\n", name="calls.csv")
    text = message(tiny(write, "rate_per_hour: 30", "file: calls.csv"))
    assert "needs columns start and calls" in text and "A" * 100 not in text
    write("x\n10\n" + "B" * 4000 + "\n", name="aht.csv")
    path = tiny(write, "{dist: exponential, mean: 3min}", "{dist: empirical, file: aht.csv}")
    assert "B" * 100 not in message(path) and len(message(path)) < 1000


def test_a_huge_value_is_not_echoed_back(write):
    path = tiny(write, "name: tiny", "name: tiny\ndescription: [" + "x" * 2_000_000 + "]")
    assert len(message(path)) < 2000


# --- bounded resources -------------------------------------------------------------------------


def test_billion_laughs_is_refused_before_expansion(write):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]")
    path = write(TINY + "\n".join(lines) + "\n")
    started = time.monotonic()
    assert f"more than {MAX_VALUES:,} values" in message(path)
    assert time.monotonic() - started < 30


@pytest.mark.slow
@pytest.mark.parametrize("depth", [MAX_DEPTH + 5, 900, 5000])
def test_deep_nesting_is_a_clear_error(write, depth):
    path = write(TINY + "deep: " + "[" * depth + "]" * depth + "\n")
    assert "nested" in message(path)


def test_long_extends_chain_is_a_clear_error(tmp_path):
    (tmp_path / "f0.yaml").write_text(TINY, encoding="utf-8")
    for i in range(1, 40):
        (tmp_path / f"f{i}.yaml").write_text(f"extends: f{i - 1}.yaml\n", encoding="utf-8")
    items = errors(tmp_path / "f39.yaml")
    assert f"longer than {MAX_EXTENDS} files" in items[0].message and items[0].path == "extends"


def test_expected_calls_are_checked_before_allocating(write):
    path = tiny(write, "rate_per_hour: 30", "rate_per_hour: 1000\n  weekday_factors: {mon: 100001}")
    text = message(path)
    assert "calls in one replication; the limit is 5,000,000" in text and "--max-calls" in text
    assert invoke("validate", path, "--max-calls", "10000000000").exit_code == 0
    write("start,calls\n08:00,1e12\n", name="calls.csv")
    assert "the limit is" in message(tiny(write, "rate_per_hour: 30", "file: calls.csv"))


REDIAL_NOW = "redial:\n  after_abandon: {probability: 1, delay: {dist: fixed, value: 0}}\n"


def test_a_certain_redial_without_delay_is_rejected(write):
    (item,) = errors(write(TINY + REDIAL_NOW))
    assert item.path == "redial.after_abandon" and "without end" in item.message


@pytest.mark.slow
def test_a_loop_without_progress_stops_with_a_clear_error(write, tmp_path):
    text = TINY.replace("mean: 2min}", "mean: 1s}").replace("staffing: 2", "staffing: 0")
    text += "redial:\n  after_abandon: {probability: 1, delay: {dist: exponential, mean: 0.01s}}\n"
    path = write(text.replace("replications: 2", "replications: 1"))
    for workers in ("1", "2"):  # in this process, and in a worker process (a failed job)
        result = invoke("run", path, "--out", tmp_path / "out", "--workers", workers, "--quiet")
        assert result.exit_code == 2 and "calls made again" in result.output
        assert "Traceback" not in result.output and not (tmp_path / "out").exists()


REDIAL_SOON = "redial:\n  after_abandon: {probability: %s, delay: {dist: %s, %s: %s}}\n"


def test_a_loop_that_grows_a_little_every_minute_stops_with_a_clear_error(write, tmp_path):
    """No agent, and every caller calls again a second after hanging up: the calls made again
    grow every minute without filling one (2 days of them were over a million calls)."""
    text = TINY.replace("staffing: 2", "staffing: 0") + REDIAL_SOON % (1, "fixed", "value", "1s")
    path = write(text.replace("replications: 2", "replications: 1"))
    with pytest.raises(SimulationLimitError, match=r"times the [0-9,]+ first calls by then"):
        simulate(load_scenario(path))
    result = invoke("run", path, "--out", tmp_path / "out", "--workers", "1", "--quiet")
    assert result.exit_code == 2 and "calls made again" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


def test_heavy_redials_that_end_still_run(write):
    """Half the agents needed and nine in ten abandoned callers trying again: a plan, not a loop."""
    text = TINY.replace("staffing: 2", "staffing: 1") + REDIAL_SOON % (
        0.9,
        "exponential",
        "mean",
        "5min",
    )
    calls = simulate(load_scenario(write(text))).records.calls
    again = int(np.sum(calls.origin == Origin.AFTER_ABANDON))
    assert again > 2 * (len(calls.origin) - again)  # more redials than twice the first calls


# --- loader-only fields, finite numbers in range -----------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expect"),
    [
        (
            "{dist: exponential, mean: 3min}",
            "{dist: empirical, file: x.csv, values: [-5, -1]}",
            "values are read from `file`",
        ),
        ("rate_per_hour: 30", "rate_per_hour: 30\n  rows: [[0, 0, -1000]]", "rows are read"),
        ("{dist: exponential, mean: 3min}", "{dist: lognormal, mean: 3min, cv: false}", "cv"),
        ("standard: {share: 1,", "standard: {share: true,", "expected a number"),
        ("at_least: 0.80", "at_least: 1e308", "is a share in [0, 1]"),
        ("at_least: 0.80", "at_least: -1e-9", "is a share in [0, 1]"),
        ("at_most: 0.05}", "at_most: 0.05}\n  asa: {at_most: 1e308}", "asa is from 0 to 1e+12"),
        ("at_most: 0.05", "at_most: .nan", "finite"),
        ("rate_per_hour: 30", "rate_per_hour: .inf", "finite"),
    ],
)
def test_nonsense_numbers_and_loader_fields(write, old, new, expect):
    assert expect in message(tiny(write, old, new))


def test_empirical_values_must_be_finite(write):
    write("x\n10\nnever\n", name="aht.csv")
    path = tiny(write, "{dist: exponential, mean: 3min}", "{dist: empirical, file: aht.csv}")
    assert "finite" in message(path)


# --- former tracebacks -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("%YAML 1.3\n---\n" + TINY, "invalid YAML"),
        ('extends: "a\\0b.yaml"\n' + TINY, "extends"),
        (TINY.replace("name: tiny", 'name: tiny\ndescription: "\\ud800"'), "lone surrogate"),
        ("", "required key is missing"),
        ("- a\n- b\n", "must hold a mapping"),
        (TINY.replace("horizon: {days: 2, warmup: 2h}\n", ""), "required key is missing"),
    ],
)
def test_former_tracebacks_are_errors_with_file_and_line(write, text, expect):
    path = write(text)
    assert expect in message(path)
    result = invoke("validate", path)
    assert result.exit_code == 2 and f"{path}:" in result.output


def test_normalize_beside_a_non_mapping(write):
    text = TINY.replace("  general:\n", "  normalize: true\n  junk: [1, 2]\n  general:\n")
    assert "junk" in message(write(text))


def test_courier_service_time_zero(write):
    text = (Path(__file__).parent / "scenarios" / "business_small.yaml").read_text()
    assert "service_time:" in text
    text = re.sub(r"service_time: \{[^}]*\}", "service_time: {dist: fixed, value: 0}", text)
    assert "mean above 0" in message(write(text))


def test_markup_in_names_is_printed_as_text(write, tmp_path):
    for name in ("'[/red]'", "'[link=https://example.com]x[/link]'", "'[bold'"):
        path = tiny(write, "name: tiny", f"name: {name}")
        out = tmp_path / "out"
        result = invoke("run", path, "--out", out, "--workers", "1", "--quiet", "--no-report")
        assert result.exit_code == 0, result.output
        assert name.strip("'") in result.output


# --- smaller items -----------------------------------------------------------------------------


def test_one_replication_says_there_is_no_ci(write, tmp_path):
    path = tiny(write, "replications: 2", "replications: 1")
    result = invoke(
        "run", path, "--out", tmp_path / "o", "--workers", "1", "--quiet", "--no-report"
    )
    assert "no CI" in result.output and "CI spans" not in result.output


def test_overloaded_run_shows_the_backlog_and_warns(write, tmp_path):
    text = TINY.replace("rate_per_hour: 30", "rate_per_hour: 40")
    text = text.replace("patience: {dist: exponential, mean: 2min}", "patience: {dist: never}")
    path = write(text.replace("staffing: 2", "staffing: 1"))
    result = invoke(
        "run", path, "--out", tmp_path / "o", "--workers", "1", "--quiet", "--no-report"
    )
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "│ open_calls" in output and "load exceeds capacity" in output


def test_share_intervals_stay_inside_zero_one():
    from sim.experiments.replication import summarize
    from sim.model.simulation import RunResult

    sc = load_scenario(Path(__file__).parent / "scenarios" / "ok_tiny.yaml")
    runs = [
        RunResult(
            sc, 1, i, {"service_level": v, "asa": 20 * (1 - v), "open_calls": 5 * (1 - v)}, {}
        )
        for i, v in enumerate((1, 1, 0.9))
    ]
    s = summarize(sc, 1, runs)
    assert s.kpis["service_level"].ci95[1] == 1.0 and s.kpis["service_level"].ci95[0] >= 0
    # not shares: never below 0 (a wait, a count), not capped above
    assert s.kpis["asa"].ci95[0] == 0.0 and s.kpis["asa"].ci95[1] > 3.0
    assert s.kpis["open_calls"].ci95[0] == 0.0 and s.kpis["open_calls"].ci95[1] > 0.8


def test_experiment_file_address_needs_confirmation(tmp_path):
    from sim.experiments.executors import ExecutorError
    from sim.experiments.experiment_file import load_experiment
    from sim.experiments.sweep import run_sweep

    fixtures = Path(__file__).parent / "scenarios"
    (tmp_path / "sweep.yaml").write_text(
        (fixtures / "sweep_tiny.yaml")
        .read_text(encoding="utf-8")
        .replace("executor: {kind: serial}", "executor: {kind: dask, address: 'tcp://1.2.3.4:1'}"),
        encoding="utf-8",
    )
    for name in ("tiny_mmc.yaml",):
        (tmp_path / name).write_text((fixtures / name).read_text(encoding="utf-8"))
    sweep = load_experiment(tmp_path / "sweep.yaml")
    with pytest.raises(ExecutorError, match="--allow-file-address"):
        run_sweep(sweep, tmp_path / "out")


def test_interval_table_share_bounds_stay_inside_zero_one():
    """intervals.csv and daily.csv: the same clamps as the KPIs, per row (shares in [0, 1],
    counts and waits not below 0)."""
    from sim.experiments.replication import table_summary

    tables = [
        {"start": np.array([0.0, 1800.0]), "service_level": np.array([1.0, 0.02]),
         "asa": np.array([2.0, 1.0]), "abandoned": np.array([0.0, 1.0])},
        {"start": np.array([0.0, 1800.0]), "service_level": np.array([1.0, 0.0]),
         "asa": np.array([2.0, 9.0]), "abandoned": np.array([0.0, 0.0])},
        {"start": np.array([0.0, 1800.0]), "service_level": np.array([0.9, 0.0]),
         "asa": np.array([2.0, 0.0]), "abandoned": np.array([0.0, 0.0])},
    ]  # fmt: skip
    out = table_summary(tables, ("start",))
    assert out["service_level_ci_high"][0] == 1.0 and out["service_level_ci_low"][1] == 0.0
    assert np.all(out["service_level_ci_low"] <= out["service_level_mean"])
    assert out["asa_ci_low"][1] == 0.0 and out["asa_ci_high"][1] > 9.0  # not capped above
    assert out["abandoned_ci_low"][1] == 0.0 and out["abandoned_ci_high"][1] > 1.0
