"""Agent selection: which free agent answers a call that may be answered now.

The router (:mod:`sim.model.contact_center`) asks its policy when a call reaches the queue, and
again when an overflow step (``after:``) makes more groups eligible for it. The policy gets the
eligible groups in route order and returns ``(group, agent)`` with that agent taken off the idle
stack, or None when none of them has a free agent. Like Ciw's routing objects, a policy is one
small class with one method; adding a rule is a class here and a name in the schema.

When an agent frees up, the choice among waiting calls is not a policy: tier priority, then
the longest wait (``ContactCenter._pick``).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["POLICIES", "Ordered", "RoutingPolicy"]


class RoutingPolicy:
    """Picks the agent for one call among the idle agents of ``groups``.

    ``idle[g]`` is the stack of idle agents of group ``g`` (the most recently freed on top),
    owned by the router and shared with the policy.
    """

    def __init__(self, idle: list[list[int]]):
        self.idle = idle

    def pick(self, groups: Sequence[int]) -> tuple[int, int] | None:
        raise NotImplementedError


class Ordered(RoutingPolicy):
    """The first group in route order with a free agent; in it, the agent freed last."""

    def pick(self, groups: Sequence[int]) -> tuple[int, int] | None:
        idle = self.idle
        for g in groups:
            if idle[g]:
                return g, idle[g].pop()
        return None


POLICIES: dict[str, type[RoutingPolicy]] = {"ordered": Ordered}
"""Policy classes by their name in ``routing.agent_selection``."""
