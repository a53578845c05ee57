"""Specs and config files are parsed safely: YAML bombs, recursive aliases, deep nesting and bad tags
are fast ``file:line:col`` diagnostics, never a traceback; ``--out`` in a bad place is a one-line
error; and mutants of the shipped specs never crash the compiler.

The fuzz runs ``ROUTER_FUZZ_EXAMPLES`` mutants (500 in the test command; the longer run is
``ROUTER_FUZZ_EXAMPLES=5000 .venv/bin/pytest tests/test_hostile_specs.py -k fuzz``).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import router
from router.cli import main
from router.compiler import render_all
from router.compiler._specs import load_specs

DIAGNOSTIC = re.compile(r"^.+:\d+:\d+: error: .+")
SPECS = sorted((ROOT / "specs").glob("*.yaml"))
BOMB = "\n".join(
    [
        "spec_version: 1",
        "id: bomb",
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]" for p, n in zip("abcdefgh", "bcdefghi", strict=True)),
    ]
)
HOSTILE = {
    "billion_laughs": (BOMB, "expands to more than"),
    "recursive_alias": ("spec_version: 1\nid: r\na: &a [1, *a]\n", "refers to a node that contains it"),
    "deep_nesting": ("spec_version: 1\nid: d\na: " + "[" * 3000 + "]" * 3000 + "\n", "nests"),
    "deep_mapping": ("spec_version: 1\nid: d\n" + "".join("  " * i + f"k{i}:\n" for i in range(100)) + "  " * 100 + "x: 1\n", "nests"),
    "bad_float_tag": ("spec_version: 1\nid: t\nv: !!float nope\n", "bad scalar"),
    "bad_int_tag": ("spec_version: 1\nid: t\nv: !!int zz\n", "bad scalar"),
    "python_tag": ("spec_version: 1\nid: t\nv: !!python/object/apply:os.system ['echo pwned']\n", "is not supported"),
}  # fmt: skip


def _validate(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "hostile.yaml"
    path.write_text(text)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1, result.output
    return [line for line in result.output.splitlines() if ": error: " in line]


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_yaml_is_a_fast_diagnostic(name: str, tmp_path: Path) -> None:
    text, expected = HOSTILE[name]
    start = time.perf_counter()
    lines = _validate(tmp_path, text)
    assert time.perf_counter() - start < 5
    assert lines and all(DIAGNOSTIC.match(line) for line in lines), lines
    assert any(expected in line for line in lines), lines


@pytest.mark.parametrize("name", ["billion_laughs", "recursive_alias", "deep_nesting", "bad_float_tag"])
def test_hostile_router_config_is_a_config_error(name: str, tmp_path: Path) -> None:
    text = HOSTILE[name][0].replace("spec_version: 1\nid: ", "config_version: 1\nname_: ")
    path = tmp_path / "router.yaml"
    path.write_text(text)
    with pytest.raises(router.ConfigError) as info:
        router.Router.from_config(path)
    assert all(DIAGNOSTIC.match(line) for line in str(info.value).splitlines())


@pytest.mark.parametrize("where", ["file", "under_file"])
def test_out_in_a_bad_place_is_one_line(where: str, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    out = tmp_path / "f" if where == "file" else tmp_path / "f" / "sub"
    result = CliRunner().invoke(main, ["build", "--specs", str(ROOT / "specs"), "--out", str(out)])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert len(result.output.strip().splitlines()) == 1 and ": error: " in result.output


# --------------------------------------------------------------------------- fuzz

_TOKENS = ["", " ", ":", "- ", "{", "}", "[", "]", "&x", "*x", "!!float", "!!str", "~", "null", "'", '"', "\t",
           "\n", "#", "1e999", "-1", "true", "<<: *x", "extends: openai", "\x00", "\ufeff", "{a: 1}", "[1, [2]]"]  # fmt: skip


@st.composite
def _mutant(draw: st.DrawFn) -> tuple[str, str]:
    spec = draw(st.sampled_from(SPECS))
    lines = spec.read_text().splitlines()
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["insert", "delete", "duplicate", "dedent", "indent", "token"]))
        i = draw(st.integers(0, max(len(lines) - 1, 0)))
        if op == "delete" and lines:
            del lines[i]
        elif op == "duplicate" and lines:
            lines.insert(i, lines[i])
        elif op == "dedent" and lines:
            lines[i] = lines[i].lstrip()
        elif op == "indent" and lines:
            lines[i] = "  " + lines[i]
        elif op == "insert":
            lines.insert(i, draw(st.sampled_from(_TOKENS)) + draw(st.text(max_size=8)))
        elif lines:
            line = lines[i]
            at = draw(st.integers(0, len(line)))
            lines[i] = line[:at] + draw(st.sampled_from(_TOKENS)) + line[at:]
    return spec.name, "\n".join(lines) + "\n"


@settings(
    max_examples=int(os.environ.get("ROUTER_FUZZ_EXAMPLES", "500")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=True,
)
@given(_mutant())
def test_fuzz_mutants_of_the_shipped_specs(
    tmp_path_factory: pytest.TempPathFactory, mutant: tuple[str, str]
) -> None:
    name, text = mutant
    folder = tmp_path_factory.mktemp("fuzz")
    target = folder / name
    target.write_text(text, encoding="utf-8", errors="surrogatepass")
    files = [target]
    if name != "openai.yaml":  # most specs extend openai: it is there, as in specs/
        (folder / "openai.yaml").write_text((ROOT / "specs" / "openai.yaml").read_text())
        files.append(folder / "openai.yaml")
    specs, diags = load_specs(files)
    for d in diags:
        assert DIAGNOSTIC.match(str(d)), str(d)
    if not diags:
        _, render_diags = render_all(specs, folder / "out")
        assert not render_diags, render_diags


def test_null_variables_under_extends(tmp_path: Path) -> None:
    for name in ("openai", "azure-openai"):
        (tmp_path / f"{name}.yaml").write_text((ROOT / "specs" / f"{name}.yaml").read_text())
    # a null with nothing to remove is nothing; removing a variable an inherited URL uses is a diagnostic
    (tmp_path / "ochild.yaml").write_text(
        "spec_version: 1\nid: ochild\nextends: openai\nname: O\nvariables: {x: null}\n"
    )
    (tmp_path / "azchild.yaml").write_text(
        "spec_version: 1\nid: azchild\nextends: azure-openai\nname: A\nvariables: {endpoint: null}\n"
    )
    result = CliRunner().invoke(main, ["build", "--specs", str(tmp_path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    errors = [line for line in result.output.splitlines() if ": error: " in line]
    assert (
        len(errors) == 1
        and "azchild.yaml:5:" in errors[0]
        and "inherited base_url uses {endpoint}" in errors[0]
    )
