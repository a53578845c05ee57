"""The ``router`` command: build and validate specs, list providers.

router validate [--strict] [PATHS]...
router build [--specs DIR] [--out DIR] [--check] [--diff]
router list
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from router._providers import providers
from router._registry import adapter

__all__ = ["main"]


def _print_diagnostics(diags: list[object]) -> None:
    for d in diags:
        click.echo(str(d), err=True)
    n = len(diags)
    click.echo(f"{n} error{'s' if n != 1 else ''}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="router")
def main() -> None:
    """Compile provider specs (YAML) into Python adapters, and inspect them."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--strict",
    is_flag=True,
    help="Also require every spec's error table (with what it inherits) to classify every error class.",
)
def validate(paths: tuple[Path, ...], strict: bool) -> None:
    """Check spec files (default: specs/). Prints every problem as file:line:col: error: ..."""
    from router.compiler import validate as run  # yaml and jsonschema: only for commands that compile

    specs, diags = run(list(paths) or [Path("specs")], strict=strict)
    if diags:
        _print_diagnostics(list(diags))
        sys.exit(1)
    click.echo(f"ok: {len(specs)} spec{'s' if len(specs) != 1 else ''} valid")


@main.command()
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
        _print_diagnostics(list(result.diagnostics))
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


@main.command(name="list")
def list_providers() -> None:
    """List the compiled providers and their models."""
    for row in provider_table():
        click.echo(row)


def provider_table() -> list[str]:
    """`router list`: one row a provider: id, protocol, catalogue size, and whether it is usable here."""
    rows = []
    statuses = providers()
    width = max(len(p.id) for p in statuses)
    for p in statuses:
        n = len(adapter(p.id).models)
        state = "enabled " if p.enabled else "disabled"
        rows.append(f"{p.id:<{width}}  {p.protocol:<18}  {n:>2} models  {state}  {p.reason}")
    return rows


if __name__ == "__main__":  # pragma: no cover
    main()
