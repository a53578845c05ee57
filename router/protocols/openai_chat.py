"""The ``openai-chat`` wire protocol: OpenAI Chat Completions and every server that speaks it.

Reference: https://platform.openai.com/docs/api-reference/chat/create
The request is already in this form, so translation is the spec's parameter policy plus streaming
options; responses are read field by field so a missing or odd field never raises a bare KeyError.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from router._exceptions import APIConnectionError, BadRequestError, InvalidResponseError
from router._streaming import Event
from router._types import (
    ChatCompletion,
    ChatCompletionChunk,
    Choice,
    ChunkChoice,
    Delta,
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

_HANDLED = frozenset({"model", "messages", "stream", "stream_options"})
# Keys the router adds to assistant messages that no openai-chat server defines.
_ROUTER_ONLY_MESSAGE_KEYS = ("reasoning_blocks", "native_finish_reason")


def _message_dict(m: Any) -> Mapping[str, Any]:
    if isinstance(m, Mapping):
        if any(k in m for k in _ROUTER_ONLY_MESSAGE_KEYS):
            return {k: v for k, v in m.items() if k not in _ROUTER_ONLY_MESSAGE_KEYS}
        return m
    to_dict = getattr(m, "to_dict", None)
    if to_dict is None:
        raise BadRequestError(f"a message must be a dict, got {type(m).__name__}")
    return _message_dict(to_dict())


def check_messages(cfg: ProviderConfig, request: Mapping[str, Any]) -> list[Any]:
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequestError("messages must be a non-empty list", provider=cfg.id)
    return messages


def build_request(
    cfg: ProviderConfig,
    request: Mapping[str, Any],
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    strict: bool = False,
    receipt: Receipt | None = None,
) -> HttpRequest:
    model = request.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequestError("model must be a non-empty string", provider=cfg.id)
    model = cfg.aliases.get(model, model)
    messages = check_messages(cfg, request)
    if receipt is None:
        receipt = Receipt(cfg.id, model)
    body: dict[str, Any] = {"model": model, "messages": [_message_dict(m) for m in messages]}
    _common.apply_params(cfg, request, body, handled=_HANDLED, receipt=receipt, strict=strict)
    stream = bool(request.get("stream"))
    if stream:
        body["stream"] = True
        body.update(cfg.stream.body)
        if request.get("stream_options") is not None:
            body["stream_options"] = request["stream_options"]
    extra = request.get("extra_body")
    if extra:
        body.update(extra)
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


def _arguments(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value if value is not None else {}, ensure_ascii=False, separators=(",", ":"))


def _tool_calls(raw: Any) -> list[ToolCall] | None:
    if not isinstance(raw, list) or not raw:
        return None
    calls = []
    for i, tc in enumerate(raw):
        fn = tc.get("function") or {}
        calls.append(
            ToolCall(
                id=tc.get("id") or f"call_{i}",
                function=FunctionCall(name=fn.get("name") or "", arguments=_arguments(fn.get("arguments"))),
            )
        )
    return calls


def _reasoning(m: Mapping[str, Any]) -> Any:
    # DeepSeek and xAI use reasoning_content; OpenRouter, vLLM and Groq use reasoning.
    r = m.get("reasoning_content")
    return r if r is not None else m.get("reasoning") if isinstance(m.get("reasoning"), str) else None


def _raise_if_error(
    cfg: ProviderConfig, status: int, headers: Mapping[str, str], data: Any, model: str | None
) -> None:
    if isinstance(data, Mapping) and data.get("error") is not None and "choices" not in data:
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
    if not isinstance(data, Mapping) or not isinstance(data.get("choices"), list):
        raise InvalidResponseError("response has no choices list", status=status, provider=cfg.id, body=data)
    choices = []
    for i, c in enumerate(data["choices"]):
        m = c.get("message") or {}
        native = c.get("finish_reason")
        choices.append(
            Choice(
                index=c.get("index", i),
                message=Message(
                    content=m.get("content"),
                    tool_calls=_tool_calls(m.get("tool_calls")),
                    reasoning_content=_reasoning(m),
                    refusal=m.get("refusal"),
                ),
                finish_reason=_common.finish_reason(cfg, native),
                native_finish_reason=native,
            )
        )
    return ChatCompletion(
        id=data.get("id") or _common.new_id("chatcmpl-"),
        created=data.get("created") or _common.now(),
        model=data.get("model") or model or "",
        choices=choices,
        usage=_common.usage_from(cfg.usage, data),
        system_fingerprint=data.get("system_fingerprint"),
        router=receipt,
    )


def _delta(d: Mapping[str, Any]) -> Delta:
    calls = None
    raw = d.get("tool_calls")
    if isinstance(raw, list) and raw:
        calls = []
        for i, tc in enumerate(raw):
            fn = tc.get("function") or {}
            args = fn.get("arguments")
            calls.append(
                ToolCallDelta(
                    index=tc.get("index", i),
                    id=tc.get("id") or None,
                    name=fn.get("name"),
                    arguments=None if args is None else _arguments(args),
                )
            )
    return Delta(
        role=d.get("role"),
        content=d.get("content"),
        reasoning_content=_reasoning(d),
        tool_calls=calls,
    )


class StreamDecoder:
    """Framed events in, unified chunks out; one instance per stream. ``done`` turns true at the
    provider's end sentinel; ``close()`` raises if the stream was cut off before a finish reason."""

    __slots__ = ("_cfg", "_finished", "_model", "done")

    def __init__(self, cfg: ProviderConfig, receipt: Receipt | None = None) -> None:
        self._cfg = cfg
        self._model = receipt.model if receipt else None
        self._finished = False
        self.done = False

    def feed(self, ev: Event) -> list[ChatCompletionChunk]:
        cfg = self._cfg
        if cfg.stream.done is not None and ev.data == cfg.stream.done:
            self.done = self._finished = True
            return []
        try:
            data = json.loads(ev.data)
        except ValueError:
            raise InvalidResponseError(
                f"stream frame is not JSON: {ev.data[:200]!r}", provider=cfg.id, model=self._model
            ) from None
        if cfg.stream.error_event is not None and ev.event == cfg.stream.error_event:
            err = data.get("error") if isinstance(data.get("error"), Mapping) else data
            raise _common.map_error(cfg, int(err.get("status_code") or 500), {}, data, model=self._model)
        _raise_if_error(cfg, 500, {}, data, self._model)
        choices = []
        for i, c in enumerate(data.get("choices") or ()):
            native = c.get("finish_reason")
            if native is not None:
                self._finished = True
            choices.append(
                ChunkChoice(
                    index=c.get("index", i),
                    delta=_delta(c.get("delta") or {}),
                    finish_reason=_common.finish_reason(cfg, native),
                    native_finish_reason=native,
                )
            )
        return [
            ChatCompletionChunk(
                id=data.get("id") or "",
                created=data.get("created") or _common.now(),
                model=data.get("model") or self._model or "",
                choices=choices,
                usage=_common.usage_from(cfg.usage, data),
            )
        ]

    def close(self) -> list[ChatCompletionChunk]:
        if not self._finished:
            raise APIConnectionError(
                "stream ended before the provider finished its answer",
                provider=self._cfg.id,
                model=self._model,
            )
        return []


def parse_stream(
    cfg: ProviderConfig, events: Iterable[Event], *, receipt: Receipt | None = None
) -> Iterator[ChatCompletionChunk]:
    """Events (already framed) to chunks. Raises the typed error for an error frame or a cut-off stream."""
    return _common.decode_stream(StreamDecoder(cfg, receipt), events)
