"""Render resolved specs to Python modules: one in-memory ``{path: text}`` map, each checked by ast.parse.

Every value from a spec reaches the output through ``py()`` (a deterministic, pretty ``repr``), never
pasted as code, so a spec cannot inject Python.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import jinja2

from router.compiler._diagnostics import Diagnostic
from router.compiler._specs import Spec

__all__ = ["TEMPLATE_FORMAT", "module_name", "py", "render_all"]

TEMPLATE_FORMAT = 1

# Which codec module in router/protocols speaks each protocol named in the schema.
CODECS = {
    "openai-chat": "openai_chat",
    "anthropic-messages": "anthropic_messages",
    "gemini": "gemini",
    "ollama-chat": "ollama_chat",
}


def module_name(provider_id: str) -> str:
    return provider_id.replace("-", "_")


def py(value: Any, indent: int = 0, width: int = 100) -> str:
    """A Python literal for ``value``: one line when short, one item per line otherwise."""
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()  # StrictUndefined's repr() would not raise: make it
    flat = repr(value) if not isinstance(value, dict | list | tuple | frozenset) else _flat(value)
    if len(flat) + indent <= width or not isinstance(value, dict | list | tuple | frozenset) or not value:
        return flat
    pad = " " * (indent + 4)
    end = " " * indent
    if isinstance(value, dict):
        items = [f"{pad}{py(k)}: {py(v, indent + 4, width)}," for k, v in value.items()]
        return "{\n" + "\n".join(items) + f"\n{end}}}"
    seq = sorted(value) if isinstance(value, frozenset) else value
    items = [f"{pad}{py(v, indent + 4, width)}," for v in seq]
    if isinstance(value, frozenset):
        return "frozenset({\n" + "\n".join(items) + f"\n{end}}})"
    if isinstance(value, tuple):
        return "(\n" + "\n".join(items) + f"\n{end})"
    return "[\n" + "\n".join(items) + f"\n{end}]"


def _flat(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_flat(k)}: {_flat(v)}" for k, v in value.items()) + "}"
    if isinstance(value, frozenset):
        return "frozenset({" + ", ".join(_flat(v) for v in sorted(value)) + "})" if value else "frozenset()"
    if isinstance(value, tuple):
        inner = ", ".join(_flat(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(_flat(v) for v in value) + "]"
    return repr(value)


def _paths(value: Any) -> tuple[tuple[str, ...], ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    return tuple(tuple(p.split(".")) for p in items)


def _path(value: Any) -> tuple[str, ...] | None:
    return tuple(value.split(".")) if isinstance(value, str) else None


def _params(p: dict[str, Any] | None) -> dict[str, Any]:
    p = p or {}
    return {
        "rename": dict(p.get("rename") or {}),
        "defaults": dict(p.get("defaults") or {}),
        "limits": {k: (v.get("min"), v.get("max"), v["policy"]) for k, v in (p.get("limits") or {}).items()},
        "unsupported": frozenset(p.get("unsupported") or ()),
        "to_list": frozenset(p.get("to_list") or ()),
        "exclusive": tuple(tuple(g) for g in p.get("exclusive") or ()),
        "extension_prefix": p.get("extension_prefix"),
    }


def _reasoning(r: dict[str, Any] | None) -> dict[str, Any] | None:
    if not r:
        return None
    return {
        "effort": dict(r.get("effort") or {}),
        "drops": frozenset(r.get("drops") or ()),
        "budget_path": _path(r.get("budget_path")),
        "max_tokens_key": r.get("max_tokens_key", "max_tokens"),
    }


def _endpoint(e: dict[str, Any] | None, method: str) -> dict[str, Any] | None:
    if not e:
        return None
    return {
        "method": e.get("method", method),
        "path": e["path"],
        "stream_path": e.get("stream_path"),
        "stream_query": dict(e.get("stream_query") or {}),
        "list_items": _path(e.get("items")),
        "id_field": _path(e.get("id_field")),
        "strip_prefix": e.get("strip_prefix"),
    }


def _per_million(price: dict[str, Any], key: str) -> float | None:
    v = price.get(key)
    if v is None:
        return None
    return float(v) * (1000.0 if price.get("per") == "1K" else 1.0)


def context(spec: Spec) -> dict[str, Any]:
    r = spec.resolved
    auth = r.get("auth") or {}
    env = auth.get("env") or []
    errors = r.get("errors") or {}
    usage = r.get("usage") or {}
    stream = r.get("stream") or {}
    finish = r.get("finish_reasons") or {}
    models = []
    for m in spec.raw.get("models") or []:
        price = m.get("price")
        models.append(
            {
                "id": m["id"],
                "aliases": tuple(m.get("aliases") or ()),
                "context_window": m.get("context_window"),
                "max_output": m.get("max_output"),
                "capabilities": frozenset(m.get("capabilities") or ()),
                "price": None
                if price is None
                else {
                    "input": _per_million(price, "input"),
                    "output": _per_million(price, "output"),
                    "cached_input": _per_million(price, "cached_input"),
                    "cache_write": _per_million(price, "cache_write"),
                    "source": price.get("source"),
                    "as_of": price.get("as_of"),
                },
            }
        )
    params = _params(r.get("params"))
    overrides = [
        {
            "patterns": tuple([o["match"]] if isinstance(o["match"], str) else o["match"]),
            "params": _params(o.get("params")),
            "reasoning": _reasoning(o.get("reasoning")),
            "note": o.get("note"),
        }
        for o in r.get("overrides") or []
    ]
    variables = {k: (v.get("env"), v.get("default")) for k, v in (r.get("variables") or {}).items()}
    used = {"Endpoint", "ErrorRules", "Model", "ParamRules", "ProviderConfig", "StreamRules", "UsagePaths"}
    if overrides:
        used.add("Override")
    if params["limits"] or any(o["params"]["limits"] for o in overrides):
        used.add("Limit")
    if any(m["price"] for m in models):
        used.add("Price")
    if variables:
        used.add("Variable")
    reasoning = r.get("reasoning") or {}
    structured = r.get("structured_output") or {}
    tools = r.get("tools") or {}
    messages = r.get("messages") or {}
    for name, present in (
        ("ReasoningRules", bool(reasoning) or any(o["reasoning"] for o in overrides)),
        ("StructuredOutput", bool(structured)),
        ("ToolRules", bool(tools)),
        ("MessageRules", bool(messages)),
    ):
        if present:
            used.add(name)
    return {
        "config_imports": sorted(used),
        "reasoning": _reasoning(reasoning),
        "structured_output": None
        if not structured
        else {
            "json_schema": structured.get("json_schema", "native"),
            "json_object": structured.get("json_object", "native"),
            "tool_name": structured.get("tool_name", "json_output"),
        },
        "tools": None
        if not tools
        else {"schema_drop_keywords": frozenset(tools.get("schema_drop_keywords") or ())},
        "messages": None
        if not messages
        else {
            "reasoning_content": messages.get("reasoning_content", "drop"),
            "drop_fields": frozenset(messages.get("drop_fields") or ()),
        },
        "source": spec.file,
        "sha256": spec.sha256,
        "template_format": TEMPLATE_FORMAT,
        "id": spec.id,
        "name": r.get("name", spec.id),
        "docs": spec.raw.get("docs"),
        "extends": spec.raw.get("extends"),
        "protocol": r["protocol"],
        "codec": CODECS[r["protocol"]],
        "transport": r.get("transport", "http"),
        "base_url": r["base_url"],
        "base_url_env": r.get("base_url_env"),
        "variables": variables,
        "auth_env": tuple([env] if isinstance(env, str) else env),
        "auth_header": auth.get("header"),
        "auth_scheme": auth.get("scheme", "bearer"),
        "auth_query": auth.get("query"),
        "auth_optional": bool(auth.get("optional", False)),
        "headers": {k: v for k, v in (r.get("headers") or {}).items() if v is not None},
        "query": {k: v for k, v in (r.get("query") or {}).items() if v is not None},
        "chat": _endpoint((r.get("endpoints") or {}).get("chat"), "POST"),
        "models_endpoint": _endpoint((r.get("endpoints") or {}).get("models"), "GET"),
        "params": params,
        "overrides": overrides,
        "finish_reasons": dict(finish.get("map") or {}),
        "finish_reason_unknown": finish.get("unknown", "stop"),
        "finish_reason_errors": dict(finish.get("errors") or {}),
        "usage": {
            k: _paths(usage.get(k))
            for k in (
                "prompt_tokens",
                "completion_tokens",
                "total_tokens",
                "cached_tokens",
                "cache_creation_tokens",
                "reasoning_tokens",
            )
        },
        "reasoning_excluded": bool(usage.get("reasoning_excluded_from_completion", False)),
        "usage_cost": _paths(usage.get("cost")),
        "usage_cost_headers": tuple(usage.get("cost_headers") or ()),
        "errors": {
            "status": {int(k): v for k, v in (errors.get("status") or {}).items()},
            "type_at": _path(errors.get("type_at")),
            "types": dict(errors.get("types") or {}),
            "code_at": _path(errors.get("code_at")),
            "codes": {str(k): v for k, v in (errors.get("codes") or {}).items()},
            "message_at": _path(errors.get("message_at")),
            "messages": tuple((m["match"], m["error"]) for m in errors.get("messages") or ()),
            "retry_after": tuple(errors.get("retry_after") or ()),
            "request_id": tuple(errors.get("request_id") or ()),
            "retry_after_at": _path(errors.get("retry_after_at")),
            "request_id_at": _path(errors.get("request_id_at")),
        },
        "stream": {
            "framing": stream.get("framing", "sse"),
            "done": stream.get("done"),
            "body": dict(stream.get("body") or {}),
            "error_event": stream.get("error_event"),
        },
        "models": models,
    }


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("router", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["py"] = py
    env.globals["module_name"] = module_name
    return env


def render_all(specs: list[Spec], out_dir: Path) -> tuple[dict[Path, str], list[Diagnostic]]:
    env = _env()
    adapter = env.get_template("adapter.py.jinja")
    files: dict[Path, str] = {}
    for spec in sorted(specs, key=lambda s: s.id):
        files[out_dir / f"{module_name(spec.id)}.py"] = adapter.render(**context(spec))
    index_ctx = {
        "providers": [
            {
                "id": s.id,
                "module": module_name(s.id),
                "protocol": s.resolved["protocol"],
                "models": [m["id"] for m in s.raw.get("models") or []],
                "aliases": {a: m["id"] for m in s.raw.get("models") or [] for a in m.get("aliases") or []},
            }
            for s in sorted(specs, key=lambda s: s.id)
        ],
        "template_format": TEMPLATE_FORMAT,
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
