"""Structural import rules for router/, read from the source with ``ast`` (nothing here imports router).

* No import cycles among router's modules, counting every import statement (function-local ones too),
  except those under ``if TYPE_CHECKING:``.
* A function- or class-local import carries a comment (same line, or the comment lines right above it)
  that says which dependency it keeps off the import path.
* Runtime modules (all but router/compiler/ and router/cli.py) never import a build tool at top level.

The rule functions take a package directory, so the self-tests at the bottom run them on small
synthetic packages to show each rule can both fail and pass.
"""

from __future__ import annotations

import ast
import io
import re
import textwrap
import tokenize
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "router"

BUILD_TOOLS = frozenset({"yaml", "jsonschema", "jinja2", "click"})
# Modules (relative to the package, with their submodules) allowed to import build tools at top level.
BUILD_TIME = ("compiler", "cli")

# Tool directives are not a justification: `import x  # type: ignore` still needs a reason.
_PRAGMA = re.compile(r"(type|noqa|pragma|pyright|mypy|ruff|fmt|isort|pylint)\b", re.IGNORECASE)


@dataclass(frozen=True)
class ImportSite:
    node: ast.Import | ast.ImportFrom
    local: bool  # inside a def/async def/class body (module-level try/if/with count as top level)

    @property
    def line(self) -> int:
        return self.node.lineno

    @property
    def text(self) -> str:
        return ast.unparse(self.node)


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    is_package: bool
    imports: tuple[ImportSite, ...]
    comments: dict[int, str]  # line -> comment text
    comment_only_lines: frozenset[int]


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    site: ImportSite
    implied: bool  # reached through `import pkg.sub.mod`, not named by the statement

    def where(self, modules: dict[str, Module], base: Path) -> str:
        path = modules[self.source].path.relative_to(base).as_posix()
        via = f" (imports {self.target} as a parent package)" if self.implied else ""
        return f"{path}:{self.site.line}: {self.site.text}{via}"


# -- reading a package --------------------------------------------------------------------------------


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _collect_imports(node: ast.AST, local: bool, out: list[ImportSite]) -> None:
    if isinstance(node, ast.Import | ast.ImportFrom):
        out.append(ImportSite(node, local))
        return
    if isinstance(node, ast.If) and _is_type_checking(node.test):
        for stmt in node.orelse:  # the `else:` of `if TYPE_CHECKING:` runs
            _collect_imports(stmt, local, out)
        return
    inner = local or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda)
    for child in ast.iter_child_nodes(node):
        _collect_imports(child, inner, out)


def _module_name(package: Path, path: Path) -> tuple[str, bool]:
    parts = (package.name, *path.relative_to(package).with_suffix("").parts)
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def _comments(source: str) -> tuple[dict[int, str], frozenset[int]]:
    comments: dict[int, str] = {}
    alone: set[int] = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            row, col = tok.start
            comments[row] = tok.string
            if not tok.line[:col].strip():
                alone.add(row)
    return comments, frozenset(alone)


@cache
def scan(package: Path) -> dict[str, Module]:
    """Every module of the package at ``package`` (a directory), by dotted name."""
    modules: dict[str, Module] = {}
    for path in sorted(package.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        name, is_package = _module_name(package, path)
        sites: list[ImportSite] = []
        _collect_imports(ast.parse(source, filename=str(path)), False, sites)
        comments, alone = _comments(source)
        modules[name] = Module(name, path, is_package, tuple(sites), comments, alone)
    return modules


# -- rule a: the import graph and its cycles ------------------------------------------------------------


def _inside(name: str, root: str) -> bool:
    return name == root or name.startswith(root + ".")


def _known_prefix(name: str, known: Iterable[str]) -> str:
    parts = name.split(".")
    while len(parts) > 1 and ".".join(parts) not in known:
        parts.pop()
    return ".".join(parts)


def _direct_targets(module: Module, node: ast.Import | ast.ImportFrom, known: dict[str, Module]) -> set[str]:
    root = module.name.split(".")[0]
    if isinstance(node, ast.Import):
        return {_known_prefix(a.name, known) for a in node.names if _inside(a.name, root)}
    if node.level:
        parts = module.name.split(".") if module.is_package else module.name.split(".")[:-1]
        parts = parts[: len(parts) - (node.level - 1)]
        base = ".".join([*parts, node.module] if node.module else parts)
    else:
        base = node.module or ""
    if not _inside(base, root):
        return set()
    targets = set()
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        # `from router import _transport` imports the module router._transport when there is one;
        # otherwise it takes a name out of router itself.
        targets.add(sub if sub in known else _known_prefix(base, known))
    return targets


def import_edges(package: Path) -> list[Edge]:
    """One Edge per (import statement, module it makes Python execute), inside the package."""
    modules = scan(package)
    root = package.name
    edges: list[Edge] = []
    for module in modules.values():
        own = module.name.split(".")
        # Packages that are always initialised before this module runs: importing them is no new edge.
        enclosing = {".".join(own[:i]) for i in range(1, len(own) + 1)}
        for site in module.imports:
            for target in sorted(_direct_targets(module, site.node, modules)):
                edges.append(Edge(module.name, target, site, implied=False))
                parts = target.split(".")
                for i in range(2, len(parts)):  # router.protocols for router.protocols.gemini, not router
                    parent = ".".join(parts[:i])
                    if parent != root and parent not in enclosing and parent in modules:
                        edges.append(Edge(module.name, parent, site, implied=True))
    return edges


def import_graph(package: Path) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in scan(package)}
    for edge in import_edges(package):
        graph[edge.source].add(edge.target)
    return graph


def _components(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def find_cycles(graph: dict[str, set[str]], limit: int = 200) -> list[list[str]]:
    """Every elementary cycle (each starting at its smallest module), self-loops included, at most
    ``limit`` of them. A cycle [a, b] means a imports b and b imports a."""
    cycles: list[list[str]] = []

    def walk(start: str, path: list[str], allowed: set[str]) -> Iterator[list[str]]:
        for w in sorted(graph[path[-1]] & allowed):
            if w == start:
                yield list(path)
            elif w not in path:
                path.append(w)
                yield from walk(start, path, allowed)
                path.pop()

    for component in _components(graph):
        for i, start in enumerate(component):
            for cycle in walk(start, [start], set(component[i:])):
                cycles.append(cycle)
                if len(cycles) >= limit:
                    return cycles
    return sorted(cycles)


def cycle_report(package: Path) -> tuple[list[str], list[str]]:
    """(cycles as ``a -> b -> a``, the import statements behind every edge on them)."""
    graph = import_graph(package)
    cycles = find_cycles(graph)
    on_cycle = {(c[i], c[(i + 1) % len(c)]) for c in cycles for i in range(len(c))}
    modules = scan(package)
    sites = [
        f"{e.source} -> {e.target}  {e.where(modules, package.parent)}"
        for e in import_edges(package)
        if (e.source, e.target) in on_cycle
    ]
    return [" -> ".join([*c, c[0]]) for c in cycles], sites


# -- rule b: local imports say why they are local -----------------------------------------------------


def _justifies(comment: str) -> bool:
    return any(part.strip() and not _PRAGMA.match(part.strip()) for part in comment.split("#"))


def _justified(module: Module, node: ast.Import | ast.ImportFrom) -> bool:
    end = node.end_lineno or node.lineno
    if any(_justifies(module.comments.get(line, "")) for line in range(node.lineno, end + 1)):
        return True
    line = node.lineno - 1
    while line in module.comment_only_lines:  # the comment block directly above
        if _justifies(module.comments[line]):
            return True
        line -= 1
    return False


def unjustified_local_imports(package: Path) -> list[str]:
    """Local imports with no comment saying why. One comment may cover a group: an import on the line
    right after a justified local import's last line shares its justification."""
    out = []
    for module in scan(package).values():
        justified_ends: set[int] = set()
        for site in sorted(module.imports, key=lambda s: s.line):
            if not site.local:
                continue
            if site.line - 1 in justified_ends or _justified(module, site.node):
                justified_ends.add(site.node.end_lineno or site.line)
            else:
                out.append(f"{module.path.relative_to(package.parent).as_posix()}:{site.line}: {site.text}")
    return out


# -- rule c: build tools stay out of runtime modules ----------------------------------------------------


def _external_roots(node: ast.Import | ast.ImportFrom) -> set[str]:
    if isinstance(node, ast.Import):
        return {a.name.split(".")[0] for a in node.names}
    return {node.module.split(".")[0]} if node.module and not node.level else set()


def build_tool_imports(package: Path) -> list[str]:
    build_time = [f"{package.name}.{m}" for m in BUILD_TIME]
    out = []
    for module in scan(package).values():
        if any(_inside(module.name, m) for m in build_time):
            continue
        for site in module.imports:
            if not site.local and _external_roots(site.node) & BUILD_TOOLS:
                out.append(f"{module.path.relative_to(package.parent).as_posix()}:{site.line}: {site.text}")
    return out


# -- the rules on router/ -------------------------------------------------------------------------------


def test_no_import_cycle() -> None:
    cycles, sites = cycle_report(PACKAGE)
    assert not cycles, (
        f"{len(cycles)} import cycle(s) among router's modules (every import statement counts, "
        "function-local ones too; only `if TYPE_CHECKING:` blocks are exempt):\n  "
        + "\n  ".join(cycles)
        + "\nimport statements on those cycles:\n  "
        + "\n  ".join(sites)
    )


def test_function_local_imports_are_justified() -> None:
    bad = unjustified_local_imports(PACKAGE)
    assert not bad, (
        "import inside a function or class without a comment (same line or directly above) saying "
        "which dependency it keeps off the import path:\n  " + "\n  ".join(bad)
    )


def test_runtime_modules_do_not_import_build_tools() -> None:
    bad = build_tool_imports(PACKAGE)
    assert not bad, (
        f"runtime module imports a build tool ({', '.join(sorted(BUILD_TOOLS))}) at top level; only "
        "router/compiler/ and router/cli.py may:\n  " + "\n  ".join(bad)
    )


def test_scan_sees_the_package() -> None:
    # Guards the rules above against passing vacuously (wrong directory, no modules, no imports).
    modules = scan(PACKAGE)
    assert {"router", "router._router", "router.protocols", "router.protocols.gemini"} <= set(modules)
    assert "router._exceptions" in import_graph(PACKAGE)["router"]


# -- the rules on synthetic packages ----------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    files: dict[str, str]
    edges: dict[str, set[str]]  # expected out-edges of some modules
    cycles: list[str]
    unjustified: list[str]
    build_tools: list[str]


CASES = {
    "no-cycle": Case(
        files={
            "router/__init__.py": """
                from typing import TYPE_CHECKING
                from router._a import f
                if TYPE_CHECKING:
                    from router._c import C
                else:
                    C = None
            """,
            "router/_a.py": """
                import typing
                from router import _b
                if typing.TYPE_CHECKING:
                    from router._c import C
                def f():
                    if TYPE_CHECKING:
                        from router._c import C
            """,
            "router/_b.py": """
                import os
                try:
                    import yaml_alternative
                except ImportError:
                    yaml_alternative = None
                def g():
                    # yaml loads only when a config file is read
                    # (~20 ms off `import router`)
                    import json
            """,
            "router/_c.py": "from router._a import f\nfrom router import f\n",
            "router/sub/__init__.py": "from router.sub import x\n",
            "router/sub/x.py": "from router.sub.y import h\nfrom . import y\n",
            "router/sub/y.py": """
                def h():
                    from router import (  # _b reads the environment on first use
                        _b,
                    )
            """,
            "router/compiler/__init__.py": "import yaml\nfrom jinja2 import Environment\n",
            "router/compiler/_render.py": "import jinja2\n",
            "router/cli.py": "import click\n",
        },
        edges={
            "router": {"router._a"},
            "router._a": {"router._b"},
            "router._c": {"router._a", "router"},
            "router.sub": {"router.sub.x"},
            "router.sub.x": {"router.sub.y"},
            "router.sub.y": {"router._b"},
        },
        cycles=[],
        unjustified=[],
        build_tools=[],
    ),
    "cycle": Case(
        files={
            "router/__init__.py": "",
            "router/_a.py": "from router._b import g\n",
            "router/_b.py": """
                def g():
                    # _a imports httpx
                    from ._a import f
            """,
            "router/_s.py": "from router._s import me\n",
            "router/other.py": "def use():\n    import router.sub.x  # sub loads the codecs\n",
            "router/sub/__init__.py": "from router.other import thing\n",
            "router/sub/x.py": "",
        },
        edges={"router._b": {"router._a"}, "router.other": {"router.sub.x", "router.sub"}},
        cycles=[
            "router._a -> router._b -> router._a",
            "router._s -> router._s",
            "router.other -> router.sub -> router.other",
        ],
        unjustified=[],
        build_tools=[],
    ),
    "uncommented-local-import": Case(
        files={
            "router/__init__.py": "",
            "router/_a.py": """
                import json
                import click
                from router import _b

                def f():
                    import yaml.constructor
                    return yaml

                def g():
                    # jinja2 only renders templates at build time
                    import jinja2

                def h():
                    import tiktoken  # type: ignore[import-not-found]

                class K:
                    from router import _b

                def k():
                    # os and sys keep nothing off the import path (one comment covers the group)
                    import os
                    import sys

                    # noqa: PLC0415
                    from jsonschema import validate

                async def m():
                    import re  # noqa: PLC0415  # re compiles its cache lazily

                def n():
                    if TYPE_CHECKING:
                        from router._b import y
            """,
            "router/_b.py": "",
            "router/compiler/_x.py": "from yaml import safe_load\n",
        },
        edges={"router._a": {"router._b"}},
        cycles=[],
        unjustified=[
            "router/_a.py:6: import yaml.constructor",
            "router/_a.py:14: import tiktoken",
            "router/_a.py:17: from router import _b",
            "router/_a.py:25: from jsonschema import validate",
        ],
        build_tools=["router/_a.py:2: import click"],
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_rules_on_synthetic_package(case: Case, tmp_path: Path) -> None:
    for name, text in case.files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    package = tmp_path / "router"
    graph = import_graph(package)
    assert {m: graph[m] for m in case.edges} == case.edges
    assert cycle_report(package)[0] == case.cycles
    assert unjustified_local_imports(package) == case.unjustified
    assert build_tool_imports(package) == case.build_tools
