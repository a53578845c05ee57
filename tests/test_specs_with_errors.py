"""Specs that must not compile: one directory per failure mode, every diagnostic snapshotted.

Each ``tests/specs_with_errors/<case>/`` holds the smallest set of spec files that shows one mistake
(plus, where needed, a valid parent to extend). The diagnostics, as ``router validate`` prints them,
are kept in ``__snapshots__/test_specs_with_errors/``; review a change with ``--snapshot-update``
and read every line: it is what a spec author sees.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from syrupy.extensions.json import JSONSnapshotExtension

from router.cli import main
from router.compiler import validate

REPO = Path(__file__).resolve().parents[1]
CASES_DIR = Path("tests") / "specs_with_errors"  # relative to REPO, so file names print as they do in the CLI
CASES = sorted(p.name for p in (REPO / CASES_DIR).iterdir() if p.is_dir())
DIAGNOSTIC = re.compile(r"^tests/specs_with_errors/[^:]+:\d+:\d+: error: .+, expected .+")

# A case with several independent mistakes in one file: the CLI must report all of them at once.
MULTI_ERROR_CASE = "several_errors_in_one_file"


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(REPO)
    return REPO


# A case whose name starts with this is validated as `router validate --strict` does.
STRICT_PREFIX = "strict_"


def _diagnostics(case: str) -> list[str]:
    _, diags = validate([CASES_DIR / case], strict=case.startswith(STRICT_PREFIX))
    return [str(d) for d in diags]


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 20
    assert MULTI_ERROR_CASE in CASES


@pytest.mark.parametrize("case", CASES)
def test_spec_with_errors(case: str, in_repo: Path, snapshot_json) -> None:
    lines = _diagnostics(case)
    assert lines, f"{case}: expected at least one diagnostic"
    for line in lines:
        assert DIAGNOSTIC.match(line), line
    assert lines == snapshot_json


def test_several_errors_are_all_reported(in_repo: Path) -> None:
    lines = _diagnostics(MULTI_ERROR_CASE)
    assert len(lines) >= 3
    assert len({line.split(": error: ")[0] for line in lines}) == len(lines)  # distinct places


def test_cli_validate_prints_every_diagnostic(in_repo: Path) -> None:
    expected = _diagnostics(MULTI_ERROR_CASE)
    result = CliRunner().invoke(main, ["validate", (CASES_DIR / MULTI_ERROR_CASE).as_posix()])
    assert result.exit_code == 1, result.output
    for line in expected:
        assert line in result.output
    assert f"{len(expected)} errors" in result.output


def test_cli_build_writes_nothing(in_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["build", "--specs", (CASES_DIR / MULTI_ERROR_CASE).as_posix(), "--out", str(out)]
    )
    assert result.exit_code == 1, result.output
    assert not out.exists() or not any(out.iterdir())
    for line in _diagnostics(MULTI_ERROR_CASE):
        assert line in result.output


def test_cli_validate_strict_reports_a_missing_class(in_repo: Path) -> None:
    case = next(c for c in CASES if c.startswith(STRICT_PREFIX))
    path = (CASES_DIR / case).as_posix()
    assert CliRunner().invoke(main, ["validate", path]).exit_code == 0  # complete only under --strict
    result = CliRunner().invoke(main, ["validate", "--strict", path])
    assert result.exit_code == 1, result.output
    for line in _diagnostics(case):
        assert line in result.output
