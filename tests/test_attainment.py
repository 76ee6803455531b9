"""Target attainment interval by interval: counts, shares of calls, worst intervals, the times
of day that miss (wrapping past midnight), headlines that never hide a miss."""

from __future__ import annotations

import numpy as np
from click.testing import CliRunner

from sim.cli import cli
from sim.kpi.attainment import attainment, interval_targets
from sim.report.numbers import headline

ROWS = [  # day, weekday, start, offered, service level
    (1, "mon", "00:00", 10, 0.50),
    (1, "mon", "12:00", 100, 0.90),
    (1, "mon", "18:00", 50, 0.84),
    (2, "tue", "00:00", 20, 0.70),
    (2, "tue", "12:00", 100, 0.95),
    (2, "tue", "18:00", 0, np.nan),  # no calls: no figure, left out
]


def table():
    cols = list(zip(*ROWS, strict=True))
    return {
        "day": np.array(cols[0]),
        "weekday": np.array(cols[1], dtype=object),
        "start": np.array(cols[2], dtype=object),
        "offered_mean": np.array(cols[3], dtype=float),
        "service_level_mean": np.array(cols[4], dtype=float),
        "service_level.type=complaint_mean": np.array([0.1, 0.9, 0.9, 0.1, 0.9, np.nan]),
        "offered.type=complaint_mean": np.array([1.0, 10, 5, 2, 10, 0]),
    }


def test_counts_shares_and_worst_intervals():
    a = attainment(table(), {"service_level": {"at_least": 0.85}})
    assert a["intervals"] == 6
    sl = a["targets"][0]
    assert sl["kpi"] == "service_level"
    assert (sl["intervals"], sl["intervals_met"], sl["intervals_missed"]) == (5, 2, 3)
    assert sl["share_intervals_met"] == 2 / 5
    assert sl["calls"] == 280 and sl["calls_in_missed"] == 80
    assert sl["share_calls_met"] == 200 / 280
    assert [(w["day"], w["start"], w["value"]) for w in sl["worst"]] == [
        (1, "00:00", 0.5),
        (2, "00:00", 0.7),
        (1, "18:00", 0.84),
    ]
    assert sl["worst"][0]["offered"] == 10
    # the call-type segment takes the overall target and its own offered calls
    seg = a["targets"][1]
    assert seg["kpi"] == "service_level.type=complaint"
    assert seg["intervals_missed"] == 2 and seg["calls"] == 28 and seg["calls_in_missed"] == 3


def test_misses_merge_times_of_day_and_wrap_past_midnight():
    a = attainment(table(), {"service_level": {"at_least": 0.85}}, interval=6 * 3600)
    misses = a["targets"][0]["misses"]
    # 18:00 goes on into 00:00 past midnight: one run, ending with the 00:00 interval at 06:00
    # (not at the next start, 12:00, which meets)
    assert misses == [
        {
            "from": "18:00",
            "to": "06:00",
            "slots": 2,
            "intervals_missed": 3,
            "intervals": 3,
            "days_missed": 2,
            "days": 2,
            "worst": 0.5,
            "clearly": None,
        }
    ]


def test_at_most_targets_and_segments_with_their_own_target():
    t = table()
    t["abandon_rate_mean"] = np.array([0.2, 0.01, 0.04, 0.05, 0.0, np.nan])
    targets = {
        "abandon_rate": {"at_most": 0.05},
        "service_level": {"at_least": 0.8},
        "service_level.type=complaint": {"at_least": 0.05},
    }
    found = interval_targets(targets, t)
    assert found["service_level.type=complaint"] == ("at_least", 0.05)
    a = attainment(t, targets)
    ab = next(e for e in a["targets"] if e["kpi"] == "abandon_rate")
    assert ab["intervals_missed"] == 1 and ab["worst"][0]["value"] == 0.2  # 0.05 meets <= 0.05
    seg = next(e for e in a["targets"] if e["kpi"] == "service_level.type=complaint")
    assert seg["intervals_missed"] == 0


def test_headline_never_says_a_bare_met_over_missed_intervals():
    sl = attainment(table(), {"service_level": {"at_least": 0.85}})["targets"][0]
    text = headline(sl, {"mean": 0.88, "met": True})
    assert text == "met overall, missed in 3 of 5 intervals (60%, with 29% of the calls)"
    ok = attainment(table(), {"service_level": {"at_least": 0.1}})["targets"][0]
    assert headline(ok, {"met": True}) == "met overall, met in all 5 intervals"


def run_two(scenario: str, out, *more: str) -> tuple[str, dict]:
    """``sim run`` of 2 replications into ``out``: its output and summary.json."""
    import json

    args = f"run {scenario} --replications 2 --workers 1 --quiet --out {out}".split()
    result = CliRunner().invoke(cli, [*args, *more])
    assert result.exit_code == 0, result.output
    return result.output, json.loads((out / "summary.json").read_text())


def test_run_prints_attainment_first_and_summary_json_holds_it(tmp_path):
    output, summary = run_two("scenarios/erlang_a.yaml", tmp_path / "run", "--no-report")
    first = output.index("Targets interval by interval")
    assert first < output.index("replications, seed")
    entry = summary["attainment"]["targets"][0]
    assert entry["kpi"] == "service_level"
    assert entry["intervals_met"] + entry["intervals_missed"] == entry["intervals"] > 0


def test_output_in_a_log_keeps_names_and_paths_on_one_line(tmp_path):
    out = tmp_path / ("a_long_folder_name_for_a_log_" * 4) / "run"
    result = CliRunner().invoke(
        cli,
        [
            *("run", "scenarios/hotline_baseline.yaml", "--replications", "2", "--workers", "1"),
            *("--quiet", "--no-report", "--out", str(out)),
        ],
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert f"results: {out}" in lines  # the path is not folded across lines
    assert any("first_contact_resolution" in line for line in lines)
    assert any("service_level, complaint calls" in line for line in lines)
    assert all(len(line) <= 240 or line.startswith("  ") for line in lines)


def test_clearly_missed_needs_the_whole_ci_on_the_wrong_side():
    t = table()
    t["service_level_ci_high"] = np.array([0.6, 0.95, 0.9, 0.84, 0.99, np.nan])
    sl = attainment(t, {"service_level": {"at_least": 0.85}})["targets"][0]
    # missed: mon 00:00 (CI up to 0.6: clearly), mon 18:00 (up to 0.9: maybe noise),
    # tue 00:00 (up to 0.84: clearly)
    assert sl["intervals_missed"] == 3 and sl["intervals_missed_clearly"] == 2
    assert headline(sl, {"met": True}).endswith("; 2 clearly, their 95% CI on the wrong side)")
    assert (
        attainment(table(), {"service_level": {"at_least": 0.85}})["targets"][0][
            "intervals_missed_clearly"
        ]
        is None
    )


def test_daily_targets_are_judged_day_by_day():
    from sim.kpi.attainment import day_attainment

    daily = {
        "day": np.array([1, 2, 3, 4]),
        "weekday": np.array(["fri", "sat", "sun", "mon"]),
        "delivery_on_time_mean": np.array([0.97, 0.40, np.nan, 0.93]),
        "delivery_on_time_ci_low": np.array([0.95, 0.30, np.nan, 0.90]),
        "delivery_on_time_ci_high": np.array([0.99, 0.50, np.nan, 0.96]),
        "orders_created_mean": np.array([10.0, 12.0, 0.0, 9.0]),
    }
    got = day_attainment(daily, {"delivery_on_time": {"at_least": 0.95}})
    (e,) = got["targets"]
    assert got["days"] == 4 and e["days"] == 3  # a day with nothing due has no figure
    assert (e["days_met"], e["days_missed"], e["days_missed_clearly"]) == (1, 2, 1)
    assert [(m["weekday"], m["clearly"]) for m in e["missed"]] == [("sat", True), ("mon", False)]
    assert day_attainment(None, {"delivery_on_time": {"at_least": 0.95}})["targets"] == []


def test_daily_back_office_on_time_counts_items_by_creation_day():
    """The per-day column against a count by hand from the records, and the KPI equals the
    pooled days (no warm-up)."""
    from sim.model.simulation import simulate
    from sim.records.business import LeadState
    from sim.scenario.loading import load_scenario
    from sim.scenario.units import DAY

    sc = load_scenario("tests/scenarios/business_small.yaml")
    run = simulate(sc, replication=0, keep_records=True)
    b = run.business
    column = run.extra["daily"]["back_office_on_time"]
    end = sc.horizon.days * DAY
    due_all = on_time_all = 0
    for day in range(sc.horizon.days):
        due = on_time = 0
        for rows in (b.leads, b.work_orders):
            mine = (rows.created // DAY == day) & (rows.deadline <= end)
            ok = mine & (rows.state != LeadState.OPEN) & (rows.closed <= rows.deadline)
            due, on_time = due + int(mine.sum()), on_time + int(ok.sum())
        due_all, on_time_all = due_all + due, on_time_all + on_time
        if due:
            assert column[day] == on_time / due
        else:
            assert np.isnan(column[day])
    assert due_all > 0 and run.kpis["back_office_on_time"] == on_time_all / due_all


def test_run_prints_daily_targets_day_by_day(tmp_path):
    out = tmp_path / "run"
    output, summary = run_two("scenarios/hotline_baseline.yaml", out)
    text = " ".join(output.split())
    assert "Targets day by day" in text
    entries = {e["kpi"]: e for e in summary["attainment_days"]["targets"]}
    assert set(entries) == {"delivery_on_time", "back_office_on_time"}
    for kpi, e in entries.items():
        assert e["days_met"] + e["days_missed"] == e["days"] > 0
        line = f"{kpi} >= "
        assert line in text and f"met on {e['days_met']} of {e['days']} days" in text
        if e["days_missed"]:
            met = summary["kpis"][kpi]["met"]
            verdict = "missed overall and on" if met is False else "met overall, missed on"
            assert f"{verdict} {e['days_missed']} of {e['days']} days" in text
    html = (out / "report.html").read_text(encoding="utf-8")
    for e in entries.values():  # the KPI table's note, missed overall or not
        if e["days_missed"]:
            assert f"missed on {e['days_missed']} of {e['days']} days" in html
    assert 'id="day-attainment-table"' in html
    assert html.index('id="day-attainment"') < html.index('id="kpis"')


def _day(values: dict[str, list[float]], ci_high: dict[str, list[float]] | None = None) -> dict:
    """An interval table: a row per day and start of ``values`` (start -> value per day)."""
    starts = list(values)
    n = len(values[starts[0]])
    t = {
        "day": np.array([d + 1 for d in range(n) for _ in starts]),
        "weekday": np.array([["mon", "tue", "wed"][d] for d in range(n) for _ in starts]),
        "start": np.array([s for _ in range(n) for s in starts], dtype=object),
        "offered_mean": np.full(n * len(starts), 10.0),
        "service_level_mean": np.array([values[s][d] for d in range(n) for s in starts]),
    }
    if ci_high is not None:
        t["service_level_ci_high"] = np.array([ci_high[s][d] for d in range(n) for s in starts])
    return t


def test_where_it_misses_lists_clear_misses_as_ranges_of_the_clock():
    """Issue 26: "06:30-05:00 on 28 of 28 days" where 3 intervals clearly miss, and
    "00:00-00:00": runs are made of clear misses only, end where their last interval ends, go
    past midnight only when the day goes on at 00:00, and a whole day is 00:00-24:00."""
    from sim.report.terminal import misses_lines

    target = {"service_level": {"at_least": 0.8}}
    starts = [f"{h:02d}:{m}" for h in range(24) for m in ("00", "30")]
    noisy = {s: [0.79, 0.79] for s in starts}  # every interval misses, within its CI ...
    high = {s: [0.9, 0.9] for s in starts}
    for s in ("07:00", "07:30", "08:00"):  # ... but 07:00-08:30 on day 2 clearly
        high[s] = [0.9, 0.6]
        noisy[s] = [0.79, 0.5]
    entry = attainment(_day(noisy, high), target, interval=1800)["targets"][0]
    assert entry["intervals_missed"] == 96 and entry["intervals_missed_clearly"] == 3
    (run,) = entry["misses"]
    assert (run["from"], run["to"], run["days_missed"], run["days"]) == ("07:00", "08:30", 1, 2)
    assert (run["clearly"], run["intervals_missed"]) == (3, 6)
    (line,) = misses_lines({"targets": [entry]})
    assert line.endswith(": 07:00-08:30 on 1 of 2 days (worst 50.0%)"), line
    # every interval missing clearly: the whole day, not 00:00-00:00
    entry = attainment(_day({s: [0.5, 0.5] for s in starts}), target, interval=1800)
    assert [(m["from"], m["to"]) for m in entry["targets"][0]["misses"]] == [("00:00", "24:00")]
    # a run to the end of the day ends at 24:00; one at 00:00 joins it past midnight
    late = {s: [0.5] if s >= "22:00" or s < "01:00" else [0.9] for s in starts}
    misses = attainment(_day(late), target, interval=1800)["targets"][0]["misses"]
    assert [(m["from"], m["to"]) for m in misses] == [("22:00", "01:00")]
    late = {s: [0.5] if s >= "22:00" else [0.9] for s in starts}
    misses = attainment(_day(late), target, interval=1800)["targets"][0]["misses"]
    assert [(m["from"], m["to"]) for m in misses] == [("22:00", "24:00")]
    # a day of 06:00-10:00 does not wrap from 09:30 to 06:00
    open_hours = {s: [0.5] if s in ("06:00", "09:30") else [0.9] for s in starts[12:20]}
    misses = attainment(_day(open_hours), target, interval=1800)["targets"][0]["misses"]
    assert sorted((m["from"], m["to"]) for m in misses) == [("06:00", "06:30"), ("09:30", "10:00")]
    # misses all within the noise: said so, in the terminal and in the report's table
    wide = {s: [0.9, 0.9] for s in starts}
    entry = attainment(_day({s: [0.79, 0.79] for s in starts}, wide), target)["targets"][0]
    assert entry["misses"] == [] and entry["intervals_missed"] == 96
    (line,) = misses_lines({"targets": [entry]})
    assert "no interval clearly misses" in line


def test_a_segment_with_no_figure_anywhere_is_left_out():
    """Outbound calls and e-mails never queue: their service level has no figure in any
    interval, and the target table lists no empty row for them."""
    t = table()
    t["service_level.channel=email_mean"] = np.full(6, np.nan)
    kpis = [e["kpi"] for e in attainment(t, {"service_level": {"at_least": 0.8}})["targets"]]
    assert "service_level.type=complaint" in kpis and "service_level.channel=email" not in kpis
