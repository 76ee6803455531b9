"""Back office: Erlang C with staff around the clock, lead conversion decay, hours, discipline."""

from __future__ import annotations

import math

import numpy as np
from conftest import one_call_type

from sim import scenario_from_dict, simulate
from sim.model.calendar import Opening
from sim.records.business import LeadState, WorkOrderState
from sim.scenario.units import DAY


def erlang_c(servers: int, load: float) -> float:
    """P(wait) in M/M/c with offered load ``load`` Erlang (textbook formula, via Erlang B)."""
    b = 1.0
    for k in range(1, servers + 1):
        b = load * b / (k + load * b)
    rho = load / servers
    return b / (1 - rho + rho * b)


def _work_orders_only(data: dict, rate: float, staff: int, mean_handle: str) -> dict:
    """Every call an unresolved complaint (a work order); ample agents; no delivery."""
    one_call_type(
        data, rate, "complaint", "5min", 200, first_contact_resolution=0, creates="work_order"
    )
    data.pop("delivery")
    data["back_office"] = {
        "team": {"staff": staff},
        "discipline": "fifo",
        "work": {"work_order": {"handle_time": {"dist": "exponential", "mean": mean_handle}}},
    }
    return data


def test_back_office_around_the_clock_matches_erlang_c(business_data):
    """Ample agents make the work orders a Poisson stream (Burke: M/M/inf departures), so the
    back office is M/M/c: P(wait) = C(c, a), mean wait = C / (c mu - lambda)."""
    rate_h, mean_h, staff = 30.0, 10 / 60, 7
    data = _work_orders_only(business_data, rate_h, staff, "10min")
    data["horizon"] = {"days": 30, "warmup": "1d"}
    lam, mu, load = rate_h / 3600, 1 / (mean_h * 3600), rate_h * mean_h
    p_wait, mean_wait = [], []
    for rep in range(2):
        run = simulate(scenario_from_dict(data), seed=1, replication=rep)
        wo = run.business.work_orders
        ok = (wo.created > DAY) & ~np.isnan(wo.start)
        waits = wo.start[ok] - wo.created[ok]
        p_wait.append(np.mean(waits > 1e-9))
        mean_wait.append(run.kpis["work_order_wait"])
        assert run.kpis["back_office_on_time"] is None  # no deadlines: nothing is due
    c = erlang_c(staff, load)
    assert abs(np.mean(p_wait) - c) < 0.04, (np.mean(p_wait), c)
    wq = c / (staff * mu - lam)
    assert abs(np.mean(mean_wait) - wq) < 0.2 * wq, (np.mean(mean_wait), wq)


def test_lead_conversion_decays_with_contact_delay(business_data):
    """Reached at once after an exponential attempt of mean m, a lead converts with
    E[initial * 2^(-H/half_life)] = initial / (1 + m ln2 / half_life) (Laplace transform)."""
    data = business_data
    data.pop("delivery")
    data["arrivals"] = {"rate_per_hour": 120}
    data["horizon"] = {"days": 2}
    data["call_types"] = {
        "lead_call": {
            "share": 1,
            "creates": "lead",
            "handle_time": {"dist": "exponential", "mean": "1min"},
        }
    }
    data["agents"] = {"groups": {"all": {"skills": ["lead_call"], "staffing": 100}}}
    data["back_office"] = {
        "team": {"staff": 1000},
        "work": {
            "lead": {
                "handle_time": {"dist": "exponential", "mean": "1h"},
                "contact_success": 1,
                "conversion": {"initial": 0.5, "half_life": "1h"},
                "creates": "nothing",
            }
        },
    }
    run = simulate(scenario_from_dict(data), seed=8)
    leads = run.business.leads
    closed = leads.state != LeadState.OPEN
    expected = 0.5 / (1 + math.log(2))
    n = closed.sum()
    got = np.mean(leads.state[closed] == LeadState.CONVERTED)
    assert n > 4000
    assert abs(got - expected) < 4 * math.sqrt(expected * (1 - expected) / n), (got, expected)
    assert np.all(leads.first_start[closed] == leads.created[closed])  # no wait: ample staff


def test_work_only_inside_hours_and_leads_retry(business_data):
    data = business_data
    data["horizon"] = {"days": 7, "start_weekday": "mon"}
    hours = {"start": "09:00", "end": "17:00", "days": ["mon", "tue", "wed", "thu", "fri"]}
    data["back_office"]["team"] = {"staff": 3, "hours": hours}
    sc = scenario_from_dict(data)
    run = simulate(sc, seed=6)
    tasks = run.business.tasks
    opening = Opening.from_hours(sc.back_office.team.hours, "mon", 7)
    assert len(tasks) > 50
    assert all(opening.is_open(t) for t in tasks.start.tolist())
    assert np.all(tasks.start < 5 * DAY)  # nothing on the weekend
    leads = run.business.leads
    assert leads.attempts.max() == 3
    unreached = leads.state == LeadState.UNREACHED
    assert np.all(leads.attempts[unreached] == 3)
    assert np.all(np.isnan(leads.contact[unreached]))
    backlog = run.extra["daily"]["back_office_backlog"]
    assert backlog[-1] > backlog[0]  # the weekend piles work up


def test_earliest_deadline_first_serves_urgent_work_first(business_data):
    """Leads (12 h deadline) overtake work orders (24 h) under earliest_deadline, not FIFO."""
    waits = {}
    for discipline in ("earliest_deadline", "fifo"):
        data = fixture = business_data.copy()
        data["back_office"] = {
            **fixture["back_office"],
            "discipline": discipline,
            "team": {"staff": 2},
        }
        run = simulate(scenario_from_dict(data), seed=12)
        leads, wo = run.business.leads, run.business.work_orders
        waits[discipline] = (
            np.nanmean(leads.first_start - leads.created),
            np.nanmean(wo.start - wo.created),
        )
    edf, fifo = waits["earliest_deadline"], waits["fifo"]
    assert edf[0] < fifo[0] and edf[1] > fifo[1]
    assert edf[0] < edf[1]


def test_unresolved_work_orders_call_back(business_data):
    from sim.records.calls import Origin

    business_data["back_office"]["work"]["work_order"]["resolution"] = 0.3
    run = simulate(scenario_from_dict(business_data), seed=3)
    wo, calls = run.business.work_orders, run.records.calls
    back = wo.called_back < run.scenario.horizon_s
    assert np.all(wo.state[~np.isnan(wo.called_back)] == WorkOrderState.UNRESOLVED)
    assert (calls.origin == Origin.WORK_ORDER_UNRESOLVED).sum() == back.sum() > 5
