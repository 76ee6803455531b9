"""Light commands stay light: ``sim --help`` and ``sim erlang`` (Erlang C) load neither the
schema, SciPy, the plotting stack nor the simulation (their speed is measured in
benchmarks/bench_startup.py; here only what they import)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("scipy", "matplotlib", "simpy", "pydantic", "pyarrow", "jinja2")


def loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    ).stdout.splitlines()[-1]
    return {m.split(".")[0] for m in json.loads(out)}


def test_help_loads_nothing_heavy():
    code = (
        "import sys\nfrom sim.cli import cli\n"
        "try:\n    cli.main(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass"
    )
    assert loaded_after(code).isdisjoint(HEAVY)


def test_erlang_c_answers_without_scipy_or_the_simulation():
    code = (
        "from sim.cli import cli\n"
        "cli.main(['erlang', '--rate', '200/h', '--aht', '3min', '--agents', '14'], "
        "standalone_mode=False)"
    )
    assert loaded_after(code).isdisjoint(HEAVY)
