"""The ``sim`` command: parse, call the library, print. Exit 0 ok, 1 a check failed, 2 bad input,
130 interrupted (Ctrl-C: one line, no traceback; the shell's convention, 128 + SIGINT).

One module per family of commands (``run``, ``experiments``, ``planning``, ``forecast``);
``common`` holds the click group and what the commands share. Importing this package registers
every command.
"""

from __future__ import annotations

import signal

from sim.cli import experiments, fit, forecast, planning, run  # noqa: F401  (registers the commands)
from sim.cli.common import cli, fail
from sim.scenario.errors import ScenarioError

__all__ = ["cli", "main"]


class Interrupted(BaseException):
    """Ctrl-C, raised instead of KeyboardInterrupt (which click turns into "Aborted!", exit 1):
    cleanups run as the exception passes, then one line and exit 130."""


def _interrupt(_signum, _frame) -> None:
    raise Interrupted


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``sim`` console script."""
    signal.signal(signal.SIGINT, _interrupt)
    try:
        cli.main(args=argv, prog_name="sim", standalone_mode=True)
    except ScenarioError as exc:  # raised from deeper layers (e.g. experiment files)
        fail(f"error: {exc}")
    except Interrupted:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C while saying so
        fail("interrupted (Ctrl-C)", 130)
