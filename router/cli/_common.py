"""What every ``router`` subcommand shares: errors as one line, colour, tables, JSON, spec folders."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from typing import NoReturn

import click

from router import _registry
from router._exceptions import ConfigError
from router._exceptions import RouterError

__all__ = [
    "Group",
    "builtin_specs_dir",
    "colour",
    "default_specs_dir",
    "emit_json",
    "error_line",
    "fail",
    "origins",
    "table",
]

_SETTING = re.compile(r"[A-Z][A-Z0-9_]*=")  # an environment variable's setting: ROUTER_ADAPTERS=...


def error_line(err: BaseException) -> str:
    """``error: <Class>: message`` on one line. A ConfigError that names its setting first
    (``ROUTER_ADAPTERS=...: ...``) is shown as that setting's error."""
    text = " ".join(str(err).split()) or type(err).__name__
    if isinstance(err, ConfigError) and _SETTING.match(text):
        return f"error: {text}"
    return f"error: {type(err).__name__}: {text}"


def fail(message: str) -> NoReturn:
    """Print ``error: message`` on stderr and exit 1 (a problem found, not a usage error)."""
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


class Group(click.Group):
    """A click group whose commands turn any RouterError into one line on stderr and exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RouterError as err:
            click.echo(error_line(err), err=True)
            ctx.exit(1)


# -- output -------------------------------------------------------------------------------------------


def _colour_on() -> bool:
    if os.environ.get("NO_COLOR"):  # https://no-color.org: any non-empty value
        return False
    ctx = click.get_current_context(silent=True)
    return ctx is None or ctx.color is not False


def colour(text: str, **style: Any) -> str:
    """``text`` styled (click.style), unless NO_COLOR is set. Everything is printed by click.echo,
    which removes the styles again when the output is not a terminal (piped, redirected)."""
    return click.style(text, **style) if style and _colour_on() else text


def table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    styles: Callable[[int, str, Sequence[str]], dict[str, Any]] | None = None,
    right: frozenset[int] = frozenset(),
) -> list[str]:
    """Rows aligned in columns under a header; ``styles(col, cell, row)`` gives a cell's click.style
    arguments (applied after padding, so colour never shifts a column); ``right`` aligns columns right."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def pad(i: int, cell: str) -> str:
        return cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])

    last = len(header) - 1
    out = ["  ".join(colour(pad(i, h) if i < last else h, bold=True) for i, h in enumerate(header))]
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            text = pad(i, cell) if i < last or i in right else cell
            cells.append(colour(text, **(styles(i, cell, row) if styles else {})))
        out.append("  ".join(cells).rstrip())
    return out


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


# -- where things are ---------------------------------------------------------------------------------


def builtin_specs_dir() -> Path | None:
    """The specs shipped with router (``router/_specs`` installed, ``specs/`` in a checkout)."""
    from router.compiler import builtin_specs_dir as shipped  # yaml and jsonschema come with the compiler

    return shipped()


def default_specs_dir() -> Path | None:
    """``./specs`` when there is one, else the built-in specs."""
    here = Path("specs")
    return here if here.is_dir() else builtin_specs_dir()


def origins() -> dict[str, list[str]]:
    """Provider id -> where it is defined, the one used first ("built-in" or a folder)."""
    return _registry.origins()
