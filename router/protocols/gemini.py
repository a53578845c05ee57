"""The ``gemini`` wire protocol: Google's generateContent / streamGenerateContent REST API.

Reference: https://ai.google.dev/api/generate-content ; field names checked against the official SDK's
types (google-genai: ``types.Content``, ``Part``, ``GenerationConfig``, ``Tool``, ``ToolConfig``).

What is protocol, not provider, and so lives here: the model goes in the URL, not the body; system and
developer messages become ``systemInstruction``; turns are ``contents`` with roles ``user`` and
``model`` (consecutive turns of one role are merged) made of ``parts``: ``text``, ``inlineData``,
``fileData``, ``functionCall``, ``functionResponse``; tools are ``functionDeclarations`` and
``tool_choice`` is ``toolConfig.functionCallingConfig``; JSON output is ``responseMimeType`` plus
``responseJsonSchema``; answers are ``candidates`` whose ``thought: true`` parts are reasoning; a
stream is a sequence of whole GenerateContentResponse objects that ends at EOF. Everything a provider
varies (renames into generationConfig, limits, the thinking table, schema keywords to drop, finish
reasons, usage paths, errors) comes from the spec via ProviderConfig.

Provider-native data kept on the unified message
------------------------------------------------
Gemini signs its reasoning with ``thoughtSignature`` on the part that follows it and needs the
signature back, in that part, on the next turn (a 400 on Gemini 3 function calls otherwise:
https://ai.google.dev/gemini-api/docs/thought-signatures). Such data travels in
``Message.reasoning_blocks`` (and ``Delta.reasoning_blocks`` when streaming) as dicts with
``"type": "gemini"``:

* ``{"type": "gemini", "tool_call_id": ID, "thoughtSignature": S}`` -- the ``functionCall`` part of
  tool call ID carried signature S. ``"id"`` is added when Gemini itself named the call (its
  ``functionCall.id``); that id is then echoed in ``functionCall.id`` and ``functionResponse.id``.
* ``{"type": "gemini", "thoughtSignature": S}`` -- a text part carried S; it is sent back on the
  assistant turn's text part.

Blocks of any other ``type`` (another protocol's) are ignored when the message is sent back.

Tool call ids
-------------
Gemini usually gives function calls no id. The unified id is then
``call_`` + the first 24 hex digits of SHA-256 over (responseId, candidate index, call ordinal, name,
arguments): stable for one answer (a stream and a non-stream read of it agree), distinct across
answers. A ``role: tool`` message is matched back to its function name through that id.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

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
from router._types import Usage
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
STREAM_KEY: str | None = None  # streaming is the :streamGenerateContent path, not a body field
STREAM_ALWAYS: bool = False
# Answer keys read here (the rest goes to receipt.extra).
ANSWER_KEYS: frozenset[str] = frozenset(
    {"candidates", "usageMetadata", "modelVersion", "responseId", "promptFeedback"}
)
MODEL_PREFIX: str = "models/"  # the API names models "models/<id>"; the path template adds the prefix itself

# The tag on the reasoning_blocks this codec writes and reads back.
_BLOCK = "gemini"

# Image types Gemini reads (https://ai.google.dev/gemini-api/docs/image-understanding#supported-formats),
# by file extension, for image URLs sent as fileData. Unknown extensions are sent as image/jpeg.
_IMAGE_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "heic": "image/heic",
    "heif": "image/heif",
    "gif": "image/gif",
}

# tool_choice strings -> functionCallingConfig.mode:
# https://ai.google.dev/api/caching#FunctionCallingConfig
_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY"}


# --------------------------------------------------------------------------- request


def _data_url(cfg: ProviderConfig, url: str, what: str) -> dict[str, Any]:
    header, _, data = url.partition(",")
    if ";base64" not in header:
        raise UnsupportedParamsError(f"{cfg.id}: {what} data URLs must be base64", provider=cfg.id)
    mime = header[5:].split(";")[0]
    if not mime:
        raise UnsupportedParamsError(f"{cfg.id}: {what} data URL names no media type", provider=cfg.id)
    return {"inlineData": {"mimeType": mime, "data": data}}


def _image_part(cfg: ProviderConfig, part: Mapping[str, Any]) -> dict[str, Any]:
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str) or not url:
        raise BadRequestError("an image_url part needs image_url.url", provider=cfg.id)
    if url.startswith("data:"):
        return _data_url(cfg, url, "image")
    scheme = url.split(":", 1)[0].lower()
    if scheme not in ("http", "https"):
        raise UnsupportedParamsError(
            f"{cfg.id} cannot fetch an image URL with scheme {scheme!r}", provider=cfg.id
        )
    # Public http(s) URLs are read by Gemini itself:
    # https://ai.google.dev/gemini-api/docs/file-input-methods
    ext = urlsplit(url).path.rsplit(".", 1)[-1].lower() if "." in urlsplit(url).path else ""
    return {"fileData": {"mimeType": _IMAGE_TYPES.get(ext, "image/jpeg"), "fileUri": url}}


def _audio_part(cfg: ProviderConfig, part: Mapping[str, Any]) -> dict[str, Any]:
    audio = part.get("input_audio") or {}
    fmt, data = audio.get("format"), audio.get("data")
    if not isinstance(fmt, str) or not isinstance(data, str):
        raise BadRequestError("an input_audio part needs input_audio.data and .format", provider=cfg.id)
    # https://ai.google.dev/gemini-api/docs/audio#supported-formats
    return {"inlineData": {"mimeType": f"audio/{fmt}", "data": data}}


def _file_part(cfg: ProviderConfig, part: Mapping[str, Any]) -> dict[str, Any]:
    file = part.get("file") or {}
    data = file.get("file_data")
    if isinstance(data, str) and data.startswith("data:"):
        return _data_url(cfg, data, "file")
    raise UnsupportedParamsError(
        f"{cfg.id} takes a file part only as file_data holding a base64 data URL", provider=cfg.id
    )


def _parts(cfg: ProviderConfig, content: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts: list[dict[str, Any]] = []
    for part in content:
        if not isinstance(part, dict):
            raise BadRequestError(
                f"a content part must be an object, got {type(part).__name__}", provider=cfg.id
            )
        kind = part.get("type")
        if kind == "text":
            parts.append({"text": part.get("text", "")})
        elif kind == "image_url":
            parts.append(_image_part(cfg, part))
        elif kind == "input_audio":
            parts.append(_audio_part(cfg, part))
        elif kind == "file":
            parts.append(_file_part(cfg, part))
        else:
            raise UnsupportedParamsError(
                f"{cfg.id} cannot take a content part of type {kind!r}", provider=cfg.id
            )
    return parts


def _text_only(cfg: ProviderConfig, content: Any, where: str) -> list[dict[str, Any]]:
    parts = _parts(cfg, content)
    for p in parts:
        if "text" not in p:
            raise UnsupportedParamsError(
                f"{cfg.id} takes only text in {where}, got {next(iter(p))}", provider=cfg.id
            )
    return parts


def _args(cfg: ProviderConfig, tc: Mapping[str, Any]) -> dict[str, Any]:
    parsed = _wire.call_arguments(cfg, tc)
    if not isinstance(parsed, dict):
        # functionCall.args is a JSON object (a protobuf Struct).
        raise BadRequestError(
            f"tool call {tc.get('id')!r} has arguments that are not a JSON object", provider=cfg.id
        )
    return parsed


def _model_parts(
    cfg: ProviderConfig, m: Mapping[str, Any], names: dict[str, str], native_ids: set[str]
) -> list[dict[str, Any]]:
    blocks = [b for b in m.get("reasoning_blocks") or () if isinstance(b, dict) and b.get("type") == _BLOCK]
    by_call = {b["tool_call_id"]: b for b in blocks if b.get("tool_call_id") is not None}
    text_signatures = [
        b["thoughtSignature"] for b in blocks if b.get("tool_call_id") is None and b.get("thoughtSignature")
    ]
    parts: list[dict[str, Any]] = []
    reasoning = m.get("reasoning_content")
    if cfg.messages.reasoning_content == "send" and isinstance(reasoning, str) and reasoning:
        parts.append({"text": reasoning, "thought": True})
    text = _text_only(cfg, m.get("content"), "an assistant message")
    if text_signatures:
        # A signature goes back in the part it came in; signed parts are never merged.
        if text:
            text[-1]["thoughtSignature"] = text_signatures[0]
            text_signatures = text_signatures[1:]
        text += [{"text": "", "thoughtSignature": s} for s in text_signatures]
    parts += text
    if m.get("function_call") is not None:
        raise UnsupportedParamsError(
            f"{cfg.id}: assistant function_call (legacy) is not supported; use tool_calls", provider=cfg.id
        )
    for tc in m.get("tool_calls") or ():
        fn = tc.get("function") or {}
        name = fn.get("name")
        if not isinstance(name, str) or not name:
            raise BadRequestError(f"tool call {tc.get('id')!r} has no function name", provider=cfg.id)
        call: dict[str, Any] = {"name": name, "args": _args(cfg, tc)}
        tc_id = tc.get("id")
        meta = by_call.get(tc_id) if isinstance(tc_id, str) else None
        if isinstance(tc_id, str):
            names[tc_id] = name
            if meta is not None and meta.get("id"):
                call["id"] = meta["id"]
                native_ids.add(tc_id)
        part: dict[str, Any] = {"functionCall": call}
        if meta is not None and meta.get("thoughtSignature"):
            part["thoughtSignature"] = meta["thoughtSignature"]
        parts.append(part)
    return parts


def _tool_result_text(cfg: ProviderConfig, content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") for p in _text_only(cfg, content, "a tool result"))


def _function_response(
    cfg: ProviderConfig, m: Mapping[str, Any], names: Mapping[str, str], native_ids: set[str]
) -> dict[str, Any]:
    tc_id = m.get("tool_call_id")
    name = names.get(tc_id) if isinstance(tc_id, str) else None
    if name is None:
        raise BadRequestError(
            f"tool message for {tc_id!r} answers no earlier assistant tool call; "
            f"{cfg.id} needs the function's name, which comes from that call",
            provider=cfg.id,
        )
    # https://ai.google.dev/api/caching#FunctionResponse : response is a JSON object.
    response: dict[str, Any] = {
        "name": name,
        "response": {"result": _tool_result_text(cfg, m.get("content"))},
    }
    if tc_id in native_ids:
        response["id"] = tc_id
    return {"functionResponse": response}


def _convert_messages(
    cfg: ProviderConfig, messages: list[Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool call id -> function name, from earlier assistant turns
    native_ids: set[str] = set()
    for raw in messages:
        m = _wire.as_dict(raw)
        role = m.get("role")
        if role in ("system", "developer"):
            system += _text_only(cfg, m.get("content"), "a system message")
            continue
        if role == "user":
            wire_role, parts = "user", _parts(cfg, m.get("content"))
        elif role == "assistant":
            wire_role, parts = "model", _model_parts(cfg, m, names, native_ids)
        elif role == "tool":
            wire_role, parts = "user", [_function_response(cfg, m, names, native_ids)]
        elif role == "function":
            raise UnsupportedParamsError(
                f"{cfg.id}: role 'function' (legacy) is not supported; use role 'tool'", provider=cfg.id
            )
        else:
            raise BadRequestError(f"unknown message role {role!r}", provider=cfg.id)
        if not parts:
            continue  # Gemini rejects a turn without parts; an empty message says nothing
        if contents and contents[-1]["role"] == wire_role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": wire_role, "parts": parts})
    if not contents:
        raise BadRequestError(f"{cfg.id} needs at least one user or assistant message", provider=cfg.id)
    return system, contents


def _tools(cfg: ProviderConfig, request: Mapping[str, Any]) -> list[dict[str, Any]]:
    declarations = []
    for t in request.get("tools") or ():
        kind = t.get("type", "function")
        if kind != "function":
            raise UnsupportedParamsError(f"{cfg.id} cannot take a tool of type {kind!r}", provider=cfg.id)
        fn = t.get("function") or {}
        name = fn.get("name")
        if not isinstance(name, str) or not name:
            raise BadRequestError("a function tool needs function.name", provider=cfg.id)
        decl: dict[str, Any] = {"name": name}
        if fn.get("description"):
            decl["description"] = fn["description"]
        if fn.get("parameters"):
            decl["parameters"] = _wire.clean_schema(fn["parameters"], cfg.tools.schema_drop_keywords)
        declarations.append(decl)
    # https://ai.google.dev/api/caching#Tool : one Tool holds every function declaration.
    return [{"functionDeclarations": declarations}]


def _tool_config(
    cfg: ProviderConfig, request: Mapping[str, Any], receipt: Receipt, strict: bool
) -> dict[str, Any] | None:
    if request.get("parallel_tool_calls") is False:
        # Gemini has no switch to keep the model to one call per turn.
        if strict:
            raise UnsupportedParamsError(f"{cfg.id} cannot turn parallel tool calls off", provider=cfg.id)
        receipt.dropped.append("parallel_tool_calls")
    choice = request.get("tool_choice")
    if choice is None:
        return None
    config: dict[str, Any]
    if isinstance(choice, str) and choice in _MODES:
        config = {"mode": _MODES[choice]}
    elif isinstance(choice, dict) and choice.get("type") == "function":
        name = (choice.get("function") or {}).get("name")
        if not name:
            raise BadRequestError("tool_choice function needs function.name", provider=cfg.id)
        config = {"mode": "ANY", "allowedFunctionNames": [name]}
    elif isinstance(choice, dict) and choice.get("type") == "allowed_tools":
        allowed = choice.get("allowed_tools") or {}
        fn_names = [(t.get("function") or {}).get("name") for t in allowed.get("tools") or ()]
        # VALIDATED: function calls limited to allowedFunctionNames, or plain text.
        mode = "ANY" if allowed.get("mode") == "required" else "VALIDATED"
        config = {"mode": mode, "allowedFunctionNames": [n for n in fn_names if n]}
    else:
        raise BadRequestError(f"tool_choice {choice!r} is not one OpenAI defines", provider=cfg.id)
    return {"functionCallingConfig": config}


def _response_format(
    cfg: ProviderConfig, request: Mapping[str, Any], body: dict[str, Any], receipt: Receipt, strict: bool
) -> None:
    rf = request.get("response_format")
    if rf is None:
        return
    kind = rf.get("type") if isinstance(rf, dict) else None
    if kind == "text":
        return
    if kind == "json_object":
        mechanism = cfg.structured_output.json_object
    elif kind == "json_schema":
        mechanism = cfg.structured_output.json_schema
    else:
        raise BadRequestError(f"response_format {rf!r} is not one OpenAI defines", provider=cfg.id)
    if mechanism == "tool":
        raise UnsupportedParamsError(
            f"{cfg.id}: this codec carries response_format natively or not at all", provider=cfg.id
        )
    if mechanism == "unsupported":
        if strict:
            raise UnsupportedParamsError(f"{cfg.id} does not support response_format {kind}", provider=cfg.id)
        receipt.dropped.append("response_format")
        return
    gen = body.setdefault("generationConfig", {})
    gen["responseMimeType"] = "application/json"
    if kind == "json_schema":
        schema = (rf.get("json_schema") or {}).get("schema")
        if schema:
            # responseJsonSchema takes JSON Schema as is (the Schema subset is responseSchema).
            gen["responseJsonSchema"] = schema


def translate(
    cfg: ProviderConfig, request: Request, body: Body, *, model: str, receipt: Receipt, strict: bool
) -> frozenset[str]:
    if request.get("functions") or request.get("function_call") is not None:
        # The legacy functions/function_call become tools/tool_choice (a shallow view, no deep copy).
        tools, choice = _wire.tools_and_choice(request)
        request = {**request, "tools": tools, "tool_choice": choice}
    system, contents = _convert_messages(cfg, _wire.messages_of(cfg, request))
    if system:
        body["systemInstruction"] = {"parts": system}
    body["contents"] = contents
    if request.get("tools"):
        body["tools"] = _tools(cfg, request)
    tool_config = _tool_config(cfg, request, receipt, strict)
    if tool_config is not None:
        body["toolConfig"] = tool_config
    _response_format(cfg, request, body, receipt, strict)
    return HANDLED


# --------------------------------------------------------------------------- responses


def _call_id(response_id: str, candidate: int, ordinal: int, name: str, arguments: str) -> str:
    seed = f"{response_id}\x00{candidate}\x00{ordinal}\x00{name}\x00{arguments}"
    return "call_" + hashlib.sha256(seed.encode()).hexdigest()[:24]


class _Parts:
    """One candidate's parts (or one stream frame's), sorted into the unified pieces."""

    __slots__ = ("blocks", "calls", "text", "thoughts")

    def __init__(self) -> None:
        self.text: list[str] = []
        self.thoughts: list[str] = []
        self.calls: list[AnyToolCall] = []
        self.blocks: list[dict[str, Any]] = []


def _read_parts(parts: Any, response_id: str, candidate: int, first_ordinal: int = 0) -> _Parts:
    out = _Parts()
    for p in parts if isinstance(parts, list) else ():
        if not isinstance(p, dict):
            continue
        signature = p.get("thoughtSignature")
        fc = p.get("functionCall")
        if isinstance(fc, dict):
            name = fc.get("name") or ""
            arguments = _wire.json_arguments(fc.get("args"))
            native_id = fc.get("id")
            call_id = native_id or _call_id(
                response_id, candidate, first_ordinal + len(out.calls), name, arguments
            )
            out.calls.append(ToolCall(id=call_id, function=FunctionCall(name=name, arguments=arguments)))
            block: dict[str, Any] = {"type": _BLOCK, "tool_call_id": call_id}
            if native_id:
                block["id"] = native_id
            if signature:
                block["thoughtSignature"] = signature
            if len(block) > 2:
                out.blocks.append(block)
            continue
        text = p.get("text")
        if isinstance(text, str):
            (out.thoughts if p.get("thought") else out.text).append(text)
        # inlineData, executableCode, codeExecutionResult...: the unified message has no place for them.
        if signature:
            out.blocks.append({"type": _BLOCK, "thoughtSignature": signature})
    return out


def _finish(cfg: ProviderConfig, native: Any, has_calls: bool) -> FinishReason | None:
    mapped: FinishReason | None = _normalise.finish_reason(cfg, native)
    # Gemini has no tool-call finish reason: an answer with function calls ends with STOP.
    if has_calls and mapped == "stop":
        return "tool_calls"
    return mapped


def body_error(data: Any) -> int | None:
    """An ``error`` object where an answer should be; its ``code`` is the HTTP status."""
    if isinstance(data, dict) and isinstance(data.get("error"), dict) and "candidates" not in data:
        code = data["error"].get("code")
        return code if isinstance(code, int) else 0
    return None


def parse(cfg: ProviderConfig, data: Answer, status: int, receipt: Receipt | None) -> ChatCompletion:
    model = receipt.model if receipt else None
    response_id = data.get("responseId") or ""
    candidates = data.get("candidates")
    choices: list[Choice] = []
    if isinstance(candidates, list) and candidates:
        for i, c in enumerate(candidates):
            if not isinstance(c, dict):
                continue
            index = c.get("index", i)
            got = _read_parts((c.get("content") or {}).get("parts"), response_id, index)
            native = c.get("finishReason")
            choices.append(
                Choice(
                    index=index,
                    message=Message(
                        content="".join(got.text) or None,
                        tool_calls=got.calls or None,
                        reasoning_content="".join(got.thoughts) or None,
                        reasoning_blocks=got.blocks or None,
                    ),
                    finish_reason=_finish(cfg, native, bool(got.calls)),
                    native_finish_reason=native,
                )
            )
    elif "promptFeedback" in data or "usageMetadata" in data:
        # The prompt itself was blocked: no candidates, promptFeedback.blockReason says why.
        # https://ai.google.dev/api/generate-content#PromptFeedback
        block = (data.get("promptFeedback") or {}).get("blockReason")
        choices.append(
            Choice(index=0, message=Message(), finish_reason="content_filter", native_finish_reason=block)
        )
    else:
        raise InvalidResponseError("response has no candidates", status=status, provider=cfg.id, body=data)
    return ChatCompletion(
        id=response_id or _normalise.new_id("chatcmpl-"),
        created=_normalise.now(),
        model=data.get("modelVersion") or model or "",
        choices=choices,
    )


_PATH_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]|\['([^']*)'\]")


def _set_path(root: dict[str, Any], path: str, value: Any, append: bool) -> None:
    """Set ``value`` at a JSONPath such as ``$.a.b[0]`` (an ``append``ed string continues the one there)."""
    steps: list[str | int] = [
        int(m.group(2)) if m.group(2) is not None else (m.group(1) or m.group(3) or "")
        for m in _PATH_STEP.finditer(path.removeprefix("$"))
    ]
    node: Any = root
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        nxt: Any = None if last else ([] if isinstance(steps[i + 1], int) else {})
        if isinstance(step, int):
            if not isinstance(node, list):
                return
            while len(node) <= step:
                node.append(nxt)
            if last:
                node[step] = node[step] + value if append and isinstance(node[step], str) else value
            elif node[step] is None:
                node[step] = nxt
            node = node[step]
        else:
            if not isinstance(node, dict):
                return
            if last:
                prev = node.get(step)
                node[step] = prev + value if append and isinstance(prev, str) else value
            else:
                node = node.setdefault(step, nxt)


class _PartialCall:
    """A function call whose arguments stream as ``partialArgs`` (Vertex AI's streamed function call
    arguments): the part that names it has ``willContinue``, later parts carry ``partialArgs``
    ({jsonPath, stringValue|numberValue|boolValue|nullValue, willContinue}) and a part with no
    ``willContinue`` ends it. https://cloud.google.com/vertex-ai/generative-ai/docs/multimodal/function-calling#streaming-arguments
    """

    __slots__ = ("args", "fields", "open_strings")

    def __init__(self, head: Mapping[str, Any], signature: Any) -> None:
        self.fields = {k: v for k, v in head.items() if k not in ("willContinue", "partialArgs")}
        self.fields["signature"] = signature
        self.args: dict[str, Any] = {}
        self.open_strings: set[str] = set()  # paths whose string value continues in the next fragment

    def add(self, partial: Any) -> None:
        for arg in partial if isinstance(partial, list) else ():
            if not isinstance(arg, dict) or not isinstance(arg.get("jsonPath"), str):
                continue
            path = arg["jsonPath"]
            if "stringValue" in arg:
                value: Any = arg["stringValue"]
            elif "numberValue" in arg:
                value = arg["numberValue"]
            elif "boolValue" in arg:
                value = arg["boolValue"]
            else:
                value = None
            _set_path(self.args, path, value, append=path in self.open_strings and isinstance(value, str))
            if arg.get("willContinue") and isinstance(value, str):
                self.open_strings.add(path)
            else:
                self.open_strings.discard(path)

    def part(self) -> dict[str, Any]:
        fields = dict(self.fields)
        signature = fields.pop("signature")
        whole: dict[str, Any] = {"functionCall": {**fields, "args": self.args}}
        if signature:
            whole["thoughtSignature"] = signature
        return whole


def _join_partial_calls(parts: Any, open_call: _PartialCall | None) -> tuple[list[Any], _PartialCall | None]:
    """A stream frame's parts with streamed-argument calls assembled into whole functionCall parts
    (a call still open at the frame's end carries over to the next frame)."""
    out: list[Any] = []
    for p in parts if isinstance(parts, list) else ():
        fc = p.get("functionCall") if isinstance(p, dict) else None
        if not isinstance(fc, dict):
            out.append(p)
            continue
        if open_call is None and fc.get("willContinue") and fc.get("name"):
            open_call = _PartialCall(fc, p.get("thoughtSignature"))
            open_call.add(fc.get("partialArgs"))
            continue
        if open_call is not None and not fc.get("name"):
            open_call.add(fc.get("partialArgs"))
            if not fc.get("willContinue"):
                out.append(open_call.part())
                open_call = None
            continue
        out.append(p)
    return out, open_call


_TEXT_PART = frozenset({"text"})


def _only_text(candidate: Mapping[str, Any]) -> str | None:
    """The text of a candidate whose content is one plain text part (no thought, signature or call),
    else None (then the parts are read in full)."""
    content = candidate.get("content")
    parts = content.get("parts") if type(content) is dict else None
    if type(parts) is not list or len(parts) != 1:
        return None
    part = parts[0]
    if type(part) is not dict or not _TEXT_PART.issuperset(part):
        return None
    text = part.get("text")
    return text if type(text) is str else None


class StreamDecoder:
    """Gemini stream frames to OpenAI chunks: role first, text/thought/tool deltas, finish reason on the
    candidate's last frame, one usage chunk (choices=[]) at the end. The stream has no end marker, so
    ``close()`` raises APIConnectionError unless every candidate that began has finished."""

    __slots__ = (
        "_calls", "_cfg", "_created", "_ended", "_id", "_model", "_partial", "_roots", "_started", "_usage",
        "_usage_frame", "done",
    )  # fmt: skip

    def __init__(self, cfg: ProviderConfig, receipt: Receipt | None = None) -> None:
        self._cfg = cfg
        self._model = receipt.model if receipt else ""
        self._id = ""
        self._created = _normalise.now()
        self._usage: Usage | None = None
        # Every frame repeats the running usage totals: the last frame that has them is kept, and read
        # once, when the stream ends (not a Usage object per frame).
        self._usage_frame: Mapping[str, Any] | None = None
        self._roots = cfg.usage.roots
        self._calls: dict[int, int] = {}  # candidate index -> function calls seen so far
        self._started: set[int] = set()  # candidate indexes whose role was sent
        self._ended: set[int] = set()  # candidate indexes whose finish reason was sent
        self._partial: dict[int, _PartialCall] = {}  # candidate index -> a call whose arguments stream
        self.done = False

    def _choice(self, index: int, delta: Delta, native: Any) -> ChunkChoice:
        if index not in self._started:
            self._started.add(index)
            delta.role = "assistant"
        finish = None
        if native is not None:
            self._ended.add(index)
            finish = _finish(self._cfg, native, self._calls.get(index, 0) > 0)
        return ChunkChoice(index, delta, finish, native)  # positional: faster, once per chunk

    def unfinished(self) -> str | None:
        # Complete when every candidate that began has its finish reason (n > 1 streams several).
        return None if self._ended and self._started <= self._ended else ""

    def _note(self, data: Mapping[str, Any]) -> None:
        """What every frame may update: the response id, the model version, the last usage seen."""
        self._id = data.get("responseId") or self._id
        self._model = data.get("modelVersion") or self._model
        for root in self._roots:
            if data.get(root) is not None:
                self._usage_frame = data  # the last one counts (read by close())
                break

    def fast(self, data: dict[str, Any], event: str | None) -> ChatCompletionChunk | None:
        """Most frames: one candidate, already begun, whose content is one text part, no finish
        reason (the contract in router/protocols/_driver.py, CodecDecoder; a frame with
        ``candidates`` is never an error)."""
        candidates = data.get("candidates")
        if type(candidates) is not list or len(candidates) != 1 or not ANSWER_KEYS.issuperset(data):
            return None
        c = candidates[0]
        if type(c) is not dict or c.get("finishReason") is not None:
            return None
        index = c.get("index", 0)
        if type(index) is not int or index not in self._started or index in self._partial:
            return None
        text = _only_text(c)
        if text is None:
            return None
        self._note(data)
        return text_chunk(self._id, self._created, self._model, index, text)

    def feed(self, data: Mapping[str, Any], event: str | None) -> list[ChatCompletionChunk]:
        self._note(data)
        choices: list[ChunkChoice] = []
        candidates = data.get("candidates")
        if isinstance(candidates, list) and candidates:
            for i, c in enumerate(candidates):
                if not isinstance(c, dict):
                    continue
                index = c.get("index", i)
                text = _only_text(c) if index not in self._partial else None
                if text is not None:  # most frames: one plain text part
                    choices.append(self._choice(index, Delta(None, text), c.get("finishReason")))
                    continue
                seen = self._calls.get(index, 0)
                parts, still_open = _join_partial_calls(
                    (c.get("content") or {}).get("parts"), self._partial.pop(index, None)
                )
                if still_open is not None and c.get("finishReason") is not None:
                    parts.append(still_open.part())  # the answer ended: so did its last call
                elif still_open is not None:
                    self._partial[index] = still_open
                got = _read_parts(parts, self._id, index, seen)
                self._calls[index] = seen + len(got.calls)
                delta = Delta(
                    content="".join(got.text) if got.text else None,
                    reasoning_content="".join(got.thoughts) if got.thoughts else None,
                    tool_calls=[
                        ToolCallDelta(
                            index=seen + k, id=tc.id, name=tc.function.name, arguments=tc.function.arguments
                        )
                        for k, tc in enumerate(got.calls)
                    ]
                    or None,
                    reasoning_blocks=got.blocks or None,
                )
                choices.append(self._choice(index, delta, c.get("finishReason")))
        elif isinstance(data.get("promptFeedback"), dict):
            block = data["promptFeedback"].get("blockReason")
            if block is not None:
                # The prompt was blocked: no candidates will come.
                delta = Delta(role=None if 0 in self._started else "assistant")
                self._started.add(0)
                self._ended.add(0)
                choices.append(
                    ChunkChoice(
                        index=0, delta=delta, finish_reason="content_filter", native_finish_reason=block
                    )
                )
        if not choices:
            return []
        return [ChatCompletionChunk(self._id, self._created, self._model, choices)]  # id, created, model

    def close(self) -> list[ChatCompletionChunk]:
        self.done = True
        if self._usage_frame is not None:
            self._usage = _normalise.usage_from(self._cfg.usage, self._usage_frame)
        if self._usage is None:
            return []
        return [
            ChatCompletionChunk(
                id=self._id, created=self._created, model=self._model, choices=[], usage=self._usage
            )
        ]


def decoder(cfg: ProviderConfig, receipt: Receipt | None) -> StreamDecoder:
    return StreamDecoder(cfg, receipt)
