"""Scenario schema of call-backs (`routing.callback`): who is offered one, who takes it, how it
is placed and how often it is tried.

Owns the `routing.callback` key; :mod:`sim.model.callbacks` simulates it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema, field_serializer

from sim.scenario.distributions import Duration
from sim.scenario.schema_types import Model, Probability

__all__ = ["Callback", "CallbackAfter"]


class CallbackAfter(Model):
    """Offer a call-back to the callers still waiting after `after`."""

    after: Duration = Field(gt=0, description="wait in the queue before the offer, seconds")


def _offer(value: Any) -> Any:
    """`always` is kept as None (one form left to validate: one message per mistake)."""
    if value == "always":
        return None
    if isinstance(value, dict | CallbackAfter):
        return value
    raise ValueError(f"{value!r}: always, or {{after: 60s}}")


_OFFER_SCHEMA = {
    "description": "always (every caller reaching the queue), or {after: 60s} (the callers "
    "still waiting then)",
    "default": "always",
    "anyOf": [
        {"const": "always"},
        {
            "type": "object",
            "properties": {"after": {"type": ["number", "string"]}},
            "required": ["after"],
            "additionalProperties": False,
        },
    ],
}


class Callback(Model):
    """Callers offered a call-back leave the queue with probability `accept`; an agent calls
    them back (`placed`), reaching them with probability `reach`, else tries again."""

    offer: Annotated[
        CallbackAfter | None, BeforeValidator(_offer), WithJsonSchema(_OFFER_SCHEMA)
    ] = Field(
        None,
        description="always, or {after: 60s}: offered to callers still waiting then",
        json_schema_extra={"default": "always"},
    )
    accept: Probability = Field(description="share of the callers offered who take a call-back")
    reach: Probability = Field(1.0, description="chance an attempt reaches the customer")
    retries: int = Field(0, ge=0, le=100, description="attempts after the first that fails")
    retry_after: Duration = Field(
        600.0, gt=0, description="wait after a failed attempt before the next, seconds"
    )
    placed: Literal["when_idle", "in_turn"] = Field(
        "when_idle",
        description="when_idle: an agent with no caller waiting in its queues (calls first, "
        "non-preemptive); in_turn: when the caller's place in the queue comes up (virtual hold)",
    )

    @field_serializer("offer")
    def _offer_out(self, offer: CallbackAfter | None) -> Any:
        return "always" if offer is None else {"after": offer.after}
