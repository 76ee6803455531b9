"""Distribution specs, given by mean (and cv) as planners think, that draw numpy batches.

Each spec knows its ``mean`` and ``var`` (so tests and reports can check draws against them) and
``sample(rng, n)`` draws ``n`` values with a numpy ``Generator``. :class:`BatchSampler` serves
values one at a time from batches, for the few places that need a draw per event.
"""

from __future__ import annotations

import functools
import itertools
import math
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from sim.scenario.confine import excerpt, read_rows
from sim.scenario.units import parse_duration

__all__ = [
    "SMALL_BATCH",
    "BatchSampler",
    "Distribution",
    "Duration",
    "Empirical",
    "Exponential",
    "Fixed",
    "Gamma",
    "LogNormal",
    "Never",
    "Patience",
    "Uniform",
    "draws",
    "loader_filled",
    "numbers_only",
    "uniform_draws",
    "uniforms",
]

Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0},
                {"type": "string", "pattern": r"^\s*[0-9.eE+-]+\s*[a-zA-Z]*\s*$"},
            ],
            "description": "seconds, or a number with a unit: 20s, 3min, 1.5h, 2d",
        }
    ),
]
"""Seconds; YAML may say ``20s``, ``3min``, ``1.5h`` or ``2d``."""


def _numeric(annotation: Any) -> bool:
    """Whether a field holds a number (``float``, ``int``, optional or annotated)."""
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if len(args) == 1:
        return _numeric(args[0])
    return annotation in (float, int)


def numbers_only(model: type[BaseModel], value: Any, field_name: str | None) -> Any:
    """Reject ``true``/``false`` and ``.nan``/``.inf`` where a model wants a number (pydantic
    would read ``cv: false`` as 0); every model's before-validator of each field calls it."""
    field = model.model_fields.get(field_name or "")
    if field is None or not _numeric(field.annotation):
        return value
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {str(value).lower()}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value}")
    return value


def loader_filled(info: ValidationInfo, key: str, value: Any) -> bool:
    """Whether a scenario *file* gave ``key``, a field only the loader fills (from a data file)."""
    return bool(value) and bool((info.context or {}).get("from_file"))


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _numbers(cls, data: Any) -> Any:  # `dist` is a discriminator: no field validator on "*"
        if isinstance(data, dict):
            for name, info in cls.model_fields.items():
                key = info.alias or name
                if key in data:
                    try:
                        numbers_only(cls, data[key], name)
                    except ValueError as exc:
                        raise ValueError(f"{key}: {exc}") from None
        return data

    @property
    def mean(self) -> float:
        raise NotImplementedError

    @property
    def var(self) -> float:
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        raise NotImplementedError

    def cdf(self, x: float) -> float:
        """P(value <= x) (what a bound on a wait can reach, e.g. a delay ending within it)."""
        raise NotImplementedError


class Exponential(_Spec):
    """Memoryless: the textbook choice for handle times and patience (Erlang C / A)."""

    dist: Literal["exponential"]
    mean_: Duration = Field(alias="mean", gt=0, allow_inf_nan=False, description="mean, seconds")

    @property
    def mean(self) -> float:
        return self.mean_

    @property
    def var(self) -> float:
        return self.mean_**2

    def sample(self, rng, n):
        return rng.exponential(self.mean_, n)

    def cdf(self, x):
        return -math.expm1(-max(x, 0.0) / self.mean_)


class _MeanCv(_Spec):
    mean_: Duration = Field(alias="mean", gt=0, allow_inf_nan=False, description="mean, seconds")
    cv: float = Field(ge=0, le=20, description="coefficient of variation: std / mean")

    @property
    def mean(self) -> float:
        return self.mean_

    @property
    def var(self) -> float:
        return (self.cv * self.mean_) ** 2


class LogNormal(_MeanCv):
    """Right-skewed handle times, from mean and cv: s^2 = ln(1+cv^2), m = ln(mean) - s^2/2."""

    dist: Literal["lognormal"]

    def sample(self, rng, n):
        if self.cv == 0:
            return np.full(n, self.mean_)
        s2 = math.log1p(self.cv**2)
        return rng.lognormal(math.log(self.mean_) - s2 / 2, math.sqrt(s2), n)

    def cdf(self, x):
        if self.cv == 0 or x <= 0:
            return float(x >= self.mean_)
        s2 = math.log1p(self.cv**2)
        z = (math.log(x) - math.log(self.mean_) + s2 / 2) / math.sqrt(s2)
        return 0.5 * math.erfc(-z / math.sqrt(2))


class Gamma(_MeanCv):
    """Gamma with shape 1/cv^2 and scale mean*cv^2 (cv=1 is exponential)."""

    dist: Literal["gamma"]

    def sample(self, rng, n):
        if self.cv == 0:
            return np.full(n, self.mean_)
        shape = 1.0 / self.cv**2
        return rng.gamma(shape, self.mean_ / shape, n)

    def cdf(self, x):
        if self.cv == 0 or x <= 0:
            return float(x >= self.mean_)
        from scipy import special

        shape = 1.0 / self.cv**2
        return float(special.gammainc(shape, x * shape / self.mean_))


class Fixed(_Spec):
    """Always the same value (an IVR message, a scripted call)."""

    dist: Literal["fixed"]
    value: Duration = Field(allow_inf_nan=False, description="the value, seconds")

    @property
    def mean(self) -> float:
        return self.value

    @property
    def var(self) -> float:
        return 0.0

    def sample(self, rng, n):
        return np.full(n, self.value)

    def cdf(self, x):
        return float(x >= self.value)


class Uniform(_Spec):
    """Uniform between ``low`` and ``high``."""

    dist: Literal["uniform"]
    low: Duration = Field(allow_inf_nan=False, description="lower bound, seconds")
    high: Duration = Field(allow_inf_nan=False, description="upper bound, seconds")

    @model_validator(mode="after")
    def _ordered(self):
        if self.high < self.low:
            raise ValueError(f"high ({self.high:g}) must be >= low ({self.low:g})")
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    @property
    def var(self) -> float:
        return (self.high - self.low) ** 2 / 12

    def sample(self, rng, n):
        return rng.uniform(self.low, self.high, n)

    def cdf(self, x):
        if self.high == self.low:
            return float(x >= self.low)
        return min(max((x - self.low) / (self.high - self.low), 0.0), 1.0)


class Empirical(_Spec):
    """Observed values resampled with replacement (one column of a CSV, header optional)."""

    dist: Literal["empirical"]
    file: str = Field(description="CSV file, relative to the scenario file")
    values: SkipJsonSchema[tuple[float, ...]] = Field(
        default=(), description="filled from the file by the loader; a scenario file cannot set it"
    )

    @model_validator(mode="after")
    def _load(self, info: ValidationInfo):
        if loader_filled(info, "values", self.values):
            raise ValueError("values are read from `file`; a scenario cannot give them")
        if self.values:
            if not all(math.isfinite(v) and v >= 0 for v in self.values):
                raise ValueError("values must be finite and >= 0")
            return self
        base = Path((info.context or {}).get("base_dir", "."))
        values = _read_column(base / self.file)
        object.__setattr__(self, "values", tuple(values))
        return self

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def var(self) -> float:
        return float(np.var(self.values))

    def sample(self, rng, n):
        return rng.choice(np.asarray(self.values), n)

    def cdf(self, x):
        return float(np.mean(np.asarray(self.values) <= x))


def _read_column(path: Path) -> list[float]:
    rows = [row for row in read_rows(path, "empirical data file") if row and row[0]]
    values = []
    for i, row in enumerate(rows):
        try:
            values.append(parse_duration(row[0].strip()))
        except ValueError:
            if i == 0:
                continue  # a header line
            raise ValueError(f"{path}:{i + 1}: not a duration >= 0: {excerpt(row[0])}") from None
    if not values:
        raise ValueError(f"empirical data file {excerpt(path, 200)} holds no values")
    if any(math.isinf(v) for v in values):
        raise ValueError(f"empirical data file {excerpt(path, 200)}: values must be finite")
    return values


class Never(_Spec):
    """Infinite patience: the caller never hangs up (Erlang C)."""

    dist: Literal["never"]

    @property
    def mean(self) -> float:
        return math.inf

    @property
    def var(self) -> float:
        return math.inf

    def sample(self, rng, n):
        return np.full(n, math.inf)

    def cdf(self, x):
        return 0.0


Distribution = Annotated[
    Exponential | LogNormal | Gamma | Fixed | Uniform | Empirical, Field(discriminator="dist")
]
"""A distribution of a finite positive quantity (a handle time, a delay)."""

Patience = Annotated[
    Exponential | LogNormal | Gamma | Fixed | Uniform | Empirical | Never,
    Field(discriminator="dist"),
]
"""Time a caller is willing to wait; ``{dist: never}`` for callers who never hang up."""


SMALL_BATCH = 256
"""Draws per refill for samplers of the business flows (orders, leads, work orders): they draw
far fewer values than the calls, so a small batch wastes less time on unused draws."""


class BatchSampler:
    """Serves draws one by one from numpy batches: a Python call per value, a numpy call per batch.

    Parameters
    ----------
    spec : a distribution spec; rng : the stream it draws from; batch : values per refill.
    """

    __slots__ = ("_batch", "_buf", "_i", "_rng", "_spec")

    def __init__(self, spec: _Spec, rng: np.random.Generator, batch: int = 4096):
        self._spec, self._rng, self._batch = spec, rng, batch
        self._buf: list[float] = []
        self._i = 0

    def __call__(self) -> float:
        if self._i >= len(self._buf):
            self._buf = self._spec.sample(self._rng, self._batch).tolist()
            self._i = 0
        value = self._buf[self._i]
        self._i += 1
        return value


class _Uniforms:
    """A batch of U(0,1) draws served one at a time (for Bernoulli decisions)."""

    __slots__ = ("_batch", "_buf", "_i", "_rng")

    def __init__(self, rng: np.random.Generator, batch: int = 4096):
        self._buf: list[float] = []
        self._rng, self._batch, self._i = rng, batch, 0

    def __call__(self) -> float:
        if self._i >= len(self._buf):
            self._buf = self._rng.random(self._batch).tolist()
            self._i = 0
        value = self._buf[self._i]
        self._i += 1
        return value


def uniforms(rng: np.random.Generator, batch: int = 4096) -> _Uniforms:
    """A callable returning U(0,1) draws from ``rng``, refilled in batches."""
    return _Uniforms(rng, batch)


def draws(spec: _Spec, rng: np.random.Generator, batch: int = 4096) -> Callable[[], float]:
    """The values :class:`BatchSampler` serves (the same batches, drawn at the same moments)
    behind a C-level call: the ``__next__`` of a generator over the batches, a fifth of the
    Python work per value. For the per-item draws of the business flows."""
    return _values(functools.partial(spec.sample, rng), batch).__next__


def uniform_draws(rng: np.random.Generator, batch: int = 4096) -> Callable[[], float]:
    """The values of :func:`uniforms`, served as :func:`draws` serves its values."""
    return _values(rng.random, batch).__next__


def _values(sample: Callable[[int], np.ndarray], batch: int) -> Iterator[float]:
    """Batch after batch, each drawn when the last is used up, served value by value in C
    (``chain`` over ``map``: no Python frame per value, nor per batch)."""
    return itertools.chain.from_iterable(
        map(np.ndarray.tolist, map(sample, itertools.repeat(batch)))
    )
