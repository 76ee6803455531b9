"""The router's seam: explicit wiring and the agent-selection policies."""

from __future__ import annotations

import numpy as np
import pytest
import simpy

from sim import scenario_from_dict, simulate
from sim.model.back_office import BackOffice
from sim.model.contact_center import ContactCenter
from sim.model.records import CallLog, Outcome
from sim.model.routing import Ordered
from sim.model.streams import Streams


def _scenario(groups, routing=None, **over):
    data = {
        "name": "routing",
        "horizon": {"days": 1},
        "arrivals": {"rate_per_hour": 60},
        "call_types": {"x": {"share": 1, "handle_time": {"dist": "exponential", "mean": 240}}},
        "customer_tiers": {"std": {"share": 1, "patience": {"dist": "exponential", "mean": 120}}},
        "agents": {"groups": groups},
    }
    if routing:
        data["routing"] = routing
    data.update(over)
    return scenario_from_dict(data)


def test_router_refuses_to_start_unconnected():
    sc = _scenario({"a": {"skills": ["x"], "staffing": 2}})
    center = ContactCenter(simpy.Environment(), sc, Streams(1), CallLog())
    with pytest.raises(RuntimeError, match="connect"):
        center.start()


def test_back_office_needs_the_order_intake_when_leads_create_orders(business_data):
    sc = scenario_from_dict(business_data)
    with pytest.raises(ValueError, match="create_order"):
        BackOffice(simpy.Environment(), sc, Streams(1), CallLog(), lambda *a: None, None)


def test_ordered_takes_the_first_group_with_a_free_agent_and_its_last_freed_agent():
    idle = [[], [4, 7], [9]]
    policy = Ordered(idle)
    assert policy.pick([0, 2, 1]) == (2, 9)
    assert policy.pick([0, 2, 1]) == (1, 7)
    assert policy.pick([0, 2]) is None
    assert idle == [[], [4], []]


def test_ordered_is_the_default_and_prefers_route_order():
    sc = _scenario(
        {"first": {"skills": ["x"], "staffing": 3}, "second": {"skills": ["x"], "staffing": 3}},
        routing={"x": ["first", "second"]},
    )
    c = simulate(sc, seed=3).records.calls
    answered = c.outcome == Outcome.ANSWERED
    assert np.mean(c.group[answered] == 0) > 0.6  # the first group takes most calls
