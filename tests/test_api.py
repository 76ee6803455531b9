"""The public Python API (``sim.__all__``, the README's "Python API"): names, and one pass
through load -> simulate -> replicate -> compare."""

from __future__ import annotations

from pathlib import Path

import sim

ROOT = Path(__file__).resolve().parents[1]


def test_public_names_are_the_functions():
    for name in sim.__all__:
        assert hasattr(sim, name), name
    for name in ("compare", "replicate", "simulate", "load_scenario", "scenario_from_dict"):
        assert callable(getattr(sim, name)), name


def test_load_simulate_replicate_compare():
    scenario = sim.load_scenario(ROOT / "scenarios" / "erlang_c_textbook.yaml")
    short = sim.scenario_from_dict(
        {**scenario.model_dump(by_alias=True), "horizon": {"days": 2, "warmup": "2h"}}
    )
    result = sim.simulate(short, seed=1)
    assert 0 < result.kpis["service_level"] <= 1
    assert len(result.records.calls) > 5000
    summary = sim.replicate(short, replications=3, workers=1)
    assert summary.kpis["service_level"].ci95 is not None
    more = sim.scenario_from_dict(
        {
            **short.model_dump(by_alias=True),
            "agents": {"groups": {"team": {"skills": ["general"], "staffing": 15}}},
        }
    )
    comparison = sim.compare([short, more], replications=3, workers=1)
    assert len(comparison.labels) == 2
    gain = comparison.differences[comparison.labels[1]]["service_level"]
    assert gain.mean > 0 and gain.significant  # a 15th agent answers more calls in time
