"""Append-only columnar records: one row per call, one column per fact, numpy at the end.

Also owns the codes stored in the columns (call outcomes, order, lead and work-order states,
payments), so that KPIs read records without importing the SimPy model.

While the model runs, columns are plain Python lists (the cheapest thing to append to and
assign into from Python); :meth:`CallLog.freeze` converts them once into numpy arrays so that
KPIs are vectorised. No per-event objects are created.
"""

from __future__ import annotations

import functools
import mmap
import sys
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from types import CodeType
from typing import TYPE_CHECKING, Any

import numpy as np

__all__ = [
    "PAYMENTS",
    "BlockLog",
    "CallLog",
    "Calls",
    "ColumnLog",
    "LeadState",
    "OrderState",
    "Origin",
    "Outcome",
    "Payment",
    "Rows",
    "StaffLog",
    "WorkOrderState",
    "reserve",
]


class Outcome(IntEnum):
    """How a call ended. OPEN: still in the IVR or the queue when the horizon came;
    DISCONNECTED: cut off while waiting when no group of its route had anyone on duty
    (``routing.at_close: disconnect``)."""

    OPEN = 0
    SELF_SERVED = 1
    ANSWERED = 2
    ABANDONED = 3
    DISCONNECTED = 4


class Origin(IntEnum):
    """Why a call was made: a fresh call, a redial, or a call caused by earlier business."""

    FIRST = 0
    AFTER_ABANDON = 1
    AFTER_UNRESOLVED = 2
    DELIVERY_COMPLAINT = 3
    WORK_ORDER_UNRESOLVED = 4


class OrderState(IntEnum):
    """How an order ended. OPEN: not yet delivered or returned at the horizon."""

    OPEN = 0
    DELIVERED = 1
    FAILED = 2


class Payment(IntEnum):
    """How the customer pays for an order (the ``payment`` column of the orders)."""

    CASH = 0
    POS = 1  # card at the door
    ONLINE = 2


PAYMENTS = tuple(p.name.lower() for p in Payment)
"""Payment names as scenario files spell them, in code order: ``PAYMENTS.index(name)``."""


class LeadState(IntEnum):
    """How a lead ended: bought, reached but said no, never reached. OPEN: not yet ended."""

    OPEN = 0
    CONVERTED = 1
    DECLINED = 2
    UNREACHED = 3


class WorkOrderState(IntEnum):
    """How a work order ended. OPEN: waiting or in hand at the horizon."""

    OPEN = 0
    RESOLVED = 1
    UNRESOLVED = 2


NAN = float("nan")

# column name -> (dtype, default for a new row)
CALL_COLUMNS: dict[str, tuple[type, Any]] = {
    "arrival": (float, NAN),  # s, when the call reached the hotline
    "queue_entry": (float, NAN),  # s, when it left the IVR for the agent queue (nan: never)
    "tier": (np.int16, 0),
    "call_type": (np.int16, 0),
    "customer": (np.int64, 0),
    "attempt": (np.int32, 0),  # 0 for a first call, k for the k-th call again
    "origin": (np.int8, 0),  # Origin
    "outcome": (np.int8, 0),  # Outcome
    "answer": (float, NAN),  # s, when an agent took it
    "end": (float, NAN),  # s, end of talk (answered), hang-up (abandoned), IVR exit (self-served)
    "release": (float, NAN),  # s, the agent free again (after after-call work)
    "group": (np.int16, -1),
    "agent": (np.int32, -1),
    "resolved": (bool, False),
    "patience": (float, NAN),  # s, drawn at arrival
    "handle": (float, NAN),  # s, base talk time before the group's factor
}


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


class Calls(Rows):
    """Frozen call records."""

    def wait(self) -> np.ndarray:
        """Time in the agent queue: to answer, to hang-up; nan if never queued or still open."""
        stop = np.where(self.outcome == Outcome.ANSWERED, self.answer, self.end)
        return stop - self.queue_entry


_TYPECODES = {
    float: "d",
    int: "q",
    np.int8: "b",
    np.int16: "h",
    np.int32: "i",
    np.int64: "q",
    bool: "b",
}


class ColumnLog:
    """A live log: one compact ``array.array`` per column, rows are ids.

    Arrays take 1 to 8 bytes a value (a list of Python floats takes 32) and are appended and
    assigned into as fast as lists; :meth:`freeze` turns them into numpy arrays without a
    Python loop.

    Parameters
    ----------
    spec : column name -> (dtype, default for a new row), as :data:`CALL_COLUMNS`.
    frozen : the class of the frozen records.
    """

    def __init__(self, spec: dict[str, tuple[type, Any]], frozen: type[Rows] = Rows):
        self._spec, self._frozen = spec, frozen
        for name, (dtype, _) in spec.items():
            setattr(self, name, array(_TYPECODES[dtype]))
        self._columns: list[tuple[str, array[Any], Any]] = [
            (name, getattr(self, name), default) for name, (_, default) in spec.items()
        ]
        self._first = self._columns[0][1]

    def __len__(self) -> int:
        return len(self._first)

    if TYPE_CHECKING:
        # One instance attribute per column of the spec, set in __init__ (no runtime hook).
        def __getattr__(self, name: str) -> array[Any]: ...

    def add(self, **values) -> int:
        """Append one row; columns not given get their defaults. Returns its id.

        Convenient but slow (a loop over every column with a dict look-up); the model's hot
        paths use :meth:`appender`.
        """
        rid = len(self._first)
        get = values.get
        for name, column, default in self._columns:
            column.append(get(name, default))
        return rid

    def appender(self, *names: str) -> Callable[..., int]:
        """A fast ``add`` for rows that give ``names`` (positionally, in that order).

        The returned function appends its arguments to those columns and the defaults to the
        others, and returns the new row's id. Its body is generated with one ``append`` call
        per column and no loop, as ``collections.namedtuple`` generates its methods: half the
        cost of a loop over the columns, on the path of every redial, order and task.
        """
        unknown = set(names) - set(self._spec)
        if unknown:
            raise ValueError(f"unknown columns {sorted(unknown)}")
        scope: dict = {"_first": self._first}
        body = []
        for i, name in enumerate(names):
            scope[f"_put{i}"] = getattr(self, name).append
            body.append(f"_put{i}(v{i})")
        for i, (name, column, default) in enumerate(self._columns):
            if name not in names:
                scope[f"_pad{i}"], scope[f"_default{i}"] = column.append, default
                body.append(f"_pad{i}(_default{i})")
        params = ", ".join(f"v{i}" for i in range(len(names)))
        source = f"def add({params}):\n    rid = len(_first)\n"
        source += "".join(f"    {line}\n" for line in body) + "    return rid\n"
        exec(source, scope)  # the source is built above from column indices only
        return scope["add"]

    def extend(self, **columns: np.ndarray) -> range:
        """Append a batch of rows; columns not given get their defaults. Returns the new ids."""
        return self.take(columns)

    def take(self, columns: dict[str, np.ndarray]) -> range:
        """:meth:`extend` from a dict that it empties as it goes: each array is dropped once
        copied, so a caller that hands over its only references frees them one by one
        (the peak memory of drawing a whole horizon of calls)."""
        n = len(next(iter(columns.values())))
        start = len(self)
        for name, column, default in self._columns:
            values = columns.pop(name, None)
            if values is None:
                column.extend(array(column.typecode, [default]) * n)
            else:
                values = np.ascontiguousarray(values, dtype=column.typecode)
                column.frombytes(values.data.cast("B"))  # no bytes copy
                del values
        if columns:
            raise ValueError(f"unknown columns {sorted(columns)}")
        return range(start, start + n)

    def reserve(self, n: int) -> range:
        """Append ``n`` rows of defaults, to be written later by :meth:`put`; their ids."""
        start = len(self)
        for _, column, default in self._columns:
            column.extend(array(column.typecode, [default]) * n)
        return range(start, start + n)

    def put(self, columns: dict[str, np.ndarray], start: int) -> range:
        """Write the rows ``start``.. of :meth:`reserve` from ``columns`` (a dict emptied as it
        goes, as :meth:`take`); columns not given keep their defaults. Returns their ids."""
        n = len(next(iter(columns.values())))
        for name, column, _ in self._columns:
            values = columns.pop(name, None)
            if values is not None:
                view = np.frombuffer(column, dtype=column.typecode)
                view[start : start + n] = values
                del view, values  # the column may grow again once no view is left
        if columns:
            raise ValueError(f"unknown columns {sorted(columns)}")
        return range(start, start + n)

    def freeze(self, drop: tuple[str, ...] = ()) -> Rows:
        """The rows as numpy arrays that share the live columns' memory (no copy).

        The live log cannot grow afterwards (``array.array`` refuses to resize while numpy
        holds its buffer); values may still be assigned on either side. Columns in ``drop``
        are emptied instead, their memory released now, and left out of the frozen rows.
        """
        columns: dict[str, np.ndarray] = {}
        for name, column, _ in self._columns:
            if name in drop:
                del column[:]
            else:
                columns[name] = np.frombuffer(column, dtype=column.typecode).view(
                    self._spec[name][0]
                )
        return self._frozen(columns)


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


@functools.lru_cache(maxsize=64)
def _compiled(source: str) -> CodeType:
    """Appenders of the same shape compile once per process (a compile costs ~60 us, and
    every replication builds its logs afresh)."""
    return compile(source, "<appender>", "exec")


class BlockLog(ColumnLog):
    """A :class:`ColumnLog` whose columns grow by blocks of defaults, for the business records
    (orders, leads, work orders): its appenders write only the values given, by index, where a
    row of 10 to 15 columns otherwise costs an ``append`` per column. ``len`` counts rows.

    Each column lives in memory reserved up front (:func:`reserve`; pages are charged once
    written), seen through a ``memoryview`` of the rows filled so far: a growing column is not
    copied and leaves no freed holes in the heap (20 MiB of fragments in a year's run with
    growing arrays), and :meth:`freeze` is a view. A column object changes as the log grows:
    look it up on the log at each use (``log.state[i]``), never keep one.
    """

    BLOCK = 1024
    RESERVE = 1 << 24
    """Rows reserved per column (address space only: 128 MiB a float column); a log that
    outgrows them moves to a reservation four times larger. Where nothing can be reserved the
    columns are heap memory, doubled as they fill."""

    def __init__(self, spec: dict[str, tuple[type, Any]], frozen: type[Rows] = Rows):
        self._spec, self._frozen = spec, frozen
        self._rows = [0]  # rows in use, shared with the appenders
        self._filled = self._capacity = 0  # rows holding values or defaults; rows allocated
        self._buffers: dict[str, mmap.mmap | bytearray] = {name: bytearray() for name in spec}
        self._scopes: list[tuple[dict, tuple[str, ...]]] = []  # appenders' columns to re-point
        self._reserved = True  # reserved memory, while the platform gives it
        self._move(self.RESERVE, 0)

    def __len__(self) -> int:
        return self._rows[0]

    def appender(self, *names: str) -> Callable[..., int]:
        """A fast ``add`` for rows that give ``names`` (positionally, at least one): one index
        assignment per value; a full block grows by :attr:`BLOCK` rows of defaults."""
        if not names or set(names) - set(self._spec):
            raise ValueError(f"columns to give: one or more of {sorted(self._spec)}")
        scope: dict = {"_rows": self._rows, "_grow": self._grow}
        scope.update({f"_col{i}": getattr(self, name) for i, name in enumerate(names)})
        self._scopes.append((scope, names))
        params = ", ".join(f"v{i}" for i in range(len(names)))
        rest = "".join(f"    _col{i}[rid] = v{i}\n" for i in range(1, len(names)))
        source = (
            f"def add({params}):\n    rid = _rows[0]\n    try:\n        _col0[rid] = v0\n"
            "    except IndexError:  # the block is full\n        _grow()\n"
            f"        _col0[rid] = v0\n    _rows[0] = rid + 1\n{rest}    return rid\n"
        )
        exec(_compiled(source), scope)  # the source is built above from column indices only
        return scope["add"]

    def add(self, **values) -> int:
        rid = self.reserve(1).start
        for name, column, default in self._columns:
            column[rid] = values.get(name, default)
        return rid

    def take(self, columns: dict[str, np.ndarray]) -> range:
        return self.put(columns, self.reserve(len(next(iter(columns.values())))).start)

    def reserve(self, n: int) -> range:
        start = self._rows[0]
        if start + n > self._filled:
            self._grow(start + n)
        self._rows[0] = start + n
        return range(start, start + n)

    def put(self, columns: dict[str, np.ndarray], start: int) -> range:
        n = len(next(iter(columns.values())))
        unknown = set(columns) - set(self._spec)
        if unknown:
            raise ValueError(f"unknown columns {sorted(unknown)}")
        for name in list(columns):
            self._view(name, start, start + n)[:] = columns.pop(name)
        return range(start, start + n)

    def freeze(self, drop: tuple[str, ...] = ()) -> Rows:
        """The rows in use as numpy arrays sharing the columns' memory (no copy); columns in
        ``drop`` are left out and their memory released."""
        n = self._rows[0]
        columns: dict[str, np.ndarray] = {
            name: self._view(name, 0, n).view(dtype)
            for name, (dtype, _) in self._spec.items()
            if name not in drop
        }
        for name in drop:
            setattr(self, name, memoryview(b""))
            self._buffers[name] = bytearray()
        return self._frozen(columns)

    def _view(self, name: str, lo: int, hi: int) -> np.ndarray:
        code = _TYPECODES[self._spec[name][0]]
        offset = lo * np.dtype(code).itemsize
        return np.frombuffer(self._buffers[name], code, count=hi - lo, offset=offset)

    def _grow(self, rows: int = 0) -> None:
        """Defaults in whole blocks up to ``rows`` rows (at least one block more)."""
        lo = self._filled
        hi = max(lo + self.BLOCK, -(-rows // self.BLOCK) * self.BLOCK)
        if hi > self._capacity:
            self._move(4 * self._capacity, hi)
        for name, (_, default) in self._spec.items():
            self._view(name, lo, hi)[:] = default
        self._filled = hi
        self._repoint()

    def _move(self, rows: int, need: int) -> None:
        """Columns of at least ``need`` rows, the filled ones copied over: ``rows`` rows of
        reserved memory, else heap memory for ``need`` rows or twice the rows before."""
        sizes = {
            name: np.dtype(_TYPECODES[dtype]).itemsize for name, (dtype, _) in self._spec.items()
        }
        got: dict[str, mmap.mmap | bytearray | None] = {
            name: reserve(max(rows, need) * size) if self._reserved else None
            for name, size in sizes.items()
        }
        if None in got.values():
            self._reserved = False
            rows = max(need, 2 * self._capacity)
            got = {name: bytearray(rows * size) for name, size in sizes.items()}
        buffers: dict[str, mmap.mmap | bytearray] = {}
        for name, buffer in got.items():
            assert buffer is not None  # (checked above)
            code = _TYPECODES[self._spec[name][0]]
            np.frombuffer(buffer, code, count=self._filled)[:] = self._view(name, 0, self._filled)
            buffers[name] = buffer
        self._buffers, self._capacity = buffers, max(rows, need)
        self._repoint()

    def _repoint(self) -> None:
        """The columns as views of the filled rows, on the log and in its appenders."""
        self._columns = []
        for name, (dtype, default) in self._spec.items():
            code: Any = _TYPECODES[dtype]  # a format memoryview.cast takes
            column = memoryview(self._buffers[name]).cast("B").cast(code)
            setattr(self, name, column[: self._filled])
            self._columns.append((name, getattr(self, name), default))
        for scope, names in self._scopes:
            scope.update({f"_col{i}": getattr(self, name) for i, name in enumerate(names)})


RUN_ONLY_COLUMNS = ("customer", "attempt", "origin", "agent", "patience")
"""Call columns the model needs while it runs and the KPIs never read."""


class CallLog(ColumnLog):
    """The live call log (rows are call ids); one array per column of :data:`CALL_COLUMNS`."""

    arrival: array[float]
    queue_entry: array[float]
    tier: array[int]
    call_type: array[int]
    customer: array[int]
    attempt: array[int]
    origin: array[int]
    outcome: array[int]
    answer: array[float]
    end: array[float]
    release: array[float]
    group: array[int]
    agent: array[int]
    resolved: array[int]
    patience: array[float]
    handle: array[float]

    def __init__(self) -> None:
        super().__init__(CALL_COLUMNS, Calls)

    def freeze(self, drop: tuple[str, ...] = ()) -> Calls:
        frozen = super().freeze(drop)
        assert isinstance(frozen, Calls)
        return frozen


@dataclass
class StaffLog:
    """Agents present per group over time (scheduled plus those finishing a call after shift)."""

    groups: list[str]
    times: list[list[float]] = field(default_factory=list)
    present: list[list[int]] = field(default_factory=list)

    def __post_init__(self):
        self.times = [[] for _ in self.groups]
        self.present = [[] for _ in self.groups]

    def record(self, group: int, t: float, present: int) -> None:
        times, counts = self.times[group], self.present[group]
        if times and times[-1] == t:
            counts[-1] = present
        else:
            times.append(t)
            counts.append(present)
