"""Contact-center and delivery simulator: scenario files in, KPIs with confidence intervals out.

The public API is imported lazily (PEP 562), so that ``import sim.kpi`` or ``sim --help`` does
not pay for SimPy, SciPy's statistics or the plotting stack. Layers, lowest first:
``scenario`` -> ``records`` -> ``model`` -> ``kpi`` -> ``experiments`` -> ``planning`` ->
``fit`` -> ``forecast``; ``quality`` checks the model; ``report`` reads results on disk;
``cli`` sits on top (see docs/architecture.md).
"""

from importlib import import_module
from typing import TYPE_CHECKING

__all__ = [
    "RunResult",
    "Scenario",
    "ScenarioError",
    "compare",
    "load_scenario",
    "replicate",
    "scenario_from_dict",
    "simulate",
]
__version__ = "0.1.0"

_PUBLIC = {
    "RunResult": "sim.model.simulation",
    "simulate": "sim.model.simulation",
    "Scenario": "sim.scenario.schema",
    "ScenarioError": "sim.scenario.errors",
    "load_scenario": "sim.scenario.loading",
    "scenario_from_dict": "sim.scenario.loading",
    "replicate": "sim.experiments.replication",
    "compare": "sim.experiments.comparison",
}

if TYPE_CHECKING:  # pragma: no cover - for type checkers and editors only
    from sim.experiments.comparison import compare
    from sim.experiments.replication import replicate
    from sim.model.simulation import RunResult, simulate
    from sim.scenario.errors import ScenarioError
    from sim.scenario.loading import load_scenario, scenario_from_dict
    from sim.scenario.schema import Scenario


def __getattr__(name: str):
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
