"""Progress of long experiments: a rich bar on a terminal, plain periodic lines in a log.

Owns how "runs done" is shown while replications run; it knows nothing of what runs. Quiet
shows nothing. Output goes to stderr, so the results table on stdout stays clean.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

__all__ = ["duration_text", "progress"]

Advance = Callable[[int, int], None]


def duration_text(seconds: float) -> str:
    """``42s``, ``3m05s``, ``1h02m``: a duration as a progress line shows it."""
    seconds = round(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


class _Lines:
    """``label: 40/200 runs (20%), 5.1 runs/s, ETA 31s`` every ``every_s`` s and at the end."""

    def __init__(self, label: str, stream: TextIO, every_s: float):
        self.label, self.stream, self.every_s = label, stream, every_s
        self.started = self.last = time.monotonic()
        self.done = self.total = 0

    def __call__(self, done: int, total: int) -> None:
        self.done, self.total = done, total
        now = time.monotonic()
        if now - self.last >= self.every_s and done < total:
            self.last = now
            self.line(now)

    def line(self, now: float, final: bool = False) -> None:
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        if final:
            print(
                f"{self.label}: {self.done} runs done in {duration_text(elapsed)}, "
                f"{rate:.1f} runs/s",
                file=self.stream,
                flush=True,
            )
            return
        pct = 100 * self.done / self.total if self.total else 100.0
        eta = (
            f", ETA {duration_text((self.total - self.done) / rate)}"
            if rate > 0 and self.done
            else ""
        )
        print(
            f"{self.label}: {self.done}/{self.total} runs ({pct:.0f}%), {rate:.1f} runs/s{eta}",
            file=self.stream,
            flush=True,
        )


@contextmanager
def progress(
    total: int,
    label: str,
    quiet: bool = False,
    stream: TextIO | None = None,
    every_s: float = 10.0,
    tty: bool | None = None,
) -> Iterator[Advance]:
    """Yield ``advance(done, total)`` that shows how many runs are done.

    A rich bar (runs done, runs/s, ETA) when ``stream`` (default stderr) is a terminal; a plain
    line every ``every_s`` seconds and a final one otherwise; nothing when ``quiet``.
    """
    stream = sys.stderr if stream is None else stream
    if quiet:
        yield lambda done, total: None
        return
    if not (stream.isatty() if tty is None else tty):
        lines = _Lines(label, stream, every_s)
        lines.total = total
        yield lines
        if lines.done:
            lines.line(time.monotonic(), final=True)
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TaskProgressColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class Speed(ProgressColumn):
        """Runs per second over the bar's recent updates."""

        def render(self, task) -> Text:
            speed = task.finished_speed or task.speed
            return Text("" if speed is None else f"{speed:.1f} runs/s", style="progress.data.speed")

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        Speed(),
        TimeRemainingColumn(),
        console=Console(file=stream, force_terminal=True),
        transient=True,
    ) as bar:
        task = bar.add_task(escape(label), total=total)  # names may hold [markup]
        yield lambda done, total: bar.update(task, completed=done, total=total)
