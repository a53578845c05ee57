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
from collections.abc import Mapping
from datetime import UTC
from datetime import datetime
from typing import Any

from router._exceptions import BadRequestError
from router._exceptions import ConfigError
from router._exceptions import InvalidResponseError
from router._exceptions import UnsupportedParamsError
from router._types import AnyToolCall
from router._types import ChatCompletion
from router._types import ChatCompletionChunk
from router._types import Choice
from router._types import ChunkChoice
from router._types import Delta
from router._types import FinishReason
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
# The endpoint streams by default (https://docs.ollama.com/api/streaming): say so either way.
STREAM_ALWAYS: bool = True
MODEL_PREFIX: str = ""
# Answer keys read here (the timings total_duration, eval_duration, ... go to receipt.extra).
ANSWER_KEYS: frozenset[str] = frozenset(
    {"model", "created_at", "message", "done", "done_reason", "prompt_eval_count", "eval_count"}
)
_TOOL_CHOICES = ("auto", "none", "required")
_PLAIN_MESSAGE = frozenset({"role", "content"})  # a streamed line's message with only text


# --------------------------------------------------------------------------- request


def _image(cfg: ProviderConfig, part: Mapping[str, Any]) -> str:
    image = part.get("image_url")
    url = image.get("url", "") if isinstance(image, dict) else image if isinstance(image, str) else ""
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
        kind = part.get("type") if isinstance(part, dict) else None
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


def _convert_messages(cfg: ProviderConfig, messages: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool call id -> function name, for the tool results that follow
    for raw in messages:
        m = _wire.as_dict(raw)
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
                    {
                        "function": {
                            "index": i,
                            "name": fn.get("name"),
                            "arguments": _wire.call_arguments(cfg, tc),
                        }
                    }
                )
            if calls:
                msg["tool_calls"] = calls
        out.append(msg)
    return out


def _tool_choice(cfg: ProviderConfig, choice: Any, parallel: Any, receipt: Receipt, strict: bool) -> None:
    """The protocol has no tool_choice and no parallel-call switch: the model always decides."""
    named = isinstance(choice, dict) and bool((choice.get("function") or {}).get("name"))
    if choice is not None and choice not in _TOOL_CHOICES and not named:
        raise BadRequestError(f"tool_choice {choice!r} is not one OpenAI defines", provider=cfg.id)
    if choice is not None and choice != "auto":
        _wire.unsupported(cfg, "tool_choice", f"{choice!r}; the model always decides", receipt, strict)
    if parallel is False:
        _wire.unsupported(
            cfg, "parallel_tool_calls", "False; the model may call several tools", receipt, strict
        )


def _format(cfg: ProviderConfig, request: Mapping[str, Any], receipt: Receipt, strict: bool) -> Any:
    """``format``: "json" for JSON mode, the (cleaned) schema for json_schema, None for nothing."""
    structured = _wire.response_schema(cfg, request, receipt, strict)
    if structured is None:
        return None
    mechanism, schema = structured
    if mechanism != "native":
        # Forcing a tool needs tool_choice, which this protocol does not have.
        raise ConfigError(
            f"{cfg.id}: structured_output {mechanism!r} is not possible over ollama-chat (no tool_choice)"
        )
    return "json" if request["response_format"].get("type") == "json_object" else schema


def translate(
    cfg: ProviderConfig, request: Request, body: Body, *, model: str, receipt: Receipt, strict: bool
) -> frozenset[str]:
    body["model"] = model
    body["messages"] = _convert_messages(cfg, _wire.messages_of(cfg, request))
    tools, choice = _wire.tools_and_choice(request)
    if tools:
        body["tools"] = _wire.function_tools(cfg, tools)
    _tool_choice(cfg, choice, request.get("parallel_tool_calls"), receipt, strict)
    fmt = _format(cfg, request, receipt, strict)
    if fmt is not None:
        body["format"] = fmt
    return HANDLED


# --------------------------------------------------------------------------- responses


def _created(value: Any) -> int:
    """RFC 3339 (Go's time.Time, nanoseconds included) as Unix seconds; now() when unreadable."""
    if isinstance(value, str) and value:
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            return _normalise.now()
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return int(dt.timestamp())
    return _normalise.now()


def _call_id(model: str, created_at: Any, position: int, name: str, arguments: str) -> str:
    seed = "\0".join((model, str(created_at or ""), str(position), name, arguments))
    return "call_" + hashlib.sha256(seed.encode()).hexdigest()[:24]


def _tool_call(tc: Any, model: str, created_at: Any, position: int) -> tuple[str, str, str]:
    fn = (tc.get("function") if isinstance(tc, dict) else None) or {}
    name = fn.get("name") or ""
    arguments = _wire.json_arguments(fn.get("arguments"))
    native_id = tc.get("id") if isinstance(tc, dict) else None
    return native_id or _call_id(model, created_at, position, name, arguments), name, arguments


def _finish(cfg: ProviderConfig, native: Any, done: bool, called_tools: bool) -> FinishReason | None:
    mapped: FinishReason | None = _normalise.finish_reason(cfg, native)
    if mapped is None and done:
        mapped = "stop"  # servers before done_reason existed (docs/api.md examples) just say done
    # The protocol has no finish reason for tool calls: a turn that calls tools ends with "stop".
    if called_tools and mapped == "stop":
        return "tool_calls"
    return mapped


def body_error(data: Any) -> int | None:
    """An ``{"error": ...}`` object where an answer should be (https://docs.ollama.com/api/errors)."""
    if isinstance(data, dict) and data.get("error") is not None and "message" not in data:
        return 0
    return None


def parse(cfg: ProviderConfig, data: Answer, status: int, receipt: Receipt | None) -> ChatCompletion:
    model = receipt.model if receipt else None
    if not isinstance(data.get("message"), dict):
        raise InvalidResponseError(
            "response has no message object", status=status, provider=cfg.id, body=data
        )
    m = data["message"]
    answered_by = data.get("model") or model or ""
    calls: list[AnyToolCall] = [
        ToolCall(id=i, function=FunctionCall(name=n, arguments=a))
        for i, n, a in (
            _tool_call(tc, answered_by, data.get("created_at"), pos)
            for pos, tc in enumerate(m.get("tool_calls") or ())
        )
    ]
    native = data.get("done_reason")
    return ChatCompletion(
        id=_normalise.new_id("chatcmpl-"),
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
    )


class StreamDecoder:
    """NDJSON lines to OpenAI chunks: role first, content/thinking deltas, whole tool calls, then at
    ``done: true`` a finish chunk and a usage chunk (no choices)."""

    __slots__ = ("_cfg", "_created", "_finished", "_id", "_model", "_started", "_tools", "done")

    def __init__(self, cfg: ProviderConfig, receipt: Receipt | None = None) -> None:
        self._cfg = cfg
        self._model = receipt.model if receipt else ""
        self._id = _normalise.new_id("chatcmpl-")
        self._created: int | None = None
        self._started = False
        self._tools = 0  # tool calls seen so far: the next one's index
        self._finished = False
        self.done = False

    def _chunk(
        self, delta: Delta, finish: FinishReason | None = None, native: Any = None
    ) -> ChatCompletionChunk:
        # positional (once per chunk: faster than keywords): index, delta, finish, native; id, created,
        # model, choices
        choice = ChunkChoice(0, delta, finish, native)
        return ChatCompletionChunk(self._id, self._created or _normalise.now(), self._model, [choice])

    def unfinished(self) -> str | None:
        return None if self._finished else "no line with done: true"

    def fast(self, data: dict[str, Any], event: str | None) -> ChatCompletionChunk | None:
        """Most lines: a piece of content after the first line, not the last (the contract in
        router/protocols/_driver.py, CodecDecoder; ``error`` is not an answer key, so an error line
        never passes)."""
        if not self._started or data.get("done") or not ANSWER_KEYS.issuperset(data):
            return None
        m = data.get("message")
        if type(m) is not dict or not _PLAIN_MESSAGE.issuperset(m):
            return None
        content = m.get("content")
        if type(content) is not str or not content:
            return None
        self._model = data.get("model") or self._model
        return text_chunk(self._id, self._created or _normalise.now(), self._model, 0, content)

    def feed(self, data: Mapping[str, Any], event: str | None) -> list[ChatCompletionChunk]:
        cfg = self._cfg
        self._model = data.get("model") or self._model
        if self._created is None:
            self._created = _created(data.get("created_at"))
        raw = data.get("message")
        m: Mapping[str, Any] = raw if isinstance(raw, dict) else {}
        out: list[ChatCompletionChunk] = []
        calls = []
        for tc in m.get("tool_calls") or ():
            call_id, name, arguments = _tool_call(tc, self._model, data.get("created_at"), self._tools)
            calls.append(ToolCallDelta(index=self._tools, id=call_id, name=name, arguments=arguments))
            self._tools += 1
        # role, content, reasoning_content, tool_calls (positional: once per chunk)
        delta = Delta(None, m.get("content") or None, m.get("thinking") or None, calls or None)
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
            usage = _normalise.usage_from(cfg.usage, data)
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
        return []


def decoder(cfg: ProviderConfig, receipt: Receipt | None) -> StreamDecoder:
    return StreamDecoder(cfg, receipt)
