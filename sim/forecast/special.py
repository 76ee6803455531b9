"""Special days: the dated file a planner keeps (closed days, public holidays, events), and what
each day of a calendar is for the forecast.

A closed day (``closed``, or a ``holiday`` not marked ``open``) gets no calls; the first open
day after it receives a share of the calls the closure held back (its *carry-over*, learned
from the history);
an ``event`` is open with its own volume. All three are left out of the averages that describe
a normal day. The format is in docs/forecast.md.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pydantic
from pydantic import Field

from sim.scenario.confine import data_roots, excerpt, read_rows
from sim.scenario.schema_types import Model
from sim.scenario.yamlsource import ErrorItem, ScenarioError, load_yaml, validation_error

__all__ = [
    "CARRY",
    "CLOSED",
    "EVENT",
    "NORMAL",
    "Calendar",
    "SpecialDay",
    "classify",
    "read_special_days",
]

MAX_SPECIAL_DAYS = 10_000
NORMAL, CLOSED, CARRY, EVENT = 0, 1, 2, 3  # what a day is, see :func:`classify`
KIND_NAMES = {NORMAL: "normal", CLOSED: "closed", CARRY: "after closure", EVENT: "event"}


class SpecialDay(Model):
    """One dated day of the special-days file."""

    date: dt.date = Field(description="the day, YYYY-MM-DD")
    kind: Literal["closed", "holiday", "event"] = Field(
        description="closed; holiday (a public holiday, closed unless open is true); event (open, "
        "its own volume)"
    )
    name: str = Field("", max_length=200, description="what the day is, for the report")
    open: bool = Field(False, description="a holiday the center is open on")

    @property
    def closed(self) -> bool:
        return self.kind == "closed" or (self.kind == "holiday" and not self.open)


class SpecialDaysFile(Model):
    """A YAML special-days file: ``days:`` a list of dated days."""

    days: list[SpecialDay] = Field(max_length=MAX_SPECIAL_DAYS)


_TRUE = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False, "": False}


def read_special_days(path: str | Path) -> list[SpecialDay]:
    """Read a special-days file (``.yaml``/``.yml``, else CSV with columns date, kind[, name,
    open]); one clear error per problem (file, line, field, what is allowed)."""
    path = Path(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        data, smap = load_yaml(path)
        try:
            days = SpecialDaysFile.model_validate(data).days
        except pydantic.ValidationError as exc:
            raise validation_error(exc, smap, SpecialDaysFile) from None
        return _no_repeats(days, str(path), None)
    with data_roots(path.parent):
        try:
            table = read_rows(path, "special-days file")
        except ValueError as exc:
            raise ScenarioError([ErrorItem(str(path), None, "", str(exc))]) from None
    head = [h.lower() for h in table[0]] if table else []
    for col in ("date", "kind"):
        if col not in head:
            found = excerpt(",".join(head)) if head else "nothing"
            raise ScenarioError(
                [
                    ErrorItem(
                        str(path), 1, f"column '{col}'", f"required column missing; found {found}"
                    )
                ]
            )
    unknown = [h for h in head if h not in ("date", "kind", "name", "open")]
    if unknown:
        raise ScenarioError(
            [ErrorItem(str(path), 1, f"column {excerpt(unknown[0])}", "unknown column; "
                       "allowed: date, kind, name, open")]
        )  # fmt: skip
    days, lines = [], []
    for line, cells in enumerate(table[1:], start=2):
        if not any(cells):
            continue
        if len(cells) != len(head):
            message = f"{len(cells)} fields where the header has {len(head)}"
            raise ScenarioError([ErrorItem(str(path), line, "", message)])
        row = dict(zip(head, cells, strict=True))
        if "open" in row:
            if row["open"].lower() not in _TRUE:
                message = f"{excerpt(row['open'])} is not true or false"
                raise ScenarioError([ErrorItem(str(path), line, "column 'open'", message)])
            row["open"] = _TRUE[row["open"].lower()]  # type: ignore[assignment]
        try:
            days.append(SpecialDay.model_validate(row))
        except pydantic.ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            field = str(err["loc"][0]) if err["loc"] else ""
            allowed = {
                "date": "a date YYYY-MM-DD",
                "kind": "closed, holiday or event",
                "name": "at most 200 characters",
            }.get(field, err["msg"])
            value = excerpt(row.get(field, ""))
            raise ScenarioError(
                [ErrorItem(str(path), line, f"column '{field}'", f"{value}: expected {allowed}")]
            ) from None
        lines.append(line)
        if len(days) > MAX_SPECIAL_DAYS:
            raise ScenarioError(
                [ErrorItem(str(path), line, "", f"more than {MAX_SPECIAL_DAYS:,} days")]
            )
    return _no_repeats(days, str(path), lines)


def _no_repeats(days: list[SpecialDay], name: str, lines: list[int] | None) -> list[SpecialDay]:
    seen: dict[dt.date, int] = {}
    for i, day in enumerate(days):
        if day.date in seen:
            where = lines[i] if lines else None
            path = "" if lines else f"days[{i}]"
            raise ScenarioError(
                [ErrorItem(name, where, path, f"{day.date} is listed twice (once per day)")]
            )
        seen[day.date] = i
    return days


@dataclass
class Calendar:
    """What each day from ``first_day`` on is: NORMAL, CLOSED, CARRY (first open day after a
    special closure) or EVENT; ``names`` the special days' names, by day index; ``after`` the
    closed days each CARRY day follows (whose held-back calls it receives)."""

    first_day: np.datetime64
    kind: np.ndarray  # (days,) int8
    names: dict[int, str]
    after: dict[int, tuple[int, ...]]


def classify(
    special: list[SpecialDay], first_day: np.datetime64, days: int, open_weekdays: np.ndarray
) -> Calendar:
    """The kind of each of ``days`` days from ``first_day``. ``open_weekdays`` (7 bools, Monday
    first) says which weekdays the center normally opens: the carry-over goes to the first day
    after a closure that is open, over any weekend between."""
    kind = np.zeros(days, dtype=np.int8)
    names: dict[int, str] = {}
    start = first_day.astype("datetime64[D]").astype(np.int64)
    for day in special:
        i = int(np.datetime64(day.date, "D").astype(np.int64) - start)
        if 0 <= i < days:
            kind[i] = CLOSED if day.closed else (EVENT if day.kind == "event" else NORMAL)
            names[i] = day.name or day.kind
    weekday = (np.arange(days) + _weekday(first_day)) % 7
    after: dict[int, list[int]] = {}
    for i in np.flatnonzero(kind == CLOSED).tolist():
        j = i + 1
        while j < days and (kind[j] == CLOSED or not open_weekdays[weekday[j]]):
            j += 1
        if j < days and kind[j] in (NORMAL, CARRY) and j - i <= 7:
            kind[j] = CARRY
            after.setdefault(j, []).append(i)
    return Calendar(first_day, kind, names, {j: tuple(c) for j, c in after.items()})


def _weekday(day: np.datetime64) -> int:
    """0 for Monday (1970-01-01 was a Thursday)."""
    return int((day.astype("datetime64[D]").astype(np.int64) + 3) % 7)
