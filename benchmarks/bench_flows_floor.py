"""A floor for what the business flows cost: the same work as a minimal flat heapq loop.

``bench_business.py`` shows the flows (back office, delivery) adding ~2/3 to the cost of a week
of ``hotline_baseline.yaml``. How much of that could any pure-Python implementation save? This
benchmark answers with a measurement, not a guess:

1. It records, from one run of the model (replication 0, the scenario's seed), every call the
   contact center makes to the flows' listeners (``_BusinessFlows.by_type``): the time of the
   answer, the end of the talk, the kind of business (lead, complaint, sale) and what the
   listeners read of the call (customer, tier, call type, attempt, resolved).
2. It replays those inputs through :func:`minimal_flows`: the model's business rules written as
   one function around one ``heapq`` of ``(time, seq, code, value)`` events, dispatched by an
   ``if`` chain, with locals bound, plain lists as rows (the model's columns, one list per item,
   appended once and updated in place), the model's batched draws (``draws``,
   ``uniform_draws``: numpy batches served in C) from the model's named streams, no SimPy and
   no classes. Back office: one team with the scenario's staff and hours, an earliest-deadline
   (or FIFO) queue, leads with contact attempts, retries after ``retry_delay``, conversion
   halving every ``half_life``, converted leads becoming orders; work orders resolved or not,
   call-backs drawn and counted. Delivery: acceptance, payment and value draws, the routing
   rules with their fallback and each channel's daily capacity and cut-off (full: again at
   midnight), courier crews with hours and service times, the company channel with its cut-off
   and lead time, success, retries, returns and complaints drawn and counted.
3. It times, best of ``--repeat`` (CPU time, ``process_time``), interleaved: the model's run
   of the contact center alone and of the full scenario (``bench_business.measure``, as
   ``bench_business.py`` runs them) and the minimal flows (setup and draws included, the
   recording excluded). The floor ratio is (contact center alone + minimal flows) / contact
   center alone, printed next to the model's ratio (full / contact center alone).

It checks that the minimal loop does the same amount of work: its counts (leads, work orders,
back-office tasks, orders, delivery attempts, deliveries, call-backs, complaints) must be within
``--tolerance`` (5 %) of the model's for the same week, both printed. It draws from the model's
streams in the model's order of events, so on this week they came out equal; events at equal
times could run in another order, so equality is not required.

Limits, all of which make the first floor figure a lower bound: the call-backs and delivery
complaints are counted, not fed back into the contact center as calls; the listener calls (one
Python call per handled sales, lead and complaint call, reading the call's columns) are replaced
by iterating a list of tuples; the records stay Python lists (no freezing to numpy, no business
KPIs or daily table); no checks and no generality beyond what the scenario uses. The second
floor figure adds what any implementation inside the model pays for those: a plain listener call
per input (timed here), the model's own freezing and business KPIs (timed inside its full runs by
wrapping them: three calls a run) and the extra calls the flows cause, priced at the calls-only
cost per call. Still left out: in a model the flows' events share one heap with the calls'
events (a bigger heap, dearer pushes and pops), not measured.

Measured on the 2-core machine (best of 9, load 1.6-1.9 of 2 cores, 6 runs): the model 143-155
ms a week with all flows, 86-94 ms calls only (ratio 1.60-1.70); the minimal flows 29-32 ms,
floor 1.33-1.37; adding the listener calls (1.7-2.0 ms), the model's work after the run (1.9-2.2
ms) and the 266 calls caused (0.5-0.6 ms): 1.38-1.42. So 1.4 is the floor itself: it leaves about
a millisecond a week, or less than nothing, for all a model has beyond a flat loop (classes,
SimPy-compatible events, numpy records, generality). Usage:

    PYTHONPATH=. python benchmarks/bench_flows_floor.py [--repeat 9]
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import math
import sys
import time
from heapq import heappop, heappush
from pathlib import Path

HERE = Path(__file__).resolve().parent
for _p in (str(HERE), str(HERE.parent)):  # bench_business, and sim/ from the checkout
    if _p not in sys.path:
        sys.path.insert(0, _p)

import bench_business as bench  # noqa: E402

from sim import scenario_from_dict, simulate  # noqa: E402
from sim.model import simulation  # noqa: E402
from sim.model.calendar import Opening, weekday_of  # noqa: E402
from sim.model.contact_center import Unresolved  # noqa: E402
from sim.model.streams import Streams  # noqa: E402
from sim.records.business import OrderState  # noqa: E402
from sim.scenario.distributions import SMALL_BATCH, draws, uniform_draws  # noqa: E402
from sim.scenario.fulfilment_schema import CourierChannel  # noqa: E402
from sim.scenario.units import DAY, parse_clock  # noqa: E402
from sim.scenario.yamlsource import load_yaml  # noqa: E402

LEAD, COMPLAINT, SALE, END = 0, 1, 2, 3  # kinds of input
KINDS = {"lead": LEAD, "work_order": COMPLAINT, "delivery_order": SALE}
SOURCES, PAYMENTS = ("call", "lead"), ("cash", "pos", "online")
COUNTS = (
    "leads",
    "work_orders",
    "tasks",
    "orders",
    "attempts",
    "deliveries",
    "call_backs",
    "complaints",
)


def record_inputs(scenario) -> tuple[list[tuple], dict[str, int]]:
    """Run replication 0 with the flows' listeners wrapped; the inputs they got, in order, as
    ``(answered, at, kind, customer, tier, call type, attempt, resolved)``, and the model's
    counts for the week."""
    inputs: list[tuple] = []
    model_flows = simulation._BusinessFlows

    def recorder(fn, kind, env, calls):
        def listener(cid: int, at: float) -> None:
            inputs.append(
                (
                    env.clock,
                    at,
                    kind,
                    calls.customer[cid],
                    calls.tier[cid],
                    calls.call_type[cid],
                    calls.attempt[cid],
                    bool(calls.resolved[cid]),
                )
            )
            fn(cid, at)

        return listener

    def wrapped(fn, kind, env, calls):
        """The listener recording its inputs (one for unresolved calls stays one)."""
        if isinstance(fn, Unresolved):
            return Unresolved(recorder(fn.listener, kind, env, calls))
        return recorder(fn, kind, env, calls)

    class Recording(model_flows):
        def __init__(self, env, sc, streams, calls, schedule_call):
            super().__init__(env, sc, streams, calls, schedule_call)
            self.by_type = [
                None if fn is None else wrapped(fn, KINDS[ct.creates], env, calls)
                for fn, ct in zip(self.by_type, sc.call_types.values(), strict=True)
            ]

    simulation._BusinessFlows = Recording
    try:
        run = simulate(scenario, replication=0)
    finally:
        simulation._BusinessFlows = model_flows
    rec = run.business
    orders, wo = rec.orders, rec.work_orders
    counts = {
        "leads": len(rec.leads),
        "work_orders": len(wo),
        "tasks": len(rec.tasks),
        "orders": len(orders),
        "attempts": len(rec.attempts),
        "deliveries": int((orders.state == OrderState.DELIVERED).sum()),
        "call_backs": int((wo.called_back == wo.called_back).sum()),  # not nan
        "complaints": int((orders.complaint_at == orders.complaint_at).sum()),
    }
    return inputs, counts


def _route_table(sc, lanes: list[str]) -> list[tuple[int, ...]]:
    """Flat index (tier, source, payment) -> the lanes (use, fallback) of the first matching
    rule; () when none matches."""
    tiers, table = list(sc.customer_tiers), []
    for tier, source, payment in itertools.product(tiers, SOURCES, PAYMENTS):
        use: tuple[int, ...] = ()
        for rule in sc.delivery.routing:
            allowed = (rule.when.values(f) for f in ("tier", "source", "payment"))
            if all(
                a is None or v in a for a, v in zip(allowed, (tier, source, payment), strict=True)
            ):
                use = tuple(lanes.index(c) for c in (rule.use, rule.fallback) if c)
                break
        table.append(use)
    return table


def minimal_flows(sc, inputs: list[tuple]) -> dict[str, int]:
    """The business flows of ``sc`` fed with ``inputs`` (from :func:`record_inputs`): the
    counts of what they did."""
    horizon, days, start_wd = sc.horizon_s, sc.horizon.days, sc.horizon.start_weekday
    streams = Streams(sc.seed, 0)
    bo, dl = sc.back_office, sc.delivery
    lead, wo_spec = bo.work.lead, bo.work.work_order
    edf = bo.discipline == "earliest_deadline"
    lead_deadline = math.inf if lead.deadline is None else lead.deadline
    wo_deadline = math.inf if wo_spec.deadline is None else wo_spec.deadline
    contact_u, convert_u, resolve_u, call_back_u = (
        uniform_draws(streams(f"back_office.{k}"), SMALL_BATCH)
        for k in ("contact", "convert", "resolve", "call_back")
    )
    lead_handle = draws(lead.handle_time, streams("back_office.lead.handle"), SMALL_BATCH)
    wo_handle = draws(wo_spec.handle_time, streams("back_office.work_order.handle"), SMALL_BATCH)
    call_back = wo_spec.call_back or sc.redial.after_unresolved
    call_back_delay = draws(call_back.delay, streams("back_office.call_back.delay"), SMALL_BATCH)
    accept_u = uniform_draws(streams("delivery.accept"), SMALL_BATCH)
    pay_u = uniform_draws(streams("delivery.payment"), SMALL_BATCH)
    value = draws(dl.order_value, streams("delivery.order_value"), SMALL_BATCH)
    complaint_delay = draws(dl.complaint_delay, streams("delivery.complaint_delay"), SMALL_BATCH)
    pay_cdf = list(itertools.accumulate((dl.payment.cash, dl.payment.pos, dl.payment.online)))
    accept = [ct.accept_rate for ct in sc.call_types.values()]

    # lanes by index; crews: 0 the back office, lane i + 1 courier lane i
    names = list(dl.channels)
    specs = list(dl.channels.values())
    routes = _route_table(sc, names)
    courier = [isinstance(ch, CourierChannel) for ch in specs]
    capacity = [ch.orders_per_day for ch in specs]
    used = [[0] * (days + 8) for _ in specs]
    start_s, cutoff_s, working_from = [], [], []
    for ch in specs:
        hours = getattr(ch, "hours", None)
        s = hours.start_s if hours is not None else 0.0
        start_s.append(s)
        if ch.cutoff is not None:
            cutoff_s.append(parse_clock(ch.cutoff))
        else:
            cutoff_s.append(min(s + (hours.length_s if hours is not None else DAY), DAY))
        works = [
            hours is None or hours.days is None or weekday_of(start_wd, d) in hours.days
            for d in range(days + 8)
        ]
        first = list(range(days + 8))
        for d in reversed(range(days + 7)):
            if not works[d]:
                first[d] = first[d + 1]
        working_from.append(first)
    success_u = [uniform_draws(streams(f"delivery.{n}.success"), SMALL_BATCH) for n in names]
    complaint_u = [uniform_draws(streams(f"delivery.{n}.complaint"), SMALL_BATCH) for n in names]
    duration = [
        draws(ch.service_time if c else ch.lead_time, streams(f"delivery.{n}.time"), SMALL_BATCH)
        for n, ch, c in zip(names, specs, courier, strict=True)
    ]

    heap: list[tuple] = []
    seq = itertools.count().__next__
    BO_JOIN, BO_DONE, OPEN, CLOSE, ORDER, ROUTE, C_JOIN, C_DONE, COMPANY = range(9)
    crew_hours = [bo.team.hours] + [getattr(ch, "hours", None) for ch in specs]
    idle = [bo.team.staff] + [getattr(ch, "couriers", 0) for ch in specs]
    is_open = [False] * len(crew_hours)
    queues: list[list[tuple]] = [[] for _ in crew_hours]
    for c, hours in enumerate(crew_hours):
        if c and not courier[c - 1]:
            continue
        opening = Opening.from_hours(hours, start_wd, days)
        for o, e in zip(opening.opens, opening.closes, strict=True):
            if o <= 0 < e:
                is_open[c] = True
            if 0 < o < horizon:
                heappush(heap, (o, seq(), OPEN, c))
            if 0 < e < horizon:
                heappush(heap, (e, seq(), CLOSE, c))

    leads, work_orders, tasks, orders, attempts = [], [], [], [], []
    add_lead, add_wo, add_task = leads.append, work_orders.append, tasks.append
    add_order, add_attempt = orders.append, attempts.append
    n_call_backs = n_complaints = 0

    def dispatch(c: int, now: float) -> None:
        """Free workers of crew ``c`` take the best queued tasks (inside the hours)."""
        queue = queues[c]
        while queue and idle[c] and is_open[c]:
            task = heappop(queue)[3]
            idle[c] -= 1
            if c == 0:  # (kind, lead or work order row)
                if task[0] == LEAD:
                    d = lead_handle()
                    row = task[1]
                    row[4] += 1
                    if row[4] == 1:
                        row[5] = now
                else:
                    d = wo_handle()
                    task[1][6] = now
                add_task([now, now + d])
                heappush(heap, (now + d, seq(), BO_DONE, task))
            else:  # an order row
                d = duration[c - 1]()
                heappush(
                    heap, (now + d, seq(), C_DONE, (c - 1, task, attempt(task, c - 1, now, d)))
                )

    def attempt(order: list, lane: int, now: float, d: float) -> list:
        order[9] += 1
        if order[9] == 1:
            order[10] = now
        row = [order, lane, now, now + d, False]
        add_attempt(row)
        return row

    def join(lane: int, order: list, at: float, now: float) -> None:
        """An order ready for lane ``lane`` from ``at``: a courier crew's queue, or the
        company's attempt."""
        if courier[lane]:
            if at <= now:
                heappush(queues[lane + 1], (at, at, seq(), order))
                dispatch(lane + 1, now)
            else:
                heappush(heap, (at, seq(), C_JOIN, (lane, order)))
        elif at < horizon:
            heappush(heap, (at, seq(), COMPANY, (lane, order)))

    def route(order: list, now: float) -> None:
        for lane in routes[(order[3] * 2 + order[1]) * 3 + order[4]]:
            d = int(now // DAY)
            d = working_from[lane][d + 1 if now - d * DAY >= cutoff_s[lane] else d]
            if used[lane][d] < capacity[lane]:
                used[lane][d] += 1
                order[6], order[7] = lane, d
                if courier[lane]:
                    join(lane, order, max(now, d * DAY + start_s[lane]), now)
                else:
                    join(lane, order, max(now, d * DAY + cutoff_s[lane]) + duration[lane](), now)
                return
        order[8] += 1
        midnight = (math.floor(now / DAY) + 1) * DAY
        if midnight < horizon:
            heappush(heap, (midnight, seq(), ROUTE, order))

    def create_order(now: float, source: int, customer: int, tier: int) -> list:
        payment = min(bisect.bisect_right(pay_cdf, pay_u()), 2)
        # created, source, customer, tier, payment, value, channel, dispatch_day, deferred,
        # attempts, first_attempt, state, closed, cost, complaint_at
        order = [now, source, customer, tier, payment, value(), -1, -1, 0, 0, math.nan, 0]
        order += [math.nan, 0.0, math.nan]
        add_order(order)
        route(order, now)
        return order

    def result(lane: int, order: list, row: list, now: float) -> None:
        nonlocal n_complaints
        spec = specs[lane]
        order[13] += spec.cost_per_attempt
        p = spec.first_attempt_success
        if order[9] > 1 and spec.retry_success is not None:
            p = spec.retry_success
        if success_u[lane]() < p:
            row[4] = True
            order[11], order[12] = 1, now
            if spec.complaint_rate > 0 and complaint_u[lane]() < spec.complaint_rate:
                order[14] = now + complaint_delay()
                n_complaints += 1
        elif order[9] < spec.max_attempts:
            join(lane, order, now + spec.retry_delay, now)
        else:
            order[11], order[12] = 2, now

    half_life, initial = lead.conversion.half_life, lead.conversion.initial
    for answered, at, kind, customer, tier, ctype, attempt_no, resolved in [
        *inputs,
        (horizon, horizon, END, 0, 0, 0, 0, False),
    ]:
        while heap and heap[0][0] < answered:  # the events before this input
            now, _, code, v = heappop(heap)
            if code == BO_DONE:
                idle[0] += 1
                kind_done, row = v
                if kind_done == LEAD:
                    if contact_u() < lead.contact_success:
                        row[6] = now
                        if convert_u() < initial * 0.5 ** ((now - row[0]) / half_life):
                            row[7] = 1
                            row[9] = create_order(now, 1, row[1], row[2])
                        else:
                            row[7] = 2
                        row[8] = now
                    elif row[4] < lead.max_attempts:
                        t = now + lead.retry_delay
                        heappush(heap, (t, seq(), BO_JOIN, (row[3] if edf else t, v)))
                    else:
                        row[7], row[8] = 3, now
                else:
                    row[8] = now
                    if resolve_u() < wo_spec.resolution:
                        row[7] = 1
                    else:
                        row[7] = 2
                        if call_back_u() < call_back.probability:
                            row[9] = now + call_back_delay()
                            n_call_backs += 1
                dispatch(0, now)
            elif code == BO_JOIN:
                heappush(queues[0], (v[0], now, seq(), v[1]))
                if idle[0]:
                    dispatch(0, now)
            elif code == C_DONE:
                lane, order, row = v
                idle[lane + 1] += 1
                result(lane, order, row, now)
                dispatch(lane + 1, now)
            elif code == C_JOIN:
                lane, order = v
                heappush(queues[lane + 1], (now, now, seq(), order))
                if idle[lane + 1]:
                    dispatch(lane + 1, now)
            elif code == ORDER:
                create_order(now, 0, v[0], v[1])
            elif code == COMPANY:
                lane, order = v
                result(lane, order, attempt(order, lane, now, 0.0), now)
            elif code == ROUTE:
                route(v, now)
            elif code == OPEN:
                is_open[v] = True
                dispatch(v, now)
            else:  # CLOSE
                is_open[v] = False
        if kind == SALE:  # the listeners, at the answer
            if accept_u() < accept[ctype] and at < horizon:
                heappush(heap, (at, seq(), ORDER, (customer, tier)))
        elif kind == LEAD:
            if at < horizon:
                deadline = at + lead_deadline
                # created, customer, tier, deadline, attempts, first_start, contact, state,
                # closed, order
                row = [at, customer, tier, deadline, 0, math.nan, math.nan, 0, math.nan, -1]
                add_lead(row)
                heappush(heap, (at, seq(), BO_JOIN, (deadline if edf else at, (LEAD, row))))
        elif kind == COMPLAINT:
            if not resolved and at < horizon:
                deadline = at + wo_deadline
                # created, customer, tier, call_type, attempt, deadline, start, state, closed,
                # called_back
                row = [at, customer, tier, ctype, attempt_no, deadline, math.nan, 0, math.nan]
                row.append(math.nan)
                add_wo(row)
                heappush(heap, (at, seq(), BO_JOIN, (deadline if edf else at, (COMPLAINT, row))))
    return {
        "leads": len(leads),
        "work_orders": len(work_orders),
        "tasks": len(tasks),
        "orders": len(orders),
        "attempts": len(attempts),
        "deliveries": sum(o[11] == 1 for o in orders),
        "call_backs": n_call_backs,
        "complaints": n_complaints,
    }


def listener_calls(inputs: list[tuple]) -> float:
    """CPU time of what :func:`minimal_flows` skips at the intake: one Python call per input,
    ``listener(cid, at)``, reading the five columns of the call that the model's listeners
    read (the feed of tuples stands for it)."""
    customer, tier, call_type, attempt, resolved = ([i[k] for i in inputs] for k in range(3, 8))
    got: list[tuple] = []
    add = got.append

    def listener(cid: int, at: float) -> None:
        add((at, customer[cid], tier[cid], call_type[cid], attempt[cid], resolved[cid]))

    pairs = [(cid, i[1]) for cid, i in enumerate(inputs)]
    started = time.process_time()
    for cid, at in pairs:
        listener(cid, at)
    return time.process_time() - started


def time_after_run() -> list[float]:
    """Make the model's full runs time what their flows do after the run (freeze the records,
    business KPIs, daily table): a list whose one value each run's total is added to."""
    spent = [0.0]

    def timed(fn):
        def run(*args, **kwargs):
            started = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[0] += time.process_time() - started

        return run

    simulation.business_kpis = timed(simulation.business_kpis)
    simulation.daily_table = timed(simulation.daily_table)
    simulation._BusinessFlows.freeze = timed(simulation._BusinessFlows.freeze)
    return spent


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--tolerance", type=float, default=0.05, help="allowed count gap")
    args = parser.parse_args()
    full, _ = load_yaml(bench.BASELINE)
    full["horizon"] = {**full["horizon"], "days": 7}
    scenario = scenario_from_dict(full, base_dir=bench.BASELINE.parent)
    calls_only = scenario_from_dict(bench.contact_center_only(full), base_dir=bench.BASELINE.parent)
    inputs, model_counts = record_inputs(scenario)  # not timed
    bench.count_events()
    after_run = time_after_run()
    best: dict[str, float] = {}
    n_calls: dict[str, int] = {}
    counts: dict[str, int] = {}
    load_before = _load()
    for _ in range(args.repeat):  # interleaved, as bench_business.py runs them
        for name, case in (("model, all flows", scenario), ("model, calls only", calls_only)):
            after_run[0] = 0.0
            seconds, _, n_calls[name] = bench.measure(case)
            if seconds < best.get(name, math.inf):
                best[name] = seconds
                if case is scenario:
                    best["  of which after run"] = after_run[0]
        started = time.process_time()
        counts = minimal_flows(scenario, inputs)
        seconds = time.process_time() - started
        best["minimal flows"] = min(seconds, best.get("minimal flows", math.inf))
        seconds = listener_calls(inputs)
        best["listener calls"] = min(seconds, best.get("listener calls", math.inf))
    print(
        f"7 days of {bench.BASELINE.name}, replication 0, {len(inputs)} inputs to the flows; "
        f"CPU time, best of {args.repeat}; load {load_before} before, {_load()} after"
    )
    for name, seconds in best.items():
        print(f"  {name:22}{seconds * 1000:9.1f} ms")
    full_s, cc_s, floor_s = (
        best["model, all flows"],
        best["model, calls only"],
        best["minimal flows"],
    )
    print(f"  flows in the model    {(full_s - cc_s) * 1000:9.1f} ms (all flows - calls only)")
    after_s, listen_s = best["  of which after run"], best["listener calls"]
    extra = n_calls["model, all flows"] - n_calls["model, calls only"]
    extra_s = extra * cc_s / n_calls["model, calls only"]  # at the calls-only cost per call
    print(
        f"  calls the flows cause {extra_s * 1000:9.1f} ms ({extra} calls of "
        f"{n_calls['model, all flows']}, at the calls-only cost per call)"
    )
    floor_all = (cc_s + floor_s + listen_s + after_s + extra_s) / cc_s
    print(
        f"ratio to calls only: model {full_s / cc_s:.3f}, floor {(cc_s + floor_s) / cc_s:.3f} "
        f"(calls only + minimal flows), {floor_all:.3f} adding the listener calls, the "
        f"model's work after the run and the calls caused; 1.4 allows "
        f"{0.4 * cc_s * 1000:.1f} ms of flows"
    )
    print(f"{'counts':14}{'model':>8}{'minimal':>9}{'gap':>8}")
    worst = 0.0
    for key in COUNTS:
        m, f = model_counts[key], counts[key]
        gap = (f - m) / m if m else 0.0
        worst = max(worst, abs(gap))
        print(f"{key:14}{m:8d}{f:9d}{gap:8.1%}")
    if worst > args.tolerance:
        sys.exit(f"the minimal flows do not do the model's work: a count is {worst:.1%} off")


if __name__ == "__main__":
    main()
