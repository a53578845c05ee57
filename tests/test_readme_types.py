"""The documentation type-checks: every ```python block of README.md and every examples/*.py passes
``mypy --strict`` (one mypy run over all of them), a misspelt keyword is a mypy error naming it, and
the examples run (no key, no network: the ``fake`` provider and ``mock_response``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

MYPY = ROOT / ".venv" / "bin" / "mypy"
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
# Examples that are checked by mypy but not run here, and why.
NOT_RUN = {
    "bench_static.py": "it times the hot paths, builds the wheel and installs it; tests/test_bench_static.py runs it (--quick)",
    "bench_http.py": "it starts a loopback upstream and times calls; tests/test_bench_smoke.py runs it (--quick)",
    "bench.py": "it runs both benchmarks above; tests/test_bench_smoke.py runs it (--quick)",
    "bench_peers.py": "it installs and times the peers; tests/test_bench_smoke.py runs it (tiny)",
    "bench_peer_client.py": "one client process of bench_peers.py, given a live upstream's address",
    "bench_gateway.py": "it starts router serve and a loopback upstream; tests/test_bench_smoke.py runs it (--quick)",
    "bench_instructions.py": "it runs a loopback upstream under valgrind; tests/test_bench_smoke.py runs it (--smoke)",
}

_FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
NEGATIVE = (
    "import router\n\n"
    'router.completion(model="fake/echo", messages=[{"role": "user", "content": "Hi"}], temprature=0.2)\n'
)


def readme_blocks() -> list[tuple[str, str]]:
    """(name, code) of every ```python block of README.md; the name carries its line number."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    out = []
    for m in _FENCE.finditer(text):
        line = text.count("\n", 0, m.start(1)) + 1
        out.append((f"readme_line_{line}", m.group(1)))
    return out


def _sources() -> dict[str, str]:
    """module name -> code, for every file the one mypy run checks."""
    files = dict(readme_blocks())
    for path in EXAMPLES:
        files[f"example_{path.stem}"] = path.read_text(encoding="utf-8")
    files["negative_misspelt_keyword"] = NEGATIVE
    return files


def mypy_errors(tmp: str) -> tuple[dict[str, list[str]], str]:
    """One ``mypy --strict`` run over every file: module name -> its error lines, and the output."""
    where = Path(tmp)
    files = _sources()
    for name, code in files.items():
        (where / f"{name}.py").write_text(code, encoding="utf-8")
    # `import router` is this checkout's; examples/bench.py imports its sibling benchmark modules
    env = {**os.environ, "MYPYPATH": os.pathsep.join([str(ROOT), str(ROOT / "examples")])}
    r = subprocess.run(
        [
            str(MYPY),
            "--strict",
            "--python-version",
            "3.11",
            "--no-error-summary",
            "--cache-dir",
            str(ROOT / ".mypy_cache" / "readme_types"),
            *sorted(f"{name}.py" for name in files),
        ],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode in (0, 1), f"mypy itself failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    errors: dict[str, list[str]] = {name: [] for name in files}
    for line in r.stdout.splitlines():
        name = line.partition(".py:")[0]
        if name in errors and ": error:" in line:
            errors[name].append(line)
    return errors, r.stdout


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, list[str]], str]:
    return mypy_errors(str(tmp_path_factory.mktemp("readme_types")))


def test_readme_has_python_blocks() -> None:
    assert len(readme_blocks()) >= 3


@pytest.mark.parametrize("name", [name for name, _ in readme_blocks()])
def test_readme_block_passes_mypy_strict(checked: tuple[dict[str, list[str]], str], name: str) -> None:
    errors, _ = checked
    code = dict(readme_blocks())[name]
    assert errors[name] == [], f"README.md block at {name}:\n{code}\nmypy --strict:\n" + "\n".join(
        errors[name]
    )


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_passes_mypy_strict(checked: tuple[dict[str, list[str]], str], path: Path) -> None:
    errors, _ = checked
    found = errors[f"example_{path.stem}"]
    assert found == [], f"examples/{path.name}, mypy --strict:\n" + "\n".join(found)


def test_misspelt_keyword_is_a_mypy_error(checked: tuple[dict[str, list[str]], str]) -> None:
    errors, output = checked
    found = errors["negative_misspelt_keyword"]
    assert found, f"mypy accepted temprature=0.2:\n{output}"
    assert any("temprature" in line for line in found), found
    assert any('did you mean "temperature"' in line for line in found), found


_NO_NETWORK = """
import runpy, sys
def _audit(event, args):
    if event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.bind"):
        raise RuntimeError(f"an example used the network: {event} {args!r}")
sys.addaudithook(_audit)
path = sys.argv[1]
sys.argv = [path]
runpy.run_path(path, run_name="__main__")
"""


@pytest.mark.parametrize("path", [p for p in EXAMPLES if p.name not in NOT_RUN], ids=lambda p: p.name)
def test_example_runs_without_network(path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    r = subprocess.run(
        [sys.executable, "-c", _NO_NETWORK, str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, f"examples/{path.name} failed:\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}"
    assert r.stdout.strip(), f"examples/{path.name} printed nothing"


# README sections whose every block runs as written (no key, no network); the others are type-checked
# only, and each is named here with the reason.
RUN_SECTIONS = ("Quickstart", "Errors", "Coming from openai-python or LiteLLM")
NOT_RUN_SECTIONS = {
    "router": "the opening example calls anthropic and gemini: it needs their keys",
    "The gateway: `router serve`": "it calls a running router serve; tests/test_user_journey.py::test_gateway_journey runs that section's config and calls",
}


def readme_blocks_by_section() -> list[tuple[str, str, str]]:
    """(section, name, code) of every ```python block, the section being its ``## `` heading."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    out = []
    for m in _FENCE.finditer(text):
        line = text.count("\n", 0, m.start(1)) + 1
        before = re.sub(r"^```.*?^```", "", text[: m.start()], flags=re.MULTILINE | re.DOTALL)
        heads = re.findall(r"^#{1,2} (.+)$", before, re.MULTILINE)  # headings, not code comments
        out.append((heads[-1].strip() if heads else "", f"readme_line_{line}", m.group(1)))
    return out


def test_every_readme_block_is_run_or_says_why_not() -> None:
    for section, name, _ in readme_blocks_by_section():
        assert section in RUN_SECTIONS or section in NOT_RUN_SECTIONS, (section, name)
    assert sum(1 for s, _, _ in readme_blocks_by_section() if s == "Quickstart") >= 4


@pytest.mark.parametrize(
    ("name", "code"),
    [(n, c) for s, n, c in readme_blocks_by_section() if s in RUN_SECTIONS],
    ids=[n for s, n, _ in readme_blocks_by_section() if s in RUN_SECTIONS],
)
def test_readme_block_runs_as_written(name: str, code: str, tmp_path: Path) -> None:
    script = tmp_path / f"{name}.py"
    script.write_text(code, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    r = subprocess.run(
        [sys.executable, "-c", _NO_NETWORK, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, f"README.md {name} failed:\n{code}\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}"
    assert r.stdout.strip(), f"README.md {name} printed nothing"


def test_not_run_examples_exist() -> None:
    names = {p.name for p in EXAMPLES}
    assert set(NOT_RUN) <= names
