"""Replications with stopping rules, executors, paired comparison and progress output."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import sim_cli
from scipy import stats

from sim.cli import cli
from sim.experiments.comparison import compare, paired_differences
from sim.experiments.executors import ExecutorError, ProcessExecutor, SerialExecutor, make_executor
from sim.experiments.progress import progress
from sim.experiments.replication import (
    StoppingRule,
    StoppingRuleError,
    mean_ci,
    replicate,
    run_replications,
)
from sim.model.simulation import simulate
from sim.scenario.loading import load_scenario

HERE = Path(__file__).parent
TINY = HERE / "scenarios" / "tiny_mmc.yaml"
TINY_MORE = HERE / "scenarios" / "tiny_mmc_more_agents.yaml"


@pytest.fixture(scope="module")
def tiny():
    return load_scenario(TINY)


@pytest.fixture(scope="module")
def tiny_more():
    return load_scenario(TINY_MORE)


# --- executors ---------------------------------------------------------------------------------


def test_executors_give_identical_runs_in_index_order(tiny):
    serial = list(run_replications(tiny, 3, range(5), executor="serial"))
    pooled = list(run_replications(tiny, 3, range(5), workers=2, executor="processes"))
    assert [r.replication for r in pooled] == list(range(5))
    for a, b in zip(serial, pooled, strict=True):
        assert a.kpis == b.kpis
        assert a.intervals.keys() == b.intervals.keys()
        for k in a.intervals:
            np.testing.assert_array_equal(a.intervals[k], b.intervals[k])
        assert b.records is None
    # and equal to a direct call: replication i uses streams (seed, i)
    assert serial[3].kpis == simulate(tiny, seed=3, replication=3).kpis


def test_replicate_is_the_same_for_any_worker_count(tiny):
    one = replicate(tiny, replications=6, seed=5, executor="serial")
    many = replicate(tiny, replications=6, seed=5, workers=3)
    assert one.to_dict() == many.to_dict()


def test_make_executor_rejects_bad_combinations():
    with pytest.raises(ExecutorError, match="unknown executor"):
        make_executor("threads")
    with pytest.raises(ExecutorError, match="--address goes with --executor dask"):
        make_executor("processes", address="tcp://127.0.0.1:1")
    assert isinstance(make_executor("serial"), SerialExecutor)
    ex = make_executor(None, workers=3)
    assert isinstance(ex, ProcessExecutor) and ex.workers == 3


# --- stopping rules ----------------------------------------------------------------------------


def test_stopping_rule_parses_absolute_relative_and_combined():
    rule = StoppingRule.parse("service_level half-width < 0.005 and asa rel-half-width <= 5%")
    assert [(c.kpi, c.measure, c.below) for c in rule.criteria] == [
        ("service_level", "half-width", 0.005),
        ("asa", "rel-half-width", 0.05),
    ]
    for bad in (
        "service_level < 0.005",
        "service_level width < 1",
        "sl half-width > 1",
        "service_level half-width < 0",
    ):
        with pytest.raises(StoppingRuleError):
            StoppingRule.parse(bad)


def test_stopping_stops_at_the_first_n_that_meets_the_rule_for_any_batch_size(tiny):
    rule = "service_level half-width < 0.03"
    results = [
        replicate(tiny, replications=40, seed=2, until=rule, executor="serial"),
        replicate(tiny, replications=40, seed=2, until=rule, workers=2),
        replicate(tiny, replications=40, seed=2, until=rule, workers=3),
    ]
    n = results[0].stopping["replications"]
    assert results[0].stopping["reached"]
    assert all(r.stopping["replications"] == n for r in results)
    assert all(r.to_dict() == results[0].to_dict() for r in results)
    # n is the first prefix whose interval is narrow enough (and at least 5)
    values = [run.kpis["service_level"] for run in results[0].runs]
    half = [
        None if ci is None else (ci[1] - ci[0]) / 2
        for _, ci, _ in (mean_ci(values[:k]) for k in range(1, n + 1))
    ]
    assert half[n - 1] < 0.03
    assert n == 5 or all(h is None or h >= 0.03 for h in half[4 : n - 1])


def test_stopping_rule_not_reached_runs_the_maximum(tiny):
    s = replicate(
        tiny, replications=6, seed=1, until="service_level half-width < 1e-9", executor="serial"
    )
    assert s.replications == 6 and s.stopping["reached"] is False
    assert s.to_dict()["stopping"]["max_replications"] == 6


def test_stopping_rule_with_unknown_kpi_names_the_close_one(tiny):
    with pytest.raises(StoppingRuleError, match="did you mean 'service_level'"):
        replicate(tiny, replications=6, until="service_levle half-width < 0.01", executor="serial")


def test_cli_run_until_reports_how_many_and_rejects_bad_rules(tmp_path):
    def run(out: str, rule: str, *more: str):
        return sim_cli("run", TINY, "--out", tmp_path / out, "--quiet", "--until", rule, *more)

    res = run(
        "r", "service_level half-width < 0.05", "--executor", "serial", "--replications", "30"
    )
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    n = summary["stopping"]["replications"]
    assert f"stopping rule met after {n} replications" in res.output
    assert summary["replications"] == n
    bad = run("b", "service_level below 0.05")
    assert bad.exit_code == 2 and "cannot read the stopping rule" in bad.output
    typo = run("t", "servce_level half-width < 1", "--executor", "serial")
    assert typo.exit_code == 2 and "did you mean 'service_level'" in typo.output


# --- paired comparison -------------------------------------------------------------------------


def test_paired_differences_match_a_hand_computation(tiny, tiny_more):
    a = list(run_replications(tiny, 4, range(6), executor="serial"))
    b = list(run_replications(tiny_more, 4, range(6), executor="serial"))
    diffs = paired_differences(a, b)
    sl_a = np.array([r.kpis["service_level"] for r in a])
    sl_b = np.array([r.kpis["service_level"] for r in b])
    d = diffs["service_level"]
    assert d.mean == pytest.approx(float(np.mean(sl_b - sl_a)))
    assert d.ci95 == pytest.approx(mean_ci((sl_b - sl_a).tolist())[1])
    var_ind = np.var(sl_a, ddof=1) + np.var(sl_b, ddof=1)
    assert d.variance_reduction == pytest.approx(var_ind / np.var(sl_b - sl_a, ddof=1))
    # common random numbers: the same callers, so the offered load does not differ at all
    assert diffs["offered"].mean == 0 and diffs["offered"].significant is False
    assert diffs["offered"].variance_reduction == float("inf")


def test_compare_crn_beats_independent_seeds(tiny, tiny_more):
    """The estimate (s²A + s²B) / s²(B−A) agrees with running B on independent streams."""
    n = 30
    cmp = compare([tiny, tiny_more], replications=n, seed=9, executor="serial")
    d = cmp.differences["tiny-mmc-6-agents"]["service_level"]
    assert d.significant and d.mean > 0
    assert d.variance_reduction > 2
    a = [r.kpis["service_level"] for r in cmp.summaries[0].runs]
    b_indep = [
        r.kpis["service_level"]
        for r in run_replications(tiny_more, 9, range(n, 2 * n), executor="serial")
    ]
    var_indep = np.var(np.subtract(b_indep, a), ddof=1)
    b = [r.kpis["service_level"] for r in cmp.summaries[1].runs]
    estimate = np.var(a, ddof=1) + np.var(b, ddof=1)
    assert 0.5 < var_indep / estimate < 2
    assert var_indep > 2 * np.var(np.subtract(b, a), ddof=1)


def test_cli_compare_writes_the_folder_and_prints_the_table(tmp_path):
    out = tmp_path / "cmp"
    res = CliRunner().invoke(
        cli,
        [
            "compare",
            str(TINY),
            str(TINY_MORE),
            "--out",
            str(out),
            "--replications",
            "5",
            "--quiet",
            "--executor",
            "serial",
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads((out / "comparison.json").read_text())
    assert data["scenarios"] == ["tiny-mmc", "tiny-mmc-6-agents"]
    pair = data["pairs"][0]
    assert pair["baseline"] == "tiny-mmc" and pair["alternative"] == "tiny-mmc-6-agents"
    sl = pair["differences"]["service_level"]
    a, b = (
        np.array([float(r["service_level"]) for r in csv.DictReader(path.read_text().splitlines())])
        for path in (out / name / "replications.csv" for name in data["scenarios"])
    )
    d = b - a  # the paired differences, from the two run folders on disk
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    assert sl["mean"] == pytest.approx(d.mean())
    assert sl["ci95"] == pytest.approx([d.mean() - half, d.mean() + half])
    assert sl["significant"] == (abs(d.mean()) > half)
    assert set(data["summaries"]) == {"tiny-mmc", "tiny-mmc-6-agents"}
    table = (out / "comparison.csv").read_text().splitlines()
    assert table[0].startswith("baseline,alternative,kpi,")
    for folder in ("tiny-mmc", "tiny-mmc-6-agents"):
        rows = (out / folder / "replications.csv").read_text().splitlines()
        assert len(rows) == 1 + 5
    assert "service_level" in res.output and "tiny-mmc-6-agents − tiny-mmc" in res.output
    one = CliRunner().invoke(cli, ["compare", str(TINY), "--quiet"])
    assert one.exit_code == 2 and "at least two" in one.output


# --- progress ----------------------------------------------------------------------------------


def test_progress_plain_lines_when_not_a_terminal_and_nothing_when_quiet():
    buf = io.StringIO()
    with progress(10, "job", stream=buf, every_s=0.0) as advance:
        for i in range(1, 11):
            advance(i, 10)
    lines = buf.getvalue().splitlines()
    assert lines[0].startswith("job: 1/10 runs (10%)") and "runs/s" in lines[0]
    assert "ETA" in lines[0] and lines[-1].startswith("job: 10 runs done in")
    quiet = io.StringIO()
    with progress(10, "job", quiet=True, stream=quiet) as advance:
        advance(5, 10)
    assert quiet.getvalue() == ""


def test_progress_rich_bar_on_a_terminal():
    buf = io.StringIO()
    with progress(4, "job", stream=buf, tty=True) as advance:
        for i in range(1, 5):
            advance(i, 4)
    assert "job" in buf.getvalue()


def test_dask_executor_without_distributed_says_how_to_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_dask(name, *args, **kwargs):
        if name.startswith(("dask", "distributed")):
            raise ImportError(f"No module named '{name}'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    with pytest.raises(ExecutorError, match=r"pip install 'sim\[dask\]'"):
        make_executor("dask")
    res = CliRunner().invoke(cli, ["run", str(TINY), "--quiet", "--executor", "dask"])
    assert res.exit_code == 2 and "pip install" in res.output


def test_summary_verdicts_come_from_the_target_and_missing_data_keeps_its_target(tiny):
    from sim.experiments.replication import summarize
    from sim.scenario.loading import scenario_from_dict
    from sim.scenario.resolved import scenario_to_dict

    data = scenario_to_dict(tiny)
    sl = tiny.targets["service_level"].at_least
    data["targets"] = {
        "service_level": {"at_least": sl},
        "delivery_on_time": {"at_least": 0.9},  # no delivery in this scenario: no data
    }
    sc = scenario_from_dict(data)
    runs = list(run_replications(sc, 5, range(3), executor="serial"))
    k = summarize(sc, 5, runs).kpis
    mean = float(np.mean([r.kpis["service_level"] for r in runs]))
    assert (k["service_level"].target, k["service_level"].bound) == (sl, "at_least")
    assert k["service_level"].met is (mean >= sl)
    none = k["delivery_on_time"]
    assert (none.mean, none.target, none.bound, none.met) == (None, 0.9, "at_least", None)
    assert none.to_dict() == {"mean": None, "ci95": None, "target": 0.9, "met": None}


def test_staffing_maps_are_compared_as_what_they_put_on_duty():
    """Two maps with different breakpoints differ only where the agents differ (issue 26)."""
    from sim.scenario.diff import changes, describe, staffing_by_day

    week = {d: {"00:00": 0, "08:00": 5, "20:00": 0} for d in ("tue", "wed", "thu", "fri")}
    a = {"mon": {"06:30": 12, "07:00": 14, "20:00": 0}, **week, "sat": 0, "sun": 3}
    b = {"00:00": 0, "08:00": 5, "09:00": 5, "12:00": 6, "20:00": 0}  # 09:00: no change
    by_day = staffing_by_day(a, b)
    # monday before 06:30 carries sunday's 3 past midnight; tuesday to friday differ at noon only
    assert by_day["mon"] == [
        ("00:00", "06:30", 3, 0),
        ("06:30", "07:00", 12, 0),
        ("07:00", "08:00", 14, 0),
        ("08:00", "12:00", 14, 5),
        ("12:00", "20:00", 14, 6),
    ]
    assert by_day["tue"] == by_day["fri"] == [("12:00", "20:00", 5, 6)]
    assert by_day["sat"] == [("08:00", "12:00", 0, 5), ("12:00", "20:00", 0, 6)]
    scen = {"agents": {"groups": {"t": {"staffing": a}}}, "seed": 1}
    other = {"agents": {"groups": {"t": {"staffing": b}}}, "seed": 2}
    found = changes(scen, other)
    assert ("agents.groups.t.staffing, tue-fri 12:00-20:00", 5, 6) in found
    assert ("seed", 1, 2) in found and len(found) == 1 + 5 + 1 + 2 + 4  # seed, mon ... sun
    line = describe(scen, other)
    assert "agents.groups.t.staffing: differs on mon-sun for 88 h of the week, 0-14 -> 0-6" in line
    assert "(none)" not in line and "seed: 1 -> 2" in line
    same = {"00:00": 0, "08:00": 5, "12:00": 5, "20:00": 0}  # other words, the same plan
    assert staffing_by_day(week["tue"], same) == {}
    assert changes({"s": {"x": 1}}, {"s": {}}) == [("s.x", 1, None)]
    assert "s.x: 1 -> (not set)" in describe({"s": {"x": 1}}, {"s": {}})


def test_cli_compare_of_plans_with_other_breakpoints_says_what_changed_in_effect(tmp_path):
    from sim.scenario.resolved import scenario_to_dict

    files = []
    for name, plan in (
        ("fitted", {"00:00": 4, "06:30": 5, "07:00": 6, "12:00": 5}),
        ("staffed", {"00:00": 4, "07:00": 6, "11:00": 6, "12:00": 7, "18:00": 5}),
    ):
        data = {**scenario_to_dict(load_scenario(TINY)), "name": name}
        data["agents"]["groups"]["team"]["staffing"] = plan
        files.append(tmp_path / f"{name}.yaml")
        files[-1].write_text(json.dumps(data))  # JSON is YAML
    out = tmp_path / "cmp"
    args = ["compare", *map(str, files), "--out", str(out), "--replications", "2", "--quiet"]
    res = CliRunner().invoke(cli, [*args, "--executor", "serial"])
    assert res.exit_code == 0, res.output
    page = (out / "report.html").read_text()
    for text in (res.output, page):
        assert "(none)" not in text
    line = "agents.groups.team.staffing: differs on mon-sun for 45.5 h of the week, 5 -> 4-7"
    assert line in " ".join(res.output.split())
    change = json.loads((out / "comparison.json").read_text())["changes"]["staffed"]
    assert change["staffing"]["team"]["mon"] == [["06:30", "07:00", 5, 4], ["12:00", "18:00", 5, 7]]
    grid = page[page.index('class="staffing-diff"') :]
    grid = grid[: grid.index("</table>")]
    assert "06:30–07:00" in grid and "12:00–18:00" in grid and "5 → 7" in grid
    assert "07:00–12:00" not in grid  # the same 6 agents, whatever the keys
