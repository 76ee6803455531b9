"""Mapping files: how a switch's own export (column names, codes, time formats) maps onto the
generic call-log format of ``docs/call-log.md``.

Kept apart from the reader (:mod:`sim.fit.calllog`) so that other readers of tabular
exports (an interval report) validate their mapping the same way. A field's source is one
column, up to four joined with a space, ``null`` (switched off), or a conditional source
(:class:`Source`): the ``from`` columns unless their value is missing on that row, then the
``else`` columns. Missing-value codes are given per field; the old list form still means "these
codes in every label column". Every key is validated with file, line and a suggestion.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import pydantic
from pydantic import Field

from sim.scenario.schema_types import Model
from sim.scenario.yamlsource import load_yaml, validation_error

__all__ = [
    "FIELDS",
    "LABELS",
    "NUMERIC",
    "OUTCOME_NAMES",
    "REQUIRED",
    "LogMapping",
    "OutcomeRule",
    "Source",
    "load_mapping",
]

SELF_SERVED, ANSWERED, ABANDONED = 1, 2, 3  # the codes of sim.records.calls.Outcome
OUTCOME_NAMES = {"self_served": SELF_SERVED, "answered": ANSWERED, "abandoned": ABANDONED}
REQUIRED = ("arrival", "outcome", "wait")
NUMERIC = ("wait", "handle_time", "after_call_work")
LABELS = ("call_type", "tier", "agent", "group", "customer")
FIELDS = (*REQUIRED, "handle_time", *LABELS, "after_call_work")
MAX_JOINED = 4  # columns joined into one field
Outcome = Literal["answered", "abandoned", "self_served", "skip"]


def _texts(value: Any) -> Any:
    """Codes as text: YAML reads ``0`` as a number where the export's column holds ``"0"``."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return [_texts(v) for v in value]
    if isinstance(value, dict):
        return {k: _texts(v) for k, v in value.items()}
    return value


_AS_TEXT = pydantic.BeforeValidator(_texts)


def _columns(value: str | list[str], what: str) -> list[str]:
    cols = [value] if isinstance(value, str) else list(value)
    if not cols or len(cols) > MAX_JOINED or any(not c for c in cols):
        raise ValueError(f"{what}: give 1 to {MAX_JOINED} column names to join")
    return cols


class Source(Model):
    """A field read from ``from``, or from ``else`` on the rows where ``from`` is missing (empty,
    or one of the field's ``missing`` codes in any of its columns)."""

    from_: str | list[str] = Field(alias="from", description="the column(s) read first")
    else_: str | list[str] | None = Field(
        None, alias="else", description="the column(s) read where 'from' is missing"
    )
    not_before: str | list[str] | None = Field(
        None,
        description="arrival only: the call's start (e.g. [date, vru_entry]); an arrival that "
        "reads more than 12 hours earlier crossed midnight and belongs to the next day",
    )

    @pydantic.model_validator(mode="after")
    def _sizes(self) -> Source:
        _columns(self.from_, "from")
        for key, cols in (("else", self.else_), ("not_before", self.not_before)):
            if cols is not None:
                _columns(cols, key)
        return self

    def first(self) -> list[str]:
        return _columns(self.from_, "from")

    def fallback(self) -> list[str]:
        return [] if self.else_ is None else _columns(self.else_, "else")

    def start(self) -> list[str]:
        return [] if self.not_before is None else _columns(self.not_before, "not_before")

    def columns(self) -> list[str]:
        """Every column the source reads."""
        return self.first() + self.fallback() + self.start()


class OutcomeRule(Model):
    """An outcome that depends on other columns: ``then`` on the rows where every column of
    ``when`` holds one of its values (compared as written, spaces trimmed)."""

    when: Annotated[dict[str, str | list[str]], _AS_TEXT] = Field(
        description="export column -> value or values; all must hold"
    )
    then: Outcome

    @pydantic.field_validator("when")
    @classmethod
    def _not_empty(cls, v):
        if not v or len(v) > 8:
            raise ValueError("give 1 to 8 columns, each with a value or a list of values")
        return v

    def values(self) -> dict[str, list[str]]:
        return {c: [v] if isinstance(v, str) else list(v) for c, v in self.when.items()}


class LogMapping(Model):
    """How an export that is not in the generic format maps onto it (``--map FILE``).

    Another tabular format reuses it by a subclass that sets the three class variables (its
    fields, those that cannot be switched off, those a plain ``missing:`` list applies to)."""

    fields: ClassVar[tuple[str, ...]] = FIELDS
    required_fields: ClassVar[tuple[str, ...]] = REQUIRED
    label_fields: ClassVar[tuple[str, ...]] = LABELS

    @classmethod
    def _known(cls, key: str) -> None:
        if key not in cls.fields:
            raise ValueError(f"unknown field '{key}'; fields: {', '.join(cls.fields)}")

    columns: dict[str, str | list[str] | Source | None] = Field(
        default_factory=dict,
        description="field -> the export's column, a list of columns joined with a space, "
        "{from, else, not_before}, or null (switched off)",
    )
    outcomes: dict[str, Outcome] = Field(
        default_factory=dict, description="the export's outcome codes -> ours; skip drops the row"
    )
    outcome_rules: list[OutcomeRule] = Field(
        default_factory=list,
        description="outcomes that depend on other columns; the first rule that holds wins",
        max_length=32,
    )
    time_format: str | None = Field(
        None, description="strptime format of arrival (after joining), e.g. '%y%m%d %H:%M:%S'"
    )
    durations: Literal["seconds", "clock"] = Field(
        "seconds", description="wait and handle times as seconds, or clock text H:MM:SS"
    )
    delimiter: str = Field(",", min_length=1, max_length=1, description="CSV field separator")
    missing: Annotated[list[str] | dict[str, str | list[str]], _AS_TEXT] = Field(
        default_factory=list,
        description="field -> values that mean 'not known' (e.g. customer: ['0']); a plain "
        "list applies to every label column",
    )
    tier_priority: dict[str, int] = Field(
        default_factory=dict, description="tier -> priority (0 served first), if known"
    )

    @pydantic.field_validator("columns")
    @classmethod
    def _known_fields(cls, v):
        for key, cols in v.items():
            cls._known(key)
            if cols is None and key in cls.required_fields:
                raise ValueError(f"{key}: a required field cannot be switched off (null)")
            if isinstance(cols, Source) and cols.not_before is not None and key != "arrival":
                raise ValueError(f"{key}: not_before applies to the arrival only")
            if isinstance(cols, str | list):
                _columns(cols, key)
        return v

    @pydantic.field_validator("missing")
    @classmethod
    def _missing_fields(cls, v):
        for key in v if isinstance(v, dict) else ():
            cls._known(key)
        return v

    @pydantic.field_validator("time_format")
    @classmethod
    def _local_time(cls, v):
        if v is not None and ("%z" in v or "%Z" in v):
            raise ValueError(
                "times are read as local time as written: leave %z/%Z out (an offset at the "
                "end of a time is ignored)"
            )
        return v

    def spec(self, name: str) -> Source | None:
        """The field's source; None when switched off. A field not mapped is read from the
        column of its own name."""
        cols = self.columns.get(name, name)
        if cols is None or isinstance(cols, Source):
            return cols
        return Source.model_validate({"from": cols})

    def source(self, name: str) -> list[str]:
        """The columns read first for ``name`` (empty when switched off)."""
        spec = self.spec(name)
        return [] if spec is None else spec.first()

    def missing_codes(self, name: str) -> set[str]:
        """Values of field ``name`` that mean 'not known' (besides the empty value)."""
        if isinstance(self.missing, dict):
            codes = self.missing.get(name, [])
            return {codes} if isinstance(codes, str) else set(codes)
        return set(self.missing) if name in self.label_fields else set()


def load_mapping(path: str | Path, model: type[LogMapping] = LogMapping) -> LogMapping:
    """Read and validate a mapping file (as ``model``, a :class:`LogMapping` or a subclass for
    another format); errors name the file, line and key."""
    data, smap = load_yaml(path)
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise validation_error(exc, smap, model) from None
