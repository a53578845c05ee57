"""The ``anthropic-messages`` wire protocol (Anthropic Messages API and servers that copy it).

Reference: https://docs.anthropic.com/en/api/messages and
https://docs.anthropic.com/en/docs/build-with-claude/streaming

What is protocol, not provider, and so lives here: system prompts go top-level; content is a list of
typed blocks; tool calls are ``tool_use`` blocks and tool results are ``tool_result`` blocks in a user
turn; consecutive turns of one role are merged; a stream is a sequence of typed SSE events.
Everything a provider varies (renames, defaults such as the required max_tokens, limits, finish
reasons, usage paths, errors, headers) comes from the spec via ProviderConfig.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from router._exceptions import (
    APIConnectionError,
    BadRequestError,
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
    FunctionCall,
    HttpRequest,
    Message,
    Receipt,
    ToolCall,
    ToolCallDelta,
)
from router.protocols import _common
from router.protocols._config import ProviderConfig
from router.protocols.openai_chat import check_messages

__all__ = ["StreamDecoder", "build_request", "parse_response", "parse_stream"]

_HANDLED = frozenset(
    {"model", "messages", "stream", "stream_options", "tools", "tool_choice", "parallel_tool_calls"}
)


def _as_dict(m: Any) -> Mapping[str, Any]:
    if isinstance(m, Mapping):
        return m
    to_dict = getattr(m, "to_dict", None)
    if to_dict is None:
        raise BadRequestError(f"a message must be a dict, got {type(m).__name__}")
    d: Mapping[str, Any] = to_dict()
    return d


def _image_block(cfg: ProviderConfig, part: Mapping[str, Any]) -> dict[str, Any]:
    url = (part.get("image_url") or {}).get("url", "")
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        media_type = header[5:].split(";")[0]
        if ";base64" not in header:
            raise UnsupportedParamsError(f"{cfg.id}: image data URLs must be base64", provider=cfg.id)
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def _blocks(cfg: ProviderConfig, content: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            block: dict[str, Any] = {"type": "text", "text": part.get("text", "")}
        elif kind == "image_url":
            block = _image_block(cfg, part)
        else:
            raise UnsupportedParamsError(
                f"{cfg.id} cannot take a content part of type {kind!r}", provider=cfg.id
            )
        if "cache_control" in part:
            block["cache_control"] = part["cache_control"]
        blocks.append(block)
    return blocks


def _system_text(cfg: ProviderConfig, content: Any) -> list[dict[str, Any]]:
    return _blocks(cfg, content)


def _assistant_blocks(cfg: ProviderConfig, m: Mapping[str, Any]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = list(m.get("reasoning_blocks") or ())
    blocks += _blocks(cfg, m.get("content"))
    for tc in m.get("tool_calls") or ():
        fn = tc.get("function") or {}
        args = fn.get("arguments") or "{}"
        try:
            parsed = json.loads(args) if isinstance(args, str) else args
        except ValueError:
            raise BadRequestError(
                f"tool call {tc.get('id')!r} has arguments that are not JSON", provider=cfg.id
            ) from None
        blocks.append({"type": "tool_use", "id": tc.get("id"), "name": fn.get("name"), "input": parsed})
    return blocks


def _tool_result(cfg: ProviderConfig, m: Mapping[str, Any]) -> dict[str, Any]:
    content = m.get("content")
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": m.get("tool_call_id")}
    if isinstance(content, str):
        block["content"] = content
    elif content is not None:
        block["content"] = _blocks(cfg, content)
    return block


def _convert_messages(
    cfg: ProviderConfig, messages: list[Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for raw in messages:
        m = _as_dict(raw)
        role = m.get("role")
        if role in ("system", "developer"):
            system += _system_text(cfg, m.get("content"))
            continue
        if role == "user":
            wire_role, blocks = "user", _blocks(cfg, m.get("content"))
        elif role == "assistant":
            wire_role, blocks = "assistant", _assistant_blocks(cfg, m)
        elif role == "tool":
            wire_role, blocks = "user", [_tool_result(cfg, m)]
        else:
            raise BadRequestError(f"unknown message role {role!r}", provider=cfg.id)
        if turns and turns[-1]["role"] == wire_role:
            turns[-1]["content"].extend(blocks)  # the API wants alternating turns
        else:
            turns.append({"role": wire_role, "content": blocks})
    # A single plain-text block is sent as a string: the compact form the API documents first.
    for t in turns:
        c = t["content"]
        if len(c) == 1 and c[0].get("type") == "text" and set(c[0]) == {"type", "text"}:
            t["content"] = c[0]["text"]
    return system, turns


def _tools(request: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for t in request.get("tools") or ():
        fn = t.get("function") or {}
        tool: dict[str, Any] = {
            "name": fn.get("name"),
            "input_schema": fn.get("parameters") or {"type": "object", "properties": {}},
        }
        if fn.get("description"):
            tool["description"] = fn["description"]
        if "cache_control" in t:
            tool["cache_control"] = t["cache_control"]
        out.append(tool)
    return out


def _tool_choice(cfg: ProviderConfig, request: Mapping[str, Any]) -> dict[str, Any] | None:
    choice = request.get("tool_choice")
    parallel = request.get("parallel_tool_calls")
    if choice is None and parallel is None:
        return None
    if choice is None or choice == "auto":
        out: dict[str, Any] = {"type": "auto"}
    elif choice == "required":
        out = {"type": "any"}
    elif choice == "none":
        out = {"type": "none"}
    elif isinstance(choice, Mapping) and (choice.get("function") or {}).get("name"):
        out = {"type": "tool", "name": choice["function"]["name"]}
    else:
        raise BadRequestError(f"tool_choice {choice!r} is not one OpenAI defines", provider=cfg.id)
    if parallel is False and out["type"] != "none":
        out["disable_parallel_tool_use"] = True
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
    model = request.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequestError("model must be a non-empty string", provider=cfg.id)
    model = cfg.aliases.get(model, model)
    if receipt is None:
        receipt = Receipt(cfg.id, model)
    system, turns = _convert_messages(cfg, check_messages(cfg, request))
    body: dict[str, Any] = {"model": model}
    if system:
        plain = all(set(b) == {"type", "text"} for b in system)
        body["system"] = "\n\n".join(b["text"] for b in system) if plain else system
    body["messages"] = turns
    if request.get("tools"):
        body["tools"] = _tools(request)
    choice = _tool_choice(cfg, request)
    if choice is not None:
        body["tool_choice"] = choice
    _common.apply_params(cfg, request, body, handled=_HANDLED, receipt=receipt, strict=strict)
    stream = bool(request.get("stream"))
    if stream:
        body["stream"] = True
        body.update(cfg.stream.body)
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


def _message(blocks: Iterable[Mapping[str, Any]]) -> Message:
    text: list[str] = []
    thinking: list[str] = []
    kept: list[dict[str, Any]] = []
    calls: list[ToolCall] = []
    for b in blocks:
        kind = b.get("type")
        if kind == "text":
            text.append(b.get("text") or "")
        elif kind == "tool_use":
            calls.append(
                ToolCall(
                    id=b.get("id") or f"toolu_{len(calls)}",
                    function=FunctionCall(
                        name=b.get("name") or "",
                        arguments=json.dumps(b.get("input") or {}, ensure_ascii=False, separators=(",", ":")),
                    ),
                )
            )
        elif kind == "thinking":
            thinking.append(b.get("thinking") or "")
            kept.append(dict(b))
        elif kind == "redacted_thinking":
            kept.append(dict(b))
    return Message(
        content="".join(text) if text else None,
        tool_calls=calls or None,
        reasoning_content="".join(thinking) if thinking else None,
        reasoning_blocks=kept or None,
    )


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
    if isinstance(data, Mapping) and data.get("type") == "error":
        raise _common.map_error(cfg, 500, headers, data, model=model)
    if not isinstance(data, Mapping) or not isinstance(data.get("content"), list):
        raise InvalidResponseError("response has no content list", status=status, provider=cfg.id, body=data)
    native = data.get("stop_reason")
    return ChatCompletion(
        id=data.get("id") or _common.new_id("msg_"),
        created=_common.now(),
        model=data.get("model") or model or "",
        choices=[
            Choice(
                index=0,
                message=_message(data["content"]),
                finish_reason=_common.finish_reason(cfg, native),
                native_finish_reason=native,
            )
        ],
        usage=_common.usage_from(cfg.usage, data),
        router=receipt,
    )


class StreamDecoder:
    """Anthropic stream events to OpenAI chunks: role first, text/thinking/tool deltas, finish, usage."""

    __slots__ = ("_cfg", "_created", "_finished", "_id", "_model", "_tool_index", "_usage", "done")

    def __init__(self, cfg: ProviderConfig, receipt: Receipt | None = None) -> None:
        self._cfg = cfg
        self._model = receipt.model if receipt else ""
        self._id = ""
        self._created = _common.now()
        self._usage: dict[str, Any] = {}
        self._tool_index: dict[int, int] = {}  # content block index -> tool call index
        self._finished = False
        self.done = False

    def _chunk(self, delta: Delta, finish: Any = None, native: Any = None) -> list[ChatCompletionChunk]:
        choice = ChunkChoice(index=0, delta=delta, finish_reason=finish, native_finish_reason=native)
        return [ChatCompletionChunk(id=self._id, created=self._created, model=self._model, choices=[choice])]

    def _tool(self, block_index: int) -> int:
        return self._tool_index.setdefault(block_index, len(self._tool_index))

    def feed(self, ev: Event) -> list[ChatCompletionChunk]:
        cfg = self._cfg
        try:
            data = json.loads(ev.data)
        except ValueError:
            raise InvalidResponseError(
                f"stream frame is not JSON: {ev.data[:200]!r}", provider=cfg.id, model=self._model
            ) from None
        kind = data.get("type") or ev.event
        if kind == "content_block_delta":  # the hot path first
            d = data.get("delta") or {}
            dtype = d.get("type")
            if dtype == "text_delta":
                return self._chunk(Delta(content=d.get("text") or ""))
            if dtype == "input_json_delta":
                call = ToolCallDelta(
                    index=self._tool(data.get("index", 0)), arguments=d.get("partial_json") or ""
                )
                return self._chunk(Delta(tool_calls=[call]))
            if dtype == "thinking_delta":
                return self._chunk(Delta(reasoning_content=d.get("thinking") or ""))
            if dtype == "signature_delta":
                return self._chunk(
                    Delta(reasoning_blocks=[{"type": "thinking", "signature": d.get("signature")}])
                )
            return []
        if kind == "message_start":
            msg = data.get("message") or {}
            self._id = msg.get("id") or self._id
            self._model = msg.get("model") or self._model
            self._usage.update(msg.get("usage") or {})
            return self._chunk(Delta(role="assistant", content=""))
        if kind == "content_block_start":
            block = data.get("content_block") or {}
            btype = block.get("type")
            if btype == "tool_use":
                call = ToolCallDelta(
                    index=self._tool(data.get("index", 0)),
                    id=block.get("id"),
                    name=block.get("name"),
                    arguments="",
                )
                return self._chunk(Delta(tool_calls=[call]))
            if btype == "text" and block.get("text"):
                return self._chunk(Delta(content=block["text"]))
            if btype == "redacted_thinking":
                return self._chunk(Delta(reasoning_blocks=[dict(block)]))
            return []
        if kind == "message_delta":
            self._usage.update({k: v for k, v in (data.get("usage") or {}).items() if v is not None})
            native = (data.get("delta") or {}).get("stop_reason")
            if native is None:
                return []
            self._finished = True
            return self._chunk(Delta(), _common.finish_reason(cfg, native), native)
        if kind == "message_stop":
            self.done = True
            u = _common.usage_from(cfg.usage, {"usage": self._usage})
            if u is None:
                return []
            return [
                ChatCompletionChunk(
                    id=self._id, created=self._created, model=self._model, choices=[], usage=u
                )
            ]
        if kind == "error" or ev.event == cfg.stream.error_event:
            raise _common.map_error(cfg, 500, {}, data, model=self._model)
        # ping, content_block_stop and unknown future events carry nothing for the unified shape.
        return []

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
    """Anthropic stream events to OpenAI chunks; raises the typed error for an error event or a cut-off stream."""
    return _common.decode_stream(StreamDecoder(cfg, receipt), events)
