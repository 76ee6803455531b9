"""sim fit's answer delay per tier: estimated where the center was not congested, kept only when
the calibration reproduces the history better with it."""

from __future__ import annotations

import pytest
from conftest import fixture_data

from sim.fit import pipeline as pl
from sim.fit.calllog import read_call_log
from sim.fit.pipeline import FitOptions, finish_fit, fit_log
from sim.fit.scenario_out import build_scenario
from sim.model.simulation import simulate
from sim.records.call_log import call_log_table, encode_call_log
from sim.scenario.loading import scenario_from_dict

DELAY = {"dist": "gamma", "mean": 40, "cv": 0.8}


def _log(tmp_path, delay: dict | None, days: int = 14):
    """The call log of tests/scenarios/fit_truth.yaml over ``days``, the standard tier held for
    ``delay`` before an agent may answer (gold, served first, is answered at once when agents
    are free)."""
    data = fixture_data("fit_truth.yaml")
    data["horizon"]["days"] = days
    if delay:
        data["customer_tiers"]["standard"]["answer_delay"] = delay
    run = simulate(scenario_from_dict(data), seed=3)
    path = tmp_path / "calls.parquet"
    path.write_bytes(encode_call_log(call_log_table(run.records)))
    return read_call_log(path)


def test_a_known_delay_is_recovered_from_the_uncongested_intervals(tmp_path):
    ad = fit_log(_log(tmp_path, DELAY), FitOptions()).fit["answer_delay"]
    assert ad["reference_tier"] == "gold" and ad["quiet_intervals"] > 50
    assert list(ad["by_tier"]) == ["standard"]
    got = ad["by_tier"]["standard"]
    assert got["family"] == "gamma"  # the censored fit tells it from exponential and lognormal
    assert got["mean"] == pytest.approx(40, rel=0.15)  # residual congestion adds a little
    assert got["cv"] == pytest.approx(0.8, rel=0.15)
    assert got["abandoned"] > 100  # abandons during the delay are censored, not dropped
    assert ad["use"] is False  # until the calibration keeps it


def test_a_log_without_delay_gives_no_tier_one(tmp_path):
    ad = fit_log(_log(tmp_path, None), FitOptions()).fit["answer_delay"]
    assert ad["by_tier"] == {}
    assert ad["not_held"] and all("answered at once in" in v for v in ad["not_held"].values())


def test_one_tier_gets_no_delay(tmp_path):
    data = _log(tmp_path, DELAY)
    data.labels.pop("tier")
    ad = fit_log(data, FitOptions()).fit["answer_delay"]
    assert ad["by_tier"] == {} and "fewer than two tiers" in ad["note"]


def _delayed_fit() -> dict:
    entry = {"family": "gamma", "mean": 41.23456, "cv": 0.81234, "answered": 900}
    fit = {"answer_delay": {"by_tier": {"std": entry}, "use": False}}
    fit["answer_delay"].update(quiet_intervals=80, reference_tier="gold")
    return fit


@pytest.mark.parametrize(("with_misfit", "use"), [(0.5, True), (1.0, False), (1.5, False)])
def test_the_delay_is_kept_only_when_it_fits_the_history_better(with_misfit, use):
    fit = _delayed_fit()
    seen = []

    def calibrate() -> dict:
        seen.append(fit["answer_delay"]["use"])
        return {"misfit": with_misfit, "factor": 1.3}

    got = pl._delay_by_calibration(fit, {"misfit": 1.0, "factor": 0.7}, calibrate)
    ad = fit["answer_delay"]
    assert seen == [True]  # the delay was in the fit when calibrated
    assert ad["use"] is use and got["misfit"] == min(with_misfit, 1.0)  # a tie: no delay
    assert ad["chosen_by_calibration"]["kept"] == (pl.DELAY if use else pl.NO_DELAY)
    assert ad["chosen_by_calibration"]["misfit_with"] == with_misfit


@pytest.mark.parametrize("use", [True, False])
def test_the_scenario_has_the_delay_only_when_kept(tmp_path, use):
    result = fit_log(_log(tmp_path, DELAY, days=7), FitOptions())
    ad = result.fit["answer_delay"]
    ad["use"] = use
    ad["chosen_by_calibration"] = {"misfit_with": 0.4, "misfit_without": 0.9}
    data, comments = build_scenario(result.fit, "f", 1.0, 7)
    std = data["customer_tiers"]["standard"]
    if use:
        e = ad["by_tier"]["standard"]
        assert std["answer_delay"] == {
            "dist": "gamma",
            "mean": float(f"{e['mean']:.4g}"),
            "cv": float(f"{e['cv']:.4g}"),
        }
        note = comments[("customer_tiers", "standard", "answer_delay")]
        assert note.startswith("INFERRED") and "misfit 0.40 against 0.90" in note
    else:
        assert "answer_delay" not in std
    assert "answer_delay" not in data["customer_tiers"]["gold"]
    scenario_from_dict(data, base_dir=tmp_path)  # it validates


@pytest.mark.slow
def test_calibration_keeps_a_true_delay(tmp_path):
    """The whole choice by simulation: on a log whose standard tier was held, the model with
    the fitted delay reproduces the history better than the one without."""
    result = fit_log(_log(tmp_path, DELAY), FitOptions())
    finish_fit(result, tmp_path, replications=2, max_days=14)
    ad = result.fit["answer_delay"]
    chosen = ad["chosen_by_calibration"]
    assert ad["use"] is True and chosen["kept"] == pl.DELAY, chosen
    assert chosen["misfit_with"] < chosen["misfit_without"]
    assert "answer_delay" in result.scenario["customer_tiers"]["standard"]


def test_the_fit_says_when_the_delays_put_the_placeholder_target_out_of_reach():
    fit = _delayed_fit()
    fit.update(within_s=20.0, agents={})
    fit["answer_delay"].update(use=True, service_level_ceiling=0.6971)
    said = [m for m in pl.fit_messages(fit) if "answer delays" in m]
    assert len(said) == 1 and "at most 69.7% of calls can be answered within 20 s" in said[0]
    fit["answer_delay"]["service_level_ceiling"] = 0.85  # above the placeholder's 80%
    assert not any("answer delays" in m for m in pl.fit_messages(fit))
    fit["answer_delay"].update(use=False, service_level_ceiling=0.5)  # not in the model
    assert not any("answer delays" in m for m in pl.fit_messages(fit))
