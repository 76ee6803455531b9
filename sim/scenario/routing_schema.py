"""Scenario schema of the router: routes per call type, how an agent is chosen, what happens at
closing time.

Owns the `routing:` section; :mod:`sim.model.contact_center` and :mod:`sim.model.routing`
simulate it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

from sim.scenario.callback_schema import Callback
from sim.scenario.distributions import Duration
from sim.scenario.schema_types import Model

__all__ = ["ROUTING_KEYS", "AgentSelection", "Route", "RouteStep", "Routing"]

AgentSelection = Literal["ordered", "longest_idle", "random", "least_busy"]
"""Which free agent answers an arriving call (see README, routing)."""


def _route_step(value: Any) -> Any:
    return {"group": value} if isinstance(value, str) else value


class RouteStep(Model):
    """A group that may take the call once it has waited `after`."""

    group: str = Field(description="agent group name")
    after: Duration = Field(0.0, description="wait before this group may take the call, seconds")


_ROUTE_STEP_SCHEMA = {
    "description": "a group name, or {group, after} for a group that may take the call once it "
    "has waited `after`",
    "anyOf": [
        {"type": "string"},
        {
            "type": "object",
            "properties": {"group": {"type": "string"}, "after": {"type": ["number", "string"]}},
            "required": ["group"],
            "additionalProperties": False,
        },
    ],
}
Route = list[Annotated[RouteStep, BeforeValidator(_route_step), WithJsonSchema(_ROUTE_STEP_SCHEMA)]]

ROUTING_KEYS = (
    *("default", "tier_priority", "agent_selection", "at_close", "skip_unstaffed"),
    "callback",
)
"""Keys of `routing:` that are not call types."""


class Routing(Model):
    """Per call type, agent groups in order of preference; other keys name call types."""

    model_config = ConfigDict(
        json_schema_extra={
            "additionalProperties": {
                "type": "array",
                "description": "groups in order of preference for this call type",
            }
        }
    )
    tier_priority: bool = Field(
        True, description="waiting calls served by tier priority, then FIFO"
    )
    agent_selection: AgentSelection = Field(
        "ordered",
        description="which free agent answers an arriving call: ordered (first group in the "
        "route with a free agent), longest_idle, random (uniform over free eligible agents) or "
        "least_busy (the group with the lowest occupancy so far today); a call type may "
        "override it",
    )
    at_close: Literal["wait", "disconnect"] = Field(
        "wait",
        description="calls waiting when the last group of their route goes off duty: keep "
        "waiting, or are disconnected (their own outcome)",
    )
    skip_unstaffed: bool = Field(
        True,
        description="a route step whose earlier groups have nobody on duty may take the call "
        "at once instead of after its `after` (false: always wait `after`)",
    )
    default: Route | None = Field(None, description="route for call types without their own")
    callback: Callback | None = Field(
        None, description="call-backs offered to waiting callers (docs/callback.md)"
    )
    rules: dict[str, Route] = Field(
        default_factory=dict, description="routes by call type (written as top-level keys)"
    )

    @model_validator(mode="before")
    @classmethod
    def _collect_rules(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "rules" in data:
            return data
        out = {k: v for k, v in data.items() if k in ROUTING_KEYS}
        out["rules"] = {k: v for k, v in data.items() if k not in ROUTING_KEYS}
        return out
