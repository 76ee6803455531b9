"""Rendering the report's figures to PNG and SVG files, in worker processes over the cores.

Drawing a figure (creating its artists) is cheap; rendering it (layout, rasterising the PNG,
writing the SVG) is most of a report's cost, and figures are independent once drawn. So
:class:`FigureSink` keeps the drawn figures and renders them in processes forked from the
report's process once all are drawn (matplotlib is not thread-safe; forked workers hold the
figures and need no imports). The files are the same either way: a figure is laid out once
(constrained layout, while drawing the PNG) and the SVG keeps that layout, and SVG ids are
salted with the figure's name instead of a random salt. Each file is written atomically.
"""

from __future__ import annotations

import base64
import glob
import io
import multiprocessing
import os
import signal
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim.report.files import LinkError, write_atomic

__all__ = ["DPI", "FigureError", "FigureSink", "can_fork", "default_jobs", "render"]

DPI = 110
MAX_JOBS = 8  # more processes than figures in a report pay their start for nothing


class FigureError(RuntimeError):
    """A figure could not be rendered; the message names it."""


def can_fork() -> bool:
    """Whether workers can be forked (what makes them free of imports; macOS forks unsafely; a
    daemonic process, e.g. a pool's worker, may have no children)."""
    return (
        "fork" in multiprocessing.get_all_start_methods()
        and sys.platform != "darwin"
        and not multiprocessing.current_process().daemon
    )


def default_jobs() -> int:
    """Render processes: one per core this process may use (at most MAX_JOBS); 1 (in this
    process) where workers cannot be forked."""
    if not can_fork():
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, MAX_JOBS))


def render(fig: Figure, folder: Path, name: str) -> tuple[bytes, float]:
    """Write ``<name>.png`` and ``<name>.svg`` of ``fig`` to ``folder``; return the PNG's bytes
    and the CPU seconds it took."""
    start = time.process_time()
    FigureCanvasAgg(fig)
    png, svg = io.BytesIO(), io.BytesIO()
    fig.savefig(png, format="png", dpi=DPI, metadata={"Software": None})
    fig.set_layout_engine("none")  # the SVG keeps the PNG's layout instead of computing it again
    with matplotlib.rc_context({"svg.hashsalt": name}):  # the same ids on every run
        fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    write_atomic(folder / f"{name}.png", png.getvalue())
    write_atomic(folder / f"{name}.svg", svg.getvalue())
    return png.getvalue(), time.process_time() - start


_FIGURES: list[tuple[Figure, Path, str]] = []  # what forked workers render, by index


def _render_nth(i: int) -> tuple[bytes, float]:
    """:func:`render` of figure ``i`` in a worker forked after the figures were drawn."""
    return render(*_FIGURES[i])


@dataclass
class FigureSink:
    """Saves each figure as ``<name>.png`` and ``.svg`` in ``folder``; keeps the PNG to inline.

    With ``jobs`` 1 a figure renders when added. With more, figures are kept until
    :meth:`close` (or the end of the ``with`` block), which renders them in that many processes
    and fills in each item's ``src``. ``jobs`` None: :func:`default_jobs`. ``render_s`` holds
    each figure's rendering CPU time.
    """

    folder: Path
    jobs: int | None = 1
    items: list[dict] = field(default_factory=list)
    render_s: dict[str, float] = field(default_factory=dict)
    _queued: list[tuple[dict, Figure]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.folder = Path(self.folder)
        if self.folder.is_symlink():  # said at once, not once per figure in a worker
            raise LinkError(self.folder)
        self.jobs = default_jobs() if self.jobs is None else self.jobs if can_fork() else 1

    def add(self, fig: Figure, name: str, title: str, caption: str) -> dict:
        """Render ``fig`` now (``jobs`` 1) or at :meth:`close`; return {name, title, caption,
        src} whose ``src`` is a ``data:`` PNG source."""
        item = {"name": name, "title": title, "caption": caption, "src": ""}
        self.items.append(item)
        if (self.jobs or 1) > 1:
            self._queued.append((item, fig))
        else:
            self._render_here(item, fig)
        return item

    def close(self) -> None:
        """Render the kept figures; raise :class:`FigureError` naming the figures that failed
        (those not started yet are cancelled)."""
        queued, self._queued = self._queued, []
        if not queued:
            return
        self._render_here(*queued[0])  # also warms this process (fonts) for the workers
        rest = queued[1:]
        if not rest:
            return
        # Workers are forked now, so they hold the drawn figures: no pickling (unpickled
        # transforms can lose their dpi updates) and no imports.
        _FIGURES[:] = [(fig, self.folder, item["name"]) for item, fig in rest]
        context = multiprocessing.get_context("fork")
        try:
            with ProcessPoolExecutor(
                min(self.jobs or 1, len(rest)),
                mp_context=context,
                initializer=signal.signal,  # Ctrl-C is the parent's: no traceback per worker
                initargs=(signal.SIGINT, signal.SIG_IGN),
            ) as pool:
                futures = [pool.submit(_render_nth, i) for i in range(len(rest))]
                for (item, _), future in zip(rest, futures, strict=True):
                    if (exc := future.exception()) is None:
                        self._done(item, future.result())
                        continue
                    for other in futures:
                        other.cancel()
                    failed = [  # a worker that dies fails every figure it had not finished
                        i["name"]
                        for (i, _), f in zip(rest, futures, strict=True)
                        if f.done() and not f.cancelled() and f.exception() is not None
                    ]
                    raise _failed(failed, exc) from exc
        except BaseException:
            _remove_half_files(self.folder, [item["name"] for item, _ in rest])
            raise
        finally:
            _FIGURES.clear()

    def __enter__(self) -> FigureSink:
        return self

    def __exit__(self, kind, exc, tb) -> None:
        if kind is None:
            self.close()
        else:
            self._queued = []

    def _render_here(self, item: dict, fig: Figure) -> None:
        try:
            self._done(item, render(fig, self.folder, item["name"]))
        except Exception as exc:
            raise _failed([item["name"]], exc) from exc

    def _done(self, item: dict, result: tuple[bytes, float]) -> None:
        png, cpu_s = result
        item["src"] = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        self.render_s[item["name"]] = cpu_s


def _remove_half_files(folder: Path, names: list[str]) -> None:
    """The temporary files of figures whose worker died while writing them (a worker that
    fails cleans up its own; one killed, or killed with its pool, cannot)."""
    for name in names:
        for suffix in ("png", "svg"):
            for path in folder.glob(f".{glob.escape(name)}.{suffix}.*"):
                path.unlink(missing_ok=True)


def _failed(names: list[str], exc: BaseException) -> FigureError:
    which = ", ".join(repr(n) for n in names)
    what = "figure" if len(names) == 1 else "figures"
    return FigureError(f"{what} {which} could not be rendered: {exc or type(exc).__name__}")
