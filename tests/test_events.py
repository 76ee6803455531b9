"""The scheduling helper and the arrival feeder keep SimPy's ordering contract."""

import numpy as np
import pytest
import simpy

from sim.model import events
from sim.model.events import call_later, run_feeding


def test_call_later_passes_the_value_and_keeps_scheduling_order_at_equal_times():
    env = simpy.Environment()
    seen = []
    for name in ("a", "b", "c"):
        call_later(env, 5.0, lambda ev: seen.append((env.now, ev.value)), name)
    call_later(env, 1.0, lambda ev: seen.append((env.now, ev.value)), "first")
    env.run()
    assert seen == [(1.0, "first"), (5.0, "a"), (5.0, "b"), (5.0, "c")]


@pytest.mark.parametrize("chunk", [1, 3, 4096])
def test_feeding_runs_due_events_first_sets_the_clock_and_stops_at_until(monkeypatch, chunk):
    monkeypatch.setattr(events, "FEED_CHUNK", chunk)
    env = simpy.Environment()
    log = []
    times = np.array([0.5, 2.0, 2.0, 3.25, 7.0, 10.0, 11.0])
    items = np.arange(len(times))

    def feed(i):
        log.append(("feed", int(i), env.now))
        call_later(env, 1.0, lambda ev: log.append(("done", ev.value, env.now)), int(i))

    call_later(env, 2.0, lambda ev: log.append(("tick", None, env.now)))  # due with item 1
    run_feeding(env, 10.0, times, items, feed)
    fed = [(i, t) for kind, i, t in log if kind == "feed"]
    assert fed == [(0, 0.5), (1, 2.0), (2, 2.0), (3, 3.25), (4, 7.0)]  # 10.0 is not < until
    assert log.index(("tick", None, 2.0)) < log.index(("feed", 1, 2.0))
    assert log.index(("done", 0, 1.5)) < log.index(("feed", 1, 2.0))
    assert ("done", 4, 8.0) in log and env.now == 10.0
