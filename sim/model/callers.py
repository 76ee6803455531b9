"""The callers: time-varying Poisson arrivals, tiers, call types, the IVR, and calls made again.

Owns creating call rows and bringing each call to the agent queue at its time. First calls are
drawn with numpy a day at a time (the same bits as all at once); calls made again (redials,
complaints caused by deliveries) come through :meth:`Callers.schedule_call` from their own
streams, so they never shift the first calls (common random numbers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from sim.model.calendar import arrival_rates
from sim.model.events import ModelEnvironment
from sim.model.streams import Streams
from sim.records.calls import CallLog, Origin, Outcome
from sim.scenario.distributions import BatchSampler, uniforms
from sim.scenario.limits import AGAIN_FACTOR, AGAIN_FLOOR
from sim.scenario.schema import Scenario

__all__ = ["Callers", "SimulationLimitError", "door_by_type", "poisson_times"]


class SimulationLimitError(RuntimeError):
    """A run that makes no progress: calls made again without end (a redial loop)."""


_SELF_SERVED = int(Outcome.SELF_SERVED)


def poisson_times(rng: np.random.Generator, starts, ends, rates) -> np.ndarray:
    """Exact non-homogeneous Poisson arrivals for a piecewise-constant rate, sorted.

    Each piece gets a Poisson number of arrivals placed uniformly inside it (the order
    statistics property), so a short peak is never skipped or smeared.
    """
    starts = np.asarray(starts, dtype=float)
    lengths = np.asarray(ends) - starts
    counts = rng.poisson(np.asarray(rates) * lengths)
    return _place(rng, starts, lengths, counts)


def _place(rng: np.random.Generator, starts, lengths, counts) -> np.ndarray:
    """The arrivals of pieces with these ``counts``, sorted (the second half of
    :func:`poisson_times`; pieces in order, so the pieces can be placed a few at a time)."""
    offsets = rng.random(int(counts.sum()))
    times = np.repeat(starts, counts) + offsets * np.repeat(lengths, counts)
    return np.sort(times)  # equal floats are indistinguishable: no need for a stable sort


class Callers:
    """Creates calls and offers them to the contact center when they leave the IVR."""

    def __init__(
        self,
        env: ModelEnvironment,
        scenario: Scenario,
        streams: Streams,
        calls: CallLog,
        offer: Callable[[float, int], None],
    ):
        """``offer(now, call_id)`` brings a call to the agent queue (the router's door)."""
        self.env, self.sc, self.streams, self.calls = env, scenario, streams, calls
        self.tiers = list(scenario.customer_tiers)
        self.types = list(scenario.call_types)
        self.offer = offer
        self._first_n, self._drawn = -1, 0  # first calls of the horizon, drawn so far
        self._again_cap = AGAIN_FLOOR  # calls made again allowed per simulated minute
        self._again_minute, self._again_count = -1, 0
        self._again_total, self._again_bound = 0, AGAIN_FLOOR  # and in the run so far
        self._first_pieces = (np.zeros(1), np.ones(1), np.zeros(1))  # starts, lengths, counts
        # per-event samplers for calls made again: their own streams, batched draws, made at
        # the first call of their tier or type (200 call types: 200 streams fewer to seed)
        self._again_patience: list[BatchSampler | None] = [None] * len(self.tiers)
        self._again_handle: list[BatchSampler | None] = [None] * len(self.types)
        ivr = scenario.ivr
        self._again_ivr_time = BatchSampler(ivr.time, streams("again.ivr_time")) if ivr else None
        self._again_u = uniforms(streams("again.decisions"))
        self._fcr = [c.first_contact_resolution for c in scenario.call_types.values()]
        again = (
            "arrival", "tier", "call_type", "customer", "attempt", "origin", "resolved",
            "patience", "handle",
        )  # fmt: skip
        self._add_queued = calls.appender(*again, "queue_entry")
        self._add_self_served = calls.appender(*again, "outcome", "end")

    # --- first calls ---------------------------------------------------------------------------

    def first_calls(
        self, every: float | None = None
    ) -> Iterator[tuple[float, np.ndarray, np.ndarray]]:
        """Draw the first calls and yield what to feed them with: ``(until, times, ids)``, the
        queue-entry times (sorted) and ids of the calls that reach the queue before ``until``,
        for each stretch of ``every`` seconds of the horizon (None: all of it at once).

        The first calls are ids 0..n-1 in arrival order whatever ``every`` (reserved in the log
        up front, each stretch's rows written when it is drawn; calls made again come after).
        A stretch draws the next values of the same streams (numpy generators draw value after
        value), so the calls are the same bits as drawn at once; only the memory differs.
        """
        sc, streams = self.sc, self.streams
        cv = sc.arrivals.day_to_day_cv
        day_factors = None
        if cv > 0:
            shape = 1.0 / cv**2
            day_factors = streams("arrivals.day_factor").gamma(shape, 1.0 / shape, sc.horizon.days)
        rate = arrival_rates(sc, day_factors)
        starts = np.asarray(rate.times, dtype=float)
        lengths = np.append(starts[1:], rate.end) - starts
        counts = streams("arrivals").poisson(np.asarray(rate.values) * lengths)  # as poisson_times
        n = int(counts.sum())
        self._again_cap = max(AGAIN_FLOOR, int(AGAIN_FACTOR * n * 60 / sc.horizon_s))
        self._first_pieces = (starts, lengths, np.cumsum(counts))
        horizon = sc.horizon_s
        stops = [horizon] if every is None else [*np.arange(every, horizon, every), horizon]
        self.calls.reserve(n)
        self._first_n = n
        piece = done = 0
        late_t, late_ids = np.empty(0), np.empty(0, np.int64)  # queue entries of a later stretch
        for until in stops:
            upto = int(np.searchsorted(starts, until, side="left"))  # pieces begun before until
            cut = slice(piece, upto)
            arrival = _place(streams("arrivals"), starts[cut], lengths[cut], counts[cut])
            k = len(arrival)
            times, ids = self._draw(arrival, done)
            self._drawn = done + k
            if len(late_t) and not k:  # nothing new (one rate piece for days): no copy, no sort
                times, ids = late_t, late_ids
            elif len(late_t):  # ids ascending: a stable sort by time keeps the id order on ties
                times, ids = np.concatenate([late_t, times]), np.concatenate([late_ids, ids])
                order = np.argsort(times, kind="stable")
                times, ids = times[order], ids[order]
            now = int(np.searchsorted(times, until, side="left"))
            late_t, late_ids = times[now:], ids[now:]
            yield until, times[:now], ids[:now]
            piece, done = upto, done + k

    def rows_written(self) -> int:
        """Rows of the call log written so far: the first calls' rows are reserved up front and
        written a stretch at a time, the calls made again after them as they come."""
        return self._drawn if self._drawn < self._first_n else len(self.calls)

    def _draw(self, arrival: np.ndarray, first_id: int):
        """The rows of first calls arriving at ``arrival`` (sorted) with ids from ``first_id``:
        written to the log; returns their queue-entry times (sorted) and ids."""
        sc, streams, n = self.sc, self.streams, len(arrival)
        tier = _categorical(streams("tiers"), [t.share for t in sc.customer_tiers.values()], n)
        ctype = _categorical(streams("call_types"), [c.share for c in sc.call_types.values()], n)
        patience = _by_category(
            tier,
            [t.patience for t in sc.customer_tiers.values()],
            [streams(f"patience.{k}") for k in self.tiers],
        )
        handle = _by_category(
            ctype,
            [c.handle_time for c in sc.call_types.values()],
            [streams(f"handle.{k}") for k in self.types],
        )
        resolved = (
            streams("resolution").random(n)
            < np.array([c.first_contact_resolution for c in sc.call_types.values()])[ctype]
        )
        columns = dict(
            arrival=arrival, tier=tier, call_type=ctype, customer=np.arange(first_id, first_id + n),
            patience=patience, handle=handle, resolved=resolved,
        )  # fmt: skip
        del tier, ctype, patience, handle, resolved  # memory: the log frees them as it copies
        if sc.ivr is None:  # everyone queues on arrival, already sorted: no IVR columns
            columns["queue_entry"] = arrival
            ids = self.calls.put(columns, first_id)
            return arrival, np.arange(ids.start, ids.stop)
        ivr_time = sc.ivr.time.sample(streams("ivr_time"), n)
        self_served = streams("ivr").random(n) < sc.ivr.self_service
        entry = arrival + ivr_time
        del ivr_time
        end = np.where(self_served, entry, np.nan)
        outcome = np.full(n, Outcome.ARRIVING, dtype=np.int8)
        outcome[self_served] = Outcome.SELF_SERVED
        entry[self_served] = np.nan
        del self_served
        columns.update(queue_entry=entry, outcome=outcome, end=end)
        del end, outcome
        ids = self.calls.put(columns, first_id)
        queued = np.flatnonzero(~np.isnan(entry))
        order = queued[np.argsort(entry[queued], kind="stable")]
        return entry[order], order + ids.start

    # --- calls made again ----------------------------------------------------------------------

    def schedule_call(
        self,
        at: float,
        customer: int,
        tier: int,
        call_type: int,
        attempt: int,
        origin: Origin,
        same_as: int | None = None,
    ) -> None:
        """A call by a known customer at time ``at`` (a redial, a complaint about a delivery).

        ``same_as``: an earlier call whose patience and handle time this one keeps (a redial
        with ``redraw: false``); otherwise both are drawn afresh.
        """
        if at >= self.sc.horizon_s:
            return  # after the horizon: never happens inside this run
        minute = int(self.env.now // 60)  # a loop without progress in time fills one minute
        if minute != self._again_minute:
            self._again_minute, self._again_count = minute, 0
        self._again_count += 1
        self._again_total += 1
        if self._again_count > self._again_cap or self._again_total > self._again_bound:
            self._again_limit(minute)
        calls = self.calls  # kept: read now, as the earlier call's row may be released by then
        kept = None if same_as is None else (calls.patience[same_as], calls.handle[same_as])
        self.env.later(  # on the agenda, like the router's events (sim.model.events)
            at - self.env.now,
            self._arrive_again,
            (customer, tier, call_type, attempt, origin, kept),
        )

    def _again_limit(self, minute: int) -> None:
        """Stop a run whose calls made again outgrow its first calls: too many in one simulated
        minute (no progress in time), or in the run so far more than :data:`AGAIN_FACTOR` times
        the first calls arrived by now (a loop that grows a little every minute: callers who
        call again faster than they are served). Raises the bound while the run is within it."""
        name = self.sc.name
        if self._again_count > self._again_cap:
            raise SimulationLimitError(
                f"{name}: more than {self._again_cap:,} calls made again (redials, "
                f"call-backs, complaints) in the simulated minute from t = {minute * 60:,} s; "
                "the scenario loops without progress (check redial probabilities and delays)"
            )
        now = self.env.now
        first = self._first_by(now)
        self._again_bound = max(AGAIN_FLOOR, int(AGAIN_FACTOR * first))
        if self._again_total > self._again_bound:
            raise SimulationLimitError(
                f"{name}: {self._again_total:,} calls made again (redials, call-backs, "
                f"complaints) by t = {now:,.0f} s, more than {AGAIN_FACTOR} times the "
                f"{first:,.0f} first calls by then; the scenario loops: callers call again "
                "faster than they are served (check redial probabilities and delays, patience "
                "and staffing)"
            )

    def _first_by(self, t: float) -> float:
        """First calls arrived by ``t``: the rate pieces begun before it, the one it is in pro
        rata (from the counts drawn per piece, so the same whatever the stretches)."""
        starts, lengths, cum = self._first_pieces
        k = int(np.searchsorted(starts, t, side="right")) - 1
        if k < 0:
            return 0.0
        before = float(cum[k - 1]) if k else 0.0
        share = min(1.0, (t - float(starts[k])) / float(lengths[k])) if lengths[k] > 0 else 1.0
        return before + (float(cum[k]) - before) * share

    def _again_draw(self, tier: int, ctype: int) -> tuple[float, float]:
        """Fresh patience and handle time of a call made again (samplers made on first use)."""
        patience = self._again_patience[tier]
        if patience is None:
            spec, name = self.sc.customer_tiers[self.tiers[tier]].patience, self.tiers[tier]
            patience = self._again_patience[tier] = BatchSampler(
                spec, self.streams(f"again.patience.{name}")
            )
        handle = self._again_handle[ctype]
        if handle is None:
            spec, name = self.sc.call_types[self.types[ctype]].handle_time, self.types[ctype]
            handle = self._again_handle[ctype] = BatchSampler(
                spec, self.streams(f"again.handle.{name}")
            )
        return patience(), handle()

    def _arrive_again(self, now: float, call) -> None:
        customer, tier, ctype, attempt, origin, kept = call
        sc = self.sc
        if kept is None:
            patience, handle = self._again_draw(tier, ctype)
        else:
            patience, handle = kept
        resolved = self._again_u() < self._fcr[ctype]
        row = (now, tier, ctype, customer, attempt, int(origin), resolved, patience, handle)
        if sc.ivr is not None:
            assert self._again_ivr_time is not None  # made when the scenario has an IVR
            t_ivr = self._again_ivr_time()
            if self._again_u() < sc.ivr.self_service:
                self._add_self_served(*row, _SELF_SERVED, now + t_ivr)
                return
            cid = self._add_queued(*row, now + t_ivr)
            if now + t_ivr < sc.horizon_s:
                self.env.later(t_ivr, self.offer, cid)
            return
        self.offer(now, self._add_queued(*row, now))


def _categorical(rng: np.random.Generator, shares, n: int) -> np.ndarray:
    """``n`` category indices with probabilities ``shares`` (inverse CDF of one uniform each).

    One category draws nothing (its stream is its own: no other draw moves)."""
    if len(shares) == 1:
        return np.zeros(n, dtype=np.int16)
    cdf = np.cumsum(shares, dtype=float)
    cdf /= cdf[-1]
    return np.searchsorted(cdf, rng.random(n), side="right").astype(np.int16)


def _by_category(category: np.ndarray, specs, rngs) -> np.ndarray:
    """One draw per row from the spec of its category, each category from its own stream.

    The rows of each category, in row order, from one stable sort (not a mask per category:
    that cost grew with the number of call types)."""
    if len(specs) == 1:  # every row is of category 0
        return np.asarray(specs[0].sample(rngs[0], len(category)), dtype=float)
    rows = np.argsort(category, kind="stable")
    ends = np.cumsum(np.bincount(category, minlength=len(specs)))
    out = np.empty(len(category))
    start = 0
    for spec, rng, end in zip(specs, rngs, ends.tolist(), strict=True):
        out[rows[start:end]] = spec.sample(rng, end - start)
        start = end
    return out


def door_by_type(
    taken: list[bool],
    call_type,
    kind: Callable[[float, int], None],
    rest: Callable[[float, int], None],
) -> Callable[[float, int], None]:
    """The callers' door ``(now, cid)`` in front of another: a contact of a call type marked in
    ``taken`` goes to ``kind`` (a chat desk, an e-mail backlog), any other to ``rest`` (the
    router, or the door of another kind of work), so that kinds of work stack their doors."""

    def door(now: float, cid: int) -> None:
        if taken[call_type[cid]]:
            kind(now, cid)
        else:
            rest(now, cid)

    return door
