"""Parameter sweeps: experiment files, designs, the Parquet store, resume, and the Dask executor."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.experiments.experiment_file import load_experiment, parse_path, set_path
from sim.experiments.sweep import read_results, run_sweep
from sim.model.simulation import simulate
from sim.scenario.confine import extra_roots
from sim.scenario.errors import ScenarioError
from sim.scenario.loading import scenario_from_dict
from sim.scenario.resolved import scenario_to_dict

HERE = Path(__file__).parent
ROOT = HERE.parent
SCEN = HERE / "scenarios"
SWEEP = SCEN / "sweep_tiny.yaml"


def write_experiment(tmp_path: Path, body: str, name: str = "exp.yaml") -> Path:
    """An experiment file in tmp_path whose base is a copy of tests/scenarios/tiny_mmc.yaml
    beside it (an experiment reads files under its own folder only)."""
    path = tmp_path / name
    (tmp_path / "tiny_mmc.yaml").write_text((SCEN / "tiny_mmc.yaml").read_text())
    path.write_text("scenario: tiny_mmc.yaml\n" + body)
    return path


# --- dotted paths ------------------------------------------------------------------------------


def test_dotted_paths_set_nested_values_and_list_items():
    data = {"agents": {"groups": {"team": {"staffing": 5, "shifts": [{"count": 1}]}}}}
    set_path(data, "agents.groups.team.staffing", 9)
    set_path(data, "agents.groups.team.shifts[0].count", 4)
    set_path(data, "agents.after_call_work.mean", 20)
    assert data["agents"]["groups"]["team"]["staffing"] == 9
    assert data["agents"]["groups"]["team"]["shifts"][0]["count"] == 4
    assert data["agents"]["after_call_work"] == {"mean": 20}
    assert parse_path("a.b[2].c") == ["a", "b", 2, "c"]
    with pytest.raises(ValueError, match="not a mapping"):
        set_path(data, "agents.groups.team.staffing.08:00", 3)
    with pytest.raises(ValueError, match=r"no item \[3\]"):
        set_path(data, "agents.groups.team.shifts[3].count", 3)
    with pytest.raises(ValueError, match="not a dotted path"):
        parse_path("agents..team")


# --- designs -----------------------------------------------------------------------------------


def test_grid_is_the_product_in_file_order_and_ranges_include_the_end(tmp_path):
    path = write_experiment(
        tmp_path,
        """name: g
parameters:
  agents.groups.team.staffing: {from: 4, to: 6, step: 1}
  arrivals.rate_per_hour: {from: 50, to: 60.5, step: 2.5}
replications: 2
""",
    )
    sweep = load_experiment(path)
    staff = [p["agents.groups.team.staffing"] for p in sweep.points]
    rate = [p["arrivals.rate_per_hour"] for p in sweep.points]
    assert staff == [4] * 5 + [5] * 5 + [6] * 5
    assert rate[:5] == [50.0, 52.5, 55.0, 57.5, 60.0]
    assert sweep.scenarios[7].agents.groups["team"].staffing == 5
    assert sweep.scenarios[7].arrivals.rate_per_hour == 55.0
    assert sweep.seed == 7  # the base scenario's seed when the file gives none


def test_latin_hypercube_is_stratified_bounded_and_reproducible(tmp_path):
    body = """name: lhs
parameters:
  agents.groups.team.staffing: {low: 3, high: 12, integer: true}
  arrivals.rate_per_hour: {low: 40, high: 80}
design: latin_hypercube
points: 10
seed: 3
replications: 1
"""
    a = load_experiment(write_experiment(tmp_path, body))
    b = load_experiment(write_experiment(tmp_path, body, "again.yaml"))
    assert a.points == b.points
    staff = sorted(p["agents.groups.team.staffing"] for p in a.points)
    assert staff == list(range(3, 13))  # 10 integers in 10 strata: each exactly once
    rates = np.array([p["arrivals.rate_per_hour"] for p in a.points])
    strata = np.floor((rates - 40) / 4).astype(int)  # one point in each tenth of the range
    assert sorted(strata) == list(range(10))
    other = load_experiment(a.path, seed=4)
    assert other.points != a.points


# --- bad experiment files ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, where, message",
    [
        (
            "name: x\nparameters:\n  agents.groups.team.staffing: [4]\nreplicatons: 3\n",
            ":5: replicatons",
            "did you mean 'replications'",
        ),
        (
            "name: x\nparameters:\n  agents.groups.team.staffing: [4, -1]\n",
            ":4: parameters.agents.groups.team.staffing",
            "point 1 (agents.groups.team.staffing = -1)",
        ),
        (
            "name: x\nparameters:\n  agents.groups.team.stafing: [4]\n",
            ":4: parameters.agents.groups.team.stafing",
            "unknown key 'stafing'",
        ),
        (
            "name: x\nparameters:\n  agents.groups.team.staffing: {low: 1, high: 4}\n",
            ":4: parameters.agents.groups.team.staffing",
            "need design: latin_hypercube",
        ),
        (
            "name: x\nparameters:\n  agents.groups.team.staffing: {from: 5, to: 1, step: 1}\n",
            ":4: parameters.agents.groups.team.staffing",
            "from <= to",
        ),
        (
            "name: x\ndesign: latin_hypercube\nparameters:\n"
            "  arrivals.rate_per_hour: {low: 1, high: 4}\n",
            ":3: design",
            "needs points",
        ),
    ],
)
def test_bad_experiment_files_name_file_line_and_path(tmp_path, body, where, message):
    path = write_experiment(tmp_path, body)
    with pytest.raises(ScenarioError) as err:
        load_experiment(path)
    text = str(err.value)
    assert f"{path}{where}" in text and message in text
    res = CliRunner().invoke(cli, ["sweep", str(path), "--out", str(tmp_path / "o"), "--quiet"])
    assert res.exit_code == 2 and message in res.output and "Traceback" not in res.output


def test_missing_base_scenario_points_at_the_scenario_key(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("name: x\nscenario: nowhere.yaml\nparameters:\n  arrivals.rate_per_hour: [1]\n")
    with pytest.raises(ScenarioError, match=r"exp.yaml:2: scenario: scenario file not found"):
        load_experiment(path)


# --- the store ---------------------------------------------------------------------------------


def test_sweep_store_is_tidy_and_matches_direct_runs(tmp_path):
    sweep = load_experiment(SWEEP)
    result = run_sweep(sweep, tmp_path / "out", executor="serial")
    table = read_results(tmp_path / "out")
    assert table.num_rows == 6 * 3 == result.runs == result.new
    assert table.column_names[:5] == [
        "point",
        "agents.groups.team.staffing",
        "customer_tiers.standard.patience.mean",
        "replication",
        "seed",
    ]
    keys = list(zip(table["point"].to_pylist(), table["replication"].to_pylist(), strict=True))
    assert keys == [(p, r) for p in range(6) for r in range(3)]
    row = 4 * 3 + 2  # point 4, replication 2
    direct = simulate(sweep.scenarios[4], seed=11, replication=2)
    assert table["service_level"][row].as_py() == direct.kpis["service_level"]
    assert table["agents.groups.team.staffing"][row].as_py() == 6
    # common random numbers across points: every point offered the same calls per replication
    offered = np.array(table["offered"].to_pylist()).reshape(6, 3)
    assert (offered == offered[0]).all()
    points = (tmp_path / "out" / "points.csv").read_text().splitlines()
    assert len(points) == 7 and points[0].startswith(
        "point,agents.groups.team.staffing,customer_tiers.standard.patience.mean,replications,"
        "seed,offered_mean,offered_ci_low,offered_ci_high,service_level_mean"
    )
    meta = json.loads((tmp_path / "out" / "sweep.json").read_text())
    assert meta["complete"] and meta["runs"] == 18
    assert meta["targets"] == {"service_level": {"at_least": 0.8}}


def test_resume_skips_stored_runs_and_refuses_another_experiment(tmp_path):
    sweep = load_experiment(SWEEP)
    out = tmp_path / "out"
    clean = run_sweep(sweep, out, executor="serial").table
    runs = sorted((out / "runs").iterdir())
    for f in runs[::2]:
        f.unlink()
    (out / "runs" / ".p000000-r000000.parquet.tmp").write_bytes(b"half a file")
    (out / "results.parquet").unlink()
    again = run_sweep(sweep, out, workers=2, executor="processes")
    assert again.new == len(runs[::2]) and again.runs == 18
    assert again.table.equals(clean)
    assert not list((out / "runs").glob(".*"))
    more = run_sweep(sweep, out, replications=4, executor="serial")  # replications may grow
    assert more.new == 6 and more.table.num_rows == 24
    other = load_experiment(SWEEP, seed=12)
    with pytest.raises(ScenarioError, match="another seed"):
        run_sweep(other, out, executor="serial")


@pytest.mark.slow
def test_cli_sweep_prints_the_points_the_counts_and_progress_lines(tmp_path):
    args = ["sweep", str(SWEEP), "--out", str(tmp_path / "o"), "--replications", "2"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "12 runs made, 0 found stored" in res.stdout
    assert "service_level" in res.stdout
    assert "sweep-tiny: runs: 12 runs done in" in res.stderr  # not a terminal: plain lines
    assert pq.read_table(tmp_path / "o" / "results.parquet").num_rows == 12
    again = CliRunner().invoke(cli, [*args, "--quiet"])
    assert again.exit_code == 0 and "0 runs made, 12 found stored" in again.stdout
    assert again.stderr == ""


def test_bundled_agents_experiment_loads(monkeypatch):
    """The bundled experiments use ../scenarios: run from the project folder as the README
    shows, the command line's current folder is a root (issue 26)."""
    monkeypatch.chdir(ROOT)
    path = Path("experiments") / "agents_vs_service_level.yaml"
    with pytest.raises(ValueError, match="outside the data root"):
        load_experiment(path)  # from Python: the file's own folder only
    with extra_roots(cwd_tree=True):  # as every sim command enters it
        sweep = load_experiment(path)
    assert len(sweep.points) == 18
    assert {s.agents.groups["team"].staffing for s in sweep.scenarios} == set(range(12, 18))
    assert all(s.horizon.days == 6 for s in sweep.scenarios)


def test_bundled_courier_capacity_experiment_loads():
    if not (ROOT / "scenarios" / "hotline_baseline.yaml").exists():
        pytest.skip("needs scenarios/hotline_baseline.yaml with the delivery section (issue 4)")
    with extra_roots(ROOT):
        sweep = load_experiment(ROOT / "experiments" / "courier_capacity.yaml")
    path = "delivery.channels.courier_company.daily_capacity"
    caps = [
        scenario_to_dict(s)["delivery"]["channels"]["courier_company"]["daily_capacity"]
        for s in sweep.scenarios
    ]
    assert caps == [p[path] for p in sweep.points]
    data = scenario_to_dict(sweep.scenarios[0])
    data["horizon"].update(days=2, warmup=0)
    kpis = simulate(scenario_from_dict(data, base_dir=ROOT / "scenarios"), seed=1).kpis
    assert set(sweep.experiment.kpis) <= set(kpis)


# --- a sweep killed with SIGKILL and resumed ---------------------------------------------------


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.mark.slow
def test_sweep_killed_with_sigkill_resumes_without_gaps_or_duplicates(tmp_path):
    path = write_experiment(
        tmp_path,
        """name: kill-me
fixed:
  horizon.days: 2
  arrivals.rate_per_hour: 200
  agents.groups.team.staffing: 15
parameters:
  customer_tiers.standard.patience.mean: [60, 120, 240, 480]
replications: 12
seed: 5
""",
    )
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "sim", "sweep", str(path), "--out", str(out), "--workers", "2"]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if len(list((out / "runs").glob("p*.parquet"))) >= 6:
                break
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    stored = len(list((out / "runs").glob("p*.parquet")))
    assert 6 <= stored < 48, "the sweep should have been killed part way"
    assert _gone(str(out), within_s=10), "pool workers outlived the killed sweep"
    assert not (out / "results.parquet").exists()
    res = subprocess.run(
        [*cmd, "--quiet"], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr
    table = read_results(out)
    keys = list(zip(table["point"].to_pylist(), table["replication"].to_pylist(), strict=True))
    assert keys == [(p, r) for p in range(4) for r in range(12)]  # each once, none missing
    assert f"{48 - stored} runs made, {stored} found stored" in res.stdout
    clean = run_sweep(load_experiment(path), tmp_path / "clean", executor="serial").table
    assert table.equals(clean)


def _gone(marker: str, within_s: float) -> bool:
    """No process whose command line holds ``marker`` is left after ``within_s`` seconds."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        alive = []
        for proc in Path("/proc").iterdir():
            try:
                if proc.name.isdigit() and marker in (proc / "cmdline").read_bytes().decode(
                    errors="replace"
                ):
                    alive.append(proc.name)
            except OSError:
                continue
        if not alive:
            return True
        time.sleep(0.1)
    return False


# --- Dask: a real scheduler and worker ---------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_dask_cluster_gives_the_same_numbers_as_serial(tmp_path):
    pytest.importorskip("distributed")
    from dask.distributed import Client

    from sim.experiments.replication import replicate
    from sim.scenario.loading import load_scenario

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = [
        sys.executable,
        "-m",
        "distributed.cli.dask_scheduler",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-dashboard",
    ]
    worker = [
        sys.executable,
        "-m",
        "distributed.cli.dask_worker",
        address,
        "--host",
        "127.0.0.1",
        "--nworkers",
        "2",
        "--nthreads",
        "1",
        "--no-dashboard",
    ]
    procs = []
    try:
        procs.append(
            subprocess.Popen(
                scheduler,
                cwd=ROOT,
                env=_env(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        procs.append(
            subprocess.Popen(
                worker, cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        )
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        sweep = load_experiment(SWEEP)
        on_dask = run_sweep(sweep, tmp_path / "dask", executor="dask", address=address).table
        serial = run_sweep(sweep, tmp_path / "serial", executor="serial").table
        assert on_dask.equals(serial)
        scenario = load_scenario(SCEN / "tiny_mmc.yaml")
        a = replicate(scenario, replications=4, executor="dask", address=address)
        b = replicate(scenario, replications=4, executor="serial")
        assert a.to_dict() == b.to_dict()
        res = CliRunner().invoke(
            cli,
            [
                "sweep",
                str(SWEEP),
                "--out",
                str(tmp_path / "cli"),
                "--quiet",
                "--executor",
                "dask",
                "--address",
                address,
            ],
        )
        assert res.exit_code == 0, res.output
        assert read_results(tmp_path / "cli").equals(serial)
        local = replicate(scenario, replications=3, executor="dask", workers=1)  # LocalCluster
        assert local.to_dict() == replicate(scenario, replications=3, executor="serial").to_dict()
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in reversed(procs):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_mapping_values_are_stored_as_json_text(tmp_path):
    path = write_experiment(
        tmp_path,
        """name: maps
parameters:
  agents.groups.team.staffing: [{"00:00": 4, "12:00": 6}, 5]
replications: 1
""",
    )
    sweep = load_experiment(path)
    assert sweep.scenarios[0].agents.groups["team"].staffing != 5
    table = run_sweep(sweep, tmp_path / "out", executor="serial").table
    assert table.schema.field("agents.groups.team.staffing").type == "string"
    assert json.loads(table["agents.groups.team.staffing"][0].as_py()) == {"00:00": 4, "12:00": 6}
    assert table["agents.groups.team.staffing"][1].as_py() == "5"
