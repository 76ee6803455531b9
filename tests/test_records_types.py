"""The live call log: each column of ``CALL_COLUMNS`` is written and read by call id with the
kind its spec gives, and the type checker is told of exactly those columns."""

from __future__ import annotations

import math
import typing
from collections.abc import MutableSequence

import numpy as np

from sim.records.calls import CALL_COLUMNS, CallLog


def test_every_column_is_written_and_read_by_id_with_its_kind():
    log = CallLog()
    rid = log.appender()()  # a row of defaults
    for name, (dtype, default) in CALL_COLUMNS.items():
        column = getattr(log, name)
        read = column[rid]
        assert read == default or (math.isnan(read) and math.isnan(default)), name
        value = 2.5 if np.dtype(dtype).kind == "f" else 1
        column[rid] = value
        assert column[rid] == value and type(column[rid]) is type(value), name
    frozen = log.freeze()
    for name, (dtype, _) in CALL_COLUMNS.items():
        assert getattr(frozen, name).dtype == np.dtype(dtype), name


def test_the_type_checker_is_told_of_exactly_the_columns_with_their_kind():
    hints = {k: v for k, v in typing.get_type_hints(CallLog).items() if not k.startswith("_")}
    assert set(hints) == set(CALL_COLUMNS)
    for name, (dtype, _) in CALL_COLUMNS.items():
        kind = float if np.dtype(dtype).kind == "f" else int
        assert hints[name] == MutableSequence[kind], name
