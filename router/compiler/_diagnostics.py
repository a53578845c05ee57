"""Diagnostics are values: collected, sorted and printed together, each ``file:line:col: error: message``."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Diagnostic", "pointer_str"]


@dataclass(frozen=True, slots=True, order=True)
class Diagnostic:
    file: str
    line: int
    col: int
    message: str
    pointer: str = ""  # JSON pointer of the offending node ("" = the document)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: error: {self.message}"


def pointer_str(path: tuple[str | int, ...]) -> str:
    """A JSON pointer for a path (RFC 6901 escaping)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)
