"""sim fit: overflow routing (a group that takes a call type only after a wait) is recovered.

The log of scenarios/hotline_contact_center.yaml has three groups and four overflow steps
(sales calls to general after 30 s, inquiries to sales after 45 s, complaints and leads to general
after 60 s). A fit that left routing to skills let every group take those calls at once; the
fitted model then answered more calls within 20 s than the history at the same abandonment
(back-test service level 93.3%, 95% CI 92.7..93.8%, against the log's 92.1%; docs/fit.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import sim_ok, simulated_log

from sim.fit.agents import overflow_routes
from sim.fit.calibrate import one_run_range, verdict
from sim.fit.calllog import ANSWERED, CallLogData, Labels, read_call_log
from sim.fit.pipeline import FitOptions, fit_log
from sim.fit.scenario_out import build_scenario
from sim.scenario.loading import scenario_from_dict

HOTLINE = Path(__file__).resolve().parent.parent / "scenarios" / "hotline_contact_center.yaml"


@pytest.fixture(scope="module")
def hotline_log(tmp_path_factory):
    return simulated_log(HOTLINE, 5, tmp_path_factory.mktemp("hotline"))


def test_overflow_delays_are_read_from_the_piles_of_answered_waits(hotline_log):
    result = fit_log(read_call_log(hotline_log), FitOptions())
    routes = {
        ctype: [(s["group"], s["after"]) for s in steps]
        for ctype, steps in result.fit["agents"]["routing"].items()
    }
    assert routes == {
        "sales_delivery": [("sales", 0), ("general", 30)],
        "inquiry": [("general", 0), ("sales", 45)],
        "complaint": [("complaints", 0), ("general", 60)],
        "lead_registration": [("sales", 0), ("general", 60)],
    }
    data, comments = build_scenario(result.fit, "fitted", 1.0, 7)
    assert data["routing"]["complaint"] == ["complaints", {"group": "general", "after": 60}]
    assert "inquiry" not in data["agents"]["groups"]["sales"]["skills"]  # overflow only
    assert "general after 60 s" in comments[("routing", "complaint")]
    sc = scenario_from_dict(data)
    assert [s.after for s in sc.routing.rules["inquiry"]] == [0, 45]


def _log(wait: np.ndarray, group: np.ndarray) -> CallLogData:
    n = len(wait)
    return CallLogData(
        arrival=np.arange(n, dtype=np.int64) * 60,
        outcome=np.full(n, ANSWERED, dtype=np.int8),
        wait=wait,
        handle=np.full(n, 100.0),
        acw=None,
        labels={
            "call_type": Labels(np.zeros(n, dtype=np.int32), ["t"]),
            "group": Labels(group.astype(np.int32), ["a", "b"]),
        },
        source="x.csv",
        rows_read=n,
    )


def test_two_groups_without_a_pile_get_no_route():
    rng = np.random.default_rng(1)
    wait = np.where(rng.random(4000) < 0.5, 0.0, rng.exponential(20.0, 4000))
    assert overflow_routes(_log(wait, rng.integers(0, 2, 4000))) == {}
    wait[:400] = 30.0 + rng.random(400) * 0.2  # group b answers only at 30 s
    group = np.where(np.arange(4000) < 400, 1, 0)
    (steps,) = overflow_routes(_log(wait, group)).values()
    assert [(s["group"], s["after"]) for s in steps] == [("a", 0), ("b", 30)]


@pytest.mark.slow
def test_round_trip_of_the_hotline_backtests_inside_the_models_interval(tmp_path):
    """The audit's case: `sim run` of the bundled hotline, its log fitted with the defaults."""
    run = ("--out", tmp_path / "run", "--quiet", "--no-report", "--workers", "2")
    sim_ok("run", HOTLINE, "--call-log", "--replications", "1", *run)
    sim_ok("fit", tmp_path / "run" / "calls.parquet", "--out", tmp_path / "fit", "--quiet")
    backtest = json.loads((tmp_path / "fit" / "fit.json").read_text())["backtest"]
    for figure in ("service_level", "abandon_rate"):
        assert backtest["overall"][figure]["inside"], (figure, backtest["overall"][figure])


def _figure(history: float, mean: float, ci: list[float], n: int = 4) -> dict:
    one = one_run_range("service_level", mean, ci, n)
    return {
        "history": history,
        "model": mean,
        "model_ci95": ci,
        "inside": ci[0] <= history <= ci[1],
        "model_range95": one,
        "inside_range": one is not None and one[0] <= history <= one[1],
    }


def testone_run_range_is_the_prediction_interval():
    # 4 runs: mean +- t3 s / 2 -> one more run: mean +- t3 s sqrt(1.25) = half-width x sqrt(5)
    assert one_run_range("service_level", 0.9, [0.89, 0.91], 4) == pytest.approx(
        [0.9 - 0.01 * 5**0.5, 0.9 + 0.01 * 5**0.5]
    )
    assert one_run_range("service_level", 0.999, [0.998, 1.0], 4)[1] == 1.0  # a share <= 1


def test_the_verdict_names_every_figure_outside_the_interval():
    inside = _figure(0.025, 0.026, [0.024, 0.028])
    assert verdict({"abandon_rate": inside}).startswith("the history lies inside")
    far = _figure(0.900, 0.933, [0.927, 0.939])  # one-run range 0.920 .. 0.946
    said = verdict({"service_level": far, "abandon_rate": inside})
    assert said.startswith("MISS") and "service_level 90.0%" in said and "abandon" not in said
    near = _figure(0.921, 0.933, [0.927, 0.939])  # outside the mean's interval only
    said = verdict({"service_level": near, "abandon_rate": inside})
    assert not said.startswith("MISS") and "outside the interval of the model's mean" in said
