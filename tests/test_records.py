"""The live column logs: positional appenders and freezing without a copy."""

import numpy as np
import pytest

import sim.records.storage as storage
from sim.records.calls import CALL_COLUMNS, CallLog
from sim.records.storage import ColumnLog


def test_appender_writes_given_columns_and_defaults_like_add():
    fast, slow = CallLog(), CallLog()
    add = fast.appender("arrival", "tier", "resolved", "handle")
    assert add(1.5, 2, True, 30.0) == 0
    assert add(2.5, 1, False, 40.0) == 1
    slow.add(arrival=1.5, tier=2, resolved=True, handle=30.0)
    slow.add(arrival=2.5, tier=1, resolved=False, handle=40.0)
    a, b = fast.freeze(), slow.freeze()
    for name in CALL_COLUMNS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert np.isnan(a.answer).all() and (a.group == -1).all()


def test_appender_rejects_unknown_columns_and_wrong_arity():
    log = ColumnLog({"start": (float, 0.0), "end": (float, 0.0)})
    with pytest.raises(ValueError, match="unknown columns"):
        log.appender("start", "stop")
    with pytest.raises(ValueError):
        log.appender("start", "end")(1.0)


def test_freeze_shares_memory_with_the_live_columns_and_keeps_dtypes():
    log = CallLog()
    log.extend(arrival=np.array([1.0, 2.0]), tier=np.array([0, 1]), resolved=np.array([1, 0]))
    frozen = log.freeze()
    for name, (dtype, _) in CALL_COLUMNS.items():
        assert getattr(frozen, name).dtype == np.dtype(dtype), name
    log.arrival[1] = 7.0  # no copy: the frozen view sees the live column
    assert frozen.arrival[1] == 7.0
    assert frozen.resolved.tolist() == [True, False]


def test_take_empties_the_dict_and_rejects_unknown_columns():
    log = ColumnLog({"start": (float, 0.0), "end": (float, -1.0)})
    columns = {"start": np.array([1.0, 2.0])}
    assert log.take(columns) == range(0, 2)
    assert columns == {}  # the caller's references are gone
    assert log.freeze().end.tolist() == [-1.0, -1.0]
    with pytest.raises(ValueError, match="unknown columns"):
        ColumnLog({"start": (float, 0.0)}).take({"start": np.ones(1), "stop": np.ones(1)})


def test_freeze_can_drop_columns_and_release_them():
    log = CallLog()
    log.extend(arrival=np.array([1.0, 2.0]), customer=np.array([7, 8]))
    frozen = log.freeze(drop=("customer",))
    assert "customer" not in frozen.columns
    assert frozen.arrival.tolist() == [1.0, 2.0]


@pytest.mark.parametrize("memory", ["reserved", "heap"])
def test_rows_across_blocks_read_the_same_in_reserved_and_heap_memory(monkeypatch, memory):
    """Rows appended across blocks of defaults, added and batched read as written, in reserved
    memory and where none can be reserved (array columns); a column never moves."""
    spec = {"t": (float, float("nan")), "k": (int, -1), "ok": (bool, False), "n": (int, 0)}
    monkeypatch.setattr(ColumnLog, "BLOCK", 3)  # several blocks for a few rows
    if memory == "heap":
        monkeypatch.setattr(storage, "reserve", lambda nbytes: None)
    log = ColumnLog(spec)
    assert log.reserved is (memory == "reserved")
    column = log.n
    add = log.appender("t", "ok")
    for i in range(8):
        assert add(float(i), i % 2 == 0) == i
        assert len(log) == i + 1
    log.n[5] += 2  # rows are assignable while the run goes on
    assert log.add(t=9.0, k=4) == 8  # the slow path fits in
    assert add(10.0, True) == 9  # and the fast one after it
    assert log.take({"k": np.arange(3)}) == range(10, 13)
    for i in range(13, 20):
        assert add(float(i), False) == i
    assert log.n is column
    frozen = log.freeze()
    assert len(frozen) == 20  # the unused tail of the block is not in it
    for name, (dtype, _) in spec.items():
        assert getattr(frozen, name).dtype == np.dtype(dtype), name
    t = [*range(8), 9.0, 10.0, *[float("nan")] * 3, *range(13, 20)]
    np.testing.assert_array_equal(frozen.t, np.array(t, dtype=float))
    assert frozen.k.tolist() == [-1] * 8 + [4, -1, 0, 1, 2] + [-1] * 7
    assert frozen.ok.tolist() == [i % 2 == 0 for i in range(8)] + [False, True] + [False] * 10
    assert frozen.n.tolist() == [0] * 5 + [2] + [0] * 14
    log.n[7] = 5  # no copy: the frozen rows see the live column
    assert frozen.n[7] == 5


def test_take_reserve_and_put_fill_rows_after_appended_ones(monkeypatch):
    monkeypatch.setattr(ColumnLog, "BLOCK", 4)
    log = ColumnLog({"t": (float, -1.0), "k": (np.int16, 7)})
    log.appender("t")(0.5)
    assert log.take({"k": np.arange(6)}) == range(1, 7)
    rows = log.reserve(2)
    assert rows == range(7, 9) and len(log) == 9
    columns = {"t": np.array([8.0, 9.0])}
    log.put(columns, rows.start)
    assert columns == {}  # emptied as it goes
    frozen = log.freeze(drop=("k",))
    assert "k" not in frozen.columns
    assert frozen.t.tolist() == [0.5, *[-1.0] * 6, 8.0, 9.0]
    with pytest.raises(ValueError, match="unknown columns"):
        log.put({"stop": np.ones(1)}, 0)
