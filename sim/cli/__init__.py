"""The ``sim`` command: parse, call the library, print. Exit 0 ok, 1 a check failed, 2 bad input.

One module per family of commands (``run``, ``experiments``, ``planning``, ``forecast``);
``common`` holds the click group and what the commands share. Importing this package registers
every command.
"""

from __future__ import annotations

from sim.cli import experiments, forecast, planning, run  # noqa: F401  (registers the commands)
from sim.cli.common import cli, fail
from sim.scenario.errors import ScenarioError

__all__ = ["cli", "main"]


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``sim`` console script."""
    try:
        cli.main(args=argv, prog_name="sim", standalone_mode=True)
    except ScenarioError as exc:  # raised from deeper layers (e.g. experiment files)
        fail(f"error: {exc}")
