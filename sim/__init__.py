"""Contact-center and delivery simulator: scenario files in, KPIs with confidence intervals out."""

from sim.model import RunResult, simulate
from sim.scenario import Scenario, ScenarioError, load_scenario, scenario_from_dict

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


def __getattr__(name):
    if name == "replicate":  # imported lazily: experiments pull in process pools
        from sim.experiment import replicate

        return replicate
    if name == "compare":
        from sim.compare import compare

        return compare
    raise AttributeError(name)
