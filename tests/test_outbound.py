"""Outbound campaigns (``outbound:``, sim/model/dialer.py): the threshold rule, the keys'
checks, properties over small random blends (hypothesis) and common random numbers."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import scenario_from_dict, simulate
from sim.kpi.outbound import outbound_kpis
from sim.records.calls import Origin, Outcome
from sim.scenario.errors import ScenarioError

H = 3600.0


def _blend(**campaign) -> dict:
    """Inbound calls on two groups, an outbound campaign served by the second."""
    dialer = {
        "test_groups": ["inbound_only", "blend"],
        "target_groups": ["blend"],
        "min_free": 2,
        "kappa": 1.5,
        "c": 0,
        "hours": {"start": "09:00", "end": "15:00"},
        **campaign.pop("dialer", {}),
    }
    return {
        "name": "blend-test",
        "horizon": {"days": 1},
        "arrivals": {"rate_per_hour": campaign.pop("rate", 40)},
        "customer_tiers": {"c": {"share": 1, "patience": {"dist": "exponential", "mean": "3min"}}},
        "call_types": {
            "inbound": {"share": 1, "handle_time": {"dist": "exponential", "mean": "5min"}},
            "outbound": {"share": 0, "handle_time": {"dist": "exponential", "mean": "4min"}},
        },
        "agents": {
            "groups": {
                "inbound_only": {"skills": ["inbound"], "staffing": {"00:00": 0, "08:00": 3}},
                "blend": {"skills": ["inbound", "outbound"], "staffing": {"00:00": 0, "08:00": 4}},
            }
        },
        "routing": {"inbound": ["inbound_only", "blend"], "outbound": ["blend"]},
        "outbound": {
            "campaigns": {
                "follow_up": {
                    "call_type": "outbound",
                    "reach": 0.4,
                    "patience": {"dist": "fixed", "value": "10s"},
                    "dialer": dialer,
                    **campaign,
                }
            }
        },
        "seed": 5,
    }


def test_the_threshold_rule_dials_round_half_up_of_kappa_free_plus_c():
    """No inbound calls and nobody reached: only the look when the hours begin dials, with
    every agent free: round(0.25 x 10) + 1 = 4 (Java's Math.round: 2.5 -> 3; Python's round
    would give 2); below min_free it dials nothing."""
    data = _blend(rate=0, reach=0.0, dialer={"kappa": 0.25, "c": 1, "min_free": 0})
    data["agents"]["groups"]["blend"]["staffing"] = {"00:00": 10}
    data["agents"]["groups"]["inbound_only"]["staffing"] = {"00:00": 2}
    assert simulate(scenario_from_dict(data)).kpis["outbound_dialed"] == 4
    data["outbound"]["campaigns"]["follow_up"]["dialer"]["min_free"] = 13  # 12 free
    assert simulate(scenario_from_dict(data)).kpis["outbound_dialed"] == 0
    data["outbound"]["campaigns"]["follow_up"]["dialer"].update(min_free=12, c=-3)  # 3 - 3
    assert simulate(scenario_from_dict(data)).kpis["outbound_dialed"] == 0


def test_calls_ringing_count_against_the_next_dials():
    """With a ring time, numbers dialed and not yet answered are subtracted: the dialer looks
    again while they ring (agents freeing up) without dialing more than the rule allows."""
    data = _blend(rate=60, dialer={"ring_time": "20s"})
    result = simulate(scenario_from_dict(data))
    plain = simulate(scenario_from_dict(_blend(rate=60)))
    assert 0 < result.kpis["outbound_reached"] < result.kpis["outbound_dialed"]
    assert result.kpis["outbound_dialed"] != plain.kpis["outbound_dialed"]


def test_reached_customers_are_calls_of_their_type_outside_the_inbound_figures():
    result = simulate(scenario_from_dict(_blend()))
    c, k = result.records.calls, result.kpis
    out = c.origin == Origin.OUTBOUND
    assert out.any() and (c.call_type[out] == 1).all()
    assert np.isnan(c.queue_entry[out]).all()  # not offered: inbound KPIs do not count them
    assert k["offered"] == (~out).sum()
    assert k["outbound_reached"] == out.sum()
    served = out & (c.outcome == Outcome.ANSWERED)
    assert k["outbound_served"] == served.sum()
    assert (c.group[served] == 1).all()  # only the blend group takes them
    mismatched = (out & (c.outcome == Outcome.ABANDONED)).sum()
    assert k["mismatch_rate"] == pytest.approx(mismatched / out.sum())
    reach_time = c.arrival[out] % 86400
    assert ((reach_time >= 9 * H) & (reach_time < 15 * H)).all()  # inside the active hours


def test_kpis_only_with_outbound():
    data = _blend()
    del data["outbound"]
    kpis = simulate(scenario_from_dict(data)).kpis
    assert not [k for k in kpis if k.startswith(("outbound_", "mismatch"))]


def test_outbound_kpis_sum_campaigns_and_name_each_when_several():
    counts = {
        "a": {"dialed": 10, "reached": 4, "served": 3, "mismatched": 1},
        "b": {"dialed": 6, "reached": 0, "served": 0, "mismatched": 0},
    }
    k = outbound_kpis(counts, days=2.0)
    assert k["outbound_dialed"] == 8 and k["outbound_reached"] == 2
    assert k["mismatch_rate"] == 0.25 and k["mismatch_rate.campaign=b"] is None
    assert "outbound_served.campaign=a" in k
    assert "outbound_served.campaign=a" not in outbound_kpis({"a": counts["a"]}, 1.0)


def test_adding_a_campaign_keeps_the_inbound_callers():
    """Common random numbers: the dialer draws from its own streams, so the inbound calls
    (arrival, patience, handle time) are the same bits with and without it."""
    data = _blend()
    with_campaign = simulate(scenario_from_dict(data)).records.calls
    del data["outbound"]
    without = simulate(scenario_from_dict(data)).records.calls
    n = len(without)
    for col in ("arrival", "patience", "handle", "tier"):
        np.testing.assert_array_equal(getattr(with_campaign, col)[:n], getattr(without, col))
    assert (with_campaign.origin[n:] == Origin.OUTBOUND).all()


@pytest.mark.parametrize(
    "change, where",
    [
        ({"call_type": "outgoing"}, "call_type"),
        ({"dialer": {"test_groups": ["nobody"]}}, "test_groups"),
        ({"reach": 1.5}, "reach"),
        ({"reach": {"10:00": 0.2, "09:00": 0.3}}, "reach"),
    ],
)
def test_bad_campaigns_are_clear_errors(change, where):
    with pytest.raises(ScenarioError, match=where):
        scenario_from_dict(_blend(**change))


def test_a_dialed_call_type_takes_no_inbound_arrivals():
    data = _blend()
    data["call_types"]["inbound"]["share"] = 0.5
    data["call_types"]["outbound"]["share"] = 0.5
    with pytest.raises(ScenarioError, match="share 0"):
        scenario_from_dict(data)


@st.composite
def blends(draw):
    data = _blend(
        rate=draw(st.sampled_from([10, 40, 80])),
        reach=draw(st.sampled_from([0.2, 1.0, {"00:00": 0.1, "12:00": 0.9}])),
        patience=draw(
            st.sampled_from([{"dist": "fixed", "value": 0}, {"dist": "exponential", "mean": "30s"}])
        ),
        before_inbound=draw(st.booleans()),
        dialer={
            "min_free": draw(st.integers(0, 4)),
            "kappa": draw(st.sampled_from([0.5, 1.0, 2.0, 3.0])),
            "c": draw(st.integers(-1, 2)),
            "ring_time": draw(st.sampled_from([0, "15s"])),
            "hours": {"start": f"{draw(st.integers(0, 20)):02d}:00", "end": "22:00"},
        },
    )
    data["agents"]["groups"]["blend"]["staffing"] = {
        "00:00": draw(st.integers(1, 4)),
        "12:00": draw(st.integers(0, 5)),
    }
    data["horizon"]["days"] = draw(st.integers(1, 2))
    data["seed"] = draw(st.integers(0, 1000))
    return data


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blends())
def test_properties_of_blends(data):
    """Nothing lost (every reached customer answered, hung up or open at the horizon; the
    counts add up), one call per agent at a time, outbound only to its groups, and with
    ``before_inbound`` no blend agent takes an inbound call while a reached customer waits."""
    result = simulate(scenario_from_dict(data))
    c, k = result.records.calls, result.kpis
    out = c.origin == Origin.OUTBOUND
    states = c.outcome[out]
    assert np.isin(states, [Outcome.ANSWERED, Outcome.ABANDONED, Outcome.OPEN]).all()
    days = data["horizon"]["days"]
    answered, abandoned = states == Outcome.ANSWERED, states == Outcome.ABANDONED
    assert k["outbound_reached"] * days == out.sum()
    assert k["outbound_served"] * days == answered.sum()
    if out.any():
        assert k["mismatch_rate"] == pytest.approx(abandoned.sum() / out.sum())
    assert k["outbound_dialed"] >= k["outbound_reached"]
    assert (c.group[out][answered] == 1).all()
    # one call at a time per agent (inbound and outbound together)
    took = c.outcome == Outcome.ANSWERED
    order = np.lexsort((c.answer[took], c.agent[took]))
    agent, start, stop = c.agent[took][order], c.answer[took][order], c.release[took][order]
    same = agent[1:] == agent[:-1]
    assert (start[1:][same] >= stop[:-1][same]).all()
    # waits: a reached customer waits no longer than its patience
    wait_end = np.where(answered, c.answer[out], c.end[out])
    assert (wait_end[states != Outcome.OPEN] - c.arrival[out][states != Outcome.OPEN] >= 0).all()
    if data["outbound"]["campaigns"]["follow_up"]["before_inbound"]:
        waiting = out & (c.outcome != Outcome.OPEN)
        lo = c.arrival[waiting]
        hi = np.where(c.outcome[waiting] == Outcome.ANSWERED, c.answer[waiting], c.end[waiting])
        inbound_by_blend = ~out & took & (c.group == 1) & (c.answer > c.queue_entry)
        for t in c.answer[inbound_by_blend]:
            assert not ((lo < t) & (t < hi)).any(), "an inbound call taken while one waited"


def test_same_seed_same_numbers_with_and_without_records():
    """A run without records reduces its calls day by day, reached customers among them."""
    data = _blend()
    data["horizon"]["days"] = 3
    sc = scenario_from_dict(data)
    a, b = simulate(sc, keep_records=False), simulate(sc)
    assert a.kpis == b.kpis
    assert copy.deepcopy(a.kpis)["outbound_dialed"] > 0


def test_the_terminal_table_shows_outbound_figures_only_for_a_blend():
    from rich.console import Console

    from sim.experiments.replication import replicate
    from sim.report.terminal import kpi_table

    def shown(data) -> str:
        out = Console(width=200, record=True)
        summary = replicate(scenario_from_dict(data), replications=2, workers=1)
        out.print(kpi_table(summary, "t"))
        return out.export_text()

    data = _blend()
    assert "outbound_served" in shown(data) and "mismatch_rate" in shown(data)
    del data["outbound"]
    assert "outbound" not in shown(data)


def test_a_dialer_without_progress_in_time_is_stopped():
    """Talk of 0 s and every number reached: each answered customer frees its agent at once
    and the dialer looks again, forever at the same instant. The run stops with a clear
    error instead of filling memory."""
    from sim.model.callers import SimulationLimitError

    data = _blend(rate=0, reach=1.0, dialer={"min_free": 0})
    data["call_types"]["outbound"]["handle_time"] = {"dist": "fixed", "value": 0}
    with pytest.raises(SimulationLimitError, match=r"follow_up.*without progress"):
        simulate(scenario_from_dict(data))


def test_the_call_log_shows_reached_customers_when_reached():
    from sim.records.call_log import call_log_table

    result = simulate(scenario_from_dict(_blend()))
    table = call_log_table(result.records).to_pandas()
    out = table[table["origin"] == "outbound"]
    assert len(out) and (out["wait"] >= 0).all()
    assert out["customer"].is_unique
    hours = out["arrival"].dt.hour
    assert ((hours >= 9) & (hours < 15)).all()
    mismatched = out[out["outcome"] == "abandoned"]
    assert (mismatched["wait"] == 10.0).all()  # fixed patience of 10 s
