"""The call log on reserved memory: the same rows and ids as on the heap, and rows given back."""

from __future__ import annotations

import numpy as np
import simpy

import sim.kpi.calls as calls_kpi
import sim.model.simulation as simulation
import sim.records.storage as storage
from sim import scenario_from_dict, simulate
from sim.model.callers import Callers
from sim.model.streams import Streams
from sim.records.calls import CALL_COLUMNS, CallLog


def _fill(log: CallLog) -> None:
    ids = log.take(
        {
            "arrival": np.arange(5000.0),
            "queue_entry": np.arange(5000.0) + 1,
            "tier": np.ones(5000, np.int16),
            "resolved": np.arange(5000) % 2 == 0,
            "customer": np.arange(5000),
        }
    )
    assert ids == range(0, 5000)
    add = log.appender("arrival", "call_type", "resolved", "patience")
    assert add(7.5, 2, True, 30.0) == 5000
    log.outcome[3] = 2
    log.answer[3] = 12.25
    assert log.add(arrival=9.0, group=1) == 5001


def test_same_rows_as_the_log_on_the_heap(monkeypatch):
    windowed = CallLog()
    monkeypatch.setattr(storage, "reserve", lambda nbytes: None)
    plain = CallLog()
    assert windowed.reserved and not plain.reserved
    _fill(plain)
    _fill(windowed)
    assert len(plain) == len(windowed) == 5002
    a, b = plain.freeze(), windowed.freeze()
    for name, (dtype, _) in CALL_COLUMNS.items():
        assert b.columns[name].dtype == np.dtype(dtype), name
        np.testing.assert_array_equal(a.columns[name], b.columns[name])
    assert windowed.patience[5000] == 30.0 and windowed.resolved[5000] == 1


def test_rows_given_back_read_as_zero_and_others_stay():
    log = CallLog()
    _fill(log)
    log.give_back(0, 4096)  # whole pages of every column below row 4096
    calls = log.rows(0, len(log))
    assert np.all(calls.arrival[:512] == 0.0)  # a page of floats: 512 rows
    np.testing.assert_array_equal(calls.arrival[4096:5000], np.arange(4096.0, 5000.0))
    assert calls.arrival[5000] == 7.5


def _first_calls(scenario, every):
    """The first-call rows and the whole feed, drawn in stretches of ``every`` seconds."""
    calls = CallLog()
    callers = Callers(simpy.Environment(), scenario, Streams(3, 1), calls, lambda cid: None)
    feed = [(until, t, ids) for until, t, ids in callers.first_calls(every)]
    for until, t, _ in feed:
        assert np.all(t < until)
    times = np.concatenate([t for _, t, _ in feed])
    ids = np.concatenate([i for _, _, i in feed])
    return calls.freeze(), times, ids


def test_first_calls_drawn_day_by_day_are_the_calls_drawn_at_once(tmp_path):
    (tmp_path / "aht.csv").write_text("seconds\n60\n200\n45\n900\n")
    data = {
        "name": "stretches",
        "horizon": {"days": 4, "start_weekday": "fri"},
        "arrivals": {
            "daily_volume": 3000,
            "intraday_profile": {"00:00": 0.3, "08:00": 3.0, "23:30": 0.5},
            "day_to_day_cv": 0.1,
        },
        "customer_tiers": {
            "vip": {"share": 0.2, "patience": {"dist": "gamma", "mean": 90, "cv": 0.5}},
            "std": {"share": 0.8, "patience": {"dist": "lognormal", "mean": 60, "cv": 1.2}},
        },
        "ivr": {"self_service": 0.3, "time": {"dist": "uniform", "low": 10, "high": 3600}},
        "call_types": {
            "a": {"share": 0.5, "handle_time": {"dist": "empirical", "file": "aht.csv"}},
            "b": {"share": 0.5, "handle_time": {"dist": "exponential", "mean": 200}},
        },
        "agents": {"groups": {"team": {"skills": ["a", "b"], "staffing": 5}}},
    }
    scenario = scenario_from_dict(data, base_dir=tmp_path)
    once, t_once, ids_once = _first_calls(scenario, None)
    daily, t_daily, ids_daily = _first_calls(scenario, 86400.0)
    for name in CALL_COLUMNS:
        np.testing.assert_array_equal(once.columns[name], daily.columns[name], err_msg=name)
    np.testing.assert_array_equal(t_once, t_daily)
    np.testing.assert_array_equal(ids_once, ids_daily)
    entry = daily.queue_entry[~np.isnan(daily.queue_entry)]
    arrival = daily.arrival[~np.isnan(daily.queue_entry)]
    assert np.any(entry // 86400 > arrival // 86400)  # some leave the IVR in the next stretch


SMALL = {
    "name": "small",
    "horizon": {"days": 2},
    "arrivals": {"rate_per_hour": 60},
    "customer_tiers": {"std": {"share": 1, "patience": {"dist": "exponential", "mean": 60}}},
    "call_types": {"q": {"share": 1, "handle_time": {"dist": "exponential", "mean": 150}}},
    "agents": {"groups": {"team": {"skills": ["q"], "staffing": 3}}},
}


def test_a_run_without_the_window_reports_the_same(monkeypatch):
    """Where memory cannot be reserved, a run without records keeps its rows to the end: same
    figures as the windowed run."""
    scenario = scenario_from_dict(SMALL)
    monkeypatch.setattr(calls_kpi, "BLOCK", 100)
    windowed = simulate(scenario, seed=4, keep_records=False)
    monkeypatch.setattr(storage, "reserve", lambda nbytes: None)
    plain = simulate(scenario, seed=4, keep_records=False)
    assert windowed.kpis == plain.kpis
    for name, column in windowed.intervals.items():
        np.testing.assert_array_equal(column, plain.intervals[name])


def test_a_run_without_records_ends_with_every_call_row_given_back(monkeypatch):
    """The calls left at the horizon are reduced a block at a time and given back (the run-only
    columns first), so that the business KPIs are computed with no call rows in memory."""
    scenario = scenario_from_dict(
        {
            **SMALL,
            "horizon": {"days": 3},
            "arrivals": {"rate_per_hour": 300},
            "agents": {"groups": {"team": {"skills": ["q"], "staffing": 12}}},
            "redial": {
                "after_abandon": {"probability": 0.5, "delay": {"dist": "fixed", "value": 600}}
            },
        }
    )
    monkeypatch.setattr(calls_kpi, "BLOCK", 8192)  # whole pages of every column in a block
    logs: list[CallLog] = []

    def keep() -> CallLog:
        logs.append(log := CallLog())
        return log

    monkeypatch.setattr(simulation, "CallLog", keep)
    lean = simulate(scenario, seed=2, keep_records=False)
    kept = simulate(scenario, seed=2, keep_records=True)
    assert lean.kpis == kept.kpis
    n = len(logs[0])
    assert n > 2 * 8192  # blocks reduced during the run and at its end
    rows = logs[0].rows(0, n)
    whole = n // 8192 * 8192  # the rows of whole pages of every column
    for name in CALL_COLUMNS:
        assert not np.any(rows.columns[name][:whole]), name
    assert np.any(kept.records.calls.arrival[:whole])
