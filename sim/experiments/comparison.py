"""Paired comparison of scenarios under common random numbers.

Owns running several scenarios with the same seed and replication indices, the differences to
the first one with 95% t-intervals and significance, and the variance reduction the pairing buys.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sim.experiments.checkpoint import RunStore
from sim.experiments.executors import Executor, Job, executor_scope, run_all
from sim.experiments.replication import Summary, kpi_names, mean_ci, summarize
from sim.model.simulation import RunResult
from sim.scenario.schema import Scenario

__all__ = ["Comparison", "Difference", "compare", "paired_differences", "scenario_labels"]


@dataclass(frozen=True)
class Difference:
    """Alternative minus baseline for one KPI over paired replications (same seed and index).

    ``variance_reduction`` is (s²_A + s²_B) / s²_(B−A): the variance the difference would have
    with independent seeds (then Var(B − A) = Var A + Var B) over its variance with common
    random numbers; how many times more replications independent seeds would need for an
    interval as narrow. Infinite when the paired difference does not vary at all.
    """

    kpi: str
    mean: float | None
    ci95: tuple[float, float] | None
    n: int
    baseline_mean: float | None
    alternative_mean: float | None
    variance_reduction: float | None

    @property
    def significant(self) -> bool | None:
        """The 95% interval of the difference excludes 0."""
        if self.ci95 is None:
            return None
        return bool(self.ci95[0] > 0 or self.ci95[1] < 0)

    def to_dict(self) -> dict:
        return {
            "mean": self.mean,
            "ci95": list(self.ci95) if self.ci95 else None,
            "n": self.n,
            "significant": self.significant,
            "baseline_mean": self.baseline_mean,
            "alternative_mean": self.alternative_mean,
            "variance_reduction": self.variance_reduction,
        }


def paired_differences(
    baseline: list[RunResult],
    alternative: list[RunResult],
) -> dict[str, Difference]:
    """Per KPI: mean and 95% t-interval of alternative − baseline over paired replications.

    Replication i of one list is paired with replication i of the other; pairs where either
    figure is missing are left out.
    """
    names = kpi_names((*baseline, *alternative))
    out = {}
    for name in names:
        pairs = [
            (a.kpis.get(name), b.kpis.get(name)) for a, b in zip(baseline, alternative, strict=True)
        ]
        pairs = [
            (a, b)
            for a, b in pairs
            if a is not None and b is not None and not (math.isnan(a) or math.isnan(b))
        ]
        a = np.array([p[0] for p in pairs], dtype=float)
        b = np.array([p[1] for p in pairs], dtype=float)
        mean, ci, n = mean_ci((b - a).tolist())
        reduction = None
        if n >= 2:
            var_d = float(np.var(b - a, ddof=1))
            var_ind = float(np.var(a, ddof=1) + np.var(b, ddof=1))
            reduction = var_ind / var_d if var_d > 0 else (math.inf if var_ind > 0 else None)
        out[name] = Difference(
            name,
            mean,
            ci,
            n,
            float(a.mean()) if n else None,
            float(b.mean()) if n else None,
            reduction,
        )
    return out


@dataclass
class Comparison:
    """Scenarios run with the same seed and replication indices, and each one minus the first."""

    labels: list[str]
    summaries: list[Summary]
    seed: int
    replications: int
    differences: dict[str, dict[str, Difference]]  # alternative label -> KPI -> difference

    def to_dict(self) -> dict:
        """``comparison.json``: scenarios, the pairs (each alternative minus the baseline) and
        every scenario's summary.json."""
        base = self.labels[0]
        return {
            "scenarios": self.labels,
            "seed": self.seed,
            "replications": self.replications,
            "pairs": [
                {
                    "baseline": base,
                    "alternative": label,
                    "differences": {k: d.to_dict() for k, d in diffs.items()},
                }
                for label, diffs in self.differences.items()
            ],
            "summaries": {
                label: s.to_dict() for label, s in zip(self.labels, self.summaries, strict=True)
            },
        }

    def files(self) -> dict[str, object]:
        """The comparison's folder as plain data (see :meth:`Summary.files`):
        ``comparison.json``, ``comparison.csv`` (one row per alternative and KPI) and a
        subfolder per scenario with its run folder."""
        columns = (
            "baseline",
            "alternative",
            "kpi",
            "baseline_mean",
            "alternative_mean",
            "difference",
            "ci_low",
            "ci_high",
            "significant",
            "n",
            "variance_reduction",
        )
        rows: dict[str, list] = {k: [] for k in columns}
        for label, diffs in self.differences.items():
            for name, d in diffs.items():
                values = (
                    self.labels[0],
                    label,
                    name,
                    d.baseline_mean,
                    d.alternative_mean,
                    d.mean,
                    d.ci95[0] if d.ci95 else None,
                    d.ci95[1] if d.ci95 else None,
                    d.significant,
                    d.n,
                    d.variance_reduction,
                )
                for key, value in zip(columns, values, strict=True):
                    rows[key].append(value)
        files: dict[str, object] = {"comparison.json": self.to_dict(), "comparison.csv": rows}
        for label, summary in zip(self.labels, self.summaries, strict=True):
            files[f"{label}/"] = summary.files()
        return files


def scenario_labels(scenarios: list[Scenario]) -> list[str]:
    """Scenario names, made unique with a suffix (-2, -3) when two share a name."""
    labels: list[str] = []
    for sc in scenarios:
        label, k = sc.name, 2
        while label in labels:
            label, k = f"{sc.name}-{k}", k + 1
        labels.append(label)
    return labels


def compare(
    scenarios: list[Scenario],
    replications: int | None = None,
    seed: int | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    *,
    executor: str | Executor | None = None,
    address: str | None = None,
    stores: list[RunStore] | None = None,
) -> Comparison:
    """Run every scenario with the same seed and replications; differences to the first one.

    Replication i of every scenario uses streams (seed, i): the same callers, patience and
    handle-time draws wherever the scenarios agree (common random numbers), so differences are
    measured far more precisely than with independent seeds.

    Parameters
    ----------
    scenarios : two or more; the first is the baseline.
    replications, seed : default the baseline's.
    stores : one per scenario, finished replications kept on disk: those stored are loaded,
        not run again, and each new one is saved as it finishes (a killed compare resumes).
    """
    if len(scenarios) < 2:
        raise ValueError("compare needs at least two scenarios")
    n = scenarios[0].replications if replications is None else int(replications)
    seed = scenarios[0].seed if seed is None else int(seed)
    got: dict[tuple[int, int], RunResult] = {}
    for s, store in enumerate(stores or []):
        got |= {(s, rep): run for rep, run in store.load().items() if rep < n}
    jobs = [
        Job((s, rep), sc, seed, rep)
        for s, sc in enumerate(scenarios)
        for rep in range(n)
        if (s, rep) not in got
    ]

    def save(key: tuple[int, int], run: RunResult) -> None:
        if stores:
            stores[key[0]].save(run)

    with executor_scope(executor, workers, address) as ex:
        got |= run_all(ex, jobs, progress, len(got), n * len(scenarios), on_result=save)
    runs = [[got[(s, rep)] for rep in range(n)] for s in range(len(scenarios))]
    labels = scenario_labels(scenarios)
    summaries = [summarize(sc, seed, r) for sc, r in zip(scenarios, runs, strict=True)]
    diffs = {labels[s]: paired_differences(runs[0], runs[s]) for s in range(1, len(scenarios))}
    return Comparison(labels, summaries, seed, n, diffs)
