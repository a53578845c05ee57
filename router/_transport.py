"""HTTP: pooled or injected httpx clients, timeouts, and the retry loop (backoff with jitter,
Retry-After honoured).

Pooled clients are created on first use, one sync client per process and one async client per event
loop, so connections are reused across calls; a caller's own ``http_client`` is used as it is (its
transport, timeouts and limits) and never closed here. Nothing here knows a provider: the pooled
clients mount router/_fake.py's in-process transport on ``fake://``, as any httpx client can.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
import weakref
from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

from router._exceptions import APIConnectionError
from router._exceptions import APITimeoutError
from router._fake import FakeTransport
from router._httpx import httpx
from router._types import HttpRequest

__all__ = ["DEFAULT_TIMEOUT", "RETRY_STATUSES", "HTTPError", "asend", "backoff", "connection_error", "send"]

DEFAULT_TIMEOUT = httpx.Timeout(600.0, connect=10.0)
# Retried after a pause: timeouts, conflicts, rate limits and server-side failures.
# Every failure httpx raises while connecting, sending or reading.
HTTPError = httpx.HTTPError
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 520, 522, 524, 529})
_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100)

_sync_client: httpx.Client | None = None
_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
    weakref.WeakKeyDictionary()
)
_lock = threading.Lock()


def _client() -> httpx.Client:
    global _sync_client
    client = _sync_client
    if client is None:
        with _lock:
            client = _sync_client
            if client is None:
                client = httpx.Client(
                    limits=_LIMITS,
                    timeout=DEFAULT_TIMEOUT,
                    follow_redirects=False,
                    mounts={"fake://": FakeTransport()},
                )
                _sync_client = client
    return client


def _aclient() -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        client = httpx.AsyncClient(
            limits=_LIMITS,
            timeout=DEFAULT_TIMEOUT,
            follow_redirects=False,
            mounts={"fake://": FakeTransport()},
        )
        _async_clients[loop] = client
    return client


def backoff(attempt: int, retry_after: float | None) -> float:
    """Seconds to wait before retry ``attempt`` (1-based): the provider's hint when it gave one
    (capped at 60 s), else exponential from 0.5 s with jitter, capped at 8 s."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), 60.0)
    base: float = min(0.5 * 2 ** (attempt - 1), 8.0)
    return base * (0.75 + random.random() * 0.25)


def _timeout(value: float | httpx.Timeout | None) -> Any:
    if value is None:
        return httpx.USE_CLIENT_DEFAULT  # the pool's DEFAULT_TIMEOUT, or an injected client's own
    if isinstance(value, httpx.Timeout):
        return value
    return httpx.Timeout(value, connect=min(10.0, value))


def _build(client: httpx.Client | httpx.AsyncClient, req: HttpRequest, timeout: Any) -> httpx.Request:
    return client.build_request(
        req.method, req.url, headers=req.headers, json=req.json, timeout=_timeout(timeout)
    )


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    for s in secrets:
        if s:
            text = text.replace(s, "****")
    return text


def connection_error(
    exc: httpx.HTTPError, secrets: tuple[str, ...], provider: str, model: str
) -> APIConnectionError:
    """The typed error for a transport failure, with every secret of the request scrubbed from it."""
    cls = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
    return cls(_scrub(f"{type(exc).__name__}: {exc}", secrets), provider=provider, model=model)


RetryAfter = Callable[[Mapping[str, str]], float | None]  # response headers -> seconds to wait


def send(
    req: HttpRequest,
    *,
    client: httpx.Client | None = None,
    provider: str,
    model: str,
    timeout: float | httpx.Timeout | None,
    max_retries: int,
    retry_after: RetryAfter,
) -> httpx.Response:
    """Send with retries. Returns the final response (maybe an error status); the body is unread when
    ``req.stream`` is true, so the caller must close it."""
    client = _client() if client is None else client
    attempt = 0
    while True:
        attempt += 1
        failure = None
        try:
            response = client.send(_build(client, req, timeout), stream=req.stream)
        except httpx.HTTPError as exc:
            failure = connection_error(exc, req.secrets, provider, model)
        if failure is not None:
            if attempt > max_retries:
                raise failure  # outside the except: no chained httpx error holding the request
            time.sleep(backoff(attempt, None))
            continue
        if response.status_code in RETRY_STATUSES and attempt <= max_retries:
            wait = backoff(attempt, retry_after(response.headers))
            response.close()
            time.sleep(wait)
            continue
        return response


async def asend(
    req: HttpRequest,
    *,
    client: httpx.AsyncClient | None = None,
    provider: str,
    model: str,
    timeout: float | httpx.Timeout | None,
    max_retries: int,
    retry_after: RetryAfter,
) -> httpx.Response:
    client = _aclient() if client is None else client
    attempt = 0
    while True:
        attempt += 1
        failure = None
        try:
            response = await client.send(_build(client, req, timeout), stream=req.stream)
        except httpx.HTTPError as exc:
            failure = connection_error(exc, req.secrets, provider, model)
        if failure is not None:
            if attempt > max_retries:
                raise failure  # outside the except: no chained httpx error holding the request
            await asyncio.sleep(backoff(attempt, None))
            continue
        if response.status_code in RETRY_STATUSES and attempt <= max_retries:
            wait = backoff(attempt, retry_after(response.headers))
            await response.aclose()
            await asyncio.sleep(wait)
            continue
        return response
