"""The ``outbound:`` section: campaigns whose calls a dialer places, blended with inbound calls.

A campaign names a call type of ``call_types`` (share 0: no inbound arrivals; its handle time
is the talk time of a reached customer, its route the groups that take its calls), the chance
a dialed number reaches the right person (per time of day), the patience of a reached customer
waiting for an agent (hanging up: a *mismatch*) and its dialer: the threshold rule of
ContactCenters' ``ThresholdDialerPolicy`` inside its active hours. :mod:`sim.model.dialer`
runs it; :func:`outbound_checks` checks its links to the rest of the scenario.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from sim.scenario.distributions import Duration, Patience
from sim.scenario.fulfilment_schema import Hours
from sim.scenario.schema_types import Model, Probability, suggest, time_map
from sim.scenario.units import parse_share

__all__ = ["Campaign", "Dialer", "Outbound", "outbound_checks"]


class Dialer(Model):
    """When and how many numbers to dial: the threshold rule. Each time an agent of a test or
    target group frees up with nothing else to take (and when the active hours begin), if at
    least ``min_free`` agents of ``test_groups`` are free and at least one of ``target_groups``,
    it dials ``max(round(kappa x free target agents) + c - calls ringing, 0)`` numbers."""

    policy: Literal["threshold"] = Field(
        "threshold", description="dialing rule (ContactCenters' ThresholdDialerPolicy)"
    )
    test_groups: list[str] = Field(min_length=1, description="groups whose free agents are tested")
    target_groups: list[str] = Field(
        min_length=1, description="groups whose free agents set how many numbers to dial"
    )
    min_free: int = Field(0, ge=0, le=100_000, description="free agents of test_groups to dial")
    kappa: float = Field(
        1.0, ge=0, le=100, allow_inf_nan=False, description="numbers dialed per free target agent"
    )
    c: int = Field(0, ge=-100_000, le=100_000, description="numbers dialed besides (additive)")
    ring_time: Duration = Field(
        0.0,
        ge=0,
        description="from dialing to knowing whether the right person answered, seconds "
        "(a dialed call is 'ringing' meanwhile)",
    )
    hours: Hours = Field(default_factory=Hours, description="when the dialer dials")


class Campaign(Model):
    """One outbound campaign: what its calls are and who reaches them."""

    call_type: str = Field(description="the call type of its calls (share 0 in call_types)")
    reach: Probability | dict[str, Probability] = Field(
        description='chance a dialed number reaches the right person, or a map from "HH:MM" '
        "to that chance from then on"
    )
    patience: Patience = Field(
        description="how long a reached customer waits for an agent before hanging up "
        "(a mismatch), seconds"
    )
    before_inbound: bool = Field(
        True,
        description="an agent who may take both takes a waiting outbound call before "
        "waiting inbound calls (false: after them)",
    )
    dialer: Dialer = Field(description="the dialer placing its calls")

    @field_validator("reach", mode="before")
    @classmethod
    def _reach(cls, v):
        if isinstance(v, dict):
            return time_map(v, "reach", parse_share)
        return v


class Outbound(Model):
    """Outbound campaigns by name."""

    campaigns: dict[str, Campaign] = Field(min_length=1, description="campaigns by name")


def outbound_checks(
    outbound: Outbound, shares: dict[str, float], routed: set[str], groups: list[str]
) -> list[tuple[tuple, str, str | None]]:
    """The campaigns' links: their call types exist (``shares``: the call types' shares), take
    no inbound arrivals and have a group (``routed``: the call types some group takes); the
    dialers' ``groups`` exist."""
    problems: list[tuple[tuple, str, str | None]] = []
    types_ = list(shares)
    taken: set[str] = set()
    for name, camp in outbound.campaigns.items():
        where = ("outbound", "campaigns", name)
        ctype = camp.call_type
        if ctype not in shares:
            problems.append(
                (
                    (*where, "call_type"),
                    f"unknown call type '{ctype}'; call types: {', '.join(types_)}",
                    suggest(ctype, types_),
                )
            )
        elif shares[ctype] > 0:
            problems.append(
                (
                    (*where, "call_type"),
                    f"call type '{ctype}' has share {shares[ctype]:g}: a dialed "
                    "call type takes no inbound arrivals (give it share 0)",
                    None,
                )
            )
        elif ctype not in routed:
            problems.append(((*where, "call_type"), f"no agent group takes '{ctype}'", None))
        elif ctype in taken:
            problems.append(((*where, "call_type"), f"'{ctype}' is dialed by two campaigns", None))
        taken.add(ctype)
        for key in ("test_groups", "target_groups"):
            for i, g in enumerate(getattr(camp.dialer, key)):
                if g not in groups:
                    problems.append(
                        (
                            (*where, "dialer", key, i),
                            f"unknown agent group '{g}'; groups: {', '.join(groups)}",
                            suggest(g, groups),
                        )
                    )
    return problems
