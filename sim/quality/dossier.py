"""The rows and cases of the validation dossier: an exact value against a simulated mean.

Shared by the dossier (:mod:`sim.quality.validation`) and the cases that live in modules of
their own (:mod:`sim.quality.bilingual`), so neither imports the other's internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.experiments.replication import mean_ci

__all__ = ["Case", "Row", "published_rows", "replication_figures", "row"]


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


def published_rows(
    label: str, published: dict[str, tuple[float, float, float]], figures: dict[str, list]
) -> list[Row]:
    """A row per published ``(mean, 95% CI low, high)``: the published mean against the
    simulated ``figures`` of the same measure, the published interval in the measure's name."""
    return [
        row(label, f"{measure} (published 95% CI {lo:g} .. {hi:g})", mean, figures[measure])
        for measure, (mean, lo, hi) in published.items()
    ]


def replication_figures(scenario, replications: int, figures_of) -> dict[str, list[float]]:
    """``figures_of(result)`` of each of ``replications`` independent replications of
    ``scenario`` (serially: the published models take hundredths of a second each), by name."""
    from sim.model.simulation import simulate

    out: dict[str, list[float]] = {}
    for r in range(replications):
        for key, value in figures_of(simulate(scenario, replication=r)).items():
            out.setdefault(key, []).append(value)
    return out
