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
from collections.abc import Iterable
from collections.abc import Mapping
from typing import Any

from router._exceptions import BadRequestError
from router._exceptions import InvalidResponseError
from router._exceptions import UnsupportedParamsError
from router._types import AnyToolCall
from router._types import ChatCompletion
from router._types import ChatCompletionChunk
from router._types import Choice
from router._types import ChunkChoice
from router._types import Delta
from router._types import FunctionCall
from router._types import Message
from router._types import Receipt
from router._types import ToolCall
from router._types import ToolCallDelta
from router._types import text_chunk
from router.protocols import _normalise
from router.protocols import _wire
from router.protocols._config import ProviderConfig
from router.protocols._driver import Answer
from router.protocols._driver import Body
from router.protocols._driver import Request

# The module is a Codec (router/protocols/_driver.py): HANDLED, STREAM_KEY, STREAM_ALWAYS, MODEL_PREFIX,
# translate, body_error, parse and decoder are what the driver calls.

HANDLED: frozenset[str] = _wire.TOOLS_AND_FORMAT  # translated here, not by the parameter policy
STREAM_KEY: str | None = "stream"
STREAM_ALWAYS: bool = False
MODEL_PREFIX: str = ""
# Answer and stream-event keys read here (stop_sequence, container, ... go to receipt.extra).
ANSWER_KEYS: frozenset[str] = frozenset(
    {
        "id",
        "type",
        "role",
        "model",
        "content",
        "stop_reason",
        "usage",
        "message",
        "content_block",
        "delta",
        "index",
    }
)


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


def _assistant_blocks(cfg: ProviderConfig, m: Mapping[str, Any]) -> list[dict[str, Any]]:
    # Only this protocol's own signed blocks go back; other codecs' (e.g. Gemini signatures) are not ours.
    blocks: list[dict[str, Any]] = [
        b for b in m.get("reasoning_blocks") or () if b.get("type") in ("thinking", "redacted_thinking")
    ]
    blocks += _blocks(cfg, m.get("content"))
    for tc in m.get("tool_calls") or ():
        fn = tc.get("function") or {}
        parsed = _wire.call_arguments(cfg, tc)
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


def _plain_text(block: Mapping[str, Any]) -> bool:
    """A text block with nothing else (no cache_control): sendable as a plain string."""
    return len(block) == 2 and block.get("type") == "text" and "text" in block


def _convert_messages(
    cfg: ProviderConfig, messages: list[Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for raw in messages:
        m = _wire.as_dict(raw)
        role = m.get("role")
        if role in ("system", "developer"):
            system += _blocks(cfg, m.get("content"))
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
        if len(c) == 1 and _plain_text(c[0]):
            t["content"] = c[0]["text"]
    return system, turns


def _tools(cfg: ProviderConfig, tools: list[Any]) -> list[dict[str, Any]]:
    out = []
    drop = cfg.tools.schema_drop_keywords
    for t in tools:
        fn = t.get("function") or {}
        schema = fn.get("parameters") or {"type": "object", "properties": {}}
        tool: dict[str, Any] = {"name": fn.get("name"), "input_schema": _wire.clean_schema(schema, drop)}
        if fn.get("description"):
            tool["description"] = fn["description"]
        if "cache_control" in t:
            tool["cache_control"] = t["cache_control"]
        out.append(tool)
    return out


def _tool_choice(cfg: ProviderConfig, choice: Any, parallel: Any) -> dict[str, Any] | None:
    if choice is None and parallel is None:
        return None
    if choice is None or choice == "auto":
        out: dict[str, Any] = {"type": "auto"}
    elif choice == "required":
        out = {"type": "any"}
    elif choice == "none":
        out = {"type": "none"}
    elif isinstance(choice, dict) and (choice.get("function") or {}).get("name"):
        out = {"type": "tool", "name": choice["function"]["name"]}
    else:
        raise BadRequestError(f"tool_choice {choice!r} is not one OpenAI defines", provider=cfg.id)
    if parallel is False and out["type"] != "none":
        out["disable_parallel_tool_use"] = True
    return out


def translate(
    cfg: ProviderConfig, request: Request, body: Body, *, model: str, receipt: Receipt, strict: bool
) -> frozenset[str]:
    system, turns = _convert_messages(cfg, _wire.messages_of(cfg, request))
    body["model"] = model
    if system:
        plain = all(map(_plain_text, system))
        body["system"] = "\n\n".join(b["text"] for b in system) if plain else system
    body["messages"] = turns
    tools, tool_choice = _wire.tools_and_choice(request)
    if tools:
        body["tools"] = _tools(cfg, tools)
    choice = _tool_choice(cfg, tool_choice, request.get("parallel_tool_calls"))
    if choice is not None:
        body["tool_choice"] = choice
    structured = _wire.response_schema(cfg, request, receipt, strict)
    if structured is not None:
        mechanism, schema = structured
        if mechanism == "native":
            # https://platform.claude.com/docs/en/build-with-claude/structured-outputs
            body["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
        else:
            # A forced tool whose input is the answer; parse turns it back into content.
            name = cfg.structured_output.tool_name
            body.setdefault("tools", []).append(
                {
                    "name": name,
                    "description": "Answer with JSON that matches this schema.",
                    "input_schema": schema,
                }
            )
            body["tool_choice"] = {"type": "tool", "name": name}
    return HANDLED


def _json_tool(cfg: ProviderConfig) -> str | None:
    so = cfg.structured_output
    return so.tool_name if "tool" in (so.json_schema, so.json_object) else None


# Blocks that are neither text, thinking nor the caller's tool calls: tools Anthropic runs itself
# (server_tool_use, web_search_tool_result, web_fetch_tool_result, mcp_tool_use, ...):
# https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/web-search-tool#response
# They are not the caller's tool calls; they are kept on receipt.extra["content"], in order.
EXTRA_CONTENT = "content"


def _message(
    blocks: Iterable[Mapping[str, Any]], json_tool: str | None = None, receipt: Receipt | None = None
) -> Message:
    text: list[str] = []
    thinking: list[str] = []
    kept: list[dict[str, Any]] = []
    calls: list[AnyToolCall] = []
    for b in blocks:
        kind = b.get("type")
        if kind == "text":
            text.append(b.get("text") or "")
        elif kind == "tool_use" and json_tool is not None and b.get("name") == json_tool:
            text.append(_wire.json_arguments(b.get("input")))
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
        elif receipt is not None:
            receipt.extra.setdefault(EXTRA_CONTENT, []).append(dict(b))
    return Message(
        content="".join(text) if text else None,
        tool_calls=calls or None,
        reasoning_content="".join(thinking) if thinking else None,
        reasoning_blocks=kept or None,
    )


def body_error(data: Any) -> int | None:
    """An ``error`` object where an answer should be (a 200 body or a stream event)."""
    if isinstance(data, dict) and data.get("type") == "error":
        return 0
    return None


def parse(cfg: ProviderConfig, data: Answer, status: int, receipt: Receipt | None) -> ChatCompletion:
    model = receipt.model if receipt else None
    if not isinstance(data.get("content"), list):
        raise InvalidResponseError("response has no content list", status=status, provider=cfg.id, body=data)
    native = data.get("stop_reason")
    message = _message(data["content"], _json_tool(cfg), receipt)
    finish = _normalise.finish_reason(cfg, native)
    if finish == "tool_calls" and not message.tool_calls:
        finish = "stop"  # the forced structured-output tool answered: that is the content
    return ChatCompletion(
        id=data.get("id") or _normalise.new_id("msg_"),
        created=_normalise.now(),
        model=data.get("model") or model or "",
        choices=[Choice(index=0, message=message, finish_reason=finish, native_finish_reason=native)],
    )


class StreamDecoder:
    """Anthropic stream events to OpenAI chunks: role first, text/thinking/tool deltas, finish, usage.

    A thinking block's text streams as ``reasoning_content``; the whole signed block (needed to send
    it back on the next turn) is emitted once as ``reasoning_blocks`` when the block closes. The
    forced structured-output tool, when the spec uses one, streams as plain content.
    """

    __slots__ = (
        "_blocks", "_cfg", "_created", "_finished", "_id", "_json_tool", "_model", "_receipt", "_tool_index",
        "_usage", "done",
    )  # fmt: skip

    def __init__(self, cfg: ProviderConfig, receipt: Receipt | None = None) -> None:
        self._cfg = cfg
        self._model = receipt.model if receipt else ""
        self._receipt = receipt
        self._id = ""
        self._created = _normalise.now()
        self._usage: dict[str, Any] = {}
        self._tool_index: dict[int, int] = {}  # content block index -> tool call index
        self._blocks: dict[int, dict[str, Any]] = {}  # open thinking / structured-output blocks by index
        self._json_tool = _json_tool(cfg)
        self._finished = False
        self.done = False

    def _chunk(self, delta: Delta, finish: Any = None, native: Any = None) -> list[ChatCompletionChunk]:
        # positional (once per chunk: faster than keywords): index, delta, finish, native; id, created,
        # model, choices
        return [
            ChatCompletionChunk(self._id, self._created, self._model, [ChunkChoice(0, delta, finish, native)])
        ]

    def _tool(self, block_index: int) -> int:
        return self._tool_index.setdefault(block_index, len(self._tool_index))

    def unfinished(self) -> str | None:
        return None if self._finished else ""

    def fast(self, data: dict[str, Any], event: str | None) -> ChatCompletionChunk | None:
        """Most events: a ``text_delta`` (the contract in router/protocols/_driver.py, CodecDecoder;
        an event of this type is never an error)."""
        if data.get("type") != "content_block_delta" or not ANSWER_KEYS.issuperset(data):
            return None
        d = data.get("delta")
        if type(d) is not dict or d.get("type") != "text_delta":
            return None
        text = d.get("text")
        if type(text) is not str or not text:
            return None
        return text_chunk(self._id, self._created, self._model, 0, text)

    def feed(self, data: Mapping[str, Any], event: str | None) -> list[ChatCompletionChunk]:
        cfg = self._cfg
        kind = data.get("type") or event
        if kind == "content_block_delta":  # the hot path first
            d = data.get("delta") or {}
            dtype = d.get("type")
            index = data.get("index", 0)
            if dtype == "text_delta":
                return self._chunk(Delta(None, d.get("text") or ""))  # role, content
            if dtype == "input_json_delta":
                part = d.get("partial_json") or ""
                open_block = self._blocks.get(index)
                if open_block is not None and open_block["type"] == "json_output":
                    return self._chunk(Delta(content=part))
                if open_block is not None and open_block["type"] == "server":
                    open_block["json"] += part  # a server tool's input: not the caller's call
                    return []
                if index not in self._tool_index:
                    return []
                return self._chunk(Delta(tool_calls=[ToolCallDelta(index=self._tool(index), arguments=part)]))
            if dtype == "thinking_delta":
                text = d.get("thinking") or ""
                block = self._blocks.get(index)
                if block is not None:
                    block["thinking"] += text
                return self._chunk(Delta(reasoning_content=text))
            if dtype == "signature_delta":
                block = self._blocks.get(index)
                if block is not None:
                    block["signature"] = block.get("signature", "") + (d.get("signature") or "")
            return []
        if kind == "message_start":
            msg = data.get("message") or {}
            self._id = msg.get("id") or self._id
            self._model = msg.get("model") or self._model
            self._usage.update(msg.get("usage") or {})
            out = self._chunk(Delta(role="assistant", content=""))
            blocks = msg.get("content")
            if isinstance(blocks, list) and blocks:
                # A message that starts with its content (programmatic tool calling: the tool call the
                # code execution made arrives whole, often with its stop_reason and no message_delta).
                whole = _message(blocks, self._json_tool, self._receipt)
                calls = [
                    ToolCallDelta(index=self._tool(i), id=tc.id, name=tc.function.name, arguments=tc.function.arguments)
                    for i, tc in zip(
                        (i for i, b in enumerate(blocks) if isinstance(b, dict) and b.get("type") == "tool_use"
                         and b.get("name") != self._json_tool),
                        whole.tool_calls or (),
                        strict=False,
                    )
                ]  # fmt: skip
                out += self._chunk(
                    Delta(
                        content=whole.content,
                        reasoning_content=whole.reasoning_content,
                        tool_calls=calls or None,
                        reasoning_blocks=whole.reasoning_blocks,
                    )
                )
            native = msg.get("stop_reason")
            if native is not None:
                self._finished = True
                finish = _normalise.finish_reason(cfg, native)
                if finish == "tool_calls" and not self._tool_index:
                    finish = "stop"
                out += self._chunk(Delta(), finish, native)
            return out
        if kind == "content_block_start":
            block = data.get("content_block") or {}
            btype = block.get("type")
            index = data.get("index", 0)
            if btype == "tool_use" and self._json_tool is not None and block.get("name") == self._json_tool:
                self._blocks[index] = {"type": "json_output"}
                return []
            if btype == "tool_use":
                # The input is {} and arrives as input_json_delta fragments, or (a call made by code
                # execution) arrives whole here with no fragments after it.
                given = block.get("input")
                call = ToolCallDelta(
                    index=self._tool(index),
                    id=block.get("id"),
                    name=block.get("name"),
                    arguments=_wire.json_arguments(given) if given else "",
                )
                return self._chunk(Delta(tool_calls=[call]))
            if btype == "text" and block.get("text"):
                return self._chunk(Delta(content=block["text"]))
            if btype == "thinking":
                self._blocks[index] = {"type": "thinking", "thinking": block.get("thinking") or ""}
                return []
            if btype == "redacted_thinking":
                return self._chunk(Delta(reasoning_blocks=[dict(block)]))
            if btype != "text":
                self._blocks[index] = {"type": "server", "block": dict(block), "json": ""}
            return []
        if kind == "content_block_stop":
            block = self._blocks.pop(data.get("index", 0), None)
            if block is not None and block["type"] == "thinking":
                return self._chunk(Delta(reasoning_blocks=[block]))
            if block is not None and block["type"] == "server" and self._receipt is not None:
                kept = block["block"]
                if block["json"]:
                    try:
                        kept["input"] = json.loads(block["json"])
                    except ValueError:
                        kept["input"] = block["json"]
                self._receipt.extra.setdefault(EXTRA_CONTENT, []).append(kept)
            return []
        if kind == "message_delta":
            self._usage.update({k: v for k, v in (data.get("usage") or {}).items() if v is not None})
            native = (data.get("delta") or {}).get("stop_reason")
            if native is None:
                return []
            self._finished = True
            finish = _normalise.finish_reason(cfg, native)
            if finish == "tool_calls" and not self._tool_index:
                finish = "stop"  # only the structured-output tool answered
            return self._chunk(Delta(), finish, native)
        if kind == "message_stop":
            self.done = True
            u = _normalise.usage_from(cfg.usage, {"usage": self._usage})
            if u is None:
                return []
            return [
                ChatCompletionChunk(
                    id=self._id, created=self._created, model=self._model, choices=[], usage=u
                )
            ]
        # ping and unknown future events carry nothing for the unified shape.
        return []

    def close(self) -> list[ChatCompletionChunk]:
        return []


def decoder(cfg: ProviderConfig, receipt: Receipt | None) -> StreamDecoder:
    return StreamDecoder(cfg, receipt)
