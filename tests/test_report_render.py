"""Rendering the report's figures in worker processes: the same files as rendering them one by
one in this process, deterministic SVG, and a figure that fails is named, never waited on."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from matplotlib.artist import Artist
from test_report import business_folder

from sim.report.drawing import new_figure
from sim.report.html import build_report
from sim.report.render import FigureError, FigureSink, can_fork

forking = pytest.mark.skipif(not can_fork(), reason="workers are forked only where fork is safe")


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@forking
def test_parallel_rendering_writes_the_files_rendering_one_by_one_writes(tmp_path):
    """Byte for byte: every PNG, SVG and the report (its inline PNGs) over 1, 2 and 3 processes,
    and twice in the same process (no state of one build leaks into the next's files)."""
    folder = business_folder(tmp_path / "run")
    built = {}
    for label, jobs in (("serial", 1), ("two", 2), ("three", 3), ("serial again", 1)):
        report = build_report(folder, tmp_path / label / "report.html", jobs=jobs)
        built[label] = {**_files(report.parent / "figures"), "report.html": report.read_bytes()}
    serial = built["serial"]
    names = [n for n in serial if n.endswith(".png")]
    assert len(names) >= 8  # interval figures, business figures
    assert {n[:-4] for n in names} == {n[:-4] for n in serial if n.endswith(".svg")}
    for label, files in built.items():
        assert files.keys() == serial.keys(), label
        changed = [n for n in serial if files[n] != serial[n]]
        assert changed == [], label
    assert b"data:image/png;base64," in serial["report.html"]
    assert b'src=""' not in serial["report.html"]  # every figure's PNG is inline


class _Failing(Artist):
    """An artist whose drawing raises, or ends the process drawing it (a crashed worker)."""

    def __init__(self, how: str):
        super().__init__()
        self.how = how

    def draw(self, renderer):
        if self.how == "exit":
            os._exit(3)
        raise ValueError("no ink")


def _figure(failing: str | None = None):
    fig, axes = new_figure()
    axes[0, 0].plot(np.arange(5.0), label="five")
    if failing:
        axes[0, 0].add_artist(_Failing(failing))
    return fig


def test_a_figure_that_fails_is_named_when_rendered_here(tmp_path):
    sink = FigureSink(tmp_path, jobs=1)
    sink.add(_figure(), "fine", "Fine", "a line")
    with pytest.raises(FigureError, match=r"'broken'.*no ink"):
        sink.add(_figure("raise"), "broken", "Broken", "never drawn")
    assert (tmp_path / "fine.png").is_file() and (tmp_path / "fine.svg").is_file()
    assert not (tmp_path / "broken.png").exists()


@forking
@pytest.mark.parametrize("how", ["raise", "exit"])
def test_a_figure_that_fails_in_a_worker_is_named_not_waited_on(tmp_path, how):
    """The first figure renders in this process, the others in workers: one that raises, or
    whose worker dies, ends the report with an error naming it; leaving the ``with`` block
    does not hang and leaves no half file."""
    with pytest.raises(FigureError, match="'broken'"):
        with FigureSink(tmp_path, jobs=2) as sink:
            sink.add(_figure(), "first", "First", "rendered here")
            sink.add(_figure(), "second", "Second", "rendered in a worker")
            item = sink.add(_figure(how), "broken", "Broken", "never drawn")
            assert item["src"] == ""  # filled in when the figures are rendered
    assert (tmp_path / "first.png").is_file()
    assert not (tmp_path / "broken.png").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_figures_wait_for_the_end_of_the_block_and_are_filled_in(tmp_path):
    jobs = 2 if can_fork() else 1
    with FigureSink(tmp_path, jobs=jobs) as sink:
        items = [sink.add(_figure(), f"f{i}", f"F{i}", "a line") for i in range(3)]
    assert all(item["src"].startswith("data:image/png;base64,") for item in items)
    assert sorted(sink.render_s) == ["f0", "f1", "f2"]
    assert all(s > 0 for s in sink.render_s.values())


def test_a_report_whose_figures_cannot_be_written_is_an_error_not_a_traceback(tmp_path):
    from click.testing import CliRunner

    from sim.cli import cli

    folder = business_folder(tmp_path / "run")
    (folder / "figures").write_text("a file where the figures folder goes")
    result = CliRunner().invoke(cli, ["report", str(folder)])
    assert result.exit_code == 2, result.output
    assert "error: cannot write the report in" in result.output
    assert "could not be rendered" in result.output
    assert not isinstance(result.exception, FigureError)  # handled: no traceback


def _report_in_a_worker(folder: Path, out: Path) -> int:
    report = build_report(folder, out / "report.html")  # default: one process per core
    return len(list((out / "figures").glob("*.png"))) if report.is_file() else 0


@forking
def test_a_report_built_inside_a_daemonic_worker_renders_there(tmp_path):
    """A multiprocessing.Pool's worker is daemonic and may not start processes: the report's
    figures render in it instead of failing."""
    import multiprocessing

    folder = business_folder(tmp_path / "run")
    with multiprocessing.get_context("fork").Pool(1) as pool:
        assert pool.apply(_report_in_a_worker, (folder, tmp_path / "out")) >= 8
