"""The event loop: one order over the agenda, SimPy's queue and the feed."""

import numpy as np
import pytest
import simpy

from sim.model import events
from sim.model.events import ModelEnvironment, run_feeding


def _at(env, delay, seen, label):
    """A SimPy event (a timeout) ``delay`` from now that records the time and ``label``."""
    env.timeout(delay).callbacks.append(lambda _ev: seen.append((env.now, label)))


def test_later_passes_the_value_and_keeps_scheduling_order_at_equal_times():
    env = ModelEnvironment()
    seen = []
    for name in ("a", "b", "c"):
        env.later(5.0, lambda at, v: seen.append((env.now, at, v)), name)
    env.later(1.0, lambda at, v: seen.append((env.now, at, v)), "first")
    env.run()
    assert seen == [(1.0, 1.0, "first"), (5.0, 5.0, "a"), (5.0, 5.0, "b"), (5.0, 5.0, "c")]


@pytest.mark.parametrize("items", [np.arange, range])
@pytest.mark.parametrize("chunk", [1, 3, 4096])
def test_feeding_runs_due_events_first_sets_the_clock_and_stops_at_until(monkeypatch, chunk, items):
    monkeypatch.setattr(events, "FEED_CHUNK", chunk)
    env = ModelEnvironment()
    log = []
    times = np.array([0.5, 2.0, 2.0, 3.25, 7.0, 10.0, 11.0])
    items = items(len(times))

    def feed(t, i):
        assert t == env.now
        log.append(("feed", int(i), env.now))
        env.later(1.0, lambda at, v: log.append(("done", v, at)), int(i))

    env.later(2.0, lambda at, _: log.append(("tick", None, at)))  # due with item 1
    run_feeding(env, 10.0, times, items, feed)
    fed = [(i, t) for kind, i, t in log if kind == "feed"]
    assert fed == [(0, 0.5), (1, 2.0), (2, 2.0), (3, 3.25), (4, 7.0)]  # 10.0 is not < until
    assert log.index(("tick", None, 2.0)) < log.index(("feed", 1, 2.0))
    assert log.index(("done", 0, 1.5)) < log.index(("feed", 1, 2.0))
    assert ("done", 4, 8.0) in log and env.now == 10.0


def test_equal_times_simpy_first_then_the_agenda_in_scheduling_order_then_the_feed():
    env = ModelEnvironment()
    seen = []

    def on_agenda(at, name):
        seen.append((at, name))

    env.later(3.0, on_agenda, "agenda 1")
    _at(env, 3.0, seen, "simpy 1")
    env.later(3.0, on_agenda, "agenda 2")
    _at(env, 3.0, seen, "simpy 2")
    env.later(1.0, on_agenda, "agenda at 1")
    env.run_feeding(5.0, np.array([3.0]), np.array([0]), lambda t, _: seen.append((t, "fed")))
    assert seen == [
        (1.0, "agenda at 1"),
        (3.0, "simpy 1"),
        (3.0, "simpy 2"),
        (3.0, "agenda 1"),
        (3.0, "agenda 2"),
        (3.0, "fed"),
    ]


def test_simpy_sees_the_model_clock_from_agenda_events():
    """SimPy's own clock lags while agenda events run; a process started from one still waits
    from the right time, and ``now`` is right inside it."""
    env = ModelEnvironment()
    woke = []

    def process():
        started = env.now
        yield env.timeout(2.5)
        woke.append((started, env.now))

    env.later(10.0, lambda at, _: env.process(process()))
    env.run(until=20.0)
    assert woke == [(10.0, 12.5)] and env.now == 20.0


def test_events_scheduled_on_simpy_land_at_now_plus_delay_of_the_model_clock():
    """SimPy adds its lagging clock to the delay; the corrected delay lands exactly on the
    model's ``now + delay`` or, where float addition cannot give it, one ulp later (the naive
    delay lands early in some of these cases); the handler sees the time it landed at."""
    rng = np.random.default_rng(7)
    exact = naive_early = 0
    for behind, ahead, delay in rng.uniform(0, 1e6, size=(300, 3)).tolist():
        ahead += behind
        env = ModelEnvironment()
        env.timeout(behind)  # SimPy's clock will stop at ``behind``
        env.run(until=np.nextafter(behind, np.inf))
        env.clock = ahead  # as while an agenda event at ``ahead`` runs
        seen = []
        env.timeout(delay).callbacks.append(lambda ev, seen=seen, env=env: seen.append(env.now))
        at = ahead + delay
        assert at <= env.peek() <= np.nextafter(at, np.inf)
        exact += env.peek() == at
        naive_early += behind + (at - behind) < at
        landed = env.peek()
        env.run()
        assert seen == [landed]
    assert naive_early > 0 and exact >= 270


def test_simpy_events_run_once_each_whatever_sentinels_the_agenda_holds():
    """SimPy's next event is a sentinel on the agenda: scheduling an earlier one adds another
    and leaves the first stale. Stepping by hand or running, each SimPy event runs once, in
    order with the agenda's, a process's own events included, and then nothing is left."""

    def build():
        env, seen = ModelEnvironment(), []
        _at(env, 5.0, seen, "simpy at 5")
        _at(env, 2.0, seen, "simpy at 2")
        env.later(2.0, lambda at, v: seen.append((at, v)), "agenda at 2")
        env.later(5.0, lambda at, v: seen.append((at, v)), "agenda at 5")

        def process():
            yield env.timeout(1.0)
            seen.append((env.now, "process at 3"))
            yield env.timeout(2.0)
            seen.append((env.now, "process at 5"))

        env.later(2.0, lambda at, _: env.process(process()))
        return env, seen

    expected = [
        (2.0, "simpy at 2"),
        (2.0, "agenda at 2"),
        (3.0, "process at 3"),
        (5.0, "simpy at 5"),
        (5.0, "process at 5"),  # SimPy's events before the agenda's entries of their time
        (5.0, "agenda at 5"),
    ]
    for by_step in (False, True):
        env, seen = build()
        if by_step:
            with pytest.raises(simpy.core.EmptySchedule):
                for _ in range(100):
                    env.step()
        else:
            env.run()
        assert seen == expected
    # the stale sentinel at 5 (the timeout at 2 came later) is no event
    env, seen = ModelEnvironment(), []
    for delay in (5.0, 2.0):
        env.timeout(delay).callbacks.append(lambda _ev: seen.append(env.now))
    env.run()
    assert seen == [2.0, 5.0]


def test_run_stops_before_until_and_refuses_an_event():
    env = ModelEnvironment()
    seen = []
    env.later(4.0, lambda at, _: seen.append(at))
    env.later(5.0, lambda at, _: seen.append(at))
    env.run(until=5.0)
    assert seen == [4.0] and env.now == 5.0
    with pytest.raises(ValueError, match="greater"):
        env.run(until=5.0)
    with pytest.raises(TypeError, match="time"):
        env.run(until=env.event())
    env.run()
    assert seen == [4.0, 5.0]
