"""The queue index picks exactly the call a scan of every served queue would pick."""

import random
from collections import deque

import pytest

from sim.model.queues import WAITING, QueueIndex


def scan_pick(queues, serves_g, outcome, entry, now, step_open):
    """The former router's pick: scan every queue the group serves, first listed wins ties."""
    best_q, best_key = None, None
    for q, after, prio, step in serves_g:
        queue = queues[q]
        while queue and outcome[queue[0]] != WAITING:
            queue.popleft()
        if not queue:
            continue
        t_in = entry[queue[0]]
        if after and now - t_in < after and not step_open[step]:
            continue
        key = (prio, t_in)
        if best_key is None or key < best_key:
            best_q, best_key = queue, key
    return None if best_q is None else best_q.popleft()


@pytest.mark.parametrize("seed", range(20))
def test_index_matches_a_full_scan_under_random_traffic(seed):
    rng = random.Random(seed)
    n_queues, n_groups = rng.randint(1, 12), rng.randint(1, 4)
    serves = []
    for g in range(n_groups):  # group 0 serves one queue (the index's path without a heap)
        picked = rng.sample(range(n_queues), 1 if g == 0 else rng.randint(1, n_queues))
        serves.append(
            [
                (q, rng.choice([0.0, 0.0, 5.0, 20.0]), rng.choice([0, 1]), rng.randrange(3))
                for q in picked
            ]
        )
    step_open = [False, False, False]
    outcome, entry = [], []
    index = QueueIndex(n_queues, serves, outcome, entry)
    plain = [deque() for _ in range(n_queues)]
    now, picks = 0.0, 0
    for _ in range(3000):
        now += rng.choice([0.0, rng.expovariate(1.0)])  # ties in time happen too
        action = rng.random()
        if action < 0.02:  # a group's staffing crosses zero: some waits are lifted or restored
            step_open = [False] + [rng.random() < 0.5 for _ in range(2)]
            index.open_steps(step_open)
        elif action < 0.5:
            cid = len(outcome)
            outcome.append(WAITING)
            entry.append(now)
            q = rng.randrange(n_queues)
            index.append(q, cid, now)
            plain[q].append(cid)
        elif action < 0.65:  # a waiting call leaves without a pick (abandons, answered elsewhere)
            alive = [c for c in range(len(outcome)) if outcome[c] == WAITING]
            if alive:
                outcome[rng.choice(alive)] = 3
        else:
            g = rng.randrange(n_groups)
            expected = scan_pick(plain, serves[g], outcome, entry, now, step_open)
            got = index.pick(g, now)
            assert got == expected
            if got is not None:
                outcome[got] = 2
                picks += 1
    assert picks > 100
    for q in range(n_queues):  # a call type cut off: drained queues are skipped afterwards
        if rng.random() < 0.3:
            drained = index.drain(q)
            alive_in = [c for c in drained if outcome[c] == WAITING]
            assert alive_in == [c for c in plain[q] if outcome[c] == WAITING]
            plain[q].clear()
            for cid in drained:
                outcome[cid] = 4 if outcome[cid] == WAITING else outcome[cid]
    for g in range(n_groups):
        got = index.pick(g, now)
        assert got == scan_pick(plain, serves[g], outcome, entry, now, step_open)
        if got is not None:
            outcome[got] = 2
    alive = sorted(c for c in index.queued() if outcome[c] == WAITING)
    assert alive == sorted(c for c in range(len(outcome)) if outcome[c] == WAITING)
