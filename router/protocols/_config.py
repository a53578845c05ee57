"""The compiled form of a provider spec, as generated modules construct it.

Everything here is immutable data built once at import of a generated adapter: the per-request code in
the codecs only looks values up. The field names follow ``schemas/provider.v1.schema.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Literal

__all__ = [
    "Endpoint",
    "ErrorRules",
    "Limit",
    "MessageRules",
    "Model",
    "Override",
    "ParamRules",
    "Price",
    "ProviderConfig",
    "ReasoningRules",
    "StreamRules",
    "StructuredOutput",
    "ToolRules",
    "UsagePaths",
    "Variable",
]

Path = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Variable:
    """A ``{placeholder}`` in base_url, headers, query or paths, filled from ``env`` or ``default``."""

    env: str | None = None
    default: str | None = None


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    path: str
    stream_path: str | None = None
    stream_query: Mapping[str, str] = field(default_factory=dict)
    # For a models endpoint: where the list is, where each id is, and a prefix to strip from ids.
    items: Path | None = None
    id_field: Path | None = None
    strip_prefix: str | None = None


@dataclass(frozen=True, slots=True)
class Limit:
    min: float | None
    max: float | None
    policy: Literal["clamp", "error", "drop"]


@dataclass(frozen=True, slots=True)
class ParamRules:
    """How OpenAI-named request parameters become provider body fields.

    Order: unsupported -> exclusive -> limits -> to_list -> rename (dotted targets nest) -> defaults
    (body keys).
    """

    rename: Mapping[str, str] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    limits: Mapping[str, Limit] = field(default_factory=dict)
    unsupported: frozenset[str] = frozenset()
    to_list: frozenset[str] = frozenset()
    exclusive: tuple[tuple[str, ...], ...] = ()
    extension_prefix: str | None = None
    native: frozenset[str] = frozenset()  # the provider's own request fields, sent as given


@dataclass(frozen=True, slots=True)
class Override:
    """Parameter rules for the models whose id matches one of ``patterns`` (fnmatch globs).

    ``note`` is the spec's explanation of the quirk (why, with a link to the provider's docs).
    """

    patterns: tuple[str, ...]
    params: ParamRules = field(default_factory=ParamRules)
    reasoning: ReasoningRules | None = None  # replaces the provider's reasoning rules for these models
    note: str | None = None


@dataclass(frozen=True, slots=True)
class UsagePaths:
    """Where each usage figure lives in a response; several paths are summed."""

    prompt_tokens: tuple[Path, ...] = ()
    completion_tokens: tuple[Path, ...] = ()
    total_tokens: tuple[Path, ...] = ()
    cached_tokens: tuple[Path, ...] = ()
    cache_write_tokens: tuple[Path, ...] = ()
    reasoning_tokens: tuple[Path, ...] = ()
    cost: tuple[Path, ...] = ()
    cost_headers: tuple[str, ...] = ()
    # True where the provider's completion figure leaves reasoning tokens out (the unified figure
    # always includes them, as OpenAI's does).
    reasoning_excluded_from_completion: bool = False
    # The figures whose paths are alternatives, read in order (the first one present wins), not summed.
    alternatives: frozenset[str] = frozenset()
    # Derived, not spec data: the top-level keys the token counts live under. An object that has none
    # of them reports no usage (most stream chunks), decided with a lookup or two.
    roots: tuple[str, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        roots = dict.fromkeys(p[0] for p in self.prompt_tokens + self.completion_tokens if p)
        object.__setattr__(self, "roots", tuple(roots))


@dataclass(frozen=True, slots=True)
class ErrorRules:
    status: Mapping[int, str] = field(default_factory=dict)
    type_at: Path | None = None
    types: Mapping[str, str] = field(default_factory=dict)
    code_at: Path | None = None
    codes: Mapping[str, str] = field(default_factory=dict)
    message_at: Path | None = None
    messages: tuple[tuple[str, str], ...] = ()
    retry_after: tuple[str, ...] = ()
    request_id: tuple[str, ...] = ()
    retry_after_at: Path | None = None
    request_id_at: Path | None = None
    # An aggregator's wrapped upstream error (OpenRouter's error.metadata.raw) and who sent it
    # (error.metadata.provider_name): kept on the exception, and its text matched by ``messages`` too.
    upstream_at: Path | None = None
    upstream_provider_at: Path | None = None


@dataclass(frozen=True, slots=True)
class StreamRules:
    framing: Literal["sse", "ndjson", "json-array"] = "sse"
    done: str | None = None
    body: Mapping[str, Any] = field(default_factory=dict)
    error_event: str | None = None


@dataclass(frozen=True, slots=True)
class ReasoningRules:
    """How ``reasoning_effort`` reaches the provider.

    ``effort`` maps each OpenAI effort level to a body fragment deep-merged into the request (an
    empty table means: pass ``reasoning_effort`` through as a plain parameter). ``drops`` are the
    parameters the provider rejects while reasoning. ``budget_path`` names the fragment's token
    budget; when set, ``max_tokens`` (body key ``max_tokens_key``) is raised above it.
    """

    effort: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    drops: frozenset[str] = frozenset()
    budget_path: Path | None = None
    max_tokens_key: str = "max_tokens"


@dataclass(frozen=True, slots=True)
class StructuredOutput:
    """How ``response_format`` is carried: the protocol's ``native`` field, a forced ``tool`` whose
    arguments become the message content, or ``unsupported`` (dropped or, in strict mode, an error)."""

    json_schema: Literal["native", "tool", "unsupported"] = "native"
    json_object: Literal["native", "tool", "unsupported"] = "native"
    tool_name: str = "json_output"


@dataclass(frozen=True, slots=True)
class ToolRules:
    """JSON Schema keywords the provider rejects in tool parameters (and response schemas): removed
    recursively before sending."""

    schema_drop_keywords: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class MessageRules:
    """What of an earlier assistant turn is sent back: ``reasoning_content`` (DeepSeek-style text)
    is ``drop``ped or ``send``t; provider-native reasoning blocks are always sent to the protocol
    that made them."""

    reasoning_content: Literal["send", "drop"] = "drop"
    drop_fields: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens."""

    input: float
    output: float
    cached_input: float | None = None
    cache_write: float | None = None
    source: str | None = None
    as_of: str | None = None


@dataclass(frozen=True, slots=True)
class Model:
    id: str
    aliases: tuple[str, ...] = ()  # router-only names, resolved to ``id`` before sending
    api_aliases: tuple[str, ...] = ()  # names the API accepts: sent as written, priced as ``id``
    context_window: int | None = None
    max_output: int | None = None
    capabilities: frozenset[str] = frozenset()
    price: Price | None = None


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """One provider, resolved: every value its spec (and the specs it extends) declares.

    Defaults here are the spec language's defaults; the compiler prints only the fields that differ.
    ``aliases`` and the model index are derived from ``models``.
    """

    id: str
    name: str
    protocol: str
    base_url: str
    chat: Endpoint
    docs: str | None = None
    # the provider speaks its protocol's API as documented: router serve may forward that API as is
    passthrough: bool = False
    passthrough_headers: tuple[str, ...] = ()  # the caller's headers forwarded when passed through
    base_url_env: str | None = None
    variables: Mapping[str, Variable] = field(default_factory=dict)
    auth_env: tuple[str, ...] = ()
    auth_header: str | None = None
    auth_scheme: Literal["bearer", "raw"] = "bearer"
    auth_query: str | None = None
    auth_optional: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    models_endpoint: Endpoint | None = None
    params: ParamRules = field(default_factory=ParamRules)
    overrides: tuple[Override, ...] = ()
    finish_reasons: Mapping[str, str] = field(default_factory=dict)
    finish_reason_unknown: str = "stop"
    finish_reason_errors: Mapping[str, str] = field(default_factory=dict)
    usage: UsagePaths = field(default_factory=UsagePaths)
    errors: ErrorRules = field(default_factory=ErrorRules)
    stream: StreamRules = field(default_factory=StreamRules)
    reasoning: ReasoningRules = field(default_factory=ReasoningRules)
    structured_output: StructuredOutput = field(default_factory=StructuredOutput)
    tools: ToolRules = field(default_factory=ToolRules)
    messages: MessageRules = field(default_factory=MessageRules)
    models: tuple[Model, ...] = ()
    # Derived from ``models``: router alias -> model id (resolved before sending), model id -> Model,
    # and every name (id, alias, API alias) -> Model (prices and capabilities).
    aliases: Mapping[str, str] = field(init=False, default_factory=dict, compare=False, repr=False)
    by_id: Mapping[str, Model] = field(init=False, default_factory=dict, compare=False, repr=False)
    by_name: Mapping[str, Model] = field(init=False, default_factory=dict, compare=False, repr=False)
    # Per-model merged parameter rules, filled on first use (overrides are matched once per model).
    _rules_cache: dict[str, ParamRules] = field(init=False, default_factory=dict, compare=False, repr=False)
    _reasoning_cache: dict[str, ReasoningRules] = field(
        init=False, default_factory=dict, compare=False, repr=False
    )
    # The URL and headers a request's model, stream flag, base URL and environment give, before the
    # key and the call's extras (router/protocols/_http.py); bounded there.
    _http_plans: dict[tuple[Any, ...], Any] = field(
        init=False, default_factory=dict, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", {m.id: m for m in self.models})
        object.__setattr__(self, "aliases", {a: m.id for m in self.models for a in m.aliases})
        object.__setattr__(
            self,
            "by_name",
            {n: m for m in self.models for n in (*m.api_aliases, *m.aliases, m.id)},
        )
