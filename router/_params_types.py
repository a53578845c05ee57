"""The typed keyword arguments of ``completion`` / ``acompletion`` (and ``Router``'s, and the drop-in
client's ``chat.completions.create``): every OpenAI Chat Completions parameter the router accepts,
the router's own per-call options, and LiteLLM's spellings of some of them.

Used as ``**kwargs: Unpack[CompletionParams]``, so a type checker flags a misspelt name
(``temprature=0.2``) or a wrong type before the program runs; at run time the same names are checked
again (an unknown one is an ``UnsupportedParamsError`` naming it, a malformed value a
``BadRequestError`` naming its JSON path), so untyped callers get the same answer.

Every value may be ``None``, meaning "not given", as in the ``openai`` SDK's own parameter types.
Provider-specific fields the spec does not declare go in ``extra_body``.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import Any
from typing import Literal
from typing import Protocol
from typing import TypedDict

from router._types import Message

if TYPE_CHECKING:
    from router import _httpx as _h

__all__ = [
    "AsyncCompletionParams",
    "CompletionParams",
    "MessageParam",
    "Messages",
    "ReasoningEffort",
    "StructuredOutputModel",
    "ToolChoice",
]

# One message of the conversation: an OpenAI-style message dict (the openai SDK's
# ChatCompletionMessageParam TypedDicts are such mappings), or a Message the router returned.
MessageParam = Mapping[str, object] | Message
Messages = Sequence[MessageParam]

ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]
ToolChoice = Literal["auto", "none", "required"] | Mapping[str, object]


class StructuredOutputModel(Protocol):
    """A class that describes the answer's JSON and reads it back, e.g. a pydantic ``BaseModel``
    subclass (``response_format=Answer``). Duck-typed: the router never imports pydantic."""

    @classmethod
    def model_json_schema(cls) -> dict[str, Any]: ...

    @classmethod
    def model_validate_json(cls, json_data: str, /) -> Any: ...


class _Params(TypedDict, total=False):
    # Values are typed with ``object``, not ``Any``, inside mappings: a TypedDict holding Any makes
    # mypy call ``completion(..., **params)`` ambiguous between the overloads (its result Any).
    # ------------------------------------------------ the OpenAI Chat Completions request
    # (router/protocols/_params.py OPENAI_PARAMS; model, messages and stream are named parameters)
    stream_options: Mapping[str, object] | None
    temperature: float | None
    top_p: float | None
    top_k: int | None
    n: int | None
    stop: str | list[str] | None
    max_tokens: int | None
    max_completion_tokens: int | None
    presence_penalty: float | None
    frequency_penalty: float | None
    logit_bias: Mapping[str, float] | None
    logprobs: bool | None
    top_logprobs: int | None
    user: str | None
    seed: int | None
    tools: Sequence[Mapping[str, object]] | None
    tool_choice: ToolChoice | None
    parallel_tool_calls: bool | None
    functions: Sequence[Mapping[str, object]] | None
    function_call: str | Mapping[str, object] | None
    # an OpenAI response_format object, or a model class whose JSON schema is sent and whose
    # instance comes back on message.parsed (the openai SDK's .parse helper)
    response_format: Mapping[str, object] | type[StructuredOutputModel] | None
    reasoning_effort: ReasoningEffort | None
    modalities: Sequence[str] | None
    audio: Mapping[str, object] | None
    prediction: Mapping[str, object] | None
    service_tier: str | None
    store: bool | None
    metadata: Mapping[str, str] | None
    web_search_options: Mapping[str, object] | None
    verbosity: Literal["low", "medium", "high"] | None
    prompt_cache_key: str | None
    safety_identifier: str | None
    prompt_cache_retention: str | None
    prompt_cache_options: Mapping[str, object] | None
    moderation: Mapping[str, object] | None
    # ------------------------------------------------ the router's per-call options (never sent)
    api_key: str | None
    base_url: str | None
    timeout: float | _h.Timeout | None  # seconds: the call's total deadline (default 600)
    # seconds from sending to a stream's first content chunk (default 60), or to a plain answer's
    # headers (default: none, only timeout=); within timeout= either way, and retried like a timeout
    first_token_timeout: float | None
    stall_timeout: float | None  # seconds a body may send no bytes (streams: default 30; plain: none)
    max_retries: int | None  # default 2
    extra_headers: Mapping[str, str] | None
    extra_body: Mapping[str, object] | None
    extra_query: Mapping[str, str] | None
    strict: bool | None  # raise instead of dropping what the provider does not take
    max_response_bytes: int | None  # default 64 MiB
    max_event_bytes: int | None  # default 8 MiB
    # ------------------------------------------------ LiteLLM's spellings
    api_base: str | None  # = base_url
    num_retries: int | None  # = max_retries
    drop_params: bool | None  # True (the default): drop and record; False = strict=True
    mock_response: str | Exception | None  # answer (or raise) this, with no network call


class CompletionParams(_Params, total=False):
    """The keyword arguments of ``router.completion`` (and ``Router.completion``,
    ``OpenAI().chat.completions.create``)."""

    http_client: _h.Client | None  # your own client: used as it is, never closed


class AsyncCompletionParams(_Params, total=False):
    """The keyword arguments of ``router.acompletion`` (and ``Router.acompletion``,
    ``AsyncOpenAI().chat.completions.create``)."""

    http_client: _h.AsyncClient | None
