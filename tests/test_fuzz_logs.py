"""Fuzzing call logs (issue 26): Parquet column types, day spans, label counts and control
characters drawn by hypothesis. In process, every drawn log is either read into columns that
keep the reader's promises or refused with a :class:`ScenarioError` naming the file; never
another exception. A few drawn logs also go through ``sim fit`` as a subprocess under the fuzz
limits (:mod:`fuzzkit`: exit 0 or 2, no traceback, within time and memory).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from sim.fit.calllog import read_call_log
from sim.scenario.limits import MAX_CALL_SECONDS, MAX_LOG_DAYS, MAX_NAMES
from sim.scenario.yamlsource import ScenarioError

START = np.datetime64("2024-01-01T08:00:00", "s")
NAMES = ["sales", "=HYPERLINK(\"x\")", "+1", "-", "@a", "ü" * 3, "\x1b[2J", "a\x9bb", "x\u202ey",
         "\u2066", "tab\t", "\x00", "", " ", "y" * 300, "0", "NO_SERVER"]  # fmt: skip
OUTCOMES = ["answered", "abandoned"]
NUMBERS = [0.0, 3.5, -1.0, 1e300, np.inf, -np.inf, np.nan, 86_400.0, 86_401.0, 5e-324]
YEARS = ["0001", "1900", "1970", "1999", "2024", "2199", "9999"]
FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def mostly(draw, good: list, hostile: list) -> list:
    """``good`` with a few rows (or, sometimes, every row) replaced by hostile values: most
    drawn logs are read, with a few bad rows, so the reader's promises are tested too."""
    values = list(good)
    if draw(st.integers(0, 9)) == 0:
        return [draw(st.sampled_from(hostile)) for _ in values]
    for _ in range(draw(st.integers(0, 3))):
        values[draw(st.integers(0, len(values) - 1))] = draw(st.sampled_from(hostile))
    return values


@st.composite
def name_columns(draw, n: int):
    """A label column of one of the types a writer may choose, or a nested one."""
    kind = draw(st.sampled_from(["text", "dict", "binary", "bad_binary", "int", "list", "struct",
                                 "many", "null"]))  # fmt: skip
    values = draw(mostly([draw(st.sampled_from(["sales", "support"])) for _ in range(n)], NAMES))
    if kind == "text":
        return pa.array(values)
    if kind == "dict":
        return pa.array(values).dictionary_encode()
    if kind == "binary":
        return pa.array([v.encode() for v in values], pa.binary())
    if kind == "bad_binary":
        return pa.array([b"\xff" + v.encode() for v in values], pa.binary())
    if kind == "int":
        return pa.array(list(range(n)))
    if kind == "list":
        return pa.array([[1, 2]] * n)
    if kind == "struct":
        return pa.array([{"a": 1}] * n)
    if kind == "many":  # one distinct name per row
        return pa.array([f"v{i}" for i in range(n)])
    return pa.nulls(n, pa.string())


@st.composite
def wait_columns(draw, n: int):
    kind = draw(st.sampled_from(["float", "int", "duration", "text", "decimal"]))
    values = draw(mostly([float(i % 50) for i in range(n)], NUMBERS))
    if kind == "float":
        return pa.array(values)
    finite = [v if np.isfinite(v) else 0.0 for v in values]
    if kind == "int":
        return pa.array([int(min(max(v, -1e15), 1e15)) for v in finite])
    if kind == "duration":
        unit = draw(st.sampled_from(["s", "ms", "us", "ns"]))
        scale = {"s": 1, "ms": 1e3, "us": 1e6, "ns": 1e9}[unit]
        return pa.array([int(min(max(v, 0), 1e6) * scale) for v in finite], pa.duration(unit))
    if kind == "decimal":
        return pa.array([round(min(max(v, -1e6), 1e6), 2) for v in finite]).cast(
            pa.decimal128(12, 2)
        )
    hostile = ["1e999", "1e400", "nan", "-inf", "", "x", "1e300"]
    return pa.array(draw(mostly([str(v) for v in finite], hostile)))


@st.composite
def arrival_columns(draw, n: int):
    """Timestamps of any unit, with or without a zone, or text, over any span of years."""
    years = draw(mostly(["2024"] * n, YEARS))
    stamps = [f"{years[i]}-01-0{1 + i % 7}T08:{i % 60:02d}:00" for i in range(n)]
    kind = draw(st.sampled_from(["text", "offset", "timestamp", "zoned"]))
    if kind == "text":
        return pa.array(stamps)
    if kind == "offset":
        return pa.array([s + draw(st.sampled_from(["Z", "+02:00", "-0530", ""])) for s in stamps])
    unit = draw(st.sampled_from(["s", "ms", "us"]))
    values = np.array(stamps, dtype=f"datetime64[{unit}]")
    zone = draw(st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"]))
    return pa.array(values, pa.timestamp(unit, tz=zone if kind == "zoned" else None))


@st.composite
def parquet_logs(draw) -> bytes:
    n = draw(st.integers(1, 80))
    columns = {
        "arrival": draw(arrival_columns(n)),
        "outcome": pa.array(draw(mostly(OUTCOMES * n, ["x", "", "ANSWERED", "self_served"]))[:n]),
        "wait": draw(wait_columns(n)),
        "handle_time": draw(wait_columns(n)),
    }
    labels = st.sampled_from(["call_type", "tier", "group", "agent", "customer"])
    for field in draw(st.lists(labels, unique=True, max_size=3)):
        columns[field] = draw(name_columns(n))
    buf = io.BytesIO()
    pq.write_table(pa.table(columns), buf)
    return buf.getvalue()


def _promises(data) -> None:
    """What every read log keeps, whatever the file held."""
    assert len(data) > 0 and len(data.outcome) == len(data)
    assert np.isfinite(data.wait).all() and (data.wait >= 0).all()
    assert (data.wait <= MAX_CALL_SECONDS).all()
    answered = data.handle[~np.isnan(data.handle)]
    assert (answered >= 0).all() and (answered <= MAX_CALL_SECONDS).all()
    days = data.arrival.max() // 86400 - data.arrival.min() // 86400 + 1
    assert days <= MAX_LOG_DAYS
    assert np.all(np.diff(data.arrival) >= 0)
    for field, lab in data.labels.items():
        assert all(n.isprintable() and len(n) <= 200 and n for n in lab.names), lab.names
        assert field in ("agent", "customer") or len(lab.names) <= MAX_NAMES
        assert lab.codes.min(initial=-1) >= -1 and lab.codes.max(initial=-1) < len(lab.names)


def _read(path: Path) -> None:
    try:
        data = read_call_log(path)
    except ScenarioError as exc:
        assert str(exc).startswith(str(path)), str(exc)
        assert "Traceback" not in str(exc) and len(str(exc)) < 5000
        return
    _promises(data)


@FUZZ
@given(parquet_logs())
def test_any_parquet_log_is_read_with_its_promises_or_refused(tmp_path_factory, blob):
    path = tmp_path_factory.mktemp("fuzzlog") / "log.parquet"
    path.write_bytes(blob)
    _read(path)


@st.composite
def csv_logs(draw) -> str:
    n = draw(st.integers(1, 80))
    years = draw(mostly(["2024"] * n, YEARS))
    suffixes = draw(mostly([""] * n, ["Z", "+01:00", ".5", "-0530", " 08:00"]))
    waits = draw(mostly(["3"] * n, ["0", "1e999", "1e400", "1e300", "-0", "nan", "", "-4"]))
    names = draw(mostly(["sales"] * n, [v.replace(",", "").replace("\n", "") for v in NAMES]))
    tiers = draw(mostly(["0"] * n, ["1", "2", *(f"t{i}" for i in range(n))]))
    lines = ["arrival,outcome,wait,handle_time,call_type,tier"]
    for i in range(n):
        when = f"{years[i]}-0{1 + i % 9}-1{i % 10}T{i % 24:02d}:00:{i % 60:02d}{suffixes[i]}"
        lines.append(f'{when},{OUTCOMES[i % 2]},{waits[i]},60,"{names[i]}",{tiers[i]}')
    return "\n".join(lines) + "\n"


@FUZZ
@given(csv_logs())
def test_any_csv_log_is_read_with_its_promises_or_refused(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzzlog") / "log.csv"
    path.write_text(text, encoding="utf-8")
    _read(path)


@pytest.mark.slow
@settings(max_examples=4, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(parquet_logs())
def test_sim_fit_on_drawn_logs_ends_0_or_2_within_limits(blob):
    """The command line path under the fuzz limits (time, memory, no traceback)."""
    from fuzzkit import Case, run_case

    case = Case("fit-parquet", {"log.parquet": blob}, command="fit", target="log.parquet")
    for outcome in run_case(case, time_limit=90):
        note(outcome.stderr[-2000:])
        assert not outcome.problems, (outcome.problems, outcome.stderr[-2000:])
