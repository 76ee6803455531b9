"""Calls made again by the same customer: after hanging up in the queue, or after a call that
did not resolve the matter (``redial:`` in the scenario).

The router tells this module when a call was abandoned or handled; the decision to call again
and its delay come from the streams ``redial.decisions`` and ``redial.delay.*``, so a scenario
without redials draws nothing here.
"""

from __future__ import annotations

from collections.abc import Callable

from sim.model.streams import Streams
from sim.records.calls import CallLog, Origin
from sim.scenario.distributions import BatchSampler
from sim.scenario.schema import CallAgain, Scenario

__all__ = ["Redials"]


class Redials:
    """Schedules the new attempt of a caller through ``schedule_call`` (the callers' door)."""

    def __init__(
        self, scenario: Scenario, streams: Streams, calls: CallLog, schedule_call: Callable
    ):
        self.calls, self.schedule_call = calls, schedule_call
        self.abandon_rule = scenario.redial.after_abandon
        self.unresolved_rule = scenario.redial.after_unresolved
        self._u = streams("redial.decisions").random
        self._delay = {
            name: BatchSampler(rule.delay, streams(f"redial.delay.{name}"))
            for name, rule in (("abandon", self.abandon_rule), ("unresolved", self.unresolved_rule))
            if rule is not None
        }

    def after_abandon(self, cid: int, at: float) -> None:
        """Call ``cid`` hung up at ``at``: maybe the customer calls again."""
        self._again(cid, at, self.abandon_rule, "abandon", Origin.AFTER_ABANDON)

    def after_handled(self, cid: int, at: float) -> None:
        """Call ``cid``'s talk ends at ``at``: if unresolved, maybe the customer calls again."""
        if not self.calls.resolved[cid]:
            self._again(cid, at, self.unresolved_rule, "unresolved", Origin.AFTER_UNRESOLVED)

    def _again(
        self, cid: int, at: float, rule: CallAgain | None, name: str, origin: Origin
    ) -> None:
        """With ``redraw: false`` the new attempt is the same contact: same patience, same
        handle time (``same_as``)."""
        calls = self.calls
        if rule is not None and self._u() < rule.probability:
            self.schedule_call(
                at + self._delay[name](),
                calls.customer[cid],
                calls.tier[cid],
                calls.call_type[cid],
                calls.attempt[cid] + 1,
                origin,
                None if rule.redraw else cid,
            )
