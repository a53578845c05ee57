"""Render resolved specs to Python modules: one in-memory ``{path: text}`` map, each checked by ast.parse.

Each spec becomes a typed ``ProviderConfig`` (``_resolve``), printed as a literal by ``_printer``; the
jinja2 templates hold only the module frame (header, imports, the binding to the codec). No spec
value is ever pasted as code.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import jinja2

from router.compiler._diagnostics import Diagnostic
from router.compiler._printer import class_names, lines
from router.compiler._resolve import CODECS, resolve
from router.compiler._specs import Spec

__all__ = ["TEMPLATE_FORMAT", "module_name", "render_all"]

TEMPLATE_FORMAT = 2


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


def _import_line(names: set[str]) -> str:
    one = ", ".join(sorted(names))
    if len(f"from router.protocols._config import {one}") <= 110:
        return one
    return "(\n" + "".join(f"    {n},\n" for n in sorted(names)) + ")"


def _adapter_context(spec: Spec) -> dict[str, Any]:
    config = resolve(spec)
    return {
        "source": spec.file,
        "sha256": spec.sha256,
        "template_format": TEMPLATE_FORMAT,
        "codec": CODECS[config.protocol],
        "config_imports": _import_line(class_names(config)),
        "config": "\n".join(lines(config, 0, "CONFIG: Final = ")),
    }


def _mapping(name: str, value: dict[str, str]) -> str:
    return "\n".join(lines(value, 0, f"{name}: Final[Mapping[str, str]] = "))


def render_all(specs: list[Spec], out_dir: Path) -> tuple[dict[Path, str], list[Diagnostic]]:
    env = _env()
    adapter = env.get_template("adapter.py.jinja")
    ordered = sorted(specs, key=lambda s: s.id)
    files: dict[Path, str] = {}
    for spec in ordered:
        files[out_dir / f"{module_name(spec.id)}.py"] = adapter.render(**_adapter_context(spec))
    model_index: dict[str, str] = {}
    for s in ordered:
        for m in s.raw.get("models") or []:
            model_index[m["id"]] = s.id
        for m in s.raw.get("models") or []:
            for a in m.get("aliases") or []:
                model_index[a] = s.id
    index_ctx = {
        "source": "specs/",
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
