"""What every codec shares: URL/auth/header assembly, the parameter policy, usage and finish-reason
tables, and error mapping. No provider names live here: every variation arrives in a ProviderConfig.
"""

from __future__ import annotations

import copy
import difflib
import fnmatch
import json
import logging
import os
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol
from urllib.parse import quote, urlencode, urlsplit

from router._exceptions import (
    ERROR_KINDS,
    APIError,
    BadRequestError,
    ConfigError,
    InternalServerError,
    InvalidResponseError,
    UnsupportedParamsError,
)
from router._streaming import Event
from router._types import (
    ChatCompletionChunk,
    CompletionTokensDetails,
    HttpRequest,
    PromptTokensDetails,
    Receipt,
    Usage,
)
from router.protocols._config import Limit, ParamRules, Path, ProviderConfig, ReasoningRules, UsagePaths

__all__ = [
    "ROUTER_KWARGS",
    "apply_params",
    "apply_reasoning",
    "as_dict",
    "build_http",
    "clean_schema",
    "decode_stream",
    "deep_merge",
    "finish_reason",
    "get_path",
    "json_arguments",
    "load_json",
    "map_error",
    "messages_of",
    "model_of",
    "new_id",
    "now",
    "reasoning_for",
    "response_cost",
    "response_schema",
    "rules_for",
    "tools_and_choice",
    "usage_from",
]

log = logging.getLogger("router")

# The OpenAI Chat Completions request vocabulary (plus top_k, which several providers take). A key
# outside it and outside ROUTER_KWARGS is a typo or an unsupported extension: it gets a typed error
# before any network call instead of being forwarded or dropped. Provider-specific fields go in
# ``extra_body``.
OPENAI_PARAMS = frozenset(
    {
        "model", "messages", "stream", "stream_options", "temperature", "top_p", "top_k", "n", "stop",
        "max_tokens", "max_completion_tokens", "presence_penalty", "frequency_penalty", "logit_bias",
        "logprobs", "top_logprobs", "user", "seed", "tools", "tool_choice", "parallel_tool_calls",
        "functions", "function_call", "response_format", "reasoning_effort", "modalities", "audio",
        "prediction", "service_tier", "store", "metadata", "web_search_options", "verbosity",
        "prompt_cache_key", "safety_identifier",
    }
)  # fmt: skip

# Keyword arguments the router itself consumes; never sent.
ROUTER_KWARGS = frozenset(
    {"api_key", "base_url", "timeout", "max_retries", "extra_headers", "extra_body", "extra_query", "strict"}
)


def now() -> int:
    return int(time.time())


def new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:24]}"


# --------------------------------------------------------------------------- request basics


def model_of(cfg: ProviderConfig, request: Mapping[str, Any]) -> str:
    """The request's model id, aliases resolved through the spec's catalogue."""
    model = request.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequestError("model must be a non-empty string", provider=cfg.id)
    return cfg.aliases.get(model, model)


def messages_of(cfg: ProviderConfig, request: Mapping[str, Any]) -> list[Any]:
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequestError("messages must be a non-empty list", provider=cfg.id)
    return messages


def as_dict(m: Any) -> Mapping[str, Any]:
    """A message as a mapping: dicts as they are, unified objects (an earlier answer) via to_dict()."""
    if isinstance(m, Mapping):
        return m
    to_dict = getattr(m, "to_dict", None)
    if to_dict is None:
        raise BadRequestError(f"a message must be a dict, got {type(m).__name__}")
    d: Mapping[str, Any] = to_dict()
    return d


# --------------------------------------------------------------------------- HTTP assembly


def _fill(template: str, values: Mapping[str, str]) -> str:
    if "{" not in template:
        return template
    return template.format_map(values)


class _Variables(dict[str, str]):
    """Placeholder values, read from the environment only when a template uses them, so a variable
    the call does not need (a base URL passed as base_url=) is never demanded."""

    def __init__(self, cfg: ProviderConfig, model: str) -> None:
        super().__init__(model=quote(model, safe=""))
        self._cfg = cfg

    def __missing__(self, name: str) -> str:
        var = self._cfg.variables.get(name)
        if var is None:  # the compiler checks placeholders; this is a hand-built config
            raise ConfigError(f"{self._cfg.id}: no variable {{{name}}}")
        value = os.environ.get(var.env) if var.env else None
        if value is None:
            value = var.default
        if value is None:
            raise ConfigError(
                f"{self._cfg.id}: set {var.env} (fills {{{name}}} in the provider's URL or headers)"
            )
        self[name] = value
        return value


def _api_key(cfg: ProviderConfig, api_key: str | None) -> str | None:
    if api_key is not None:
        return api_key
    for env in cfg.auth_env:
        value = os.environ.get(env)
        if value:
            return value
    if cfg.auth_optional:
        return None
    names = " or ".join(cfg.auth_env) or "an api_key argument"
    raise ConfigError(f"{cfg.id}: no API key; set {names} or pass api_key=")


def _complete_host(value: str, default: str) -> str:
    """An env base URL given as a bare host (``localhost``, ``0.0.0.0:11434``, as OLLAMA_HOST often is)
    takes the scheme, and the port if it has none, of the spec's default base_url."""
    if "://" in value:
        return value
    parsed = urlsplit(default)
    host, _, rest = value.partition("/")
    if ":" not in host and parsed.port is not None:
        host = f"{host}:{parsed.port}"
    return f"{parsed.scheme}://{host}" + (f"/{rest}" if rest else "")


def build_http(
    cfg: ProviderConfig,
    body: dict[str, Any],
    *,
    model: str,
    stream: bool,
    api_key: str | None,
    base_url: str | None,
    extra_headers: Mapping[str, str] | None = None,
    extra_query: Mapping[str, str] | None = None,
) -> HttpRequest:
    values = _Variables(cfg, model)
    from_env = os.environ.get(cfg.base_url_env) if cfg.base_url_env and not base_url else None
    base = base_url or (_complete_host(from_env, cfg.base_url) if from_env else None) or cfg.base_url
    base = _fill(base, values).rstrip("/")
    ep = cfg.chat
    path = ep.stream_path if stream and ep.stream_path else ep.path
    url = base + _fill(path, values)
    query = {k: _fill(v, values) for k, v in cfg.query.items()}
    if stream:
        query.update(ep.stream_query)
    headers = {"content-type": "application/json"}
    for k, v in cfg.headers.items():
        filled = _fill(v, values)
        if filled:  # a header whose placeholders are all empty (an optional one left unset) is not sent
            headers[k] = filled
    key = _api_key(cfg, api_key)
    secrets: tuple[str, ...] = ()
    if key:
        secrets = (key,)
        if cfg.auth_query:
            query[cfg.auth_query] = key
        elif cfg.auth_header:
            headers[cfg.auth_header] = f"Bearer {key}" if cfg.auth_scheme == "bearer" else key
    if extra_query:
        query.update(extra_query)
    if query:
        url = f"{url}{'&' if '?' in url else '?'}{urlencode(query)}"
    if extra_headers:
        headers.update(extra_headers)
    return HttpRequest(method=ep.method, url=url, headers=headers, json=body, stream=stream, secrets=secrets)


# --------------------------------------------------------------------------- parameter policy


def _merge_rules(base: ParamRules, over: ParamRules) -> ParamRules:
    return ParamRules(
        rename={**base.rename, **over.rename},
        defaults={**base.defaults, **over.defaults},
        limits={**base.limits, **over.limits},
        unsupported=base.unsupported | over.unsupported,
        to_list=base.to_list | over.to_list,
        exclusive=base.exclusive + tuple(g for g in over.exclusive if g not in base.exclusive),
        extension_prefix=over.extension_prefix or base.extension_prefix,
    )


def rules_for(cfg: ProviderConfig, model: str) -> ParamRules:
    """The provider's parameter rules with every matching model-pattern override applied in order."""
    rules = cfg._rules_cache.get(model)
    if rules is None:
        rules = cfg.params
        for ov in cfg.overrides:
            if any(fnmatch.fnmatchcase(model, p) for p in ov.patterns):
                rules = _merge_rules(rules, ov.params)
        cfg._rules_cache[model] = rules
    return rules


def reasoning_for(cfg: ProviderConfig, model: str) -> ReasoningRules:
    """The reasoning rules for ``model``: the last matching override that has some, else the provider's."""
    rr = cfg._reasoning_cache.get(model)
    if rr is None:
        rr = cfg.reasoning
        for ov in cfg.overrides:
            if ov.reasoning is not None and any(fnmatch.fnmatchcase(model, p) for p in ov.patterns):
                rr = ov.reasoning
        cfg._reasoning_cache[model] = rr
    return rr


def _set_dotted(body: dict[str, Any], target: str, value: Any) -> None:
    if "." not in target:
        body[target] = value
        return
    *parents, leaf = target.split(".")
    node = body
    for p in parents:
        child = node.get(p)
        if not isinstance(child, dict):
            child = {}
            node[p] = child
        node = child
    node[leaf] = value


def _check_limit(
    cfg: ProviderConfig, name: str, value: Any, limit: Limit, receipt: Receipt, strict: bool
) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequestError(f"{name} must be a number, got {type(value).__name__}", provider=cfg.id)
    lo, hi = limit.min, limit.max
    if (lo is None or value >= lo) and (hi is None or value <= hi):
        return value
    rng = f"[{'' if lo is None else lo}, {'' if hi is None else hi}]"
    if limit.policy == "error" or strict:
        raise UnsupportedParamsError(f"{name}={value} is outside {cfg.id}'s range {rng}", provider=cfg.id)
    if limit.policy == "drop":
        receipt.dropped.append(name)
        return _DROP
    clamped = max(lo, value) if lo is not None else value
    clamped = min(hi, clamped) if hi is not None else clamped
    receipt.clamped[name] = {"from": value, "to": clamped}
    return clamped


_DROP = object()


def _reasoning_fragment(
    cfg: ProviderConfig, rr: ReasoningRules, effort: Any, receipt: Receipt, strict: bool
) -> Mapping[str, Any] | None:
    if effort not in _EFFORT_LEVELS:
        raise BadRequestError(
            f"reasoning_effort={effort!r} is not a level, expected one of: {', '.join(_EFFORT_LEVELS)}",
            provider=cfg.id,
        )
    fragment = rr.effort.get(effort)
    if fragment is None:
        levels = ", ".join(rr.effort)
        if strict:
            raise UnsupportedParamsError(
                f"{cfg.id} has no reasoning_effort={effort!r} (it has: {levels})", provider=cfg.id
            )
        receipt.dropped.append("reasoning_effort")
    return fragment


def deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> None:
    """Merge ``extra`` into ``base`` in place: mappings key by key, anything else replaced."""
    for k, v in extra.items():
        cur = base.get(k)
        if isinstance(v, Mapping) and isinstance(cur, dict):
            deep_merge(cur, v)
        else:
            base[k] = copy.deepcopy(v) if isinstance(v, Mapping | list) else v


def apply_reasoning(
    cfg: ProviderConfig, body: dict[str, Any], fragment: Mapping[str, Any], receipt: Receipt
) -> None:
    """Merge the effort fragment; keep the output limit above a thinking budget the provider counts in it."""
    deep_merge(body, fragment)
    rr = reasoning_for(cfg, receipt.model)
    if rr.budget_path is None:
        return
    budget = get_path(body, rr.budget_path)
    if not isinstance(budget, int):
        return
    key = rr.max_tokens_key
    current = get_path(body, tuple(key.split(".")))
    if not isinstance(current, int) or current > budget:
        return  # no output limit set (the provider's own maximum applies), or room enough already
    # The answer keeps the room the caller asked for (or the spec's default), on top of the budget.
    raised = budget + current
    _set_dotted(body, key, raised)
    receipt.clamped[key] = {"from": current, "to": raised}


def clean_schema(schema: Any, drop: frozenset[str]) -> Any:
    """A copy of a JSON Schema without the keywords in ``drop`` (property names are left alone)."""
    if not drop:
        return schema
    if isinstance(schema, list):
        return [clean_schema(s, drop) for s in schema]
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for k, v in schema.items():
        if k in drop:
            continue
        if k in ("properties", "$defs", "definitions", "patternProperties") and isinstance(v, Mapping):
            out[k] = {name: clean_schema(sub, drop) for name, sub in v.items()}
        else:
            out[k] = clean_schema(v, drop)
    return out


def json_arguments(value: Any) -> str:
    """Tool-call arguments as the JSON string OpenAI's shape promises."""
    if isinstance(value, str):
        return value
    return json.dumps(value if value is not None else {}, ensure_ascii=False, separators=(",", ":"))


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


def _excluded(cfg: ProviderConfig, rules: ParamRules, request: Mapping[str, Any], strict: bool) -> set[str]:
    out: set[str] = set()
    for group in rules.exclusive:
        present = [n for n in group if request.get(n) is not None and n not in rules.unsupported]
        if len(present) > 1:
            if strict:
                raise UnsupportedParamsError(
                    f"{cfg.id} does not take {' and '.join(present)} together", provider=cfg.id
                )
            out.update(present[1:])
    return out


_EFFORT_LEVELS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")


def apply_params(
    cfg: ProviderConfig,
    request: Mapping[str, Any],
    body: dict[str, Any],
    *,
    handled: frozenset[str],
    receipt: Receipt,
    strict: bool,
) -> None:
    """Copy every plain parameter of ``request`` into ``body`` through the spec's rules, then apply
    the reasoning table (``reasoning_effort``) when the spec has one.

    ``handled`` names the keys the codec translates itself (messages, tools, ...).
    """
    rules = rules_for(cfg, receipt.model)
    excluded: set[str] | tuple[()] = _excluded(cfg, rules, request, strict) if rules.exclusive else ()
    fragment = None
    effort = request.get("reasoning_effort")
    rr = reasoning_for(cfg, receipt.model) if effort is not None else cfg.reasoning
    if effort is not None and rr.effort and "reasoning_effort" not in rules.unsupported:
        fragment = _reasoning_fragment(cfg, rr, effort, receipt, strict)
        handled = handled | {"reasoning_effort"}
        if fragment and rr.drops:
            excluded = set(excluded) | {n for n in rr.drops if request.get(n) is not None}
    for name, value in request.items():
        if name in handled or name in ROUTER_KWARGS or value is None:
            continue
        if name not in OPENAI_PARAMS:
            prefix = rules.extension_prefix
            if prefix is not None and name.startswith(prefix):
                body[name[len(prefix) :]] = value
                receipt.renamed[name] = name[len(prefix) :]
                continue
            hint = difflib.get_close_matches(name, sorted(OPENAI_PARAMS), n=1)
            extra = f"; did you mean {hint[0]!r}?" if hint else "; provider-specific fields go in extra_body"
            raise UnsupportedParamsError(f"unknown parameter {name!r}{extra}", provider=cfg.id)
        if name in rules.unsupported:
            if strict:
                raise UnsupportedParamsError(f"{cfg.id} does not support {name!r}", provider=cfg.id)
            receipt.dropped.append(name)
            continue
        if name in excluded:
            receipt.dropped.append(name)
            continue
        limit = rules.limits.get(name)
        if limit is not None:
            value = _check_limit(cfg, name, value, limit, receipt, strict)
            if value is _DROP:
                continue
        if name in rules.to_list and isinstance(value, str):
            value = [value]
        target = rules.rename.get(name)
        if target is not None:
            receipt.renamed[name] = target
            _set_dotted(body, target, value)
        else:
            body[name] = value
    for key, value in rules.defaults.items():
        if key not in body:
            body[key] = value
            receipt.defaulted[key] = value
    if fragment is not None:
        apply_reasoning(cfg, body, fragment, receipt)
    if receipt.dropped:
        log.debug("%s: dropped unsupported params %s", cfg.id, receipt.dropped)


# --------------------------------------------------------------------------- responses


def load_json(body: bytes | str | Mapping[str, Any] | list[Any] | None, *, provider: str, status: int) -> Any:
    if body is None or isinstance(body, Mapping | list):
        return body
    try:
        return json.loads(body)
    except ValueError:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        raise InvalidResponseError(
            f"provider sent a body that is not JSON: {text[:200]!r}",
            status=status,
            provider=provider,
            body=text[:2000],
        ) from None


def get_path(obj: Any, path: Path) -> Any:
    """The value at a dotted path; a digit indexes a list, ``*`` takes the first list item that has
    the rest of the path (``error.details.*.retryDelay``)."""
    for i, key in enumerate(path):
        if isinstance(obj, Mapping):
            obj = obj.get(key)
        elif isinstance(obj, list) and key == "*":
            rest = path[i + 1 :]
            return next((v for v in (get_path(item, rest) for item in obj) if v is not None), None)
        elif isinstance(obj, list) and key.isdigit() and int(key) < len(obj):
            obj = obj[int(key)]
        else:
            return None
        if obj is None:
            return None
    return obj


def _sum(obj: Any, paths: tuple[Path, ...]) -> int | None:
    total: int | None = None
    for p in paths:
        v = get_path(obj, p)
        if isinstance(v, int) and not isinstance(v, bool):
            total = v if total is None else total + v
    return total


def usage_from(paths: UsagePaths, obj: Any) -> Usage | None:
    """Read usage through the spec's paths; None when the object reports none."""
    # Most stream chunks carry no usage: one dict lookup per path root decides that.
    roots = paths.prompt_tokens + paths.completion_tokens
    if not isinstance(obj, Mapping) or not any(obj.get(p[0]) is not None for p in roots if p):
        return None
    prompt = _sum(obj, paths.prompt_tokens)
    completion = _sum(obj, paths.completion_tokens)
    if prompt is None and completion is None:
        return None
    prompt = prompt or 0
    completion = completion or 0
    reasoning = _sum(obj, paths.reasoning_tokens) or 0
    if paths.reasoning_excluded_from_completion:
        completion += reasoning
    total = _sum(obj, paths.total_tokens)
    if total is None or paths.reasoning_excluded_from_completion:
        total = prompt + completion
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=total,
        prompt_tokens_details=PromptTokensDetails(
            cached_tokens=_sum(obj, paths.cached_tokens) or 0,
            cache_creation_tokens=_sum(obj, paths.cache_creation_tokens),
        ),
        completion_tokens_details=CompletionTokensDetails(reasoning_tokens=reasoning),
    )


def response_cost(cfg: ProviderConfig, headers: Mapping[str, str], data: Any) -> float | None:
    """The cost the provider itself reports (a header or a body field), in USD."""
    u = cfg.usage
    if u.cost_headers:
        lower = {k.lower(): v for k, v in headers.items()}
        for name in u.cost_headers:
            raw = lower.get(name.lower())
            if raw is not None:
                try:
                    return float(raw)
                except ValueError:
                    continue
    for path in u.cost:
        v = get_path(data, path)
        if isinstance(v, int | float) and not isinstance(v, bool):
            return float(v)
    return None


def finish_reason(cfg: ProviderConfig, native: Any, detail: Any = None) -> Any:
    """Map the provider's finish reason through the spec's table.

    An unmapped value never silently becomes ``stop``: it maps to the spec's declared
    ``finish_reasons.unknown`` and is logged; the native value is always kept by the caller. A
    reason the spec lists under ``finish_reasons.errors`` raises that error (``detail``: an error
    object the provider attached to the choice, if any).
    """
    if native is None:
        return None
    mapped = cfg.finish_reasons.get(native)
    if mapped is None:
        kind = cfg.finish_reason_errors.get(native)
        if kind is not None:
            why = detail.get("message") if isinstance(detail, Mapping) else None
            text = f"the answer ended with finish_reason {native!r}" + (f": {why}" if why else "")
            raise ERROR_KINDS[kind](text, provider=cfg.id, native_type=str(native), body=detail)
        log.warning("%s: unknown finish reason %r, mapped to %r", cfg.id, native, cfg.finish_reason_unknown)
        mapped = cfg.finish_reason_unknown
    return mapped


# --------------------------------------------------------------------------- errors


def _retry_after(headers: Mapping[str, str], names: tuple[str, ...]) -> float | None:
    lower = {k.lower(): v for k, v in headers.items()}
    for name in names:
        raw = lower.get(name.lower())
        if raw is None:
            continue
        try:
            value = float(raw.rstrip("s")) / (1000.0 if name.lower().endswith("-ms") else 1.0)
        except ValueError:
            from email.utils import parsedate_to_datetime

            try:
                value = parsedate_to_datetime(raw).timestamp() - time.time()
            except (TypeError, ValueError):
                continue
        return max(0.0, value)
    return None


def _body_delay(data: Any, path: Path) -> float | None:
    """A wait hint inside the body: a number of seconds or a duration string such as "37s"/"1.5s"."""
    value = get_path(data, path)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.removesuffix("s"))
        except ValueError:
            return None
    return None


def map_error(
    cfg: ProviderConfig, status: int, headers: Mapping[str, str], body: Any, *, model: str | None = None
) -> APIError:
    """Turn an error answer into a typed exception: type/code tables first, then status, then message."""
    if isinstance(body, bytes | str):
        try:
            data: Any = json.loads(body)
        except ValueError:
            data = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    else:
        data = body
    rules = cfg.errors
    native_type = get_path(data, rules.type_at) if rules.type_at else None
    code = get_path(data, rules.code_at) if rules.code_at else None
    message = get_path(data, rules.message_at) if rules.message_at else None
    if not isinstance(message, str):
        message = data if isinstance(data, str) and data else f"HTTP {status}"
        if isinstance(message, str) and message.lstrip().startswith("<"):
            message = f"HTTP {status} (the provider sent an HTML page, not an API error)"
        message = message[:500]
    kind = None
    for m, k in rules.messages:
        if m.lower() in message.lower():
            kind = k
            break
    if kind is None and code is not None:
        kind = rules.codes.get(str(code))
    if kind is None and native_type is not None:
        kind = rules.types.get(str(native_type))
    if kind is None:
        kind = rules.status.get(status)
    if kind is None:
        cls: type[APIError] = (
            InternalServerError
            if status >= 500
            else (BadRequestError if status < 500 and status >= 400 else APIError)
        )
    else:
        cls = ERROR_KINDS[kind]
    lower = {k.lower(): v for k, v in headers.items()}
    request_id = next((lower[h.lower()] for h in rules.request_id if h.lower() in lower), None)
    if request_id is None and rules.request_id_at is not None:
        found = get_path(data, rules.request_id_at)
        request_id = found if isinstance(found, str) else None
    wait = _retry_after(headers, rules.retry_after)
    if wait is None and rules.retry_after_at is not None:
        wait = _body_delay(data, rules.retry_after_at)
    return cls(
        message,
        status=status,
        provider=cfg.id,
        model=model,
        request_id=request_id,
        body=data,
        native_type=str(native_type)
        if native_type is not None
        else (str(code) if code is not None else None),
        retry_after=wait,
    )


# --------------------------------------------------------------------------- streams


class StreamDecoder(Protocol):
    done: bool

    def feed(self, ev: Event) -> list[ChatCompletionChunk]: ...

    def close(self) -> list[ChatCompletionChunk]: ...


def decode_stream(decoder: StreamDecoder, events: Iterable[Event]) -> Iterator[ChatCompletionChunk]:
    """Drive a codec's stream decoder over framed events, stopping at the provider's end marker."""
    for ev in events:
        yield from decoder.feed(ev)
        if decoder.done:
            return
    yield from decoder.close()
