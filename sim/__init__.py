"""Contact-center and delivery simulator: scenario files in, KPIs with confidence intervals out."""

from sim.compare import compare  # the function shadows the submodule name on purpose
from sim.experiment import replicate
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
