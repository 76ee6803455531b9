"""Calendars (staffing maps, shifts, weekday factors) and exact time-varying Poisson arrivals."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim import scenario_from_dict, simulate
from sim.model.calendar import arrival_rates, staffing_timeline
from sim.model.callers import _by_category, _categorical, poisson_times
from sim.model.streams import Streams
from sim.records.calls import Origin
from sim.scenario.distributions import Exponential
from sim.scenario.units import DAY
from sim.scenario.yamlsource import ScenarioError


def base(**over):
    data = {
        "name": "cal",
        "horizon": {"days": 2},
        "arrivals": {"rate_per_hour": 60},
        "call_types": {"general": {"share": 1, "handle_time": {"dist": "fixed", "value": 60}}},
        "customer_tiers": {"std": {"share": 1}},
        "agents": {"groups": {"team": {"skills": ["general"], "staffing": 3}}},
    }
    for key, value in over.items():
        data[key] = value
    return scenario_from_dict(data)


def test_staffing_map_wraps_past_midnight():
    sc = base(
        agents={"groups": {"team": {"skills": ["general"], "staffing": {"08:00": 10, "22:00": 2}}}}
    )
    tl = staffing_timeline(sc, sc.agents.groups["team"])
    assert tl.at(0) == 2  # before 08:00 on day 1: the evening value of the map
    assert tl.at(8 * 3600) == 10
    assert tl.at(21.99 * 3600) == 10
    assert tl.at(23 * 3600) == 2
    assert tl.at(DAY + 7 * 3600) == 2
    # agent-hours over the first day: 14 h x 10 + 10 h x 2
    assert tl.integral(np.array([0, DAY]))[0] == pytest.approx((14 * 10 + 10 * 2) * 3600)


def test_weekday_staffing_maps():
    sc = base(
        horizon={"days": 7, "start_weekday": "fri"},
        agents={
            "groups": {
                "team": {
                    "skills": ["general"],
                    "staffing": {
                        **{d: 0 for d in ("mon", "tue", "wed", "thu", "sun")},
                        "fri": {"09:00": 5},
                        "sat": 1,
                    },
                }
            }
        },
    )
    tl = staffing_timeline(sc, sc.agents.groups["team"])
    assert tl.at(10 * 3600) == 5  # friday
    assert tl.at(DAY + 10 * 3600) == 1  # saturday
    assert tl.at(2 * DAY + 10 * 3600) == 0  # sunday: 0, nobody
    assert tl.at(7 * 3600) == 0  # friday before 09:00: thursday ended with nobody on duty
    with pytest.raises(ScenarioError, match="missing mon, tue, wed, thu, sun"):
        base(agents={"groups": {"team": {"skills": ["general"], "staffing": {"fri": 5, "sat": 1}}}})


def test_shifts_with_breaks_and_overnight():
    sc = base(
        agents={
            "groups": {
                "team": {
                    "skills": ["general"],
                    "shifts": [
                        {
                            "start": "08:00",
                            "end": "16:00",
                            "count": 4,
                            "break": {"at": "12:00", "length": "30min"},
                        },
                        {"start": "22:00", "end": "06:00", "count": 2},
                    ],
                }
            }
        }
    )
    tl = staffing_timeline(sc, sc.agents.groups["team"])
    assert tl.at(3 * 3600) == 2  # the night shift that started on day 0
    assert tl.at(9 * 3600) == 4
    assert tl.at(12.25 * 3600) == 0  # the whole shift on break
    assert tl.at(12.5 * 3600) == 4
    assert tl.at(16 * 3600) == 0
    assert tl.at(DAY + 5 * 3600) == 2


def test_daily_volume_profile_and_weekday_factors():
    sc = base(
        horizon={"days": 7, "start_weekday": "mon"},
        arrivals={
            "daily_volume": 1000,
            "weekday_factors": {"sat": 0.5},
            "intraday_profile": {"08:00": 3.0, "20:00": 1.0},
        },
    )
    rates = arrival_rates(sc)
    day_volume = rates.integral(np.arange(8) * DAY)
    np.testing.assert_allclose(day_volume, [1000] * 5 + [500, 1000])
    # 12 h at weight 3 and 12 h at weight 1 (wrapping): 3/4 of the volume from 08:00 to 20:00
    assert rates.integral(np.array([8 * 3600, 20 * 3600]))[0] == pytest.approx(750)


def test_rate_file(tmp_path):
    (tmp_path / "rates.csv").write_text("start,calls\n09:00,30\n09:30,60\n")
    data = base().model_dump(by_alias=True)
    data["arrivals"] = {"file": "rates.csv"}
    sc = scenario_from_dict(data, base_dir=tmp_path)
    rates = arrival_rates(sc)
    assert rates.integral(np.array([0, DAY]))[0] == pytest.approx(90)
    assert rates.at(9.6 * 3600) == pytest.approx(60 / 1800)
    assert rates.at(10.1 * 3600) == 0


def test_poisson_pieces_are_exact_even_for_a_short_peak():
    """Counts in a 10-minute peak are Poisson with the right mean (mean = variance)."""
    starts, ends = np.array([0.0, 3600.0, 4200.0]), np.array([3600.0, 4200.0, 7200.0])
    rates = np.array([0.01, 0.5, 0.01])  # a peak of 300 expected calls in 10 minutes
    rng = Streams(1)("arrivals")
    counts = []
    for _ in range(400):
        t = poisson_times(rng, starts, ends, rates)
        assert np.all(np.diff(t) >= 0)
        counts.append(np.sum((t >= 3600) & (t < 4200)))
    counts = np.array(counts)
    assert abs(counts.mean() - 300) < 4 * np.sqrt(300 / 400)
    assert 0.8 < counts.var(ddof=1) / counts.mean() < 1.2


def test_arrivals_are_poisson_over_the_day():
    """Constant-rate first calls: counts per hour pass a chi-square dispersion test."""
    run = simulate(base(horizon={"days": 20}), seed=2)
    c = run.records.calls
    t = c.arrival[c.origin == Origin.FIRST]
    counts = np.bincount((t // 3600).astype(int), minlength=480)
    assert counts.mean() == pytest.approx(60, rel=0.03)
    dispersion = np.sum((counts - counts.mean()) ** 2) / counts.mean()
    assert stats.chi2(len(counts) - 1).cdf(dispersion) < 0.999
    assert stats.chi2(len(counts) - 1).cdf(dispersion) > 0.001


def test_day_to_day_cv_varies_daily_volumes():
    sc = base(horizon={"days": 60}, arrivals={"daily_volume": 2000, "day_to_day_cv": 0.2})
    c = simulate(sc, seed=3).records.calls
    daily = np.bincount((c.arrival[c.origin == Origin.FIRST] // DAY).astype(int))
    cv = daily.std(ddof=1) / daily.mean()
    assert 0.14 < cv < 0.27  # sqrt(0.2^2 + 1/2000) ~ 0.20


def test_draws_by_category_are_those_of_a_mask_per_category():
    """One stable sort gives each category's rows in row order: the same draws, in the same
    rows, as a mask per category (the former loop); one category draws no categories."""
    category = _categorical(np.random.default_rng(5), [0.2, 0.5, 0.3, 0.0], 5000)
    assert set(np.unique(category).tolist()) == {0, 1, 2}  # a category without rows too
    specs = [Exponential(dist="exponential", mean=10.0 * (k + 1)) for k in range(4)]
    got = _by_category(category, specs, [np.random.default_rng(k) for k in range(4)])
    expected = np.empty(len(category))
    for k, spec in enumerate(specs):
        mask = category == k
        expected[mask] = spec.sample(np.random.default_rng(k), int(mask.sum()))
    assert np.array_equal(got, expected)
    assert not _categorical(np.random.default_rng(5), [1.0], 10).any()
