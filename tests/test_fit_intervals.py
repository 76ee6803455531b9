"""sim fit from an interval report: the reader's errors, telling a report from a call log, and
the round trip simulate -> call log -> interval report -> fit against the known truth.

The truth is tests/scenarios/ireport_truth.yaml (closed nights and weekends, two call types,
exponential patience 3 min, a staffing map). Its call log (seed 11) is aggregated into a 30-min
report by :func:`sim.fit.interval_report.report_from_calls` with the scenario's staffing
as the ``agents`` column. Checks against the truth use the Bonferroni width of test_fit.py.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from conftest import SCENARIOS, fixture_data, sim_cli, sim_ok, simulated_log

from sim.fit.calllog import read_call_log
from sim.fit.from_intervals import HANDLE_CV, fit_report, handle_shapes
from sim.fit.interval_report import (
    file_kind,
    load_report_mapping,
    read_interval_report,
    report_from_calls,
)
from sim.fit.pipeline import FitOptions, fit_log
from sim.fit.scenario_out import build_scenario
from sim.scenario.errors import ScenarioError
from sim.scenario.loading import scenario_from_dict
from sim.scenario.units import DAY, WEEKDAYS

WIDEN = 3.14 / 1.96
TRUTH = SCENARIOS / "ireport_truth.yaml"
HEADER = "start,call_type,offered,answered,abandoned,answered_within,handle_time,asa,abandon_wait\n"


def staffing_at(data: dict, starts: np.ndarray) -> dict:
    """The truth's agents on duty at each interval start (epoch seconds), one group."""
    plan = next(iter(data["agents"]["groups"].values()))["staffing"]
    out = {}
    for s in np.unique(starts).tolist():
        day_plan = plan[WEEKDAYS[(s // int(DAY) + 3) % 7]]
        clock = s % int(DAY)
        n = 0
        if isinstance(day_plan, dict):
            for k, v in day_plan.items():
                if int(k[:2]) * 3600 + int(k[3:]) * 60 <= clock:
                    n = v
        out[s] = n
    return out


def write_report(cols: dict, path) -> None:
    """A report's columns as CSV: start as ISO text, empty cells for NaN."""
    cols = dict(cols)
    cols["start"] = np.asarray(cols["start"]).astype("datetime64[s]")
    table = pa.table({k: pa.array(v, from_pandas=True) for k, v in cols.items()})
    pacsv.write_csv(table, path)


@pytest.fixture(scope="module")
def truth(tmp_path_factory):
    """(truth data, call log, report path, fit from the report, fit from the call log)."""
    folder = tmp_path_factory.mktemp("ireport")
    log = read_call_log(simulated_log(TRUTH, 11, folder))
    data = fixture_data("ireport_truth.yaml")
    slots = (log.arrival // 1800) * 1800
    cols = report_from_calls(log, 1800, 20, agents=staffing_at(data, slots))
    path = folder / "report.csv"
    write_report(cols, path)
    report = read_interval_report(path)
    return data, log, path, fit_report(report, FitOptions()), fit_log(log, FitOptions(min_handle=0))


def test_round_trip_arrivals_and_closed_slots(truth):
    data, _, _, result, _ = truth
    arr = result.fit["arrivals"]
    factors, volume = data["arrivals"]["weekday_factors"], data["arrivals"]["daily_volume"]
    open_days = [w for w, f in factors.items() if f > 0]
    for w in ("sat", "sun"):
        assert arr["weekdays"][w]["factor"] == 0.0
    assert arr["holidays"] == []
    for w in open_days:
        mean, ci = volume * factors[w], arr["weekdays"][w]["mean_calls_ci95"]
        assert abs(mean - sum(ci) / 2) <= (ci[1] - ci[0]) / 2 * WIDEN, w
    clocks = [int(k[:2]) * 60 + int(k[3:]) for k in arr["intraday_profile"]]
    assert min(clocks) == 8 * 60 and max(clocks) == 18 * 60 + 30  # open 08:00-19:00 only
    scenario, _ = build_scenario(result.fit, "t", 1.0, 7)
    staffing = scenario["agents"]["groups"]["agents"]["staffing"]
    assert staffing["sat"] == 0 and staffing["sun"] == 0
    assert staffing["mon"]["00:00"] == 0 and staffing["mon"]["19:00"] == 0
    scenario_from_dict(scenario)  # validates


def test_round_trip_handle_time_means_are_observed_and_the_cv_assumed(truth):
    data, _, _, result, from_log = truth
    for name, ctype in data["call_types"].items():
        h = result.fit["handle_times"]["by_type"][name]
        true_mean = float(ctype["handle_time"]["mean"].rstrip("min")) * 60
        se = true_mean * ctype["handle_time"]["cv"] / np.sqrt(h["n"])
        assert abs(h["mean"] - true_mean) <= 1.96 * WIDEN * se, name
        assert h["mean"] == pytest.approx(from_log.fit["handle_times"]["by_type"][name]["mean"])
        assert h["cv"] == HANDLE_CV and "ASSUMED" in h["note"]
    assert result.fit["provenance"]["handle_time_shape"].startswith("assumed")


def test_handle_time_shape_from_a_call_log_beside_the_report(truth):
    data, log, path, _, _ = truth
    result = fit_report(read_interval_report(path), FitOptions(), handle_shapes(log, 3.0), "c")
    for name, ctype in data["call_types"].items():
        h = result.fit["handle_times"]["by_type"][name]
        assert h["family"] == ctype["handle_time"]["dist"], name  # lognormal / gamma
        assert abs(h["cv"] - ctype["handle_time"]["cv"]) < 0.03, name
        assert "from the call log" in h["note"]
    assert result.fit["provenance"]["handle_time_shape"].startswith("observed in the call log")


def test_round_trip_patience_is_the_censored_mle_of_the_calls(truth):
    """Abandons / (answered x ASA + abandoned x abandon wait) is the exponential MLE the call-log
    path computes from every wait: the report holds its sufficient statistics."""
    _, _, _, result, from_log = truth
    p = result.fit["patience"]["all"]
    exp_log = from_log.fit["patience"]["standard"]["exponential"]
    assert p["exponential"]["abandoned"] == exp_log["abandoned"] > 300
    assert p["mean"] == pytest.approx(exp_log["mean"], rel=1e-6)
    ci = p["exponential"]["mean_ci95"]
    assert abs(180 - sum(ci) / 2) <= (ci[1] - ci[0]) / 2 * WIDEN
    assert p["note"].startswith("INFERRED")


def test_round_trip_agents_are_the_reports(truth):
    data, _, _, result, _ = truth
    grid = result.fit["agents"]["seen"]["groups"]["agents"]
    plan = next(iter(data["agents"]["groups"].values()))["staffing"]
    for w, wd in enumerate(WEEKDAYS):
        for slot in range(48):
            start = (4 + w) * int(DAY) + slot * 1800  # 1970-01-05 was a Monday
            want = staffing_at(data, np.array([start]))[start]
            if plan[wd] == 0 or not 16 <= slot < 38:
                want = 0  # closed: no row, no agents
            assert grid[w][slot] == want, (wd, slot)
    assert result.fit["agents"]["seen"]["method"].startswith("OBSERVED")


def test_without_agents_erlang_a_recovers_the_staffing_shape(truth, tmp_path):
    """No agents column: Erlang A per weekday-interval, from the interval's abandonment (or
    ASA), gives back the truth's staffing up to noise (not the load's shape)."""
    _, _, report, result, _ = truth
    path = tmp_path / "r.csv"
    pacsv.write_csv(pacsv.read_csv(report).drop(["agents"]), path)
    inferred = fit_report(read_interval_report(path), FitOptions()).fit["agents"]["seen"]
    assert inferred["method"].startswith("INFERRED: Erlang A")
    assert inferred["matched"]["abandon_rate"] > 50
    have = np.array(inferred["groups"]["agents"])
    truth_grid = np.array(result.fit["agents"]["seen"]["groups"]["agents"])
    assert ((have > 0) == (truth_grid > 0)).all()  # closed where the center was closed
    open_ = truth_grid > 0
    assert np.corrcoef(have[open_], truth_grid[open_])[0, 1] > 0.85
    assert 0.9 < (have[open_] / truth_grid[open_]).mean() < 1.15


def test_history_is_the_reports_figures(truth):
    _, log, _, result, _ = truth
    hist = result.history
    assert hist is not None
    assert hist["offered"].sum() == len(log)
    answered = (log.outcome == 2).sum()
    quick = ((log.outcome == 2) & (log.wait <= 20)).sum()
    assert np.nansum(hist["service_level"] * hist["offered"]) == pytest.approx(quick)
    assert np.nansum(hist["asa"] * hist["answered"]) == pytest.approx(
        log.wait[log.outcome == 2].sum(), rel=1e-6
    )
    assert hist["answered"].sum() == answered
    assert set(hist["weekday"]) == {"mon", "tue", "wed", "thu", "fri"}


def test_kind_is_told_by_the_columns(truth, tmp_path, write):
    _, _, report, _, _ = truth
    assert file_kind(report) == "intervals"
    calls = tmp_path / "calls.csv"
    calls.write_text("arrival,outcome,wait\n2024-01-01T08:00:00,answered,3\n")
    assert file_kind(calls) == "calls"
    renamed = tmp_path / "acd.csv"
    renamed.write_text("Interval,Calls\n2024-01-01T08:00:00,3\n")
    assert file_kind(renamed) == "calls"  # not recognised without the mapping ...
    mapping = write("columns: {start: Interval, offered: Calls}\n", "m.yaml")
    assert file_kind(renamed, mapping) == "intervals"  # ... recognised after its renames
    rep = read_interval_report(renamed, load_report_mapping(mapping), 1800)
    assert rep.offered.tolist() == [3.0]
    log_map = write("columns: {arrival: Interval}\n", "l.yaml")
    assert file_kind(report, log_map) == "calls"


def _rows(n: int, day: str = "2024-01-01") -> list[str]:
    return [f"{day}T{8 + i // 2:02d}:{30 * (i % 2):02d}:00,a,10,8,2,6,200,15,30" for i in range(n)]


def _spoiled(old: str, new: str) -> str:
    """A report of 10 good rows and 3 (a day later) with ``old`` replaced by ``new``."""
    bad = [r.replace(old, new) for r in _rows(3, "2024-01-02")]
    return HEADER + "\n".join(bad + _rows(10))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("start,answered\n2024-01-01T08:00:00,3\n", "required column for 'offered' is missing"),
        (HEADER + "\n".join(["x,a,10,8,2,6,200,15,30"] * 3 + _rows(10)), "not a date-time"),
        (_spoiled(",10,", ",ten,"), "not a number"),
        (_spoiled(",10,", ",-1,"), "negative"),
        (_spoiled(",10,", ",9.5,"), "not a whole number"),
        (_spoiled(",200,", ",90000,"), "more than a day"),
        (
            HEADER + "\n".join(_rows(2)).replace(",10,8,2,", ",30000000,8,2,"),
            "offered calls in all",
        ),
        (_spoiled(",10,", ",5,"), "answered + abandoned exceed offered"),
        (_spoiled(",6,", ",9,"), "answered_within exceeds answered"),
        (HEADER + "\n".join(_rows(10) + _rows(3)), "the same interval"),
        (
            HEADER + "\n".join(_rows(10) + ["2024-01-01T20:10:00,a,1,1,0,1,1,1,"] * 3),
            "not on the 30-minute grid",
        ),
        (HEADER + "2024-01-01T08:00:00,a,10,8,2,6,200,15,30\n", "cannot tell the interval"),
        (HEADER + "\n".join(_rows(2) + _rows(2, "2040-01-01")), "spans"),
        (
            "start,offered,call_type\n"
            + "".join(f"2024-01-01T08:{i % 2 * 30:02d}:00,1,t{i}\n" for i in range(250)),
            "distinct call_type values",
        ),
        (
            "start,offered,service_time\n2024-01-01T08:00:00,1,20\n2024-01-01T08:30:00,1,30\n",
            "several service-level thresholds",
        ),
    ],
)
def test_reader_errors(write, body, expected):
    path = write(body, "r.csv")
    with pytest.raises(ScenarioError, match=re.escape(expected)):
        read_interval_report(path)


def test_reader_counts_a_few_bad_rows_and_keeps_the_rest(write):
    bad = _rows(1, "2024-01-02")[0].replace(",10,", ",5,")
    path = write(HEADER + "\n".join([*_rows(22), bad]) + "\n", "r.csv")
    rep = read_interval_report(path)
    assert len(rep) == 22 and rep.interval == 1800
    assert rep.dropped == {"answered,abandoned: answered + abandoned exceed offered": 1}
    assert "line 24" in rep.examples[0]


def test_interval_must_be_a_multiple_of_the_reports(write):
    path = write(HEADER + "\n".join(_rows(6)) + "\n", "r.csv")
    assert read_interval_report(path, None, 3600).interval == 3600
    with pytest.raises(ScenarioError, match="must be a multiple"):
        read_interval_report(path, None, 900)


def test_the_docs_wfm_mapping_reads_its_export(write):
    """docs/interval-report.md's mapping: a date and a time column, ';', clock averages."""
    doc = (SCENARIOS.parent.parent / "docs" / "interval-report.md").read_text()
    mapping = write(doc.split("```yaml\n")[1].split("```")[0], "m.yaml")
    export = write(
        "Date;Interval;Calls Offered;Calls Handled;Calls Abandoned;Answered in SL;AHT;ASA;Staffed\n"
        "01/02/2024;08:00;12;10;2;7;3:05;0:21;4\n"
        "01/02/2024;08:30;9;9;0;9;2:55;0:04;4\n",
        "wfm.csv",
    )
    assert file_kind(export, mapping) == "intervals"
    rep = read_interval_report(export, load_report_mapping(mapping))
    assert rep.interval == 1800 and rep.offered.tolist() == [12, 9]
    assert rep.figures["handle_time"].tolist() == [185, 175]
    assert rep.figures["asa"].tolist() == [21, 4]
    assert rep.start[0] == np.datetime64("2024-02-01T08:00:00", "s").astype(np.int64)


def test_mapping_names_fields_of_the_report(write):
    with pytest.raises(ScenarioError, match="unknown field 'arrival'"):
        load_report_mapping(write("columns: {arrival: Start}\n", "m.yaml"))


def test_missing_intervals_are_zero_calls_or_gaps(write):
    """Omitted intervals are zero calls when the export never writes empty ones, and no data
    (a gap: out of the history, filled for the arrivals) when it does."""
    days = [f"2024-01-{d:02d}" for d in (1, 8, 15)]  # three Mondays
    rows = [r for d in days for r in _rows(6, d)]
    rows.pop(8)  # 2024-01-08 09:00 (third slot of the second day)
    omit = read_interval_report(write(HEADER + "\n".join(rows) + "\n", "a.csv"))
    fit = fit_report(omit, FitOptions()).fit
    assert fit["log"]["missing_intervals"]["rule"] == "zero calls"
    assert fit["arrivals"]["weekdays"]["mon"]["mean_calls"] == pytest.approx(170 / 3)
    empty = rows[0].replace("2024-01-01", "2024-01-22").replace(",10,8,2,6,", ",0,0,0,0,")
    result = fit_report(
        read_interval_report(write(HEADER + "\n".join([*rows, empty]) + "\n", "b.csv")),
        FitOptions(),
    )
    gaps = result.fit["log"]["missing_intervals"]
    assert gaps["rule"] == "gap (no data)" and gaps["gaps"] == 1
    assert result.fit["arrivals"]["weekdays"]["mon"]["mean_calls"] == pytest.approx(60)
    hist = result.history
    assert hist is not None and len(hist["day"]) == 48 * 3 - 1  # every slot of 3 days but one
    assert not ((hist["day"] == 8) & (hist["start"] == "09:00")).any()


def test_a_report_of_offered_calls_and_handle_times_only(write):
    """The least a fit can use: no patience (never), agents from the offered load, every
    back-test figure but offered missing; and Parquet reads as CSV does."""
    body = "start,offered,handle_time\n" + "".join(
        f"2024-01-0{d}T{h:02d}:{m:02d}:00,{10 + h},300\n"
        for d in (1, 8)
        for h in range(8, 12)
        for m in (0, 30)
    )
    result = fit_report(read_interval_report(write(body, "r.csv")), FitOptions())
    fit = result.fit
    assert fit["log"]["figures_missing"] == ["service_level", "abandon_rate", "asa"]
    assert fit["patience"]["all"]["family"] == "never"
    agents = fit["agents"]["seen"]
    assert agents["matched"] == {"abandon_rate": 0, "asa": 0, "load": 8}
    mon = np.array(agents["groups"]["agents"][0])
    assert mon[16] == pytest.approx(18 * 300 / 1800) and mon[23] == pytest.approx(21 * 300 / 1800)
    parquet = write("", "r.parquet")
    pq.write_table(pacsv.read_csv(write(body, "r2.csv")), parquet)
    again = read_interval_report(parquet)
    assert again.start.tolist() == read_interval_report(write(body, "r3.csv")).start.tolist()


def test_patience_needs_waits_and_handle_time_is_required(write):
    no_waits = "start,offered,answered,abandoned,handle_time\n" + "".join(
        f"2024-01-01T08:{m}:00,10,8,2,200\n" for m in ("00", "30")
    )
    with pytest.raises(ValueError, match="patience cannot be inferred"):
        fit_report(read_interval_report(write(no_waits, "w.csv")), FitOptions())
    no_handle = "start,offered\n2024-01-01T08:00:00,10\n2024-01-01T08:30:00,10\n"
    with pytest.raises(ValueError, match="no handle_time"):
        fit_report(read_interval_report(write(no_handle, "h.csv")), FitOptions())


def test_cli_call_log_option_is_for_reports(tmp_path):
    calls = tmp_path / "calls.csv"
    calls.write_text("arrival,outcome,wait\n2024-01-01T08:00:00,abandoned,3\n")
    res = sim_cli("fit", calls, "--call-log", calls, "--out", tmp_path / "out")
    assert res.exit_code == 2 and "--call-log is for an interval report" in res.output


def test_cli_refuses_a_bad_report_in_one_line(write, tmp_path):
    path = write("start,offered\nsoon,3\n", "r.csv")
    res = sim_cli("fit", path, "--out", tmp_path / "out")
    assert res.exit_code == 2
    assert "column 'start'" in res.output and "Traceback" not in res.output


@pytest.mark.slow
def test_cli_fits_a_report_and_back_tests_it_against_the_reports_figures(truth, tmp_path):
    _, _, report, _, _ = truth
    out = tmp_path / "fit"
    res = sim_ok(
        "fit",
        report,
        "--out",
        out,
        "--replications",
        "2",
        "--max-days",
        "14",
        "--workers",
        "1",
        "--quiet",
        "--no-report",
    )
    assert "calls used" in res.output
    fit = json.loads((out / "fit.json").read_text())
    overall = fit["backtest"]["overall"]
    assert overall["offered"]["model"] == pytest.approx(overall["offered"]["history"], rel=0.05)
    assert abs(overall["abandon_rate"]["model"] - overall["abandon_rate"]["history"]) < 0.02
    assert abs(overall["service_level"]["model"] - overall["service_level"]["history"]) < 0.05
    assert 0.8 < fit["agents"]["factor"] < 1.25  # the report's agents are the truth's
    text = (out / "scenario.yaml").read_text()
    assert "INFERRED exponential" in text and "ASSUMED" in text
    sim_ok("validate", out / "scenario.yaml")


@pytest.mark.slow
def test_cli_without_figures_leaves_them_out_of_the_back_test(truth, tmp_path):
    _, _, report, _, _ = truth
    table = pacsv.read_csv(report)
    keep = [c for c in table.column_names if c not in ("answered_within", "agents")]
    path = tmp_path / "r.csv"
    pacsv.write_csv(table.select(keep), path)
    out = tmp_path / "fit"
    sim_ok(
        "fit",
        path,
        "--out",
        out,
        "--replications",
        "2",
        "--max-days",
        "7",
        "--workers",
        "1",
        "--quiet",
    )
    fit = json.loads((out / "fit.json").read_text())
    assert fit["log"]["figures_missing"] == ["service_level"]
    assert fit["backtest"]["overall"]["service_level"]["history"] is None
    assert "not in the report: service_level" in fit["backtest"]["verdict"]
    assert fit["agents"]["seen"]["method"].startswith("INFERRED")
    page = (out / "report.html").read_text()
    assert "Observed, inferred, assumed" in page and "inferred (Erlang A" in page


@pytest.mark.slow
def test_cli_does_not_calibrate_without_abandonment_or_asa(write, tmp_path):
    body = "start,offered,handle_time\n" + "".join(
        f"2024-01-0{d}T{h:02d}:{m:02d}:00,{10 + h},300\n"
        for d in (1, 2)
        for h in range(8, 12)
        for m in (0, 30)
    )
    out = tmp_path / "fit"
    sim_ok(
        "fit",
        write(body, "r.csv"),
        "--out",
        out,
        "--replications",
        "2",
        "--quiet",
        "--no-report",
        "--workers",
        "1",
    )
    fit = json.loads((out / "fit.json").read_text())
    assert (
        fit["agents"]["factor_source"] == "not calibrated: the report has neither abandoned nor asa"
    )
    assert "calibration" not in fit["agents"]
    assert fit["backtest"]["verdict"].endswith(
        "(not in the report: service_level, abandon_rate, asa)"
    )
    sim_ok("validate", out / "scenario.yaml")
