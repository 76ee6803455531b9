"""KPIs on hand-made records: definitions of the spec, nulls, warm-up, occupancy on time."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import CALL_KPIS

from sim.kpi.calls import CallRecords, busy_time, call_kpis, interval_table
from sim.model.calendar import Timeline
from sim.records.calls import CALL_COLUMNS, Calls, Outcome

A, B, S, OPEN = Outcome.ANSWERED, Outcome.ABANDONED, Outcome.SELF_SERVED, Outcome.OPEN
NAN = np.nan


def records(rows, present=2.0, horizon=7200.0, warmup=0.0):
    """rows: (arrival, queue_entry, outcome, answer, end, release, group, resolved)."""
    cols = {name: [] for name in CALL_COLUMNS}
    for arrival, entry, outcome, answer, end, release, group, resolved in rows:
        row = dict(
            arrival=arrival,
            queue_entry=entry,
            outcome=int(outcome),
            answer=answer,
            end=end,
            release=release,
            group=group,
            resolved=resolved,
        )
        for name, (_, default) in CALL_COLUMNS.items():
            cols[name].append(row.get(name, default))
    calls = Calls({n: np.asarray(v, dtype=CALL_COLUMNS[n][0]) for n, v in cols.items()})
    line = Timeline(np.array([0.0]), np.array([present]), horizon)
    return CallRecords(calls, ["team"], [line], [line], ["std"], ["general"], warmup, horizon, 20.0)


ROWS = [
    (100, 100, A, 110, 200, 210, 0, True),  # waited 10 s: within 20 s
    (300, 300, A, 340, 400, 400, 0, False),  # waited 40 s
    (500, 500, B, NAN, 560, NAN, -1, False),  # abandoned after 60 s
    (700, NAN, S, NAN, 730, NAN, -1, False),  # self-served in the IVR
    (7000, 7000, OPEN, NAN, NAN, NAN, -1, False),  # still waiting at the horizon
]


def test_spec_definitions():
    k = call_kpis(records(ROWS))
    assert k["offered"] == pytest.approx(4 / (7200 / 86400))  # per day
    assert k["service_level"] == pytest.approx(1 / 4)  # abandoned and open stay in the denominator
    assert k["answer_rate"] == pytest.approx(2 / 4)
    assert k["abandon_rate"] == pytest.approx(1 / 4)
    assert k["asa"] == pytest.approx(25.0)
    assert k["mean_wait"] == pytest.approx((10 + 40 + 60 + 200) / 4)  # open: up to the horizon
    assert k["first_contact_resolution"] == pytest.approx(1 / 2)
    assert k["occupancy"] == pytest.approx((100 + 60) / (2 * 7200))
    assert k["open_calls"] == 1
    assert k["self_service_rate"] == pytest.approx(1 / 5)


def test_nothing_behind_a_figure_is_none():
    k = call_kpis(records([(700, NAN, S, NAN, 730, NAN, -1, False)], present=0.0))
    for name in CALL_KPIS:
        if name != "offered":  # a count: 0 calls, not missing
            assert k[name] is None, name
    table = interval_table(records([], present=0.0), 1800.0, "mon")
    assert np.all(np.isnan(table["service_level"]))
    assert np.all(table["offered"] == 0)


def test_warmup_calls_are_excluded():
    k = call_kpis(records(ROWS, warmup=250.0))
    assert k["answer_rate"] == pytest.approx(1 / 3)
    assert k["asa"] == pytest.approx(40.0)


def test_intervals_count_where_calls_arrive():
    table = interval_table(records(ROWS), 1800.0, "mon")
    assert list(table["start"]) == ["00:00", "00:30", "01:00", "01:30"]
    np.testing.assert_array_equal(table["offered"], [3, 0, 0, 1])
    assert table["service_level"][0] == pytest.approx(1 / 3)
    assert np.isnan(table["service_level"][1])
    assert table["occupancy"][0] == pytest.approx(160 / 3600)
    assert list(table["weekday"]) == ["mon"] * 4 and list(table["day"]) == [1] * 4


def test_busy_time_overlaps_bins():
    starts, ends = np.array([0.0, 50.0, 90.0]), np.array([100.0, 60.0, 250.0])
    got = busy_time(starts, ends, np.array([0.0, 100.0, 200.0, 300.0]))
    np.testing.assert_allclose(got, [100 + 10 + 10, 100, 50])
