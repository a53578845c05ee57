"""The wheel's compact copies of the data files (hatch_build.py) mean what the repository's do: for
every spec, the same YAML data and the same compiled module; for every schema, the same JSON."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from click.testing import CliRunner
from conftest import ROOT

from router.cli import main

SPECS = sorted((ROOT / "specs").glob("*.yaml"))
SCHEMAS = sorted((ROOT / "schemas").glob("*.json"))


def _hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("router_hatch_build", ROOT / "hatch_build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_compact_spec_loads_to_the_same_data(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    compact = _hook().compact_yaml(text)
    assert yaml.safe_load(compact) == yaml.safe_load(text)
    has_comments = any(ln.lstrip().startswith("#") for ln in text.splitlines()[1:])
    assert len(compact) < len(text) if has_comments else compact == text


def test_compact_yaml_keeps_block_scalars_as_written() -> None:
    text = "a: 1\n# gone\nnote: >-\n  first\n  # kept: part of the text\n\n  last\nlist:\n  - note: |\n      # kept too\n  # gone\n  - 2\n"
    compact = _hook().compact_yaml(text)
    assert yaml.safe_load(compact) == yaml.safe_load(text)
    assert "# gone" not in compact and "# kept: part of the text" in compact and "# kept too" in compact


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: p.stem)
def test_compact_schema_is_the_same_json(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    compact = _hook().compact_json(text)
    assert json.loads(compact) == json.loads(text) and len(compact) < len(text)


def test_compact_specs_compile_to_the_same_modules(tmp_path: Path) -> None:
    hook = _hook()
    specs = tmp_path / "specs"
    specs.mkdir()
    for path in SPECS:
        (specs / path.name).write_text(hook.compact_yaml(path.read_text(encoding="utf-8")), encoding="utf-8")
    out = tmp_path / "generated"
    result = CliRunner().invoke(
        main, ["build", "--specs", str(specs), "--out", str(out)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    ours = sorted(p.name for p in out.iterdir() if p.is_file())
    assert ours == sorted(p.name for p in (ROOT / "generated").iterdir() if p.is_file())  # no __pycache__
    for name in ours:
        built = (out / name).read_text(encoding="utf-8").splitlines()
        committed = (ROOT / "generated" / name).read_text(encoding="utf-8").splitlines()
        # the header's spec-sha256 is of the file's text, comments included: the one line that differs
        differ = [i for i, (a, b) in enumerate(zip(built, committed, strict=True)) if a != b]
        assert all(built[i].startswith("# spec-sha256: ") for i in differ), (name, differ[:3])
