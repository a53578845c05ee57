"""Python literals for compiled configs: a small printer over ``dataclasses.fields()``.

Fields equal to their dataclass default are left out, so a generated module shows exactly what its
spec declares. The output is deterministic (frozensets sorted, mappings in spec order) and laid out
the way a formatter would: one line when it fits in ``WIDTH``, else exploded with trailing commas;
where every item is a plain scalar (a frozenset of names, a table of status codes, a price) the items
are filled onto lines like text instead of one a line, which keeps tables short; records of one kind
(the model catalogue) are one row each.
Every value is printed with ``repr`` rules (strings in double quotes where that needs no more
escapes), so a spec value can never become code.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from collections.abc import Mapping
from typing import Any

__all__ = ["WIDTH", "class_names", "lines", "literal"]

WIDTH = 110
_SCALARS = (str, int, float, bool, type(None))


def _str(value: str) -> str:
    r = repr(value)
    if r.startswith("'") and '"' not in value:
        return '"' + r[1:-1].replace("\\'", "'") + '"'
    return r


def fields_of(obj: Any) -> Iterator[tuple[str, Any]]:
    """(name, value) for every init field of a dataclass whose value is not the default."""
    for f in dataclasses.fields(obj):
        if not f.init:
            continue
        value = getattr(obj, f.name)
        if f.default is not dataclasses.MISSING:
            if value == f.default and type(value) is type(f.default):
                continue
        elif f.default_factory is not dataclasses.MISSING and value == f.default_factory():
            continue
        yield f.name, value


def is_scalar(value: Any) -> bool:
    return isinstance(value, _SCALARS) or (
        isinstance(value, tuple) and all(isinstance(v, _SCALARS) for v in value)
    )


def literal(value: Any) -> str:
    """``value`` as a one-line Python literal."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        inner = ", ".join(f"{k}={literal(v)}" for k, v in fields_of(value))
        return f"{type(value).__name__}({inner})"
    if isinstance(value, str):
        return _str(value)
    if isinstance(value, bool | int | float) or value is None:
        return repr(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, frozenset):
        if not value:
            return "frozenset()"
        return "frozenset({" + ", ".join(literal(v) for v in sorted(value)) + "})"
    if isinstance(value, tuple):
        inner = ", ".join(literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    raise TypeError(f"cannot print a {type(value).__name__} as a literal")


def fill(items: list[str], indent: int) -> list[str]:
    """Scalar items packed onto lines of at most WIDTH, each line ending with a comma."""
    pad = " " * indent
    out: list[str] = []
    line = ""
    for item in items:
        candidate = f"{line} {item}," if line else f"{pad}{item},"
        if line and len(candidate) > WIDTH:
            out.append(line)
            candidate = f"{pad}{item},"
        line = candidate
    if line:
        out.append(line)
    return out


def lines(value: Any, indent: int = 0, prefix: str = "", suffix: str = "") -> list[str]:
    """``prefix + value + suffix`` as source lines at ``indent``, exploded only where it must be."""
    pad = " " * indent
    one = f"{pad}{prefix}{literal(value)}{suffix}"
    if len(one) <= WIDTH:
        return [one]
    inner = indent + 4
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = [f"{pad}{prefix}{type(value).__name__}("]
        fields = list(fields_of(value))
        if all(is_scalar(v) for _, v in fields):
            out += fill([f"{k}={literal(v)}" for k, v in fields], inner)
        else:
            for k, v in fields:
                out += lines(v, inner, f"{k}=", ",")
        return [*out, f"{pad}){suffix}"]
    if isinstance(value, Mapping):
        out = [f"{pad}{prefix}{{"]
        if all(is_scalar(v) for v in value.values()):
            out += fill([f"{literal(k)}: {literal(v)}" for k, v in value.items()], inner)
        else:
            for k, v in value.items():
                out += lines(v, inner, f"{literal(k)}: ", ",")
        return [*out, f"{pad}}}{suffix}"]
    if isinstance(value, frozenset | tuple | list):
        items = sorted(value) if isinstance(value, frozenset) else list(value)
        opener, closer = {frozenset: ("frozenset({", "})"), tuple: ("(", ")"), list: ("[", "]")}[type(value)]
        out = [f"{pad}{prefix}{opener}"]
        if all(is_scalar(v) for v in items):
            out += fill([literal(v) for v in items], inner)
        elif _is_table(items):
            out += [f"{' ' * inner}{literal(v)}," for v in items]  # one row a record, as a table reads
        else:
            for v in items:
                out += lines(v, inner, "", ",")
        return [*out, f"{pad}{closer}{suffix}"]
    return [one]  # a scalar longer than a line (a long URL or note) stays whole


ROW = 400  # a record of a table (a model of the catalogue) stays on one line up to this length


def _is_table(items: list[Any]) -> bool:
    """Records of one dataclass, each short enough to read as one row (the model catalogue)."""
    kinds = {type(v) for v in items}
    return (
        len(kinds) == 1 and dataclasses.is_dataclass(items[0]) and all(len(literal(v)) <= ROW for v in items)
    )


def class_names(value: Any) -> set[str]:
    """The dataclass names a printed ``value`` mentions (for the module's import line)."""
    found: set[str] = set()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        found.add(type(value).__name__)
        for _, v in fields_of(value):
            found |= class_names(v)
    elif isinstance(value, Mapping):
        for v in value.values():
            found |= class_names(v)
    elif isinstance(value, frozenset | tuple | list):
        for v in value:
            found |= class_names(v)
    return found
