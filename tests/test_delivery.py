"""Delivery: closed forms for attempts, cut-off, hours, capacity, complaint calls, CRN."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import one_call_type

from sim import scenario_from_dict, simulate
from sim.model.calendar import Opening
from sim.records.business import OrderState
from sim.records.calls import Origin
from sim.scenario.units import DAY, parse_clock


def _only_sales(data: dict, rate: float) -> dict:
    """Every call a sales call that becomes an order; no back office."""
    one_call_type(data, rate, "sales", "1min", 100, accept_rate=1.0, creates="delivery_order")
    data.pop("back_office")
    for channel in data["delivery"]["channels"].values():
        channel["complaint_rate"] = 0  # no complaint call type here
    return data


def test_attempts_match_geometric_closed_form(business_data):
    """Ample capacity, success p, k attempts: delivered share 1-(1-p)^k, mean attempts
    (1-(1-p)^k)/p (a truncated geometric number of attempts)."""
    p, k = 0.6, 3
    data = _only_sales(business_data, rate=300)
    data["horizon"] = {"days": 2}
    data["delivery"]["channels"] = {
        "van": {
            "couriers": 2000,
            "service_time": {"dist": "fixed", "value": "1min"},
            "first_attempt_success": p,
            "retry_delay": "10min",
            "max_attempts": k,
        }
    }
    data["delivery"]["routing"] = [{"use": "van"}]
    run = simulate(scenario_from_dict(data), seed=3)
    o = run.business.orders
    closed = o.state != OrderState.OPEN
    assert closed.sum() > 10000 and (~closed).sum() < 50  # ample: nearly all closed
    delivered = (o.state[closed] == OrderState.DELIVERED).mean()
    share = 1 - (1 - p) ** k
    n = closed.sum()
    assert abs(delivered - share) < 4 * math.sqrt(share * (1 - share) / n)
    attempts = o.attempts[closed]
    assert abs(attempts.mean() - share / p) < 4 * attempts.std() / math.sqrt(n)
    assert run.kpis["first_attempt_success"] is not None
    assert abs(run.kpis["first_attempt_success"] - p) < 4 * math.sqrt(p * (1 - p) / n)


def test_cutoff_capacity_and_fallback(business_data):
    """After the cut-off an order never leaves the same day; no day's capacity is exceeded;
    orders that find both channels full wait for the next day."""
    data = _only_sales(business_data, rate=30)
    data["horizon"] = {"days": 4}
    chans = data["delivery"]["channels"]
    chans["company"]["daily_capacity"] = 150
    chans["couriers"]["daily_capacity"] = 40
    data["delivery"]["routing"] = [{"use": "couriers", "fallback": "company"}]
    sc = scenario_from_dict(data)
    o = simulate(sc, seed=5).business.orders
    cutoff = parse_clock("16:00")
    company = o.channel == 1
    late = company & (o.created % DAY >= cutoff)
    assert late.any()
    assert np.all(o.dispatch_day[late] > o.created[late] // DAY)
    tried = company & (o.attempts > 0)
    assert np.all(o.first_attempt[tried] >= o.dispatch_day[tried] * DAY + cutoff)
    for c, cap in ((0, 40), (1, 150)):
        per_day = np.bincount(o.dispatch_day[o.channel == c])
        assert per_day.max() == cap  # demand (~720 a day) fills every day exactly
    assert (o.deferred > 0).any()
    assert np.all(o.state[o.channel == -1] == OrderState.OPEN)


def test_courier_attempts_only_inside_hours(business_data):
    data = _only_sales(business_data, rate=10)
    data["horizon"] = {"days": 7, "start_weekday": "fri"}
    van = data["delivery"]["channels"]["couriers"]
    van["hours"] = {"start": "09:00", "end": "13:00", "days": ["mon", "tue", "sat"]}
    data["delivery"]["routing"] = [{"use": "couriers"}]
    sc = scenario_from_dict(data)
    run = simulate(sc, seed=2)
    a = run.business.attempts
    assert len(a) > 50
    opening = Opening.from_hours(sc.delivery.channels["couriers"].hours, "fri", 7)
    assert all(opening.is_open(t) for t in a.start.tolist())
    weekday = ((a.start // DAY).astype(int) + 4) % 7  # day 0 is a friday
    assert set(weekday.tolist()) <= {0, 1, 5}
    util = run.kpis["courier_utilisation.channel=couriers"]
    assert util is not None and 0 < util <= 1 + 1e-9


def test_complaint_calls_enter_the_call_records_once(business_data):
    run = simulate(scenario_from_dict(business_data), seed=11)
    o, calls = run.business.orders, run.records.calls
    due = o.complaint_at < run.scenario.horizon_s
    complaint = calls.origin == Origin.DELIVERY_COMPLAINT
    assert due.sum() > 5
    assert complaint.sum() == due.sum()
    order = np.argsort(o.complaint_at[due])
    np.testing.assert_allclose(
        np.sort(calls.arrival[complaint]), o.complaint_at[due][order], rtol=0, atol=1e-6
    )
    pairs = {
        (int(c), round(t, 3)) for c, t in zip(o.customer[due], o.complaint_at[due], strict=True)
    }
    got = {
        (int(c), round(t, 3))
        for c, t in zip(calls.customer[complaint], calls.arrival[complaint], strict=True)
    }
    assert pairs == got
    assert np.all(o.state[due] == OrderState.DELIVERED)


def test_changing_couriers_keeps_the_call_arrivals(business_data):
    """Common random numbers: first calls do not depend on the delivery channels."""
    runs = []
    for couriers in (5, 1):
        business_data["delivery"]["channels"]["couriers"]["couriers"] = couriers
        runs.append(simulate(scenario_from_dict(business_data), seed=4))
    first = [r.records.calls.origin == Origin.FIRST for r in runs]
    for col in ("arrival", "tier", "call_type", "handle", "customer"):
        np.testing.assert_array_equal(
            getattr(runs[0].records.calls, col)[first[0]],
            getattr(runs[1].records.calls, col)[first[1]],
        )
    assert not np.array_equal(runs[0].business.attempts.start, runs[1].business.attempts.start)


def test_business_sections_do_not_change_the_calls(business_data):
    """Orders without complaint calls draw only from their own streams: the call records and
    call KPIs are identical bit for bit to the same scenario without delivery."""
    data = _only_sales(business_data, rate=20)
    with_delivery = simulate(scenario_from_dict(data), seed=9)
    data.pop("delivery")
    data["call_types"]["sales"].pop("creates")
    without = simulate(scenario_from_dict(data), seed=9)
    for name, col in without.records.calls.columns.items():
        np.testing.assert_array_equal(col, with_delivery.records.calls.columns[name])
    for name, value in without.kpis.items():
        assert with_delivery.kpis[name] == value
    assert without.business is None and "daily" not in without.extra
    assert len(with_delivery.business.orders) > 0


def test_channel_funnel_adds_up_and_daily_on_time_matches(business_data):
    """Per channel: created = delivered + failed + open; per-day on-time share in [0, 1]."""
    sc = scenario_from_dict(business_data)
    run = simulate(sc, seed=12)
    days = (sc.horizon_s - sc.warmup) / 86400
    k = run.kpis
    for name in sc.delivery.channels:
        created = k[f"orders_created.channel={name}"] * days
        closed = k[f"orders_delivered.channel={name}"] + k[f"orders_failed.channel={name}"]
        assert created == pytest.approx(closed * days + k[f"orders_open.channel={name}"])
        assert k[f"orders_attempted.channel={name}"] <= k[f"orders_created.channel={name}"]
    daily = run.extra["daily"]["delivery_on_time"]
    shown = daily[~np.isnan(daily)]
    assert len(shown) and np.all((shown >= 0) & (shown <= 1))
