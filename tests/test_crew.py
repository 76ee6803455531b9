"""The crew: who takes which task when, and that tasks waiting for the hours cost no event."""

import simpy

import sim.model.crew
from sim.model import events
from sim.model.calendar import Opening
from sim.model.crew import Crew
from sim.model.events import call_later
from sim.model.schedule import scheduler

HOUR = 3600.0


def _environment():
    """The environment the model runs in (a plain SimPy one, or the model's own class)."""
    return getattr(events, "ModelEnvironment", simpy.Environment)()


def _crew(size, opens, closes, duration=HOUR, horizon=100 * HOUR):
    env = _environment()
    started, ended = [], []

    def work(task, now):
        started.append((task, now))
        return duration

    def done(task, now):
        ended.append((task, now))

    crew = Crew(env, size, Opening(opens, closes), work, done, horizon)
    return env, crew, started, ended


def _at(env, t, fn):
    call_later(env, t - env.now, lambda _event: fn())


def test_tasks_joining_outside_the_hours_start_at_the_opening_by_key_then_join_time(monkeypatch):
    scheduled = []

    def counted(env):
        schedule = scheduler(env)
        return lambda *args: scheduled.append(args) or schedule(*args)

    monkeypatch.setattr(sim.model.crew, "scheduler", counted)
    env, crew, started, _ = _crew(1, [10 * HOUR], [20 * HOUR])
    # all submitted at 0 for times before the opening (closed then): keys decide, then join time
    crew.submit("c", key=2.0, at=5 * HOUR)
    crew.submit("b", key=1.0, at=6 * HOUR)
    crew.submit("a2", key=0.0, at=4 * HOUR)
    crew.submit("a1", key=0.0, at=3 * HOUR)  # same key, joined an hour earlier: first
    assert len(scheduled) == 1  # the opening only: none of the four waits on the event queue
    env.run(until=30 * HOUR)
    assert started == [("a1", 10 * HOUR), ("a2", 11 * HOUR), ("b", 12 * HOUR), ("c", 13 * HOUR)]
    assert len(crew) == 0


def test_a_task_joining_inside_the_hours_starts_when_it_joins_if_someone_is_free():
    env, crew, started, ended = _crew(2, [0.0], [50 * HOUR], duration=2 * HOUR)
    crew.submit("x", key=9.0, at=1.5 * HOUR)
    crew.submit("y", key=1.0, at=2.5 * HOUR)
    crew.submit("z", key=5.0, at=3.0 * HOUR)  # both busy: waits for the first to end
    env.run(until=10 * HOUR)
    assert started == [("x", 1.5 * HOUR), ("y", 2.5 * HOUR), ("z", 3.5 * HOUR)]
    assert ended[0] == ("x", 3.5 * HOUR)


def test_work_running_at_closing_finishes_and_nothing_starts_until_the_next_opening():
    env, crew, started, ended = _crew(1, [0.0, 24 * HOUR], [8 * HOUR, 32 * HOUR], 3 * HOUR)
    crew.submit("late", key=0.0, at=7 * HOUR)  # starts at 7, runs past 8 (overtime)
    crew.submit("next", key=0.0, at=7.5 * HOUR)  # waits: nobody free before the close
    env.run(until=30 * HOUR)
    assert started == [("late", 7 * HOUR), ("next", 24 * HOUR)]
    assert ended[0] == ("late", 10 * HOUR)


def test_len_counts_tasks_whose_time_has_come():
    env, crew, _, _ = _crew(1, [10 * HOUR], [20 * HOUR])
    crew.submit("now", key=0.0)
    crew.submit("later", key=0.0, at=5 * HOUR)
    seen = []
    _at(env, 1 * HOUR, lambda: seen.append(len(crew)))
    _at(env, 6 * HOUR, lambda: seen.append(len(crew)))
    env.run(until=9 * HOUR)
    assert seen == [1, 2]


def test_scheduler_calls_back_with_the_time_in_scheduling_order_on_simpy_or_the_agenda():
    class Agenda:
        def later(self, delay, fn, value=None): ...

    agenda = Agenda()
    assert scheduler(agenda) == agenda.later  # the model's own queue where there is one
    env = _environment()  # the model's: its agenda, or SimPy through call_later
    schedule, seen = scheduler(env), []
    schedule(2.0, lambda t, v: seen.append((t, v)), "b")
    schedule(1.0, lambda t, v: seen.append((t, v)), "a")
    schedule(2.0, lambda t, v: seen.append((t, v)), "c")
    env.run()
    assert seen == [(1.0, "a"), (2.0, "b"), (2.0, "c")]
