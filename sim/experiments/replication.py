"""Replications with confidence intervals and sequential stopping.

Owns running many independent replications and summarising them (mean and 95% t-interval per
KPI, per interval), and stopping rules. Where runs execute is :mod:`sim.experiments.executors`;
paired
comparison is :mod:`sim.experiments.comparison`; parameter sweeps are :mod:`sim.experiments.sweep`.
Replication ``i`` always uses the streams of (seed, i), and results are ordered by ``i``, so
the numbers never depend on the number of workers or the executor.
"""

from __future__ import annotations

import difflib
import math
import re
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import cast

import numpy as np
from scipy import stats

from sim.experiments.checkpoint import RunStore, run_kept
from sim.experiments.executors import (
    Executor,
    Failure,
    Job,
    ReplicationError,
    default_workers,
    executor_scope,
    run_all,
)
from sim.model.simulation import RunResult
from sim.report.numbers import units_table
from sim.scenario.kpis import value_range
from sim.scenario.resolved import scenario_to_yaml
from sim.scenario.schema import Scenario, Target

__all__ = [
    "MAX_REPLICATIONS",
    "Criterion",
    "KpiSummary",
    "StoppingRule",
    "StoppingRuleError",
    "Summary",
    "default_workers",
    "kpi_mean_ci",
    "kpi_names",
    "mean_ci",
    "replicate",
    "run_replications",
    "summarize",
    "table_summary",
]


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


def kpi_mean_ci(name: str, values: Iterable[float | None]):
    """:func:`mean_ci` of KPI ``name``, the interval kept where the figure can lie ([0, 1] for
    shares, counts and times not below 0), as every file and table shows it."""
    mean, ci, n = mean_ci(values)
    if ci is not None:
        lowest, highest = value_range(name)
        ci = (max(ci[0], lowest), min(ci[1], highest))
    return mean, ci, n


def _isnan(v) -> bool:
    return isinstance(v, float) and math.isnan(v)


@dataclass
class Summary:
    """Replications of one scenario: the runs (without records) and the KPI summaries."""

    scenario: Scenario
    seed: int
    runs: list[RunResult]
    kpis: dict[str, KpiSummary] = field(default_factory=dict)
    stopping: dict | None = None  # how a stopping rule ended, when one was given
    failures: list[Failure] = field(default_factory=list)  # replications that raised

    @property
    def replications(self) -> int:
        return len(self.runs)

    def to_dict(self) -> dict:
        """The spec's ``summary.json`` shape."""
        out = {
            "scenario": self.scenario.name,
            "seed": self.seed,
            "replications": self.replications,
            "kpis": {name: k.to_dict() for name, k in self.kpis.items()},
            "attainment": self.attainment(),
            "attainment_days": self.day_attainment(),
        }
        if self.scenario.currency:
            out["currency"] = self.scenario.currency
        if self.stopping is not None:
            out["stopping"] = self.stopping
        if self.failures:
            out["failures"] = [f.to_dict() for f in self.failures]
        return out

    def attainment(self) -> dict:
        """Targets interval by interval (see :mod:`sim.kpi.attainment`)."""
        from sim.kpi.attainment import attainment

        return attainment(
            self.interval_summary(), self.scenario.targets, interval=self.scenario.interval
        )

    def day_attainment(self) -> dict:
        """Targets day by day, for those measured per day (see :mod:`sim.kpi.attainment`)."""
        from sim.kpi.attainment import day_attainment

        return day_attainment(self.daily_summary(), self.scenario.targets)

    def files(self) -> dict[str, object]:
        """The spec's results folder as plain data (file name -> content), for
        :func:`sim.report.files.write_folder`: the resolved scenario, ``summary.json``,
        ``replications.csv``, ``intervals.csv`` and, with business flows, ``daily.csv``."""
        names = kpi_names(self.runs)
        rows: dict[str, list] = {
            "replication": [r.replication for r in self.runs],
            "seed": [r.seed for r in self.runs],
        }
        rows.update({name: [r.kpis.get(name) for r in self.runs] for name in names})
        files: dict[str, object] = {
            "scenario.yaml": scenario_to_yaml(self.scenario),
            "summary.json": self.to_dict(),
            "replications.csv": rows,
            "intervals.csv": self.interval_summary(),
        }
        daily = self.daily_summary()
        if daily is not None:
            files["daily.csv"] = daily
        per_row = {"replications.csv": False, "intervals.csv": True, "daily.csv": True}
        files["columns.csv"] = units_table(  # the CSV headers' units, a data dictionary
            {n: (list(cast(dict, files[n])), per_row[n]) for n in per_row if n in files},
            self.scenario.currency,
        )
        return files

    def interval_summary(self) -> dict[str, np.ndarray]:
        """Per day x interval: the key columns, then mean and CI bounds of every figure."""
        return table_summary([r.intervals for r in self.runs], ("day", "weekday", "start"))

    def daily_summary(self) -> dict[str, np.ndarray] | None:
        """Per day: mean and CI bounds of the day-level business figures (None if none)."""
        tables = [r.extra["daily"] for r in self.runs if "daily" in r.extra]
        return table_summary(tables, ("day", "weekday")) if tables else None


def kpi_names(runs: Iterable[RunResult]) -> list[str]:
    """Every KPI any of ``runs`` reported, in order of first appearance (runs may differ: a
    figure with nothing behind it in one replication can be missing there)."""
    return list(dict.fromkeys(name for run in runs for name in run.kpis))


def table_summary(
    tables: list[dict[str, np.ndarray]],
    keys: tuple[str, ...],
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
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # empty intervals are expected
            mean = np.nanmean(data, axis=0)
            count = np.sum(~np.isnan(data), axis=0)
            sd = np.nanstd(data, axis=0, ddof=1) if n > 1 else np.full(len(mean), np.nan)
        tval = stats.t.ppf(0.975, np.maximum(count - 1, 1))
        half = np.where(count > 1, tval * sd / np.sqrt(np.maximum(count, 1)), np.nan)
        # an interval stays where the figure can lie (no negative counts), as for the KPIs
        low, high = np.clip([mean - half, mean + half], *value_range(name))
        out[f"{name}_mean"] = mean
        out[f"{name}_ci_low"] = low
        out[f"{name}_ci_high"] = high
    return out


def _judged(k: KpiSummary, target: Target | None) -> KpiSummary:
    """``k`` with its target and verdict (``met`` None: no data behind the KPI)."""
    if target is None:
        return k
    return replace(k, target=target.value, bound=target.bound, met=target.met(k.mean))


def summarize(scenario: Scenario, seed: int, runs: list[RunResult]) -> Summary:
    """KPI means, intervals and target verdicts over ``runs``."""
    names = kpi_names(runs)
    kpis = {}
    for name in names:
        mean, ci, n = kpi_mean_ci(name, (run.kpis.get(name) for run in runs))
        kpis[name] = _judged(KpiSummary(mean, ci, n), scenario.targets.get(name))
    for name, target in scenario.targets.items():  # a target the runs report nothing for
        if name not in kpis:
            kpis[name] = _judged(KpiSummary(None, None, 0), target)
    return Summary(scenario, seed, runs, kpis)


# --- running replications ----------------------------------------------------------------------


def run_replications(
    scenario: Scenario,
    seed: int,
    reps: Iterable[int],
    workers: int = 1,
    executor: str | Executor | None = None,
    address: str | None = None,
) -> Iterator[RunResult]:
    """Yield the runs of replications ``reps`` in order of ``reps``.

    They are computed by ``executor`` (default: ``workers`` processes); the numbers are the same
    for any executor and worker count.
    """
    with executor_scope(executor, workers, address) as ex:
        runs = run_kept(ex, scenario, seed, reps, None)
    yield from runs


# --- sequential stopping -----------------------------------------------------------------------


class StoppingRuleError(ValueError):
    """A stopping rule that cannot be read or names a KPI no run reports (bad input)."""


_CRITERION = re.compile(
    r"^\s*(?P<kpi>\S+)\s+(?P<measure>half-width|rel-half-width)\s*(?P<op><=|<)\s*"
    r"(?P<value>[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)(?P<pct>%?)\s*$"
)


@dataclass(frozen=True)
class Criterion:
    """``KPI half-width < value`` (absolute) or ``KPI rel-half-width < value`` (of |mean|)."""

    kpi: str
    measure: str
    below: float

    def width(self, runs: list[RunResult]) -> float | None:
        """The current half-width (absolute or relative) of the KPI's 95% interval, or None."""
        mean, ci, _ = mean_ci(run.kpis.get(self.kpi) for run in runs)
        if ci is None:
            return None
        half = (ci[1] - ci[0]) / 2
        if self.measure == "half-width":
            return half
        return None if mean == 0 else half / abs(mean)

    def met(self, runs: list[RunResult]) -> bool:
        width = self.width(runs)
        return width is not None and width < self.below

    def __str__(self) -> str:
        return f"{self.kpi} {self.measure} < {self.below:g}"


@dataclass(frozen=True)
class StoppingRule:
    """Stop replicating when every criterion holds (``... and ...``), or at the maximum."""

    criteria: tuple[Criterion, ...]

    @classmethod
    def parse(cls, text: str) -> StoppingRule:
        """Read ``"service_level half-width < 0.005 and asa rel-half-width < 5%"``.

        Raises StoppingRuleError naming the part that cannot be read.
        """
        criteria = []
        for part in re.split(r"\s+and\s+", text.strip()):
            m = _CRITERION.match(part)
            if not m:
                raise StoppingRuleError(
                    f"cannot read the stopping rule {part.strip()!r}: expected 'KPI half-width "
                    "< NUMBER' or 'KPI rel-half-width < NUMBER' (e.g. 'service_level "
                    "half-width < 0.005'), several joined by 'and'"
                )
            value = float(m["value"]) / (100 if m["pct"] else 1)
            if value <= 0:
                raise StoppingRuleError(f"the stopping rule {part.strip()!r} needs a bound above 0")
            criteria.append(Criterion(m["kpi"], m["measure"], value))
        return cls(tuple(criteria))

    def met(self, runs: list[RunResult]) -> bool:
        return all(c.met(runs) for c in self.criteria)

    def check_names(self, runs: list[RunResult]) -> None:
        """Raise StoppingRuleError for a KPI that no run reports (a typo in the rule)."""
        known: list[str] = []
        for run in runs:
            known += [k for k in run.kpis if k not in known]
        for c in self.criteria:
            if c.kpi not in known:
                close = difflib.get_close_matches(c.kpi, known, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise StoppingRuleError(
                    f"the stopping rule names KPI '{c.kpi}', which the runs do not report"
                    f"{hint}; known: {', '.join(known)}"
                )

    def __str__(self) -> str:
        return " and ".join(str(c) for c in self.criteria)


MIN_REPLICATIONS = 5
"""Fewest replications a stopping rule may stop at: a t-interval from 2 or 3 runs is too
unstable to trust a small half-width (it can be small by luck)."""

MAX_REPLICATIONS = 200
"""Default maximum when replicating until a stopping rule holds."""


def _replicate_until(
    ex: Executor,
    scenario: Scenario,
    seed: int,
    rule: StoppingRule,
    n_max: int,
    n_min: int,
    progress,
) -> tuple[list[RunResult], dict]:
    """Replications 0, 1, ... in batches of the worker count until ``rule`` holds.

    The answer is the smallest n >= n_min for which runs 0..n-1 meet the rule, checked in index
    order, so it does not depend on the batch size (the worker count): runs computed beyond n
    in the last batch are dropped.
    """
    runs: dict[int, RunResult] = {}
    n_min = min(n_max, max(2, n_min))
    needed, checked = None, n_min - 1
    while needed is None and len(runs) < n_max:
        start = len(runs)
        size = min(max(ex.workers, n_min - start), n_max - start)
        jobs = [Job(rep, scenario, seed, rep) for rep in range(start, start + size)]
        runs.update(run_all(ex, jobs, progress, start, n_max))
        ordered = [runs[i] for i in range(len(runs))]
        if start == 0:
            rule.check_names(ordered)
        for n in range(checked + 1, len(ordered) + 1):
            if rule.met(ordered[:n]):
                needed = n
                break
        checked = len(ordered)
    kept = [runs[i] for i in range(needed if needed is not None else len(runs))]
    info = {
        "rule": str(rule),
        "reached": needed is not None,
        "replications": len(kept),
        "max_replications": n_max,
        "computed": len(runs),
        "widths": {f"{c.kpi} {c.measure}": c.width(kept) for c in rule.criteria},
    }
    return kept, info


def replicate(
    scenario: Scenario,
    replications: int | None = None,
    seed: int | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    *,
    until: str | StoppingRule | None = None,
    executor: str | Executor | None = None,
    address: str | None = None,
    min_replications: int = MIN_REPLICATIONS,
    store: RunStore | None = None,
) -> Summary:
    """Run independent replications and summarise them.

    Parameters
    ----------
    replications : how many; with ``until`` the maximum (default ``MAX_REPLICATIONS`` then,
        else ``scenario.replications``).
    seed : root seed, default ``scenario.seed``; replication i uses streams (seed, i).
    workers : processes or local Dask workers; default all cores. Results are identical.
    progress : called as ``progress(done, total)`` after each replication.
    until : a stopping rule (``"service_level half-width < 0.005"``): replicate in batches of
        the worker count until it holds; ``Summary.stopping`` says how many were needed.
    executor : ``"serial"``, ``"processes"`` (default) or ``"dask"``, or an :class:`Executor`.
    address : the Dask scheduler (``tcp://host:port``); none starts a local cluster.
    store : finished replications kept on disk (without ``until``): those stored are loaded,
        not run again, and each new one is saved as it finishes.

    Replications that raise are left out of the summary and listed in ``Summary.failures``
    (with a stopping rule, or when every one fails, :class:`ReplicationError` is raised).
    """
    seed = scenario.seed if seed is None else int(seed)
    rule = StoppingRule.parse(until) if isinstance(until, str) else until
    with executor_scope(executor, workers, address) as ex:
        if rule is None:
            n = scenario.replications if replications is None else int(replications)
            failures = []
            try:
                got = dict(enumerate(run_kept(ex, scenario, seed, range(n), store, progress)))
            except ReplicationError as exc:  # summarise the others, report the failed ones
                got, failures = exc.results, exc.failures
            if not got:
                raise ReplicationError(failures)
            summary = summarize(scenario, seed, [got[rep] for rep in sorted(got)])
            summary.failures = failures
            return summary
        n_max = MAX_REPLICATIONS if replications is None else int(replications)
        runs, info = _replicate_until(ex, scenario, seed, rule, n_max, min_replications, progress)
    summary = summarize(scenario, seed, runs)
    summary.stopping = info
    return summary
