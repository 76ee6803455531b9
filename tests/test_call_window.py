"""The windowed call log: the same rows and ids as the plain log, and rows given back."""

from __future__ import annotations

import numpy as np

import sim.model.window as window
from sim.model.records import CALL_COLUMNS, CallLog
from sim.model.window import WindowedCallLog, call_log


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


def test_same_rows_as_the_plain_log():
    plain, windowed = CallLog(), call_log(windowed=True, rows=1 << 16)
    assert isinstance(windowed, WindowedCallLog)
    _fill(plain)
    _fill(windowed)
    assert len(plain) == len(windowed) == 5002
    a, b = plain.freeze(), windowed.freeze()
    for name, (dtype, _) in CALL_COLUMNS.items():
        assert b.columns[name].dtype == np.dtype(dtype), name
        np.testing.assert_array_equal(a.columns[name], b.columns[name])
    assert windowed.patience[5000] == 30.0 and windowed.resolved[5000] == 1


def test_rows_given_back_read_as_zero_and_others_stay():
    log = call_log(windowed=True, rows=1 << 16)
    assert isinstance(log, WindowedCallLog)
    _fill(log)
    log.give_back(0, 4096)  # whole pages of every column below row 4096
    calls = log.rows(0, len(log))
    assert np.all(calls.arrival[:512] == 0.0)  # a page of floats: 512 rows
    np.testing.assert_array_equal(calls.arrival[4096:5000], np.arange(4096.0, 5000.0))
    assert calls.arrival[5000] == 7.5


def test_falls_back_to_the_plain_log_when_memory_cannot_be_reserved(monkeypatch):
    monkeypatch.setattr(window, "_reserve", lambda nbytes: None)
    log = call_log(windowed=True)
    assert type(log) is CallLog
