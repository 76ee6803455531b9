"""Planning searches on the shared executors: jobs with a reduction, the same numbers on every
executor, and a replication that raises reported with its seed and traceback."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.experiments.executors import (
    Job,
    ProcessExecutor,
    ReplicationError,
    SerialExecutor,
    run_all,
)
from sim.kpi.calls import interval_counts, interval_table
from sim.model.simulation import simulate
from sim.planning.staffing import simulate_slots, staff
from sim.scenario.loading import load_scenario, scenario_from_dict
from sim.scenario.resolved import scenario_to_dict

HERE = Path(__file__).parent
TINY = HERE / "scenarios" / "tiny_mmc.yaml"


def _two_groups() -> object:
    """Two groups, two call types, a varying day: per-group binning has something to split."""
    data = scenario_to_dict(load_scenario(TINY))
    data["call_types"] = {
        "sales": {"share": 0.4, "handle_time": {"dist": "exponential", "mean": 240}},
        "care": {"share": 0.6, "handle_time": {"dist": "exponential", "mean": 180}},
    }
    data["agents"] = {
        "groups": {
            "a": {"skills": ["sales"], "staffing": {"00:00": 2, "08:00": 4}},
            "b": {"skills": ["care"], "staffing": 3},
        }
    }
    data["arrivals"] = {
        "daily_volume": 1400,
        "intraday_profile": {"00:00": 0.5, "08:00": 2.0, "18:00": 1.0},
    }
    data["replications"] = 3
    return scenario_from_dict(data)


def _explode(run, bad: int):
    """A reduction that raises in replication ``bad`` (top level: picklable)."""
    if run.replication == bad:
        raise ZeroDivisionError("planted failure")
    return run.replication


def test_staffing_counts_reuse_the_kpi_binning():
    sc = _two_groups()
    run = simulate(sc, seed=3, replication=0)
    table = interval_table(run.records, sc.interval, "mon")
    counts = simulate_slots(sc, 3, 1)[0]  # (5, groups, slots)
    per_day = round(86400 / sc.interval)
    offered = counts[0].sum(axis=0)[:per_day]  # both groups: every call offered
    np.testing.assert_array_equal(offered, table["offered"])
    split = interval_counts(run.records, sc.interval, run.records.calls.call_type, 2)
    whole = interval_counts(run.records, sc.interval)
    np.testing.assert_array_equal(split["quick"].sum(axis=0), whole["quick"][0])
    assert split["offered"][0].sum() > 0 and split["offered"][1].sum() > 0


def test_planning_runs_are_identical_serial_and_in_processes():
    sc = _two_groups()
    serial = simulate_slots(sc, 5, 4, SerialExecutor())
    with ProcessExecutor(2) as ex:
        pooled = simulate_slots(sc, 5, 4, ex)
    np.testing.assert_array_equal(serial, pooled)
    a = staff(sc, replications=2, max_iterations=4, executor="serial")
    b = staff(sc, replications=2, max_iterations=4, executor=ProcessExecutor(2))
    for g in a.staffing:
        np.testing.assert_array_equal(a.staffing[g], b.staffing[g])
    np.testing.assert_array_equal(a.verified.est, b.verified.est)


@pytest.mark.slow
def test_planning_runs_are_identical_on_dask():
    pytest.importorskip("distributed")
    from sim.experiments.executors import DaskExecutor

    sc = _two_groups()
    serial = simulate_slots(sc, 5, 3, "serial")
    with DaskExecutor(workers=2) as ex:
        remote = simulate_slots(sc, 5, 3, ex)
    np.testing.assert_array_equal(serial, remote)


@pytest.mark.parametrize("executor", [SerialExecutor, lambda: ProcessExecutor(2)])
def test_a_replication_that_raises_is_reported_and_the_others_finish(executor):
    sc = load_scenario(TINY)
    reduce = functools.partial(_explode, bad=2)
    jobs = [Job(r, sc, 11, r, reduce=reduce) for r in range(4)]
    seen = []
    with executor() as ex, pytest.raises(ReplicationError) as caught:
        run_all(ex, jobs, lambda done, total: seen.append(done))
    err = caught.value
    assert [(f.seed, f.replication) for f in err.failures] == [(11, 2)]
    assert "ZeroDivisionError: planted failure" in err.failures[0].traceback
    assert "_explode" in err.failures[0].traceback
    assert sorted(err.results) == [0, 1, 3]
    assert seen[-1] == 4
    assert "replication 2 (seed 11) of tiny-mmc failed" in str(err)


def test_cli_run_reports_a_failed_replication_and_exits_1(tmp_path, monkeypatch):
    import sim.experiments.executors as executors

    real = executors.simulate

    def flaky(scenario, seed=None, replication=0, keep_records=True):
        if replication == 1:
            raise RuntimeError("boom in the model")
        return real(scenario, seed=seed, replication=replication, keep_records=keep_records)

    monkeypatch.setattr(executors, "simulate", flaky)
    out = tmp_path / "o"
    args = ["run", str(TINY), "--quiet", "--executor", "serial", "--no-report", "--out", str(out)]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 1, res.output
    assert "replication 1 (seed 7) of tiny-mmc raised RuntimeError: boom in the model" in (
        res.output
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["replications"] == 3  # the other three are summarised
    (failure,) = summary["failures"]
    assert failure["seed"] == 7 and failure["replication"] == 1
    assert "boom in the model" in failure["traceback"]
    assert json.loads((out / "failures.json").read_text())[0]["replication"] == 1
    # a search cannot go on without a replication: staff stops, says so, exit 1
    res = CliRunner().invoke(
        cli, ["staff", str(TINY), "--quiet", "--executor", "serial", "--out", str(tmp_path / "s")]
    )
    assert res.exit_code == 1, res.output
    assert "replication 1 (seed 7)" in res.output
    assert (tmp_path / "s" / "failures.json").is_file()


class _Counting(SerialExecutor):
    """Serial, counting the jobs it runs."""

    def __init__(self):
        self.jobs = 0

    def run(self, jobs):
        jobs = list(jobs)
        self.jobs += len(jobs)
        yield from super().run(jobs)


def test_sizing_simulates_each_point_once_through_the_executor():
    from sim.planning.sizing import size

    data = scenario_to_dict(load_scenario(HERE / "scenarios" / "business_small.yaml"))
    data["targets"] = {"delivery_success": {"at_least": 0.9}}
    data["replications"] = 2
    sc = scenario_from_dict(data, base_dir=HERE / "scenarios")
    ex = _Counting()
    result = size(sc, executor=ex, max_passes=1, base_dir=HERE / "scenarios", verify=3)
    # each point once, then the sized point's fresh-seed check
    assert ex.jobs == len(result.evaluations) * result.replications + 3
    assert result.evaluations[0] is result.start


def test_sizing_resumes_from_kept_replications(tmp_path):
    """A rerun of ``size`` with the folder of kept replications runs only what is missing and
    finds the same point with the same figures (the search replays on the kept runs)."""
    from sim.planning.sizing import size

    data = scenario_to_dict(load_scenario(HERE / "scenarios" / "business_small.yaml"))
    data["targets"] = {"delivery_success": {"at_least": 0.9}}
    data["replications"] = 2
    sc = scenario_from_dict(data, base_dir=HERE / "scenarios")
    kept = tmp_path / "kept"

    def sized(ex):
        return size(sc, executor=ex, max_passes=1, base_dir=HERE / "scenarios", verify=3, kept=kept)

    first, again = _Counting(), _Counting()
    a = sized(first)
    files = sorted(kept.rglob("rep-*.npz"))
    assert len(files) == first.jobs == len(a.evaluations) * 2 + 3
    for path in files[::3]:  # as if killed before these were written
        path.unlink()
    b = sized(again)
    assert again.jobs == len(files[::3])
    assert b.best.values == a.best.values and b.best.kpis == a.best.kpis
    assert [e.values for e in b.evaluations] == [e.values for e in a.evaluations]
    assert b.verified == a.verified
