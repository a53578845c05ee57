"""Diagnostics are values: collected, sorted and printed together, each ``file:line:col: error: message``."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Diagnostic", "one_line", "pointer_str"]


def one_line(text: str) -> str:
    """``text`` kept on one line: every character that could end a line (``\n``, ``\r``, form feed,
    the Unicode line separators) or that source and terminals should not hold raw (NUL, other
    controls) is written as its Python escape."""
    return "".join(c if c.isprintable() and len(f"x{c}x".splitlines()) == 1 else repr(c)[1:-1] for c in text)


@dataclass(frozen=True, slots=True, order=True)
class Diagnostic:
    file: str
    line: int
    col: int
    message: str
    pointer: str = ""  # JSON pointer of the offending node ("" = the document)

    def __str__(self) -> str:
        return f"{one_line(self.file)}:{self.line}:{self.col}: error: {self.message}"


def pointer_str(path: tuple[str | int, ...]) -> str:
    """A JSON pointer for a path (RFC 6901 escaping)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)
