"""Every kind of work in one scenario (tests/scenarios/mixed_channels.yaml): the doors of chats,
e-mails and call-backs in front of the router compose, and every contact ends in one state."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim import simulate
from sim.records.calls import IN_PROGRESS, Outcome
from sim.scenario.loading import load_scenario

MIXED = Path(__file__).parent / "scenarios" / "mixed_channels.yaml"


def test_chats_emails_call_backs_and_outbound_run_together_and_nothing_is_lost():
    run = simulate(load_scenario(MIXED), seed=3)
    calls = run.records.calls
    types = list(load_scenario(MIXED).call_types)
    final = {int(o) for o in Outcome} - set(IN_PROGRESS)
    assert set(np.unique(calls.outcome).tolist()) <= final  # one recorded state each
    by_type = {t: calls.outcome[calls.call_type == i] for i, t in enumerate(types)}
    for t in ("general", "web", "mail", "followup"):  # each kind of work had contacts
        assert len(by_type[t]) > 50, t
    assert (by_type["mail"] != Outcome.ABANDONED).all()  # e-mails never abandon
    assert np.isin(by_type["general"], [Outcome.CALLED_BACK, Outcome.CALLBACK_FAILED]).any()
    k = run.kpis
    for name in ("service_level.channel=chat", "response_time", "callback_rate"):
        assert k[name] is not None and k[name] >= 0, name
    assert k["outbound_reached"] > 0 and 0 <= k["occupancy.group=digital"] <= 1
