"""The ``ollama-chat`` wire protocol: Ollama's native ``POST /api/chat``.

Reference: https://github.com/ollama/ollama/blob/main/docs/api.md#generate-a-chat-completion and
https://docs.ollama.com/api ; field names checked against the official ``ollama`` Python package
(``ollama/_types.py``: ChatRequest, Message, Tool, Options).

What is protocol, not provider, and so lives here:

* messages keep OpenAI's roles (developer becomes system); ``content`` is one string; images travel
  beside it as raw base64 in the message's ``images`` list (no URLs, no ``data:`` prefix);
* assistant tool calls carry ``arguments`` as a JSON object, not a string, and no id; a tool result
  names its tool with ``tool_name`` instead of pointing at a call id;
* there is no ``tool_choice``; ``format`` takes ``"json"`` or a JSON Schema;
* the endpoint streams unless the body says ``"stream": false``, so the body always says which;
* a response is one partial message per NDJSON line; the last line has ``done: true``, the
  ``done_reason`` and the token counts; tool calls arrive whole, never as argument fragments; there
  is no finish reason for tool calls (a turn that calls tools ends with ``stop``); an error inside a
  200 stream is a line ``{"error": "..."}``.

Everything a provider varies (sampling-option renames into ``options``, the ``think`` table, finish
reasons, usage paths, error tables, base URL and auth) comes from the spec via ProviderConfig.

Tool-call ids: Ollama's answers carry none (or, on newer servers, sometimes one; it is kept when
present). A missing id is made stable, not random: ``call_`` + the first 24 hex digits of
SHA-256 over ``model, created_at, position, name, arguments`` joined by NUL. The same answer parsed
twice gives the same ids; two answers in one conversation get different ones.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from router._exceptions import (
    APIConnectionError,
    BadRequestError,
    ConfigError,
    InvalidResponseError,
    UnsupportedParamsError,
)
from router._streaming import Event
from router._types import (
    ChatCompletion,
    ChatCompletionChunk,
    Choice,
    ChunkChoice,
    Delta,
    FinishReason,
    FunctionCall,
    HttpRequest,
    Message,
    Receipt,
    ToolCall,
    ToolCallDelta,
)
from router.protocols import _common
from router.protocols._config import ProviderConfig

__all__ = ["StreamDecoder", "build_request", "parse_response", "parse_stream"]

_HANDLED = frozenset(
    {
        "model",
        "messages",
        "stream",
        "stream_options",  # the final line always carries the counts
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "response_format",
        "functions",  # legacy spellings of tools / tool_choice, folded in by _common.tools_and_choice
        "function_call",
    }
)
_TOOL_CHOICES = ("auto", "none", "required")


# --------------------------------------------------------------------------- request


def _image(cfg: ProviderConfig, part: Mapping[str, Any]) -> str:
    image = part.get("image_url")
    url = image.get("url", "") if isinstance(image, Mapping) else image if isinstance(image, str) else ""
    if not url.startswith("data:"):
        shown = url if len(url) <= 80 else url[:77] + "..."
        raise UnsupportedParamsError(
            f"{cfg.id} cannot take an image by URL (content part image_url {shown!r}): "
            "the ollama-chat protocol takes base64 images only; fetch it and send a data: URL",
            provider=cfg.id,
        )
    header, _, data = url.partition(",")
    if ";base64" not in header:
        raise UnsupportedParamsError(
            f"{cfg.id}: an image data URL must be base64 (data:<type>;base64,...)", provider=cfg.id
        )
    return data


def _content(cfg: ProviderConfig, content: Any) -> tuple[str, list[str]]:
    """OpenAI content (a string or a list of parts) as the protocol's text and base64 images."""
    if content is None:
        return "", []
    if isinstance(content, str):
        return content, []
    if not isinstance(content, list):
        raise BadRequestError(
            f"message content must be a string or a list of parts, got {type(content).__name__}",
            provider=cfg.id,
        )
    text: list[str] = []
    images: list[str] = []
    for part in content:
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind == "text":
            text.append(part.get("text") or "")
        elif kind == "image_url":
            images.append(_image(cfg, part))
        else:
            raise UnsupportedParamsError(
                f"{cfg.id} cannot take a content part of type {kind!r}", provider=cfg.id
            )
    # Parts are concatenated as they are, as OpenAI reads them: no separator is invented.
    return "".join(text), images


def _arguments(cfg: ProviderConfig, tc: Mapping[str, Any]) -> Any:
    args = (tc.get("function") or {}).get("arguments")
    if args is None or args == "":
        return {}
    if not isinstance(args, str):
        return args
    try:
        return json.loads(args)
    except ValueError:
        raise BadRequestError(
            f"tool call {tc.get('id')!r} has arguments that are not JSON", provider=cfg.id
        ) from None


def _convert_messages(cfg: ProviderConfig, messages: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool call id -> function name, for the tool results that follow
    for raw in messages:
        m = _common.as_dict(raw)
        role = m.get("role")
        if role == "developer":
            role = "system"
        if role not in ("system", "user", "assistant", "tool", "function"):
            raise BadRequestError(f"unknown message role {role!r}", provider=cfg.id)
        text, images = _content(cfg, m.get("content"))
        if role in ("tool", "function"):
            msg: dict[str, Any] = {"role": "tool", "content": text}
            name = m.get("name") if role == "function" else names.get(str(m.get("tool_call_id")))
            if name:
                msg["tool_name"] = name
        else:
            msg = {"role": role, "content": text}
        if images:
            msg["images"] = images
        if role == "assistant":
            reasoning = m.get("reasoning_content")
            if reasoning and cfg.messages.reasoning_content == "send":
                msg["thinking"] = reasoning
            calls = []
            for i, tc in enumerate(m.get("tool_calls") or ()):
                fn = tc.get("function") or {}
                if tc.get("id"):
                    names[str(tc["id"])] = fn.get("name") or ""
                calls.append(
                    {"function": {"index": i, "name": fn.get("name"), "arguments": _arguments(cfg, tc)}}
                )
            if calls:
                msg["tool_calls"] = calls
        out.append(msg)
    return out


def _tools(cfg: ProviderConfig, tools: list[Any]) -> list[dict[str, Any]]:
    """OpenAI function tools, which is the shape the protocol takes (minus ``strict``)."""
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
        spec["parameters"] = _common.clean_schema(params, cfg.tools.schema_drop_keywords)
        out.append({"type": "function", "function": spec})
    return out


def _unsupported(cfg: ProviderConfig, name: str, why: str, receipt: Receipt, strict: bool) -> None:
    if strict:
        raise UnsupportedParamsError(f"{cfg.id} does not support {name} ({why})", provider=cfg.id)
    receipt.dropped.append(name)


def _tool_choice(cfg: ProviderConfig, choice: Any, parallel: Any, receipt: Receipt, strict: bool) -> None:
    """The protocol has no tool_choice and no parallel-call switch: the model always decides."""
    named = isinstance(choice, Mapping) and bool((choice.get("function") or {}).get("name"))
    if choice is not None and choice not in _TOOL_CHOICES and not named:
        raise BadRequestError(f"tool_choice {choice!r} is not one OpenAI defines", provider=cfg.id)
    if choice is not None and choice != "auto":
        _unsupported(cfg, "tool_choice", f"{choice!r}; the model always decides", receipt, strict)
    if parallel is False:
        _unsupported(cfg, "parallel_tool_calls", "False; the model may call several tools", receipt, strict)


def _format(cfg: ProviderConfig, request: Mapping[str, Any], receipt: Receipt, strict: bool) -> Any:
    """``format``: "json" for JSON mode, the (cleaned) schema for json_schema, None for nothing."""
    structured = _common.response_schema(cfg, request, receipt, strict)
    if structured is None:
        return None
    mechanism, schema = structured
    if mechanism != "native":
        # Forcing a tool needs tool_choice, which this protocol does not have.
        raise ConfigError(
            f"{cfg.id}: structured_output {mechanism!r} is not possible over ollama-chat (no tool_choice)"
        )
    return "json" if request["response_format"].get("type") == "json_object" else schema


def build_request(
    cfg: ProviderConfig,
    request: Mapping[str, Any],
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    strict: bool = False,
    receipt: Receipt | None = None,
) -> HttpRequest:
    model = _common.model_of(cfg, request)
    if receipt is None:
        receipt = Receipt(cfg.id, model)
    body: dict[str, Any] = {
        "model": model,
        "messages": _convert_messages(cfg, _common.messages_of(cfg, request)),
    }
    tools, choice = _common.tools_and_choice(request)
    if tools:
        body["tools"] = _tools(cfg, tools)
    _tool_choice(cfg, choice, request.get("parallel_tool_calls"), receipt, strict)
    fmt = _format(cfg, request, receipt, strict)
    if fmt is not None:
        body["format"] = fmt
    _common.apply_params(cfg, request, body, handled=_HANDLED, receipt=receipt, strict=strict)
    stream = bool(request.get("stream"))
    # The endpoint streams by default (https://docs.ollama.com/api/streaming): say so either way.
    body["stream"] = stream
    if stream:
        body.update(cfg.stream.body)
    extra = request.get("extra_body")
    if extra:
        # Deep, so extra_body={"options": {"num_ctx": 8192}} adds to the translated options.
        _common.deep_merge(body, extra)
    return _common.build_http(
        cfg,
        body,
        model=model,
        stream=stream,
        api_key=api_key,
        base_url=base_url,
        extra_headers=request.get("extra_headers"),
        extra_query=request.get("extra_query"),
    )


# --------------------------------------------------------------------------- responses


def _created(value: Any) -> int:
    """RFC 3339 (Go's time.Time, nanoseconds included) as Unix seconds; now() when unreadable."""
    if isinstance(value, str) and value:
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            return _common.now()
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return int(dt.timestamp())
    return _common.now()


def _call_id(model: str, created_at: Any, position: int, name: str, arguments: str) -> str:
    seed = "\0".join((model, str(created_at or ""), str(position), name, arguments))
    return "call_" + hashlib.sha256(seed.encode()).hexdigest()[:24]


def _tool_call(tc: Any, model: str, created_at: Any, position: int) -> tuple[str, str, str]:
    fn = (tc.get("function") if isinstance(tc, Mapping) else None) or {}
    name = fn.get("name") or ""
    arguments = _common.json_arguments(fn.get("arguments"))
    native_id = tc.get("id") if isinstance(tc, Mapping) else None
    return native_id or _call_id(model, created_at, position, name, arguments), name, arguments


def _finish(cfg: ProviderConfig, native: Any, done: bool, called_tools: bool) -> FinishReason | None:
    mapped: FinishReason | None = _common.finish_reason(cfg, native)
    if mapped is None and done:
        mapped = "stop"  # servers before done_reason existed (docs/api.md examples) just say done
    # The protocol has no finish reason for tool calls: a turn that calls tools ends with "stop".
    if called_tools and mapped == "stop":
        return "tool_calls"
    return mapped


def _raise_if_error(
    cfg: ProviderConfig, status: int, headers: Mapping[str, str], data: Any, model: str | None
) -> None:
    if isinstance(data, Mapping) and data.get("error") is not None and "message" not in data:
        raise _common.map_error(cfg, status if status >= 400 else 500, headers, data, model=model)


def parse_response(
    cfg: ProviderConfig,
    status: int,
    headers: Mapping[str, str],
    body: Any,
    *,
    receipt: Receipt | None = None,
) -> ChatCompletion:
    model = receipt.model if receipt else None
    if status >= 400:
        raise _common.map_error(cfg, status, headers, body, model=model)
    data = _common.load_json(body, provider=cfg.id, status=status)
    _raise_if_error(cfg, status, headers, data, model)
    if not isinstance(data, Mapping) or not isinstance(data.get("message"), Mapping):
        raise InvalidResponseError(
            "response has no message object", status=status, provider=cfg.id, body=data
        )
    m = data["message"]
    answered_by = data.get("model") or model or ""
    calls = [
        ToolCall(id=i, function=FunctionCall(name=n, arguments=a))
        for i, n, a in (
            _tool_call(tc, answered_by, data.get("created_at"), pos)
            for pos, tc in enumerate(m.get("tool_calls") or ())
        )
    ]
    native = data.get("done_reason")
    return ChatCompletion(
        id=_common.new_id("chatcmpl-"),
        created=_created(data.get("created_at")),
        model=answered_by,
        choices=[
            Choice(
                index=0,
                message=Message(
                    content=m.get("content") if m.get("content") or not calls else None,
                    tool_calls=calls or None,
                    reasoning_content=m.get("thinking") or None,
                ),
                finish_reason=_finish(cfg, native, data.get("done") is not False, bool(calls)),
                native_finish_reason=native,
            )
        ],
        usage=_common.usage_from(cfg.usage, data),
        router=receipt,
    )


class StreamDecoder:
    """NDJSON lines to OpenAI chunks: role first, content/thinking deltas, whole tool calls, then at
    ``done: true`` a finish chunk and a usage chunk (no choices)."""

    __slots__ = ("_cfg", "_created", "_finished", "_id", "_model", "_started", "_tools", "done")

    def __init__(self, cfg: ProviderConfig, receipt: Receipt | None = None) -> None:
        self._cfg = cfg
        self._model = receipt.model if receipt else ""
        self._id = _common.new_id("chatcmpl-")
        self._created: int | None = None
        self._started = False
        self._tools = 0  # tool calls seen so far: the next one's index
        self._finished = False
        self.done = False

    def _chunk(
        self, delta: Delta, finish: FinishReason | None = None, native: Any = None
    ) -> ChatCompletionChunk:
        choice = ChunkChoice(index=0, delta=delta, finish_reason=finish, native_finish_reason=native)
        return ChatCompletionChunk(
            id=self._id, created=self._created or _common.now(), model=self._model, choices=[choice]
        )

    def feed(self, ev: Event) -> list[ChatCompletionChunk]:
        cfg = self._cfg
        try:
            data = json.loads(ev.data)
        except ValueError:
            raise InvalidResponseError(
                f"stream line is not JSON: {ev.data[:200]!r}", provider=cfg.id, model=self._model
            ) from None
        if not isinstance(data, Mapping):
            raise InvalidResponseError(
                f"stream line is not a JSON object: {ev.data[:200]!r}", provider=cfg.id, model=self._model
            )
        # An error after the 200 status line: https://docs.ollama.com/api/errors
        _raise_if_error(cfg, 500, {}, data, self._model)
        self._model = data.get("model") or self._model
        if self._created is None:
            self._created = _created(data.get("created_at"))
        raw = data.get("message")
        m: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        out: list[ChatCompletionChunk] = []
        calls = []
        for tc in m.get("tool_calls") or ():
            call_id, name, arguments = _tool_call(tc, self._model, data.get("created_at"), self._tools)
            calls.append(ToolCallDelta(index=self._tools, id=call_id, name=name, arguments=arguments))
            self._tools += 1
        delta = Delta(
            content=m.get("content") or None,
            reasoning_content=m.get("thinking") or None,
            tool_calls=calls or None,
        )
        if not self._started:
            self._started = True
            delta.role = "assistant"
            if delta.content is None:
                delta.content = ""
            out.append(self._chunk(delta))
        elif delta.content is not None or delta.reasoning_content is not None or calls:
            out.append(self._chunk(delta))
        if data.get("done"):
            native = data.get("done_reason")
            self._finished = self.done = True
            out.append(self._chunk(Delta(), _finish(cfg, native, True, self._tools > 0), native))
            usage = _common.usage_from(cfg.usage, data)
            if usage is not None:
                out.append(
                    ChatCompletionChunk(
                        id=self._id,
                        created=self._created,
                        model=self._model,
                        choices=[],
                        usage=usage,
                    )
                )
        return out

    def close(self) -> list[ChatCompletionChunk]:
        if not self._finished:
            raise APIConnectionError(
                "stream ended before the provider finished its answer (no line with done: true)",
                provider=self._cfg.id,
                model=self._model,
            )
        return []


def parse_stream(
    cfg: ProviderConfig, events: Iterable[Event], *, receipt: Receipt | None = None
) -> Iterator[ChatCompletionChunk]:
    """NDJSON lines (already framed) to chunks; raises the typed error for an error line or a cut-off stream."""
    return _common.decode_stream(StreamDecoder(cfg, receipt), events)
