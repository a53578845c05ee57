"""The ``openai-responses`` wire protocol: OpenAI's ``POST /v1/responses`` (and servers that copy it).

References: https://platform.openai.com/docs/api-reference/responses/create ,
https://platform.openai.com/docs/api-reference/responses-streaming ,
https://platform.openai.com/docs/guides/migrate-to-responses ; field names and shapes checked against
the official SDK's types (``openai.types.responses``: ``ResponseCreateParams``, ``Response``,
``ResponseStreamEvent``).

What is protocol, not provider, and so lives here: chat messages become ``input`` items (messages,
``function_call`` and ``function_call_output`` items, ``reasoning`` items); content parts are
``input_text`` / ``input_image`` / ``input_file`` (a message takes no audio: ``ResponseInputContentParam``); tools are flat
``{type: function, name, parameters, strict}``; ``response_format`` is ``text.format``; an answer is a
list of ``output`` items whose ``status`` (and ``incomplete_details.reason``) says how it ended; a
stream is a sequence of typed ``response.*`` SSE events that ends with ``response.completed`` (or
``response.incomplete`` / ``response.failed``), with no ``[DONE]`` sentinel. Everything a provider
varies (renames such as max_tokens -> max_output_tokens, defaults such as ``store``, the reasoning
effort table, finish reasons, usage paths, errors) comes from the spec via ProviderConfig.

System and developer messages
-----------------------------
They stay ``input`` items with their own role, in place, rather than being folded into the
top-level ``instructions``: OpenAI documents both, but ``instructions`` is one string that "only
applies to the current response generation request"
(https://platform.openai.com/docs/guides/text#message-roles-and-instruction-following), while a
chat request is the whole conversation every time. Items keep the order, the role (system vs
developer) and every message, so nothing is merged or lost.

Earlier assistant turns
-----------------------
Text goes back as an assistant message with string content (``EasyInputMessageParam``; the SDK's
``output_text`` form, ``ResponseOutputMessageParam``, requires the item id and status of a stored
message, which a chat history does not have). Tool calls go back as ``function_call`` items, tool
results as ``function_call_output`` items.

Reasoning items kept on the unified message
-------------------------------------------
A reasoning model's ``reasoning`` output items travel in ``Message.reasoning_blocks`` (and
``Delta.reasoning_blocks`` when streaming, one block when the item is done) as the item itself:
``{"type": "reasoning", "id": "rs_…", "summary": [...], "encrypted_content": "…"}`` (``content``
too, where a server sends reasoning text). When the reasoning came right before a function call,
the block also holds ``"tool_call_id"`` (that call's id; a router key, not sent). When the assistant
message is sent back, each block goes back as a ``reasoning`` input item right before the
``function_call`` it preceded, or before the message text; the API wants a reasoning item followed by
the item it led to (https://platform.openai.com/docs/guides/reasoning#keeping-reasoning-items-in-context).
With ``store: false`` (the spec's default, as Chat Completions' own) the item is only usable again if
it carries ``encrypted_content``: the spec asks for it (``include: [reasoning.encrypted_content]``)
on reasoning models. Blocks of another ``type`` (another protocol's) are ignored.

``reasoning_content`` is the reasoning summary text (and reasoning text, where sent), parts joined by
a blank line. Summaries come only when asked for: ``extra_body={"reasoning": {"summary": "auto"}}``
(https://platform.openai.com/docs/guides/reasoning#reasoning-summaries).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from router._exceptions import APIError
from router._exceptions import BadRequestError
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
from router.protocols import _errors
from router.protocols import _normalise
from router.protocols import _wire
from router.protocols._config import ProviderConfig
from router.protocols._driver import Answer
from router.protocols._driver import Body
from router.protocols._driver import Request

# The module is a Codec (router/protocols/_driver.py): HANDLED, STREAM_KEY, STREAM_ALWAYS, MODEL_PREFIX,
# translate, body_error, parse and decoder are what the driver calls.

# parallel_tool_calls is a top-level field of the same name here, so the parameter policy passes it on.
HANDLED: frozenset[str] = _wire.TOOLS_AND_FORMAT - {"parallel_tool_calls"}
STREAM_KEY: str | None = "stream"
STREAM_ALWAYS: bool = False
MODEL_PREFIX: str = ""
# Top-level keys the codec reads, of a Response object and of the stream's events (the rest go to
# receipt.extra). A Response also echoes the request's own settings back (instructions, tools,
# temperature, text, ...): what was sent, not news about the answer, so those count as read too.
ANSWER_KEYS: frozenset[str] = frozenset(
    {
        # Response (https://platform.openai.com/docs/api-reference/responses/object)
        "id", "object", "created_at", "status", "error", "incomplete_details", "model", "output", "usage",
        "output_text", "completed_at",
        # its echo of the request
        "background", "conversation", "frequency_penalty", "include", "instructions", "max_output_tokens",
        "max_tool_calls", "presence_penalty",
        "metadata", "parallel_tool_calls", "previous_response_id", "prompt", "prompt_cache_key",
        "prompt_cache_retention", "reasoning", "safety_identifier", "service_tier", "store", "temperature",
        "text", "tool_choice", "tools", "top_logprobs", "top_p", "truncation", "user",
        # stream events (https://platform.openai.com/docs/api-reference/responses-streaming)
        "type", "sequence_number", "response", "item", "item_id", "output_index", "content_index",
        "summary_index", "part", "delta", "arguments", "refusal", "logprobs", "name", "annotation",
        "annotation_index", "obfuscation", "code", "message", "param",
    }
)  # fmt: skip

# The tag of the reasoning_blocks this codec writes and reads back: the Responses item type itself.
_BLOCK = "reasoning"
# The keys of a reasoning item sent back (ResponseReasoningItemParam, less the output-only status).
_REASONING_KEYS = ("type", "id", "summary", "content", "encrypted_content")
# Blank line between reasoning parts (summary parts, items), the same in parse and stream.
_PART_SEP = "\n\n"


# --------------------------------------------------------------------------- request


def _image(cfg: ProviderConfig, part: Mapping[str, Any]) -> dict[str, Any]:
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str) or not url:
        raise BadRequestError("an image_url part needs image_url.url", provider=cfg.id)
    detail = image.get("detail") if isinstance(image, dict) else None
    # input_image takes a URL or a data URL as is; detail is required by the type (auto as in chat):
    # https://platform.openai.com/docs/guides/images-vision#giving-a-model-images-as-input
    return {"type": "input_image", "image_url": url, "detail": detail or "auto"}


def _file(cfg: ProviderConfig, part: Mapping[str, Any]) -> dict[str, Any]:
    file = part.get("file")
    if not isinstance(file, dict):
        raise BadRequestError("a file part needs a file object", provider=cfg.id)
    # https://platform.openai.com/docs/guides/pdf-files : file_data (a data URL), file_id, filename.
    out: dict[str, Any] = {"type": "input_file"}
    for key in ("file_data", "file_id", "filename"):
        if isinstance(file.get(key), str):
            out[key] = file[key]
    if len(out) == 1:
        raise BadRequestError("a file part needs file.file_data or file.file_id", provider=cfg.id)
    return out


def _parts(cfg: ProviderConfig, content: list[Any], receipt: Receipt) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for part in content:
        if not isinstance(part, dict):
            raise BadRequestError(
                f"a content part must be an object, got {type(part).__name__}", provider=cfg.id
            )
        kind = part.get("type")
        if kind == "text":
            parts.append({"type": "input_text", "text": part.get("text", "")})
        elif kind == "image_url":
            parts.append(_image(cfg, part))
        elif kind == "file":
            parts.append(_file(cfg, part))
        else:
            raise UnsupportedParamsError(
                f"{cfg.id} cannot take a content part of type {kind!r}", provider=cfg.id
            )
        if "cache_control" in part and "messages[].content[].cache_control" not in receipt.dropped:
            # OpenAI caches prompt prefixes by itself: https://platform.openai.com/docs/guides/prompt-caching
            receipt.dropped.append("messages[].content[].cache_control")
    return parts


def _content(cfg: ProviderConfig, content: Any, receipt: Receipt) -> str | list[dict[str, Any]]:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise BadRequestError("message content must be a string or a list of parts", provider=cfg.id)
    parts = _parts(cfg, content, receipt)
    if all(set(p) == {"type", "text"} and p["type"] == "input_text" for p in parts) and len(parts) == 1:
        return str(parts[0]["text"])  # one plain text part: the compact string form
    return parts


def _text_only(cfg: ProviderConfig, content: Any, where: str) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    texts = []
    for part in content if isinstance(content, list) else ():
        if not isinstance(part, dict) or part.get("type") != "text":
            kind = part.get("type") if isinstance(part, dict) else type(part).__name__
            raise UnsupportedParamsError(
                f"{cfg.id} takes only text in {where}, got {kind!r}", provider=cfg.id
            )
        texts.append(part.get("text") or "")
    return "".join(texts)


def _reasoning_item(block: Mapping[str, Any]) -> dict[str, Any]:
    item = {k: block[k] for k in _REASONING_KEYS if block.get(k) is not None}
    item.setdefault("summary", [])  # required by ResponseReasoningItemParam
    return item


def _assistant_items(cfg: ProviderConfig, m: Mapping[str, Any], receipt: Receipt) -> list[dict[str, Any]]:
    if m.get("function_call") is not None:
        raise UnsupportedParamsError(
            f"{cfg.id}: assistant function_call (legacy) is not supported; use tool_calls", provider=cfg.id
        )
    if m.get("refusal") is not None and "messages[].refusal" not in receipt.dropped:
        receipt.dropped.append("messages[].refusal")  # an input message has no refusal part without its id
    blocks = [b for b in m.get("reasoning_blocks") or () if isinstance(b, dict) and b.get("type") == _BLOCK]
    before_call: dict[str, list[dict[str, Any]]] = {}
    before_text: list[dict[str, Any]] = []
    for b in blocks:
        call_id = b.get("tool_call_id")
        if isinstance(call_id, str):
            before_call.setdefault(call_id, []).append(_reasoning_item(b))
        else:
            before_text.append(_reasoning_item(b))
    items: list[dict[str, Any]] = []
    text = _text_only(cfg, m.get("content"), "an assistant message")
    items += before_text
    if text:
        items.append({"role": "assistant", "content": text})
    for tc in m.get("tool_calls") or ():
        fn = tc.get("function") or {}
        name = fn.get("name")
        if not isinstance(name, str) or not name:
            raise BadRequestError(f"tool call {tc.get('id')!r} has no function name", provider=cfg.id)
        call_id = tc.get("id")
        if not isinstance(call_id, str) or not call_id:
            raise BadRequestError(f"a tool call to {name!r} has no id", provider=cfg.id)
        items += before_call.pop(call_id, [])
        args = fn.get("arguments")
        arguments = _wire.json_arguments(args) if args not in (None, "") else "{}"
        items.append({"type": "function_call", "call_id": call_id, "name": name, "arguments": arguments})
    for rest in before_call.values():  # a call no longer in the message: its reasoning still goes back
        items += rest
    return items


def _tool_output(cfg: ProviderConfig, m: Mapping[str, Any], receipt: Receipt) -> dict[str, Any]:
    call_id = m.get("tool_call_id")
    if not isinstance(call_id, str) or not call_id:
        raise BadRequestError("a tool message needs tool_call_id", provider=cfg.id)
    content = m.get("content")
    output: Any = "" if content is None else content
    if isinstance(content, list):
        # function_call_output.output takes input_text / input_image / input_file parts.
        output = _parts(cfg, content, receipt)
    return {"type": "function_call_output", "call_id": call_id, "output": output}


def _input(cfg: ProviderConfig, messages: list[Any], receipt: Receipt) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for raw in messages:
        m = _wire.as_dict(raw)
        role = m.get("role")
        if m.get("name") is not None and "messages[].name" not in receipt.dropped:
            receipt.dropped.append("messages[].name")  # input messages have no participant name
        if role in ("system", "developer", "user"):
            items.append({"role": role, "content": _content(cfg, m.get("content"), receipt)})
        elif role == "assistant":
            items += _assistant_items(cfg, m, receipt)
        elif role == "tool":
            items.append(_tool_output(cfg, m, receipt))
        elif role == "function":
            raise UnsupportedParamsError(
                f"{cfg.id}: role 'function' (legacy) is not supported; use role 'tool'", provider=cfg.id
            )
        else:
            raise BadRequestError(f"unknown message role {role!r}", provider=cfg.id)
    return items


def _tools(cfg: ProviderConfig, tools: list[Any]) -> list[dict[str, Any]]:
    out = []
    for t in tools:
        kind = t.get("type", "function") if isinstance(t, dict) else None
        if kind != "function":
            raise UnsupportedParamsError(f"{cfg.id} cannot take a tool of type {kind!r}", provider=cfg.id)
        fn = t.get("function") or {}
        name = fn.get("name")
        if not isinstance(name, str) or not name:
            raise BadRequestError("a function tool needs function.name", provider=cfg.id)
        schema = fn.get("parameters") or {"type": "object", "properties": {}}
        tool: dict[str, Any] = {
            "type": "function",
            "name": name,
            "parameters": _wire.clean_schema(schema, cfg.tools.schema_drop_keywords),
            # Responses functions are strict unless told otherwise; chat's are not, so the chat default
            # (false) is sent: https://platform.openai.com/docs/guides/function-calling#strict-mode
            "strict": bool(fn.get("strict") or False),
        }
        if fn.get("description"):
            tool["description"] = fn["description"]
        out.append(tool)
    return out


def _tool_choice(cfg: ProviderConfig, choice: Any) -> Any:
    # https://platform.openai.com/docs/api-reference/responses/create#responses-create-tool_choice
    if choice in ("auto", "none", "required"):
        return choice
    if isinstance(choice, dict) and choice.get("type") == "function":
        name = (choice.get("function") or {}).get("name")
        if not isinstance(name, str) or not name:
            raise BadRequestError("tool_choice function needs function.name", provider=cfg.id)
        return {"type": "function", "name": name}
    if isinstance(choice, dict) and choice.get("type") == "allowed_tools":
        allowed = choice.get("allowed_tools") or {}
        names = [(t.get("function") or {}).get("name") for t in allowed.get("tools") or ()]
        return {
            "type": "allowed_tools",
            "mode": allowed.get("mode") or "auto",
            "tools": [{"type": "function", "name": n} for n in names if n],
        }
    raise BadRequestError(f"tool_choice {choice!r} is not one OpenAI defines", provider=cfg.id)


def _text_format(
    cfg: ProviderConfig, request: Request, receipt: Receipt, strict: bool
) -> dict[str, Any] | None:
    rf = request.get("response_format")
    kind = rf.get("type") if isinstance(rf, dict) else None
    if kind in ("json_schema", "json_object") and "tool" in (
        cfg.structured_output.json_schema if kind == "json_schema" else cfg.structured_output.json_object
    ):
        raise UnsupportedParamsError(
            f"{cfg.id}: this codec carries response_format natively or not at all", provider=cfg.id
        )
    structured = _wire.response_schema(cfg, request, receipt, strict)
    if structured is None or not isinstance(rf, dict):
        return None
    # https://platform.openai.com/docs/guides/structured-outputs?api-mode=responses
    if kind == "json_object":
        return {"type": "json_object"}
    spec = rf.get("json_schema") or {}
    fmt: dict[str, Any] = {
        "type": "json_schema",
        "name": spec.get("name") or "response",
        "schema": structured[1],
    }
    if spec.get("description"):
        fmt["description"] = spec["description"]
    if spec.get("strict") is not None:
        fmt["strict"] = spec["strict"]
    return fmt


def translate(
    cfg: ProviderConfig, request: Request, body: Body, *, model: str, receipt: Receipt, strict: bool
) -> frozenset[str]:
    body["model"] = model
    body["input"] = _input(cfg, _wire.messages_of(cfg, request), receipt)
    tools, choice = _wire.tools_and_choice(request)
    if tools:
        body["tools"] = _tools(cfg, tools)
    if choice is not None:
        body["tool_choice"] = _tool_choice(cfg, choice)
    fmt = _text_format(cfg, request, receipt, strict)
    if fmt is not None:
        body["text"] = {"format": fmt}
    # stream_options.include_usage has no counterpart: response.completed always carries usage.
    return HANDLED


# --------------------------------------------------------------------------- responses


def _failed(cfg: ProviderConfig, response: Mapping[str, Any]) -> APIError:
    """The typed error of a ``failed`` response, through the spec's error tables (its ``error``
    object has the error envelope's code and message)."""
    err = response.get("error")
    if not isinstance(err, dict):
        err = {"message": "the response failed without an error object"}
    return _errors.map_error(cfg, 500, {}, {"error": dict(err)})


def _native(response: Mapping[str, Any]) -> str | None:
    """The native finish reason: ``completed``, or why an ``incomplete`` response stopped."""
    status = response.get("status")
    if status == "incomplete":
        reason = (response.get("incomplete_details") or {}).get("reason")
        return reason if isinstance(reason, str) and reason else "incomplete"
    return status if isinstance(status, str) else None


def _finish(cfg: ProviderConfig, native: str | None, has_calls: bool) -> FinishReason | None:
    mapped: FinishReason | None = _normalise.finish_reason(cfg, native)
    # A completed response with function calls in it ends with "completed" too.
    if has_calls and mapped == "stop":
        return "tool_calls"
    return mapped


def _reasoning_texts(item: Mapping[str, Any]) -> list[str]:
    texts = [p.get("text") for p in item.get("summary") or () if isinstance(p, dict)]
    texts += [p.get("text") for p in item.get("content") or () if isinstance(p, dict)]
    return [t for t in texts if isinstance(t, str) and t]


def _block(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: item[k] for k in _REASONING_KEYS if item.get(k) is not None}


# Output items that are calls the caller answers: functions, and custom (free-form) tools, whose
# ``input`` is the model's text (https://platform.openai.com/docs/guides/function-calling#custom-tools).
_CALLS = frozenset({"function_call", "custom_tool_call"})


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _created(value: Any) -> int:
    # created_at is a number of seconds (the SDK types it float); the unified created is an int.
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return int(value)
    return _normalise.now()


def _arguments(value: Any) -> str:
    return _wire.json_arguments(value) if value not in (None, "") else "{}"


def _object(cfg: ProviderConfig, value: Any, what: str, status: int = 200) -> Mapping[str, Any]:
    """An output item, content part or final Response, which the API always sends as an object:
    anything else is a wrong answer, never skipped (skipping it would return what is left as a success)."""
    if not isinstance(value, dict):
        raise InvalidResponseError(
            f"{what} is not an object: {str(value)[:100]!r}", status=status, provider=cfg.id, body=value
        )
    return value


def body_error(data: Any) -> int | None:
    """An error envelope where an answer should be; a Response object (which has an ``error`` field of
    its own) or another stream event is not one. An ``error`` event whose error is an object of its own
    (``{"type": "error", "sequence_number": 2, "error": {"type", "code", "message", "param"}}``, as
    OpenAI sends it: tests/fixtures/harvested/openai/stream_error_event_then_response_failed.json) is
    one; the flat form the SDK types (``{"type": "error", "code", "message", "param"}``) is wrapped by
    the driver (stream.error_event) or read in ``StreamDecoder.feed``."""
    if not isinstance(data, dict) or not isinstance(data.get("error"), dict):
        return None
    if data.get("type") == "error" or ("output" not in data and "type" not in data and "object" not in data):
        return 0
    return None


def parse(cfg: ProviderConfig, data: Answer, status: int, receipt: Receipt | None) -> ChatCompletion:
    model = receipt.model if receipt else None
    output = data.get("output")
    if not isinstance(output, list):
        raise InvalidResponseError("response has no output list", status=status, provider=cfg.id, body=data)
    if data.get("status") == "failed":
        raise _failed(cfg, data)
    text: list[str] = []
    refusal: list[str] = []
    thoughts: list[str] = []
    calls: list[AnyToolCall] = []
    blocks: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []  # reasoning blocks waiting for the item they led to
    for raw in output:
        item = _object(cfg, raw, "an output item", status)
        kind = item.get("type")
        if kind == "reasoning":
            thoughts += _reasoning_texts(item)
            pending.append(_block(item))
            continue
        if kind in _CALLS:
            call_id = item.get("call_id") or item.get("id") or f"call_{len(calls)}"
            calls.append(
                ToolCall(
                    id=call_id,
                    function=FunctionCall(
                        name=item.get("name") or "", arguments=_arguments(item.get("arguments"))
                    ),
                )
                if kind == "function_call"
                else _wire.custom_call(call_id, item.get("name"), item.get("input"))
            )
            blocks += [{**b, "tool_call_id": call_id} for b in pending]
            pending = []
        elif kind == "message":
            for raw_part in item.get("content") or ():
                part = _object(cfg, raw_part, "a message content part", status)
                if part.get("type") == "output_text":
                    text.append(part.get("text") or "")
                elif part.get("type") == "refusal":
                    refusal.append(part.get("refusal") or "")
            blocks += pending
            pending = []
        # web_search_call, file_search_call, ...: built-in tools the unified message has no place for.
    blocks += pending
    native = _native(data)
    message = Message(
        content="".join(text) if text else None,
        tool_calls=calls or None,
        reasoning_content=_PART_SEP.join(thoughts) or None,
        refusal="".join(refusal) if refusal else None,
        reasoning_blocks=blocks or None,
    )
    return ChatCompletion(
        id=data.get("id") or _normalise.new_id("resp_"),
        created=_created(data.get("created_at")),
        model=data.get("model") or model or "",
        choices=[
            Choice(
                index=0,
                message=message,
                finish_reason=_finish(cfg, native, bool(calls)),
                native_finish_reason=native,
            )
        ],
    )


# A call's argument pieces: a function's JSON, a custom tool's input text.
_ARGS_DELTA = frozenset({"response.function_call_arguments.delta", "response.custom_tool_call_input.delta"})


class StreamDecoder:
    """Responses stream events to OpenAI chunks: role first, text / refusal / reasoning / tool-call
    deltas, each reasoning item as one ``reasoning_blocks`` block once the item it led to begins, the
    finish reason at ``response.completed`` / ``response.incomplete`` and a usage chunk (choices=[]).

    Servers that send an item's text or arguments only in its ``.done`` event (no deltas) are read
    too: whatever a done event holds beyond what the deltas gave is sent as one more delta.
    """

    __slots__ = (
        "_args", "_cfg", "_created", "_finished", "_id", "_last_part", "_model", "_pending", "_reasoned",
        "_reasoned_items", "_receipt", "_started", "_texts", "_tool_index", "done",
    )  # fmt: skip

    def __init__(self, cfg: ProviderConfig, receipt: Receipt | None = None) -> None:
        self._cfg = cfg
        self._model = receipt.model if receipt else ""
        self._receipt = receipt
        self._id = ""
        self._created = _normalise.now()
        self._started = False
        self._finished = False
        self._tool_index: dict[int, int] = {}  # output_index -> tool call index
        self._args: dict[int, str] = {}  # output_index -> arguments sent so far
        self._texts: dict[tuple[int, str], str] = {}  # (output_index, text|refusal) -> text sent so far
        self._pending: list[dict[str, Any]] = []  # finished reasoning items waiting for their follower
        self._last_part: tuple[Any, ...] | None = None  # the reasoning part the last delta belonged to
        self._reasoned = False  # some reasoning text was sent (the next part is set off by a blank line)
        self._reasoned_items: set[Any] = set()  # ids of the reasoning items whose text came as deltas
        self.done = False

    def _chunk(self, delta: Delta, finish: Any = None, native: Any = None) -> list[ChatCompletionChunk]:
        if not self._started:
            self._started = True
            delta.role = "assistant"
        choice = ChunkChoice(index=0, delta=delta, finish_reason=finish, native_finish_reason=native)
        return [ChatCompletionChunk(id=self._id, created=self._created, model=self._model, choices=[choice])]

    def _response(self, data: Mapping[str, Any]) -> Mapping[str, Any]:
        response = data.get("response")
        if not isinstance(response, dict):
            return {}
        self._id = response.get("id") or self._id
        self._model = response.get("model") or self._model
        if response.get("created_at") is not None:
            self._created = _created(response["created_at"])
        return response

    def _flush(self, call_id: str | None) -> list[dict[str, Any]]:
        blocks = [{**b, "tool_call_id": call_id} if call_id else b for b in self._pending]
        self._pending = []
        return blocks

    def _reasoning(self, part: tuple[Any, ...], text: Any) -> list[ChatCompletionChunk]:
        if not isinstance(text, str) or not text:
            return []
        if part != self._last_part and self._reasoned:
            text = _PART_SEP + text
        self._last_part = part
        self._reasoned = True
        return self._chunk(Delta(reasoning_content=text))

    def _text(self, index: int, kind: str, full: Any) -> str | None:
        """What of ``full`` (a done event's whole text) the deltas have not sent yet."""
        if not isinstance(full, str):
            return None
        sent = self._texts.get((index, kind), "")
        self._texts[(index, kind)] = full if full.startswith(sent) else sent
        rest = full[len(sent) :] if full.startswith(sent) else ""
        return rest or None

    def _delta_text(self, data: Mapping[str, Any], kind: str) -> list[ChatCompletionChunk]:
        text = data.get("delta")
        if not isinstance(text, str) or not text:
            return []
        key = (data.get("output_index", 0), kind)
        self._texts[key] = self._texts.get(key, "") + text
        return self._chunk(Delta(content=text) if kind == "text" else Delta(refusal=text))

    def _call_args(self, index: int, full: Any, empty: str = "{}") -> list[ChatCompletionChunk]:
        if index not in self._tool_index:
            return []
        sent = self._args.get(index, "")
        full = full if isinstance(full, str) else sent
        if not full and not sent:
            full = empty  # no arguments: "{}" (a custom tool: ""), as the non-streamed answer gives
        if not full.startswith(sent) or full == sent:
            return []
        self._args[index] = full
        call = ToolCallDelta(index=self._tool_index[index], arguments=full[len(sent) :])
        return self._chunk(Delta(tool_calls=[call]))

    def unfinished(self) -> str | None:
        return None if self._finished else "no response.completed event"

    def feed(self, data: Mapping[str, Any], event: str | None) -> list[ChatCompletionChunk]:
        kind = data.get("type") or event
        if kind == "response.output_text.delta":  # the hot path first
            return self._delta_text(data, "text")
        if kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            index = data.get("summary_index", data.get("content_index", 0))
            self._reasoned_items.add(data.get("item_id"))
            return self._reasoning((data.get("item_id"), kind, index), data.get("delta"))
        if kind in _ARGS_DELTA:
            index = data.get("output_index", 0)
            part = data.get("delta")
            if index not in self._tool_index or not isinstance(part, str) or not part:
                return []
            self._args[index] = self._args.get(index, "") + part
            return self._chunk(
                Delta(tool_calls=[ToolCallDelta(index=self._tool_index[index], arguments=part)])
            )
        if kind == "response.refusal.delta":
            return self._delta_text(data, "refusal")
        if kind in ("response.created", "response.in_progress", "response.queued"):
            self._response(data)
            return [] if self._started else self._chunk(Delta())
        if kind == "response.output_item.added":
            return self._item_added(data)
        if kind == "response.function_call_arguments.done":
            return self._call_args(data.get("output_index", 0), data.get("arguments"))
        if kind == "response.custom_tool_call_input.done":
            return self._call_args(data.get("output_index", 0), data.get("input"), "")
        if kind == "response.output_item.done":
            return self._item_done(data)
        if kind in ("response.completed", "response.incomplete"):
            final = data.get("response")
            if self._receipt is not None and isinstance(final, dict):
                for key, value in final.items():  # the final Response's unread fields, as for a whole answer
                    if key not in ANSWER_KEYS and value is not None:
                        self._receipt.extra[key] = value
            return self._completed(data)
        if kind == "response.failed":
            raise _failed(self._cfg, self._response(data))
        if kind == "error":  # an error event without its SSE event name (the driver reads named ones)
            raise _errors.map_error(self._cfg, 500, {}, {"error": dict(data)})
        # content_part, *.done text events, annotations, built-in tool progress: nothing new to say.
        return []

    def _item_added(self, data: Mapping[str, Any]) -> list[ChatCompletionChunk]:
        item = _object(self._cfg, data.get("item"), "a response.output_item.added item")
        index = data.get("output_index", 0)
        kind = item.get("type")
        if kind in _CALLS:
            call_id = item.get("call_id") or item.get("id") or f"call_{len(self._tool_index)}"
            self._tool_index[index] = len(self._tool_index)
            custom = kind == "custom_tool_call"
            args = _text(item.get("input" if custom else "arguments"))
            self._args[index] = args
            call = ToolCallDelta(
                index=self._tool_index[index],
                id=call_id,
                name=item.get("name") or "",
                arguments=args,
                custom=custom,
            )
            return self._chunk(Delta(tool_calls=[call], reasoning_blocks=self._flush(call_id) or None))
        if kind == "message" and self._pending:
            return self._chunk(Delta(reasoning_blocks=self._flush(None)))
        return []

    def _item_done(self, data: Mapping[str, Any]) -> list[ChatCompletionChunk]:
        item = _object(self._cfg, data.get("item"), "a response.output_item.done item")
        index = data.get("output_index", 0)
        kind = item.get("type")
        if kind == "reasoning":
            self._pending.append(_block(item))
            if item.get("id") not in self._reasoned_items:
                # A server that sends the reasoning only in the done item: its text, once.
                texts = _reasoning_texts(item)
                if texts:
                    return self._reasoning(("done", item.get("id")), _PART_SEP.join(texts))
            return []
        if kind == "function_call":
            return self._call_args(index, item.get("arguments"))
        if kind == "custom_tool_call":
            return self._call_args(index, item.get("input"), "")
        if kind == "message":
            text: list[str] = []
            refusal: list[str] = []
            for raw in item.get("content") or ():
                part = _object(self._cfg, raw, "a message content part")
                if part.get("type") == "output_text":
                    text.append(part.get("text") or "")
                elif part.get("type") == "refusal":
                    refusal.append(part.get("refusal") or "")
            content = self._text(index, "text", "".join(text)) if text else None
            refused = self._text(index, "refusal", "".join(refusal)) if refusal else None
            if content is None and refused is None:
                return []
            return self._chunk(Delta(content=content, refusal=refused))
        return []

    def _completed(self, data: Mapping[str, Any]) -> list[ChatCompletionChunk]:
        _object(self._cfg, data.get("response"), "the final event's response")
        response = self._response(data)
        if response.get("status") == "failed":
            raise _failed(self._cfg, response)
        self._finished = True
        self.done = True
        native = _native(response)
        finish = _finish(self._cfg, native, bool(self._tool_index))
        out = self._chunk(Delta(reasoning_blocks=self._flush(None) or None), finish, native)
        usage = _normalise.usage_from(self._cfg.usage, response)
        if usage is not None:
            out.append(
                ChatCompletionChunk(
                    id=self._id, created=self._created, model=self._model, choices=[], usage=usage
                )
            )
        return out

    def close(self) -> list[ChatCompletionChunk]:
        return []


def decoder(cfg: ProviderConfig, receipt: Receipt | None) -> StreamDecoder:
    return StreamDecoder(cfg, receipt)
