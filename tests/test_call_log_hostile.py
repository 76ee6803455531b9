"""Hostile call logs (issue 26): each class ends in a clear error naming file, line or row and
column, or in a bad row counted by reason; never a traceback, an infinity, a time converted to
UTC, or memory that grows with a date or a label count."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.fit import calllog, logtable
from sim.fit.calllog import read_call_log
from sim.scenario.limits import MAX_LOG_DAYS, MAX_NAMES
from sim.scenario.yamlsource import ScenarioError

HEADER = "arrival,outcome,wait,handle_time,call_type\n"
OK = "2024-01-01T08:00:00,answered,3,60,a\n"
START = np.datetime64("2024-01-01T08:00:00", "s")


def _csv(write, rows: list[str], header: str = HEADER, name: str = "log.csv"):
    return write(header + "".join(rows), name)


def _parquet(tmp_path, n: int = 20, name: str = "log.parquet", **columns):
    base = {
        "arrival": pa.array(START + np.arange(n) * 60),
        "outcome": pa.array(["answered"] * n),
        "wait": pa.array([3.0] * n),
        "handle_time": pa.array([60.0] * n),
    }
    path = tmp_path / name
    pq.write_table(pa.table({**base, **columns}), path)
    return path


def _error(path, mapping=None) -> str:
    with pytest.raises(ScenarioError) as err:
        read_call_log(path, mapping)
    return str(err.value)


def test_a_field_of_40_mib_names_its_line(write):
    path = _csv(write, [OK] * 3 + [f'2024-01-01T08:00:00,answered,3,60,"{"x" * (40 << 20)}"\n'])
    text = _error(path)
    assert f"{path}:5: a field longer than" in text and len(text) < 300


def test_a_long_name_is_a_bad_row_not_a_model_element(write):
    data = read_call_log(
        _csv(write, [OK] * 30 + [f"2024-01-01T09:00:00,answered,3,60,{'y' * 5000}\n"])
    )
    assert data.dropped == {"call_type: a name longer than 200 characters": 1}
    assert data.labels["call_type"].names == ["a"]


@pytest.mark.parametrize(
    ("values", "shown"),
    [
        (pa.array([[1, 2]] * 20), "list<"),
        (pa.array([{"a": 1}] * 20), "struct<"),
        (pa.array([{"k": 1}] * 20, pa.map_(pa.string(), pa.int64())), "map<"),
    ],
)
def test_parquet_nested_columns_are_refused_by_type(tmp_path, values, shown):
    text = _error(_parquet(tmp_path, call_type=values))
    assert "column 'call_type': a column of type" in text and shown in text
    assert "text, numbers, timestamps or durations" in text


def test_parquet_bytes_that_are_not_utf8_are_named(tmp_path):
    text = _error(_parquet(tmp_path, call_type=pa.array([b"\xff\xfe"] * 20, pa.binary())))
    assert "column 'call_type': bytes that are not UTF-8 text" in text
    data = read_call_log(_parquet(tmp_path, call_type=pa.array([b"sales"] * 20, pa.binary())))
    assert data.labels["call_type"].names == ["sales"]


@pytest.mark.parametrize("value", ["1e300", "1e999", "1e400", "-1e999", "inf", "nan", "86401"])
def test_huge_or_infinite_durations_are_bad_rows(write, value):
    data = read_call_log(_csv(write, [OK] * 40 + [_row(value, 2)]))
    assert len(data) == 40 and sum(data.dropped.values()) == 1
    [reason] = data.dropped
    assert reason.startswith("wait: ")
    assert np.isfinite(data.wait).all() and data.wait.max() <= 86_400


def test_parquet_infinite_wait_is_a_bad_row(tmp_path):
    wait = pa.array([3.0] * 39 + [np.inf])
    data = read_call_log(_parquet(tmp_path, 40, wait=wait))
    assert data.dropped == {"wait: not a number": 1}


@pytest.mark.parametrize(("unit", "stored"), [("s", 303), ("ms", 303_100), ("us", 303_100_000)])
def test_parquet_durations_are_converted_to_seconds(tmp_path, unit, stored):
    data = read_call_log(_parquet(tmp_path, wait=pa.array([stored] * 20, pa.duration(unit))))
    assert data.wait[0] == pytest.approx(stored / {"s": 1, "ms": 1e3, "us": 1e6}[unit])


def test_time_zone_aware_parquet_is_local_time_as_written(tmp_path):
    """08:00 in Berlin is stored as 07:00 UTC: the log's day opens at 08:00, not 07:00."""
    utc = START - np.timedelta64(1, "h") + np.arange(20) * np.timedelta64(60, "s")
    stamps = pa.array(utc.astype("datetime64[ms]"), pa.timestamp("ms", tz="Europe/Berlin"))
    data = read_call_log(_parquet(tmp_path, arrival=stamps))
    assert str(np.datetime64(int(data.arrival[0]), "s")) == "2024-01-01T08:00:00"


@pytest.mark.parametrize("suffix", ["+02:00", "-0500", "Z", " +02:00", ".250+02:00"])
def test_csv_time_zone_offsets_are_ignored_not_converted(write, suffix):
    data = read_call_log(_csv(write, [f"2024-01-01T08:00:00{suffix},answered,3,60,a\n"] * 3))
    assert str(np.datetime64(int(data.arrival[0]), "s")) == "2024-01-01T08:00:00"


def test_a_header_of_15000_columns_is_read_whole(write):
    header = ",".join(f"column_{i:05d}" for i in range(15_000)) + ",arrival,outcome,wait\n"
    row = "," * 15_000 + "2024-01-01T08:00:00,abandoned,3\n"
    assert len(header) > 1 << 17
    data = read_call_log(_csv(write, [row] * 3, header))
    assert len(data) == 3


def test_a_header_line_beyond_the_bound_is_refused(write, monkeypatch):
    monkeypatch.setattr(logtable, "MAX_HEADER", 1000)
    text = _error(_csv(write, [OK], "x" * 2000 + "\n"))
    assert ":1: the header line is longer than" in text


@pytest.mark.parametrize(
    ("first", "last"), [("1900-01-01", "2199-12-31"), ("0001-01-01", "9999-12-31")]
)
def test_a_log_spanning_centuries_is_refused_before_any_allocation(write, first, last):
    rows = [f"{first}T08:00:00,answered,3,60,a\n"] * 20 + [
        f"{last}T08:00:00,answered,3,60,a\n"
    ] * 20
    path = _csv(write, rows)
    text = _error(path)
    assert f"{path}: column 'arrival': arrivals span" in text
    assert f"at most {MAX_LOG_DAYS:,} days" in text and "(line 2)" in text and "(line 22)" in text


def test_ten_years_are_allowed(write):
    rows = [OK, "2033-12-31T08:00:00,answered,3,60,a\n"]
    assert len(read_call_log(_csv(write, rows))) == 2


@pytest.mark.parametrize(
    ("field", "limit"), [("group", MAX_NAMES), ("tier", MAX_NAMES), ("call_type", MAX_NAMES)]
)
def test_one_distinct_label_per_row_is_refused(write, field, limit):
    rows = [f"2024-01-01T08:00:00,answered,3,60,v{i}\n" for i in range(limit + 1)]
    text = _error(_csv(write, rows, f"arrival,outcome,wait,handle_time,{field}\n"))
    assert f"column '{field}': more than {limit:,} distinct {field} values" in text


def test_many_agents_and_customers_are_allowed(write):
    rows = [f"2024-01-01T08:00:00,answered,3,60,a{i},c{i}\n" for i in range(3000)]
    data = read_call_log(_csv(write, rows, "arrival,outcome,wait,handle_time,agent,customer\n"))
    assert len(data.labels["agent"].names) == 3000 == len(data.labels["customer"].names)


@pytest.mark.parametrize(
    "name",
    ["\x1b[2J", "\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\", "a\x9bb", "x\u202ey",
     "\u2066y\u2069", "tab\there", "nul\x00"],
)  # fmt: skip
def test_names_with_control_characters_are_bad_rows(tmp_path, name):
    n = 40
    types = pa.array(["sales"] * (n - 1) + [name])
    data = read_call_log(_parquet(tmp_path, n, call_type=types))
    assert data.dropped == {"call_type: a control character in a name (names are printable)": 1}
    assert data.labels["call_type"].names == ["sales"]
    assert "\x1b" not in data.examples[0] and "\u202e" not in data.examples[0]


def test_names_starting_like_formulas_are_kept(write):
    rows = [f"2024-01-01T08:00:00,answered,3,60,{v}\n" for v in ("=1+1", "+x", "-y", "@z")]
    assert read_call_log(_csv(write, rows)).labels["call_type"].names == ["=1+1", "+x", "-y", "@z"]


def test_more_rows_than_the_limit_are_refused_csv_and_parquet(write, tmp_path, monkeypatch):
    monkeypatch.setattr(calllog, "MAX_ROWS", 10)
    assert "more than 10 rows" in _error(_csv(write, [OK] * 11))
    assert "more than 10 rows" in _error(_parquet(tmp_path, 11))


def test_dictionary_encoded_parquet_is_read_as_names(tmp_path):
    types = pa.array(["sales", "support"] * 10).dictionary_encode()
    data = read_call_log(_parquet(tmp_path, call_type=types, tier=pa.array(list(range(20)))))
    lab = data.labels["call_type"]
    assert [lab.names[c] for c in lab.codes[:3]] == ["sales", "support", "sales"]
    assert len(data.labels["tier"].names) == 20  # integers as text


def _row(value: str, field: int = 4) -> str:
    cells = ["2024-01-01T08:00:00", "answered", "3", "60", "a"]
    cells[field] = value
    return ",".join(cells) + "\n"


SPAN = [_row("1900-01-01T08:00:00", 0)] * 3 + [_row("2199-01-01T08:00:00", 0)] * 3
HUGE = [OK] * 3 + [_row(f'"{"x" * (40 << 20)}"')]
CLI_CASES = {
    "span": (lambda w, t: _csv(w, SPAN), "arrivals span"),
    "list": (lambda w, t: _parquet(t, call_type=pa.array([[1]] * 20)), "a column of type"),
    "escape": (lambda w, t: _csv(w, [_row("\x1b[31mred")] * 5), "a control character"),
    "1e999": (lambda w, t: _csv(w, [_row("1e999", 2)] * 5), "not a number"),
    "40MiB": (lambda w, t: _csv(w, HUGE), "a field longer than"),
    "types": (lambda w, t: _csv(w, [_row(f"t{i}") for i in range(MAX_NAMES + 1)]), "distinct"),
}


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_cli_prints_one_clear_line_and_exits_2(write, tmp_path, case):
    make, expect = CLI_CASES[case]
    path = make(write, tmp_path)
    result = CliRunner().invoke(cli, ["fit", str(path), "--out", str(tmp_path / "o"), "--quiet"])
    assert result.exit_code == 2, result.output
    assert expect in result.output and "Traceback" not in result.output
    assert "\x1b" not in result.output and len(result.output) < 3000
    assert not (tmp_path / "o").exists()


def test_header_names_are_trimmed_and_an_empty_file_is_named(write):
    data = read_call_log(
        write(" arrival , outcome,wait\n2024-01-01T08:00:00,abandoned,3\n", "a.csv")
    )
    assert len(data) == 1
    assert ":1: no header row" in _error(write("", "empty.csv"))


def test_duplicate_names_in_unused_columns_do_not_matter(write):
    header = "x,x,arrival,outcome,wait,x\n"
    data = read_call_log(_csv(write, ["1,2,2024-01-01T08:00:00,abandoned,3,4\n"] * 2, header))
    assert len(data) == 2
