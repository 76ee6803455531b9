"""Which files an input may read, how big they may be, and how much of them a message may quote.

Scenario files are shared, run in CI and by services, so a file they name (``extends:``,
``arrivals.file``, an empirical ``file:``, an experiment's base scenario, shift templates) must
resolve, symlinks followed, inside a *data root*: the folder of the file named on the command
line, or a folder named with ``--data-root``; on the command line also the current folder's
tree when that file lies in it (``sim sweep experiments/x.yaml`` from a project reads
``../scenarios/``), never the filesystem root. Only regular files are opened (never ``/dev``,
``/proc``, FIFOs or sockets), non-blocking, and at most :data:`MAX_FILE_BYTES` are read. Error
messages quote at most :data:`EXCERPT_CHARS` characters of what a file holds.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import stat
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

from sim.scenario.errors import printable

__all__ = [
    "EXCERPT_CHARS",
    "MAX_FILE_BYTES",
    "ConfinementError",
    "data_roots",
    "excerpt",
    "extra_roots",
    "read_rows",
    "read_text",
]

MAX_FILE_BYTES = 32 * 1024 * 1024
"""Largest input file read (YAML or CSV): far above any real scenario or data file."""

EXCERPT_CHARS = 60
"""Longest piece of user-supplied text an error message quotes."""

_SPECIAL = ("/dev", "/proc", "/sys", "/run")
_roots: ContextVar[tuple[Path, ...] | None] = ContextVar("sim_data_roots", default=None)
_extra: ContextVar[tuple[Path, ...]] = ContextVar("sim_extra_roots", default=())
_cwd_tree: ContextVar[bool] = ContextVar("sim_cwd_tree", default=False)


class ConfinementError(ValueError):
    """A file an input names may not be read (outside the data roots, special, too big)."""


def excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    """``value`` as a short quoted text: control characters and lone surrogates escaped,
    cut to ``limit`` characters with an ellipsis (never an input at large)."""
    text = str(value)
    cut = len(text) > limit
    return repr(printable(text[:limit]) + ("…" if cut else ""))


@contextlib.contextmanager
def extra_roots(*folders: str | Path, cwd_tree: bool = False) -> Iterator[None]:
    """Folders named by the user (``--data-root``) that inputs may also read from; with
    ``cwd_tree`` (the command line), the current folder's tree too when the file named lies in
    it: a user who names ``experiments/x.yaml`` from a folder means that folder's files."""
    token = _extra.set(tuple(Path(f).resolve() for f in folders))
    tree = _cwd_tree.set(cwd_tree)
    try:
        yield
    finally:
        _cwd_tree.reset(tree)
        _extra.reset(token)


def _working_tree(folder: Path) -> tuple[Path, ...]:
    """The current folder as a root, when allowed and ``folder`` lies in it (never ``/``: a
    service started there would open every file of the machine to its inputs)."""
    if not _cwd_tree.get():
        return ()
    cwd = Path.cwd().resolve()
    return (cwd,) if cwd.parent != cwd and _inside(folder, (cwd,)) else ()


@contextlib.contextmanager
def data_roots(folder: str | Path) -> Iterator[tuple[Path, ...]]:
    """The roots for loading the file in ``folder`` and everything it names.

    The outermost load decides (an experiment's base scenario and a scenario's ``extends:``
    keep the roots of the file named on the command line).
    """
    current = _roots.get()
    if current is not None:
        yield current
        return
    own = Path(folder).resolve()
    roots = (own, *_extra.get(), *_working_tree(own))
    token = _roots.set(roots)
    try:
        yield roots
    finally:
        _roots.reset(token)


def _inside(path: Path, roots: tuple[Path, ...]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def read_text(path: str | Path, what: str, limit: int | None = None) -> str:
    """The text of ``path`` (a ``what``: "arrivals file", ...) if the rules above allow it.

    Raises :class:`ConfinementError` (a ``ValueError``) with a message naming the file, or
    ``FileNotFoundError``.
    """
    name, limit = str(path), MAX_FILE_BYTES if limit is None else limit
    if "\x00" in name:
        raise ConfinementError(f"{what} name contains a NUL byte: {excerpt(name, 200)}")
    roots = _roots.get() or (Path.cwd().resolve(), *_extra.get())
    real = Path(os.path.realpath(path))
    if not _inside(real, roots):
        raise ConfinementError(
            f"{what} {excerpt(name, 200)} is outside the data root ({', '.join(map(str, roots))}); "
            "inputs may only read files under the folder of the file named on the command "
            "line (or the current folder, when that file lies in it), or a folder named with "
            "--data-root"
        )
    if any(real == Path(s) or real.is_relative_to(s) for s in _SPECIAL):
        raise ConfinementError(f"{what} {excerpt(name, 200)} is a system file, not a data file")
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(real, flags)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ConfinementError(f"cannot read {what} {excerpt(name, 200)}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfinementError(f"{what} {excerpt(name, 200)} is not a regular file")
        if info.st_size > limit:
            raise ConfinementError(
                f"{what} {excerpt(name, 200)} is {info.st_size:,} bytes; the limit is {limit:,}"
            )
        with os.fdopen(os.dup(fd), "rb") as fh:
            data = fh.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ConfinementError(f"{what} {excerpt(name, 200)} is larger than {limit:,} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfinementError(
            f"{what} {excerpt(name, 200)} is not UTF-8 text (byte {exc.start})"
        ) from None


def read_rows(path: str | Path, what: str) -> list[list[str]]:
    """The rows of CSV data file ``path`` (read by :func:`read_text`), cells stripped; a
    ``ValueError`` naming the file when it is missing or not CSV."""
    try:
        text = read_text(path, what)
    except FileNotFoundError:
        raise ValueError(f"{what} {excerpt(path, 200)} not found") from None
    try:
        return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text, newline=""))]
    except csv.Error as exc:
        raise ValueError(f"{what} {excerpt(path, 200)} is not CSV: {exc}") from None
