"""Results folders are whole or absent, and a SIGKILLed ``sim run`` or ``sim compare``
resumes bit for bit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.experiments.checkpoint import RunStore, checkpoint_folder
from sim.report.staging import staged_folder
from sim.scenario.loading import load_scenario

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "scenarios"
TINY = (FIXTURES / "ok_tiny.yaml").read_text(encoding="utf-8")


def invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    if not isinstance(result.exception, SystemExit | None):
        raise result.exception
    return result


def files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.mark.slow
def test_reusing_out_leaves_nothing_of_the_earlier_run(tmp_path):
    out, fresh = tmp_path / "out", tmp_path / "fresh"
    business = ("run", FIXTURES / "business_small.yaml", "--workers", "1", "--quiet")
    assert invoke(*business, "--replications", "2", "--out", out).exit_code == 0
    assert (out / "daily.csv").exists()
    for folder in (out, fresh):
        assert invoke("run", FIXTURES / "ok_tiny.yaml", "--out", folder, "--quiet").exit_code == 0
    assert files(out) == files(fresh) and not (out / "daily.csv").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_failed_write_keeps_the_earlier_folder_whole(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text("{}", encoding="utf-8")
    with pytest.raises(RuntimeError), staged_folder(out) as staged:
        (staged / "summary.json").write_text('{"new": 1}', encoding="utf-8")
        raise RuntimeError("killed half-way")
    assert (out / "summary.json").read_text(encoding="utf-8") == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_the_store_ignores_runs_of_another_scenario_or_seed(tmp_path):
    from sim.experiments.replication import replicate

    sc = load_scenario(FIXTURES / "ok_tiny.yaml")
    store = RunStore(tmp_path / "ck", sc, 7)
    first = replicate(sc, replications=2, seed=7, workers=1, executor="serial", store=store)
    assert len(store.load()) == 2
    again = replicate(sc, replications=3, seed=7, workers=1, executor="serial", store=store)
    assert again.runs[0].kpis == first.runs[0].kpis and len(store.load()) == 3
    assert RunStore(tmp_path / "ck", sc, 8).load() == {}  # another seed: cleared
    assert not (tmp_path / "ck").exists()


def test_a_store_reads_its_folder_once(tmp_path, monkeypatch):
    """Resuming counts the kept runs for its message, then loads them: one read of each file."""
    from sim.experiments.replication import replicate

    sc = load_scenario(FIXTURES / "ok_tiny.yaml")
    replicate(sc, 3, seed=7, workers=1, executor="serial", store=RunStore(tmp_path, sc, 7))
    reads = []
    read = RunStore._read
    monkeypatch.setattr(
        RunStore, "_read", lambda self, path: reads.append(path) or read(self, path)
    )
    store = RunStore(tmp_path, sc, 7)
    assert len(store.load()) == 3
    resumed = replicate(sc, 4, seed=7, workers=1, executor="serial", store=store)
    assert len(reads) == 3 and len(resumed.runs) == 4
    assert sorted(store.load()) == [0, 1, 2, 3]  # the one run since is kept too
    assert len(RunStore(tmp_path, sc, 7).load()) == 4 and len(reads) == 7  # a new store reads


def _sim(*args, **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "sim", *map(str, args)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


@pytest.mark.slow
@pytest.mark.parametrize("command", ["run", "compare"])
def test_sigkilled_run_resumes_identically(tmp_path, command):
    """``sim run`` and ``sim compare`` killed half-way: the rerun into the same ``--out``
    loads the finished replications and writes the same files as an uninterrupted run."""
    text = TINY.replace("days: 2,", "days: 30,").replace("replications: 2", "replications: 30")
    scenarios = [tmp_path / "s.yaml"]
    scenarios[0].write_text(text, encoding="utf-8")
    if command == "compare":
        scenarios.append(tmp_path / "more.yaml")
        scenarios[1].write_text(text.replace("staffing: 2", "staffing: 3"), encoding="utf-8")
    total = 30 * len(scenarios)
    out, whole = tmp_path / "out", tmp_path / "whole"
    args = (command, *scenarios, "--workers", "1", "--quiet", "--no-report")
    proc = _sim(*args, "--out", out)
    partial = checkpoint_folder(out)
    deadline = time.monotonic() + 120
    while len(list(partial.rglob("rep-*.npz"))) < 4:
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    kept = len(list(partial.rglob("rep-*.npz")))
    assert proc.returncode == -signal.SIGKILL and 4 <= kept < total
    assert not out.exists()  # whole or absent
    resumed = _sim(*(a for a in args if a != "--quiet"), "--out", out)
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert f"resuming: {kept} finished" in err  # loaded, not run again
    uninterrupted = _sim(*args, "--out", whole)
    _, err = uninterrupted.communicate(timeout=300)
    assert uninterrupted.returncode == 0, err
    names = files(whole)
    assert files(out) == names and {"summary.json", "replications.csv"} & {
        Path(n).name for n in names
    }
    for name in names:
        if (whole / name).is_file():
            assert (out / name).read_bytes() == (whole / name).read_bytes(), name
    assert not partial.exists()
