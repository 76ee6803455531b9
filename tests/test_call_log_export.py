"""Raw exports through a mapping file (issue 22 part 4): the worked mapping of docs/call-log.md
on a small file in the shape of the Anonymous Bank export, and each mapping feature alone."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.fit.calllog import ABANDONED, ANSWERED, SELF_SERVED, read_call_log
from sim.fit.logmapping import LogMapping, load_mapping
from sim.scenario.yamlsource import ScenarioError

ROOT = Path(__file__).resolve().parent.parent
EXPORT = ROOT / "tests" / "data" / "bank_export.txt"


def doc_mapping() -> str:
    """The worked mapping as docs/call-log.md shows it (the test runs what the reader sees)."""
    doc = (ROOT / "docs" / "call-log.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- worked-mapping.*?```yaml\n(.*?)```", doc, re.S)
    assert match, "docs/call-log.md lost its worked mapping"
    return match.group(1)


@pytest.fixture
def bank(write):
    return read_call_log(EXPORT, load_mapping(write(doc_mapping(), "map.yaml")))


def _when(data, i: int) -> str:
    return str(np.datetime64(int(data.arrival[i]), "s"))


def _names(data, field: str) -> list[str]:
    lab = data.labels[field]
    return [lab.names[c] if c >= 0 else "" for c in lab.codes]


def test_worked_mapping_counts_every_case_of_the_export(bank):
    # 38 rows: 12 queued and answered, 6 queued and abandoned, 5 HANG that never queued,
    # 8 answered without queueing, 3 PHANTOM, 2 AGENT with NO_SERVER, 1 across midnight,
    # 1 whose IVR entry reads after its queue start
    assert bank.rows_read == 38 and len(bank) == 35
    assert bank.dropped == {"outcome: 'PHANTOM' mapped to skip": 3} and bank.examples == []
    codes = {"answered": ANSWERED, "abandoned": ABANDONED, "self": SELF_SERVED}
    counts = {k: int((bank.outcome == v).sum()) for k, v in codes.items()}
    assert counts == {"answered": 24, "abandoned": 6, "self": 5}


def test_worked_mapping_takes_the_ivr_exit_when_the_call_never_queued(bank):
    times = [_when(bank, i) for i in range(len(bank))]
    assert not any(t.endswith("T00:00:00") for t in times)  # no 0:00:00 queue start as midnight
    # never queued, answered: arrival = IVR exit 9:06:07 (entered 9:05:58), wait 0
    i = times.index("1999-02-01T09:06:07")
    assert bank.outcome[i] == ANSWERED and bank.wait[i] == 0 and bank.handle[i] == 90
    # HANG never queued: left in the IVR at its exit, self-served
    i = times.index("1999-02-01T08:57:31")
    assert bank.outcome[i] == SELF_SERVED
    # queued, abandoned after 20 s: arrival = queue start
    i = times.index("1999-02-01T08:38:15")
    assert bank.outcome[i] == ABANDONED and bank.wait[i] == 20


def test_worked_mapping_puts_a_call_queued_after_midnight_on_the_next_day(bank):
    times = [_when(bank, i) for i in range(len(bank))]
    assert "1999-02-02T00:00:05" in times and "1999-02-01T00:00:05" not in times
    # the clock drift of a real export (IVR entry 65 s after the queue start) is no midnight
    assert "1999-02-02T11:48:36" in times and "1999-02-03T11:48:36" not in times


def test_worked_mapping_missing_codes_are_per_field(bank):
    customers, agents, tiers = (_names(bank, f) for f in ("customer", "agent", "tier"))
    assert "0" not in customers and "" in customers  # customer 0: unknown
    assert "NO_SERVER" not in agents and "" in agents
    assert "0" in tiers and "" not in tiers  # priority 0 stays a real tier
    assert sorted(set(tiers)) == ["0", "1", "2"]


def test_worked_mapping_through_the_cli(write, tmp_path):
    mapping = write(doc_mapping(), "map.yaml")
    args = ["fit", str(EXPORT), "--map", str(mapping), "--out", str(tmp_path / "o"), "--quiet"]
    args += ["--no-calibrate", "--no-report", "--replications", "1", "--workers", "1"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output


def test_the_old_missing_list_still_applies_to_every_label(write):
    text = "arrival,outcome,wait,handle_time,tier,agent\n"
    text += "2024-01-01T08:00:00,answered,1,9,0,NO_SERVER\n2024-01-01T08:01:00,answered,1,9,1,A\n"
    mapping = load_mapping(write('missing: ["0", NO_SERVER]\n', "map.yaml"))
    data = read_call_log(write(text, "log.csv"), mapping)
    assert _names(data, "tier") == ["", "1"] and _names(data, "agent") == ["", "A"]


def test_the_old_example_mapping_cannot_put_calls_at_midnight_silently(write):
    """docs/call-log.md's old mapping: arrival [date, q_start] and no else."""
    text = doc_mapping().split("missing:")[0] + 'missing: ["0", NO_SERVER]\n'
    text = re.sub(r"  arrival:\n(    .*\n)+", "  arrival: [date, q_start]\n", text)
    with pytest.raises(ScenarioError) as err:
        read_call_log(EXPORT, load_mapping(write(text, "map.yaml")))
    assert "15 of 38 rows cannot be used" in str(err.value)  # the 15 never queued
    assert "exactly 00:00:00" in str(err.value)


def test_a_field_switched_off_is_absent_even_when_the_column_exists(write):
    text = doc_mapping().replace("  call_type: type\n", "  call_type: null\n")
    text = text.replace("  tier: priority\n", "  tier: null\n")
    data = read_call_log(EXPORT, load_mapping(write(text, "map.yaml")))
    assert "call_type" not in data.labels and "tier" not in data.labels
    generic = "arrival,outcome,wait,handle_time,call_type\n2024-01-01T08:00:00,answered,1,9,x\n"
    data = read_call_log(
        write(generic, "g.csv"), LogMapping.model_validate({"columns": {"call_type": None}})
    )
    assert "call_type" not in data.labels


def test_a_required_field_cannot_be_switched_off(write):
    with pytest.raises(ScenarioError) as err:
        load_mapping(write("columns: {wait: null}\n", "map.yaml"))
    assert "cannot be switched off" in str(err.value) and ":1" in str(err.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("columns: {arrival: {from: [a], els: [b]}}\n", "els"),
        ("columns: {arrival: {from: [a, b, c, d, e]}}\n", "1 to 4 column"),
        ("columns: {wait: {from: w, not_before: s}}\n", "arrival only"),
        ("outcome_rules: [{when: {}, then: skip}]\n", "1 to 8 columns"),
        ("outcome_rules: [{when: {a: x}, then: hung_up}]\n", "then"),
        ("missing: {custmer: ['0']}\n", "unknown field 'custmer'"),
        ("time_format: '%Y-%m-%d %H:%M:%S%z'\n", "local time as written"),
    ],
)
def test_mapping_mistakes_are_named(write, text, message):
    with pytest.raises(ScenarioError) as err:
        load_mapping(write(text, "map.yaml"))
    assert message in str(err.value) and "map.yaml:1" in str(err.value)


def test_a_rule_or_else_column_the_export_lacks_is_named(write):
    text = doc_mapping().replace('q_start: "0:00:00"}', 'queue_start: "0:00:00"}')
    with pytest.raises(ScenarioError) as err:
        read_call_log(EXPORT, load_mapping(write(text, "map.yaml")))
    assert "column 'queue_start'" in str(err.value) and "outcome_rules" in str(err.value)
    text = doc_mapping().replace("else: [date, vru_exit]", "else: [date, ivr_exit]")
    with pytest.raises(ScenarioError) as err:
        read_call_log(EXPORT, load_mapping(write(text, "map.yaml")))
    assert ":1: column 'ivr_exit'" in str(err.value)


HEADER = "arrival,outcome,wait,handle_time\n"


def test_arrivals_massed_at_midnight_are_unusable_rows_not_silent_midnights(write):
    """The docs' old example (arrival: [date, q_start]) put calls that never queued at 00:00."""
    rows = [
        f"2024-01-0{1 + i % 3}T{8 + i % 9:02d}:{i % 60:02d}:07,answered,3,60" for i in range(200)
    ]
    rows += ["2024-01-01T00:00:00,answered,0,60"] * 6  # below 5 % of the rows
    data = read_call_log(write(HEADER + "\n".join(rows) + "\n", "log.csv"))
    assert len(data) == 200
    [(reason, count)] = data.dropped.items()
    assert count == 6 and "exactly 00:00:00" in reason
    assert "line 202: column 'arrival'" in data.examples[0]
    rows += ["2024-01-02T00:00:00,abandoned,4,"] * 10  # above: the log is refused
    with pytest.raises(ScenarioError) as err:
        read_call_log(write(HEADER + "\n".join(rows) + "\n", "log.csv"))
    assert "16 of 216 rows cannot be used" in str(err.value)


def test_a_busy_night_keeps_its_calls_at_midnight(write):
    """A 24-hour center has calls at 00:00:00 as often as at the seconds around it."""
    rows = [f"2024-01-0{1 + d}T23:59:{s:02d},answered,3,60" for d in range(3) for s in range(60)]
    rows += [f"2024-01-0{2 + d}T00:00:{s:02d},answered,3,60" for d in range(3) for s in range(60)]
    data = read_call_log(write(HEADER + "\n".join(rows) + "\n", "log.csv"))
    assert len(data) == 360 and data.dropped == {}


def test_conditional_source_for_a_number_and_rules_in_order(write):
    text = "arrival,code,w1,w2,handle_time,flag\n"
    text += "2024-01-01T08:00:00,A,5,7,60,x\n2024-01-01T08:01:00,A,,9,60,x\n"
    text += "2024-01-01T08:02:00,B,-,4,,y\n2024-01-01T08:03:00,B,2,4,,z\n"
    mapping = LogMapping.model_validate({
        "columns": {"outcome": "code", "wait": {"from": "w1", "else": "w2"}},
        "missing": {"wait": "-"},
        "outcomes": {"A": "answered", "B": "abandoned"},
        "outcome_rules": [{"when": {"code": "B", "flag": "y"}, "then": "self_served"},
                          {"when": {"code": ["B", "C"]}, "then": "skip"}],
    })  # fmt: skip
    data = read_call_log(write(text, "log.csv"), mapping)
    assert data.wait.tolist() == [5, 9, 4]
    assert data.outcome.tolist() == [ANSWERED, ANSWERED, SELF_SERVED]
    assert data.dropped == {"outcome: skipped by outcome_rules": 1}


def test_a_missing_code_given_as_a_yaml_number_is_text(write):
    mapping = load_mapping(write("missing: {customer: [0]}\n", "map.yaml"))
    assert mapping.missing_codes("customer") == {"0"} and mapping.missing_codes("tier") == set()


def test_an_arrival_hours_before_the_calls_start_is_a_bad_row(write):
    """A queue start of 0:00:00 read as a time, on a call that began at 9:00: flagged."""
    text = "date,q_start,vru_entry,outcome,wait,handle_time\n"
    text += "".join(f"990201,9:{i:02d}:30,9:{i:02d}:00,answered,0,60\n" for i in range(40))
    text += "990201,0:00:00,9:00:00,answered,0,60\n"
    mapping = LogMapping.model_validate({
        "columns": {"arrival": {"from": ["date", "q_start"], "not_before": ["date", "vru_entry"]}},
        "time_format": "%y%m%d %H:%M:%S",
    })  # fmt: skip
    data = read_call_log(write(text, "log.csv"), mapping)
    assert len(data) == 40
    assert "line 42: column 'date,q_start': more than an hour before" in data.examples[0]


def test_another_format_reuses_the_mapping_with_its_own_fields(write):
    from typing import ClassVar

    class ReportMapping(LogMapping):
        fields: ClassVar[tuple[str, ...]] = ("start", "offered", "queue")
        required_fields: ClassVar[tuple[str, ...]] = ("start", "offered")
        label_fields: ClassVar[tuple[str, ...]] = ("queue",)

    mapping = load_mapping(write("columns: {offered: calls, queue: null}\nmissing: [x]\n"),
                           ReportMapping)  # fmt: skip
    assert mapping.source("offered") == ["calls"] and mapping.spec("queue") is None
    assert mapping.missing_codes("queue") == {"x"} and mapping.missing_codes("offered") == set()
    with pytest.raises(ScenarioError) as err:
        load_mapping(write("columns: {wait: w}\n"), ReportMapping)
    assert "unknown field 'wait'; fields: start, offered, queue" in str(err.value)
