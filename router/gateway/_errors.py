"""How a router error leaves the gateway: one HTTP status per error class, so the official SDKs'
retry logic behaves as it would against the provider (429 and 5xx retried, the rest not), and the
upstream detail kept beside the message."""

from __future__ import annotations

from typing import Any

from router._exceptions import APIConnectionError
from router._exceptions import APIError
from router._exceptions import APITimeoutError
from router._exceptions import AuthenticationError
from router._exceptions import BadRequestError
from router._exceptions import ConfigError
from router._exceptions import InternalServerError
from router._exceptions import InvalidResponseError
from router._exceptions import NotFoundError
from router._exceptions import PermissionDeniedError
from router._exceptions import QuotaExceededError
from router._exceptions import RateLimitError
from router._exceptions import RequestTooLargeError
from router._exceptions import RouterError
from router._exceptions import ServiceUnavailableError

__all__ = ["GatewayError", "from_router_error"]

# Most specific first: the first class an error is an instance of gives its status and kind.
_BY_CLASS: tuple[tuple[type[BaseException], int, str], ...] = (
    (APITimeoutError, 504, "timeout"),
    (APIConnectionError, 502, "connection"),
    (InvalidResponseError, 502, "invalid_response"),
    (RequestTooLargeError, 413, "request_too_large"),
    (QuotaExceededError, 429, "quota_exceeded"),
    (RateLimitError, 429, "rate_limit"),
    (ServiceUnavailableError, 503, "overloaded"),
    (InternalServerError, 500, "internal_server"),
    (AuthenticationError, 401, "authentication"),
    (PermissionDeniedError, 403, "permission_denied"),
    (NotFoundError, 404, "not_found"),
    (BadRequestError, 400, "bad_request"),
)


class GatewayError(Exception):
    """An error answer of the gateway itself, in no inbound API's shape yet.

    ``kind`` is one of: bad_request, authentication, permission_denied, not_found, request_too_large,
    rate_limit, quota_exceeded, overloaded, internal_server, timeout, connection, invalid_response,
    unavailable. ``retry`` False adds ``x-should-retry: false`` (the official SDKs then do not retry).
    """

    def __init__(
        self,
        status: int,
        kind: str,
        message: str,
        *,
        param: str | None = None,
        retry_after: float | None = None,
        retry: bool | None = None,
        upstream: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message
        self.param = param
        self.retry_after = retry_after
        self.retry = retry
        self.upstream = upstream
        self.recorded = False  # already counted in the metrics with its call

    def headers(self) -> list[tuple[bytes, bytes]]:
        out: list[tuple[bytes, bytes]] = []
        if self.retry_after is not None:
            out.append((b"retry-after", str(max(int(self.retry_after + 0.999), 1)).encode()))
        if self.retry is not None:
            out.append((b"x-should-retry", b"true" if self.retry else b"false"))
        return out


def from_router_error(err: RouterError) -> GatewayError:
    """The gateway's answer for a router error (messages never carry secrets: the router scrubs them)."""
    if isinstance(err, ConfigError):
        # A missing provider key or a broken deployment: the server's fault, not the caller's.
        return GatewayError(
            500, "internal_server", f"the gateway cannot serve this model: {err}", retry=False
        )
    if not isinstance(err, APIError):
        return GatewayError(500, "internal_server", str(err), retry=False)
    status, kind = 500, "internal_server"
    for cls, code, name in _BY_CLASS:
        if isinstance(err, cls):
            status, kind = code, name
            break
    # The provider's own status when it agrees with the class (a 503 stays 503, a 422 stays 422); a
    # request too large by itself leaves as 413, so that no SDK retries a 429 that cannot pass.
    upstream_status = err.status
    if (
        isinstance(upstream_status, int)
        and 400 <= upstream_status <= 599
        and upstream_status // 100 == status // 100
        and kind != "request_too_large"
    ):
        status = upstream_status
    upstream: dict[str, Any] = {"provider": err.provider, "model": err.model, "status": err.status}
    if err.native_type:
        upstream["type"] = err.native_type
    if err.request_id:
        upstream["request_id"] = err.request_id
    if err.upstream is not None:
        upstream["upstream"] = err.upstream
    if err.upstream_provider:
        upstream["upstream_provider"] = err.upstream_provider
    # A non-retryable error (a spent quota, a 400) says so, whatever its status: the SDKs then stop.
    retry = None if err.retryable else False
    return GatewayError(
        status,
        kind,
        err.message,
        param=err.param,
        retry_after=err.retry_after,
        retry=retry,
        upstream={k: v for k, v in upstream.items() if v is not None},
    )
