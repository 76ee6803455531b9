"""Hostile results folders, names and signals (issue 26): no formula in a workbook or CSV the
tool writes, no link followed in a results folder, no control character sent to a terminal, no
folder of another command replaced, and one line (no traceback) for every refusal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from sim.cli import cli

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "scenarios"
TINY = (FIXTURES / "ok_tiny.yaml").read_text(encoding="utf-8")
MMC = (FIXTURES / "tiny_mmc.yaml").read_text(encoding="utf-8")
LINK = '=HYPERLINK("http://evil.example","click")'
CMD = "=cmd|' /C calc'!A0"
QUICK = ("--replications", "1", "--workers", "1", "--quiet")


def invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    if not isinstance(result.exception, SystemExit | None):
        raise result.exception
    return result


def refused(result, *words: str) -> None:
    """Exit 2 with one error line naming what was refused."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output
    for word in words:
        assert word in lines[0], lines[0]


def workbook_cells(path: Path) -> list:
    from openpyxl import load_workbook

    wb = load_workbook(path)
    return [cell for ws in wb for row in ws.iter_rows() for cell in row]


def assert_no_formula(path: Path, text: str) -> None:
    """``text`` is in the workbook, as text; no cell of it is a formula (nor is any XML
    formula element written)."""
    cells = workbook_cells(path)
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    assert any(c.value == text or (isinstance(c.value, str) and text in c.value) for c in cells)
    with zipfile.ZipFile(path) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/")]
        assert not any(b"<f>" in z.read(n) or b"<f " in z.read(n) for n in sheets)


# --- spreadsheets -------------------------------------------------------------------------------


def test_a_call_type_like_a_formula_stays_text_in_the_workbook(tmp_path):
    src = tmp_path / "s.yaml"
    two = TINY.replace("share: 1\n", "share: 0.5\n", 1).replace(
        "call_types:\n",
        f"call_types:\n  {json.dumps(LINK)}:\n    share: 0.5\n"
        "    handle_time: {dist: exponential, mean: 3min}\n",
    )
    src.write_text(two.replace("[general]", f"[general, {json.dumps(LINK)}]"), encoding="utf-8")
    out = tmp_path / "out"
    result = invoke("run", src, "--out", out, "--xlsx", "--call-log", "--no-report", *QUICK)
    assert result.exit_code == 0, result.output
    assert_no_formula(out / "results.xlsx", LINK)


def test_a_group_like_a_formula_is_guarded_in_csv_and_text_in_the_workbook(tmp_path):
    src = tmp_path / "s.yaml"
    src.write_text(MMC.replace("team:", json.dumps(CMD) + ":"), encoding="utf-8")
    out = tmp_path / "out"
    quick = ("--replications", "2", "--workers", "1", "--quiet", "--max-iterations", "2")
    assert invoke("staff", src, "--out", out, *quick).exit_code == 0
    raw = (out / "staffing.csv").read_text(encoding="utf-8")
    assert "'" + CMD.replace('"', '""') in raw or "'" + CMD in raw  # the CSV guard
    assert not any(cell.startswith("=") for line in raw.splitlines() for cell in line.split(","))
    result = invoke("export", out)
    assert result.exit_code == 0, result.output
    assert_no_formula(out / "results.xlsx", CMD)


def test_a_formula_planted_in_intervals_csv_is_exported_as_text(tmp_path):
    out = tmp_path / "out"
    assert (
        invoke("run", FIXTURES / "ok_tiny.yaml", "--out", out, "--no-report", *QUICK).exit_code == 0
    )
    path = out / "intervals.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    cells = lines[1].split(",")
    cells[1] = "=1+1"
    path.write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n", encoding="utf-8")
    assert invoke("export", out).exit_code == 0
    assert_no_formula(out / "results.xlsx", "=1+1")


def test_export_of_an_intervals_csv_with_short_rows(tmp_path, run_folder):
    out = _copy(run_folder, tmp_path / "out")
    with open(out / "intervals.csv", "a", encoding="utf-8") as fh:
        fh.write("=1+1,+2\n")  # planted: fewer cells than the header, formula-like
    assert invoke("export", out).exit_code == 0
    assert_no_formula(out / "results.xlsx", "=1+1")


def test_report_of_an_intervals_csv_with_text_in_a_number_column(tmp_path, run_folder):
    """Found by the fuzz run: the report's figures took the planted row's text as a day."""
    out = _copy(run_folder, tmp_path / "out")
    with open(out / "intervals.csv", "a", encoding="utf-8") as fh:
        fh.write('=HYPERLINK("http://evil.example","x"),+1\n')
    refused(invoke("report", out), "intervals.csv", "'day'", "numbers")


@pytest.mark.parametrize("text", ["=1+1", "+1", "-x", "@SUM(A1)", "\tx", "\rx", "'a", "''b", "ok"])
def test_csv_text_cells_are_guarded_and_read_back_unchanged(tmp_path, text):
    from sim.report.files import guard_cell, read_rows, unguard_cell, write_table

    assert guard_cell(text)[0] not in "=+-@\t\r" and unguard_cell(guard_cell(text)) == text
    if "\r" in text:  # a text cell never holds one: names are printable (refused at load)
        return
    write_table(tmp_path / "t.csv", {text: [text, 1.5, -2]})
    raw = (tmp_path / "t.csv").read_text(encoding="utf-8")
    assert all(line.lstrip('"')[:1] not in "=+@\t" for line in raw.splitlines())
    assert raw.endswith("\n1.5\n-2\n")  # a number is never guarded
    assert read_rows(tmp_path / "t.csv") == [[text], [text], ["1.5"], ["-2"]]


# --- links in results folders -----------------------------------------------------------------


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "out"
    assert (
        invoke("run", FIXTURES / "ok_tiny.yaml", "--out", out, "--no-report", *QUICK).exit_code == 0
    )
    return out


def _copy(folder: Path, to: Path) -> Path:
    import shutil

    shutil.copytree(folder, to)
    return to


def test_export_reads_no_file_through_a_link(tmp_path, run_folder):
    out = _copy(run_folder, tmp_path / "out")
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    (out / "passwd.csv").symlink_to(secret)
    refused(invoke("export", out), "passwd.csv", "link")
    assert not (out / "results.xlsx").exists()


def test_export_writes_nothing_through_a_linked_subfolder(tmp_path, run_folder):
    out = _copy(run_folder, tmp_path / "out")
    elsewhere = _copy(run_folder, tmp_path / "elsewhere")
    (out / "scenario_b").symlink_to(elsewhere)
    refused(invoke("export", out), "scenario_b", "link")
    assert not (elsewhere / "results.xlsx").exists()


def test_report_writes_no_figure_through_a_linked_figures_folder(tmp_path, run_folder):
    out = _copy(run_folder, tmp_path / "out")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "figures").symlink_to(elsewhere)
    refused(invoke("report", out), "figures", "link")
    assert list(elsewhere.iterdir()) == []


def test_a_results_folder_named_through_a_link_is_still_reported(tmp_path, run_folder):
    """The folder the user names may be a link (the user chose it); links inside are not."""
    out = _copy(run_folder, tmp_path / "out")
    (tmp_path / "latest").symlink_to(out)
    assert invoke("export", tmp_path / "latest").exit_code == 0
    assert (out / "results.xlsx").is_file()


def test_a_planted_checkpoint_link_is_replaced_not_followed(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / ".s.partial").symlink_to(elsewhere)
    result = invoke(
        "run", FIXTURES / "ok_tiny.yaml", "--out", tmp_path / "s", "--no-report", *QUICK
    )
    assert result.exit_code == 0, result.output
    assert list(elsewhere.iterdir()) == []
    assert not (tmp_path / ".s.partial").exists() and (tmp_path / "s" / "summary.json").is_file()


def test_a_store_below_a_planted_link_writes_nothing_through_it(tmp_path):
    """A comparison's or a sizing's stores lie in subfolders of the checkpoint folder."""
    from sim.experiments.checkpoint import RunStore
    from sim.experiments.replication import replicate
    from sim.scenario.loading import load_scenario

    elsewhere, kept = tmp_path / "elsewhere", tmp_path / ".o.partial"
    (elsewhere / "0").mkdir(parents=True)
    kept.symlink_to(elsewhere)
    sc = load_scenario(FIXTURES / "ok_tiny.yaml")
    store = RunStore(kept / "0", sc, 7, kept)
    replicate(sc, replications=1, seed=7, workers=1, executor="serial", store=store)
    assert list((elsewhere / "0").iterdir()) == [] and not kept.is_symlink()
    assert len(list((kept / "0").glob("rep-*.npz"))) == 1


def test_read_inside_refuses_links_and_fifos(tmp_path):
    from sim.report.files import LinkError, read_inside, write_atomic

    (tmp_path / "real.txt").write_text("x", encoding="utf-8")
    (tmp_path / "link.txt").symlink_to(tmp_path / "real.txt")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "sub").symlink_to(tmp_path)
    assert read_inside(tmp_path / "real.txt") == b"x" and read_inside(tmp_path / "no") is None
    for bad in ("link.txt", "fifo", "sub/real.txt"):
        with pytest.raises(LinkError):
            read_inside(tmp_path / bad)
    with pytest.raises(LinkError):
        write_atomic(tmp_path / "sub" / "new.txt", "y")
    write_atomic(tmp_path / "link.txt", "z")  # a link named as the file: replaced, not followed
    assert (tmp_path / "real.txt").read_text() == "x" and not (tmp_path / "link.txt").is_symlink()


# --- terminals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\", "a\x1b[2J", "x\u202eevil", "c\x85"],
)
def test_names_with_control_characters_are_refused_with_file_and_line(tmp_path, name):
    src = tmp_path / "s.yaml"
    src.write_text(TINY.replace("team", json.dumps(name)), encoding="utf-8")
    result = invoke("validate", src)
    assert result.exit_code == 2
    assert f"{src}:15:" in result.output and "control character" in result.output
    assert "\x1b" not in result.output and "\u202e" not in result.output


def test_the_terminal_console_shows_control_characters_as_text():
    from rich.table import Table

    from sim.report.terminal import console

    out = console()
    table = Table(title="t\x1b[31m")
    table.add_column("c\u202e")
    table.add_row("v\x1b]8;;x\x07")
    with out.capture() as captured:
        out.print("name \x1b[2J", table)
    text = captured.get()
    assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
    assert "\\x1b[2J" in text and "\\u202e" in text


# --- tracebacks and data loss ------------------------------------------------------------------


def test_out_under_a_file_is_one_line_exit_2(tmp_path):
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    result = invoke("run", FIXTURES / "ok_tiny.yaml", "--out", tmp_path / "afile" / "s", *QUICK)
    refused(result, "afile")


def test_a_read_only_disk_while_keeping_replications_is_one_line(tmp_path, monkeypatch):
    from sim.experiments.checkpoint import RunStore

    def denied(self, run):
        raise PermissionError(13, "Permission denied", str(self.folder))

    monkeypatch.setattr(RunStore, "save", denied)
    refused(invoke("run", FIXTURES / "ok_tiny.yaml", "--out", tmp_path / "s", *QUICK), "Permission")


@pytest.mark.parametrize(
    "damage",
    [
        lambda meta: [1, 2],
        lambda meta: {**meta, "kpis": {**meta["kpis"], "service_level": 7.0}},
        lambda meta: {**meta, "kpis": {**meta["kpis"], "asa": -1.0}},
        lambda meta: {**meta, "replication": "0"},
        lambda meta: {**meta, "elapsed_s": float("inf")},
    ],
)
def test_a_damaged_checkpoint_is_run_again_not_trusted(tmp_path, damage):
    from sim.experiments.checkpoint import RunStore
    from sim.experiments.replication import replicate
    from sim.scenario.loading import load_scenario

    sc = load_scenario(FIXTURES / "ok_tiny.yaml")
    store = RunStore(tmp_path / "ck", sc, 7)
    first = replicate(sc, replications=2, seed=7, workers=1, executor="serial", store=store)
    path = tmp_path / "ck" / "rep-000000.npz"
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["meta"] = np.array(json.dumps(damage(json.loads(str(arrays["meta"])))))
    np.savez(path, **arrays)
    assert sorted(RunStore(tmp_path / "ck", sc, 7).load()) == [1]
    again = replicate(
        sc, 2, seed=7, workers=1, executor="serial", store=RunStore(tmp_path / "ck", sc, 7)
    )
    assert again.runs[0].kpis == first.runs[0].kpis


def test_a_search_file_of_the_right_fingerprint_and_wrong_shapes_is_refused(tmp_path):
    from sim.planning.staffing_files import SearchFileError, load_search

    base = {
        "fingerprint": "k",
        "levels": [[[1, 2]]],
        "decided": [[[True, False]]],
        "lo": [[[0, 0]]],
    }
    base |= {"fixed": [[[False, False]]], "erlang": [[[1, 1]]], "round": 1, "block": 0}
    base |= {"simulated": 1, "history": [1.0]}
    bad = [
        {k: v for k, v in base.items() if k != "lo"},  # KeyError
        base | {"decided": [[[True]]]},
        base | {"evidence": [[0, 0, 5, 1, 0, [0.0] * 18]]},  # IndexError
        base | {"evidence": [[0, 0, 0, 1, 0, [0.0] * 5]]},
        base | {"levels": [1, 2]},
        base | {"round": "x"},
    ]
    (tmp_path / "search.json").write_text(json.dumps(base), encoding="utf-8")
    assert load_search(tmp_path, "k", (1, 1, 2)) is not None
    with pytest.raises(SearchFileError, match=r"search\.json"):
        load_search(tmp_path, "k", (2, 1, 2))
    for data in bad:
        (tmp_path / "search.json").write_text(json.dumps(data), encoding="utf-8")
        with pytest.raises(SearchFileError, match=r"search\.json"):
            load_search(tmp_path, "k", (1, 1, 2))
    assert load_search(tmp_path, "another", (1, 1, 2)) is None


@pytest.mark.parametrize("mark", ["fit.json", "staffing.json", "comparison.json", "sizing.json"])
def test_run_does_not_replace_a_folder_of_another_command(tmp_path, mark):
    folder = tmp_path / "F"
    folder.mkdir()
    (folder / mark).write_text("{}", encoding="utf-8")
    (folder / "scenario.yaml").write_text(TINY, encoding="utf-8")
    result = invoke("run", folder / "scenario.yaml", "--out", folder, *QUICK)
    refused(result, str(folder))
    assert (folder / mark).read_text(encoding="utf-8") == "{}"


def test_run_does_not_replace_the_folder_holding_its_input(tmp_path, run_folder):
    folder = _copy(run_folder, tmp_path / "F")
    refused(invoke("run", folder / "scenario.yaml", "--out", folder, *QUICK), "input")
    assert (folder / "scenario.yaml").is_file()
    assert invoke("run", FIXTURES / "ok_tiny.yaml", "--out", folder, *QUICK).exit_code == 0


def test_ctrl_c_of_a_multi_worker_run_is_one_line_exit_130(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable,
        "-m",
        "sim",
        "run",
        str(ROOT / "scenarios" / "hotline_contact_center.yaml"),
    ]
    command += ["--workers", "2", "--replications", "40", "--quiet", "--out", str(tmp_path / "o")]
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    partial = tmp_path / ".o.partial"
    deadline = time.monotonic() + 60
    while not partial.exists() and time.monotonic() < deadline:  # workers are running
        time.sleep(0.1)
    time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal does: the whole process group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert err.strip().splitlines()[-1] == "interrupted (Ctrl-C)"
    assert not (tmp_path / "o").exists()
