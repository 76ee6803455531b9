"""The ``sim`` command line: validate, schema and run; exit codes 0 / 2 and never a traceback.

One end-to-end subprocess test per command (``python -m sim``); the rest use click's runner.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import CALL_KPIS
from scipy import stats

from sim.cli import cli
from sim.scenario.confine import extra_roots
from sim.scenario.kpis import HEADLINE
from sim.scenario.loading import load_scenario
from sim.scenario.yamlsource import load_yaml

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "scenarios"
TINY = FIXTURES / "ok_tiny.yaml"
BUNDLED = sorted((ROOT / "scenarios").glob("*.yaml"))
OK_FIXTURES = [
    FIXTURES / "ok_minimal.yaml",
    FIXTURES / "ok_full_shape.yaml",
    TINY,
    FIXTURES / "ok_extends_base.yaml",
]


def sim(*args: str | Path) -> subprocess.CompletedProcess:
    """Run ``python -m sim ARGS`` as a user would, from outside the repository."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "sim", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path("/"),
        timeout=300,
        check=False,
    )


def invoke(*args: str | Path):
    return CliRunner().invoke(cli, [str(a) for a in args])


# --- validate -----------------------------------------------------------------------------------


def test_validate_end_to_end_lists_every_error_of_every_file():
    typos, cycle = FIXTURES / "bad_typos.yaml", FIXTURES / "bad_cycle_a.yaml"
    proc = sim("validate", FIXTURES / "ok_minimal.yaml", typos, TINY, cycle)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert f"{FIXTURES / 'ok_minimal.yaml'}: ok" in proc.stdout
    assert f"{TINY}: ok" in proc.stdout
    assert f"{typos}:9: call_types.inquiry.handel_time: unknown key" in proc.stderr
    assert "did you mean 'handle_time'?" in proc.stderr
    assert f"{typos}:14: agents.groups.team.shfits" in proc.stderr
    assert "cycle" in proc.stderr
    assert proc.stdout.splitlines() == [f"{FIXTURES / 'ok_minimal.yaml'}: ok", f"{TINY}: ok"]


def test_validate_ok_files_exit_0():
    result = invoke("validate", *OK_FIXTURES, *BUNDLED)
    assert result.exit_code == 0, result.output
    for path in (*OK_FIXTURES, *BUNDLED):
        assert f"{path}: ok" in result.output


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("name: [unclosed\n", "invalid YAML"),
        ("- a list\n", "mapping"),
        ("name: x\nname: y\n", "duplicate"),
        ("", "required key is missing"),
        ("name: x\n\thorizon: 1\n", "invalid YAML"),
    ],
)
def test_validate_bad_yaml_exits_2_naming_the_file(write, text, words):
    path = write(text)
    result = invoke("validate", path)
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit), result.exception
    assert str(path) in result.output and words in result.output


def test_validate_missing_and_unreadable_files(tmp_path):
    result = invoke("validate", tmp_path / "absent.yaml", tmp_path)
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert f"{tmp_path / 'absent.yaml'}: file not found" in result.output
    assert f"{tmp_path}: file '{tmp_path}' is not a regular file" in result.output


def test_validate_without_files_is_a_usage_error():
    result = invoke("validate")
    assert result.exit_code == 2 and "Usage" in result.output


# --- schema -------------------------------------------------------------------------------------


def test_schema_end_to_end_is_valid_json_schema_the_scenarios_satisfy():
    proc = sim("schema")
    assert proc.returncode == 0, proc.stderr
    schema = json.loads(proc.stdout)
    assert schema["$schema"].endswith("2020-12/schema") and schema["type"] == "object"
    assert {"name", "horizon", "arrivals", "call_types", "agents"} <= set(schema["required"])
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in (*BUNDLED, *OK_FIXTURES, FIXTURES / "ok_extends" / "child.yaml"):
        with extra_roots(FIXTURES):
            data, _ = load_yaml(path)
        errors = [f"{'.'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(data)]
        assert not errors, (path, errors)
    typos, _ = load_yaml(FIXTURES / "bad_typos.yaml")
    assert any("handel_time" in e.message for e in validator.iter_errors(typos))


def test_schema_documents_every_top_level_key():
    result = invoke("schema")
    assert result.exit_code == 0
    props = json.loads(result.output)["properties"]
    for key in (
        "name",
        "horizon",
        "interval",
        "arrivals",
        "customer_tiers",
        "ivr",
        "call_types",
        "redial",
        "agents",
        "routing",
        "targets",
        "replications",
        "seed",
    ):
        assert key in props and props[key].get("description"), key


# --- run ----------------------------------------------------------------------------------------


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_run_end_to_end_writes_the_results_folder(tmp_path):
    out = tmp_path / "out"
    proc = sim("run", TINY, "--out", out, "--workers", "1", "--no-report")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "service_level" in proc.stdout and "missed" in proc.stdout  # SL about 0.6 < 0.8
    assert {p.name for p in out.iterdir()} >= {
        "scenario.yaml",
        "summary.json",
        "replications.csv",
        "intervals.csv",
    }
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["scenario"], summary["seed"], summary["replications"]) == ("tiny", 7, 2)
    kpis = summary["kpis"]
    for name in CALL_KPIS:
        k = kpis[name]
        values = np.array([float(r[name]) for r in read_csv(out / "replications.csv")])
        half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
        assert k["mean"] == pytest.approx(values.mean()), name  # from the replications on disk
        assert k["ci95"] == pytest.approx([values.mean() - half, values.mean() + half]), name
    for name, bound in (("service_level", 0.80), ("abandon_rate", 0.05)):
        assert kpis[name]["target"] == bound and isinstance(kpis[name]["met"], bool)
    assert kpis["service_level"]["met"] == (kpis["service_level"]["mean"] >= 0.80)
    assert kpis["abandon_rate"]["met"] == (kpis["abandon_rate"]["mean"] <= 0.05)
    assert "target" not in kpis["answer_rate"]
    rows = read_csv(out / "replications.csv")
    assert len(rows) == 2
    means = [float(r["service_level"]) for r in rows]
    assert sum(means) / 2 == pytest.approx(kpis["service_level"]["mean"])
    intervals = read_csv(out / "intervals.csv")
    assert intervals and {"day", "start"} <= set(intervals[0])
    assert {r["day"] for r in intervals} == {"1", "2"}
    assert load_scenario(out / "scenario.yaml") == load_scenario(TINY)


def test_run_workers_1_and_2_give_identical_summaries(tmp_path):
    outs = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}"
        result = invoke(
            "run",
            TINY,
            "--out",
            out,
            "--workers",
            workers,
            "--quiet",
            "--no-report",
            "--replications",
            "3",
        )
        assert result.exit_code == 0, result.output
        outs.append(out)
    assert (outs[0] / "summary.json").read_bytes() == (outs[1] / "summary.json").read_bytes()
    assert (outs[0] / "replications.csv").read_bytes() == (
        outs[1] / "replications.csv"
    ).read_bytes()
    assert json.loads((outs[0] / "summary.json").read_text())["replications"] == 3


def test_run_seed_option_changes_the_numbers(tmp_path):
    summaries = []
    for seed in ("7", "8"):
        out = tmp_path / seed
        result = invoke(
            "run", TINY, "--out", out, "--workers", "1", "--quiet", "--no-report", "--seed", seed
        )
        assert result.exit_code == 0, result.output
        summaries.append(json.loads((out / "summary.json").read_text()))
    assert [s["seed"] for s in summaries] == [7, 8]
    assert summaries[0]["kpis"]["offered"] != summaries[1]["kpis"]["offered"]


def test_run_writes_the_resolved_scenario_with_extends_merged(tmp_path, write):
    child = write("extends: " + str(TINY) + "\nname: tiny-child\nhorizon: {days: 1}\n")
    out = tmp_path / "out"
    args = ("run", child, "--out", out, "--workers", "1", "--quiet", "--no-report")
    result = invoke(*args)
    assert result.exit_code == 2 and "outside the data root" in result.output  # TINY: elsewhere
    result = invoke(*args, "--data-root", TINY.parent)
    assert result.exit_code == 0, result.output
    text = (out / "scenario.yaml").read_text()
    assert "extends" not in text
    with extra_roots(TINY.parent):
        assert load_scenario(out / "scenario.yaml") == load_scenario(child)
    assert load_scenario(out / "scenario.yaml").horizon.days == 1


def test_run_bad_file_end_to_end_exits_2_without_traceback(tmp_path):
    proc = sim("run", FIXTURES / "bad_typos.yaml", "--out", tmp_path / "out")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert f"{FIXTURES / 'bad_typos.yaml'}:9: call_types.inquiry.handel_time" in proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["run"],
        ["run", str(TINY), "--replications", "0"],
        ["run", str(TINY), "--workers", "0"],
        ["run", str(TINY), "--seed", "-1"],
        ["run", str(TINY), "--seed", "abc"],
        ["run", str(TINY), "--frobnicate"],
        ["run", str(TINY), "--out", str(TINY)],  # an existing file is not a folder
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2(args):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Usage" in result.output or "Error" in result.output


def test_run_missing_file_exits_2(tmp_path):
    result = invoke("run", tmp_path / "absent.yaml", "--out", tmp_path / "out")
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert "absent.yaml" in result.output and "not found" in result.output


def test_kpi_names_in_summary_are_the_spec_names(tmp_path):
    out = tmp_path / "out"
    result = invoke("run", TINY, "--out", out, "--workers", "1", "--quiet", "--no-report")
    assert result.exit_code == 0, result.output
    kpis = json.loads((out / "summary.json").read_text())["kpis"]
    spec_names = [k for k in kpis if "." not in k and k in HEADLINE]
    assert spec_names[:8] == list(HEADLINE[:8])


def test_columns_csv_gives_the_unit_of_every_column_of_the_folders_tables(tmp_path):
    """The CSV headers keep machine names; columns.csv is their data dictionary."""
    out = tmp_path / "out"
    proc = sim("run", ROOT / "tests" / "scenarios" / "business_small.yaml", "--out", out,
               "--workers", "1", "--replications", "2", "--no-report")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    units = {(r["file"], r["column"]): r["unit"] for r in read_csv(out / "columns.csv")}
    for name in ("replications.csv", "intervals.csv", "daily.csv"):
        with open(out / name, newline="") as fh:
            header = next(csv.reader(fh))
        assert {c for f, c in units if f == name} == set(header), name
    assert units[("intervals.csv", "service_level_ci_low")] == "share"
    assert units[("intervals.csv", "asa_mean")] == "s"
    assert units[("intervals.csv", "offered_mean")] == "calls"  # per interval, not per day
    assert units[("replications.csv", "offered")] == "calls/day"
    assert units[("daily.csv", "delivery_on_time_mean")] == "share"
    assert units[("intervals.csv", "start")].startswith("HH:MM")
