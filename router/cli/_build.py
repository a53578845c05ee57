"""``router validate`` and ``router build``: check specs, compile them into adapters."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from router.cli._common import emit_json

__all__ = ["build", "print_diagnostics", "validate"]


def print_diagnostics(diags: Sequence[object]) -> None:
    for d in diags:
        click.echo(str(d), err=True)
    n = len(diags)
    click.echo(f"{n} error{'s' if n != 1 else ''}", err=True)


@click.command(short_help="Check specs: every problem as file:line:col: error: ...")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--strict",
    is_flag=True,
    help="Also require every spec's error table (with what it inherits) to classify every error class.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (specs and diagnostics).")
def validate(paths: tuple[Path, ...], strict: bool, as_json: bool) -> None:
    """Check spec files or folders (default: specs/).

    Prints every problem as file:line:col: error: ... and exits 1 when there is any.
    """
    from router.compiler import validate as run  # yaml and jsonschema: only for commands that compile

    # A missing file or folder is a diagnostic (PATH:1:1: error: no such file or directory ...)
    specs, diags = run(list(paths) or [Path("specs")], strict=strict)
    if as_json:
        emit_json(
            {
                "ok": not diags,
                "specs": sorted(s.id for s in specs),
                "diagnostics": [
                    {"file": d.file, "line": d.line, "col": d.col, "message": d.message, "pointer": d.pointer}
                    for d in diags
                ],
            }
        )
        if diags:
            sys.exit(1)
        return
    if diags:
        print_diagnostics(diags)
        sys.exit(1)
    click.echo(f"ok: {len(specs)} spec{'s' if len(specs) != 1 else ''} valid")


@click.command(short_help="Compile the specs into Python adapters.")
@click.option("--specs", "specs_dir", default="specs", show_default=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", default="generated", show_default=True, type=click.Path(path_type=Path))
@click.option("--check", "check_only", is_flag=True, help="Exit 1 if OUT is not exactly what the specs make.")
@click.option("--diff", "show_diff", is_flag=True, help="Print a unified diff of what a build would change.")
def build(specs_dir: Path, out_dir: Path, check_only: bool, show_diff: bool) -> None:
    """Compile every spec in SPECS into a Python module in OUT."""
    from router import compiler  # yaml, jsonschema and jinja2: only for commands that compile

    if not specs_dir.is_dir():
        click.echo(f"{specs_dir}: error: no such directory, expected a folder of provider specs", err=True)
        sys.exit(1)
    result = compiler.build(specs_dir, out_dir)
    if not result.ok:
        print_diagnostics(list(result.diagnostics))
        sys.exit(1)
    if show_diff:
        text = compiler.diff(result, out_dir)
        click.echo(text, nl=False)
        if check_only and text:
            sys.exit(1)
        return
    if check_only:
        problems = compiler.check(result, out_dir)
        if problems:
            for p in problems:
                click.echo(p, err=True)
            click.echo(f"{out_dir} is out of step with {specs_dir}: run `router build`", err=True)
            sys.exit(1)
        click.echo(f"ok: {out_dir} matches {len(result.specs)} specs")
        return
    if out_dir.exists() and not out_dir.is_dir():
        click.echo(f"{out_dir}: error: --out is a file, expected a folder for the adapters", err=True)
        sys.exit(1)
    try:
        changed = compiler.write(result, out_dir)
    except OSError as e:  # under a file, unwritable, a read-only or missing mount...
        reason = e.strerror or type(e).__name__
        click.echo(
            f"{out_dir}: error: cannot write the adapters there ({reason}), expected a writable folder",
            err=True,
        )
        sys.exit(1)
    for line in changed:
        click.echo(line)
    click.echo(f"built {len(result.specs)} adapters into {out_dir} ({len(changed)} file changes)")
