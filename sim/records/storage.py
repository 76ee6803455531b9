"""Append-only columnar storage: one row per entity, one column per fact, numpy at the end.

While the model runs, each column is a ``memoryview`` of memory reserved for it (assigned into
by id as cheaply as a list; :class:`ColumnLog`); :meth:`ColumnLog.freeze` shows the rows as
numpy arrays without a copy, so that KPIs are vectorised. No per-event objects are created.
The calls' columns and codes are in :mod:`sim.records.calls`, the business records' codes in
:mod:`sim.records.business`.
"""

from __future__ import annotations

import mmap
import sys
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

__all__ = ["NAN", "ROWS", "ColumnLog", "Rows", "reserve"]

NAN = float("nan")
"""The default of a float column: a time or duration not (yet) known."""


@dataclass
class Rows:
    """Frozen records of any entity kind: numpy column arrays of equal length, one row each."""

    columns: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self.__dict__["columns"][name]
        except KeyError:
            raise AttributeError(name) from None


_TYPECODES = {
    float: "d",
    int: "q",
    np.int8: "b",
    np.int16: "h",
    np.int32: "i",
    np.int64: "q",
    bool: "b",
}

ROWS = 1 << 30
"""Rows a log reserves per column (address space only, charged once written: 8 GiB of it a
float column). No run comes near: a billion calls would take days of CPU."""

_NORESERVE = getattr(mmap, "MAP_NORESERVE", 0x4000 if sys.platform.startswith("linux") else 0)


def reserve(nbytes: int) -> mmap.mmap | None:
    """Private anonymous memory of ``nbytes`` not charged until written; None if refused
    (an address-space limit, a platform without ``MAP_PRIVATE`` or ``madvise``)."""
    if not hasattr(mmap, "MADV_DONTNEED") or not hasattr(mmap, "MAP_PRIVATE"):
        return None
    flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | _NORESERVE
    try:
        return mmap.mmap(-1, nbytes, flags=flags)
    except (OSError, ValueError, OverflowError):
        return None


class ColumnLog:
    """A live log: one column per fact, rows are ids, appended to and assigned into by id.

    Each column is one reservation of :data:`ROWS` rows (:func:`reserve`), read and written
    through a ``memoryview`` (as fast as a list or an ``array.array``): a column never moves,
    so the model binds it once; pages cost memory only once written, and those of rows no
    longer needed go back to the system with :meth:`give_back` while the ids stay. Where the
    platform refuses the reservation, a column is an ``array.array`` (same reads and writes,
    grown in place; :attr:`reserved` is False and :meth:`give_back` keeps the memory).
    :meth:`freeze` turns the rows into numpy arrays without a copy.

    Rows get their defaults a block of :attr:`BLOCK` rows at a time, so that an appender
    writes only the values it is given. Rows of :meth:`reserve` read 0 until :meth:`put`.

    Parameters
    ----------
    spec : column name -> (dtype, default for a new row), as
        :data:`sim.records.calls.CALL_COLUMNS`.
    frozen : the class of the frozen records.
    """

    BLOCK = 1024

    def __init__(self, spec: dict[str, tuple[type, Any]], frozen: type[Rows] = Rows):
        self._spec, self._frozen = spec, frozen
        self._rows = [0, 0]  # rows in use, rows holding values or defaults (shared, appenders)
        maps: dict[str, mmap.mmap] = {}
        for name, (dtype, _) in spec.items():
            got = reserve(ROWS * np.dtype(_TYPECODES[dtype]).itemsize)
            if got is None:
                break
            maps[name] = got
        self.reserved = len(maps) == len(spec)
        if not self.reserved:
            for m in maps.values():
                m.close()
            maps = {}
        self._maps = maps
        self._columns: list[tuple[str, Any, Any]] = []
        for name, (dtype, default) in spec.items():
            code: Any = _TYPECODES[dtype]  # a format memoryview.cast takes
            column: Any = memoryview(maps[name]).cast("B").cast(code) if maps else array(code)
            setattr(self, name, column)
            self._columns.append((name, column, default))

    def __len__(self) -> int:
        return self._rows[0]

    if TYPE_CHECKING:
        # One instance attribute per column of the spec, set in __init__ (no runtime hook).
        def __getattr__(self, name: str) -> Any: ...

    def add(self, **values) -> int:
        """Append one row; columns not given get their defaults. Returns its id.

        Convenient but slow (a look-up per column); the model's paths use :meth:`appender`.
        """
        return self.appender(*values)(*values.values())

    def appender(self, *names: str) -> Callable[..., int]:
        """A fast ``add`` for rows that give ``names`` (positionally, in that order): one
        item write per value given; the other columns keep the row's defaults."""
        unknown = set(names) - set(self._spec)
        if unknown:
            raise ValueError(f"unknown columns {sorted(unknown)}")
        columns = tuple(getattr(self, name) for name in names)
        rows, fill = self._rows, self._fill_block

        def add(*values) -> int:
            rid = rows[0]
            if rid == rows[1]:
                fill()
            rows[0] = rid + 1
            for column, value in zip(columns, values, strict=True):
                column[rid] = value
            return rid

        return add

    def _fill_block(self) -> None:
        """Defaults for the next :attr:`BLOCK` rows (the appenders write only what they give)."""
        lo = self._rows[1]
        self._defaults(lo, lo + self.BLOCK)
        self._rows[1] = lo + self.BLOCK

    def _defaults(self, lo: int, hi: int, names: Any = None) -> None:
        """Rows ``lo`` to ``hi`` of the columns ``names`` (default all) set to their defaults;
        array columns grown to ``hi`` rows first."""
        for name, column, default in self._columns:
            if names is not None and name not in names:
                continue
            if not self.reserved and len(column) < hi:
                column.extend(array(column.typecode, [default]) * (hi - len(column)))
            self._view(name, lo, hi)[:] = default

    def _view(self, name: str, lo: int, hi: int) -> np.ndarray:
        """Rows ``lo`` to ``hi`` of a column as a numpy array sharing its memory."""
        dtype = np.dtype(self._spec[name][0])
        buffer = self._maps[name] if self.reserved else getattr(self, name)
        return np.frombuffer(buffer, dtype, count=hi - lo, offset=lo * dtype.itemsize)

    def extend(self, **columns: np.ndarray) -> range:
        """Append a batch of rows; columns not given get their defaults. Returns the new ids."""
        return self.take(columns)

    def take(self, columns: dict[str, np.ndarray]) -> range:
        """:meth:`extend` from a dict that it empties as it goes: each array is dropped once
        copied, so a caller that hands over its only references frees them one by one
        (the peak memory of drawing a whole horizon of calls)."""
        return self.put(columns, self.reserve(len(next(iter(columns.values())))).start)

    def reserve(self, n: int) -> range:
        """Append ``n`` rows to be written later by :meth:`put` (they read 0 until then and
        cost no memory); their ids."""
        start = self._rows[0]
        if start + n > self._rows[1]:  # the block filled ahead, if any, is written over by put
            if not self.reserved:
                self._defaults(self._rows[1], start + n)
            self._rows[1] = start + n
        self._rows[0] = start + n
        return range(start, start + n)

    def put(self, columns: dict[str, np.ndarray], start: int) -> range:
        """Write the rows ``start``.. of :meth:`reserve` from ``columns`` (a dict emptied as it
        goes, as :meth:`take`); columns not given get their defaults. Returns their ids."""
        n = len(next(iter(columns.values())))
        unknown = set(columns) - set(self._spec)
        if unknown:
            raise ValueError(f"unknown columns {sorted(unknown)}")
        for name, (_, default) in self._spec.items():
            values = columns.pop(name, default)
            self._view(name, start, start + n)[:] = values
            del values  # the caller's last reference: its memory goes now
        return range(start, start + n)

    def rows(self, lo: int, hi: int) -> Rows:
        """Rows ``lo`` to ``hi`` as frozen records sharing this log's memory."""
        return self._frozen({name: self._view(name, lo, hi) for name in self._spec})

    def give_back(self, lo: int, hi: int, names: Any = None) -> None:
        """Give back the whole pages of rows ``lo`` to ``hi`` of the columns ``names`` (default
        all), never to be read again (they read 0 afterwards); kept where not :attr:`reserved`."""
        if not self.reserved:
            return
        page = mmap.PAGESIZE
        for name in self._spec if names is None else names:
            size = np.dtype(_TYPECODES[self._spec[name][0]]).itemsize
            start = -(-lo * size // page) * page
            stop = hi * size // page * page
            if stop > start:
                self._maps[name].madvise(mmap.MADV_DONTNEED, start, stop - start)

    def freeze(self, drop: tuple[str, ...] = ()) -> Rows:
        """The rows in use as numpy arrays sharing the columns' memory (no copy). Values may
        still be assigned on either side; an array column cannot grow while they live.
        Columns in ``drop`` are left out and their memory given back (reserved columns)."""
        n = self._rows[0]
        self.give_back(0, n, drop)
        return self._frozen(
            {name: self._view(name, 0, n) for name in self._spec if name not in drop}
        )
