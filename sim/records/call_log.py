"""Simulated calls written as a call log in the generic format (``sim run --call-log``).

The same columns a switch exports (docs/call-log.md), so that ``sim fit`` can be tested on a
log whose truth is known and researchers can read per-call output with their own tools. Extra
columns ``origin`` (first call or why it was made again) and ``replication`` carry the truth a
real log does not have; readers ignore them.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from sim.records.calls import Origin, Outcome

__all__ = ["START_DATE", "call_log_table", "encode_call_log", "log_start_date"]

START_DATE = date(2024, 1, 1)  # a Monday: simulated day 1 is the first matching weekday on or after
_OUTCOMES = {
    int(Outcome.SELF_SERVED): "self_served",
    int(Outcome.ANSWERED): "answered",
    int(Outcome.ABANDONED): "abandoned",
}


def log_start_date(start_weekday: str) -> date:
    """Calendar date of simulated day 1: the first ``start_weekday`` on or after START_DATE."""
    from sim.scenario.units import WEEKDAYS

    return START_DATE + timedelta(days=WEEKDAYS.index(start_weekday))


def call_log_table(records, start_weekday: str = "mon", replication: int = 0):
    """A pyarrow table of the calls that ended (calls still open at the horizon are left out,
    and so are calls whose callers took a call-back: the format has no outcome for them).

    ``arrival`` is when the call reached the agent queue (a self-served call: when it left the
    IVR), as a timestamp in seconds; waits and times are float seconds.
    """
    import pyarrow as pa

    c = records.calls
    ended = (c.outcome != int(Outcome.OPEN)) & (c.outcome < int(Outcome.CALLBACK))
    outcome = c.outcome[ended]
    answered = outcome == int(Outcome.ANSWERED)
    # no queue entry: self-served in the IVR (at its end), or reached by a dialer (its arrival)
    unqueued = np.where(c.origin == int(Origin.OUTBOUND), c.arrival, c.end)
    entry = np.where(np.isnan(c.queue_entry), unqueued, c.queue_entry)[ended]
    stop = np.where(answered, c.answer[ended], c.end[ended])
    wait = np.where(outcome == int(Outcome.SELF_SERVED), 0.0, stop - entry)
    order = np.argsort(entry, kind="stable")
    base = np.datetime64(log_start_date(start_weekday), "s")
    arrival = base + np.floor(entry).astype("timedelta64[s]")
    handle = np.where(answered, c.end[ended] - c.answer[ended], np.nan)
    acw = np.where(answered, c.release[ended] - c.end[ended], np.nan)
    group = c.group[ended].astype(int)
    agent = c.agent[ended].astype(int)
    groups = np.array([*records.groups, ""], dtype=object)
    agents = np.where(agent >= 0, np.char.add("a", agent.astype(str)), "")
    origins = np.array([o.name.lower() for o in Origin], dtype=object)

    def text(values) -> pa.Array:
        return pa.array(np.asarray(values, dtype=object)[order], pa.string())

    def num(values) -> pa.Array:
        return pa.array(np.asarray(values, dtype=float)[order], pa.float64(), from_pandas=True)

    return pa.table(
        {
            "arrival": pa.array(arrival[order], pa.timestamp("s")),
            "outcome": text(np.array(list(_OUTCOMES.values()), dtype=object)[outcome - 1]),
            "wait": num(np.round(wait, 3)),
            "handle_time": num(np.round(handle, 3)),
            "after_call_work": num(np.round(acw, 3)),
            "call_type": text(np.array(records.call_types, dtype=object)[c.call_type[ended]]),
            "tier": text(np.array(records.tiers, dtype=object)[c.tier[ended]]),
            "agent": text(agents),
            "group": text(groups[group]),
            "customer": text(np.char.add("c", c.customer[ended].astype(str))),
            "origin": text(origins[c.origin[ended]]),
            "replication": pa.array(np.full(len(order), replication, dtype=np.int32)),
        }
    )


def encode_call_log(table, fmt: str = "parquet") -> bytes:
    """``table`` as the bytes of a Parquet file (default) or a CSV file (ISO 8601 arrival).

    The caller writes them atomically (sim.report.files.write_atomic).
    """
    import io

    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    if fmt == "csv":
        iso = pc.strftime(table.column("arrival"), format="%Y-%m-%dT%H:%M:%S")
        table = table.set_column(0, "arrival", iso)
        pacsv.write_csv(table, buf, pacsv.WriteOptions(quoting_style="needed"))
    else:
        pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()
