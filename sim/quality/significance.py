"""Statistical tests of one KPI between a baseline and a re-run: exact for constants, Welch's t
on values, Fisher's exact test on how often the KPI is empty, Holm's correction over a family.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

__all__ = ["Comparison", "compare_exact", "compare_samples", "holm"]


@dataclass
class Comparison:
    """One KPI of one scenario: baseline vs current, its test and verdict.

    ``tests`` holds the raw p-values of this KPI's tests (values, and None counts when they
    differ); ``p_value`` is the smallest Holm-adjusted one, filled in by :func:`check`.
    """

    kpi: str
    baseline: float | None
    current: float | None
    verdict: str  # ok, changed, same, no data, new, missing, untested, identical, differs
    tests: list[float] = field(default_factory=list)
    p_value: float | None = None
    failed: bool = False

    @property
    def difference(self) -> float | None:
        if self.baseline is None or self.current is None:
            return None
        return self.current - self.baseline


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def compare_samples(
    kpi: str, base: list[float | None] | None, current: list[float | None] | None
) -> Comparison:
    """Test one KPI: exact for constants, Welch's t on values, Fisher on None counts.

    The verdict of a tested KPI is provisional ("ok") until :func:`check` applies Holm's
    correction over the whole family.
    """
    if base is None:
        return Comparison(kpi, None, _mean([v for v in current or [] if v is not None]), "new")
    if current is None:
        return Comparison(
            kpi, _mean([v for v in base if v is not None]), None, "missing", failed=True
        )
    b = [v for v in base if v is not None]
    c = [v for v in current if v is not None]
    out = Comparison(kpi, _mean(b), _mean(c), "ok")
    if len(b) != len(c) or len(base) != len(current):  # how often the KPI is empty changed
        table = [[len(b), len(base) - len(b)], [len(c), len(current) - len(c)]]
        out.tests.append(float(stats.fisher_exact(table)[1]))
    if not b and not c:
        out.verdict = "no data"
    elif not b or not c:
        if not out.tests:
            out.verdict = "untested"
    elif min(b) == max(b) and min(c) == max(c):
        if b[0] == c[0]:
            out.verdict = "same"
        else:
            out.verdict, out.failed = "changed", True
    elif len(b) >= 2 and len(c) >= 2:
        p = float(stats.ttest_ind(b, c, equal_var=False).pvalue)
        out.tests.append(1.0 if math.isnan(p) else p)
    elif not out.tests:
        out.verdict = "untested"
    return out


def holm(pvalues: list[float]) -> list[float]:
    """Holm-adjusted p-values (step-down; controls the family-wise error rate at any level).

    ``p_adj(i) = max_{j <= i} min(1, (m - j + 1) p_(j))`` over the sorted p-values; a hypothesis
    is rejected at level alpha iff its adjusted p-value is <= alpha (Holm 1979, Scand. J. Stat.).
    """
    m = len(pvalues)
    order = np.argsort(pvalues, kind="stable")
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def compare_exact(
    kpi: str, base: list[float | None] | None, current: list[float | None] | None
) -> Comparison:
    """Bit-for-bit: every replication's value equal (None where None)."""
    if base is None or current is None:
        return compare_samples(kpi, base, current)
    b = [v for v in base if v is not None]
    c = [v for v in current if v is not None]
    same = base == current
    return Comparison(kpi, _mean(b), _mean(c), "identical" if same else "differs", failed=not same)
