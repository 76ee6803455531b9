"""The validation dossier's plumbing: cases, verdicts, skipping, and writing docs/validation.md.

The model's agreement with the closed forms is tested in tests/test_validation.py; here the
cases run tiny (1 day, 3 replications) so only the wiring is checked.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim.quality import validation as val

TINY = val.Settings(days=1, replications=3, workers=1, warmup_s=3600.0)


def test_row_inside_uses_the_interval():
    assert val.Row("q", "asa", 5.0, 5.5, (4.0, 6.0)).inside is True
    assert val.Row("q", "asa", 7.0, 5.5, (4.0, 6.0)).inside is False
    assert val.Row("q", "asa", 7.0, None, None).inside is None


def test_queue_cases_compare_every_measure(monkeypatch):
    monkeypatch.setattr(val, "ERLANG_C", [(60, 240, 6)])
    monkeypatch.setattr(val, "ERLANG_A", [(100, 300, 8, 180)])
    samples = []  # the per-replication KPIs each queue was run with, in order
    real = val._samples

    def keep(*args):
        samples.append(real(*args))
        return samples[-1]

    monkeypatch.setattr(val, "_samples", keep)
    c_case, a_case, little = val.queue_cases(TINY)
    assert [r.measure for r in c_case.rows] == [
        "service_level",
        "asa",
        "mean_queue_length",
        "occupancy",
    ]
    assert [r.measure for r in a_case.rows] == list(val.QUEUE_MEASURES)
    for row, m in zip(a_case.rows, val.QUEUE_MEASURES, strict=True):
        x = np.array(samples[1][m], dtype=float)  # the Erlang A queue's replications
        half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
        assert row.mean == pytest.approx(x.mean()) and len(x) == TINY.replications, m
        assert row.ci == pytest.approx((x.mean() - half, x.mean() + half)), m
    assert len(little.rows) == 4 and "Largest relative difference" in little.note
    occupancy = next(r for r in c_case.rows if r.measure == "occupancy")
    assert occupancy.exact == pytest.approx(1.0 * 240 / 3600 * 60 / 6)  # a / c


def test_a_rejected_business_case_is_skipped_with_the_reason():
    scenario, why = val._business_scenario(TINY, {}, "no_such_section", {"x": 1})
    assert scenario is None and "no_such_section" in why
    text = val._pending(why)
    assert text.startswith("pending business flows") and "allowed here" not in text


def test_render_and_main_write_the_dossier(tmp_path, monkeypatch):
    def fake(settings):
        case = val.Case("Fake case", "a formula")
        case.rows = [
            val.Row("q", "m", 1.0, 1.1, (0.9, 1.3)),
            val.Row("q", "n", 2.0, 1.0, (0.5, 1.5)),
        ]
        return case, val.Case("Later", "b", skipped="pending business flows: x")

    monkeypatch.setattr(val, "CASES", [fake])
    out = tmp_path / "docs" / "validation.md"
    val.main(["--out", str(out), "--quick", "--workers", "1"])
    text = out.read_text()
    assert text.startswith("# Validation dossier")
    assert f"`python -m sim.quality.validation --quick --out {out}`" in text
    assert "**Overall: 1 of 2 exact values inside" in text
    assert "| q | m | 1 | 1.1 | 0.9 .. 1.3 | yes |" in text
    assert "| q | n | 2 | 1 | 0.5 .. 1.5 | **no** |" in text
    assert "*Skipped: pending business flows: x.*" in text
    assert not list(out.parent.glob(".validation.md.*"))  # no temporary file left behind


def test_main_rejects_bad_workers(tmp_path):
    with pytest.raises(SystemExit) as exc:
        val.main(["--out", str(tmp_path / "v.md"), "--workers", "0"])
    assert exc.value.code == 2
