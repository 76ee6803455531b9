"""The error of a bad input file, kept free of heavy imports so that the command line can catch
it without loading the schema (``sim --help`` stays fast)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ErrorItem", "ScenarioError"]


@dataclass(frozen=True)
class ErrorItem:
    """One problem in one input file."""

    file: str
    line: int | None
    path: str
    message: str
    suggestion: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.path or '<top>'}: {self.message}"
        return f"{text} (did you mean '{self.suggestion}'?)" if self.suggestion else text


class ScenarioError(ValueError):
    """Anything wrong in an input file: every problem found, each with file, line and path."""

    def __init__(self, items: list[ErrorItem]):
        self.items = items
        super().__init__("\n".join(str(i) for i in items))
