"""The back_office and delivery keys: validation, cross-checks, schema, KPIs on hand-made rows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sim import ScenarioError, load_scenario, scenario_from_dict
from sim.kpi.business import BusinessRecords, business_kpis
from sim.model.delivery import ORDER_COLUMNS
from sim.records.business import OrderState
from sim.records.storage import ColumnLog
from sim.scenario.fulfilment_schema import CompanyChannel, CourierChannel
from sim.scenario.units import DAY

ROOT = Path(__file__).resolve().parents[1]


def _error(data: dict) -> str:
    with pytest.raises(ScenarioError) as exc:
        scenario_from_dict(data)
    return str(exc.value)


def test_bundled_baseline_loads():
    sc = load_scenario(ROOT / "scenarios" / "hotline_baseline.yaml")
    assert isinstance(sc.delivery.channels["courier_company"], CompanyChannel)
    assert isinstance(sc.delivery.channels["own_staff"], CourierChannel)
    assert sc.back_office.work.lead.conversion.half_life == 48 * 3600
    assert sc.delivery.order_value.mean == 450


def test_unknown_channel_is_named_with_a_suggestion(business_data):
    business_data["delivery"]["routing"][0]["fallback"] = "compny"
    text = _error(business_data)
    assert "delivery.routing[0].fallback" in text and "did you mean 'company'" in text


def test_creates_without_its_section(business_data):
    business_data.pop("delivery")
    text = _error(business_data)
    assert "call_types.sales.creates" in text and "delivery" in text
    assert "back_office.work.lead.creates" in text


def test_lead_without_back_office_lead(business_data):
    business_data["back_office"]["work"].pop("lead")
    assert "call_types.lead_call.creates" in _error(business_data)


def test_payment_shares_and_channel_kind(business_data):
    business_data["delivery"]["payment"] = {"cash": 0.5, "pos": 0.3, "online": 0.3}
    assert "sum to 1.1" in _error(business_data)
    business_data["delivery"]["payment"] = {"online": 1}
    business_data["delivery"]["channels"]["company"].pop("lead_time")
    assert "lead_time" in _error(business_data)


def test_last_rule_catches_every_order(business_data):
    business_data["delivery"]["routing"] = [{"when": {"tier": "vip"}, "use": "couriers"}]
    assert "last routing rule" in _error(business_data)
    business_data["delivery"]["routing"] = [
        {"when": {"tier": "vipp"}, "use": "couriers"},
        {"use": "company"},
    ]
    assert "unknown customer tier 'vipp'" in _error(business_data)


def test_unknown_key_in_channel(business_data):
    business_data["delivery"]["channels"]["couriers"]["courier"] = 3
    assert "delivery.channels.couriers.courier" in _error(business_data)


def test_schema_lists_the_new_keys():
    out = subprocess.run(
        [sys.executable, "-m", "sim", "schema"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT)},
    ).stdout
    schema = json.loads(out)
    text = json.dumps(schema)
    for key in (
        "back_office",
        "delivery",
        "daily_capacity",
        "cutoff",
        "half_life",
        "cost_per_courier_day",
        "order_value",
        "payment",
        "retry_delay",
        "call_back",
    ):
        assert f'"{key}"' in text, key


def _orders(rows: list[dict], sc) -> BusinessRecords:
    log = ColumnLog(ORDER_COLUMNS)
    for r in rows:
        log.add(**r)
    return BusinessRecords(
        sc,
        orders=log.freeze(),
        attempts=ColumnLog(
            {
                "order": (int, 0),
                "channel": (int, 0),
                "start": (float, 0.0),
                "end": (float, 0.0),
                "success": (bool, False),
            }
        ).freeze(),
    )


def test_delivery_kpis_on_hand_made_orders(business_data):
    business_data.pop("back_office")
    for key in ("lead_call", "complaint"):
        business_data["call_types"][key].pop("creates")
    for ch in business_data["delivery"]["channels"].values():
        ch["complaint_rate"] = 0
    business_data["delivery"]["channels"]["couriers"]["cost_per_courier_day"] = 0
    business_data["horizon"] = {"days": 3, "warmup": "1d"}
    sc = scenario_from_dict(business_data)
    d, f, o = int(OrderState.DELIVERED), int(OrderState.FAILED), int(OrderState.OPEN)
    rows = [
        dict(created=0.5 * DAY, state=d, closed=0.6 * DAY, attempts=1, channel=1),  # warm-up
        dict(
            created=1.0 * DAY,
            state=d,
            closed=1.5 * DAY,
            attempts=1,
            channel=1,
            cost=10,
            payment=0,
            value=100,
        ),  # on time, cash
        dict(
            created=1.1 * DAY,
            state=d,
            closed=2.5 * DAY,
            attempts=2,
            channel=1,
            cost=20,
            payment=1,
            value=50,
        ),  # late (promise 24 h)
        dict(
            created=1.2 * DAY, state=f, closed=2.2 * DAY, attempts=2, channel=0, cost=40, value=70
        ),
        dict(created=2.5 * DAY, state=o, attempts=0, channel=0),  # not due yet: open
    ]
    k = business_kpis(_orders(rows, sc))
    assert k["delivery_on_time"] == pytest.approx(1 / 3)
    assert k["delivery_success"] == pytest.approx(2 / 3)
    assert k["first_attempt_success"] == pytest.approx(1 / 3)
    assert k["cost_per_delivery"] == pytest.approx(70 / 2)
    assert k["orders_open"] == 1
    assert k["cash_collected"] == pytest.approx(100 / 2) and k["pos_collected"] == 25
    assert k["failed_value"] == pytest.approx(35)
    assert k["delivery_success.channel=couriers"] == 0
    assert k["attempts_per_order.channel=company"] == 1.5
    empty = business_kpis(_orders([], sc))
    assert empty["delivery_on_time"] is None and empty["cost_per_delivery"] is None
    assert np.isclose(empty["orders_created"], 0)


def test_resolved_scenario_reads_back_identically(business_data):
    """scenario.yaml in the results folder must load to the same scenario (no deadline too)."""
    from sim.scenario.resolved import scenario_to_dict

    business_data["back_office"]["work"]["work_order"]["deadline"] = "never"
    business_data["back_office"]["work"]["lead"]["creates"] = "nothing"
    sc = scenario_from_dict(business_data)
    assert sc.back_office.work.work_order.deadline is None
    assert scenario_from_dict(scenario_to_dict(sc)) == sc


def test_channel_kinds_are_a_union(business_data):
    """Each channel kind is its own class, told by `kind` or by the `couriers` key."""
    chans = business_data["delivery"]["channels"]
    sc = scenario_from_dict(business_data)
    assert isinstance(sc.delivery.channels["couriers"], CourierChannel)
    assert isinstance(sc.delivery.channels["company"], CompanyChannel)
    assert sc.delivery.channels["company"].orders_per_day == chans["company"]["daily_capacity"]
    chans["company"]["kind"] = "company"
    chans["couriers"]["kind"] = "couriers"
    assert isinstance(
        scenario_from_dict(business_data).delivery.channels["company"], CompanyChannel
    )
    chans["company"]["kind"] = "compny"
    assert "unknown kind 'compny'" in _error(business_data)
    chans["company"]["kind"] = "company"
    chans["company"]["couriers"] = 3  # a courier key on a company
    assert "delivery.channels.company.couriers: unknown key" in _error(business_data)
    chans["company"].pop("couriers")
    chans["couriers"]["lead_time"] = {"dist": "fixed", "value": 3}
    assert "delivery.channels.couriers.lead_time: unknown key" in _error(business_data)
