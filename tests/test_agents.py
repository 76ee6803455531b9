"""The agent pool's seam: a new kind of work is a new work source, not an edit of the router."""

from __future__ import annotations

from collections import deque
from heapq import heappush

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import scenario_from_dict
from sim.model.agents import AgentPool
from sim.model.contact_center import ContactCenter
from sim.model.events import ModelEnvironment
from sim.model.streams import Streams
from sim.records.calls import CallLog, Outcome


class Backlog:
    """A toy deferred-work source: items an agent of its groups takes when it frees up and no
    call waits (items arrive here while every agent is busy; a real source would also offer
    new work to free agents, as ``ContactCenter.offer`` does for calls)."""

    whole = True  # an item takes the whole agent

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


def _center():
    """A router of one team of two agents for calls of 300 s, connected, not started."""
    sc = scenario_from_dict(
        {
            "name": "seam",
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
    return env, calls, center


def test_a_work_source_added_after_the_call_queues_gets_agents_only_when_no_call_waits():
    env, calls, center = _center()
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


# --- agents with capacity: slot items beside whole items ----------------------------------------


class Items:
    """A toy work source of one size (``whole``: each item takes the agent; else one slot):
    an arriving item goes to an agent it fits (:meth:`arrive`), else it waits, first in first
    out, for a freed agent to take it. ``holding`` is the test's own account of what each
    agent holds, checked against the pool's at every start and end."""

    def __init__(self, env, pool, groups, whole, holding, name=""):
        self.env, self.pool, self.groups, self.whole = env, pool, groups, whole
        self.holding, self.name = holding, name
        self.work: list[float] = []
        self.waiting: deque[int] = deque()
        self.starts: list[tuple[float, int, int]] = []  # (time, item, agent)
        self.ends: list[tuple[float, int, int]] = []
        for g in groups:
            pool.add_source(g, self)

    def arrive(self, now: float, work: float) -> None:
        item = len(self.work)
        self.work.append(work)
        for g in self.groups:
            if self.whole:
                agent = self.pool.free[g].pop() if self.pool.free[g] else None
            else:
                agent = self.pool.take_slot(g)
            if agent is not None:
                self.begin(now, item, g, agent)
                return
        self.waiting.append(item)
        self.pool.pending[0] += 1

    def take(self, g: int, now: float) -> int | None:
        if not self.waiting:
            return None
        self.pool.pending[0] -= 1
        return self.waiting.popleft()

    def begin(self, now: float, item: int, g: int, agent: int) -> None:
        mine = self.holding.setdefault(agent, [])
        assert not any(whole for whole, _ in mine), "nothing beside a whole item"
        assert not (self.whole and mine), "a whole item takes an empty agent only"
        mine.append((self.whole, (self.name, item)))
        assert len(mine) <= self.pool.capacity[g]
        assert self.pool.held[agent] == (0 if self.whole else len(mine))
        self.starts.append((now, item, agent))
        env = self.env
        heappush(env.agenda, (now + self.work[item], env.next_seq(), self.end, (item, agent)))

    def end(self, now: float, value: tuple[int, int]) -> None:
        item, agent = value
        self.holding[agent].remove((self.whole, (self.name, item)))
        self.ends.append((now, item, agent))
        self.pool.release(now, agent)  # the one path by which work ends on an agent


def _pool(capacity: list[int]):
    env, pool = ModelEnvironment(), AgentPool([f"g{g}" for g in range(len(capacity))])
    for g, slots in enumerate(capacity):
        pool.set_capacity(g, slots)
    return env, pool, {}


def test_capacity_3_agents_take_slot_items_in_source_order_and_whole_items_only_when_empty():
    env, pool, holding = _pool([3])
    calls = Items(env, pool, [0], True, holding, "call")  # asked first
    chats_a = Items(env, pool, [0], False, holding, "a")
    chats_b = Items(env, pool, [0], False, holding, "b")
    pool.set_staff(0.0, 0, 2)  # agents 0 and 1, free stack [0, 1]
    for k in range(7):  # the last freed agent fills up first; the seventh chat waits
        env.later(0.0, chats_a.arrive, 100.0 + k * 1e-3)
    env.later(1.0, calls.arrive, 50.0)  # no empty agent: it waits
    env.later(2.0, chats_b.arrive, 100.0)
    env.later(2.0, chats_b.arrive, 100.0)
    env.run()
    assert [a for _, _, a in chats_a.starts] == [1, 1, 1, 0, 0, 0, 1]
    assert [t for t, _, _ in chats_a.starts][:6] == [0.0] * 6
    # agent 1 frees its slots at 100: the waiting chat of the first slot source, then b's
    assert chats_a.starts[6][:2] == (100.0, 6)
    assert [(t, i, a) for t, i, a in chats_b.starts] == [(100.001, 0, 1), (100.002, 1, 1)]
    # the call waits for an empty agent (agent 0, once its three chats are done), never
    # beside a chat although agent 0 had room from 100.003 on
    assert calls.starts == [(100.005, 0, 0)]
    for source in (calls, chats_a, chats_b):  # every item ends exactly once, after its start
        assert sorted(i for _, i, _ in source.ends) == list(range(len(source.work)))
        assert sorted(i for _, i, _ in source.starts) == list(range(len(source.work)))
    assert pool.pending == [0] and not any(holding.values())
    assert sorted(pool.free[0]) == [0, 1] and pool.held == [0, 0] and pool.room == [{}]


def test_calls_of_the_router_take_agents_whole_beside_chats_on_agents_of_three_slots():
    env, calls, center = _center()
    center.pool.set_capacity(0, 3)
    chats = Items(env, center.pool, [0], False, {})  # asked after the call queues
    center.start()
    for _ in range(4):  # agent 1 full, agent 0 one chat: neither is empty
        env.later(0.0, chats.arrive, 100.0)
    calls.add(arrival=10.0, queue_entry=10.0, call_type=0, handle=300.0, patience=1e9)
    env.later(10.0, center.offer, 0)
    env.later(150.0, chats.arrive, 100.0)  # agent 1 talks: agent 0 takes it
    env.run(5000.0)
    c = calls.freeze()
    # the call waits for an empty agent: agent 1, when its last chat ends at 100
    assert (c.answer[0], c.agent[0]) == (100.0, 1)
    assert [(t, a) for t, _, a in chats.starts] == [(0.0, 1)] * 3 + [(0.0, 0), (150.0, 0)]
    assert center.pool.pending == [0] and sorted(center.pool.free[0]) == [0, 1]


def test_a_leaving_agent_takes_nothing_new_and_leaves_once_its_items_are_done():
    env, pool, holding = _pool([3])
    chats = Items(env, pool, [0], False, holding)
    pool.set_staff(0.0, 0, 2)
    for work in (300.0, 300.0, 300.0, 50.0, 80.0):  # agent 1 full, agent 0 two chats
        env.later(0.0, chats.arrive, work)
    env.later(10.0, lambda now, _: pool.set_staff(now, 0, 1))  # the partly busy one goes
    for k in range(3):
        env.later(20.0 + k, chats.arrive, 100.0)  # agent 1 is full, agent 0 leaving: they wait
    env.run()
    # agent 0 frees a slot at 50 and takes none of the waiting chats; it leaves at 80
    assert [(t, a) for t, _, a in chats.starts] == [(0.0, 1)] * 3 + [(0.0, 0)] * 2 + [
        (300.0, 1)
    ] * 3
    log = pool.staff_log
    assert list(zip(log.times[0], log.present[0], strict=True)) == [(0.0, 2), (10.0, 2), (80.0, 1)]
    assert sorted(i for _, i, _ in chats.ends) == list(range(8))
    assert pool.free[0] == [1] and pool.draining == [{}] and pool.on_duty(0) == 1


def test_the_cut_falls_on_the_first_busy_agent_to_free_room_and_a_rise_keeps_it():
    env, pool, holding = _pool([2])
    chats = Items(env, pool, [0], False, holding)
    pool.set_staff(0.0, 0, 2)
    for work in (100.0, 200.0, 150.0, 250.0):  # both agents full: agent 1 (100, 200), 0
        env.later(0.0, chats.arrive, work)
    env.later(10.0, lambda now, _: pool.set_staff(now, 0, 1))  # nobody empty or with room
    env.later(20.0, chats.arrive, 500.0)  # waits
    env.later(120.0, lambda now, _: pool.set_staff(now, 0, 2))  # the chosen agent stays
    env.run()
    # agent 1 frees room first (100): chosen, it takes nothing; back on duty at 120 it takes
    # the waiting chat at once
    assert chats.starts[-1] == (120.0, 4, 1)
    assert set(pool.staff_log.present[0]) == {2}  # nobody left
    assert pool.on_duty(0) == 2 and sorted(pool.free[0]) == [0, 1]


def _fifo_waits(capacity: int, agents: int, n: int, seed: int) -> np.ndarray:
    """Waits of ``n`` Poisson slot items (rate 9, exponential work of mean 1), first come
    first served, on ``agents`` agents of ``capacity`` slots."""
    env, pool, holding = _pool([capacity])
    items = Items(env, pool, [0], False, holding)
    pool.set_staff(0.0, 0, agents)
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1 / 9.0, n))
    for t, work in zip(arrivals.tolist(), rng.exponential(1.0, n).tolist(), strict=True):
        env.later(t, items.arrive, work)
    env.run()
    assert max(pool.held) == 0 and not any(holding.values())
    start = np.empty(n)
    for t, item, _ in items.starts:
        start[item] = t
    return start - arrivals


@pytest.mark.slow
def test_slot_work_on_capacity_k_agents_is_erlang_c_with_n_times_k_servers():
    """M/M/NK: 4 agents of 3 slots, Poisson slot items of exponential work and no patience,
    first come first served, wait exactly as on 12 agents of one slot, and their probability
    of waiting and mean wait are Erlang C's with 12 servers (with 4 servers, or 8, the load of
    9 would not even be stable). Seed to seed the sd of either figure here is about 4 %."""
    from sim.planning.erlang import erlang_c_metrics

    n = 200_000
    waits = _fifo_waits(3, 4, n, seed=24)
    np.testing.assert_array_equal(waits, _fifo_waits(1, 12, n, seed=24))
    waits = waits[n // 20 :]  # the first 5 % warm up
    exact = erlang_c_metrics(9.0, 1.0, 12, within=0.0)
    assert abs(np.mean(waits > 0) / exact.prob_wait - 1) < 0.1, exact.prob_wait
    assert abs(np.mean(waits) / exact.mean_wait - 1) < 0.15, exact.mean_wait


# a property test: the pool's invariants under random arrivals, ends and staff changes


def _check(pool: AgentPool, holding: dict, sources: list[Items], targets: list, seen: dict):
    """What the pool says of each agent is what it holds, no fitting work waits idle, and an
    agent chosen to leave takes nothing (``seen``: its items at the check before)."""
    for g, cap in enumerate(pool.capacity):
        mine = [a for a in range(len(pool.group_of)) if pool.group_of[a] == g]
        free, room, draining = set(pool.free[g]), set(pool.room[g]), set(pool.draining[g])
        assert len(free) == len(pool.free[g])
        assert not (free & room or free & draining or room & draining)
        busy = {a for a in mine if holding.get(a)}
        for a in mine:
            items = holding.get(a, [])
            slots = [x for x in items if not x[0]]
            assert len(items) == len(slots) or len(items) == 1, "a whole item is held alone"
            assert pool.held[a] == len(slots) <= cap
            assert (a in room) == (0 < len(slots) < cap and a not in draining)
            assert a not in draining or slots
            if a in draining:  # no item it did not hold before
                assert set(slots) <= seen.get(a, set(slots))
                seen[a] = set(slots)
            else:
                seen.pop(a, None)
        assert not (free & busy)
        assert pool.present[g] == len(free | busy)
        assert pool.on_duty(g) == targets[g]
        if pool.leaving[g]:  # only busy agents not chosen yet, none of them with room
            assert not free and not room
            assert pool.leaving[g] <= len(busy - draining)
        for s in sources:  # work that fits an agent with room does not wait
            if s.waiting and g in s.groups:
                assert not free and (s.whole or not room)
    assert pool.pending[0] == sum(len(s.waiting) for s in sources)


OPS = st.lists(
    st.tuples(
        st.sampled_from(["whole", "slot", "slot", "staff"]),
        st.integers(0, 1),  # group
        st.integers(0, 5),  # staff target
        st.sampled_from([0.0, 0.5, 1.0, 3.0]),  # time to the next op
        st.sampled_from([1.0, 2.0, 2.5, 4.0]),  # work of an item
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(OPS, st.integers(1, 4), st.booleans())
def test_the_pool_keeps_its_invariants_under_random_work_and_staff_changes(ops, cap, slots_first):
    env, pool, holding = _pool([1, cap])
    sources: list[Items] = []
    kinds = (False, True) if slots_first else (True, False)
    for whole in kinds:  # one whole and one slot source over both groups, in drawn order
        sources.append(Items(env, pool, [0, 1], whole, holding, str(whole)))
    by_kind = {s.whole: s for s in sources}
    targets, seen = [0, 0], {}

    def checked(fn):
        def run(now, value):
            fn(now, value)
            _check(pool, holding, sources, targets, seen)

        return run

    for s in sources:
        s.end = checked(s.end)

    def staff(now, change):
        g, n = change
        targets[g] = n
        pool.set_staff(now, g, n)

    t = 0.0
    for kind, g, n, dt, work in ops:
        if kind == "staff":
            env.later(t, checked(staff), (g, n))
        else:
            env.later(t, checked(by_kind[kind == "whole"].arrive), work)
        t += dt
    env.later(t, checked(staff), (0, 1))  # staff enough to drain every source at the end
    env.later(t, checked(staff), (1, 1))
    env.run()
    for s in sources:  # nothing lost: every item started once and ended once
        assert sorted(i for _, i, _ in s.starts) == list(range(len(s.work)))
        assert sorted(i for _, i, _ in s.ends) == list(range(len(s.work)))
    assert pool.pending == [0] and not any(holding.values())
    assert [len(f) for f in pool.free] == [1, 1]


def test_capacity_is_set_before_the_agents_come():
    pool = AgentPool(["voice", "chat"])
    pool.set_capacity(1, 4)
    pool.set_staff(0.0, 1, 2)
    assert pool.capacity == [1, 4] and pool.take_slot(1) == 1 and pool.room[1] == {1: None}
    with pytest.raises(ValueError, match="before its agents come"):
        pool.set_capacity(1, 2)
    with pytest.raises(ValueError, match=">= 1"):
        pool.set_capacity(0, 0)
