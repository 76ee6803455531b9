"""sim forecast's library: history counts, special days, the methods, the back-test and its
calibrated intervals, on series generated with a known truth (tests/forecast_synth.py)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from forecast_synth import FIRST_DAY, WEEKDAY_FACTORS, make_history

from sim.forecast.backtest import (
    Alphas,
    calibrate,
    covered,
    critical_alpha,
    nb_interval,
    origins_for,
)
from sim.forecast.history import History, read_history, read_interval_report
from sim.forecast.methods import (
    CARRY_SHARE_ASSUMED,
    Inputs,
    average_8w,
    ets_profile,
    learn_effects,
    seasonal_naive,
    weighted_12w,
    with_special_days,
)
from sim.forecast.pipeline import ForecastOptions, forecast_files, run_forecast
from sim.forecast.special import (
    CARRY,
    CLOSED,
    EVENT,
    NORMAL,
    Calendar,
    SpecialDay,
    classify,
    read_special_days,
)
from sim.scenario.errors import ScenarioError


def as_history(syn, days: int | None = None) -> History:
    n = len(syn.has_data) if days is None else days
    return History(
        "synth",
        "interval report",
        np.datetime64(syn.first_day, "D"),
        syn.interval,
        syn.counts[:n].copy(),
        syn.has_data[:n].copy(),
        list(syn.types),
    )


def holidays(syn) -> list[SpecialDay]:
    return [SpecialDay(date=d, kind="holiday", name="holiday") for d in syn.holidays]


# --- history -----------------------------------------------------------------------------------


def test_call_log_counts_offered_calls_per_interval_and_type(tmp_path):
    log = tmp_path / "calls.csv"
    log.write_text(
        "arrival,outcome,wait,handle_time,call_type\n"
        "2025-01-06T08:10:00,answered,5,100,A\n"
        "2025-01-06T08:20:00,abandoned,30,,B\n"
        "2025-01-06T08:40:00,answered,0,200,A\n"
        "2025-01-06T09:00:00,self_served,0,,A\n"
        "2025-01-08T10:00:00,self_served,0,,A\n"  # a day with only self-served calls: data
    )
    h = read_history(log, None, 1800)
    assert h.kind == "call log" and h.types == ["A", "B"] and h.days == 3
    assert h.has_data.tolist() == [True, False, True]
    assert h.counts[0, 16].tolist() == [1.0, 1.0]  # 08:00-08:30
    assert h.counts[0, 17].tolist() == [1.0, 0.0]
    assert h.counts.sum() == 3  # self-served calls never reached an agent
    assert h.handle_means["A"] == 150.0 and h.handle_means[""] == 150.0


def test_interval_report_finer_rows_are_summed_coarser_refused(tmp_path):
    rep = tmp_path / "report.csv"
    rep.write_text(
        "start,call_type,offered\n"
        "2025-01-06T08:00:00,A,3\n2025-01-06T08:15:00,A,4\n2025-01-06T08:30:00,B,2\n"
        "2025-01-08T08:45:00,A,1\n"
    )
    h = read_history(rep, None, 1800)
    assert h.kind == "interval report" and h.has_data.tolist() == [True, False, True]
    assert h.counts[0, 16].tolist() == [7.0, 0.0] and h.counts[0, 17].tolist() == [0.0, 2.0]
    with pytest.raises(ScenarioError, match="15-minute grid"):
        read_interval_report(rep, 600)
    coarse = tmp_path / "coarse.csv"
    coarse.write_text("start,offered\n2025-01-06T08:00:00,3\n2025-01-06T09:00:00,3\n")
    with pytest.raises(ScenarioError, match="60 min apart"):
        read_interval_report(coarse, 1800)


def test_an_interval_report_with_other_column_names_is_read_through_a_mapping(tmp_path):
    rep = tmp_path / "report.csv"
    rep.write_text(
        "interval_start,calls\n2025-01-06T08:00:00,3\n2025-01-06T08:30:00,4\n"
        "2025-01-07T08:00:00,5\n"
    )
    mapping = tmp_path / "map.yaml"
    mapping.write_text("columns:\n  start: interval_start\n  offered: calls\n")
    h = read_history(rep, mapping, 1800)
    assert h.kind == "interval report" and h.days == 2
    assert h.totals[0, 16:18].tolist() == [3.0, 4.0] and h.totals[1, 16] == 5.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("begin,offered\n2025-01-06T08:00:00,3\n", "required column for 'arrival'"),
        ("start,offered\n2025-01-06T08:00:00,x\n", "offered: not a number"),
        ("start,offered\n2025-13-06T08:00:00,3\n", "not a date-time"),
        ("start,offered\n1900-01-06T08:00:00,3\n2025-01-06T08:00:00,3\n", "at most 3,660"),
    ],
)
def test_bad_histories_are_refused_with_the_reason(tmp_path, text, message):
    path = tmp_path / "h.csv"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=message):
        read_history(path, None, 1800)


# --- special days ------------------------------------------------------------------------------


def test_special_days_csv_and_yaml(tmp_path):
    csv = tmp_path / "s.csv"
    csv.write_text("date,kind,name,open\n2025-01-06,holiday,New year,\n2025-02-03,holiday,x,true\n"
                   "2025-03-03,event,sale,\n")  # fmt: skip
    days = read_special_days(csv)
    assert [d.closed for d in days] == [True, False, False]
    yml = tmp_path / "s.yaml"
    yml.write_text(
        "days:\n  - {date: 2025-01-06, kind: closed}\n  - {date: 2025-01-07, kind: event}\n"
    )
    assert [d.kind for d in read_special_days(yml)] == ["closed", "event"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "date,kind\n2025-01-06,party\n",
            "s.csv:2: column 'kind': 'party': expected closed, holiday",
        ),
        ("date,kind\n2025-02-30,closed\n", "s.csv:2: column 'date'"),
        (
            "date,kind\n2025-01-06,closed\n2025-01-06,holiday\n",
            "s.csv:3: 2025-01-06 is listed twice",
        ),
        ("day,kind\n2025-01-06,closed\n", "column 'date': required column missing"),
        ("date,kind,colour\n2025-01-06,closed,red\n", "unknown column"),
        ("date,kind,open\n2025-01-06,holiday,perhaps\n", "not true or false"),
    ],
)
def test_bad_special_days_name_line_and_field(tmp_path, text, message):
    path = tmp_path / "s.csv"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=message):
        read_special_days(path)


def test_carry_over_goes_to_the_first_open_day_after_a_closure():
    first = np.datetime64("2025-01-06", "D")  # a Monday
    special = [
        SpecialDay(date=dt.date(2025, 1, 6), kind="holiday"),  # Monday: Tuesday carries
        SpecialDay(date=dt.date(2025, 1, 18), kind="closed"),  # Saturday: Sunday closed -> Monday
        SpecialDay(date=dt.date(2025, 1, 29), kind="event"),
        SpecialDay(date=dt.date(2025, 2, 3), kind="holiday", open=True),  # open: nothing carries
    ]
    open_wd = np.array([True] * 6 + [False])
    cal = classify(special, first, 35, open_wd)
    assert cal.kind[0] == CLOSED and cal.kind[1] == CARRY
    assert cal.kind[12] == CLOSED and cal.kind[13] == NORMAL and cal.kind[14] == CARRY
    assert cal.kind[23] == EVENT and cal.kind[28] == NORMAL and cal.kind[29] == NORMAL


# --- methods -----------------------------------------------------------------------------------


def _flat_weeks(days: int = 70) -> Inputs:
    """Each weekday the same calls every week (100 x its factor in one interval); Sunday closed."""
    totals = np.zeros((days, 4))
    totals[:, 1] = 100 * WEEKDAY_FACTORS[np.arange(days) % 7]
    return Inputs(totals, totals.sum(axis=1) > 0, 0)


def test_special_and_missing_days_are_no_data_not_zero():
    inp = _flat_weeks()
    usable = inp.usable.copy()
    usable[[56, 63]] = False  # two holiday Mondays with no calls
    usable[50:55] = False  # a gap
    totals = inp.totals.copy()
    totals[[56, 63]] = 0.0
    totals[50:55] = 0.0
    inp = Inputs(totals, usable, 0)
    targets = np.arange(70, 77)
    want = 100 * WEEKDAY_FACTORS
    for method in (seasonal_naive, average_8w, weighted_12w):
        got = method(inp, 70, targets)[:, 1]
        assert got == pytest.approx(want), method.__name__


def test_seasonal_naive_is_last_week_and_averages_are_means():
    inp = _flat_weeks(28)
    totals = inp.totals.copy()
    totals[21, 1] = 200.0  # last Monday doubled
    inp = Inputs(totals, inp.usable, 0)
    assert seasonal_naive(inp, 28, np.array([28]))[0, 1] == 200.0
    assert average_8w(inp, 28, np.array([28]))[0, 1] == pytest.approx((3 * 125 + 200) / 4)
    w = 0.5 ** (np.arange(3, -1, -1) / 4.0)  # halving every 4 weeks, latest weight 1
    expect = (w[:3].sum() * 125 + w[3] * 200) / w.sum()
    assert weighted_12w(inp, 28, np.array([28]))[0, 1] == pytest.approx(expect)


def test_ets_follows_a_level_shift_and_keeps_the_profile():
    syn = make_history(days=210, day_cv=0.0, alpha=0.0, shift=(150, 1.3), holiday_weeks=(),
                       gaps=(), types=("A",), type_shares=(1.0,))  # fmt: skip
    inp = Inputs(syn.counts.sum(axis=2), syn.has_data, 0)
    targets = np.arange(210, 224)
    fc = ets_profile(inp, 210, targets)
    truth = 2000 * 1.3 * WEEKDAY_FACTORS[targets % 7]
    assert fc.sum(axis=1) == pytest.approx(truth, rel=0.04, abs=1.0)
    monday = fc[0] / fc[0].sum()
    assert np.abs(monday - syn.truth[203] / syn.truth[203].sum()).max() < 0.01


def test_carry_over_share_is_learned_from_the_history():
    syn = make_history(days=364, carry=0.3, day_cv=0.05)
    hist = as_history(syn)
    cal = classify(holidays(syn), hist.first_day, hist.days, np.array([True] * 6 + [False]))
    inp = Inputs(hist.totals, hist.has_data & (cal.kind == NORMAL), 0)
    (next_day, weekly), seen = learn_effects(inp, cal, hist.has_data, hist.days)[CARRY]
    assert seen == (6, 0) and next_day == pytest.approx(0.3, abs=0.05)
    assert weekly == next_day  # none seen over a weekly closure: the other kind's share
    # before the first holiday nothing was seen: the stated assumption
    none = (CARRY_SHARE_ASSUMED, CARRY_SHARE_ASSUMED), (0, 0)
    assert learn_effects(inp, cal, hist.has_data, 40)[CARRY] == none


def test_carry_over_is_learned_per_kind_of_closure():
    """A Monday holiday's Tuesday and a Friday holiday's Monday (over the weekend) carry
    different shares; each is learned from its own kind."""
    inp = _flat_weeks(84)  # Sunday closed
    totals = inp.totals.copy()
    kind = np.zeros(84, dtype=np.int8)
    after = {}
    for hol, share in ((28, 0.3), (54, 0.1)):  # Monday (day 28) and Saturday (day 54)
        nxt = hol + 1 if hol % 7 == 0 else hol + 2  # Tuesday; Monday after the closed Sunday
        kind[hol], kind[nxt] = CLOSED, CARRY
        totals[nxt] += share * totals[hol]
        totals[hol] = 0.0
        after[nxt] = (hol,)
    inp = Inputs(totals, inp.usable & (kind == NORMAL), 0)
    cal = Calendar(np.datetime64("2025-01-06", "D"), kind, {}, after)
    (next_day, weekly), seen = learn_effects(inp, cal, totals.sum(axis=1) > 0, 84)[CARRY]
    assert seen == (1, 1)
    assert next_day == pytest.approx(0.3) and weekly == pytest.approx(0.1)


def test_carry_over_adds_the_share_of_the_closed_days_normal_calls():
    first = np.datetime64("2025-01-06", "D")  # a Monday
    special = [  # Thursday and Friday closed: Monday receives a share of both
        SpecialDay(date=dt.date(2025, 1, 9), kind="closed"),
        SpecialDay(date=dt.date(2025, 1, 10), kind="holiday"),
    ]
    cal = classify(special, first, 14, np.array([True] * 5 + [False] * 2))
    assert cal.after == {7: (3, 4)} and cal.kind[7] == CARRY
    fc = np.tile(np.array([[10.0, 30.0]]), (14, 1))  # 40 calls a normal day
    fc[3] *= 2  # Thursday would have been busy (80)
    effects = {CARRY: ((0.5, 0.25), (1, 1)), EVENT: (1.0, 0)}  # over the weekend: 0.25
    out = with_special_days(fc, np.arange(14), cal, effects)
    assert out[3].sum() == out[4].sum() == 0.0
    assert out[7].sum() == pytest.approx(40 + 0.25 * (80 + 40))
    assert out[7, 0] / out[7].sum() == pytest.approx(0.25)  # spread like the day's own calls
    # the closure before the targets (forecast from Monday on): counted as the day itself
    later = with_special_days(fc[7:], np.arange(7, 14), cal, effects)
    assert later[0].sum() == pytest.approx(40 + 0.25 * (40 + 40))


# --- intervals ---------------------------------------------------------------------------------


def test_nb_intervals_calibrated_to_over_dispersed_counts_hold_their_level():
    rng = np.random.default_rng(3)
    m = rng.uniform(5, 200, size=20000)
    alpha = 0.05
    draw = lambda: rng.poisson(rng.gamma(1 / alpha, alpha * m))  # noqa: E731
    y = draw()
    crit = {lv: critical_alpha(y, m, lv) for lv in (0.8, 0.95)}
    a80, a95 = calibrate(crit[0.8], 0.8), calibrate(crit[0.95], 0.95)
    assert 0.03 < a80 < 0.07 and 0.03 < a95 < 0.07  # near the truth, far above Poisson's 0
    fresh = draw()
    assert covered(fresh, m, a80, 0.8).mean() == pytest.approx(0.8, abs=0.015)
    assert covered(fresh, m, a95, 0.95).mean() == pytest.approx(0.95, abs=0.01)
    assert covered(fresh, m, 0.0, 0.8).mean() < 0.6  # Poisson intervals would be far too narrow
    lo, hi = nb_interval(m, np.full(len(m), a80), 0.8)
    assert np.mean((fresh >= lo) & (fresh <= hi)) == pytest.approx(0.8, abs=0.015)


def test_alphas_fall_back_to_the_pooled_value_in_small_cells():
    h = np.array([1] * 10 + [9] * 400)
    m = np.full(410, 20.0)
    crit = {0.8: np.linspace(0, 0.1, 410), 0.95: np.linspace(0, 0.2, 410)}
    a = Alphas.fit(h, m, crit)
    assert a.of(0.8, np.array([1]), np.array([20.0]))[0] == pytest.approx(calibrate(crit[0.8], 0.8))


def test_origins_are_a_week_apart_and_leave_enough_history():
    assert origins_for(100, 14, 8) == [37, 44, 51, 58, 65, 72, 79, 86]
    assert origins_for(28, 7, 8) == [14, 21]
    assert origins_for(20, 14, 8) == []
    # on the forecast's weekday: day 100 is a week after 93, so origins are 93 - 7k
    assert origins_for(100, 14, 3, start=100) == [72, 79, 86]
    assert origins_for(100, 14, 3, start=102) == [67, 74, 81]


# --- end to end on a known truth ---------------------------------------------------------------


@pytest.fixture(scope="module")
def year():
    """A year of history and 4 more weeks held out, a holiday Monday in the held-out part."""
    syn = make_history(days=364 + 28, holiday_weeks=(6, 15, 24, 33, 42, 51, 53), seed=7)
    return syn


def test_forecast_beats_the_naive_holds_its_intervals_and_handles_the_holiday(year):
    syn = year
    hist = as_history(syn, 364)
    r = run_forecast(hist, holidays(syn), ForecastOptions(horizon=14))
    overall = {s["method"]: s for s in r.scores if s["horizon_day"] == "all"}
    assert set(overall) == {"seasonal_naive", "average_8w", "weighted_12w", "ets_profile", "blend"}
    assert overall[r.chosen]["wape"] == min(s["wape"] for s in overall.values())
    assert overall[r.chosen]["wape"] < 0.85 * overall["seasonal_naive"]["wape"]
    for s in overall.values():  # out-of-sample coverage on the back-test
        assert 0.74 <= s["cover80"] <= 0.86 and 0.91 <= s["cover95"] <= 0.98
    actual = syn.counts[364:378].sum(axis=2)
    assert r.start == FIRST_DAY + dt.timedelta(days=364)
    holiday = 7  # Monday of week 53
    assert r.mean[holiday].sum() == 0 and actual[holiday].sum() == 0
    after = syn.truth[364 + holiday + 1].sum()
    assert r.mean[holiday + 1].sum() == pytest.approx(after, rel=0.12)
    # the call types add up to the total
    assert r.by_type.sum(axis=2) == pytest.approx(r.mean)
    assert r.by_type[..., 0].sum() / r.mean.sum() == pytest.approx(0.7, abs=0.02)


def test_intervals_hold_their_level_on_held_out_weeks():
    """Four forecasts of two weeks each after a year, every one from the history before it:
    the 80% and 95% intervals hold about 80% and 95% of the counts that then came."""
    syn = make_history(days=364 + 56, holiday_weeks=(6, 15, 24, 33, 42, 51, 55), seed=11)
    inside: dict[float, list] = {0.8: [], 0.95: []}
    for origin in (364, 378, 392, 406):
        r = run_forecast(as_history(syn, origin), holidays(syn), ForecastOptions(horizon=14))
        actual = syn.counts[origin : origin + 14].sum(axis=2)
        judged = (r.mean > 0) | (actual > 0)
        for level, (lo, hi) in r.bands.items():
            inside[level].append(((actual >= lo) & (actual <= hi))[judged])
    assert np.concatenate(inside[0.8]).mean() == pytest.approx(0.8, abs=0.05)
    assert np.concatenate(inside[0.95]).mean() == pytest.approx(0.95, abs=0.03)


def test_files_hold_every_interval_and_type(year):
    r = run_forecast(as_history(year, 364), holidays(year), ForecastOptions(horizon=14))
    files = forecast_files(r)
    fc = files["forecast.csv"]
    assert len(fc["start"]) == 14 * 48 * 2 and fc["call_type"][:2] == ["A", "B"]
    assert fc["start"][0] == "2026-01-05T00:00:00"
    assert np.all(fc["lo80"] <= fc["mean"] + 1) and np.all(fc["hi95"] >= fc["hi80"])
    assert np.all(fc["lo95"] <= fc["lo80"])
    acc = files["accuracy.csv"]
    assert sum(acc["chosen"]) == len(
        {d for d, c in zip(acc["horizon_day"], acc["chosen"], strict=True) if c}
    )
    days = files["forecast_days.csv"]
    assert days["kind"][7] == "closed" and days["mean"][7] == 0
    assert days["kind"][8] == "after closure" and days["kind"][0] == "normal"


def test_gaps_before_the_origin_do_not_pull_the_forecast_down():
    syn = make_history(days=364, gaps=((330, 350),), holiday_weeks=())
    r = run_forecast(as_history(syn), [], ForecastOptions(horizon=7))
    truth = syn.truth[357:364].sum(axis=1)  # the weekday pattern of the last week
    assert r.mean.sum(axis=1) == pytest.approx(truth, rel=0.1, abs=1.0)


def test_a_history_too_short_for_the_back_test_is_refused():
    syn = make_history(days=20, holiday_weeks=(), gaps=())
    with pytest.raises(ValueError, match="needs at least 28"):
        run_forecast(as_history(syn), [], ForecastOptions(horizon=14))
    with pytest.raises(ValueError, match="inside the history"):
        run_forecast(as_history(syn), [], ForecastOptions(horizon=1, start=FIRST_DAY))


def test_event_factor_is_learned_against_the_weekday_around_it():
    inp = _flat_weeks(84)
    totals = inp.totals.copy()
    kind = np.zeros(84, dtype=np.int8)
    for d in (30, 51):  # two Wednesdays with a sale: 1.5 times the calls
        totals[d] *= 1.5
        kind[d] = EVENT
    inp = Inputs(totals, inp.usable & (kind == NORMAL), 0)
    cal = Calendar(np.datetime64("2025-01-06", "D"), kind, {}, {})
    effects = learn_effects(inp, cal, totals.sum(axis=1) > 0, 84)
    assert effects[EVENT] == (pytest.approx(1.5), 2)
    none = (CARRY_SHARE_ASSUMED, CARRY_SHARE_ASSUMED), (0, 0)
    assert effects[CARRY] == none  # none seen: the stated assumption


def test_a_history_without_types_and_the_same_numbers_twice():
    syn = make_history(days=120, types=("A",), type_shares=(1.0,), holiday_weeks=(6,))
    hist = as_history(syn)
    hist.types = []
    one = forecast_files(run_forecast(hist, holidays(syn), ForecastOptions(horizon=7)))
    two = forecast_files(run_forecast(hist, holidays(syn), ForecastOptions(horizon=7)))
    assert "forecast_total.csv" not in one and set(one["forecast.csv"]["call_type"]) == {"all"}
    for name in ("forecast.csv", "accuracy.csv", "forecast_days.csv"):
        for col, values in one[name].items():
            assert np.array_equal(np.asarray(values), np.asarray(two[name][col])), (name, col)
