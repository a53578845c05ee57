"""The build-time tools are the ``cli`` extra (``pip install 'spec-router[cli]'``).

Without them (made unimportable here by a meta-path finder, in a fresh process): ``import router`` and
the adapters work; the ``router`` command prints one line naming what is missing and the install, and
exits 1; the compiler API and ``Router.from_config`` raise a typed router error with the same hint.
tests/test_user_journey.py does the same with a wheel installed without the extra.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib

import pytest
from conftest import ROOT

HINT = "pip install 'spec-router[cli]'"
ALL = ("click", "jinja2", "jsonschema", "yaml")


def _blocked(blocked: tuple[str, ...], body: str) -> str:
    """A program that makes ``blocked`` (and their submodules) unimportable, then runs ``body``."""
    return textwrap.dedent(
        f"""
        import sys

        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.partition(".")[0] in {set(blocked)!r}:
                    raise ImportError(f"No module named {{name!r}} (blocked by the test)", name=name)
                return None

        sys.meta_path.insert(0, Block())
        """
    ) + textwrap.dedent(body)


def _run(blocked: tuple[str, ...], body: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _blocked(blocked, body), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


ENTRY = "sys.argv[0] = 'router'\nfrom router.__main__ import run\nrun()\n"
MODULE = (
    "import runpy\nsys.argv[0] = 'router'\nrunpy.run_module('router', run_name='__main__', alter_sys=True)\n"
)


@pytest.mark.parametrize("entry", [ENTRY, MODULE], ids=["console-script", "python-m-router"])
@pytest.mark.parametrize("args", [["--version"], ["build"], ["validate", "specs"], ["list"], []])
def test_the_command_without_the_extra_names_it_in_one_line(entry: str, args: list[str]) -> None:
    r = _run(ALL, entry, *args)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert r.stdout == ""
    assert r.stderr == f"error: the router command needs click, jinja2, jsonschema, pyyaml: {HINT}\n"


def test_the_command_names_only_what_is_missing() -> None:
    r = _run(("jinja2",), ENTRY, "--version")
    assert (r.returncode, r.stderr) == (1, f"error: the router command needs jinja2: {HINT}\n")


def test_a_broken_install_is_one_line_too() -> None:
    # jsonschema is found, but one of its own dependencies is not: the import fails past the check
    r = _run(("rpds",), ENTRY, "validate", "specs")
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == [
        f"error: MissingDependencyError: router.compiler needs rpds: {HINT}"
    ]


def test_the_command_runs_with_the_extra() -> None:
    r = _run((), ENTRY, "--version")
    assert (r.returncode, r.stdout.split()[-1]) == (0, "0.1.0"), r.stderr


def test_the_runtime_works_without_the_extra() -> None:
    body = """
        import router, router.generated.openai, router.generated.anthropic
        r = router.completion(model="fake/echo", messages=[{"role": "user", "content": "hi"}])
        print(r.choices[0].message.content)
        assert not {"click", "jinja2", "jsonschema", "yaml"} & set(sys.modules)
    """
    r = _run(ALL, body)
    assert (r.returncode, r.stdout) == (0, "hi\n"), r.stderr


@pytest.mark.parametrize(
    ("call", "what"),
    [
        ("import router.compiler", "router.compiler"),
        ("from router.compiler import build", "router.compiler"),
        ("import router.compiler._specs", "router.compiler"),
        ("router.Router.from_config('router.yaml')", "Router.from_config"),
        ("import router.cli", "the router command"),
    ],
)
def test_the_compiler_api_raises_a_typed_error_naming_the_extra(call: str, what: str) -> None:
    body = f"""
        import router
        try:
            {call}
        except router.ConfigError as err:
            assert isinstance(err, ImportError)  # `except ImportError` around an optional import still works
            print(type(err).__name__, err)
        else:
            raise AssertionError("no error")
    """
    r = _run(ALL, body)
    assert r.returncode == 0, r.stderr
    need = (
        "click, jinja2, jsonschema, pyyaml" if what == "the router command" else "jinja2, jsonschema, pyyaml"
    )
    assert r.stdout == f"MissingDependencyError {what} needs {need}: {HINT}\n"


def test_the_extra_holds_the_build_tools_and_dev_holds_the_extra() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {"click", "jinja2", "jsonschema", "pyyaml"}

    def name(req: str) -> str:
        return req.split(";")[0].split("[")[0].split(">")[0].split("=")[0].split("<")[0].strip().lower()

    assert not names & {name(r) for r in project["dependencies"]}
    assert {name(r) for r in project["optional-dependencies"]["cli"]} == names
    assert "spec-router[cli]" in project["optional-dependencies"]["dev"]
    assert project["scripts"]["router"] == "router.__main__:run"
