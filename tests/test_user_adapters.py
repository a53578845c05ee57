"""App adapters are added beside the built-in ones (ROUTER_ADAPTERS, router.use_adapters), in a
declared order, and a bad folder is a one-line ConfigError."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import router
from router import _registry
from router import compiler

ROOT = Path(__file__).resolve().parents[1]


def _spec(pid: str, name: str, extends: str = "openai", models: tuple[str, ...] = ()) -> str:
    lines = ["spec_version: 1", f"id: {pid}", f"extends: {extends}", f"name: {name}"]
    if models:
        lines.append("models:")
        lines += [f"  - id: {m}" for m in models]
    return "\n".join(lines) + "\n"


def _build(tmp: Path, folder: str, specs: dict[str, str]) -> Path:
    src = tmp / f"{folder}_specs"
    src.mkdir()
    for pid, text in specs.items():
        (src / f"{pid}.yaml").write_text(text)
    result = compiler.build(src, tmp / folder)
    assert result.ok, result.diagnostics
    compiler.write(result, tmp / folder)
    return tmp / folder


@pytest.fixture
def clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("ROUTER_ADAPTERS", raising=False)
    saved = list(_registry._used)
    _registry._used.clear()
    _registry._clear()
    yield
    _registry._used[:] = saved
    _registry._clear()


def test_use_adapters_adds_and_overrides(clean: None, tmp_path: Path) -> None:
    one = _build(
        tmp_path, "one", {"acme": _spec("acme", "Acme", models=("acme-1",)), "groq": _spec("groq", "My Groq")}
    )
    builtin_groq = _registry.adapter("groq")
    router.use_adapters(one)
    assert _registry.adapter("acme").name == "Acme"
    assert _registry.adapter("groq").name == "My Groq"  # the app's spec wins over the built-in id
    assert _registry.adapter("groq") is not builtin_groq
    assert _registry.origins()["groq"] == [str(one.resolve()), "built-in"]
    assert _registry.resolve("acme-1")[0].id == "acme"
    assert _registry.adapter("fake").id == "fake"  # built-ins stay
    assert set(_registry.provider_ids()) >= {"acme", "groq", "fake", "anthropic"}
    resp = router.completion(model="fake/echo", messages=[{"role": "user", "content": "still here"}])
    assert resp.choices[0].message.content == "still here"


def test_order_use_adapters_then_env_then_builtin(
    clean: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = _build(tmp_path, "a", {"acme": _spec("acme", "from a")})
    b = _build(tmp_path, "b", {"acme": _spec("acme", "from b"), "beta": _spec("beta", "Beta")})
    c = _build(tmp_path, "c", {"acme": _spec("acme", "from c")})
    monkeypatch.setenv("ROUTER_ADAPTERS", os.pathsep.join([str(b), "", str(c)]))
    _registry._clear()
    assert _registry.adapter("acme").name == "from b"  # the first folder listed wins
    assert _registry.adapter("beta").name == "Beta"
    router.use_adapters(a)
    assert _registry.adapter("acme").name == "from a"  # use_adapters() before $ROUTER_ADAPTERS
    assert _registry.origins()["acme"] == [str(p.resolve()) for p in (a, b, c)]


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda t: t / "missing", "no such folder"),
        (lambda t: (t / "empty").mkdir() or t / "empty", "no compiled adapters"),
        (lambda t: (t / "f.txt").write_text("x") and t / "f.txt", "no compiled adapters"),
    ],
)
def test_bad_folders_are_one_line_config_errors(
    clean: None, tmp_path: Path, make, needle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    where = make(tmp_path)
    with pytest.raises(router.ConfigError, match=needle) as e:
        router.use_adapters(where)
    assert "\n" not in str(e.value)
    monkeypatch.setenv("ROUTER_ADAPTERS", str(where))
    _registry._clear()
    with pytest.raises(router.ConfigError, match=needle) as e:
        router.completion(model="fake/echo", messages=[{"role": "user", "content": "x"}])
    assert str(e.value).startswith("ROUTER_ADAPTERS=") and "\n" not in str(e.value)


def test_an_app_generated_package_does_not_shadow_router(tmp_path: Path) -> None:
    (tmp_path / "generated").mkdir()
    (tmp_path / "generated" / "__init__.py").write_text("raise ImportError('the app generated package')\n")
    code = (
        "import sys, router; "
        "r = router.completion(model='fake/echo', messages=[{'role': 'user', 'content': 'ok'}]); "
        "print(r.choices[0].message.content, 'generated' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["ok", "False"]
