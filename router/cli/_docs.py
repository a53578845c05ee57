"""``router docs``: generate (or check) the Markdown docs from the specs and the spec schema."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from router.cli._build import print_diagnostics
from router.cli._common import default_specs_dir
from router.cli._common import fail

__all__ = ["docs"]


@click.command(short_help="Generate the Markdown docs from the specs and schema.")
@click.option(
    "--specs",
    "specs_dir",
    type=click.Path(path_type=Path),
    help="Folder of specs (default: ./specs if it exists, else the built-in specs).",
)
@click.option("--out", "out_dir", default="docs", show_default=True, type=click.Path(path_type=Path))
@click.option("--check", "check_only", is_flag=True, help="Exit 1 listing stale, missing and orphan pages.")
def docs(specs_dir: Path | None, out_dir: Path, check_only: bool) -> None:
    """Write OUT/providers.md (the provider x feature matrix), OUT/providers/<id>.md (one page a
    provider) and OUT/spec-reference.md (every spec field, from the schema's descriptions)."""
    from router.compiler import validate  # yaml and jsonschema: only for the commands that read specs
    from router.compiler._docs import check_docs
    from router.compiler._docs import render_docs
    from router.compiler._docs import write_docs
    from router.compiler._specs import schema_path

    specs_dir = specs_dir or default_specs_dir()
    if specs_dir is None or not specs_dir.is_dir():
        fail(f"{specs_dir or 'specs'}: no such directory, expected a folder of provider specs")
    specs, diags = validate([specs_dir])
    if diags:
        print_diagnostics(list(diags))
        sys.exit(1)
    schema = json.loads(schema_path().read_text(encoding="utf-8"))
    files = render_docs(specs, schema, out_dir)
    if check_only:
        problems = check_docs(files, out_dir)
        if problems:
            for p in problems:
                click.echo(p, err=True)
            click.echo(f"{out_dir} is out of step with {specs_dir}: run `router docs`", err=True)
            sys.exit(1)
        click.echo(f"ok: {out_dir} matches {len(specs)} specs ({len(files)} pages)")
        return
    if out_dir.exists() and not out_dir.is_dir():
        fail(f"{out_dir}: --out is a file, expected a folder for the docs")
    try:
        changed = write_docs(files, out_dir)
    except OSError as e:
        fail(f"{out_dir}: cannot write the docs there ({e.strerror or type(e).__name__})")
    for line in changed:
        click.echo(line)
    click.echo(f"wrote the docs of {len(specs)} specs into {out_dir} ({len(changed)} file changes)")
