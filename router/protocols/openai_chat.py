"""The ``openai-chat`` wire protocol: OpenAI Chat Completions and every server that speaks it.

Reference: https://platform.openai.com/docs/api-reference/chat/create
The request is already in this form, so translation is the spec's parameter policy plus streaming
options; responses are read field by field so a missing or odd field never raises a bare KeyError.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from router._exceptions import BadRequestError
from router._exceptions import InvalidResponseError
from router._types import AnyToolCall
from router._types import ChatCompletion
from router._types import ChatCompletionChunk
from router._types import Choice
from router._types import ChunkChoice
from router._types import Delta
from router._types import FunctionCall
from router._types import FunctionCallDelta
from router._types import Message
from router._types import Receipt
from router._types import ToolCall
from router._types import ToolCallDelta
from router._types import text_chunk
from router.protocols import _normalise
from router.protocols import _params
from router.protocols import _wire
from router.protocols._config import ProviderConfig
from router.protocols._driver import Answer
from router.protocols._driver import Body
from router.protocols._driver import Request

# The module is a Codec (router/protocols/_driver.py): HANDLED, STREAM_KEY, STREAM_ALWAYS, MODEL_PREFIX,
# translate, body_error, parse and decoder are what the driver calls.

HANDLED: frozenset[str] = frozenset({"stream_options"})
STREAM_KEY: str | None = "stream"
STREAM_ALWAYS: bool = False
MODEL_PREFIX: str = ""
# Answer keys read here; anything else (OpenRouter's provider, Perplexity's citations, x_groq, ...)
# goes to receipt.extra, as do unread choice and message fields (_CHOICE_KEYS, _MESSAGE_KEYS).
# ``obfuscation`` (random padding on every stream frame) is let go: stream_options.include_obfuscation,
# https://platform.openai.com/docs/api-reference/chat/create#chat-create-stream_options
ANSWER_KEYS: frozenset[str] = frozenset(
    {"id", "object", "created", "model", "choices", "usage", "system_fingerprint", "obfuscation"}
)
# Frame keys the fast path takes (_driver.CodecDecoder); service_tier also goes to receipt.extra.
FRAME_KEYS: frozenset[str] = ANSWER_KEYS | {"service_tier"}
_CHOICE_KEYS = frozenset({"index", "message", "delta", "finish_reason", "logprobs", "error"})
# a stream's text chunk: no error, no message
_TEXT_CHOICE_KEYS = frozenset({"index", "delta", "finish_reason", "logprobs"})
_MESSAGE_KEYS = frozenset(
    {
        "role",
        "content",
        "tool_calls",
        "reasoning_content",
        "reasoning",
        "refusal",
        "function_call",
        "annotations",
    }
)
# Keys the router adds to assistant messages that no openai-chat server defines; reasoning_content is
# sent back only where the spec says the server wants it (messages.reasoning_content: send).
_ROUTER_ONLY = ("reasoning_blocks", "native_finish_reason")
_ROUTER_ONLY_AND_REASONING = (*_ROUTER_ONLY, "reasoning_content")


def _message_dict(m: Any, strip: tuple[str, ...]) -> Mapping[str, Any]:
    if isinstance(m, dict):
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
        if isinstance(fn, dict) and "parameters" in fn:
            t = {**t, "function": {**fn, "parameters": _wire.clean_schema(fn["parameters"], drop)}}
        out.append(t)
    return out


def translate(
    cfg: ProviderConfig, request: Request, body: Body, *, model: str, receipt: Receipt, strict: bool
) -> frozenset[str]:
    messages = _wire.messages_of(cfg, request)
    strip = _ROUTER_ONLY if cfg.messages.reasoning_content == "send" else _ROUTER_ONLY_AND_REASONING
    if cfg.messages.drop_fields:
        strip = (*strip, *cfg.messages.drop_fields)
        for k in sorted(cfg.messages.drop_fields):
            if any(isinstance(m, dict) and k in m for m in messages):
                receipt.dropped.append(f"messages[].{k}")
    body["model"] = model
    body["messages"] = [_message_dict(m, strip) for m in messages]
    handled = HANDLED
    rf = request.get("response_format")
    if isinstance(rf, dict) and rf.get("type") in ("json_schema", "json_object"):
        so = cfg.structured_output
        if (so.json_schema if rf["type"] == "json_schema" else so.json_object) != "native":
            handled = handled | {"response_format"}
            structured = _wire.response_schema(cfg, request, receipt, strict)
            if structured is not None:  # the tool mechanism: a forced function whose arguments are the answer
                fn = {"name": so.tool_name, "description": "Answer with JSON that matches this schema.",
                      "parameters": structured[1]}  # fmt: skip
                body["tools"] = [*(request.get("tools") or ()), {"type": "function", "function": fn}]
                body["tool_choice"] = {"type": "function", "function": {"name": so.tool_name}}
                handled = handled | {"tools", "tool_choice"}
    tools = request.get("tools")
    if (
        "tools" not in handled
        and tools
        and cfg.tools.schema_drop_keywords
        and "tools" not in _params.rules_for(cfg, model).unsupported
    ):
        body["tools"] = _clean_tools(cfg, tools)
        handled = handled | {"tools"}
    if request.get("stream") and request.get("stream_options") is not None:
        body["stream_options"] = request["stream_options"]
    return handled


_arguments = _wire.json_arguments


def _json_tool(cfg: ProviderConfig) -> str | None:
    so = cfg.structured_output
    return so.tool_name if "tool" in (so.json_schema, so.json_object) else None


def _tool_calls(raw: Any, json_tool: str | None = None) -> tuple[list[AnyToolCall] | None, str | None]:
    """The tool calls, and the structured-output answer when the forced json tool was called."""
    if not isinstance(raw, list) or not raw:
        return None, None
    calls: list[AnyToolCall] = []
    answer = None
    for i, tc in enumerate(raw):
        custom = tc.get("custom")
        if tc.get("type") == "custom" and isinstance(custom, dict):  # a custom (free-form) tool's call
            calls.append(
                _wire.custom_call(tc.get("id") or f"call_{i}", custom.get("name"), custom.get("input"))
            )
            continue
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
        return "".join(p.get("text") or "" for p in parts if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _content(m: Mapping[str, Any]) -> tuple[Any, Any]:
    """(content, reasoning). Some servers answer with content as typed parts (Mistral's reasoning
    models: {"type": "thinking", "thinking": [...]} and {"type": "text", "text": ...}):
    https://docs.mistral.ai/capabilities/reasoning ; the text parts are the content, the thinking
    parts the reasoning."""
    content = m.get("content")
    reasoning = _reasoning(m)
    if isinstance(content, dict):
        # A JSON answer sent as a JSON value, not as text (Cloudflare Workers AI with json_schema,
        # recorded: tests/fixtures/harvested/cloudflare/json_schema.json): the text is its JSON.
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")), reasoning
    if not isinstance(content, list):
        return content, reasoning
    text = _text_of(content)
    thought = "".join(
        _text_of(p.get("thinking")) for p in content if isinstance(p, dict) and p.get("type") == "thinking"
    )
    if thought:
        reasoning = (reasoning or "") + thought
    return text, reasoning


def body_error(data: Any) -> int | None:
    """An error object where an answer should be (a 200 body or a stream frame). Servers that report
    the real status inside it (Groq's ``status_code``, OpenRouter's numeric ``code``) give that."""
    if isinstance(data, dict) and data.get("error") is not None and "choices" not in data:
        err = data["error"]
        inner = (err.get("status_code") or err.get("code")) if isinstance(err, dict) else None
        return inner if isinstance(inner, int) else 0
    return None


def parse(cfg: ProviderConfig, data: Answer, status: int, receipt: Receipt | None) -> ChatCompletion:
    model = receipt.model if receipt else None
    if not isinstance(data.get("choices"), list):
        raise InvalidResponseError("response has no choices list", status=status, provider=cfg.id, body=data)
    choices = []
    json_tool = _json_tool(cfg)
    for i, c in enumerate(data["choices"]):
        m = c.get("message") or {}
        _keep_extra(receipt, i, c, "message")
        native = c.get("finish_reason")
        calls, answer = _tool_calls(m.get("tool_calls"), json_tool)
        content, reasoning = _content(m)
        finish = _normalise.finish_reason(cfg, native, c.get("error"))
        if answer is not None and not calls and finish == "tool_calls":
            finish = "stop"
        notes = m.get("annotations")
        fc = m.get("function_call")
        # Positional (keywords cost a dataclass ~1k instructions each): role, content, tool_calls,
        # reasoning_content, refusal, reasoning_blocks, function_call, annotations.
        message = Message(
            "assistant",
            answer if answer is not None else content,
            calls,
            reasoning,
            m.get("refusal"),
            None,
            None if fc is None else _function_call(fc),
            notes if type(notes) is list else None,
        )
        # index, message, finish_reason, native_finish_reason, logprobs
        choices.append(Choice(c.get("index", i), message, finish, native, c.get("logprobs")))
    return ChatCompletion(  # id, created, model, choices, usage, object, system_fingerprint
        data.get("id") or _normalise.new_id("chatcmpl-"),
        data.get("created") or _normalise.now(),
        data.get("model") or model or "",
        choices,
        None,
        "chat.completion",
        data.get("system_fingerprint"),
    )


def _keep_extra(receipt: Receipt | None, i: int, c: Mapping[str, Any], part: str) -> None:
    """Unread choice fields, and unread fields of its message / delta, onto receipt.extra."""
    if receipt is None:
        return
    if not _CHOICE_KEYS.issuperset(c):  # one C call; usually every key is known
        for k, v in c.items():
            if k not in _CHOICE_KEYS and v is not None:
                receipt.extra[f"choices.{i}.{k}"] = v
    inner = c.get(part)
    if isinstance(inner, dict) and not _MESSAGE_KEYS.issuperset(inner):
        for k, v in inner.items():
            if k not in _MESSAGE_KEYS and v is not None:
                receipt.extra[f"choices.{i}.{part}.{k}"] = v


def _function_call(raw: Any) -> FunctionCall | None:
    """The legacy ``message.function_call`` answer, as OpenAI returns it."""
    if not isinstance(raw, dict):
        return None
    return FunctionCall(name=raw.get("name") or "", arguments=_arguments(raw.get("arguments")))


_PLAIN_DELTA = frozenset({"role", "content"})
_FAST_DELTA = frozenset({"role", "content", "reasoning_content", "reasoning", "refusal"})


def _str_or_none(value: Any) -> str | None:
    return value if type(value) is str else None


def _delta(d: Mapping[str, Any]) -> Delta:
    if _PLAIN_DELTA.issuperset(d):  # most chunks: a piece of text (and the first, a role)
        content = d.get("content")
        if content is None or type(content) is str:
            return Delta(role=d.get("role"), content=content)
    calls = None
    raw = d.get("tool_calls")
    if isinstance(raw, list) and raw:
        calls = []
        for i, tc in enumerate(raw):
            # A custom (free-form) tool's fragment: {"custom": {name, input}}, input is text, not JSON.
            custom = tc.get("type") == "custom" and isinstance(tc.get("custom"), dict)
            fn = (tc["custom"] if custom else tc.get("function")) or {}
            args = fn.get("input" if custom else "arguments")
            if custom and not isinstance(args, str):
                args = None
            calls.append(
                ToolCallDelta(
                    index=tc.get("index", i),
                    id=tc.get("id") or None,
                    name=fn.get("name"),
                    arguments=None if args is None else _arguments(args),
                    custom=custom,
                )
            )
    content, reasoning = _content(d)
    fc = d.get("function_call")
    return Delta(
        role=d.get("role"),
        content=content,
        reasoning_content=reasoning,
        tool_calls=calls,
        function_call=FunctionCallDelta(name=fc.get("name"), arguments=fc.get("arguments"))
        if isinstance(fc, dict)
        else None,
        refusal=_str_or_none(d.get("refusal")),
    )


class StreamDecoder:
    """Decoded stream frames in, unified chunks out; one instance per stream (the driver handles the
    ``[DONE]`` sentinel, JSON and error frames)."""

    __slots__ = (
        "_cfg",
        "_finished",
        "_json_indexes",
        "_json_tool",
        "_model",
        "_real_tools",
        "_receipt",
        "_roots",
        "done",
    )

    def __init__(self, cfg: ProviderConfig, receipt: Receipt | None = None) -> None:
        self._cfg = cfg
        self._roots = cfg.usage.roots
        self._model = receipt.model if receipt else None
        self._receipt = receipt
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

    def unfinished(self) -> str | None:
        return None if self._finished else ""

    def fast(self, data: dict[str, Any], event: str | None) -> ChatCompletionChunk | None:
        """Most chunks: one choice, a piece of text, no finish reason, every key known (the contract
        in router/protocols/_driver.py, CodecDecoder). A frame with ``choices`` is never an error."""
        raw = data.get("choices")
        if type(raw) is not list or len(raw) != 1 or not FRAME_KEYS.issuperset(data):
            return None
        c = raw[0]
        if type(c) is not dict or not _TEXT_CHOICE_KEYS.issuperset(c) or c.get("finish_reason") is not None:
            return None
        d = c.get("delta")
        if type(d) is not dict:
            return None
        content = d.get("content")
        reasoning = refusal = None
        if _PLAIN_DELTA.issuperset(d):  # most chunks: a piece of text (and the first, a role)
            if type(content) is not str:
                return None
        elif _FAST_DELTA.issuperset(d):  # a piece of reasoning, or of a refusal: read as _delta reads it
            reasoning, refusal = _reasoning(d), _str_or_none(d.get("refusal"))
            if (content is not None and type(content) is not str) or (
                reasoning is not None and type(reasoning) is not str
            ):
                return None
        else:
            return None
        usage = None
        for root in self._roots:  # usually none: usage_from is not called
            if data.get(root) is not None:
                usage = _normalise.usage_from(self._cfg.usage, data)
                break
        tier = data.get("service_tier")
        if tier is not None and self._receipt is not None:
            self._receipt.extra["service_tier"] = tier
        fingerprint = data.get("system_fingerprint")
        return text_chunk(
            data.get("id") or "",
            data.get("created") or _normalise.now(),
            data.get("model") or self._model or "",
            c.get("index", 0),
            content,
            d.get("role"),
            usage,
            c.get("logprobs"),
            reasoning,
            refusal,
            fingerprint if type(fingerprint) is str else None,  # _str_or_none, inlined
            tier if type(tier) is str else None,
        )

    def feed(self, data: Mapping[str, Any], event: str | None) -> list[ChatCompletionChunk]:
        cfg = self._cfg
        choices = []
        for i, c in enumerate(data.get("choices") or ()):
            _keep_extra(self._receipt, i, c, "delta")
            native = c.get("finish_reason")
            delta = _delta(c.get("delta") or {})
            if self._json_tool is not None and delta.tool_calls:
                delta = self._structured(delta)
            finish = _normalise.finish_reason(cfg, native, c.get("error"))
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
                created=data.get("created") or _normalise.now(),
                model=data.get("model") or self._model or "",
                choices=choices,
                usage=_normalise.usage_from(cfg.usage, data),
                system_fingerprint=_str_or_none(data.get("system_fingerprint")),
                service_tier=_str_or_none(data.get("service_tier")),
            )
        ]

    def close(self) -> list[ChatCompletionChunk]:
        return []


def decoder(cfg: ProviderConfig, receipt: Receipt | None) -> StreamDecoder:
    return StreamDecoder(cfg, receipt)
