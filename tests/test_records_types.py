"""The call log's declared columns (read by the type checker) match the columns it creates."""

from __future__ import annotations

from sim.records.calls import CALL_COLUMNS, CallLog


def test_call_log_declares_exactly_its_columns_with_their_kind():
    declared = {k: v for k, v in CallLog.__annotations__.items() if not k.startswith("_")}
    assert set(declared) == set(CALL_COLUMNS)
    log = CallLog()
    for name, hint in declared.items():
        column = getattr(log, name)
        assert isinstance(column, memoryview)
        kind = "float" if column.format == "d" else "int"
        assert hint == f"MutableSequence[{kind}]", name
