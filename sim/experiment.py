"""Replications with confidence intervals, run serially or in parallel processes.

Owns running many independent replications and summarising them (mean and 95% t-interval per
KPI, per interval). Replication ``i`` always uses the streams of (seed, i), and results are
ordered by ``i``, so the numbers never depend on the number of workers or the executor.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from sim.model import RunResult, simulate
from sim.scenario import Scenario

__all__ = ["KpiSummary", "Summary", "mean_ci", "replicate", "run_replications", "table_summary"]


@dataclass(frozen=True)
class KpiSummary:
    """Mean and 95% t-interval of one KPI over replications, and its target if any."""

    mean: float | None
    ci95: tuple[float, float] | None
    n: int
    target: float | None = None
    bound: str | None = None  # "at_least" or "at_most"
    met: bool | None = None

    @property
    def half_width(self) -> float | None:
        return None if self.ci95 is None else (self.ci95[1] - self.ci95[0]) / 2

    @property
    def clear(self) -> bool | None:
        """True when the whole interval lies on one side of the target."""
        if self.target is None or self.ci95 is None:
            return None
        lo, hi = self.ci95
        return lo > self.target or hi < self.target or lo == hi

    def to_dict(self) -> dict:
        out: dict = {"mean": self.mean, "ci95": list(self.ci95) if self.ci95 else None}
        if self.target is not None:
            out.update(target=self.target, met=self.met)
        return out


def mean_ci(values: Iterable[float | None], level: float = 0.95):
    """Mean and Student-t confidence interval of the non-missing values.

    Returns (mean, (low, high), n); the interval is None with fewer than two values, and the
    mean None with none.
    """
    arr = np.array([v for v in values if v is not None and not _isnan(v)], dtype=float)
    n = len(arr)
    if n == 0:
        return None, None, 0
    mean = float(arr.mean())
    if n < 2:
        return mean, None, n
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * arr.std(ddof=1) / math.sqrt(n))
    return mean, (mean - half, mean + half), n


def _isnan(v) -> bool:
    return isinstance(v, float) and math.isnan(v)


@dataclass
class Summary:
    """Replications of one scenario: the runs (without records) and the KPI summaries."""

    scenario: Scenario
    seed: int
    runs: list[RunResult]
    kpis: dict[str, KpiSummary] = field(default_factory=dict)

    @property
    def replications(self) -> int:
        return len(self.runs)

    def to_dict(self) -> dict:
        """The spec's ``summary.json`` shape."""
        return {
            "scenario": self.scenario.name,
            "seed": self.seed,
            "replications": self.replications,
            "kpis": {name: k.to_dict() for name, k in self.kpis.items()},
        }

    def interval_summary(self) -> dict[str, np.ndarray]:
        """Per day x interval: the key columns, then mean and CI bounds of every figure."""
        return table_summary([r.intervals for r in self.runs], ("day", "weekday", "start"))

    def daily_summary(self) -> dict[str, np.ndarray] | None:
        """Per day: mean and CI bounds of the day-level business figures (None if none)."""
        tables = [r.extra["daily"] for r in self.runs if "daily" in r.extra]
        return table_summary(tables, ("day", "weekday")) if tables else None


def table_summary(tables: list[dict[str, np.ndarray]], keys: tuple[str, ...],
                  ) -> dict[str, np.ndarray]:
    """Rows shared by every table (``keys`` columns), then mean and 95% t-interval bounds of
    each other column across the tables (replications); NaN cells are left out."""
    first = tables[0]
    out = {k: first[k] for k in keys}
    n = len(tables)
    for name in first:
        if name in keys:
            continue
        data = np.vstack([t[name].astype(float) for t in tables])
        with np.errstate(invalid="ignore"), _quiet():
            mean = np.nanmean(data, axis=0)
            count = np.sum(~np.isnan(data), axis=0)
            sd = np.nanstd(data, axis=0, ddof=1) if n > 1 else np.full(len(mean), np.nan)
        tval = stats.t.ppf(0.975, np.maximum(count - 1, 1))
        half = np.where(count > 1, tval * sd / np.sqrt(np.maximum(count, 1)), np.nan)
        out[f"{name}_mean"] = mean
        out[f"{name}_ci_low"] = mean - half
        out[f"{name}_ci_high"] = mean + half
    return out


class _quiet:
    """Silence numpy's all-NaN-slice warnings (empty intervals are expected)."""

    def __enter__(self):
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        self._w.__exit__(*exc)


def summarize(scenario: Scenario, seed: int, runs: list[RunResult]) -> Summary:
    """KPI means, intervals and target verdicts over ``runs``."""
    names: list[str] = []
    for run in runs:
        names += [k for k in run.kpis if k not in names]
    kpis = {}
    for name in names:
        mean, ci, n = mean_ci(run.kpis.get(name) for run in runs)
        target = scenario.targets.get(name)
        if target is None or mean is None:
            kpis[name] = KpiSummary(mean, ci, n)
            continue
        bound = "at_least" if target.at_least is not None else "at_most"
        value = target.at_least if target.at_least is not None else target.at_most
        met = mean >= value if bound == "at_least" else mean <= value
        kpis[name] = KpiSummary(mean, ci, n, value, bound, bool(met))
    for name, target in scenario.targets.items():  # a target with nothing behind it
        if name not in kpis:
            value = target.at_least if target.at_least is not None else target.at_most
            kpis[name] = KpiSummary(None, None, 0, value, None, None)
    return Summary(scenario, seed, runs, kpis)


def _one(args: tuple[Scenario, int, int]) -> RunResult:
    scenario, seed, rep = args
    return simulate(scenario, seed=seed, replication=rep, keep_records=False)


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def run_replications(scenario: Scenario, seed: int, reps: Iterable[int], workers: int = 1,
                     ) -> Iterator[RunResult]:
    """Yield the runs of replications ``reps`` in order, computed by ``workers`` processes."""
    jobs = [(scenario, seed, rep) for rep in reps]
    if workers <= 1 or len(jobs) <= 1:
        yield from map(_one, jobs)
        return
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
        yield from pool.map(_one, jobs)


def replicate(scenario: Scenario, replications: int | None = None, seed: int | None = None,
              workers: int | None = None,
              progress: Callable[[int, int], None] | None = None) -> Summary:
    """Run ``replications`` independent replications and summarise them.

    Parameters
    ----------
    replications : default ``scenario.replications``.
    seed : root seed, default ``scenario.seed``; replication i uses streams (seed, i).
    workers : processes; default all cores; 1 runs in this process. Results are identical.
    progress : called as ``progress(done, total)`` after each replication.
    """
    n = scenario.replications if replications is None else int(replications)
    seed = scenario.seed if seed is None else int(seed)
    workers = default_workers() if workers is None else int(workers)
    runs = []
    for run in run_replications(scenario, seed, range(n), workers):
        runs.append(run)
        if progress is not None:
            progress(len(runs), n)
    return summarize(scenario, seed, runs)
