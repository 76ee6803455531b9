"""Regression check of model outputs: saved per-replication KPIs of each bundled scenario, re-run.

Owns the baseline files (``results/baselines/<scenario stem>.json``), the statistical test of a
re-run against them and the exact (bit-for-bit) mode. It does not print; ``sim regress`` does.

Choices a maintainer may question:

- The statistical check re-runs with a *different* root seed (baseline seed + 1 unless told
  otherwise), so it tests the model, not the random numbers: an unchanged model passes with
  probability >= 99% and, the seed being fixed, then passes every time (no flaky CI). Each change
  to the model that shifts the random numbers gives it one new chance (< 1%) of a false alarm.
- Each KPI is tested with Welch's t-test (scipy ``ttest_ind(equal_var=False)``), and a change in
  how often a KPI is empty (None) with Fisher's exact test; all p-values of all scenarios form one
  family corrected by Holm's step-down method, so the family-wise false-alarm rate is <= ALPHA.
  A KPI constant in both samples (e.g. ``abandon_rate`` 0 without abandonment) is compared
  exactly, outside the family.
- To keep CI fast a baseline runs REPLICATIONS replications and at most MAX_DAYS days (the
  override is stored in the baseline and reused by ``--update``; edit ``settings`` in a baseline
  file to change them for one scenario).
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sim.quality.significance import Comparison, compare_exact, compare_samples, holm
from sim.scenario.errors import ScenarioError
from sim.scenario.loading import load_scenario, scenario_from_dict
from sim.scenario.resolved import scenario_to_dict
from sim.scenario.schema import Scenario
from sim.scenario.units import DAY

__all__ = [
    "ALPHA",
    "BASELINE_DIR",
    "MAX_DAYS",
    "REPLICATIONS",
    "SCENARIO_DIR",
    "Baseline",
    "RegressError",
    "ScenarioCheck",
    "Update",
    "check",
    "iter_moved",
    "library_versions",
    "make_baseline",
    "regress_table",
    "run_kpis",
    "scenario_hash",
    "update",
]

BASELINE_DIR = Path("results/baselines")
SCENARIO_DIR = Path("scenarios")
REPLICATIONS = 10
"""Replications per baseline and per check: enough for Welch's t-test on means of thousands of
calls, cheap enough for CI (all bundled scenarios in well under 3 minutes on 2 cores)."""
MAX_DAYS = 21
"""Longest simulated horizon in a regression run; longer scenarios are cut (warm-up kept)."""
ALPHA = 0.01
"""Family-wise false-alarm rate of the statistical check (Holm over all KPIs and scenarios)."""
FORMAT = 1

Progress = Callable[[int, str], AbstractContextManager[Callable[[int, int], None]]]
"""``progress(total, label)`` -> a context yielding ``advance(done, total)``."""


class RegressError(ValueError):
    """Bad input to the regression check: a missing or unreadable baseline or scenario."""


def library_versions() -> dict[str, str]:
    """Versions of what decides the numbers: Python, numpy, scipy and simpy (read from the
    installed distributions, so that asking does not import the engine)."""
    from importlib.metadata import version

    return {
        "python": platform.python_version(),
        "numpy": version("numpy"),
        "scipy": version("scipy"),
        "simpy": version("simpy"),
    }


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 of the scenario as canonical JSON minus keys at their default (new keys keep it)."""
    text = json.dumps(scenario_to_dict(scenario, True), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _settings_for(scenario: Scenario, stored: dict | None) -> dict:
    """Replications and horizon override: the stored ones, else the defaults for CI."""
    if stored is not None:
        return {"replications": int(stored["replications"]), "horizon": stored.get("horizon")}
    horizon = None
    if scenario.horizon.days > MAX_DAYS:
        warmup = min(scenario.warmup, DAY)  # keep a warm-up, shorter than the cut horizon
        horizon = {"days": MAX_DAYS, "warmup": warmup}
    return {"replications": REPLICATIONS, "horizon": horizon}


def _as_run(scenario: Scenario, settings: dict, base_dir: Path) -> Scenario:
    """The scenario as the regression runs it (horizon override applied)."""
    if not settings.get("horizon"):
        return scenario
    data = scenario_to_dict(scenario)
    data["horizon"] = {**data["horizon"], **settings["horizon"]}
    return scenario_from_dict(data, base_dir=base_dir, source="<regression horizon>")


@dataclass
class Baseline:
    """Per-replication KPIs of one scenario with everything needed to re-run and compare."""

    scenario_file: str
    scenario_name: str
    scenario_sha256: str
    seed: int
    replications: list[int]
    settings: dict
    versions: dict[str, str]
    kpis: dict[str, list[float | None]]

    def to_json(self) -> str:
        """JSON with one line per KPI (readable diffs); floats at full precision."""
        head = {
            "format": FORMAT,
            "scenario_file": self.scenario_file,
            "scenario_name": self.scenario_name,
            "scenario_sha256": self.scenario_sha256,
            "seed": self.seed,
            "replications": self.replications,
            "settings": self.settings,
            "versions": self.versions,
        }
        lines = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in head.items()]
        kpis = [f"    {json.dumps(k)}: {json.dumps(v)}" for k, v in self.kpis.items()]
        return "{\n" + ",\n".join([*lines, '  "kpis": {\n' + ",\n".join(kpis) + "\n  }"]) + "\n}\n"

    @classmethod
    def read(cls, path: Path) -> Baseline:
        """Read a baseline file; RegressError naming the file and the problem."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise RegressError(f"{path}: cannot read baseline: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise RegressError(f"{path}: not valid JSON: {exc}; run sim regress --update") from None
        need = (
            "scenario_file",
            "scenario_name",
            "scenario_sha256",
            "seed",
            "replications",
            "settings",
            "versions",
            "kpis",
        )
        missing = [k for k in need if not isinstance(data, dict) or k not in data]
        if missing or data.get("format") != FORMAT:
            what = f"missing {', '.join(missing)}" if missing else f"format {data.get('format')}"
            raise RegressError(
                f"{path}: not a baseline of format {FORMAT} ({what}); run sim regress --update"
            )
        kpis = data["kpis"]
        n = len(data["replications"])
        bad = [
            k
            for k, v in kpis.items()
            if not isinstance(v, list)
            or len(v) != n
            or any(x is not None and not isinstance(x, int | float) for x in v)
        ]
        if bad or not isinstance(data["settings"], dict) or "replications" not in data["settings"]:
            raise RegressError(
                f"{path}: damaged baseline (KPI lists {', '.join(bad) or 'ok'}, "
                f"settings); run sim regress --update"
            )
        return cls(**{k: data[k] for k in need})


def _values(v) -> float | None:
    if v is None:
        return None
    v = float(v)
    return None if math.isnan(v) else v


def run_kpis(
    scenario: Scenario,
    seed: int,
    reps: list[int],
    workers: int = 1,
    bar: AbstractContextManager | None = None,
) -> dict[str, list[float | None]]:
    """KPIs of replications ``reps`` by name, one value per replication (None where missing)."""
    from sim.experiments.replication import kpi_names, run_replications

    bar = bar or nullcontext(lambda done, total: None)
    runs = []
    with bar as advance:
        for run in run_replications(scenario, seed, reps, workers):
            runs.append(run)
            advance(len(runs), len(reps))
    return {k: [_values(run.kpis.get(k)) for run in runs] for k in kpi_names(runs)}


def _bar(progress: Progress | None, total: int, label: str) -> AbstractContextManager:
    return progress(total, label) if progress else nullcontext(lambda done, total: None)


def make_baseline(
    scenario_path: Path,
    previous: Baseline | None = None,
    workers: int = 1,
    progress: Progress | None = None,
) -> Baseline:
    """Run a scenario's baseline: its own seed, replications 0..n-1, the stored settings."""
    scenario = _load(scenario_path)
    settings = _settings_for(scenario, previous.settings if previous else None)
    run = _as_run(scenario, settings, scenario_path.parent)
    reps = list(range(settings["replications"]))
    kpis = run_kpis(
        run, run.seed, reps, workers, _bar(progress, len(reps), f"{run.name}: baseline")
    )
    return Baseline(
        scenario_path.as_posix(),
        run.name,
        scenario_hash(run),
        run.seed,
        reps,
        settings,
        library_versions(),
        kpis,
    )


def _load(path: Path) -> Scenario:
    try:
        return load_scenario(path)
    except ScenarioError as exc:
        raise RegressError(f"cannot load the bundled scenario {path}:\n{exc}") from None


# --- the check ---------------------------------------------------------------------------------


@dataclass
class ScenarioCheck:
    """The regression check of one scenario."""

    scenario_file: str
    baseline_file: str
    name: str
    mode: str  # "statistical" or "exact"
    seed: int
    replications: int
    notes: list[str] = field(default_factory=list)
    rows: list[Comparison] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(r.failed for r in self.rows)


def _pairs(scenario_dir: Path, baseline_dir: Path) -> tuple[list[tuple[Path, Path]], list[Path]]:
    """(scenario, baseline path) per bundled scenario, and baselines with no scenario (stale)."""
    if not scenario_dir.is_dir():
        raise RegressError(f"no scenario folder {scenario_dir}")
    scenarios = sorted(scenario_dir.glob("*.yaml"))
    if not scenarios:
        raise RegressError(f"no bundled scenarios (*.yaml) in {scenario_dir}")
    stems = {p.stem for p in scenarios}
    stale = sorted(p for p in baseline_dir.glob("*.json") if p.stem not in stems)
    return [(p, baseline_dir / f"{p.stem}.json") for p in scenarios], stale


def check(
    scenario_dir: Path = SCENARIO_DIR,
    baseline_dir: Path = BASELINE_DIR,
    *,
    exact: bool = False,
    seed: int | None = None,
    workers: int = 1,
    alpha: float = ALPHA,
    progress: Progress | None = None,
) -> list[ScenarioCheck]:
    """Re-run every bundled scenario and compare it with its baseline.

    Parameters
    ----------
    exact : re-run the baseline's own seed and replications and expect identical numbers
        (when the scenario hash and library versions match; otherwise the scenario is "not
        comparable" and gets the statistical check instead, with a note).
    seed : root seed of the statistical re-run; default the baseline's seed + 1.
    alpha : family-wise false-alarm rate over all KPIs of all scenarios (Holm).

    Raises
    ------
    RegressError
        A bundled scenario without a baseline, a baseline without a scenario, a damaged file.
    """
    pairs, stale = _pairs(Path(scenario_dir), Path(baseline_dir))
    problems = [
        f"no baseline for {s} (expected {b}); run sim regress --update"
        for s, b in pairs
        if not b.is_file()
    ]
    problems += [
        f"baseline {b} has no scenario {Path(scenario_dir) / (b.stem + '.yaml')}; "
        f"restore the scenario or run sim regress --update to remove it"
        for b in stale
    ]
    if problems:
        raise RegressError("\n".join(problems))
    loaded = [(s, b, Baseline.read(b), _load(s)) for s, b in pairs]
    results = []
    for spath, bpath, base, scenario in loaded:
        run = _as_run(scenario, base.settings, spath.parent)
        item = ScenarioCheck(
            spath.as_posix(),
            bpath.as_posix(),
            run.name,
            "statistical",
            base.seed + 1 if seed is None else int(seed),
            len(base.replications),
        )
        digest = scenario_hash(run)
        if digest != base.scenario_sha256:
            item.notes.append("the scenario changed since the baseline (hash differs)")
        versions = library_versions()
        moved = [
            f"{k} {base.versions.get(k)} -> {v}"
            for k, v in versions.items()
            if base.versions.get(k) != v
        ]
        if exact and (moved or digest != base.scenario_sha256):
            item.notes.append(
                "exact mode: not comparable ("
                + "; ".join(moved or ["scenario changed"])
                + "); statistical check instead"
            )
        elif exact:
            item.mode, item.seed = "exact", base.seed
        reps = base.replications if item.mode == "exact" else list(range(len(base.replications)))
        current = run_kpis(
            run, item.seed, reps, workers, _bar(progress, len(reps), f"{run.name}: {item.mode}")
        )
        compare = compare_exact if item.mode == "exact" else compare_samples
        names = list(base.kpis) + [k for k in current if k not in base.kpis]
        item.rows = [compare(k, base.kpis.get(k), current.get(k)) for k in names]
        results.append(item)
    _correct(results, alpha)
    return results


def _correct(results: list[ScenarioCheck], alpha: float) -> None:
    """Holm over every p-value of every scenario; set each tested KPI's p-value and verdict."""
    tested = [(row, i) for item in results for row in item.rows for i in range(len(row.tests))]
    adjusted = holm([row.tests[i] for row, i in tested])
    for (row, _), p in zip(tested, adjusted, strict=True):
        row.p_value = p if row.p_value is None else min(row.p_value, p)
    for item in results:
        for row in item.rows:
            if row.p_value is not None and row.p_value <= alpha:
                row.verdict, row.failed = "changed", True


# --- updating ----------------------------------------------------------------------------------


@dataclass
class Update:
    """What ``--update`` did to one baseline and which KPIs moved."""

    baseline_file: str
    action: str  # created, rewritten, unchanged, removed
    moved: list[Comparison] = field(default_factory=list)


def update(
    scenario_dir: Path = SCENARIO_DIR,
    baseline_dir: Path = BASELINE_DIR,
    *,
    workers: int = 1,
    progress: Progress | None = None,
) -> list[Update]:
    """Re-make every bundled scenario's baseline (atomically) and remove stale ones.

    A baseline keeps its settings (replications, horizon override); a new one gets the
    defaults. ``moved`` lists the KPIs whose per-replication values changed, with old and new
    means.
    """
    from sim.report.files import write_atomic

    pairs, stale = _pairs(Path(scenario_dir), Path(baseline_dir))
    previous: dict[Path, Baseline | None] = {}
    for _, bpath in pairs:
        if bpath.is_file():
            try:
                previous[bpath] = Baseline.read(bpath)
            except RegressError:
                previous[bpath] = None  # damaged: made afresh
    for spath, _ in pairs:
        _load(spath)  # every scenario loads before anything is rewritten
    out = []
    for spath, bpath in pairs:
        old = previous.get(bpath)
        new = make_baseline(spath, old, workers, progress)
        text = new.to_json()
        if bpath.is_file() and bpath.read_text(encoding="utf-8") == text:
            out.append(Update(bpath.as_posix(), "unchanged"))
            continue
        write_atomic(bpath, text)
        moved = []
        if old is not None:
            names = list(old.kpis) + [k for k in new.kpis if k not in old.kpis]
            moved = [
                r
                for r in (compare_exact(k, old.kpis.get(k), new.kpis.get(k)) for k in names)
                if r.verdict != "identical"
            ]
        out.append(Update(bpath.as_posix(), "rewritten" if bpath in previous else "created", moved))
    for bpath in stale:
        bpath.unlink()
        out.append(Update(bpath.as_posix(), "removed"))
    return out


# --- presenting --------------------------------------------------------------------------------


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.6g}" if abs(value) >= 1e-4 or value == 0 else f"{value:.3e}"


def _p(value: float | None) -> str:
    if value is None:
        return "-"
    return "<1e-6" if value < 1e-6 else f"{value:.4f}" if value >= 1e-3 else f"{value:.2e}"


def regress_table(item: ScenarioCheck, alpha: float = ALPHA):
    """The rich table of one scenario: KPI, baseline, current, difference, p-value, verdict."""
    from rich.table import Table

    how = (
        f"exact: seed {item.seed}, same replications"
        if item.mode == "exact"
        else f"new seed {item.seed}; Welch t, Holm-adjusted p, changed if <= {alpha:g}"
    )
    table = Table(
        title=f"{item.name} ({item.scenario_file}): {item.replications} replications, {how}"
    )
    columns: tuple[tuple[str, Literal["left", "right"]], ...] = (
        ("KPI", "left"),
        ("baseline", "right"),
        ("current", "right"),
        ("difference", "right"),
        ("p-value", "right"),
        ("verdict", "left"),
    )
    for col, justify in columns:
        table.add_column(col, justify=justify)
    for r in item.rows:
        verdict = f"[red]{r.verdict}[/red]" if r.failed else r.verdict
        table.add_row(
            r.kpi, _num(r.baseline), _num(r.current), _num(r.difference), _p(r.p_value), verdict
        )
    return table


def iter_moved(updates: list[Update]) -> Iterator[str]:
    """Lines saying what ``--update`` changed."""
    for u in updates:
        if u.action != "rewritten" or not u.moved:
            yield f"{u.baseline_file}: {u.action}"
            continue
        yield f"{u.baseline_file}: rewritten; {len(u.moved)} KPI(s) moved:"
        for r in u.moved:
            yield (
                f"  {r.kpi}: {_num(r.baseline)} -> {_num(r.current)} "
                f"({_num(r.difference)}){' ' + r.verdict if r.verdict != 'differs' else ''}"
            )
