"""A call log whose old rows can be given back to the system while the run goes on.

A run without records reduces its calls to KPI sums block by block as they close
(:func:`sim.kpi.calls.reduce_calls`); their rows are then never read again. Call ids index the
columns directly on the model's hot path, so rows cannot be moved or renumbered. Instead each
column is one large reservation of anonymous memory (``mmap``; pages cost memory only once
written) read and written through a ``memoryview`` (as fast as ``array.array``), and the pages
of rows already reduced are returned with ``madvise(MADV_DONTNEED)``: the ids stay, the memory
goes. Where the platform refuses the reservation, :func:`call_log` returns a plain
:class:`~sim.model.records.CallLog` (same numbers, no release).
"""

from __future__ import annotations

import mmap
from collections.abc import Callable
from typing import Any

import numpy as np

from sim.model.records import CALL_COLUMNS, CallLog, Calls, reserve

__all__ = ["ROWS", "WindowedCallLog", "call_log", "trim_heap"]

ROWS = 1 << 30
"""Rows reserved per column (virtual address space only: 8 GiB for a float column). No run
comes near: a billion calls would take days of CPU."""


def trim_heap() -> bool:
    """Give the free pages of the C heap back to the system; False where there is no glibc.

    glibc keeps freed memory in the middle of its heap resident: the temporaries of a block's
    reduction (~15 MiB for ``BLOCK`` calls) would stay in the peak of a run without records
    to its end, beside the rows that run gives back. ``malloc_trim(0)`` returns them.
    """
    import ctypes  # only here: a light command never pays for it

    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError):  # not glibc (macOS, musl, Windows)
        return False
    trim(0)
    return True


def call_log(windowed: bool, rows: int = ROWS) -> CallLog:
    """A :class:`WindowedCallLog` when asked and possible, else a :class:`CallLog`."""
    if windowed:
        maps: dict[str, mmap.mmap] = {}
        for name, (dtype, _) in CALL_COLUMNS.items():
            got = reserve(rows * np.dtype(dtype).itemsize)
            if got is None:
                for m in maps.values():
                    m.close()
                return CallLog()
            maps[name] = got
        return WindowedCallLog(maps)
    return CallLog()


class WindowedCallLog(CallLog):
    """:class:`CallLog` on reserved memory: same columns and ids, plus :meth:`rows` (a numpy
    view of some rows) and :meth:`give_back` (their memory back, never to be read again)."""

    windowed = True

    def __init__(self, maps: dict[str, mmap.mmap]):
        self._spec, self._frozen, self._maps = CALL_COLUMNS, Calls, maps
        self._n = [0]  # rows so far, in a list so that generated appenders can update it
        columns: list[Any] = []
        for name, (dtype, default) in CALL_COLUMNS.items():
            code: Any = np.dtype(dtype).char if dtype is not bool else "b"
            column = memoryview(maps[name]).cast("B").cast(code)
            setattr(self, name, column)
            columns.append((name, column, default))
        self._columns = columns

    def __len__(self) -> int:
        return self._n[0]

    def add(self, **values) -> int:
        rid = self._n[0]
        for name, column, default in self._columns:
            column[rid] = values.get(name, default)
        self._n[0] = rid + 1
        return rid

    def appender(self, *names: str) -> Callable[..., int]:
        """As :meth:`CallLog.appender`: a generated function, one item write per column."""
        unknown = set(names) - set(self._spec)
        if unknown:
            raise ValueError(f"unknown columns {sorted(unknown)}")
        scope: dict[str, Any] = {"_n": self._n}
        body = []
        for i, name in enumerate(names):
            scope[f"_put{i}"] = getattr(self, name)
            body.append(f"_put{i}[rid] = v{i}")
        for i, (name, column, default) in enumerate(self._columns):
            if name not in names:
                scope[f"_pad{i}"], scope[f"_default{i}"] = column, default
                body.append(f"_pad{i}[rid] = _default{i}")
        params = ", ".join(f"v{i}" for i in range(len(names)))
        source = f"def add({params}):\n    rid = _n[0]\n"
        source += (
            "".join(f"    {line}\n" for line in body) + "    _n[0] = rid + 1\n    return rid\n"
        )
        exec(source, scope)  # the source is built above from column indices only
        return scope["add"]

    def take(self, columns: dict[str, np.ndarray]) -> range:
        n = len(next(iter(columns.values())))
        start = self._n[0]
        for name, (dtype, default) in CALL_COLUMNS.items():
            values = columns.pop(name, None)
            if values is None:
                values = np.full(n, default, dtype=dtype)
            self._view(name, start, start + n)[:] = values
            del values
        if columns:
            raise ValueError(f"unknown columns {sorted(columns)}")
        self._n[0] = start + n
        return range(start, start + n)

    def reserve(self, n: int) -> range:
        """``n`` rows to be written later by :meth:`put`; no memory until then (they read 0,
        an OPEN outcome, which nothing reads before the call arrives)."""
        start = self._n[0]
        self._n[0] = start + n
        return range(start, start + n)

    def put(self, columns: dict[str, np.ndarray], start: int) -> range:
        n = len(next(iter(columns.values())))
        for name, (_, default) in CALL_COLUMNS.items():
            values = columns.pop(name, default)
            self._view(name, start, start + n)[:] = values
            del values
        if columns:
            raise ValueError(f"unknown columns {sorted(columns)}")
        return range(start, start + n)

    def _view(self, name: str, lo: int, hi: int) -> np.ndarray:
        dtype = np.dtype(CALL_COLUMNS[name][0])
        return np.frombuffer(self._maps[name], dtype, count=hi - lo, offset=lo * dtype.itemsize)

    def rows(self, lo: int, hi: int) -> Calls:
        """Rows ``lo`` to ``hi`` as frozen calls sharing this log's memory."""
        return Calls({name: self._view(name, lo, hi) for name in CALL_COLUMNS})

    def freeze(self, drop: tuple[str, ...] = ()) -> Calls:
        for name in drop:
            self.give_back(0, self._n[0], (name,))
        return Calls(
            {name: self._view(name, 0, self._n[0]) for name in CALL_COLUMNS if name not in drop}
        )

    def give_back(self, lo: int, hi: int, names=tuple(CALL_COLUMNS)) -> None:
        """Give back the whole pages of rows ``lo`` to ``hi`` (they read as 0 afterwards)."""
        page = mmap.PAGESIZE
        for name in names:
            size = np.dtype(CALL_COLUMNS[name][0]).itemsize
            start = -(-lo * size // page) * page
            stop = hi * size // page * page
            if stop > start:
                self._maps[name].madvise(mmap.MADV_DONTNEED, start, stop - start)
