"""The rows and cases of the validation dossier: an exact value against a simulated mean.

Shared by the dossier (:mod:`sim.quality.validation`) and the cases that live in modules of
their own (:mod:`sim.quality.bilingual`), so neither imports the other's internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.experiments.replication import mean_ci

__all__ = ["Case", "Row", "row"]


@dataclass
class Row:
    """One exact value against its simulated mean and 95% interval."""

    case: str
    measure: str
    exact: float
    mean: float | None
    ci: tuple[float, float] | None

    @property
    def inside(self) -> bool | None:
        if self.ci is None:
            return None
        return self.ci[0] <= self.exact <= self.ci[1]


@dataclass
class Case:
    """A validation case: what is compared, the formula and its source, and the rows."""

    title: str
    source: str
    rows: list[Row] = field(default_factory=list)
    note: str = ""
    skipped: str | None = None
    counted: bool = True  # False: published figures, kept out of the overall tally


def row(case: str, measure: str, exact: float, values) -> Row:
    """The row of ``measure``: ``exact`` against the mean of ``values`` and its 95% interval."""
    mean, ci, _ = mean_ci(values)
    return Row(case, measure, float(exact), mean, ci)
