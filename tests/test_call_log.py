"""Call logs as input: the generic format, mapping files, bad rows and bad files (exit 2)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.fit.calllog import (
    ABANDONED,
    ANSWERED,
    SELF_SERVED,
    load_mapping,
    read_call_log,
)
from sim.scenario.yamlsource import ScenarioError

HEADER = "arrival,outcome,wait,handle_time,call_type,tier,agent,customer\n"
GOOD = [
    "2024-01-01T08:00:05,answered,0,180,sales,gold,a1,c1",
    "2024-01-01T08:01:00,abandoned,35.5,,sales,standard,,c2",
    "2024-01-01 08:02:10,answered,12.25,300,support,standard,a2,c3",
    "2024-01-01T08:03:00.5,self_served,0,,support,standard,,c4",
]


def _log(write, rows: list[str], name: str = "log.csv", header: str = HEADER):
    return write(header + "\n".join(rows) + "\n", name)


def test_generic_csv_is_read_into_columns(write):
    data = read_call_log(_log(write, GOOD))
    assert len(data) == 4 and data.dropped == {}
    assert data.outcome[:4].tolist() == [ANSWERED, ABANDONED, ANSWERED, SELF_SERVED]
    assert data.arrival[1] - data.arrival[0] == 55
    assert data.arrival[3] - data.arrival[0] == 175  # fractional seconds are cut
    assert data.wait[2] == 12.25 and np.isnan(data.handle[1]) and data.handle[2] == 300
    types = data.labels["call_type"]
    assert [types.names[c] for c in types.codes[:3]] == ["sales", "sales", "support"]
    assert data.labels["agent"].codes[1] == -1  # empty label


def test_csv_and_parquet_give_the_same_columns(write, tmp_path):
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    path = _log(write, GOOD * 5)
    pq.write_table(pacsv.read_csv(path), tmp_path / "log.parquet")
    a, b = read_call_log(path), read_call_log(tmp_path / "log.parquet")
    assert np.array_equal(a.arrival, b.arrival) and np.array_equal(a.outcome, b.outcome)
    assert np.allclose(a.wait, b.wait) and np.allclose(a.handle, b.handle, equal_nan=True)


def test_missing_required_column_names_line_1_and_the_column(write):
    path = write("arrival,outcome,handle_time\n2024-01-01T08:00:00,answered,10\n", "log.csv")
    with pytest.raises(ScenarioError) as err:
        read_call_log(path)
    text = str(err.value)
    assert ":1: column 'wait'" in text and "missing" in text


def test_a_few_bad_rows_are_dropped_counted_and_shown_with_line_and_column(write):
    rows = GOOD * 30 + ["2024-01-01T25:00:00,answered,0,10,sales,gold,a1,c9"]
    data = read_call_log(_log(write, rows))
    assert len(data) == 120
    assert sum(data.dropped.values()) == 1
    assert "line 122: column 'arrival': not a date-time" in data.examples[0]


@pytest.mark.parametrize(
    ("bad_row", "column", "reason"),
    [
        ("yesterday,answered,0,10,sales,gold,a1,c9", "arrival", "not a date-time"),
        ("2024-01-01T09:00:00,answered,-4,10,sales,gold,a1,c9", "wait", "negative"),
        ("2024-01-01T09:00:00,answered,abc,10,sales,gold,a1,c9", "wait", "not a number"),
        (
            "2024-01-01T09:00:00,answered,3,,sales,gold,a1,c9",
            "handle_time",
            "answered call without a handle",
        ),
        ("2024-01-01T09:00:00,hung_up,3,,sales,gold,a1,c9", "outcome", "unknown outcome"),
    ],
)
def test_a_mostly_bad_log_is_refused_naming_line_and_column(write, bad_row, column, reason):
    path = _log(write, GOOD[:1] + [bad_row] * 3)
    with pytest.raises(ScenarioError) as err:
        read_call_log(path)
    text = str(err.value)
    assert "3 of 4 rows cannot be used" in text
    assert f"{path}:3: column '{column}': {reason}" in text  # file:line, as for scenarios


def test_values_from_the_file_are_shortened_in_messages(write):
    path = _log(write, GOOD[:1] + ["x" * 5000 + ",answered,0,10,a,b,c,d"] * 3)
    with pytest.raises(ScenarioError) as err:
        read_call_log(path)
    assert "x" * 40 not in str(err.value) and "..." in str(err.value)


MAPPING = """\
columns:
  arrival: [date, q_start]
  outcome: outcome
  wait: q_time
  handle_time: ser_time
  tier: priority
  customer: customer_id
  agent: server
time_format: "%y%m%d %H:%M:%S"
outcomes: {AGENT: answered, HANG: abandoned, PHANTOM: skip}
durations: clock
missing: ["0", NO_SERVER]
"""
EXPORT = """\
date,q_start,outcome,q_time,ser_time,priority,customer_id,server
990201,8:09:22,AGENT,0:00:12,0:03:05,2,1001,DORIT
990201,8:10:00,HANG,45,,0,1002,NO_SERVER
990201,8:11:30,PHANTOM,0,0,0,0,NO_SERVER
"""


def test_mapping_joins_columns_translates_codes_and_parses_clock_durations(write):
    data = read_call_log(write(EXPORT, "export.csv"), load_mapping(write(MAPPING, "map.yaml")))
    assert len(data) == 2 and data.dropped == {"outcome: 'PHANTOM' mapped to skip": 1}
    assert data.outcome.tolist() == [ANSWERED, ABANDONED]
    assert data.wait.tolist() == [12.0, 45.0] and data.handle[0] == 185.0
    assert data.arrival[1] - data.arrival[0] == 38
    assert str(np.datetime64(int(data.arrival[0]), "s")) == "1999-02-01T08:09:22"
    agent = data.labels["agent"]
    assert agent.names[agent.codes[0]] == "DORIT" and agent.codes[1] == -1  # NO_SERVER


def test_wrong_mapping_key_names_file_line_and_suggestion(write):
    path = write(MAPPING.replace("time_format", "time_fromat"), "map.yaml")
    with pytest.raises(ScenarioError) as err:
        load_mapping(path)
    text = str(err.value)
    assert f"{path}:9" in text and "time_format" in text


def test_mapping_to_a_column_the_export_lacks_is_an_error(write):
    mapping = load_mapping(write(MAPPING.replace("q_time", "queue_time"), "map.yaml"))
    with pytest.raises(ScenarioError) as err:
        read_call_log(write(EXPORT, "export.csv"), mapping)
    assert "column 'queue_time'" in str(err.value)


@pytest.mark.parametrize(
    "text",
    [
        "arrival,outcome\n2024-01-01T08:00:00,answered\n",  # missing column
        HEADER + "\n".join(["01/02/2024 08:00,answered,0,10,a,b,c,d"] * 5) + "\n",  # times
        HEADER + "\n".join(["2024-01-01T08:00:00,abandoned,-1,,a,b,c,d"] * 5) + "\n",  # negative
    ],
)
def test_cli_exit_2_with_a_message_and_no_traceback(write, text, tmp_path):
    path = write(text, "bad.csv")
    result = CliRunner().invoke(cli, ["fit", str(path), "--out", str(tmp_path / "o"), "--quiet"])
    assert result.exit_code == 2
    assert "error:" in result.output and "Traceback" not in result.output
    assert re.search(r"bad\.csv:\d+: column '\w+'", result.output), result.output


def test_cli_wrong_mapping_exits_2(write, tmp_path):
    log = write(EXPORT, "export.csv")
    bad = write("columns: {arival: date}\n", "map.yaml")
    result = CliRunner().invoke(cli, ["fit", str(log), "--map", str(bad), "--quiet"])
    assert result.exit_code == 2 and "unknown field 'arival'" in result.output
    assert "Traceback" not in result.output


def test_missing_log_file_exits_2(tmp_path):
    result = CliRunner().invoke(cli, ["fit", str(tmp_path / "nope.csv"), "--quiet"])
    assert result.exit_code == 2 and "file not found" in result.output
