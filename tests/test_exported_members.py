"""``router.__all__`` is the public API: sorted, complete, and every name in it resolves (some load lazily
through the package's PEP 562 ``__getattr__``). Public submodules with an ``__all__`` hold the same line."""

from __future__ import annotations
import __future__

import ast
import importlib
import typing
from types import ModuleType

import pytest
from conftest import ROOT

import router

# Facades: modules that exist to re-export, so every public name in them must be listed in __all__.
FACADES = ["router", "router.fake"]


def _assigns_all(node: ast.stmt) -> bool:
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, ast.AnnAssign):
        targets = [node.target]
    else:
        return False
    return any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets)


def _public_submodules() -> list[str]:
    """router's public submodules (no `_` in the dotted name) that declare ``__all__``, read without
    importing them."""
    found = []
    for path in sorted((ROOT / "router").rglob("*.py")):
        parts = ("router", *path.relative_to(ROOT / "router").with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if len(parts) < 2 or any(p.startswith("_") for p in parts):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(_assigns_all(node) for node in tree.body):
            found.append(".".join(parts))
    return found


SUBMODULES = _public_submodules()


def _is_annotation_helper(name: str, value: object) -> bool:
    # `from __future__ import annotations` and `from typing import TYPE_CHECKING, Any` are plumbing for
    # annotations, not API.
    return getattr(__future__, name, None) is value or getattr(typing, name, None) is value


def _public_members(module: ModuleType) -> list[str]:
    return sorted(
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, ModuleType)  # submodules appear as attributes once imported
        and not _is_annotation_helper(name, value)
    )


def test_router_all_is_sorted() -> None:
    assert router.__all__ == sorted(router.__all__)


def test_router_all_has_no_duplicates() -> None:
    assert len(router.__all__) == len(set(router.__all__))


@pytest.mark.parametrize("name", router.__all__)
def test_router_all_name_resolves(name: str) -> None:
    assert getattr(router, name) is not None


def test_unknown_name_raises_attribute_error() -> None:
    assert not hasattr(router, "no_such_name")
    with pytest.raises(AttributeError):
        router.no_such_name  # noqa: B018


def test_version_is_a_string() -> None:
    assert isinstance(router.__version__, str)
    assert router.__version__


@pytest.mark.parametrize("name", FACADES)
def test_public_members_are_exported(name: str) -> None:
    module = importlib.import_module(name)
    for submodule in SUBMODULES:  # so their attributes sit on the package, as in a real program
        importlib.import_module(submodule)
    # Load every lazy name first: a resolved lazy name is cached in the module's namespace.
    for lazy in [*module.__all__, *getattr(module, "_LAZY", {})]:
        getattr(module, lazy)
    missing = sorted(set(_public_members(module)) - set(module.__all__))
    assert missing == [], f"public in {name} but not in its __all__: {missing}"


def test_public_submodules_are_found() -> None:
    assert "router.fake" in SUBMODULES


@pytest.mark.parametrize("name", SUBMODULES)
def test_submodule_all_is_sorted_and_resolves(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert exported == sorted(exported), f"{name}.__all__ is not sorted"
    assert len(exported) == len(set(exported)), f"{name}.__all__ lists a name twice"
    unresolved = [n for n in exported if not hasattr(module, n)]
    assert unresolved == [], f"{name}.__all__ names what {name} does not have: {unresolved}"
