"""The ContactCenters "Blend" example (scenarios/blend.yaml) against its published figures
(Blend.res, 1,000 days): inbound and outbound calls blended by a threshold dialer."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.quality.blend import PUBLISHED, PUBLISHED_DIALED, SCENARIO, blend_days
from sim.scenario.loading import load_scenario, scenario_from_dict
from sim.scenario.resolved import scenario_to_dict

DAYS = 200  # a day takes about 10 ms


@pytest.fixture(scope="module")
def days():
    return blend_days(DAYS)


@pytest.mark.parametrize("measure", list(PUBLISHED))
def test_published_figure_is_reproduced(days, measure):
    """Difference of the means within 3 standard errors of the difference (both intervals:
    the published one over 1,000 days, ours over DAYS)."""
    mean, lo, hi = PUBLISHED[measure]
    ours = np.asarray(days[measure])
    se = math.hypot(ours.std(ddof=1) / math.sqrt(len(ours)), (hi - lo) / (2 * 1.96))
    assert abs(ours.mean() - mean) <= 3 * se, (measure, ours.mean(), mean, se)


def test_numbers_dialed(days):
    """Published without an interval: mean 1,109.04, standard deviation 258.167 per day."""
    ours = np.asarray(days["numbers dialed"])
    se = math.hypot(ours.std(ddof=1) / math.sqrt(len(ours)), 258.167 / math.sqrt(1000))
    assert abs(ours.mean() - PUBLISHED_DIALED) <= 3 * se


def test_the_dialer_matters():
    """Dialing 3 numbers per free blend agent instead of 2 more than doubles the mismatches
    (reached customers with no blend agent free): the figures above depend on the rule."""
    data = scenario_to_dict(load_scenario(SCENARIO))
    data["outbound"]["campaigns"]["follow_up"]["dialer"]["kappa"] = 3
    figures = blend_days(40, scenario_from_dict(data, base_dir=SCENARIO.parent))
    assert (
        np.mean(figures["outbound mismatches (abandoned)"])
        > 2 * PUBLISHED["outbound mismatches (abandoned)"][0]
    )
