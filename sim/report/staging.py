"""Results folders that are whole or absent.

A command writes its folder under a temporary name beside the target (``.<name>.new-*``) and
renames it into place when everything, report included, is written. An earlier folder of the
same name is moved aside first and deleted after, so a reader never sees files of two runs side
by side, nor a half-written folder under the real name (a kill leaves at most hidden siblings).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from sim.scenario.confine import excerpt

__all__ = ["RESULT_FILES", "check_replaceable", "replace_folder", "staged_folder"]


RESULT_KINDS = {
    "summary.json": "sim run",
    "comparison.json": "sim compare",
    "points.csv": "sim sweep",
    "sweep.json": "sim sweep",
    "staffing.json": "sim staff",
    "search.json": "sim staff",
    "sizing.json": "sim size",
    "fit.json": "sim fit",
    "forecast.json": "sim forecast",
}
"""The file that marks a folder a sim command wrote, and that command."""
RESULT_FILES = tuple(RESULT_KINDS)
"""One of these marks a folder a sim command wrote (run, compare, sweep, staff, size, fit,
forecast)."""


def check_replaceable(
    out: str | Path, command: str | None = None, inputs: Iterable[str | Path] = ()
) -> None:
    """``out`` may be written (and replaced whole): absent, empty, or a folder sim wrote (with
    ``command``: a folder that command wrote), holding none of the ``inputs``.

    Raises ``FileExistsError`` for a folder of other files: ``--out ~/Documents`` must not
    delete a planner's documents, ``sim run F/scenario.yaml --out F`` the fit in ``F``.
    """
    out = Path(out)
    if not out.is_dir() or out.is_symlink():
        return
    marks = [name for name in RESULT_FILES if (out / name).is_file()]
    foreign = [m for m in marks if command and RESULT_KINDS[m] != command]
    if foreign:
        raise FileExistsError(
            17,
            f"a {RESULT_KINDS[foreign[0]]} results folder ({foreign[0]}), not one {command} "
            "writes; writing would replace it whole: choose another folder",
            str(out),
        )
    real = Path(os.path.realpath(out))
    for path in inputs:
        if Path(os.path.realpath(path)).is_relative_to(real):
            raise FileExistsError(
                17,
                f"holds the input {excerpt(Path(path).name, 40)}, which writing would delete "
                "(the folder is replaced whole): choose another folder",
                str(out),
            )
    entries = sorted(e.name for e in out.iterdir())  # hidden ones too: a lone .git is work
    if entries and not marks:
        raise FileExistsError(
            17,
            f"a folder of other files ({excerpt(entries[0], 40)}"
            + (f" and {len(entries) - 1} more" if len(entries) > 1 else "")
            + "), not a results folder; writing would replace it whole: choose a new or empty "
            "folder",
            str(out),
        )


@contextlib.contextmanager
def staged_folder(out: str | Path) -> Iterator[Path]:
    """Yield a fresh folder to write into; on success it becomes ``out``, on error it goes."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(20, "not a folder", str(out))
    check_replaceable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    new = tmp / out.name  # the folder's own name, as reports show it
    new.mkdir()
    try:
        yield new
        replace_folder(new, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def replace_folder(new: Path, out: Path) -> None:
    """Put folder ``new`` at ``out``, removing what was there (two renames, then a delete)."""
    old = None
    if out.is_dir() and not out.is_symlink():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.rename(out, old / "x")
    elif out.is_symlink():
        out.unlink()
    os.rename(new, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
