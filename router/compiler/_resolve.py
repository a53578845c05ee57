"""A resolved spec (``extends`` already merged) -> the typed ``ProviderConfig`` a generated module holds.

This is the only place where the spec language's defaults are applied: what a spec leaves out is the
dataclass default in router/protocols/_config.py, and the printer leaves it out of the module again.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from typing import Any
from typing import TypeVar

from router.compiler._specs import Spec
from router.protocols._config import Endpoint
from router.protocols._config import ErrorRules
from router.protocols._config import Limit
from router.protocols._config import MessageRules
from router.protocols._config import Model
from router.protocols._config import Override
from router.protocols._config import ParamRules
from router.protocols._config import Path
from router.protocols._config import Price
from router.protocols._config import ProviderConfig
from router.protocols._config import ReasoningRules
from router.protocols._config import StreamRules
from router.protocols._config import StructuredOutput
from router.protocols._config import ToolRules
from router.protocols._config import UsagePaths
from router.protocols._config import Variable

__all__ = ["CODECS", "resolve"]

# Which codec module in router/protocols speaks each protocol named in the schema.
CODECS = {
    "openai-chat": "openai_chat",
    "anthropic-messages": "anthropic_messages",
    "gemini": "gemini",
    "ollama-chat": "ollama_chat",
    "cohere-chat-v2": "cohere_chat_v2",
    "openai-responses": "openai_responses",
}

_Raw = Mapping[str, Any]
_T = TypeVar("_T")


def _make(cls: Callable[..., _T], **fields: Any) -> _T:
    """``cls`` from the fields the spec gives; an absent one (None) takes the dataclass default."""
    return cls(**{k: v for k, v in fields.items() if v is not None})


def _paths(value: Any) -> tuple[Path, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    return tuple(tuple(p.split(".")) for p in items)


def _path(value: Any) -> Path | None:
    return tuple(value.split(".")) if isinstance(value, str) else None


def _strs(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple([value] if isinstance(value, str) else value)


def _params(p: _Raw | None) -> ParamRules:
    p = p or {}
    return ParamRules(
        rename=dict(p.get("rename") or {}),
        defaults=dict(p.get("defaults") or {}),
        limits={
            k: Limit(min=v.get("min"), max=v.get("max"), policy=v["policy"])
            for k, v in (p.get("limits") or {}).items()
        },
        unsupported=frozenset(p.get("unsupported") or ()),
        to_list=frozenset(p.get("to_list") or ()),
        exclusive=tuple(tuple(g) for g in p.get("exclusive") or ()),
        extension_prefix=p.get("extension_prefix"),
        native=frozenset(p.get("native") or ()),
    )


def _reasoning(r: _Raw | None) -> ReasoningRules | None:
    if not r:
        return None
    return _make(
        ReasoningRules,
        effort=dict(r.get("effort") or {}),
        drops=frozenset(r.get("drops") or ()),
        budget_path=_path(r.get("budget_path")),
        max_tokens_key=r.get("max_tokens_key"),
    )


def _endpoint(e: _Raw | None, method: str) -> Endpoint | None:
    if not e:
        return None
    return _make(
        Endpoint,
        method=e.get("method", method),
        path=e["path"],
        stream_path=e.get("stream_path"),
        stream_query=dict(e.get("stream_query") or {}),
        items=_path(e.get("items")),
        id_field=_path(e.get("id_field")),
        strip_prefix=e.get("strip_prefix"),
    )


def _per_million(price: _Raw, key: str) -> float | None:
    v = price.get(key)
    if v is None:
        return None
    return float(v) * (1000.0 if price.get("per") == "1K" else 1.0)


def _model(m: _Raw) -> Model:
    price = m.get("price")
    return _make(
        Model,
        id=m["id"],
        aliases=tuple(m.get("aliases") or ()),
        api_aliases=tuple(m.get("api_aliases") or ()),
        context_window=m.get("context_window"),
        max_output=m.get("max_output"),
        capabilities=frozenset(m.get("capabilities") or ()),
        price=None
        if price is None
        else _make(
            Price,
            input=_per_million(price, "input") or 0.0,
            output=_per_million(price, "output") or 0.0,
            cached_input=_per_million(price, "cached_input"),
            cache_write=_per_million(price, "cache_write"),
            source=price.get("source"),
            as_of=str(price["as_of"]) if price.get("as_of") is not None else None,
        ),
    )


def _override(o: _Raw) -> Override:
    return _make(
        Override,
        patterns=_strs(o["match"]),
        params=_params(o.get("params")),
        reasoning=_reasoning(o.get("reasoning")),
        note=o.get("note"),
    )


def resolve(spec: Spec) -> ProviderConfig:
    """The typed config for one validated, ``extends``-resolved spec."""
    r = spec.resolved
    auth = r.get("auth") or {}
    errors = r.get("errors") or {}
    usage = r.get("usage") or {}
    stream = r.get("stream") or {}
    finish = r.get("finish_reasons") or {}
    endpoints = r.get("endpoints") or {}
    structured = r.get("structured_output") or {}
    messages = r.get("messages") or {}
    chat = _endpoint(endpoints.get("chat"), "POST")
    assert chat is not None  # the schema requires endpoints.chat
    return _make(
        ProviderConfig,
        id=spec.id,
        name=r.get("name", spec.id),
        protocol=r["protocol"],
        base_url=r["base_url"],
        chat=chat,
        docs=spec.raw.get("docs"),  # never inherited: a child is another provider
        passthrough=bool(spec.raw.get("passthrough", False)),  # nor this: a child's quirks are its own
        passthrough_headers=tuple(spec.raw.get("passthrough_headers") or ()),  # nor these
        base_url_env=r.get("base_url_env"),
        variables={
            k: Variable(env=v.get("env"), default=v.get("default"))
            for k, v in (r.get("variables") or {}).items()
        },
        auth_env=_strs(auth.get("env")),
        auth_header=auth.get("header"),
        auth_scheme=auth.get("scheme"),
        auth_query=auth.get("query"),
        auth_optional=auth.get("optional"),
        # null removes an inherited header or query parameter
        headers={k: v for k, v in (r.get("headers") or {}).items() if v is not None},
        query={k: v for k, v in (r.get("query") or {}).items() if v is not None},
        models_endpoint=_endpoint(endpoints.get("models"), "GET"),
        params=_params(r.get("params")),
        overrides=tuple(_override(o) for o in r.get("overrides") or ()),
        finish_reasons=dict(finish.get("map") or {}),
        finish_reason_unknown=finish.get("unknown"),
        finish_reason_errors=dict(finish.get("errors") or {}),
        usage=_make(
            UsagePaths,
            prompt_tokens=_paths(usage.get("prompt_tokens")),
            completion_tokens=_paths(usage.get("completion_tokens")),
            total_tokens=_paths(usage.get("total_tokens")),
            cached_tokens=_paths(usage.get("cached_tokens")),
            cache_write_tokens=_paths(usage.get("cache_write_tokens")),
            reasoning_tokens=_paths(usage.get("reasoning_tokens")),
            cost=_paths(usage.get("cost")),
            cost_headers=tuple(usage.get("cost_headers") or ()),
            reasoning_excluded_from_completion=usage.get("reasoning_excluded_from_completion"),
            alternatives=frozenset(usage.get("alternatives") or ()),
        ),
        errors=_make(
            ErrorRules,
            status={int(k): v for k, v in (errors.get("status") or {}).items()},
            type_at=_path(errors.get("type_at")),
            types=dict(errors.get("types") or {}),
            code_at=_path(errors.get("code_at")),
            codes={str(k): v for k, v in (errors.get("codes") or {}).items()},
            message_at=_path(errors.get("message_at")),
            messages=tuple((m["match"], m["error"]) for m in errors.get("messages") or ()),
            retry_after=tuple(errors.get("retry_after") or ()),
            request_id=tuple(errors.get("request_id") or ()),
            retry_after_at=_path(errors.get("retry_after_at")),
            request_id_at=_path(errors.get("request_id_at")),
            upstream_at=_path(errors.get("upstream_at")),
            upstream_provider_at=_path(errors.get("upstream_provider_at")),
        ),
        stream=_make(
            StreamRules,
            framing=stream.get("framing"),
            done=stream.get("done"),
            body=dict(stream.get("body") or {}),
            error_event=stream.get("error_event"),
        ),
        reasoning=_reasoning(r.get("reasoning")),
        structured_output=_make(
            StructuredOutput,
            json_schema=structured.get("json_schema"),
            json_object=structured.get("json_object"),
            tool_name=structured.get("tool_name"),
        ),
        tools=ToolRules(
            schema_drop_keywords=frozenset((r.get("tools") or {}).get("schema_drop_keywords") or ())
        ),
        messages=_make(
            MessageRules,
            reasoning_content=messages.get("reasoning_content"),
            drop_fields=frozenset(messages.get("drop_fields") or ()),
        ),
        # Never inherited: the spec's own catalogue, or the one models_from names (copied in by the loader).
        models=tuple(_model(m) for m in r.get("models") or ()),
    )
