"""KPIs reduced block by block: the run without records (every executor's) reports exactly
what its records give, whatever the block size; nothing is lost at block edges or the horizon."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_kpi import ROWS, records
from test_model_properties import SETTINGS, scenarios

import sim.kpi.calls as calls_kpi
from sim import scenario_from_dict, simulate
from sim.kpi.business import business_kpis, daily_table
from sim.kpi.calls import call_kpis, interval_counts, interval_table, reduce_calls
from sim.kpi.outbound import outbound_kpis
from sim.records.calls import Outcome
from sim.records.storage import Rows
from sim.scenario.yamlsource import load_yaml

BUNDLED = sorted((Path(__file__).parents[1] / "scenarios").glob("*.yaml"))


def _same_kpis(a: dict, b: dict) -> None:
    assert list(a) == list(b)
    for name in a:
        assert a[name] == b[name] or (a[name] is None and b[name] is None), name


def _same_table(a: dict, b: dict) -> None:
    assert list(a) == list(b)
    for name in a:
        x, y = np.asarray(a[name]), np.asarray(b[name])
        assert x.dtype == y.dtype, name
        if x.dtype.kind == "f":
            assert np.array_equal(x, y, equal_nan=True), name
        else:
            assert np.array_equal(x, y), name


def _both_paths(scenario, seed: int = 7) -> None:
    """The run without records and the run with them: the same KPIs and tables, bit for bit,
    and the kept records give them again (as fit, reports and tests compute them)."""
    kept = simulate(scenario, seed=seed, keep_records=True)
    lean = simulate(scenario, seed=seed, keep_records=False)
    assert lean.records is None and lean.business is None
    _same_kpis(kept.kpis, lean.kpis)
    _same_table(kept.intervals, lean.intervals)
    assert ("daily" in kept.extra) == ("daily" in lean.extra)
    if "daily" in kept.extra:
        _same_table(kept.extra["daily"], lean.extra["daily"])
    rec = kept.records
    again = call_kpis(rec)
    if kept.business is not None:
        again.update(business_kpis(kept.business))
        _same_table(daily_table(kept.business), lean.extra["daily"])
    if "outbound" in kept.extra:  # the dialers' counts (numbers not reached leave no row)
        days = (scenario.horizon_s - scenario.warmup) / 86400
        again.update(outbound_kpis(kept.extra["outbound"], days))
    _same_kpis(again, lean.kpis)
    weekday = scenario.horizon.start_weekday
    _same_table(interval_table(rec, scenario.interval, weekday), lean.intervals)


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_bundled_scenarios_same_figures_without_records(path, monkeypatch):
    monkeypatch.setattr(calls_kpi, "BLOCK", 1000)  # several blocks in two days
    data, _ = load_yaml(path)
    data["horizon"] = {**data["horizon"], "days": 2, "warmup": "2h"}
    _both_paths(scenario_from_dict(data, base_dir=path.parent))


@SETTINGS
@given(scenarios(), st.integers(0, 2**32 - 1), st.integers(1, 300))
def test_random_scenarios_same_figures_without_records(scenario, seed, block):
    old = calls_kpi.BLOCK
    calls_kpi.BLOCK = block  # hypothesis cannot take the monkeypatch fixture
    try:
        _both_paths(scenario, seed)
    finally:
        calls_kpi.BLOCK = old


def test_block_size_moves_only_the_last_bits():
    """Counts are exact in any blocks; float sums (waits, busy time) agree to rounding."""
    data, _ = load_yaml(BUNDLED[0].parent / "hotline_contact_center.yaml")
    data["horizon"] = {**data["horizon"], "days": 1}
    rec = simulate(scenario_from_dict(data, base_dir=BUNDLED[0].parent), seed=3).records
    whole = reduce_calls(rec, 1800.0)
    assert len(rec.calls) > 3 * 1000
    for block in (1, 1000, len(rec.calls) - 1):
        parts = reduce_calls(rec, 1800.0, block=block)
        assert list(parts) == list(whole)
        for name, value in whole.items():
            if "wait" in name or "busy" in name:
                np.testing.assert_allclose(parts[name], value, rtol=1e-9, atol=1e-6)
            else:
                np.testing.assert_array_equal(parts[name], value)


def test_hand_made_records_in_blocks_of_one():
    rec = records(ROWS)
    k = call_kpis(rec, reduce_calls(rec, block=1))
    assert k["asa"] == pytest.approx(25.0)
    assert k["mean_wait"] == pytest.approx((10 + 40 + 60 + 200) / 4)
    assert k["occupancy"] == pytest.approx((100 + 60) / (2 * 7200))
    assert k["open_calls"] == 1
    split = interval_counts(rec, 1800.0, sums=reduce_calls(rec, 1800.0, block=2))
    np.testing.assert_array_equal(split["offered"][0], [3, 0, 0, 1])
    np.testing.assert_allclose(split["answered_wait"][0], [50, 0, 0, 0])


def test_calls_open_at_the_horizon_are_reported(monkeypatch):
    """Understaffed days: the calls still waiting at the horizon are offered, open, and wait up
    to the horizon, in the run without records (blocks reduced during the run) as in the
    records."""
    monkeypatch.setattr(calls_kpi, "BLOCK", 500)
    data, _ = load_yaml(BUNDLED[0].parent / "erlang_a.yaml")
    data["horizon"] = {"days": 2}
    data["customer_tiers"] = {"std": {"share": 1.0, "patience": {"dist": "never"}}}
    sc = scenario_from_dict(data, base_dir=BUNDLED[0].parent)
    kept = simulate(sc, seed=1, keep_records=True)
    lean = simulate(sc, seed=1, keep_records=False)
    c = kept.records.calls
    open_ = (c.outcome == Outcome.OPEN) & (c.arrival >= sc.warmup)
    assert open_.sum() > 10  # no patience, too few agents: a queue at the end
    assert lean.kpis["open_calls"] == open_.sum()
    offered = ~np.isnan(c.queue_entry) & (c.queue_entry < sc.horizon_s) & (c.arrival >= sc.warmup)
    assert lean.kpis["offered"] == offered.sum() / ((sc.horizon_s - sc.warmup) / 86400)
    assert lean.intervals["offered"].sum() == offered.sum()
    waits = np.where(c.outcome == Outcome.ANSWERED, c.answer, sc.horizon_s) - c.queue_entry
    assert lean.kpis["mean_wait"] == pytest.approx(np.mean(waits[offered]), rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20), st.booleans()), max_size=40))
def test_backlog_counts_match_the_day_by_row_matrix(items):
    """Open at each day end: created before it, not closed before it (open rows never close)."""
    from sim.kpi.business import _open_at

    created = np.array([float(a) for a, _, _ in items])
    closed = np.array([np.nan if still else float(a + b) for a, b, still in items])
    ends = np.arange(0.0, 45.0, 3.0)
    never = np.where(np.isnan(closed), np.inf, closed)
    matrix = ((created[None, :] < ends[:, None]) & (never[None, :] >= ends[:, None])).sum(axis=1)
    got = _open_at(Rows({"created": created, "closed": closed}), ends)
    np.testing.assert_array_equal(got, matrix)


def test_binned_codes_are_int64_where_int16_would_overflow():
    """Segment codes stay int16 in a block (no copy); their bin index is made in int64."""
    code = np.array([0, 3, 40], dtype=np.int16)
    bin_of = np.array([5, 17_519, 2], dtype=np.int64)
    got = calls_kpi._binned_code(code, 17_520, bin_of)
    assert got.dtype == np.int64
    assert got.tolist() == [5, 3 * 17_520 + 17_519, 40 * 17_520 + 2]
    assert code.tolist() == [0, 3, 40]  # not written into
