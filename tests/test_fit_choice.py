"""Choices the fit makes by calibration (tier priority, staffing shape) and the Erlang A
staffing shape they choose from, with stubbed calibrations (no simulation)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.fit import agents as ag
from sim.fit import pipeline as pl
from sim.fit.arrivals import LogCalendar
from sim.planning.erlang import erlang_a_metrics

HANDLE, PATIENCE, INTERVAL = 180.0, 300.0, 1800.0


def _stub(misfits: list[float], fit: dict, read):
    """A calibration returning the next misfit and recording what the fit held at that moment."""
    seen = []

    def calibrate() -> dict:
        seen.append(read(fit))
        return {"misfit": misfits[len(seen) - 1], "factor": 1.0 + len(seen)}

    return calibrate, seen


def _tiered() -> dict:
    return {"tier_priority": {"source": "overtaking", "priority": {"gold": 0, "base": 1}}}


def test_inferred_priority_kept_when_its_misfit_is_smaller():
    fit = _tiered()
    calibrate, seen = _stub([2.0], fit, lambda f: dict(f["tier_priority"]["priority"]))
    got = pl._priority_by_calibration(fit, {"misfit": 1.0, "factor": 0.7}, calibrate)
    tp = fit["tier_priority"]
    assert seen == [{"gold": 0, "base": 0}]  # the alternative was calibrated first come first
    assert got == {"misfit": 1.0, "factor": 0.7}
    assert tp["priority"] == {"gold": 0, "base": 1} and tp["source"] == "overtaking"
    assert tp["chosen_by_calibration"]["kept"] == "inferred priority"


@pytest.mark.parametrize("fcfs_misfit", [0.5, 1.0])  # a tie goes to the simpler model
def test_first_come_first_served_when_priority_does_not_fit_better(fcfs_misfit):
    fit = _tiered()
    calibrate, _ = _stub([fcfs_misfit], fit, lambda f: None)
    got = pl._priority_by_calibration(fit, {"misfit": 1.0, "factor": 0.7}, calibrate)
    tp = fit["tier_priority"]
    assert got["misfit"] == fcfs_misfit and got["factor"] == 2.0
    assert tp["priority"] == {"gold": 0, "base": 0}
    assert tp["source"].startswith("first come, first served")
    assert "worse (misfit 1.00 against" in tp["source"]
    assert tp["chosen_by_calibration"]["misfit_with_priority"] == 1.0


def _shaped() -> tuple[dict, dict]:
    seen = {"groups": {"a": [[1.0]]}, "method": "distinct agents busy in the interval"}
    erlang = {"groups": {"a": [[2.0]]}, "method": "INFERRED: Erlang A"}
    return {"agents": {"seen": seen}}, erlang


@pytest.mark.parametrize(("erlang_misfit", "kept"), [(0.4, pl.ERLANG_A), (0.9, pl.SEEN)])
def test_shape_with_the_smaller_misfit_is_kept(erlang_misfit, kept):
    fit, erlang = _shaped()
    calibrate, seen = _stub([erlang_misfit], fit, lambda f: f["agents"]["seen"]["groups"])
    got = pl._shape_by_calibration(fit, {"misfit": 0.9, "factor": 0.6}, erlang, calibrate)
    agents = fit["agents"]
    assert seen == [{"a": [[2.0]]}]  # the Erlang A shape was in the fit when calibrated
    assert got["misfit"] == min(erlang_misfit, 0.9)
    assert agents["shape_chosen_by_calibration"]["kept"] == kept
    assert agents["shape_chosen_by_calibration"]["misfit_erlang_a"] == erlang_misfit
    want = "INFERRED: Erlang A" if kept == pl.ERLANG_A else "distinct agents busy"
    assert agents["seen"]["method"].startswith(want)
    assert "shape chosen by calibration" in agents["seen"]["method"]


def _history(rows: list[tuple[int, str, str, float, float, float]]) -> dict:
    """An interval table: (day, weekday, start, offered, abandon rate, ASA) per row."""
    off = np.array([r[3] for r in rows])
    rate = np.array([r[4] for r in rows])
    return {
        "day": np.array([r[0] for r in rows]),
        "weekday": np.array([r[1] for r in rows]),
        "start": np.array([r[2] for r in rows]),
        "offered": off,
        "answered": off * (1 - rate),
        "abandoned": off * rate,
        "service_level": np.full(len(rows), 0.5),
        "abandon_rate": rate,
        "asa": np.array([r[5] for r in rows]),
    }


def test_erlang_a_shape_is_the_direct_inversion_per_slot():
    cal = LogCalendar(0, np.zeros(0, dtype=int), np.array([0, 1]), np.ones(2, bool), np.zeros(0))
    hist = _history([(1, "mon", "09:00", 120.0, 0.10, 30.0), (2, "tue", "10:30", 60.0, 0.02, 10.0)])
    out = ag.erlang_a_agents(hist, cal, HANDLE, PATIENCE, INTERVAL, {"abandoned", "asa"})
    grid = np.array(out["groups"]["agents"])
    # monday: 12 abandons, matched on abandonment; tuesday: 1.2, too few, matched on the ASA
    for w, s, offered, metric, target in (
        (0, 18, 120.0, "abandon_rate", 0.10),
        (1, 21, 60.0, "asa", 10.0),
    ):
        n = grid[w, s]
        lam = offered / INTERVAL
        assert n == pytest.approx(ag.agents_for(metric, target, lam, HANDLE, PATIENCE))
        # Erlang A at the whole agents around n brackets the slot's figure
        below = erlang_a_metrics(lam, HANDLE, math.floor(n), PATIENCE, math.inf)
        above = erlang_a_metrics(lam, HANDLE, math.ceil(n), PATIENCE, math.inf)
        assert getattr(above, metric) <= target <= getattr(below, metric)
    assert grid.sum() == pytest.approx(grid[0, 18] + grid[1, 21])  # no call, no agent
    assert out["matched"] == {"abandon_rate": 1, "asa": 1, "load": 0}


def test_erlang_a_agents_split_over_groups_as_seen():
    seen = {"groups": {"a": [[3.0, 0.0, 1.0]], "b": [[1.0, 0.0, 0.0]]}}
    got = ag.erlang_a_by_group([[8.0, 5.0, 2.0]], seen)
    assert got["a"][0][0] == pytest.approx(6.0) and got["b"][0][0] == pytest.approx(2.0)
    # none seen in the slot: the groups' shares of all agents seen (4 : 1)
    assert got["a"][0][1] == pytest.approx(4.0) and got["b"][0][1] == pytest.approx(1.0)
    assert got["a"][0][2] == pytest.approx(2.0) and got["b"][0][2] == 0.0
