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
_HANDLED_WITH_FORMAT = _HANDLED | {"response_format"}
# Keys the router adds to assistant messages that no openai-chat server defines; reasoning_content is
# sent back only where the spec says the server wants it (messages.reasoning_content: send).
_ROUTER_ONLY = ("reasoning_blocks", "native_finish_reason")
_ROUTER_ONLY_AND_REASONING = (*_ROUTER_ONLY, "reasoning_content")


def _message_dict(m: Any, strip: tuple[str, ...]) -> Mapping[str, Any]:
    if isinstance(m, Mapping):
        if any(k in m for k in strip):
            return {k: v for k, v in m.items() if k not in strip}
        return m  # the common case: no copy
    to_dict = getattr(m, "to_dict", None)
    if to_dict is None:
        raise BadRequestError(f"a message must be a dict, got {type(m).__name__}")
    return _message_dict(to_dict(), strip)


def _clean_tools(cfg: ProviderConfig, tools: Any) -> Any:
    drop = cfg.tools.schema_drop_keywords
    if not drop or not isinstance(tools, list):
        return tools
    out = []
    for t in tools:
        fn = t.get("function")
        if isinstance(fn, Mapping) and "parameters" in fn:
            t = {**t, "function": {**fn, "parameters": _common.clean_schema(fn["parameters"], drop)}}
        out.append(t)
    return out


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
    messages = _common.messages_of(cfg, request)
    if receipt is None:
        receipt = Receipt(cfg.id, model)
    strip = _ROUTER_ONLY if cfg.messages.reasoning_content == "send" else _ROUTER_ONLY_AND_REASONING
    if cfg.messages.drop_fields:
        strip = (*strip, *cfg.messages.drop_fields)
        for k in sorted(cfg.messages.drop_fields):
            if any(isinstance(m, Mapping) and k in m for m in messages):
                receipt.dropped.append(f"messages[].{k}")
    body: dict[str, Any] = {"model": model, "messages": [_message_dict(m, strip) for m in messages]}
    handled = _HANDLED
    rf = request.get("response_format")
    if isinstance(rf, Mapping) and rf.get("type") in ("json_schema", "json_object"):
        so = cfg.structured_output
        if (so.json_schema if rf["type"] == "json_schema" else so.json_object) != "native":
            handled = _HANDLED_WITH_FORMAT
            structured = _common.response_schema(cfg, request, receipt, strict)
            if structured is not None:  # the tool mechanism: a forced function whose arguments are the answer
                fn = {"name": so.tool_name, "description": "Answer with JSON that matches this schema.",
                      "parameters": structured[1]}  # fmt: skip
                body["tools"] = [*(request.get("tools") or ()), {"type": "function", "function": fn}]
                body["tool_choice"] = {"type": "function", "function": {"name": so.tool_name}}
                handled = handled | {"tools", "tool_choice"}
    _common.apply_params(cfg, request, body, handled=handled, receipt=receipt, strict=strict)
    if "tools" in body and cfg.tools.schema_drop_keywords:
        body["tools"] = _clean_tools(cfg, body["tools"])
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


_arguments = _common.json_arguments


def _json_tool(cfg: ProviderConfig) -> str | None:
    so = cfg.structured_output
    return so.tool_name if "tool" in (so.json_schema, so.json_object) else None


def _tool_calls(raw: Any, json_tool: str | None = None) -> tuple[list[ToolCall] | None, str | None]:
    """The tool calls, and the structured-output answer when the forced json tool was called."""
    if not isinstance(raw, list) or not raw:
        return None, None
    calls = []
    answer = None
    for i, tc in enumerate(raw):
        fn = tc.get("function") or {}
        if json_tool is not None and fn.get("name") == json_tool:
            answer = _arguments(fn.get("arguments"))
            continue
        calls.append(
            ToolCall(
                id=tc.get("id") or f"call_{i}",
                function=FunctionCall(name=fn.get("name") or "", arguments=_arguments(fn.get("arguments"))),
            )
        )
    return calls or None, answer


def _reasoning(m: Mapping[str, Any]) -> Any:
    # DeepSeek and xAI use reasoning_content; OpenRouter, vLLM and Groq use reasoning.
    r = m.get("reasoning_content")
    return r if r is not None else m.get("reasoning") if isinstance(m.get("reasoning"), str) else None


def _text_of(parts: Any) -> str:
    if isinstance(parts, str):
        return parts
    if isinstance(parts, list):
        return "".join(
            p.get("text") or "" for p in parts if isinstance(p, Mapping) and p.get("type") == "text"
        )
    return ""


def _content(m: Mapping[str, Any]) -> tuple[Any, Any]:
    """(content, reasoning). Some servers answer with content as typed parts (Mistral's reasoning
    models: {"type": "thinking", "thinking": [...]} and {"type": "text", "text": ...}):
    https://docs.mistral.ai/capabilities/reasoning ; the text parts are the content, the thinking
    parts the reasoning."""
    content = m.get("content")
    reasoning = _reasoning(m)
    if not isinstance(content, list):
        return content, reasoning
    text = _text_of(content)
    thought = "".join(
        _text_of(p.get("thinking")) for p in content if isinstance(p, Mapping) and p.get("type") == "thinking"
    )
    if thought:
        reasoning = (reasoning or "") + thought
    return text, reasoning


def _raise_if_error(
    cfg: ProviderConfig, status: int, headers: Mapping[str, str], data: Any, model: str | None
) -> None:
    """An error object where an answer should be (a 200 body or a stream frame) raises the typed error.

    Servers that report the real status inside the object (Groq's ``status_code``, OpenRouter's
    numeric ``code``) get that status; otherwise it counts as a server-side failure (500).
    """
    if isinstance(data, Mapping) and data.get("error") is not None and "choices" not in data:
        err = data["error"]
        inner = (err.get("status_code") or err.get("code")) if isinstance(err, Mapping) else None
        if status < 400:
            status = inner if isinstance(inner, int) and 400 <= inner < 600 else 500
        raise _common.map_error(cfg, status, headers, data, model=model)


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
    json_tool = _json_tool(cfg)
    for i, c in enumerate(data["choices"]):
        m = c.get("message") or {}
        native = c.get("finish_reason")
        calls, answer = _tool_calls(m.get("tool_calls"), json_tool)
        content, reasoning = _content(m)
        finish = _common.finish_reason(cfg, native, c.get("error"))
        if answer is not None and not calls and finish == "tool_calls":
            finish = "stop"
        choices.append(
            Choice(
                index=c.get("index", i),
                message=Message(
                    content=answer if answer is not None else content,
                    tool_calls=calls,
                    reasoning_content=reasoning,
                    refusal=m.get("refusal"),
                ),
                finish_reason=finish,
                native_finish_reason=native,
                logprobs=c.get("logprobs"),
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
        cost=_common.response_cost(cfg, headers, data),
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
    content, reasoning = _content(d)
    return Delta(
        role=d.get("role"),
        content=content,
        reasoning_content=reasoning,
        tool_calls=calls,
    )


class StreamDecoder:
    """Framed events in, unified chunks out; one instance per stream. ``done`` turns true at the
    provider's end sentinel; ``close()`` raises if the stream was cut off before a finish reason."""

    __slots__ = ("_cfg", "_finished", "_json_indexes", "_json_tool", "_model", "_real_tools", "done")

    def __init__(self, cfg: ProviderConfig, receipt: Receipt | None = None) -> None:
        self._cfg = cfg
        self._model = receipt.model if receipt else None
        self._finished = False
        self._json_tool = _json_tool(cfg)
        self._json_indexes: set[int] = set()  # tool call indexes of the structured-output tool
        self._real_tools = False
        self.done = False

    def _structured(self, delta: Delta) -> Delta:
        """Turn the forced structured-output tool's argument fragments into content."""
        calls = []
        for tc in delta.tool_calls or ():
            if tc.name == self._json_tool:
                self._json_indexes.add(tc.index)
            if tc.index in self._json_indexes:
                delta.content = (delta.content or "") + (tc.arguments or "")
            else:
                self._real_tools = True
                calls.append(tc)
        delta.tool_calls = calls or None
        return delta

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
        if cfg.stream.error_event is not None and ev.event == cfg.stream.error_event and "error" not in data:
            data = {"error": data}
        _raise_if_error(cfg, 200, {}, data, self._model)
        choices = []
        for i, c in enumerate(data.get("choices") or ()):
            native = c.get("finish_reason")
            delta = _delta(c.get("delta") or {})
            if self._json_tool is not None and delta.tool_calls:
                delta = self._structured(delta)
            finish = _common.finish_reason(cfg, native, c.get("error"))
            if native is not None:
                self._finished = True
                if finish == "tool_calls" and self._json_indexes and not self._real_tools:
                    finish = "stop"
            choices.append(
                ChunkChoice(
                    index=c.get("index", i),
                    delta=delta,
                    finish_reason=finish,
                    native_finish_reason=native,
                    logprobs=c.get("logprobs"),
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
