"""The ``cohere-chat-v2`` wire protocol: Cohere's native ``POST /v2/chat``.

Reference: https://docs.cohere.com/reference/chat (request and response),
https://docs.cohere.com/reference/chat-stream and https://docs.cohere.com/docs/streaming (stream events),
https://docs.cohere.com/docs/tool-use (tool calls, ``tool_plan``), https://docs.cohere.com/docs/reasoning
(``thinking`` content). Field names checked against the official SDK, cohere-ai/cohere-python:
``src/cohere/v2/raw_client.py`` (the body ``chat`` sends), ``src/cohere/types/chat_message_v2.py``,
``content.py``, ``tool_v2.py``, ``tool_call_v2.py``, ``assistant_message_response.py``,
``citation.py``, ``usage.py``, ``chat_finish_reason.py`` and ``src/cohere/v2/types/v2chat_response.py``,
``v2chat_stream_response.py``.

What is protocol, not provider, and so lives here:

* messages keep OpenAI's roles (developer becomes system); user content is a string or a list of
  ``text`` / ``image_url`` parts (a web URL or a base64 data URL, as OpenAI's); a tool result is
  ``{role: tool, tool_call_id, content}``; assistant tool calls are OpenAI-shaped, ``arguments`` a
  JSON string;
* tools are OpenAI-shaped ``{type: function, function: {name, description, parameters}}``;
  ``strict_tools: true`` is one switch for all of them;
* ``tool_choice`` is ``REQUIRED`` or ``NONE`` (absent: the model decides). There is no named choice:
  ``{"type": "function", "function": {"name": N}}`` is sent as the one tool N with ``REQUIRED``,
  which asks exactly the same of the model (call N) -- the other tools could not be called anyway;
* ``response_format`` is ``{type: json_object}``, with ``json_schema`` holding a schema;
* an answer is ``{id, finish_reason, message: {role, content: [{type: text|thinking}], tool_plan,
  tool_calls, citations}, usage}``; a stream is typed SSE events (message-start, content-start,
  content-delta, content-end, tool-plan-delta, tool-call-start/-delta/-end, citation-start/-end,
  message-end, debug); an error is ``{"id": ..., "message": "..."}`` (no type, no code).

Provider-native data kept on the unified message
------------------------------------------------
``tool_plan`` (the model's plan before it calls tools) and ``citations`` (spans of the answer with
the documents or tool results they cite) have no place in OpenAI's shape. Both are fields of
Cohere's own assistant message, which takes them back on the next turn, so they travel in
``Message.reasoning_blocks`` (``Delta.reasoning_blocks`` when streaming) as dicts tagged
``"type": "cohere"``:

* ``{"type": "cohere", "tool_plan": "I will look up the weather."}``
* ``{"type": "cohere", "citations": [{"start": 0, "end": 5, "text": "...", "sources": [...]}, ...]}``

Sent back (an answer appended to ``messages``), they become the assistant message's ``tool_plan`` and
``citations`` again; blocks of any other type (another protocol's) are ignored. A stream gives the
same blocks as the whole answer: the plan once it is complete, the citations at message-end.
``thinking`` content is ``reasoning_content`` (and is sent back as a thinking content item when the
spec says ``messages.reasoning_content: send``).

Everything a provider varies (renames such as ``top_p`` -> ``p``, limits, the ``thinking`` table,
finish reasons, usage paths, error tables, base URL and auth) comes from the spec via ProviderConfig.
"""

from __future__ import annotations

from collections.abc import Mapping
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
from router.protocols import _normalise
from router.protocols import _wire
from router.protocols._config import ProviderConfig
from router.protocols._driver import Answer
from router.protocols._driver import Body
from router.protocols._driver import Request

# The module is a Codec (router/protocols/_driver.py): HANDLED, STREAM_KEY, STREAM_ALWAYS, MODEL_PREFIX,
# ANSWER_KEYS, translate, body_error, parse and decoder are what the driver calls.

HANDLED: frozenset[str] = _wire.TOOLS_AND_FORMAT  # translated here, not by the parameter policy
STREAM_KEY: str | None = "stream"  # "When true, the response will be a SSE stream of events."
STREAM_ALWAYS: bool = False
MODEL_PREFIX: str = ""
# Top-level keys of an answer (V2ChatResponse) and of a stream event (V2ChatStreamResponse) read here;
# the driver keeps any other (logprobs, a debug event's prompt, ...) on receipt.extra.
ANSWER_KEYS: frozenset[str] = frozenset({"id", "finish_reason", "message", "usage", "type", "index", "delta"})

# The tag on the reasoning_blocks this codec writes and reads back.
_BLOCK = "cohere"

# tool_choice strings -> Cohere's V2ChatRequestToolChoice (src/cohere/v2/types/v2chat_request_tool_choice.py);
# "auto" is the default, sent as no tool_choice at all.
_TOOL_CHOICES = {"auto": None, "required": "REQUIRED", "none": "NONE"}


# --------------------------------------------------------------------------- request


def _image_part(cfg: ProviderConfig, part: Mapping[str, Any]) -> dict[str, Any]:
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str) or not url:
        raise BadRequestError("an image_url part needs image_url.url", provider=cfg.id)
    # ImageUrl.url: "URL of an image. Can be either a base64 data URI or a web URL." (types/image_url.py)
    out: dict[str, Any] = {"url": url}
    if isinstance(image, dict) and image.get("detail") is not None:
        out["detail"] = image["detail"]  # auto | low | high, as OpenAI's
    return {"type": "image_url", "image_url": out}


def _parts(cfg: ProviderConfig, content: Any, *, images: bool) -> str | list[dict[str, Any]]:
    """OpenAI content as Cohere content: a string stays a string, a list of parts a list of parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise BadRequestError(
            f"message content must be a string or a list of parts, got {type(content).__name__}",
            provider=cfg.id,
        )
    out: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            out.append({"type": "text", "text": part.get("text") or ""})
        elif kind == "image_url" and images:
            out.append(_image_part(cfg, part))
        else:
            where = "" if images else " in this role"
            raise UnsupportedParamsError(
                f"{cfg.id} cannot take a content part of type {kind!r}{where}", provider=cfg.id
            )
    return out


def _text_of(content: str | list[dict[str, Any]]) -> str:
    return content if isinstance(content, str) else "".join(p.get("text", "") for p in content)


def _assistant(cfg: ProviderConfig, m: Mapping[str, Any]) -> dict[str, Any]:
    msg: dict[str, Any] = {"role": "assistant"}
    text = _parts(cfg, m.get("content"), images=False)
    reasoning = m.get("reasoning_content")
    if reasoning and cfg.messages.reasoning_content == "send":
        # AssistantMessageV2Content items are text or thinking (types/assistant_message_v2content_one_item.py)
        items = [{"type": "thinking", "thinking": reasoning}]
        if _text_of(text):
            items += [{"type": "text", "text": _text_of(text)}]
        msg["content"] = items
    elif text:
        msg["content"] = text
    for block in m.get("reasoning_blocks") or ():
        if not isinstance(block, dict) or block.get("type") != _BLOCK:
            continue  # another protocol's block
        if isinstance(block.get("tool_plan"), str):
            msg["tool_plan"] = block["tool_plan"]
        if isinstance(block.get("citations"), list):
            msg.setdefault("citations", []).extend(block["citations"])
    calls = []
    for tc in m.get("tool_calls") or ():
        fn = tc.get("function") or {}
        parsed = _wire.call_arguments(cfg, tc)  # not JSON: a BadRequestError before the network
        raw = fn.get("arguments")
        arguments = raw if isinstance(raw, str) and raw.strip() else _wire.json_arguments(parsed)
        calls.append(
            {
                "id": tc.get("id"),
                "type": "function",
                "function": {"name": fn.get("name"), "arguments": arguments},
            }
        )
    if calls:
        msg["tool_calls"] = calls
    return msg


def _convert_messages(cfg: ProviderConfig, messages: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for raw in messages:
        m = _wire.as_dict(raw)
        role = m.get("role")
        if role in ("system", "developer"):
            # SystemMessageV2Content: a string or text items only.
            out.append({"role": "system", "content": _parts(cfg, m.get("content"), images=False)})
        elif role == "user":
            out.append({"role": "user", "content": _parts(cfg, m.get("content"), images=True)})
        elif role == "assistant":
            out.append(_assistant(cfg, m))
        elif role == "tool":
            # ToolMessageV2Content: a string or text/document items (types/tool_message_v2content.py).
            content = _parts(cfg, m.get("content"), images=False)
            out.append({"role": "tool", "tool_call_id": m.get("tool_call_id"), "content": content})
        elif role == "function":
            raise UnsupportedParamsError(
                f"{cfg.id} cannot take a legacy role 'function' message: a tool result needs the "
                "tool_call_id of its call (send it as role 'tool')",
                provider=cfg.id,
            )
        else:
            raise BadRequestError(f"unknown message role {role!r}", provider=cfg.id)
    return out


def _tool_choice(
    cfg: ProviderConfig, body: Body, choice: Any, parallel: Any, receipt: Receipt, strict: bool
) -> None:
    if isinstance(choice, dict) and (choice.get("function") or {}).get("name"):
        name = choice["function"]["name"]
        only = [t for t in body.get("tools") or () if t["function"]["name"] == name]
        if not only:
            raise BadRequestError(f"tool_choice names {name!r}, which is not in tools", provider=cfg.id)
        body["tools"] = only  # the named tool alone, required: what a named choice asks
        body["tool_choice"] = "REQUIRED"
    elif choice is not None:
        if not isinstance(choice, str) or choice not in _TOOL_CHOICES:
            raise BadRequestError(f"tool_choice {choice!r} is not one OpenAI defines", provider=cfg.id)
        if _TOOL_CHOICES[choice] is not None:
            body["tool_choice"] = _TOOL_CHOICES[choice]
    if parallel is False:
        # There is no switch for it: https://docs.cohere.com/docs/parallel-tool-use
        _wire.unsupported(
            cfg, "parallel_tool_calls", "False; the model may call several tools", receipt, strict
        )


def _response_format(
    cfg: ProviderConfig, request: Request, body: Body, receipt: Receipt, strict: bool
) -> None:
    """JsonObjectResponseFormatV2: ``{type: json_object}``, plus ``json_schema`` for a schema
    (types/response_format_v2.py; https://docs.cohere.com/docs/structured-outputs)."""
    structured = _wire.response_schema(cfg, request, receipt, strict)
    if structured is None:
        return
    mechanism, schema = structured
    if mechanism != "native":
        raise ConfigError(f"{cfg.id}: structured_output {mechanism!r} is not possible over cohere-chat-v2")
    fmt: dict[str, Any] = {"type": "json_object"}
    if request["response_format"].get("type") == "json_schema":
        fmt["json_schema"] = schema
    body["response_format"] = fmt


def translate(
    cfg: ProviderConfig, request: Request, body: Body, *, model: str, receipt: Receipt, strict: bool
) -> frozenset[str]:
    body["model"] = model
    body["messages"] = _convert_messages(cfg, _wire.messages_of(cfg, request))
    tools, choice = _wire.tools_and_choice(request)
    if tools:
        body["tools"] = _wire.function_tools(cfg, tools)
        if all((t.get("function") or {}).get("strict") is True for t in tools):
            # One switch for every tool: https://docs.cohere.com/docs/structured-outputs#structured-outputs-tools
            body["strict_tools"] = True
    _tool_choice(cfg, body, choice, request.get("parallel_tool_calls"), receipt, strict)
    _response_format(cfg, request, body, receipt, strict)
    return HANDLED


# --------------------------------------------------------------------------- responses


def body_error(data: Any) -> int | None:
    """``{"id": ..., "message": "<text>"}`` where an answer should be: an answer's ``message`` is an
    object, an error's is a string (../shared/fixtures/real/cohere/error_401.json)."""
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return 0
    return None


def _arguments(value: Any) -> str:
    """A tool call's arguments as a JSON string; none at all is ``"{}"``, never ``""``."""
    text = _wire.json_arguments(value)
    return text if text.strip() else "{}"


def _blocks(tool_plan: Any, citations: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if isinstance(tool_plan, str) and tool_plan:
        out.append({"type": _BLOCK, "tool_plan": tool_plan})
    if isinstance(citations, list) and citations:
        out.append({"type": _BLOCK, "citations": list(citations)})
    return out


def _one(cfg: ProviderConfig, value: Any) -> Mapping[str, Any]:
    """A stream event's ``tool_calls``: one ToolCallV2 object by the SDK's types
    (chat_tool_call_start_event_delta_message.py); a one-item list is read the same way. Anything
    else is not a call (read as an empty one, it came back as a call with no name)."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if not isinstance(value, dict):
        raise InvalidResponseError(
            f"a stream event's tool_calls is not one tool call object: {str(value)[:100]!r}", provider=cfg.id
        )
    return value


def _name(cfg: ProviderConfig, call: Mapping[str, Any], status: int = 200) -> str:
    """A tool call's function name: every ToolCallV2 Cohere sends names its function (a call named ""
    could not be run, so it is a wrong answer, not a call)."""
    name = (call.get("function") or {}).get("name")
    if not isinstance(name, str) or not name:
        raise InvalidResponseError(
            f"a tool call without a function name: {str(dict(call))[:100]!r}", status=status, provider=cfg.id
        )
    return name


def _finish(cfg: ProviderConfig, native: Any, error: Any = None) -> FinishReason | None:
    detail = {"message": error} if isinstance(error, str) and error else None
    mapped: FinishReason | None = _normalise.finish_reason(cfg, native, detail)
    return mapped


def parse(cfg: ProviderConfig, data: Answer, status: int, receipt: Receipt | None) -> ChatCompletion:
    model = receipt.model if receipt else None
    m = data.get("message")
    if not isinstance(m, dict):
        raise InvalidResponseError(
            "response has no message object", status=status, provider=cfg.id, body=data
        )
    text: list[str] = []
    thinking: list[str] = []
    for item in m.get("content") or ():
        kind = item.get("type")
        if kind == "text":
            text.append(item.get("text") or "")
        elif kind == "thinking":
            thinking.append(item.get("thinking") or "")
    answer_id = data.get("id")
    calls: list[AnyToolCall] = [
        ToolCall(
            id=tc.get("id") or f"call_{answer_id or ''}_{i}",
            function=FunctionCall(
                name=_name(cfg, tc, status), arguments=_arguments((tc.get("function") or {}).get("arguments"))
            ),
        )
        for i, tc in enumerate(m.get("tool_calls") or ())
    ]
    native = data.get("finish_reason")
    blocks = _blocks(m.get("tool_plan"), m.get("citations"))
    return ChatCompletion(
        id=answer_id or _normalise.new_id("chatcmpl-"),
        created=_normalise.now(),
        model=model or "",
        choices=[
            Choice(
                index=0,
                message=Message(
                    content="".join(text) if text else (None if calls else ""),
                    tool_calls=calls or None,
                    reasoning_content="".join(thinking) if thinking else None,
                    reasoning_blocks=blocks or None,
                ),
                finish_reason=_finish(cfg, native),
                native_finish_reason=native,
            )
        ],
    )


class StreamDecoder:
    """Cohere's typed events to OpenAI chunks: role first, text/thinking deltas, tool calls by index,
    the plan and citations as ``reasoning_blocks``, then at message-end one finish chunk and a usage
    chunk (no choices)."""

    __slots__ = (
        "_args", "_cfg", "_citations", "_created", "_finished", "_id", "_kinds", "_model", "_plan",
        "_tools", "done",
    )  # fmt: skip

    def __init__(self, cfg: ProviderConfig, receipt: Receipt | None = None) -> None:
        self._cfg = cfg
        self._model = receipt.model if receipt else ""
        self._id = ""
        self._created = _normalise.now()
        self._kinds: dict[int, str] = {}  # content index -> "text" | "thinking"
        self._tools: dict[int, int] = {}  # Cohere's tool-call index -> the unified index
        self._args: dict[int, bool] = {}  # unified index -> some argument text arrived
        self._plan: list[str] = []  # tool-plan-delta text not yet emitted
        self._citations: list[Any] = []
        self._finished = False
        self.done = False

    def _chunk(
        self, delta: Delta, finish: FinishReason | None = None, native: Any = None
    ) -> ChatCompletionChunk:
        choice = ChunkChoice(index=0, delta=delta, finish_reason=finish, native_finish_reason=native)
        return ChatCompletionChunk(id=self._id, created=self._created, model=self._model, choices=[choice])

    def _flush_plan(self, out: list[ChatCompletionChunk]) -> None:
        if self._plan:
            out.append(self._chunk(Delta(reasoning_blocks=_blocks("".join(self._plan), None))))
            self._plan = []

    def _tool(self, index: Any) -> int:
        key = index if isinstance(index, int) else len(self._tools)
        return self._tools.setdefault(key, len(self._tools))

    def unfinished(self) -> str | None:
        return None if self._finished else "no message-end event"

    def feed(self, data: Mapping[str, Any], event: str | None) -> list[ChatCompletionChunk]:
        kind = data.get("type") or event
        delta = data.get("delta") or {}
        message = delta.get("message") or {}
        if kind == "content-delta":  # the hot path first
            content = message.get("content") or {}
            index = data.get("index", 0)
            if "thinking" in content or self._kinds.get(index) == "thinking":
                return [self._chunk(Delta(reasoning_content=content.get("thinking") or ""))]
            return [self._chunk(Delta(content=content.get("text") or ""))]
        out: list[ChatCompletionChunk] = []
        if kind == "tool-call-delta":
            fn = _one(self._cfg, message.get("tool_calls")).get("function") or {}
            part = fn.get("arguments") or ""
            index = self._tool(data.get("index"))
            if part:
                self._args[index] = True
                out.append(self._chunk(Delta(tool_calls=[ToolCallDelta(index=index, arguments=part)])))
            return out
        if kind == "tool-plan-delta":
            self._plan.append(message.get("tool_plan") or "")
            return out
        if kind == "message-start":
            self._id = data.get("id") or self._id
            out.append(self._chunk(Delta(role="assistant", content="")))
            return out
        if kind == "content-start":
            self._flush_plan(out)
            content = message.get("content") or {}
            ctype = content.get("type") or ("thinking" if "thinking" in content else "text")
            self._kinds[data.get("index", 0)] = ctype
            if ctype == "thinking" and content.get("thinking"):
                out.append(self._chunk(Delta(reasoning_content=content["thinking"])))
            elif ctype != "thinking" and content.get("text"):
                out.append(self._chunk(Delta(content=content["text"])))
            return out
        if kind == "tool-call-start":
            self._flush_plan(out)
            tc = _one(self._cfg, message.get("tool_calls"))
            name = _name(self._cfg, tc)
            fn = tc.get("function") or {}
            index = self._tool(data.get("index"))
            arguments = fn.get("arguments") or ""
            self._args[index] = bool(arguments)
            call = ToolCallDelta(index=index, id=tc.get("id"), name=name, arguments=arguments)
            out.append(self._chunk(Delta(tool_calls=[call])))
            return out
        if kind == "tool-call-end":
            index = self._tool(data.get("index"))
            if not self._args.get(index):
                # A call without arguments: "{}", as the unified shape promises (never "").
                self._args[index] = True
                out.append(self._chunk(Delta(tool_calls=[ToolCallDelta(index=index, arguments="{}")])))
            return out
        if kind == "citation-start":
            citation = message.get("citations")
            if citation is not None and not isinstance(citation, dict):
                # One Citation object (citation_start_event_delta_message.py), kept as it is
                raise InvalidResponseError(
                    f"a citation-start event's citation is not an object: {str(citation)[:100]!r}",
                    provider=self._cfg.id,
                )
            if citation is not None:
                self._citations.append(citation)
            return out
        if kind == "message-end":
            self._flush_plan(out)
            if self._citations:
                out.append(self._chunk(Delta(reasoning_blocks=_blocks(None, self._citations))))
                self._citations = []
            native = delta.get("finish_reason")
            self._finished = self.done = True
            out.append(self._chunk(Delta(), _finish(self._cfg, native, delta.get("error")), native))
            usage = _normalise.usage_from(self._cfg.usage, {"usage": delta.get("usage")})
            if usage is not None:
                out.append(
                    ChatCompletionChunk(
                        id=self._id, created=self._created, model=self._model, choices=[], usage=usage
                    )
                )
            return out
        # content-end, citation-end, debug and unknown future events carry nothing for the unified shape.
        return out

    def close(self) -> list[ChatCompletionChunk]:
        return []


def decoder(cfg: ProviderConfig, receipt: Receipt | None) -> StreamDecoder:
    return StreamDecoder(cfg, receipt)
