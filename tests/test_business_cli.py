"""End to end: the bundled baseline runs as is and writes daily.csv with the business KPIs."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_hotline_baseline_runs_and_writes_daily(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim",
            "run",
            "scenarios/hotline_baseline.yaml",
            "--replications",
            "2",
            "--workers",
            "1",
            "--quiet",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    kpis = summary["kpis"]
    for name in ("delivery_on_time", "delivery_success", "back_office_on_time"):
        assert kpis[name]["target"] is not None and isinstance(kpis[name]["met"], bool)
    for name in (
        "first_attempt_success",
        "cost_per_delivery",
        "lead_conversion",
        "courier_utilisation.channel=own_staff",
        "cash_collected.channel=own_staff",
    ):
        assert kpis[name]["mean"] is not None
    with open(out / "daily.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["day"] for r in rows] == [str(d) for d in range(1, 8)]
    assert float(rows[2]["cash_collected_mean"]) > 0
    assert "back_office_backlog_ci_high" in rows[0]
