"""The agent pool's seam: a new kind of work is a new work source, not an edit of the router."""

from __future__ import annotations

from heapq import heappush

from sim import scenario_from_dict
from sim.model.contact_center import ContactCenter
from sim.model.events import ModelEnvironment
from sim.model.streams import Streams
from sim.records.calls import CallLog, Outcome


class Backlog:
    """A toy deferred-work source: items an agent of its groups takes when it frees up and no
    call waits (items arrive here while every agent is busy; a real source would also offer
    new work to free agents, as ``ContactCenter.offer`` does for calls)."""

    def __init__(self, env: ModelEnvironment, pool, groups: list[int]):
        self.env, self.pool = env, pool
        self.todo: list[float] = []  # work seconds of each item, taken in order
        self.started: list[tuple[float, int, int]] = []  # (time, item, agent)
        for g in groups:
            pool.add_source(g, self)

    def add(self, _now: float, items: list[float]) -> None:
        self.todo.extend(items)
        self.pool.pending[0] += len(items)

    def take(self, g: int, now: float) -> int | None:
        done = len(self.started)
        return done if done < len(self.todo) else None

    def begin(self, now: float, item: int, g: int, agent: int) -> None:
        self.pool.pending[0] -= 1
        self.started.append((now, item, agent))
        env = self.env
        heappush(env.agenda, (now + self.todo[item], env.next_seq(), self.pool.release, agent))


def test_a_work_source_added_after_the_call_queues_gets_agents_only_when_no_call_waits():
    sc = scenario_from_dict(
        {
            "name": "backlog",
            "horizon": {"days": 1},
            "arrivals": {"rate_per_hour": 30},
            "call_types": {"x": {"share": 1, "handle_time": {"dist": "fixed", "value": 300}}},
            "customer_tiers": {"std": {"share": 1}},
            "agents": {"groups": {"team": {"skills": ["x"], "staffing": 2}}},
        }
    )
    env, calls = ModelEnvironment(), CallLog()
    center = ContactCenter(env, sc, Streams(1), calls)
    center.connect(None, [])
    backlog = Backlog(env, center.pool, [0])  # asked after the call queues
    center.start()  # two agents on duty from 0
    for cid, t in enumerate([0.0, 0.0, 0.0, 100.0]):  # two answered at once, two wait
        calls.add(arrival=t, queue_entry=t, call_type=0, handle=300.0, patience=1e9)
        env.later(t, center.offer, cid)
    env.later(50.0, backlog.add, [600.0] * 3)  # while both agents talk
    env.run(5000.0)
    c = calls.freeze()
    assert (c.outcome == Outcome.ANSWERED).all()
    assert c.answer.tolist() == [0.0, 0.0, 300.0, 300.0]  # at 300 the waiting calls go first
    # at 600 nobody waits: each freed agent takes an item; the third when one is done again
    assert [(t, item) for t, item, _ in backlog.started] == [(600.0, 0), (600.0, 1), (1200.0, 2)]
    first, second, third = (agent for _, _, agent in backlog.started)
    assert first != second and third in (first, second)
    assert center.pool.pending == [0]
    assert sorted(center.pool.free[0]) == [0, 1]  # all work done, both agents free again
