"""The error of a bad input file, kept free of heavy imports so that the command line can catch
it without loading the schema (``sim --help`` stays fast)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ErrorItem", "ScenarioError", "printable"]

_MESSAGE_CHARS, _PATH_CHARS = 600, 160


def printable(text: str) -> str:
    """``text`` with control characters and lone surrogates written as ``\\xNN``."""
    return "".join(
        ch if ch.isprintable() and not 0xD800 <= ord(ch) <= 0xDFFF else f"\\x{ord(ch):02x}"
        for ch in str(text)
    )


@dataclass(frozen=True)
class ErrorItem:
    """One problem in one input file."""

    file: str
    line: int | None
    path: str
    message: str
    suggestion: str | None = None

    def __post_init__(self):  # never echo an input at large, nor control characters
        for name, limit in (("path", _PATH_CHARS), ("message", _MESSAGE_CHARS)):
            text = printable(getattr(self, name))
            if len(text) > limit:
                text = text[: limit - 1] + "…"
            object.__setattr__(self, name, text)
        if self.suggestion is not None:
            object.__setattr__(self, "suggestion", printable(self.suggestion)[:_PATH_CHARS])

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        return f"{text} (did you mean '{self.suggestion}'?)" if self.suggestion else text


class ScenarioError(ValueError):
    """Anything wrong in an input file: every problem found, each with file, line and path."""

    def __init__(self, items: list[ErrorItem]):
        self.items = items
        super().__init__("\n".join(str(i) for i in items))
