"""YAML loading that keeps the line and column of every node.

``yaml.compose`` (SafeLoader: no arbitrary tags, no code) gives the node tree; we build plain Python
values from it ourselves so that every key and value gets a mark, duplicate keys are caught (PyYAML
silently keeps the last one), and merge keys are refused (``extends`` is the one way to share).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from router.compiler._diagnostics import Diagnostic
from router.compiler._diagnostics import pointer_str

__all__ = ["Loaded", "Marks", "load_yaml"]

Path = tuple[str | int, ...]

# Bounds that keep a hostile file (a "billion laughs" of aliases, a recursive alias, nesting a
# thousand deep) a fast diagnostic instead of minutes of CPU, gigabytes or a RecursionError. The
# shipped specs are under 2,000 values and 8 levels deep.
MAX_VALUES = 100_000
MAX_DEPTH = 64
_PLAIN_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})


@dataclass
class Marks:
    """Where each node is: ``values[path]`` is the value's (line, col), ``keys[path]`` its key's."""

    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def at(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        """The mark of ``path`` or of its nearest ancestor that has one."""
        p = tuple(path)
        while True:
            if key and p in self.keys:
                return self.keys[p]
            if p in self.values:
                return self.values[p]
            if not p:
                return (1, 1)
            p = p[:-1]


@dataclass
class Loaded:
    file: str
    data: Any
    marks: Marks
    diagnostics: list[Diagnostic]


class _Scalars(SafeConstructor):
    pass


def _mark(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


_KINDS = {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}


def _syntax_error(file: str, lines: list[str], e: yaml.MarkedYAMLError) -> Diagnostic:
    """One diagnostic for a PyYAML error, placed where a person would look."""
    problem = (e.problem or "invalid YAML").strip()
    pm, cm = e.problem_mark, e.context_mark
    mark = pm or cm
    # At end of file PyYAML points past the last line; the opening bracket or quote is more useful.
    if pm is not None and pm.line >= len(lines) and cm is not None:
        mark = cm
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    line = min(line, max(len(lines), 1))
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    if "\t" in problem or "'\\t'" in problem:
        indent = text[: len(text) - len(text.lstrip(" \t"))]
        if "\t" in indent:
            return Diagnostic(
                file,
                line,
                col,
                "a tab character indents this line, expected spaces (YAML forbids tabs for indentation)",
            )
        return Diagnostic(file, line, col, "a tab character where YAML cannot take one, expected spaces")
    if "another document" in problem:
        return Diagnostic(
            file, line, col, "a second YAML document (---) starts here, expected one document per spec file"
        )
    ctx = ""
    if e.context and cm is not None and cm is not mark:
        ctx = f" ({e.context} that starts at line {cm.line + 1}, column {cm.column + 1})"
    elif e.context:
        ctx = f" ({e.context})"
    return Diagnostic(file, line, col, f"invalid YAML: {problem}{ctx}, expected well-formed YAML")


def load_yaml(file: str, text: str) -> Loaded:
    marks = Marks()
    diags: list[Diagnostic] = []
    if not text.strip() or all(not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()):
        diags.append(
            Diagnostic(
                file, 1, 1, "the file is empty, expected a provider spec (a mapping with spec_version and id)"
            )
        )
        return Loaded(file, None, marks, diags)
    lines = text.splitlines()
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:
        diags.append(
            Diagnostic(file, 1, 1, f"the YAML nests too deeply, expected at most {MAX_DEPTH} levels")
        )
        return Loaded(file, None, marks, diags)
    except yaml.MarkedYAMLError as e:
        diags.append(_syntax_error(file, lines, e))
        return Loaded(file, None, marks, diags)
    except yaml.YAMLError as e:  # pragma: no cover - every PyYAML parse error is marked
        diags.append(Diagnostic(file, 1, 1, f"invalid YAML: {e}"))
        return Loaded(file, None, marks, diags)
    if root is None:
        diags.append(
            Diagnostic(
                file,
                1,
                1,
                "the document is empty, expected a provider spec (a mapping with spec_version and id)",
            )
        )
        return Loaded(file, None, marks, diags)
    scalars = _Scalars()
    count = 0
    active: set[int] = set()  # nodes being built: meeting one again is a recursive alias

    class _Abort(Exception):
        pass

    def stop(node: yaml.Node, message: str) -> _Abort:
        diags.append(Diagnostic(file, *_mark(node), message))
        return _Abort()

    def build(node: yaml.Node, path: Path) -> Any:
        nonlocal count
        count += 1
        if count > MAX_VALUES:
            raise stop(
                node,
                f"the YAML expands to more than {MAX_VALUES:,} values (aliases repeated?), expected a spec",
            )
        if len(path) > MAX_DEPTH:
            raise stop(node, f"the YAML nests more than {MAX_DEPTH} levels deep here, expected a spec")
        if id(node) in active:
            raise stop(node, "a YAML alias refers to a node that contains it, expected a finite value")
        marks.values[path] = _mark(node)
        if node.tag not in _PLAIN_TAGS and not isinstance(node, yaml.ScalarNode):
            diags.append(
                Diagnostic(
                    file,
                    *_mark(node),
                    f"YAML tag {node.tag!r} is not supported, expected a plain value",
                    pointer_str(path),
                )
            )
            return None
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            active.add(id(node))
            try:
                return build_collection(node, path)
            finally:
                active.discard(id(node))
        return build_scalar(node, path)

    def build_collection(node: yaml.Node, path: Path) -> Any:
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for knode, vnode in node.value:
                if knode.tag == "tag:yaml.org,2002:merge":
                    diags.append(
                        Diagnostic(
                            file,
                            *_mark(knode),
                            "YAML merge keys (<<) are not supported, expected `extends:` to share fields",
                            pointer_str(path),
                        )
                    )
                    continue
                key = (
                    scalars.construct_object(knode, deep=True) if isinstance(knode, yaml.ScalarNode) else None
                )
                if isinstance(key, bool):
                    msg = (
                        f"key {knode.value!r} is read by YAML as the boolean {key}, "
                        f'expected a string key: quote it ("{knode.value}")'
                    )
                    diags.append(Diagnostic(file, *_mark(knode), msg, pointer_str(path)))
                    continue
                if not isinstance(key, str | int | float):
                    msg = "a mapping key must be a plain string, expected `name: value`"
                    diags.append(Diagnostic(file, *_mark(knode), msg, pointer_str(path)))
                    continue
                key = str(key)
                if key in out:
                    first = marks.keys[(*path, key)]
                    diags.append(
                        Diagnostic(
                            file,
                            *_mark(knode),
                            f"duplicate key {key!r} (first at line {first[0]}), expected each key once per mapping",
                            pointer_str((*path, key)),
                        )
                    )
                    continue
                marks.keys[(*path, key)] = _mark(knode)
                out[key] = build(vnode, (*path, key))
            return out
        return [build(item, (*path, i)) for i, item in enumerate(node.value)]

    def build_scalar(node: yaml.Node, path: Path) -> Any:
        if node.tag == "tag:yaml.org,2002:timestamp":
            return node.value  # dates stay text (YAML 1.2 has no implicit timestamps)
        try:
            return scalars.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as e:
            problem = e.problem
        except (ValueError, TypeError, OverflowError) as e:  # !!float 'nope', !!int 'x', ...
            problem = f"{node.tag.rsplit(':', 1)[-1]} {node.value!r} cannot be read ({type(e).__name__})"
        diags.append(
            Diagnostic(
                file, *_mark(node), f"bad scalar: {problem}, expected a plain YAML value", pointer_str(path)
            )
        )
        return None

    try:
        data = build(root, ())
    except _Abort:
        return Loaded(file, None, marks, diags)
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {_KINDS.get(type(data), 'scalar')}"
        line, col = _mark(root)
        line = min(line, max(len(lines), 1))
        diags.append(
            Diagnostic(file, line, col, f"the document is {kind}, expected a mapping of spec fields")
        )
        data = None
    return Loaded(file, data, marks, diags)
