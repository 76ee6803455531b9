"""The live column logs: positional appenders and freezing without a copy."""

import mmap

import numpy as np
import pytest

import sim.model.records as records
from sim.model.records import CALL_COLUMNS, BlockLog, CallLog, ColumnLog


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
    with pytest.raises(TypeError):
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
    assert "customer" not in frozen.columns and len(log.customer) == 0
    assert frozen.arrival.tolist() == [1.0, 2.0]


@pytest.mark.parametrize("memory", ["reserved", "outgrown", "heap"])
def test_block_log_rows_equal_column_log_rows_across_blocks(monkeypatch, memory):
    """Rows written across blocks read the same as a plain log's, in reserved memory, after a
    move to a larger reservation (the appenders follow the columns) and in heap memory."""
    spec = {"t": (float, float("nan")), "k": (int, -1), "ok": (bool, False), "n": (int, 0)}
    monkeypatch.setattr(BlockLog, "BLOCK", 3)  # several blocks for a few rows
    if memory == "outgrown":
        monkeypatch.setattr(BlockLog, "RESERVE", 4)  # moves at rows 4 and 16
    if memory == "heap":
        monkeypatch.setattr(records, "reserve", lambda nbytes: None)
    block, plain = BlockLog(spec), ColumnLog(spec)
    add_block, add_plain = block.appender("t", "ok"), plain.appender("t", "ok")
    for i in range(8):
        assert add_block(float(i), i % 2 == 0) == add_plain(float(i), i % 2 == 0) == i
        assert len(block) == i + 1
    block.n[5] += 2  # rows are assignable while the run goes on
    plain.n[5] += 2
    assert block.add(t=9.0, k=4) == plain.add(t=9.0, k=4) == 8  # the slow path still fits
    assert add_block(10.0, True) == add_plain(10.0, True) == 9  # and the fast one after it
    for i in range(10, 20):  # past the second move of the outgrown reservation
        assert add_block(float(i), False) == add_plain(float(i), False) == i
    a, b = block.freeze(), plain.freeze()
    assert len(a) == len(b) == 20  # the unused tail of the block is gone
    for name, (dtype, _) in spec.items():
        assert getattr(a, name).dtype == np.dtype(dtype), name
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    kind = bytearray if memory == "heap" else mmap.mmap
    assert all(isinstance(buffer, kind) for buffer in block._buffers.values())
    block.n[7] = 5  # no copy: the frozen rows see the live column
    assert a.n[7] == 5


def test_block_log_take_reserve_and_put_fill_rows_after_appended_ones(monkeypatch):
    monkeypatch.setattr(BlockLog, "BLOCK", 4)
    log = BlockLog({"t": (float, -1.0), "k": (np.int16, 7)})
    log.appender("t")(0.5)
    assert log.take({"k": np.arange(6)}) == range(1, 7)
    rows = log.reserve(2)
    assert rows == range(7, 9) and len(log) == 9
    columns = {"t": np.array([8.0, 9.0])}
    log.put(columns, rows.start)
    assert columns == {}  # emptied as it goes, as ColumnLog.put
    frozen = log.freeze(drop=("k",))
    assert "k" not in frozen.columns
    assert frozen.t.tolist() == [0.5, *[-1.0] * 6, 8.0, 9.0]
    with pytest.raises(ValueError, match="unknown columns"):
        log.put({"stop": np.ones(1)}, 0)


def test_block_log_appender_needs_known_columns():
    log = BlockLog({"start": (float, 0.0)})
    with pytest.raises(ValueError, match="columns to give"):
        log.appender()
    with pytest.raises(ValueError, match="columns to give"):
        log.appender("stop")
