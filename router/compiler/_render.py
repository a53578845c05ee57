"""Render resolved specs to Python modules: one in-memory ``{path: text}`` map, each checked by ast.parse.

Each spec becomes a typed ``ProviderConfig`` (``_resolve``), printed as a literal by ``_printer``; the
jinja2 templates hold only the module frame (header, imports, the binding to the codec). No spec
value is ever pasted as code.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

from router.compiler._diagnostics import Diagnostic
from router.compiler._diagnostics import one_line
from router.compiler._printer import WIDTH
from router.compiler._printer import class_names
from router.compiler._printer import fields_of
from router.compiler._printer import fill
from router.compiler._printer import is_scalar
from router.compiler._printer import lines
from router.compiler._resolve import CODECS
from router.compiler._resolve import resolve
from router.compiler._specs import Spec
from router.protocols._config import ProviderConfig

__all__ = ["TEMPLATE_FORMAT", "module_name", "render_all"]

TEMPLATE_FORMAT = 3


def module_name(provider_id: str) -> str:
    return provider_id.replace("-", "_")


def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("router", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def _import(module: str, names: set[str]) -> str:
    """One statement importing the config classes a module uses, packed onto lines as the literals
    are (a name a line took 3 KiB of the installed adapters)."""
    ordered = sorted(names - {"replace"})
    one = f"from {module} import {', '.join(ordered)}"
    if len(one) <= WIDTH:
        return one
    return "\n".join([f"from {module} import (", *fill(ordered, 4), ")"])


# Fields a child never takes from its parent (it is another provider with its own catalogue).
_OWN = frozenset({"id", "name", "docs", "models"})


def _config_text(config: ProviderConfig, parent: ProviderConfig | None, alias: str) -> tuple[str, set[str]]:
    """``CONFIG: Final = ProviderConfig(...)``. A child shows only what it changes: a field inherited
    unchanged names the parent's value (``openai.CONFIG.usage``), a rule set changed in part is
    ``replace(openai.CONFIG.errors, status={...})``. Returns the text and the names it uses."""
    out = ["CONFIG: Final = ProviderConfig("]
    used = {"ProviderConfig"}
    short: list[str] = []  # scalars and inherited values, filled onto lines together

    def flush() -> None:
        out.extend(fill(short, 4))
        short.clear()

    for name, value in fields_of(config):
        theirs = getattr(parent, name) if parent is not None and name not in _OWN else None
        if theirs is not None and value == theirs and not is_scalar(value):
            short.append(f"{name}={alias}.CONFIG.{name}")
            continue
        one = lines(value, 4, f"{name}=", ",")
        if len(one) == 1:
            short.append(one[0].strip().removesuffix(","))
            used |= class_names(value)
            continue
        flush()
        if theirs is not None and dataclasses.is_dataclass(value) and type(value) is type(theirs):
            changed = [(k, v) for k, v in fields_of(value) if v != getattr(theirs, k)]
            changed += [
                (f.name, getattr(value, f.name))
                for f in dataclasses.fields(value)
                if f.init
                and getattr(value, f.name) != getattr(theirs, f.name)
                and f.name not in {k for k, _ in changed}
            ]
            out.append(f"    {name}=replace(")
            out.append(f"        {alias}.CONFIG.{name},")
            for k, v in changed:
                out += lines(v, 8, f"{k}=", ",")
                used |= class_names(v)
            out.append("    ),")
            used.add("replace")
        else:
            out += one
            used |= class_names(value)
    flush()
    out.append(")")
    return "\n".join(out), used


BUILTIN_PACKAGE = "router.generated"


def source_of(spec: Spec, specs_dir: Path | None) -> str:
    """The spec's file as the generated header names it: relative to the specs folder's parent
    (``specs/groq.yaml``), whatever the working directory, so ``--check`` answers the same anywhere."""
    if spec.path is not None and specs_dir is not None:
        try:
            rel = spec.path.resolve().relative_to(specs_dir.resolve())
            return (Path(specs_dir.resolve().name) / rel).as_posix()
        except ValueError:
            pass
    return spec.file


def _adapter_context(
    spec: Spec, configs: Mapping[str, ProviderConfig], specs_dir: Path | None
) -> dict[str, Any]:
    config = configs[spec.id]
    parent_spec = spec.parent
    parent: ProviderConfig | None = None
    if parent_spec is not None:
        parent = resolve(parent_spec) if parent_spec.builtin else configs.get(parent_spec.id)
    alias = module_name(parent_spec.id) if parent is not None and parent_spec is not None else ""
    text, used = _config_text(config, parent, alias)
    # A parent built in the same folder is a sibling module; a built-in one (a user spec extending
    # openai) is imported from the installed adapters.
    where = BUILTIN_PACKAGE if parent_spec is not None and parent_spec.builtin else "."
    return {
        "source": one_line(source_of(spec, specs_dir)),  # a comment: it must stay one line
        "sha256": spec.sha256,
        "template_format": TEMPLATE_FORMAT,
        "codec": CODECS[config.protocol],
        "parent": alias if parent is not None and f"{alias}.CONFIG." in text else None,
        "parent_package": where,
        "replace": "replace" in used,
        "config_import": _import("router.protocols._config", used),
        "config": text,
    }


def _mapping(name: str, value: dict[str, str]) -> str:
    return "\n".join(lines(value, 0, f"{name}: Final[Mapping[str, str]] = "))


def render_all(
    specs: list[Spec], out_dir: Path, specs_dir: Path | None = None
) -> tuple[dict[Path, str], list[Diagnostic]]:
    env = _env()
    adapter = env.get_template("adapter.py.jinja")
    ordered = sorted(specs, key=lambda s: s.id)
    files: dict[Path, str] = {}
    configs = {spec.id: resolve(spec) for spec in ordered}
    for spec in ordered:
        files[out_dir / f"{module_name(spec.id)}.py"] = adapter.render(
            **_adapter_context(spec, configs, specs_dir)
        )
    model_index: dict[str, str] = {}
    for s in ordered:
        for m in s.raw.get("models") or []:
            model_index[m["id"]] = s.id
        for m in s.raw.get("models") or []:
            for a in [*(m.get("aliases") or []), *(m.get("api_aliases") or [])]:
                model_index[a] = s.id
    index_ctx = {
        "source": one_line(f"{specs_dir.resolve().name}/" if specs_dir is not None else "specs/"),
        "template_format": TEMPLATE_FORMAT,
        "providers": _mapping("PROVIDERS", {s.id: module_name(s.id) for s in ordered}),
        "protocols": _mapping("PROTOCOLS", {s.id: s.resolved["protocol"] for s in ordered}),
        "model_index": _mapping("MODEL_INDEX", model_index),
    }
    files[out_dir / "__init__.py"] = env.get_template("__init__.py.jinja").render(**index_ctx)
    files[out_dir / "py.typed"] = ""
    diags: list[Diagnostic] = []
    for path, text in files.items():
        if path.suffix != ".py":
            continue
        try:
            ast.parse(text, filename=str(path))
        except SyntaxError as e:
            diags.append(
                Diagnostic(
                    path.as_posix(),
                    e.lineno or 1,
                    e.offset or 1,
                    f"generated code does not parse ({e.msg}); this is a template bug",
                )
            )
    return files, diags
