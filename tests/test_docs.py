"""``router docs``: the committed docs/ is what the specs make; a spec change makes --check fail;
the pages say what the specs say; the spec reference covers every schema field; output is stable."""

from __future__ import annotations

import json
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from click.testing import Result
from conftest import ROOT

from router import compiler
from router.cli import main
from router.compiler._docs import DOCS_MARK
from router.compiler._docs import render_docs

SPECS = ROOT / "specs"
DOCS = ROOT / "docs"
SCHEMA = json.loads((ROOT / "schemas" / "provider.v1.schema.json").read_text())


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@cache
def shipped() -> list[compiler.Spec]:
    specs, diags = compiler.validate([SPECS])
    assert not diags
    return specs


@cache
def rendered() -> dict[str, str]:
    """The docs the shipped specs make, by path relative to docs/."""
    specs = shipped()
    return {p.relative_to(DOCS).as_posix(): text for p, text in render_docs(specs, SCHEMA, DOCS).items()}


def test_committed_docs_are_in_step(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    r = run("docs", "--check")
    assert r.exit_code == 0, r.output
    assert r.output.startswith("ok: docs matches")


def test_render_is_deterministic() -> None:
    again = render_docs(list(reversed(shipped())), SCHEMA, DOCS)
    assert {p.relative_to(DOCS).as_posix(): t for p, t in again.items()} == rendered()


def test_every_provider_has_a_page_and_a_row() -> None:
    ids = sorted(p.stem for p in SPECS.glob("*.yaml"))
    pages = sorted(
        k.removeprefix("providers/").removesuffix(".md") for k in rendered() if k.startswith("providers/")
    )
    assert pages == ids
    matrix = rendered()["providers.md"]
    for pid in ids:
        assert f"(providers/{pid}.md)" in matrix, pid
    for text in rendered().values():
        assert text.startswith(DOCS_MARK)


def test_matrix_columns_are_the_declared_capabilities() -> None:
    declared = {
        c for s in shipped() for m in s.resolved.get("models") or [] for c in m.get("capabilities") or []
    }
    header = rendered()["providers.md"].split("## Capabilities", 1)[1].strip().splitlines()[0]
    columns = [c.strip() for c in header.strip("|").split("|")][3:]
    assert len(columns) == len(declared)
    assert "Embeddings" not in header  # no spec declares embeddings
    row = next(line for line in rendered()["providers.md"].splitlines() if line.startswith("| [Fake"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    streaming = columns.index("Streaming") + 3
    assert cells[2] == "2" and cells[streaming] == "✓" and cells[3] == "—"  # fake: 2 models, streaming only
    vllm = next(line for line in rendered()["providers.md"].splitlines() if line.startswith("| [vLLM"))
    assert "| ? |" in vllm  # no catalogue: depends on the model


def test_provider_page_says_what_the_spec_says() -> None:
    page = rendered()["providers/anthropic.md"]
    for expected in (
        "# Anthropic (`anthropic`)",
        "[specs/anthropic.yaml](../../specs/anthropic.yaml)",
        "`https://api.anthropic.com`",
        "`ANTHROPIC_API_KEY`",
        "`anthropic-messages`",
        "`stop` → `stop_sequences`",
        "`temperature` 0..1 (clamp)",
        "| `end_turn` | `stop` |",
        "`claude-sonnet-4-5` (API)",
        "200,000",
        "$3.00",
        '`{"thinking": {"type": "enabled", "budget_tokens": 2048}}`',
        "<https://docs.anthropic.com/en/api/errors>",
    ):
        assert expected in page, expected
    child = rendered()["providers/azure-openai.md"]
    assert "**Extends** | [openai](openai.md)" in child
    assert "`{endpoint}`" in child and "AZURE_OPENAI_ENDPOINT" in child
    responses = rendered()["providers/openai-responses.md"]
    assert "`models_from`" in responses and "`gpt-5`" in responses


def _schema_paths(node: dict[str, Any], path: str) -> list[str]:
    out = []
    for name, sub in (node.get("properties") or {}).items():
        here = f"{path}.{name}" if path else name
        out.append(here)
        out += _schema_paths(sub, here)
    items = node.get("items")
    if isinstance(items, dict):
        out += _schema_paths(items, f"{path}[]")
    extra = node.get("additionalProperties")
    if isinstance(extra, dict) and extra.get("properties"):
        out += [p for p in _schema_paths(extra, f"{path}.<name>")]
    return out


def test_spec_reference_covers_every_field() -> None:
    ref = rendered()["spec-reference.md"]
    paths = _schema_paths(SCHEMA, "")
    assert len(paths) > 100
    for p in paths:
        assert f"`{p}`" in ref, p
    for value in SCHEMA["properties"]["protocol"]["enum"]:
        assert f"`{value}`" in ref
    assert SCHEMA["properties"]["auth"]["properties"]["env"]["description"] in ref
    assert "| `models[].price.as_of` | string matching" in ref


def _copy(tmp_path: Path) -> tuple[Path, Path]:
    specs, docs = tmp_path / "specs", tmp_path / "docs"
    shutil.copytree(SPECS, specs)
    shutil.copytree(DOCS, docs)
    return specs, docs


def test_check_fails_after_a_spec_change_and_docs_fixes_it(tmp_path: Path) -> None:
    specs, docs = _copy(tmp_path)
    args = ("--specs", str(specs), "--out", str(docs))
    r = run("docs", "--check", *args)
    assert r.exit_code == 0, r.output  # a copy laid out like the repo matches as committed
    fake = specs / "fake.yaml"
    fake.write_text(fake.read_text().replace("name: Fake (in-process)", "name: Fake (changed)"))
    (docs / "providers" / "openai.md").unlink()
    (docs / "providers" / "gone.md").write_text(DOCS_MARK + " from the provider specs -->\n# Gone\n")
    (docs / "providers" / "mine.md").write_text("# a page of my own, not generated\n")
    r = run("docs", "--check", *args)
    assert r.exit_code == 1
    problems = r.stderr.splitlines()
    assert f"stale: {(docs / 'providers.md').as_posix()}" in problems
    assert f"stale: {(docs / 'providers' / 'fake.md').as_posix()}" in problems
    assert f"missing: {(docs / 'providers' / 'openai.md').as_posix()}" in problems
    assert f"orphan: {(docs / 'providers' / 'gone.md').as_posix()}" in problems
    assert not any("mine.md" in p for p in problems)
    r = run("docs", *args)
    assert r.exit_code == 0, r.output
    assert "Fake (changed)" in (docs / "providers" / "fake.md").read_text()
    assert not (docs / "providers" / "gone.md").exists() and (docs / "providers" / "mine.md").exists()
    assert run("docs", "--check", *args).exit_code == 0
    assert run("docs", *args).output.endswith("(0 file changes)\n")


def test_docs_of_an_invalid_spec_exit_1(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "bad.yaml").write_text("spec_version: 1\nid: bad\nprotocol: nope\n")
    r = run("docs", "--specs", str(specs), "--out", str(tmp_path / "docs"))
    assert r.exit_code == 1 and "bad.yaml:" in r.stderr
    assert not (tmp_path / "docs").exists()
    r = run("docs", "--specs", str(tmp_path / "none"), "--out", str(tmp_path / "docs"))
    assert r.exit_code == 1 and "no such directory" in r.stderr
