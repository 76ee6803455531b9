"""sim fit: estimators against known answers, and the round trip simulate -> log -> fit.

The round trip fits the call log of tests/scenarios/fit_truth.yaml (seed 11, replication 0) and
checks every recovered number against the truth. About 30 numbers are checked at once, so each
is checked at the Bonferroni level for 30 checks (z = 3.14 instead of 1.96: the 95% interval
widened by 1.6); a plain 95% check of each would fail on some number more often than not.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import SCENARIOS, fixture_data, sim_ok, simulated_log

from sim.cli import cli
from sim.fit import estimators as est
from sim.fit.arrivals import fit_arrivals, log_calendar
from sim.fit.calllog import ANSWERED, CallLogData, Labels, read_call_log
from sim.fit.pipeline import FitOptions, fit_log
from sim.fit.scenario_out import build_scenario, to_yaml
from sim.model.simulation import simulate
from sim.model.streams import Streams
from sim.records.call_log import call_log_table, encode_call_log
from sim.scenario.loading import load_scenario, scenario_from_dict

WIDEN = 3.14 / 1.96  # Bonferroni for ~30 simultaneous checks
TRUTH = SCENARIOS / "fit_truth.yaml"


def inside(value: float, ci, widen: float = WIDEN) -> bool:
    mid, half = (ci[0] + ci[1]) / 2, (ci[1] - ci[0]) / 2
    return abs(value - mid) <= half * widen


@pytest.fixture(scope="module")
def truth_log(tmp_path_factory):
    return simulated_log(TRUTH, 11, tmp_path_factory.mktemp("log"))


@pytest.fixture(scope="module")
def truth_fit(truth_log):
    return load_scenario(TRUTH), fit_log(read_call_log(truth_log), FitOptions())


def test_round_trip_volume_and_weekday_factors(truth_fit):
    sc, result = truth_fit
    arr = result.fit["arrivals"]
    factors = sc.arrivals.weekday_factors
    volume = sc.arrivals.daily_volume
    open_days = [w for w, f in factors.items() if f > 0]
    assert arr["weekdays"]["sun"]["factor"] == 0.0 and arr["holidays"] == []
    expected_volume = volume * np.mean([factors[w] for w in open_days])
    assert inside(expected_volume, arr["daily_volume_ci95"])
    for w in open_days:
        assert inside(volume * factors[w], arr["weekdays"][w]["mean_calls_ci95"]), w
    assert arr["day_to_day_cv"]["value"] == 0.0  # Poisson truth: floored at 0


def test_round_trip_intraday_profile(truth_fit):
    sc, result = truth_fit
    profile = sc.arrivals.intraday_profile
    starts = [int(k[:2]) * 2 + int(k[3:]) // 30 for k in profile] + [48]
    weights = np.zeros(48)
    for (a, b), w in zip(itertools.pairwise(starts), profile.values(), strict=False):
        weights[a:b] = w
    truth = weights / weights.sum()
    fitted = result.fit["arrivals"]["intraday_profile"]
    assert result.fit["arrivals"]["profile_by_weekday"] is None  # one profile for all days
    assert {int(k[:2]) * 2 + int(k[3:]) // 30 for k in fitted} == set(np.flatnonzero(truth))
    for clock, e in fitted.items():
        s = int(clock[:2]) * 2 + int(clock[3:]) // 30
        assert inside(truth[s], e["share_ci95"]), clock


def test_round_trip_shares_and_handle_times(truth_fit):
    sc, result = truth_fit
    for name, ct in sc.call_types.items():
        assert inside(ct.share, result.fit["call_types"][name]["share_ci95"])
        h = result.fit["handle_times"]["by_type"][name]
        assert h["family"] == ct.handle_time.dist, name
        assert inside(ct.handle_time.mean, h["mean_ci95"]), name
        assert inside(ct.handle_time.cv, h["cv_ci95"]), name
    for name, tier in sc.customer_tiers.items():
        assert inside(tier.share, result.fit["tiers"][name]["share_ci95"])
    acw = result.fit["handle_times"]["after_call_work"]
    assert acw["family"] == "exponential" and inside(20.0, acw["mean_ci95"])


def test_round_trip_patience_and_priority(truth_fit):
    sc, result = truth_fit
    for name, tier in sc.customer_tiers.items():
        p = result.fit["patience"][name]
        assert p["family"] == "exponential"
        assert inside(tier.patience.mean, p["exponential"]["mean_ci95"]), name
    assert result.fit["tier_priority"]["priority"] == {"gold": 0, "standard": 1}


def test_round_trip_redials(truth_fit):
    sc, result = truth_fit
    rd = result.fit["redials"]
    assert inside(sc.redial.after_abandon.probability, rd["after_abandon"]["probability_ci95"])
    assert inside(600.0, rd["after_abandon"]["delay"]["mean_ci95"])
    # support: 20% unresolved, 60% of those call again; sales always resolved
    support = rd["after_answered_by_type"]["support"]
    assert inside(0.2 * 0.6, est.wilson(support["followed"], support["calls"]))
    assert rd["after_answered_by_type"]["sales"]["followed"] == 0


def test_round_trip_agents_seen_track_the_staffing(truth_fit):
    sc, result = truth_fit
    seen = np.array(result.fit["agents"]["seen"]["groups"]["team"])  # 7 x 48
    plan = sc.agents.groups["team"].staffing["mon"]
    starts = [int(k[:2]) * 2 for k in plan] + [48]
    truth = np.zeros(48)
    for (a, b), n in zip(itertools.pairwise(starts), plan.values(), strict=False):
        truth[a:b] = n
    staffed = truth > 0
    assert np.all(seen[0][~staffed] == 0)
    assert np.abs(seen[0][staffed] - truth[staffed]).max() <= 2.5


def test_fitted_scenario_is_valid_and_every_number_has_a_source(truth_fit, tmp_path):
    _, result = truth_fit
    data, comments = build_scenario(result.fit, "fitted", 1.0, 27)
    text = to_yaml(data, comments, "header")
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    sc = load_scenario(path)
    assert sc.horizon.days == 27 and set(sc.call_types) == {"sales", "support"}
    plain = ("description", "interval", "days", "at_least", "within", "replications", "seed")
    for line in text.splitlines():
        key, _, value = line.split("#")[0].partition(":")
        key = key.strip().strip('"')
        if not any(ch.isdigit() for ch in value) or key in plain:
            continue
        if line.startswith(" " * 8) and key in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
            continue  # one day's staffing: its source is on the `staffing:` line above
        assert "#" in line, line


# --- estimators against known answers ----------------------------------------------------------


def test_exponential_patience_from_censored_waits():
    rng = Streams(3)("test")
    patience, answer_at = rng.exponential(100.0, 20000), rng.exponential(50.0, 20000)
    wait = np.minimum(patience, answer_at)
    out = est.exponential_patience(wait, patience < answer_at)
    assert out["mean_ci95"][0] < 100.0 < out["mean_ci95"][1]
    assert 0.6 < out["censored_share"] < 0.7  # P(answer first) = 100 / 150


def test_kaplan_meier_without_censoring_is_the_empirical_survival():
    wait = np.array([5.0, 1.0, 3.0, 3.0, 8.0])
    km = est.kaplan_meier(wait, np.ones(5, dtype=bool))
    assert km["t"] == [0.0, 1.0, 3.0, 5.0, 8.0]
    assert np.allclose(km["survival"], [1.0, 0.8, 0.4, 0.2, 0.0])


def test_kaplan_meier_with_censoring_matches_the_hand_computation():
    wait = np.array([2.0, 3.0, 4.0, 5.0])
    km = est.kaplan_meier(wait, np.array([True, False, True, True]))
    # at 2: 4 at risk, 1 event -> 0.75; at 4: 2 at risk -> 0.375; at 5: 1 at risk -> 0
    assert np.allclose(km["survival"], [1.0, 0.75, 0.375, 0.0])


@pytest.mark.parametrize("family", ["exponential", "lognormal", "gamma"])
def test_fit_family_picks_the_family_that_drew_the_data(family):
    rng = Streams(5)("test")
    mean, cv, n = 200.0, 0.6, 20000
    if family == "exponential":
        x = rng.exponential(mean, n)
    elif family == "lognormal":
        s2 = math.log1p(cv * cv)
        x = rng.lognormal(math.log(mean) - s2 / 2, math.sqrt(s2), n)
    else:
        x = rng.gamma(1 / cv**2, mean * cv**2, n)
    out = est.fit_family(x)
    assert out["family"] == family and not out["fits_badly"]
    assert out["mean_ci95"][0] < mean < out["mean_ci95"][1]


def test_fit_family_says_when_no_family_fits():
    x = np.concatenate([np.full(5000, 10.0), np.full(5000, 1000.0)]) + np.arange(10000) * 1e-3
    out = est.fit_family(x)
    assert out["fits_badly"] and "empirical" in out["note"]


def test_censored_family_fit_finds_lognormal_patience():
    rng = Streams(7)("test")
    s2 = math.log1p(1.5**2)
    patience = rng.lognormal(math.log(120) - s2 / 2, math.sqrt(s2), 30000)
    answered_at = rng.exponential(60.0, 30000)
    out = est.censored_family_fit(np.minimum(patience, answered_at), patience < answered_at)
    assert out["family"] == "lognormal"
    assert abs(out["params"]["lognormal"]["mean"] / 120 - 1) < 0.15


def test_wilson_interval_known_value():
    lo, hi = est.wilson(5, 10)
    assert abs(lo - 0.2366) < 1e-3 and abs(hi - 0.7634) < 1e-3


def _synthetic(arrival: np.ndarray, **labels) -> CallLogData:
    n = len(arrival)
    return CallLogData(
        "synthetic.csv",
        n,
        np.sort(arrival).astype(np.int64),
        np.full(n, ANSWERED, np.int8),
        np.zeros(n),
        np.full(n, 100.0),
        labels={k: Labels(np.asarray(v[0], np.int32), v[1]) for k, v in labels.items()},
    )


def _days_of_calls(rng, per_day: np.ndarray, monday: int = 19723) -> np.ndarray:
    """Arrival seconds: per_day[d] calls uniform over 08:00-20:00 of day d (19723 = Monday)."""
    days = np.repeat(np.arange(len(per_day)), per_day)
    return (monday + days) * 86400 + 8 * 3600 + rng.random(len(days)) * 12 * 3600


def test_day_to_day_cv_is_recovered_from_overdispersed_days():
    rng = Streams(9)("test")
    factors = rng.gamma(1 / 0.2**2, 0.2**2, 140)
    per_day = rng.poisson(2000 * factors)
    cal = log_calendar(_days_of_calls(rng, per_day))
    out = fit_arrivals(cal, np.ones(int(per_day.sum()), bool), 1800.0)["day_to_day_cv"]
    assert abs(out["value"] - 0.2) < 0.05
    assert out["cv_squared_ci95"][0] < 0.04 < out["cv_squared_ci95"][1]


def test_closed_days_are_recognised_not_averaged_as_zeros():
    rng = Streams(1)("test")
    per_day = np.tile([500, 500, 500, 500, 500, 200, 0], 4)
    per_day[9] = 0  # the second Wednesday: a holiday
    cal = log_calendar(_days_of_calls(rng, per_day))
    arr = fit_arrivals(cal, np.ones(int(per_day.sum()), bool), 1800.0)
    assert arr["holidays"] == ["2024-01-10"]
    assert arr["weekdays"]["sun"]["factor"] == 0.0
    assert arr["weekdays"]["wed"]["open_days"] == 3
    assert arr["weekdays"]["wed"]["mean_calls"] == 500.0  # not 375


def test_weekday_profiles_that_differ_get_their_own():
    rng = Streams(2)("test")
    weekdays = _days_of_calls(rng, np.tile([800, 800, 800, 800, 800, 0, 0], 3))
    saturday = (19723 + np.arange(5, 21, 7).repeat(800)) * 86400 + 9 * 3600
    saturday = saturday + rng.random(len(saturday)) * 3 * 3600  # Saturdays: 09:00-12:00 only
    log = np.concatenate([weekdays, saturday])
    cal = log_calendar(log)
    arr = fit_arrivals(cal, np.ones(len(log), bool), 1800.0)
    assert arr["profile_test"]["p_value"] < 1e-6
    sat = np.array(arr["profile_by_weekday"]["sat"])
    assert abs(sat.sum() - 800) < 1e-6 and sat[:18].sum() == 0 and sat[24:].sum() == 0


def test_weekday_profiles_go_to_an_arrivals_file_the_scenario_reads(tmp_path):
    from sim.fit.scenario_out import arrivals_csv

    rng = Streams(8)("test")
    weekdays = _days_of_calls(rng, np.tile([400, 400, 400, 400, 400, 0, 0], 2))
    saturday = (19723 + np.array([5, 12]).repeat(300)) * 86400 + 9 * 3600
    log = np.concatenate([weekdays, saturday + rng.random(600) * 3 * 3600])
    result = fit_log(_synthetic(log), FitOptions())
    (tmp_path / "arrivals.csv").write_text(arrivals_csv(result.fit))
    data, comments = build_scenario(result.fit, "fitted", 1.0, 14)
    (tmp_path / "scenario.yaml").write_text(to_yaml(data, comments))
    sc = load_scenario(tmp_path / "scenario.yaml")
    assert sc.arrivals.file == "arrivals.csv" and "daily_volume" not in data["arrivals"]
    saturday_rows = [r for r in sc.arrivals.rows if r[0] == 6]  # day 6 of a Monday start
    assert abs(sum(r[2] for r in saturday_rows) - 300) < 1e-6


def test_fit_without_customer_agent_or_type_columns_still_gives_a_scenario(tmp_path):
    rng = Streams(4)("test")
    data = _synthetic(_days_of_calls(rng, np.full(14, 300)))
    result = fit_log(data, FitOptions())
    assert "no customer column" in result.fit["redials"]["note"]
    assert result.fit["agents"]["seen"]["method"].startswith("mean agents busy")
    sc_data, _ = build_scenario(result.fit, "fitted", 1.0, 14)
    sc = scenario_from_dict(sc_data)
    assert list(sc.call_types) == ["all"] and list(sc.agents.groups) == ["agents"]


def test_very_short_calls_are_removed_and_counted():
    rng = Streams(6)("test")
    data = _synthetic(_days_of_calls(rng, np.full(7, 200)))
    data.handle[::10] = 1.0
    result = fit_log(data, FitOptions(min_handle=3.0))
    assert result.fit["log"]["short_calls_removed"] == 140
    assert result.fit["handle_times"]["by_type"]["all"]["n"] == 1260


def test_fcfs_tiers_get_no_priority(tmp_path):
    data = fixture_data("fit_truth.yaml")
    data["horizon"]["days"] = 7
    data["routing"] = {"tier_priority": False}
    run = simulate(scenario_from_dict(data), seed=3)
    path = tmp_path / "calls.parquet"
    path.write_bytes(encode_call_log(call_log_table(run.records)))
    result = fit_log(read_call_log(path), FitOptions())
    assert result.fit["tier_priority"]["priority"] == {}


# --- the whole round trip through the CLI (slow: calibration and replications) ----------------


@pytest.mark.slow
def test_round_trip_through_the_cli_reproduces_the_kpis(tmp_path):
    from sim.experiments.replication import replicate

    run = ("--out", tmp_path / "run", "--quiet", "--no-report", "--workers", "1")
    sim_ok("run", TRUTH, "--call-log", "--replications", "1", *run)
    log = tmp_path / "run" / "calls.parquet"
    sim_ok(
        "fit", log, "--out", tmp_path / "fit", "--quiet", "--replications", "3", "--workers", "2"
    )
    for name in ("scenario.yaml", "fit.json", "backtest.csv", "report.html"):
        assert (tmp_path / "fit" / name).exists(), name
    fitted = load_scenario(tmp_path / "fit" / "scenario.yaml")
    original = load_scenario(TRUTH)
    n = 6
    a = replicate(original, replications=n, seed=101, workers=2)
    b = replicate(fitted, replications=n, seed=101, workers=2)
    for kpi in ("service_level", "abandon_rate", "asa"):
        ka, kb = a.kpis[kpi], b.kpis[kpi]
        half = (ka.ci95[1] - ka.ci95[0]) / 2 + (kb.ci95[1] - kb.ci95[0]) / 2
        assert abs(ka.mean - kb.mean) <= half, (kpi, ka.mean, kb.mean)  # the intervals overlap
    # offered per day: the fitted horizon ends on the log's last call (27 days, no Sunday)
    off_a = a.kpis["offered"].mean * 28 / 24
    off_b = b.kpis["offered"].mean * fitted.horizon.days / 24
    assert abs(off_a / off_b - 1) < 0.03


def test_a_bank_style_export_through_a_mapping_fits_like_the_generic_log(
    truth_log, truth_fit, tmp_path
):
    """The round-trip log rewritten the way a real switch exports it: a date column 240101, a
    clock-time column, AGENT/HANG codes, H:MM:SS durations, PHANTOM rows, customer 0 unknown."""
    import json

    import pyarrow.parquet as pq

    _, generic = truth_fit
    cols = pq.read_table(truth_log).to_pydict()
    lines = ["date,q_start,outcome,q_time,ser_time,type,priority,customer_id,server"]
    for i, when in enumerate(cols["arrival"]):
        code = {"answered": "AGENT", "abandoned": "HANG"}[cols["outcome"][i]]
        ser = cols["handle_time"][i]
        ser_text = (
            "" if ser is None else f"{ser // 3600:.0f}:{ser % 3600 // 60:02.0f}:{ser % 60:06.3f}"
        )
        lines.append(
            f"{when:%y%m%d},{when.hour}:{when:%M:%S},{code},{cols['wait'][i]},{ser_text},"
            f"{cols['call_type'][i]},{cols['tier'][i]},{cols['customer'][i]},"
            f"{cols['agent'][i] or 'NO_SERVER'}"
        )
        if i % 500 == 0:
            lines.append(
                f"{when:%y%m%d},{when.hour}:{when:%M:%S},PHANTOM,0,,sales,gold,0,NO_SERVER"
            )
    (tmp_path / "export.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "map.yaml").write_text(
        "columns: {arrival: [date, q_start], wait: q_time, handle_time: ser_time, call_type: type,"
        " tier: priority, customer: customer_id, agent: server}\n"
        "time_format: '%y%m%d %H:%M:%S'\noutcomes: {AGENT: answered, HANG: abandoned, "
        "PHANTOM: skip}\ndurations: clock\nmissing: ['0', NO_SERVER]\n"
    )
    res = CliRunner().invoke(cli, ["fit", str(tmp_path / "export.csv"), "--map",
                                   str(tmp_path / "map.yaml"), "--out", str(tmp_path / "o"),
                                   "--quiet", "--no-calibrate", "--replications", "2",
                                   "--max-days", "7", "--workers", "1", "--no-report"])  # fmt: skip
    assert res.exit_code == 0, res.output
    fit = json.loads((tmp_path / "o" / "fit.json").read_text())
    assert fit["log"]["rows_dropped"] == {"outcome: 'PHANTOM' mapped to skip": 48}
    want = generic.fit
    assert fit["arrivals"]["daily_volume"] == pytest.approx(want["arrivals"]["daily_volume"])
    assert (
        fit["redials"]["after_abandon"]["followed"] == want["redials"]["after_abandon"]["followed"]
    )
    for t in ("sales", "support"):
        got, ref = fit["handle_times"]["by_type"][t], want["handle_times"]["by_type"][t]
        assert got["mean"] == pytest.approx(ref["mean"], rel=1e-6)
    assert load_scenario(tmp_path / "o" / "scenario.yaml").horizon.days == 27
