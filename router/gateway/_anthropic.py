"""Inbound Anthropic Messages (``POST /v1/messages``, ``POST /v1/messages/count_tokens``).

A Messages request becomes the unified (OpenAI-shaped) request the Router takes, and the unified
answer becomes a Messages answer: content blocks (thinking with its signature, text, tool_use),
``stop_reason``, usage with the cache figures; a stream becomes Anthropic's event sequence
(``message_start``, ``content_block_start/delta/stop``, ``message_delta``, ``message_stop``).
What the unified request cannot say exactly is listed in the ``x-router-inbound`` header (a thinking
budget becomes the nearest ``reasoning_effort``), never dropped in silence.
Reference: https://docs.anthropic.com/en/api/messages and .../messages-streaming
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from router._types import ChatCompletion
from router._types import ChatCompletionChunk
from router._types import Usage
from router.gateway._errors import GatewayError

__all__ = ["Inbound", "StreamWriter", "error_body", "message_body", "parse_request"]

# Anthropic's error ``type`` per gateway kind (https://docs.anthropic.com/en/api/errors).
_TYPES = {
    "bad_request": "invalid_request_error",
    "authentication": "authentication_error",
    "permission_denied": "permission_error",
    "not_found": "not_found_error",
    "request_too_large": "request_too_large",
    "rate_limit": "rate_limit_error",
    "quota_exceeded": "rate_limit_error",
    "overloaded": "overloaded_error",
    "unavailable": "overloaded_error",
}
# The unified finish reason -> stop_reason (a native Anthropic reason, when the target spoke this
# protocol, is kept as it is: native_finish_reason).
_STOP = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
_NATIVE = {"end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal"}
# budget_tokens -> the nearest reasoning_effort at or above it (specs/anthropic.yaml's table).
_EFFORT = ((1024, "minimal"), (2048, "low"), (8192, "medium"))
# Messages fields with the same meaning under an OpenAI name.
_RENAMED = {"stop_sequences": "stop", "temperature": "temperature", "top_p": "top_p", "top_k": "top_k"}


@dataclass
class Inbound:
    model: str
    messages: list[dict[str, Any]]
    stream: bool
    kwargs: dict[str, Any]
    approximated: dict[str, str] = field(default_factory=dict)


def _dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def _bad(message: str, param: str) -> GatewayError:
    return GatewayError(400, "bad_request", message, param=param)


def _part(block: dict[str, Any], where: str) -> dict[str, Any]:
    kind = block.get("type")
    if kind == "text":
        part: dict[str, Any] = {"type": "text", "text": block.get("text", "")}
    elif kind == "image":
        src = block.get("source") or {}
        if src.get("type") == "base64":
            url = f"data:{src.get('media_type', 'image/png')};base64,{src.get('data', '')}"
        elif src.get("type") == "url":
            url = str(src.get("url", ""))
        else:
            raise _bad(f"an image source of type {src.get('type')!r} is not supported", where)
        part = {"type": "image_url", "image_url": {"url": url}}
    else:
        raise _bad(f"a content block of type {kind!r} is not supported here", where)
    if "cache_control" in block:
        part["cache_control"] = block["cache_control"]
    return part


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")
    return ""


def _convert(messages: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, m in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
            raise _bad("each message needs a role of 'user' or 'assistant'", where)
        content = m.get("content")
        if isinstance(content, str):
            out.append({"role": m["role"], "content": content})
            continue
        if not isinstance(content, list):
            raise _bad("'content' must be a string or an array of blocks", where + ".content")
        if m["role"] == "assistant":
            parts: list[dict[str, Any]] = []
            calls: list[dict[str, Any]] = []
            reasoning: list[dict[str, Any]] = []
            for j, b in enumerate(content):
                kind = b.get("type") if isinstance(b, dict) else None
                if kind in ("thinking", "redacted_thinking"):
                    reasoning.append(dict(b))
                elif kind == "tool_use":
                    calls.append(
                        {
                            "id": b.get("id"),
                            "type": "function",
                            "function": {
                                "name": b.get("name"),
                                "arguments": json.dumps(b.get("input") or {}),
                            },
                        }
                    )
                elif isinstance(b, dict):
                    parts.append(_part(b, f"{where}.content[{j}]"))
            msg: dict[str, Any] = {"role": "assistant", "content": parts or None}
            if calls:
                msg["tool_calls"] = calls
            if reasoning:
                msg["reasoning_blocks"] = reasoning
            out.append(msg)
            continue
        user: list[dict[str, Any]] = []
        for j, b in enumerate(content):
            if isinstance(b, dict) and b.get("type") == "tool_result":
                result = _text_of(b.get("content"))
                if b.get("is_error"):
                    result = f"Error: {result}"
                out.append({"role": "tool", "tool_call_id": b.get("tool_use_id"), "content": result})
            elif isinstance(b, dict):
                user.append(_part(b, f"{where}.content[{j}]"))
            else:
                raise _bad("a content block must be an object", f"{where}.content[{j}]")
        if user:
            out.append({"role": "user", "content": user})
    return out


def parse_request(body: Any, *, counting: bool = False) -> Inbound:
    if not isinstance(body, dict):
        raise GatewayError(400, "bad_request", "the request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _bad("'model' must be a non-empty string", "model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _bad("'messages' must be a non-empty array", "messages")
    max_tokens = body.get("max_tokens")
    if not counting and (not isinstance(max_tokens, int) or isinstance(max_tokens, bool)):
        raise _bad("'max_tokens' is required (an integer)", "max_tokens")
    unified: list[dict[str, Any]] = []
    system = body.get("system")
    if isinstance(system, str) and system:
        unified.append({"role": "system", "content": system})
    elif isinstance(system, list) and system:
        unified.append(
            {"role": "system", "content": [_part(b, "system") for b in system if isinstance(b, dict)]}
        )
    unified += _convert(messages)
    kwargs: dict[str, Any] = {} if max_tokens is None else {"max_tokens": max_tokens}
    approximated: dict[str, str] = {}
    for name, value in body.items():
        if name in ("model", "messages", "system", "max_tokens", "stream"):
            continue
        if name in _RENAMED:
            kwargs[_RENAMED[name]] = value
        elif name == "metadata":
            if isinstance(value, dict) and value.get("user_id"):
                kwargs["user"] = str(value["user_id"])
        elif name == "tools":
            kwargs["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t.get("name"),
                        **({"description": t["description"]} if t.get("description") else {}),
                        "parameters": t.get("input_schema") or {"type": "object"},
                    },
                    **({"cache_control": t["cache_control"]} if "cache_control" in t else {}),
                }
                for t in value or []
                if isinstance(t, dict)
            ]
        elif name == "tool_choice":
            kind = value.get("type") if isinstance(value, dict) else None
            choice: Any = {"auto": "auto", "any": "required", "none": "none"}.get(str(kind))
            if kind == "tool":
                choice = {"type": "function", "function": {"name": value.get("name")}}
            if choice is None:
                raise _bad(f"tool_choice of type {kind!r} is not supported", "tool_choice")
            kwargs["tool_choice"] = choice
            if isinstance(value, dict) and value.get("disable_parallel_tool_use"):
                kwargs["parallel_tool_calls"] = False
        elif name == "thinking":
            if isinstance(value, dict) and value.get("type") == "enabled":
                budget = value.get("budget_tokens")
                effort = "high"
                for limit, level in _EFFORT:
                    if isinstance(budget, int) and budget <= limit:
                        effort = level
                        break
                kwargs["reasoning_effort"] = effort
                approximated["thinking.budget_tokens"] = f"reasoning_effort={effort}"
            elif isinstance(value, dict) and value.get("type") == "disabled":
                continue
            else:
                raise _bad("thinking must be {type: enabled, budget_tokens} or {type: disabled}", "thinking")
        else:
            raise _bad(f"the field {name!r} is not supported by this gateway", name)
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise _bad("'stream' must be a boolean", "stream")
    return Inbound(model, unified, stream, kwargs, approximated)


def _usage(u: Usage | None) -> dict[str, int]:
    if u is None:
        return {"input_tokens": 0, "output_tokens": 0}
    cached = u.prompt_tokens_details.cached_tokens or 0
    written = u.prompt_tokens_details.cache_write_tokens or 0
    return {
        "input_tokens": max(u.prompt_tokens - cached - written, 0),
        "output_tokens": u.completion_tokens,
        "cache_read_input_tokens": cached,
        "cache_creation_input_tokens": written,
    }


def _stop_reason(finish: Any, native: Any) -> str | None:
    if isinstance(native, str) and native in _NATIVE:
        return native
    if finish is None:
        return None
    return _STOP.get(str(finish), "end_turn")


def _message_id(raw: str) -> str:
    return raw if raw.startswith("msg_") else "msg_" + raw.removeprefix("chatcmpl-")


def message_body(resp: ChatCompletion, model: str) -> bytes:
    choice = resp.choices[0] if resp.choices else None
    content: list[dict[str, Any]] = []
    if choice is not None:
        m = choice.message
        blocks = [b for b in m.reasoning_blocks or () if b.get("type") in ("thinking", "redacted_thinking")]
        if blocks:
            content += blocks
        elif m.reasoning_content:  # another protocol's reasoning: no signature to give
            content.append({"type": "thinking", "thinking": m.reasoning_content, "signature": ""})
        if m.content:
            content.append({"type": "text", "text": m.content})
        for tc in m.tool_calls or ():
            try:
                args = json.loads(tc.function.arguments or "{}")
            except ValueError:
                args = {"_raw_arguments": tc.function.arguments}
            content.append({"type": "tool_use", "id": tc.id, "name": tc.function.name, "input": args})
    return _dumps(
        {
            "id": _message_id(resp.id or ""),
            "type": "message",
            "role": "assistant",
            "model": resp.model or model,
            "content": content,
            "stop_reason": _stop_reason(
                choice.finish_reason if choice else None, choice.native_finish_reason if choice else None
            ),
            "stop_sequence": None,
            "usage": _usage(resp.usage),
        }
    )


def _event(name: str, data: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + _dumps({"type": name, **data}) + b"\n\n"


class StreamWriter:
    """Unified chunks in, Anthropic stream events out (one block open at a time, as Anthropic does)."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.started = False
        self.index = -1
        self.open: str | None = None  # "text", "thinking", "tool_use"
        self.tool_ids: dict[int, int] = {}  # unified tool-call index -> block index
        self.finish: Any = None
        self.native: Any = None
        self.usage: Usage | None = None

    def _start(self, chunk: ChatCompletionChunk) -> bytes:
        self.started = True
        return _event(
            "message_start",
            {
                "message": {
                    "id": _message_id(chunk.id or ""),
                    "type": "message",
                    "role": "assistant",
                    "model": chunk.model or self.model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": 0, "output_tokens": 0},
                }
            },
        )

    def _close(self) -> bytes:
        if self.open is None:
            return b""
        self.open = None
        return _event("content_block_stop", {"index": self.index})

    def _begin(self, kind: str, block: dict[str, Any]) -> bytes:
        out = self._close()
        self.index += 1
        self.open = kind
        return out + _event("content_block_start", {"index": self.index, "content_block": block})

    def feed(self, chunk: ChatCompletionChunk) -> bytes:
        out = b"" if self.started else self._start(chunk)
        if chunk.usage is not None:
            self.usage = chunk.usage
        for choice in chunk.choices[:1]:
            d = choice.delta
            if d.reasoning_content:
                if self.open != "thinking":
                    out += self._begin("thinking", {"type": "thinking", "thinking": "", "signature": ""})
                out += _event(
                    "content_block_delta",
                    {
                        "index": self.index,
                        "delta": {"type": "thinking_delta", "thinking": d.reasoning_content},
                    },
                )
            for b in d.reasoning_blocks or ():
                if b.get("type") == "thinking" and self.open == "thinking" and b.get("signature"):
                    out += _event(
                        "content_block_delta",
                        {
                            "index": self.index,
                            "delta": {"type": "signature_delta", "signature": b["signature"]},
                        },
                    )
                elif b.get("type") == "redacted_thinking":
                    out += self._begin("redacted", dict(b))
            if d.content:
                if self.open != "text":
                    out += self._begin("text", {"type": "text", "text": ""})
                out += _event(
                    "content_block_delta",
                    {"index": self.index, "delta": {"type": "text_delta", "text": d.content}},
                )
            for tc in d.tool_calls or ():
                if tc.index not in self.tool_ids:
                    fn = tc.function
                    out += self._begin(
                        "tool_use",
                        {
                            "type": "tool_use",
                            "id": tc.id or "",
                            "name": (fn.name if fn else "") or "",
                            "input": {},
                        },
                    )
                    self.tool_ids[tc.index] = self.index
                args = tc.function.arguments if tc.function else None
                if args:
                    out += _event(
                        "content_block_delta",
                        {
                            "index": self.tool_ids[tc.index],
                            "delta": {"type": "input_json_delta", "partial_json": args},
                        },
                    )
            if choice.finish_reason is not None:
                self.finish, self.native = choice.finish_reason, choice.native_finish_reason
        return out

    def end(self) -> bytes:
        out = self._close()
        u = _usage(self.usage)
        out += _event(
            "message_delta",
            {
                "delta": {
                    "stop_reason": _stop_reason(self.finish or "stop", self.native),
                    "stop_sequence": None,
                },
                "usage": {"output_tokens": u["output_tokens"], "input_tokens": u["input_tokens"]},
            },
        )
        return out + _event("message_stop", {})


def error_body(err: GatewayError) -> bytes:
    kind = _TYPES.get(err.kind, "api_error")
    error: dict[str, Any] = {"type": kind, "message": err.message}
    if err.upstream:
        error["upstream"] = err.upstream
    return _dumps({"type": "error", "error": error})


def error_frame(err: GatewayError) -> bytes:
    return b"event: error\ndata: " + error_body(err) + b"\n\n"
