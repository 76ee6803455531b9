"""The error of a bad input file, kept free of heavy imports so that the command line can catch
it without loading the schema (``sim --help`` stays fast)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

__all__ = ["ErrorItem", "ScenarioError", "inert", "printable", "unprintable"]

_MESSAGE_CHARS, _PATH_CHARS = 600, 160


_BIDI = frozenset(
    map(chr, (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)))
)
"""Bidirectional controls: they reorder what a terminal or an editor shows (U+202E)."""


def _acts(ch: str) -> bool:
    return ch not in "\t\n" and (unicodedata.category(ch) in ("Cc", "Cs") or ch in _BIDI)


def unprintable(text: str) -> str | None:
    """The first character of ``text`` a terminal would act on instead of showing (a C0/C1
    control such as ESC, a bidi control, a lone surrogate); tab and newline are text."""
    return next((ch for ch in text if _acts(ch)), None)


def inert(text: str) -> str:
    """``text`` with what :func:`unprintable` finds written as ``\\xNN`` / ``\\uNNNN``: safe
    to print on a terminal, lines and tabs kept."""
    if unprintable(text) is None:
        return text
    return "".join(
        (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}") if _acts(ch) else ch
        for ch in text
    )


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
