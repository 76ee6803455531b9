"""The crew: who takes which task when, and that tasks waiting for the hours cost no event."""

import heapq
import math

import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.model.calendar import Opening
from sim.model.crew import Crew
from sim.model.events import ModelEnvironment

HOUR = 3600.0


def _environment():
    return ModelEnvironment()


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
    env.later(t - env.now, lambda _now, _value: fn())


def _events_handled(env) -> int:
    """Run to the end one event at a time: how many events the run handled."""
    handled = 0
    try:
        while True:
            env.step()
            handled += 1
    except simpy.core.EmptySchedule:
        return handled


def test_tasks_joining_outside_the_hours_start_at_the_opening_by_key_then_join_time():
    env, crew, started, _ = _crew(1, [10 * HOUR], [20 * HOUR])
    # all submitted at 0 for times before the opening (closed then): keys decide, then join time
    crew.submit("c", key=2.0, at=5 * HOUR)
    crew.submit("b", key=1.0, at=6 * HOUR)
    crew.submit("a2", key=0.0, at=4 * HOUR)
    crew.submit("a1", key=0.0, at=3 * HOUR)  # same key, joined an hour earlier: first
    assert _events_handled(env) == 5  # the opening and four finishes: no event for a join
    assert started == [("a1", 10 * HOUR), ("a2", 11 * HOUR), ("b", 12 * HOUR), ("c", 13 * HOUR)]
    assert len(crew) == 0


def test_tasks_joining_while_everyone_is_busy_cost_no_event():
    env, crew, started, _ = _crew(1, [0.0], [50 * HOUR], duration=10 * HOUR)
    crew.submit("first", key=0.0)  # busy until 10 h
    for i in range(5):
        crew.submit(f"t{i}", key=float(i), at=(i + 1) * HOUR)
    # nobody free when they join: each finish takes the next in, the joins cost no event
    assert _events_handled(env) == 5
    assert started == [("first", 0.0), *((f"t{i}", (i + 1) * 10 * HOUR) for i in range(4))]


def test_an_earlier_task_to_come_moves_the_wake_up_and_none_is_lost():
    env, crew, started, _ = _crew(3, [0.0], [50 * HOUR], duration=0.5 * HOUR)
    crew.submit("late", key=0.0, at=9 * HOUR)
    crew.submit("early", key=0.0, at=2 * HOUR)  # a wake-up at 2 h, before the one at 9 h
    crew.submit("middle", key=0.0, at=5 * HOUR)
    env.run(until=20 * HOUR)
    assert started == [("early", 2 * HOUR), ("middle", 5 * HOUR), ("late", 9 * HOUR)]


class _EventPerTask:
    """The crew as it was first written, for comparison: every task that joins inside the
    hours gets an event of its own, which puts it in the queue and dispatches."""

    def __init__(self, env, size, opening, work, done, horizon):
        self.env, self.idle, self.work, self.done = env, size, work, done
        self.opening, self.queue, self.n = opening, [], 0
        if size > 0:
            for t in opening.opens:
                if 0 < t < horizon:
                    env.later(t, lambda now, _: self.dispatch(now))

    def inside(self, t):
        return any(o <= t < c for o, c in zip(self.opening.opens, self.opening.closes, strict=True))

    def submit(self, task, key, at):
        self.n += 1
        entry = (key, at, self.n, task)
        env = self.env
        env.later(
            at - env.now, lambda now, _: (heapq.heappush(self.queue, entry), self.dispatch(now))
        )

    def finish(self, now, task):
        self.idle += 1
        self.done(task, now)
        self.dispatch(now)

    def dispatch(self, now):
        while self.idle and self.queue and self.inside(now):
            task = heapq.heappop(self.queue)[3]
            self.idle -= 1
            self.env.later(self.work(task, now), self.finish, task)


def _starts_and_ends(kind, size, tasks) -> list:
    """Tasks submitted at moments (minutes) for later times, each retried once from its end:
    what starts and ends when. Durations carry an irrational part, so that no two events fall
    on one instant (there the two crews may break the tie differently, both correctly)."""
    opening = Opening([60 * 60.0, 1500 * 60.0], [600 * 60.0, 2400 * 60.0])
    env, log = _environment(), []
    lengths = {i: length * 60.0 + math.sqrt(2 + i) for i, (_, _, length) in enumerate(tasks)}

    def work(task, now):
        log.append(("start", task, now))
        return lengths[task[0]]

    def done(task, now):
        log.append(("end", task, now))
        if task[1] < 1:
            crew.submit((task[0], 1), float(task[0]), now + 30 * 60.0)

    def arrive(now, task):
        i, delay = task
        crew.submit((i, 0), float(i), now + delay * 7.0)

    crew = kind(env, size, opening, work, done, 3000 * 60.0)
    for i, (when, delay, _) in enumerate(tasks):
        env.later(when * 60.0 + i / 1000, arrive, (i, delay))
    env.run(until=3000 * 60.0)
    return log


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(1, 4),
    tasks=st.lists(
        st.tuples(st.integers(0, 400), st.integers(0, 3), st.integers(1, 40)), max_size=40
    ),
)
def test_the_crew_starts_tasks_as_one_event_per_task_would(size, tasks):
    assert _starts_and_ends(Crew, size, tasks) == _starts_and_ends(_EventPerTask, size, tasks)


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


def test_later_calls_back_with_the_time_in_scheduling_order():
    env = _environment()
    seen: list = []
    env.later(2.0, lambda t, v: seen.append((t, v)), "b")
    env.later(1.0, lambda t, v: seen.append((t, v)), "a")
    env.later(2.0, lambda t, v: seen.append((t, v)), "c")
    env.run()
    assert seen == [(1.0, "a"), (2.0, "b"), (2.0, "c")]
