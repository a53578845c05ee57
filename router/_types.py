"""The unified shapes: OpenAI Chat Completions, in and out.

Every adapter returns these, whatever the provider spoke on the wire. They are plain slotted
dataclasses that behave like the official ``openai`` package's models where users touch them:
the same attribute paths (``resp.choices[0].message.tool_calls[0].function.arguments``,
``chunk.choices[0].delta.tool_calls[0].function.name``, ``resp.usage.prompt_tokens_details
.cached_tokens``, ``resp.service_tier``, ...; openai attributes the router does not carry, such as
``message.audio``, are None as openai's default), and openai's ``model_dump()``,
``model_dump_json()``, ``to_dict()`` and ``to_json()``. ``to_dict()`` is the JSON wire form (what
the answer set); it and ``model_dump()`` validate against the openai package's ``ChatCompletion``
and ``ChatCompletionChunk`` types, strictly (tests/test_conformance.py and tests/test_sdk_shapes.py
hold that line).

Additions to OpenAI's shape, always present:

* ``choice.native_finish_reason`` -- the provider's own finish reason, never lost in the mapping.
* ``completion.router`` -- the translation receipt: which provider answered, what happened to
  each request parameter (dropped, renamed, clamped, defaulted), the answer fields the shape has
  no place for (``extra``) and the response headers (``headers``, credential-like ones masked).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import ClassVar
from typing import Literal
from typing import NamedTuple

__all__ = [
    "Attempt",
    "ChatCompletion",
    "ChatCompletionChunk",
    "Choice",
    "ChunkChoice",
    "CompletionTokensDetails",
    "CustomCall",
    "CustomToolCall",
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
    "ToolCallDeltaFunction",
    "Usage",
]

FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "function_call"]

_MASK = "****"

# pydantic's include / exclude: a set of field names (list indexes), or a mapping of them to True or
# to the nested include / exclude of that field ("__all__" stands for every key or index).
IncEx = AbstractSet[int] | AbstractSet[str] | Mapping[int, Any] | Mapping[str, Any]


class _Options(NamedTuple):
    exclude_unset: bool
    exclude_defaults: bool
    exclude_none: bool
    fallback: Callable[[Any], Any] | None


_DEFAULTS: dict[type, dict[str, Any]] = {}


def _defaults(cls: type) -> dict[str, Any]:
    """Each dumped attribute's default: the dataclass field's, else None (openai's default)."""
    found = _DEFAULTS.get(cls)
    if found is None:
        found = {}
        if dataclasses.is_dataclass(cls):
            for f in dataclasses.fields(cls):
                if f.default is not dataclasses.MISSING:
                    found[f.name] = f.default
                elif f.default_factory is not dataclasses.MISSING:
                    found[f.name] = f.default_factory()
        fields = {f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else set()
        for name in getattr(cls, "_FIELDS", ()):
            if name not in fields:
                found[name] = None
        _DEFAULTS[cls] = found
    return found


def _named(spec: IncEx, key: str | int) -> tuple[bool, IncEx | None]:
    """Whether an include / exclude names ``key``, and what it says of the key's value (None: all)."""
    if isinstance(spec, Mapping):
        if key in spec:
            nested = spec[key]  # type: ignore[index]
        elif "__all__" in spec:
            nested = spec["__all__"]  # type: ignore[index]
        else:
            return False, None
        return True, None if nested is True or nested is ... else nested
    return key in spec or "__all__" in spec, None


def _select(key: str | int, include: IncEx | None, exclude: IncEx | None) -> tuple[bool, Any, Any]:
    """Whether to keep ``key``, and the include / exclude that apply inside its value."""
    inner_include = inner_exclude = None
    if include is not None:
        named, inner_include = _named(include, key)
        if not named:
            return False, None, None
    if exclude is not None:
        named, inner_exclude = _named(exclude, key)
        if named and inner_exclude is None:
            return False, None, None
    return True, inner_include, inner_exclude


_WHOLE: tuple[bool, Any, Any] = (True, None, None)  # keep a key, and all of its value


_SCALARS = frozenset({str, int, float, bool, type(None)})  # JSON values as they are


def _key(k: Any) -> Any:
    return k if k is None or isinstance(k, str | int | float) else str(k)


def _plain(value: Any, opts: _Options, include: IncEx | None = None, exclude: IncEx | None = None) -> Any:
    """``value`` as fresh JSON data: shapes dumped, mappings as dicts, tuples and sets as lists."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if isinstance(value, _Shape):
        return value._dump(opts, include, exclude)
    whole = include is None and exclude is None
    if whole and kind is dict:  # the common case: parsed JSON
        return {
            k if type(k) is str else _key(k): v if type(v) in _SCALARS else _plain(v, opts)
            for k, v in value.items()
        }
    if whole and kind is list:
        return [v._dump(opts, None, None) if isinstance(v, _Shape) else _plain(v, opts) for v in value]
    if isinstance(value, str | int | float):  # a subclass (an enum member): json.dumps writes it
        return value
    if isinstance(value, Mapping):
        out: dict[Any, Any] = {}
        for k, v in value.items():
            keep, inc, exc = _WHOLE if whole else _select(k, include, exclude)
            if keep:
                out[_key(k)] = _plain(v, opts, inc, exc)
        return out
    if isinstance(value, list | tuple | AbstractSet):
        items = []
        for i, v in enumerate(value):
            keep, inc, exc = _WHOLE if whole else _select(i, include, exclude)
            if keep:
                items.append(_plain(v, opts, inc, exc))
        return items
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    if opts.fallback is not None:
        return _plain(opts.fallback(value), opts, include, exclude)
    dump = getattr(value, "model_dump", None)  # a pydantic model (an openai SDK object) handed in
    if callable(dump):
        return _plain(dump(mode="json"), opts, include, exclude)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(dataclasses.asdict(value), opts, include, exclude)
    return str(value)


class _Shape:
    """What the openai SDK's models offer where users touch them, for these slotted dataclasses:
    ``model_dump()`` / ``model_dump_json()`` (pydantic's), ``to_dict()`` / ``to_json()`` (openai's).

    ``model_dump()`` holds every attribute in openai's structure (None where unset, as pydantic
    dumps), plus the router's own (``native_finish_reason``, ``reasoning_content``, ``router``,
    ``cost``); ``exclude_unset=True`` gives the wire form, ``to_dict()``: what the answer set. Both are
    fresh JSON data (``json.dumps`` takes them) that ``openai.types.chat.ChatCompletion`` /
    ``ChatCompletionChunk`` validate, strictly. ``mode`` is accepted for pydantic's signature: both
    modes give JSON data.
    """

    __slots__ = ()

    # The attributes model_dump holds, in its order: fields, and the openai attributes that are properties.
    _FIELDS: ClassVar[tuple[str, ...]] = ()

    def _wire(self) -> Iterable[str]:
        """The attributes the wire form (``to_dict()``, ``exclude_unset=True``) holds."""
        return self._FIELDS

    def _dump(self, opts: _Options, include: IncEx | None, exclude: IncEx | None) -> dict[str, Any]:
        names = self._wire() if opts.exclude_unset else self._FIELDS
        out: dict[str, Any] = {}
        if include is None and exclude is None and not opts.exclude_defaults:  # the common case, fast
            for name in names:
                value = getattr(self, name)
                if type(value) in _SCALARS:
                    if value is not None or not opts.exclude_none:
                        out[name] = value
                elif isinstance(value, _Shape):
                    out[name] = value._dump(opts, None, None)
                else:
                    out[name] = _plain(value, opts)
            return out
        defaults = _defaults(type(self)) if opts.exclude_defaults else None
        for name in names:
            inc = exc = None
            if include is not None or exclude is not None:
                keep, inc, exc = _select(name, include, exclude)
                if not keep:
                    continue
            value = getattr(self, name)
            if value is None and opts.exclude_none:
                continue
            if defaults is not None and name in defaults and value == defaults[name]:
                continue
            out[name] = _plain(value, opts, inc, exc)
        return out

    def model_dump(
        self,
        *,
        mode: Literal["json", "python"] | str = "python",
        include: IncEx | None = None,
        exclude: IncEx | None = None,
        context: Any | None = None,
        by_alias: bool | None = None,
        exclude_unset: bool = False,
        exclude_defaults: bool = False,
        exclude_none: bool = False,
        exclude_computed_fields: bool = False,
        round_trip: bool = False,
        warnings: bool | Literal["none", "warn", "error"] = True,
        fallback: Callable[[Any], Any] | None = None,
        serialize_as_any: bool = False,
    ) -> dict[str, Any]:
        """A dict of JSON data, as pydantic's ``model_dump``: every attribute (None where unset);
        ``exclude_unset=True`` for what the answer set, ``exclude_none``, ``exclude_defaults``,
        ``include`` / ``exclude`` (sets or nested mappings of names, ``"__all__"`` for every item);
        ``fallback`` turns a value that is not JSON into JSON data (else its ``str()``)."""
        opts = _Options(exclude_unset, exclude_defaults, exclude_none, fallback)
        return self._dump(opts, include, exclude)

    def model_dump_json(
        self,
        *,
        indent: int | None = None,
        ensure_ascii: bool = False,
        include: IncEx | None = None,
        exclude: IncEx | None = None,
        context: Any | None = None,
        by_alias: bool | None = None,
        exclude_unset: bool = False,
        exclude_defaults: bool = False,
        exclude_none: bool = False,
        exclude_computed_fields: bool = False,
        round_trip: bool = False,
        warnings: bool | Literal["none", "warn", "error"] = True,
        fallback: Callable[[Any], Any] | None = None,
        serialize_as_any: bool = False,
    ) -> str:
        """``model_dump()`` as JSON text, compact unless ``indent`` is given (as pydantic writes it)."""
        data = self.model_dump(
            include=include,
            exclude=exclude,
            exclude_unset=exclude_unset,
            exclude_defaults=exclude_defaults,
            exclude_none=exclude_none,
            fallback=fallback,
        )
        separators = (",", ":") if indent is None else None
        return json.dumps(data, indent=indent, ensure_ascii=ensure_ascii, separators=separators)

    def to_dict(
        self,
        *,
        mode: Literal["json", "python"] = "python",
        use_api_names: bool = True,
        exclude_unset: bool = True,
        exclude_defaults: bool = False,
        exclude_none: bool = False,
        warnings: bool = True,
    ) -> dict[str, Any]:
        """The wire form, as the openai SDK's ``to_dict()``: what the answer set (the router's own
        fields included), as fresh JSON data."""
        return self._dump(_Options(exclude_unset, exclude_defaults, exclude_none, None), None, None)

    def to_json(
        self,
        *,
        indent: int | None = 2,
        use_api_names: bool = True,
        exclude_unset: bool = True,
        exclude_defaults: bool = False,
        exclude_none: bool = False,
        warnings: bool = True,
    ) -> str:
        """``to_dict()`` as JSON text, indented by 2 unless told (``indent=None``: compact), as the
        openai SDK's ``to_json()``."""
        return self.model_dump_json(
            indent=indent,
            exclude_unset=exclude_unset,
            exclude_defaults=exclude_defaults,
            exclude_none=exclude_none,
        )


@dataclass(slots=True)
class FunctionCall(_Shape):
    name: str
    arguments: str  # always a JSON string, as in OpenAI's API

    _FIELDS: ClassVar[tuple[str, ...]] = ("name", "arguments")


@dataclass(slots=True)
class ToolCall(_Shape):
    id: str
    function: FunctionCall
    type: Literal["function"] = "function"

    _FIELDS: ClassVar[tuple[str, ...]] = ("id", "type", "function")


@dataclass(slots=True)
class CustomCall(_Shape):
    """What a custom tool was called with: its ``name`` and the model's free-form ``input`` text."""

    name: str
    input: str

    _FIELDS: ClassVar[tuple[str, ...]] = ("name", "input")


@dataclass(slots=True)
class CustomToolCall(_Shape):
    """A call of a custom (free-form) tool, openai's ``ChatCompletionMessageCustomToolCall``
    (https://platform.openai.com/docs/guides/function-calling#custom-tools): ``custom.name`` and
    ``custom.input``, text the model wrote in the tool's grammar or format, not JSON. ``function`` is
    a view of the same call (``name``; ``input`` as ``arguments``) for code that reads every call so."""

    id: str
    custom: CustomCall
    type: Literal["custom"] = "custom"

    _FIELDS: ClassVar[tuple[str, ...]] = ("id", "type", "custom")

    @property
    def function(self) -> FunctionCall:
        return FunctionCall(name=self.custom.name, arguments=self.custom.input)


AnyToolCall = ToolCall | CustomToolCall  # an item of Message.tool_calls


@dataclass(slots=True)
class Message(_Shape):
    role: Literal["assistant"] = "assistant"
    content: str | None = None
    tool_calls: list[AnyToolCall] | None = None
    reasoning_content: str | None = None
    refusal: str | None = None
    # Provider-native reasoning blocks (e.g. Anthropic thinking blocks with signatures) kept so they
    # can be sent back verbatim on the next turn.
    reasoning_blocks: list[dict[str, Any]] | None = None
    # The legacy answer to a request with ``functions`` (finish_reason "function_call"), as OpenAI sends it.
    function_call: FunctionCall | None = None
    # OpenAI's message annotations (url_citation, ...), where the provider returned them.
    annotations: list[dict[str, Any]] | None = None
    # response_format=<model class>: the validated instance read from the content (openai's
    # ParsedChatCompletionMessage.parsed); None otherwise, and for a refusal.
    parsed: Any = None

    _FIELDS: ClassVar[tuple[str, ...]] = (
        "role",
        "content",
        "refusal",
        "tool_calls",
        "function_call",
        "annotations",
        "audio",
        "reasoning_content",
        "reasoning_blocks",
        "parsed",
    )

    @property
    def audio(self) -> dict[str, Any] | None:
        """openai's ``message.audio``: the router carries no audio output, so always None."""
        return None

    def _wire(self) -> Iterable[str]:
        out = ["role", "content"]
        if self.tool_calls:
            out.append("tool_calls")
        if self.reasoning_content is not None:
            out.append("reasoning_content")
        if self.refusal is not None:
            out.append("refusal")
        if self.reasoning_blocks:
            out.append("reasoning_blocks")
        if self.function_call is not None:
            out.append("function_call")
        if self.annotations:
            out.append("annotations")
        if self.parsed is not None:
            out.append("parsed")
        return out


@dataclass(slots=True)
class Choice(_Shape):
    index: int
    message: Message
    finish_reason: FinishReason | None
    native_finish_reason: str | None = None
    # OpenAI's logprobs object ({"content": [...], "refusal": ...}) where the provider returned one.
    logprobs: dict[str, Any] | None = None

    _FIELDS: ClassVar[tuple[str, ...]] = (
        "index",
        "message",
        "finish_reason",
        "native_finish_reason",
        "logprobs",
    )


@dataclass(slots=True)
class PromptTokensDetails(_Shape):
    """Field names are the official ``openai`` package's (``PromptTokensDetails``)."""

    cached_tokens: int = 0  # prompt tokens read from the provider's cache
    cache_write_tokens: int | None = None  # prompt tokens written to it (None: not reported)

    _FIELDS: ClassVar[tuple[str, ...]] = ("cached_tokens", "cache_write_tokens", "audio_tokens")

    @property
    def audio_tokens(self) -> int | None:
        """openai's ``audio_tokens``: not read by the router, so None (openai's "not reported")."""
        return None

    def _wire(self) -> Iterable[str]:
        return _FIELDS_CACHED if self.cache_write_tokens is None else _FIELDS_CACHED_WRITE


_FIELDS_CACHED = ("cached_tokens",)
_FIELDS_CACHED_WRITE = ("cached_tokens", "cache_write_tokens")


@dataclass(slots=True)
class CompletionTokensDetails(_Shape):
    reasoning_tokens: int = 0

    _FIELDS: ClassVar[tuple[str, ...]] = (
        "reasoning_tokens",
        "audio_tokens",
        "accepted_prediction_tokens",
        "rejected_prediction_tokens",
    )

    @property
    def audio_tokens(self) -> int | None:
        """openai's ``audio_tokens``: not read by the router, so None (openai's "not reported")."""
        return None

    @property
    def accepted_prediction_tokens(self) -> int | None:
        """openai's Predicted Outputs count: not read by the router, so None."""
        return None

    @property
    def rejected_prediction_tokens(self) -> int | None:
        """openai's Predicted Outputs count: not read by the router, so None."""
        return None

    def _wire(self) -> Iterable[str]:
        return ("reasoning_tokens",)


@dataclass(slots=True)
class Usage(_Shape):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    prompt_tokens_details: PromptTokensDetails = field(default_factory=PromptTokensDetails)
    completion_tokens_details: CompletionTokensDetails = field(default_factory=CompletionTokensDetails)

    _FIELDS: ClassVar[tuple[str, ...]] = (
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "prompt_tokens_details",
        "completion_tokens_details",
    )


@dataclass(slots=True)
class Attempt(_Shape):
    """One deployment a ``Router`` tried (or passed over) for a call, on ``resp.router.attempts``."""

    deployment: str  # the deployment's name (``name#2`` for the third of a group), or the model string
    model: str  # "provider/model" as routed
    error: str | None = None  # the error class that ended it; None for the attempt that answered
    latency: float = 0.0  # seconds, from sending to the answer or the error (0 when skipped)
    status: int | None = None  # the HTTP status of the error, when there was one
    skipped: str | None = None  # "circuit_open", "cooling_down", "rate_limited": nothing was sent
    message: str | None = None  # the error's message (errors never carry secrets)

    _FIELDS: ClassVar[tuple[str, ...]] = (
        "deployment",
        "model",
        "error",
        "latency",
        "status",
        "skipped",
        "message",
    )

    def _wire(self) -> Iterable[str]:
        return [
            k for k in self._FIELDS if k in ("deployment", "model", "latency") or getattr(self, k) is not None
        ]


@dataclass(slots=True)
class Receipt(_Shape):
    """What the router did to a request on its way to the provider, and what came back beside the answer.

    >>> resp.router.dropped
    ['frequency_penalty']
    >>> resp.router.headers["x-ratelimit-remaining-requests"]
    '499'
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
    # The HTTP answer's headers (rate limits, request ids): names lower-cased, a credential-like
    # header's value masked (``safe_headers``). In model_dump(), not in to_dict() (the wire form).
    headers: dict[str, str] = field(default_factory=dict)
    # Through a ``Router``: the deployment that answered, every attempt made (the answering one
    # last), and whether the answer came from its response cache.
    deployment: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    cache_hit: bool = False

    _FIELDS: ClassVar[tuple[str, ...]] = (
        "provider",
        "model",
        "dropped",
        "renamed",
        "clamped",
        "defaulted",
        "extra",
        "headers",
        "deployment",
        "attempts",
        "cache_hit",
    )

    def _wire(self) -> Iterable[str]:
        base = _RECEIPT_WIRE_EXTRA if self.extra else _RECEIPT_WIRE
        if self.deployment is None and not self.attempts and not self.cache_hit:
            return base
        return (*base, "deployment", "attempts", "cache_hit")


_RECEIPT_WIRE = ("provider", "model", "dropped", "renamed", "clamped", "defaulted")
_RECEIPT_WIRE_EXTRA = (*_RECEIPT_WIRE, "extra")


@dataclass(slots=True)
class ChatCompletion(_Shape):
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

    _FIELDS: ClassVar[tuple[str, ...]] = (
        "id",
        "object",
        "created",
        "model",
        "choices",
        "usage",
        "system_fingerprint",
        "service_tier",
        "router",
        "cost",
    )

    @property
    def service_tier(self) -> str | None:
        """openai's ``service_tier``: the one the answer names (kept on ``router.extra``), else None."""
        found = self.router.extra.get("service_tier") if self.router is not None else None
        return found if isinstance(found, str) else None

    def _wire(self) -> Iterable[str]:
        out = ["id", "object", "created", "model", "choices"]
        if self.usage is not None:
            out.append("usage")
        if self.system_fingerprint is not None:
            out.append("system_fingerprint")
        if self.router is not None:
            out.append("router")
        if self.cost is not None:
            out.append("cost")
        return out


class ToolCallDeltaFunction(_Shape):
    """openai's ``delta.tool_calls[i].function`` of a ``ToolCallDelta``: a read-only view of its
    ``name`` and ``arguments`` fragments (either None when this chunk did not carry it)."""

    __slots__ = ("_call",)

    _FIELDS: ClassVar[tuple[str, ...]] = ("name", "arguments")

    def __init__(self, call: ToolCallDelta) -> None:
        self._call = call

    @property
    def name(self) -> str | None:
        return self._call.name

    @property
    def arguments(self) -> str | None:
        return self._call.arguments

    def _wire(self) -> Iterable[str]:
        return [n for n in self._FIELDS if getattr(self._call, n) is not None]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ToolCallDeltaFunction):
            return NotImplemented
        return (self.name, self.arguments) == (other.name, other.arguments)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ToolCallDeltaFunction(name={self.name!r}, arguments={self.arguments!r})"


@dataclass(slots=True)
class ToolCallDelta(_Shape):
    """A fragment of a streamed tool call, flat (``name``, ``arguments``) as the codecs build it;
    ``function`` and ``type`` give openai's nested paths (``tc.function.arguments``)."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str | None = None
    # A custom tool's call (a CustomToolCall once folded): ``arguments`` are pieces of its free-form input.
    custom: bool = False

    _FIELDS: ClassVar[tuple[str, ...]] = ("index", "id", "type", "function")

    @property
    def function(self) -> ToolCallDeltaFunction:
        """openai's ``tc.function`` (``.name``, ``.arguments``): a read-only view of this fragment."""
        return ToolCallDeltaFunction(self)

    @property
    def type(self) -> Literal["function"] | None:
        """``"function"`` on the fragment that opens a call (it has the id), else None, as OpenAI streams
        it. Also for a custom tool's call (``custom`` is True): openai's chunk type knows no other
        (``ChoiceDeltaToolCall``); the folded answer (``router.accumulate``) gives a CustomToolCall."""
        return "function" if self.id is not None else None

    def _wire(self) -> Iterable[str]:
        out = ["index"]
        if self.id is not None:
            out += ("id", "type")
        if self.name is not None or self.arguments is not None:
            out.append("function")
        return out


@dataclass(slots=True)
class FunctionCallDelta(_Shape):
    """A fragment of a legacy ``function_call`` answer."""

    name: str | None = None
    arguments: str | None = None

    _FIELDS: ClassVar[tuple[str, ...]] = ("name", "arguments")

    def _wire(self) -> Iterable[str]:
        return [n for n in self._FIELDS if getattr(self, n) is not None]


@dataclass(slots=True)
class Delta(_Shape):
    role: Literal["assistant"] | None = None
    content: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None
    reasoning_blocks: list[dict[str, Any]] | None = None
    function_call: FunctionCallDelta | None = None
    refusal: str | None = None  # a piece of the model's refusal message (OpenAI's delta.refusal)

    _FIELDS: ClassVar[tuple[str, ...]] = (
        "role",
        "content",
        "refusal",
        "tool_calls",
        "function_call",
        "audio",
        "reasoning_content",
        "reasoning_blocks",
    )

    @property
    def audio(self) -> dict[str, Any] | None:
        """openai's ``delta.audio``: the router carries no audio output, so always None."""
        return None

    def _wire(self) -> Iterable[str]:
        out = [n for n in ("role", "content", "reasoning_content", "refusal") if getattr(self, n) is not None]
        if self.tool_calls:
            out.append("tool_calls")
        if self.reasoning_blocks:
            out.append("reasoning_blocks")
        if self.function_call is not None:
            out.append("function_call")
        return out


@dataclass(slots=True)
class ChunkChoice(_Shape):
    index: int
    delta: Delta
    finish_reason: FinishReason | None = None
    native_finish_reason: str | None = None
    logprobs: dict[str, Any] | None = None

    _FIELDS: ClassVar[tuple[str, ...]] = (
        "index",
        "delta",
        "finish_reason",
        "native_finish_reason",
        "logprobs",
    )


@dataclass(slots=True)
class ChatCompletionChunk(_Shape):
    id: str
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    # openai's chunk fields, as the frame names them (openai-chat), else None.
    system_fingerprint: str | None = None
    service_tier: str | None = None

    _FIELDS: ClassVar[tuple[str, ...]] = (
        "id",
        "object",
        "created",
        "model",
        "choices",
        "usage",
        "system_fingerprint",
        "service_tier",
    )

    def _wire(self) -> Iterable[str]:
        out = ["id", "object", "created", "model", "choices"]
        for name in ("usage", "system_fingerprint", "service_tier"):
            if getattr(self, name) is not None:
                out.append(name)
        return out


_alloc: Any = object.__new__


def text_chunk(
    id: str,
    created: int,
    model: str,
    index: int,
    content: str | None,
    role: Any = None,
    usage: Usage | None = None,
    logprobs: dict[str, Any] | None = None,
    reasoning: str | None = None,
    refusal: str | None = None,
    system_fingerprint: str | None = None,
    service_tier: str | None = None,
) -> ChatCompletionChunk:
    """The one-choice chunk of the stream fast paths, made by slot stores (a dataclass call per object
    costs 30% more); tests/test_stream_fast_paths.py holds it to the dataclass form, field by field."""
    delta = _alloc(Delta)
    delta.role = role
    delta.content = content
    delta.reasoning_content = reasoning
    delta.tool_calls = None
    delta.reasoning_blocks = None
    delta.function_call = None
    delta.refusal = refusal
    choice = _alloc(ChunkChoice)
    choice.index = index
    choice.delta = delta
    choice.finish_reason = None
    choice.native_finish_reason = None
    choice.logprobs = logprobs
    chunk = _alloc(ChatCompletionChunk)
    chunk.id = id
    chunk.created = created
    chunk.model = model
    chunk.choices = [choice]
    chunk.usage = usage
    chunk.object = "chat.completion.chunk"
    chunk.system_fingerprint = system_fingerprint
    chunk.service_tier = service_tier
    return chunk  # type: ignore[no-any-return]


def is_credential_header(name: str) -> bool:
    """Whether a header's name says it carries a credential."""
    n = name.lower()
    return (
        n in ("authorization", "proxy-authorization", "cookie", "set-cookie")
        or n.endswith(("-key", "_key", "apikey", "-token", "_token"))
        or "secret" in n
        or "password" in n
    )


def safe_headers(headers: Mapping[str, str], secrets: tuple[str, ...] = ()) -> dict[str, str]:
    """Response headers as a plain dict to keep and show: names lower-cased (a name given twice in
    different case: its values joined by ", ", as HTTP folds them), the value of every header named
    like a credential (``is_credential_header``: ``set-cookie``, ``*-key``, ``*-token``, ...)
    replaced by ``****``, and every one of ``secrets`` (the request's API key) masked wherever else
    it occurs."""
    live = [s for s in secrets if s]
    out: dict[str, str] = {}
    known = _CREDENTIAL_NAMES
    raw = getattr(headers, "raw", None)  # an httpx Headers: its byte pairs, decoded here once (its
    # items() decodes every header after testing the whole list for its encoding: 3x the cost)
    pairs: Any = raw if type(raw) is list else headers.items()
    for name, value in pairs:
        if type(name) is bytes:
            key = name.decode("latin-1").lower()
            value = _header_text(value)
        else:
            key = name.lower() if type(name) is str else str(name).lower()
        masked = known.get(key)
        if masked is None:  # answers repeat a few header names: each is judged once
            masked = is_credential_header(key)
            if len(known) < 4096:  # bounded: names a hostile server invents are not all kept
                known[key] = masked
        text = _MASK if masked else value if type(value) is str else str(value)
        for s in live:
            text = text.replace(s, _MASK)
        out[key] = f"{out[key]}, {text}" if key in out and text != _MASK else text
    return out


_CREDENTIAL_NAMES: dict[str, bool] = {}  # is_credential_header of the names seen so far


def _header_text(value: bytes) -> str:
    """A header value's text as httpx reads it: ASCII, else UTF-8, else ISO-8859-1 (never fails)."""
    try:
        return value.decode("ascii")
    except UnicodeDecodeError:
        pass
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("iso-8859-1")


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
