"""The unified shapes: OpenAI Chat Completions, in and out.

Every adapter returns these, whatever the provider spoke on the wire. They are plain slotted
dataclasses: attribute access (``resp.choices[0].message.content``) and ``.to_dict()`` for the JSON
form, which validates against the official ``openai`` package's ``ChatCompletion`` and
``ChatCompletionChunk`` types (tests/test_conformance.py holds that line).

Two additions to OpenAI's shape, both always present:

* ``choice.native_finish_reason`` -- the provider's own finish reason, never lost in the mapping.
* ``completion.router`` -- the translation receipt: which provider answered and what happened to
  each request parameter (dropped, renamed, clamped, defaulted).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Literal

__all__ = [
    "ChatCompletion",
    "ChatCompletionChunk",
    "Choice",
    "ChunkChoice",
    "CompletionTokensDetails",
    "Delta",
    "FinishReason",
    "FunctionCall",
    "FunctionCallDelta",
    "HttpRequest",
    "Message",
    "PromptTokensDetails",
    "Receipt",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
]

FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "function_call"]

_MASK = "****"


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


@dataclass(slots=True)
class FunctionCall:
    name: str
    arguments: str  # always a JSON string, as in OpenAI's API

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": self.arguments}


@dataclass(slots=True)
class ToolCall:
    id: str
    function: FunctionCall
    type: Literal["function"] = "function"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "function": self.function.to_dict()}


@dataclass(slots=True)
class Message:
    role: Literal["assistant"] = "assistant"
    content: str | None = None
    tool_calls: list[ToolCall] | None = None
    reasoning_content: str | None = None
    refusal: str | None = None
    # Provider-native reasoning blocks (e.g. Anthropic thinking blocks with signatures) kept so they
    # can be sent back verbatim on the next turn.
    reasoning_blocks: list[dict[str, Any]] | None = None
    # The legacy answer to a request with ``functions`` (finish_reason "function_call"), as OpenAI sends it.
    function_call: FunctionCall | None = None
    # OpenAI's message annotations (url_citation, ...), where the provider returned them.
    annotations: list[dict[str, Any]] | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            d["tool_calls"] = [t.to_dict() for t in self.tool_calls]
        if self.reasoning_content is not None:
            d["reasoning_content"] = self.reasoning_content
        if self.refusal is not None:
            d["refusal"] = self.refusal
        if self.reasoning_blocks:
            d["reasoning_blocks"] = self.reasoning_blocks
        if self.function_call is not None:
            d["function_call"] = self.function_call.to_dict()
        if self.annotations:
            d["annotations"] = self.annotations
        return d


@dataclass(slots=True)
class Choice:
    index: int
    message: Message
    finish_reason: FinishReason | None
    native_finish_reason: str | None = None
    # OpenAI's logprobs object ({"content": [...], "refusal": ...}) where the provider returned one.
    logprobs: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "message": self.message.to_dict(),
            "finish_reason": self.finish_reason,
            "native_finish_reason": self.native_finish_reason,
            "logprobs": self.logprobs,
        }


@dataclass(slots=True)
class PromptTokensDetails:
    """Field names are the official ``openai`` package's (``PromptTokensDetails``)."""

    cached_tokens: int = 0  # prompt tokens read from the provider's cache
    cache_write_tokens: int | None = None  # prompt tokens written to it (None: not reported)

    def to_dict(self) -> dict[str, Any]:
        return _drop_none(
            {"cached_tokens": self.cached_tokens, "cache_write_tokens": self.cache_write_tokens}
        )


@dataclass(slots=True)
class CompletionTokensDetails:
    reasoning_tokens: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"reasoning_tokens": self.reasoning_tokens}


@dataclass(slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    prompt_tokens_details: PromptTokensDetails = field(default_factory=PromptTokensDetails)
    completion_tokens_details: CompletionTokensDetails = field(default_factory=CompletionTokensDetails)

    def to_dict(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            "prompt_tokens_details": self.prompt_tokens_details.to_dict(),
            "completion_tokens_details": self.completion_tokens_details.to_dict(),
        }


@dataclass(slots=True)
class Receipt:
    """What the router did to a request on its way to the provider.

    >>> resp.router.dropped
    ['frequency_penalty']
    """

    provider: str
    model: str
    dropped: list[str] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)
    clamped: dict[str, Any] = field(default_factory=dict)
    defaulted: dict[str, Any] = field(default_factory=dict)
    # Answer fields the unified shape has no place for, by their wire path ("x_groq",
    # "choices.0.message.citations"): kept here, never dropped. For streams, the last value of each.
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = {
            "provider": self.provider,
            "model": self.model,
            "dropped": list(self.dropped),
            "renamed": dict(self.renamed),
            "clamped": dict(self.clamped),
            "defaulted": dict(self.defaulted),
        }
        if self.extra:
            d["extra"] = dict(self.extra)
        return d


@dataclass(slots=True)
class ChatCompletion:
    id: str
    created: int
    model: str
    choices: list[Choice]
    usage: Usage | None = None
    object: Literal["chat.completion"] = "chat.completion"
    system_fingerprint: str | None = None
    router: Receipt | None = None
    # USD from the catalogue's prices and this usage; None when the model has no declared price.
    cost: float | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            "object": self.object,
            "created": self.created,
            "model": self.model,
            "choices": [c.to_dict() for c in self.choices],
        }
        if self.usage is not None:
            d["usage"] = self.usage.to_dict()
        if self.system_fingerprint is not None:
            d["system_fingerprint"] = self.system_fingerprint
        if self.router is not None:
            d["router"] = self.router.to_dict()
        if self.cost is not None:
            d["cost"] = self.cost
        return d


@dataclass(slots=True)
class ToolCallDelta:
    index: int
    id: str | None = None
    name: str | None = None
    arguments: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"index": self.index}
        if self.id is not None:
            d["id"] = self.id
            d["type"] = "function"
        fn = _drop_none({"name": self.name, "arguments": self.arguments})
        if fn:
            d["function"] = fn
        return d


@dataclass(slots=True)
class FunctionCallDelta:
    """A fragment of a legacy ``function_call`` answer."""

    name: str | None = None
    arguments: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return _drop_none({"name": self.name, "arguments": self.arguments})


@dataclass(slots=True)
class Delta:
    role: Literal["assistant"] | None = None
    content: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None
    reasoning_blocks: list[dict[str, Any]] | None = None
    function_call: FunctionCallDelta | None = None
    refusal: str | None = None  # a piece of the model's refusal message (OpenAI's delta.refusal)

    def to_dict(self) -> dict[str, Any]:
        d = _drop_none(
            {
                "role": self.role,
                "content": self.content,
                "reasoning_content": self.reasoning_content,
                "refusal": self.refusal,
            }
        )
        if self.tool_calls:
            d["tool_calls"] = [t.to_dict() for t in self.tool_calls]
        if self.reasoning_blocks:
            d["reasoning_blocks"] = self.reasoning_blocks
        if self.function_call is not None:
            d["function_call"] = self.function_call.to_dict()
        return d


@dataclass(slots=True)
class ChunkChoice:
    index: int
    delta: Delta
    finish_reason: FinishReason | None = None
    native_finish_reason: str | None = None
    logprobs: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "delta": self.delta.to_dict(),
            "finish_reason": self.finish_reason,
            "native_finish_reason": self.native_finish_reason,
            "logprobs": self.logprobs,
        }


@dataclass(slots=True)
class ChatCompletionChunk:
    id: str
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            "object": self.object,
            "created": self.created,
            "model": self.model,
            "choices": [c.to_dict() for c in self.choices],
        }
        if self.usage is not None:
            d["usage"] = self.usage.to_dict()
        return d


def is_credential_header(name: str) -> bool:
    """Whether a header's name says it carries a credential."""
    n = name.lower()
    return (
        n in ("authorization", "proxy-authorization", "cookie", "set-cookie")
        or n.endswith(("-key", "_key", "apikey", "-token", "_token"))
        or "secret" in n
        or "password" in n
    )


@dataclass(slots=True)
class HttpRequest:
    """What an adapter would send: method, URL, headers and JSON body. Pure data.

    ``secrets`` holds the values that must never be shown; ``repr()`` and ``redacted()`` mask them
    wherever they occur (headers, URL query).
    """

    method: str
    url: str
    headers: dict[str, str]
    json: dict[str, Any]
    stream: bool = False
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def _mask(self, text: str) -> str:
        for s in self.secrets:
            if s:
                text = text.replace(s, _MASK)
        return text

    def _mask_header(self, name: str, value: str) -> str:
        masked = self._mask(value)
        if masked != value or not is_credential_header(name):
            return masked
        scheme, sep, _ = value.partition(" ")  # keep "Bearer" of "Bearer <token>"
        return f"{scheme} {_MASK}" if sep and scheme.isalpha() else _MASK

    def redacted(self) -> dict[str, Any]:
        """The request as a dict with every secret, and every header named like a credential
        (``authorization``, ``cookie``, ``*-key``, ``*-token``, ``*secret*``), replaced by ``****``."""
        return {
            "method": self.method,
            "url": self._mask(self.url),
            "headers": {k: self._mask_header(k, v) for k, v in self.headers.items()},
            "json": self.json,
        }

    def __repr__(self) -> str:
        r = self.redacted()
        return f"HttpRequest(method={r['method']!r}, url={r['url']!r}, headers={r['headers']!r}, json=...)"
