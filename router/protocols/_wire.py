"""Wire helpers more than one codec uses: the request's model and messages, unified messages as dicts,
legacy functions folded into tools, tool-call arguments as JSON, and JSON Schemas cleaned of the
keywords a provider rejects (tools and ``response_format``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from router._exceptions import BadRequestError
from router._exceptions import UnsupportedParamsError
from router._types import CustomCall
from router._types import CustomToolCall
from router._types import Receipt
from router.protocols._config import ProviderConfig

# The request keys a codec translates itself when its wire format has its own tools, tool choice and
# structured output (the legacy function-calling names are folded into tools by tools_and_choice).
TOOLS_AND_FORMAT = frozenset(
    {
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "response_format",
        "functions",
        "function_call",
        "stream_options",
    }
)

__all__ = [
    "TOOLS_AND_FORMAT",
    "as_dict",
    "call_arguments",
    "clean_schema",
    "custom_call",
    "function_tools",
    "json_arguments",
    "messages_of",
    "model_of",
    "response_schema",
    "tools_and_choice",
    "unsupported",
]


def model_of(cfg: ProviderConfig, request: Mapping[str, Any]) -> str:
    """The request's model id, aliases resolved through the spec's catalogue."""
    model = request.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequestError("model must be a non-empty string", provider=cfg.id, param="model")
    return cfg.aliases.get(model, model)


def messages_of(cfg: ProviderConfig, request: Mapping[str, Any]) -> list[Any]:
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequestError("messages must be a non-empty list", provider=cfg.id)
    return messages


def as_dict(m: Any) -> Mapping[str, Any]:
    """A message as a mapping: dicts as they are, unified objects (an earlier answer) via to_dict()."""
    if type(m) is dict or isinstance(m, Mapping):
        return m
    to_dict = getattr(m, "to_dict", None)
    if to_dict is None:
        raise BadRequestError(f"a message must be a dict, got {type(m).__name__}")
    d: Mapping[str, Any] = to_dict()
    return d


def clean_schema(schema: Any, drop: frozenset[str]) -> Any:
    """A copy of a JSON Schema without the keywords in ``drop`` (property names are left alone)."""
    if not drop:
        return schema
    return _clean(schema, drop)


_NAMED = frozenset({"properties", "$defs", "definitions", "patternProperties"})  # maps of names to schemas
_LEAVES = (str, int, float, bool, type(None))


def _clean(schema: Any, drop: frozenset[str]) -> Any:
    # Once per node of every tool's schema on every request: plain dicts, lists and scalars are told
    # apart by type() first (the Mapping ABC check is a Python-level call), and a leaf in a list or a
    # mapping is copied where it stands, without a call.
    kind = type(schema)
    if kind in _LEAVES:
        return schema
    if kind is list or (kind is not dict and isinstance(schema, list)):
        return [s if type(s) in _LEAVES else _clean(s, drop) for s in schema]
    if kind is not dict and not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for k, v in schema.items():
        if k in drop:
            continue
        vk = type(v)
        if vk in _LEAVES:
            out[k] = v
        elif vk is list:
            out[k] = [s if type(s) in _LEAVES else _clean(s, drop) for s in v]
        elif k in _NAMED and (vk is dict or isinstance(v, Mapping)):
            out[k] = {name: _clean(sub, drop) for name, sub in v.items()}
        else:
            out[k] = _clean(v, drop)
    return out


def json_arguments(value: Any) -> str:
    """Tool-call arguments as the JSON string OpenAI's shape promises."""
    if isinstance(value, str):
        return value
    return json.dumps(value if value is not None else {}, ensure_ascii=False, separators=(",", ":"))


def custom_call(call_id: str, name: Any, text: Any) -> CustomToolCall:
    """A custom (free-form) tool's call, as an answer names it: ``input`` is the model's text, kept as
    it is, not JSON (https://platform.openai.com/docs/guides/function-calling#custom-tools). A name
    that is not text fails the answer's check (no function name)."""
    return CustomToolCall(
        id=call_id,
        custom=CustomCall(
            name=name if isinstance(name, str) else "", input=text if isinstance(text, str) else ""
        ),
    )


def function_tools(cfg: ProviderConfig, tools: list[Any]) -> list[dict[str, Any]]:
    """OpenAI function tools as the protocols that take OpenAI's shape minus ``strict`` want them
    (Ollama's; Cohere's ToolV2, types/tool_v2.py and tool_v2function.py in its SDK)."""
    out = []
    for t in tools:
        if t.get("type", "function") != "function":
            raise UnsupportedParamsError(
                f"{cfg.id} takes function tools only, got a tool of type {t.get('type')!r}", provider=cfg.id
            )
        fn = t.get("function") or {}
        params = fn.get("parameters") or {"type": "object", "properties": {}}
        spec: dict[str, Any] = {"name": fn.get("name")}
        if fn.get("description"):
            spec["description"] = fn["description"]
        spec["parameters"] = clean_schema(params, cfg.tools.schema_drop_keywords)
        out.append({"type": "function", "function": spec})
    return out


def unsupported(cfg: ProviderConfig, name: str, why: str, receipt: Receipt, strict: bool) -> None:
    """A request value the provider cannot take: an error when strict, else noted as dropped."""
    if strict:
        raise UnsupportedParamsError(f"{cfg.id} does not support {name} ({why})", provider=cfg.id)
    receipt.dropped.append(name)


def tools_and_choice(request: Mapping[str, Any]) -> tuple[list[Any], Any]:
    """``tools`` and ``tool_choice``, with the legacy ``functions`` / ``function_call`` folded in."""
    tools = request.get("tools")
    if not tools and request.get("functions"):
        tools = [{"type": "function", "function": f} for f in request["functions"]]
    choice = request.get("tool_choice")
    legacy = request.get("function_call")
    if choice is None and legacy is not None:
        choice = (
            legacy
            if isinstance(legacy, str)
            else {"type": "function", "function": {"name": legacy.get("name")}}
        )
    return list(tools or ()), choice


def response_schema(
    cfg: ProviderConfig, request: Mapping[str, Any], receipt: Receipt, strict: bool
) -> tuple[str, dict[str, Any]] | None:
    """For a JSON ``response_format``: (mechanism, cleaned schema), or None when there is nothing to do.

    json_object has no schema: it becomes ``{"type": "object"}``. An ``unsupported`` mechanism drops
    the parameter onto the receipt (or raises in strict mode).
    """
    rf = request.get("response_format")
    if rf is None:
        return None
    if not isinstance(rf, Mapping) or rf.get("type") in (None, "text"):
        return None
    kind = rf.get("type")
    if kind == "json_schema":
        mechanism: str = cfg.structured_output.json_schema
        spec = rf.get("json_schema") or {}
        schema = spec.get("schema") or {"type": "object"}
    elif kind == "json_object":
        mechanism = cfg.structured_output.json_object
        schema = {"type": "object"}
    else:
        raise BadRequestError(f"response_format type {kind!r} is not one OpenAI defines", provider=cfg.id)
    if mechanism == "unsupported":
        if strict:
            raise UnsupportedParamsError(f"{cfg.id} cannot take response_format {kind}", provider=cfg.id)
        receipt.dropped.append("response_format")
        return None
    return mechanism, clean_schema(schema, cfg.tools.schema_drop_keywords)


def call_arguments(cfg: ProviderConfig, tc: Mapping[str, Any]) -> Any:
    """An earlier assistant tool call's arguments, parsed (the wire formats that take them as JSON
    values rather than a string): ``{}`` when empty; a BadRequestError before any network call when
    they are not JSON."""
    args = (tc.get("function") or {}).get("arguments")
    if args is None or args == "":
        return {}
    if not isinstance(args, str):
        return args
    try:
        return json.loads(args)
    except (ValueError, RecursionError):
        raise BadRequestError(
            f"tool call {tc.get('id')!r} has arguments that are not JSON", provider=cfg.id
        ) from None
