"""Conservation over small random scenarios: every order, lead and work order ends in exactly
one state or is open at the horizon, per channel; complaint calls appear once in the calls."""

from __future__ import annotations

import numpy as np
from conftest import fixture_data
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import scenario_from_dict, simulate
from sim.model.delivery import SOURCES
from sim.records.business import LeadState, OrderState, WorkOrderState
from sim.records.calls import Origin


@st.composite
def small_scenarios(draw):
    data = fixture_data("business_small.yaml")
    data["horizon"] = {"days": draw(st.integers(1, 3)), "warmup": draw(st.sampled_from([0, "6h"]))}
    data["arrivals"] = {"rate_per_hour": draw(st.floats(2, 30))}
    bo = data["back_office"]
    bo["team"]["staff"] = draw(st.integers(0, 4))
    bo["discipline"] = draw(st.sampled_from(["earliest_deadline", "fifo"]))
    bo["work"]["lead"]["max_attempts"] = draw(st.integers(1, 3))
    bo["work"]["work_order"]["resolution"] = draw(st.floats(0, 1))
    chans = data["delivery"]["channels"]
    chans["couriers"]["couriers"] = draw(st.integers(0, 4))
    chans["couriers"]["max_attempts"] = draw(st.integers(1, 3))
    chans["couriers"]["first_attempt_success"] = draw(st.floats(0, 1))
    chans["company"]["daily_capacity"] = draw(st.integers(0, 40))
    chans["company"]["complaint_rate"] = draw(st.floats(0, 0.5))
    data["delivery"]["routing"][0]["fallback"] = draw(st.sampled_from(["company", None]))
    data["delivery"]["routing"][-1]["use"] = draw(st.sampled_from(["company", "couriers"]))
    return data, draw(st.integers(0, 1000))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_scenarios())
def test_every_item_ends_once_or_is_open(case):
    data, seed = case
    sc = scenario_from_dict(data)
    run = simulate(sc, seed=seed)
    horizon = sc.horizon_s
    o, a = run.business.orders, run.business.attempts
    # orders: one state each, per channel; closed <=> not open; attempts match the attempt log
    assert set(np.unique(o.state).tolist()) <= {int(s) for s in OrderState}
    for c in (-1, 0, 1):
        mine = o.channel == c
        n = [(mine & (o.state == s)).sum() for s in OrderState]
        assert mine.sum() == sum(n)
    assert np.all(o.state[o.channel == -1] == OrderState.OPEN)
    assert np.all(np.isnan(o.closed) == (o.state == OrderState.OPEN))
    assert np.all(o.closed[~np.isnan(o.closed)] < horizon)
    np.testing.assert_array_equal(np.bincount(a.order, minlength=len(o)), o.attempts)
    wins = np.bincount(a.order, weights=a.success, minlength=len(o))
    np.testing.assert_array_equal(wins, o.state == OrderState.DELIVERED)
    for c, ch in enumerate(sc.delivery.channels.values()):  # capacity never exceeded
        days = o.dispatch_day[o.channel == c]
        if len(days):
            assert np.bincount(days).max() <= ch.orders_per_day
    max_att = np.array([ch.max_attempts for ch in sc.delivery.channels.values()])
    failed = o.state == OrderState.FAILED
    np.testing.assert_array_equal(o.attempts[failed], max_att[o.channel[failed]])
    # leads: converted ones own exactly the orders from leads
    leads = run.business.leads
    assert np.all(np.isnan(leads.closed) == (leads.state == LeadState.OPEN))
    converted = leads.state == LeadState.CONVERTED
    assert (o.source == SOURCES.index("lead")).sum() == converted.sum()
    np.testing.assert_array_equal(o.customer[leads.order[converted]], leads.customer[converted])
    assert np.all(leads.order[~converted] == -1)
    # work orders
    wo = run.business.work_orders
    assert np.all(np.isnan(wo.closed) == (wo.state == WorkOrderState.OPEN))
    # complaint calls: one call per complaint inside the horizon
    calls = run.records.calls
    due = o.complaint_at < horizon
    assert (calls.origin == Origin.DELIVERY_COMPLAINT).sum() == due.sum()
    back = wo.called_back < horizon
    assert (calls.origin == Origin.WORK_ORDER_UNRESOLVED).sum() == back.sum()
    # KPIs are numbers in range or None, never errors
    for name in (
        "delivery_on_time",
        "delivery_success",
        "first_attempt_success",
        "back_office_on_time",
        "lead_conversion",
    ):
        v = run.kpis[name]
        assert v is None or 0 <= v <= 1
    k = run.kpis
    created = o.created >= sc.warmup
    assert k["orders_open"] == (created & (o.state == OrderState.OPEN)).sum()


def test_business_figures_do_not_depend_on_workers():
    from sim.experiments.replication import replicate

    sc = scenario_from_dict(fixture_data("business_small.yaml"))
    one = replicate(sc, replications=2, workers=1)
    two = replicate(sc, replications=2, workers=2)
    for a, b in zip(one.runs, two.runs, strict=True):
        assert a.kpis == b.kpis
        for name, col in a.extra["daily"].items():
            np.testing.assert_array_equal(col, b.extra["daily"][name])
