"""The exception tree.

    RouterError
    ├── SpecError                 a spec is invalid (file, line, column, JSON pointer)
    ├── ConfigError               missing API key, unknown provider/model, bad router config
    └── APIError                  the provider answered badly, or the request could not be sent
        ├── AuthenticationError (401)
        ├── PermissionDeniedError (403)
        ├── NotFoundError (404)
        ├── BadRequestError (400/422)
        │   ├── ContextWindowExceededError
        │   ├── ContentFilterError
        │   └── UnsupportedParamsError   raised before any network call
        ├── RateLimitError (429)                     retryable, carries retry_after
        │   ├── RequestTooLargeError                 one request over a per-minute token limit by itself: not retryable
        │   └── QuotaExceededError                   the account's quota or credit is used up: not retryable
        ├── ServiceUnavailableError (503/529)        retryable
        ├── InternalServerError (other 5xx)          retryable
        ├── InvalidResponseError                     the answer is not what the protocol promises
        ├── StreamConsumedError                      a stream read a second time
        └── APIConnectionError                       retryable
            └── APITimeoutError                      retryable
                ├── FirstTokenTimeoutError           no first token (first_token_timeout=)
                └── StallTimeoutError                a body stopped sending (stall_timeout=)

Every ``APIError`` carries what the openai SDK's errors carry where users touch them: ``status_code``
(the HTTP status, also ``status``; None when no answer came), ``headers`` (the error answer's response
headers as a dict, names lower-cased, credential-like headers masked; empty when no answer came),
``body`` (the decoded JSON error body, else its text) and ``request_id``.

An error an aggregator (OpenRouter, a LiteLLM proxy) passed on keeps the upstream detail: ``upstream`` is
the upstream provider's own error (its raw message or object) and ``upstream_provider`` its name.

Messages and bodies never carry secrets: the transport scrubs the API key from anything it puts here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from router._types import safe_headers

__all__ = [
    "ERROR_KINDS",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigError",
    "ContentFilterError",
    "ContextWindowExceededError",
    "FirstTokenTimeoutError",
    "InternalServerError",
    "InvalidResponseError",
    "NotFoundError",
    "PermissionDeniedError",
    "QuotaExceededError",
    "RateLimitError",
    "RequestTooLargeError",
    "RouterError",
    "ServiceUnavailableError",
    "SpecError",
    "StallTimeoutError",
    "StreamConsumedError",
    "UnsupportedParamsError",
]


class RouterError(Exception):
    """Base of every error the router raises."""


class SpecError(RouterError):
    """A provider spec is invalid. ``diagnostics`` holds every problem found, not only the first."""

    def __init__(self, diagnostics: list[Any]) -> None:
        self.diagnostics = diagnostics
        super().__init__("\n".join(str(d) for d in diagnostics))


class ConfigError(RouterError):
    """Missing API key, unknown provider or model, or a bad router configuration."""


class APIError(RouterError):
    """The provider answered with an error, or could not be reached."""

    retryable: bool = False
    # Said after the provider's message when this class is raised from an error answer (what to do).
    advice: str | None = None

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        provider: str | None = None,
        model: str | None = None,
        request_id: str | None = None,
        body: Any = None,
        native_type: str | None = None,
        retry_after: float | None = None,
        param: str | None = None,
        upstream: Any = None,
        upstream_provider: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.provider = provider
        self.model = model
        self.request_id = request_id
        self.body = body
        self.native_type = native_type
        self.retry_after = retry_after
        self.param = param  # the request field at fault, as a JSON path ("messages[1].content")
        self.upstream = upstream  # an aggregator's wrapped upstream error: its raw message or object
        self.upstream_provider = upstream_provider  # who that upstream was ("Google", "Anthropic")
        # The answer's response headers: names lower-cased, credential-like values masked.
        self.headers: dict[str, str] = safe_headers(headers) if headers else {}
        # Through a Router: every attempt the call made (router.Attempt), and for a stream that failed
        # after it had yielded content, what was received until then (a ChatCompletion).
        self.attempts: list[Any] = []
        self.partial: Any = None

    @property
    def status_code(self) -> int | None:
        """The HTTP status of the error answer, as the openai SDK's ``status_code`` (``status``)."""
        return self.status

    def scrub(self, secrets: tuple[str, ...]) -> APIError:
        """This error with every secret replaced by ``****`` in its message, body (deeply) and
        attributes, and with no exception chain (a chained httpx error holds the request and its
        headers). Returns self, ready to be raised outside any ``except`` block."""
        live = tuple(s for s in secrets if s)
        if live:
            for name, value in list(vars(self).items()):
                setattr(self, name, _scrub_value(value, live))
            self.args = tuple(_scrub_value(a, live) for a in self.args)
        self.__cause__ = None
        self.__context__ = None
        self.__suppress_context__ = True
        return self

    def __str__(self) -> str:
        where = "/".join(p for p in (self.provider, self.model) if p)
        head = f"[{where}] " if where else ""
        status = f"{self.status} " if self.status is not None else ""
        rid = f" (request_id={self.request_id})" if self.request_id else ""
        return f"{head}{status}{self.message}{rid}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self!s})"


def _scrub_value(value: Any, secrets: tuple[str, ...], depth: int = 0) -> Any:
    if isinstance(value, str):
        for s in secrets:
            value = value.replace(s, "****")
        return value
    if depth > 64:  # bodies come from parsed JSON, whose depth the parser bounds
        return value
    if isinstance(value, Mapping):
        return {
            _scrub_value(k, secrets, depth + 1): _scrub_value(v, secrets, depth + 1) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(_scrub_value(v, secrets, depth + 1) for v in value)
    return value


class AuthenticationError(APIError):
    """401: the API key is missing, wrong or revoked."""


class PermissionDeniedError(APIError):
    """403: the key is valid but may not do this."""


class NotFoundError(APIError):
    """404: unknown model or endpoint."""


class BadRequestError(APIError):
    """400/422: the provider rejected the request."""


class ContextWindowExceededError(BadRequestError):
    """The prompt (plus requested output) does not fit the model's context window."""


class ContentFilterError(BadRequestError):
    """The provider refused the request on safety grounds."""


class UnsupportedParamsError(BadRequestError):
    """A parameter or content part the provider cannot take; raised before any network call."""


class RateLimitError(APIError):
    """429: too many requests or tokens. ``retry_after`` holds the provider's hint in seconds."""

    retryable = True


class RequestTooLargeError(RateLimitError):
    """429 (or Groq's 413): this one request asks for more tokens than the per-minute limit allows,
    so waiting and retrying it cannot succeed (OpenAI: "Request too large for ... on tokens per min
    (TPM)"). It is still a rate limit, not a context-window error: the model could take the prompt."""

    retryable = False
    advice = (
        "this one request is over the per-minute token limit by itself: retrying will not help; "
        "send fewer tokens (a shorter prompt or a lower max_tokens) or raise the limit"
    )


class QuotaExceededError(RateLimitError):
    """429 that waiting does not clear: the account's quota, credit or plan is used up (OpenAI's
    ``insufficient_quota``: https://platform.openai.com/docs/guides/error-codes#api-errors). Still a
    rate limit, as the status says; not retryable."""

    retryable = False
    advice = "the account's quota is used up: retrying will not help until the plan or billing changes"


class ServiceUnavailableError(APIError):
    """503/529: the provider is overloaded or down for a moment."""

    retryable = True


class InternalServerError(APIError):
    """Another 5xx."""

    retryable = True


class InvalidResponseError(APIError):
    """The provider's answer is malformed: not JSON, an HTML page, or missing what the protocol requires."""


class StreamConsumedError(APIError):
    """A ``Stream`` was iterated a second time (or after ``close()``): a stream can be read once."""


class APIConnectionError(APIError):
    """The request could not be sent, or the answer was cut off."""

    retryable = True


class APITimeoutError(APIConnectionError):
    """The request timed out."""


class FirstTokenTimeoutError(APITimeoutError):
    """``first_token_timeout=`` passed: a stream sent no content chunk (content, reasoning, a tool
    call, a refusal or a finish reason) in time, or a plain call's answer did not begin (its headers)."""


class StallTimeoutError(APITimeoutError):
    """``stall_timeout=`` passed: a body being read sent no bytes for that long."""


# The error kinds a spec may name (errors.status / errors.types / errors.messages), and their classes.
# schemas/provider.v1.schema.json lists the same names; tests/test_schema.py keeps the two in step.
ERROR_KINDS: Mapping[str, type[APIError]] = {
    "bad_request": BadRequestError,
    "authentication": AuthenticationError,
    "permission_denied": PermissionDeniedError,
    "not_found": NotFoundError,
    "rate_limit": RateLimitError,
    "request_too_large": RequestTooLargeError,
    "quota_exceeded": QuotaExceededError,
    "overloaded": ServiceUnavailableError,
    "service_unavailable": ServiceUnavailableError,
    "internal_server": InternalServerError,
    "context_window_exceeded": ContextWindowExceededError,
    "content_filter": ContentFilterError,
    "unsupported_params": UnsupportedParamsError,
    "timeout": APITimeoutError,
    "connection": APIConnectionError,
    "invalid_response": InvalidResponseError,
}
