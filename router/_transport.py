"""HTTP: pooled httpx clients, timeouts, and the retry loop (backoff with jitter, Retry-After honoured).

Clients are created on first use, one sync client per process and one async client per event loop,
so connections are reused across calls. Nothing here knows a provider; ``fake`` transport is the
in-process server of router/_fake.py.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from router._exceptions import APIConnectionError, APITimeoutError
from router._httpx import httpx
from router._types import HttpRequest

__all__ = ["DEFAULT_MAX_RETRIES", "DEFAULT_TIMEOUT", "RETRY_STATUSES", "asend", "backoff", "send"]

DEFAULT_TIMEOUT = httpx.Timeout(600.0, connect=10.0)
DEFAULT_MAX_RETRIES = 2
# Retried after a pause: timeouts, conflicts, rate limits and server-side failures.
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 520, 522, 524, 529})
_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100)

_sync_clients: dict[str, httpx.Client] = {}
_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, httpx.AsyncClient]] = (
    weakref.WeakKeyDictionary()
)
_lock = threading.Lock()


def _client(kind: str) -> httpx.Client:
    client = _sync_clients.get(kind)
    if client is None:
        with _lock:
            client = _sync_clients.get(kind)
            if client is None:
                if kind == "fake":
                    from router._fake import FakeTransport

                    client = httpx.Client(transport=FakeTransport(), timeout=DEFAULT_TIMEOUT)
                else:
                    client = httpx.Client(limits=_LIMITS, timeout=DEFAULT_TIMEOUT, follow_redirects=False)
                _sync_clients[kind] = client
    return client


def _aclient(kind: str) -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    per_loop = _async_clients.setdefault(loop, {})
    client = per_loop.get(kind)
    if client is None:
        if kind == "fake":
            from router._fake import FakeTransport

            client = httpx.AsyncClient(transport=FakeTransport(), timeout=DEFAULT_TIMEOUT)
        else:
            client = httpx.AsyncClient(limits=_LIMITS, timeout=DEFAULT_TIMEOUT, follow_redirects=False)
        per_loop[kind] = client
    return client


def backoff(attempt: int, retry_after: float | None) -> float:
    """Seconds to wait before retry ``attempt`` (1-based): the provider's hint when it gave one
    (capped at 60 s), else exponential from 0.5 s with jitter, capped at 8 s."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), 60.0)
    base: float = min(0.5 * 2 ** (attempt - 1), 8.0)
    return base * (0.75 + random.random() * 0.25)


def _timeout(value: float | httpx.Timeout | None) -> httpx.Timeout:
    if value is None:
        return DEFAULT_TIMEOUT
    if isinstance(value, httpx.Timeout):
        return value
    return httpx.Timeout(value, connect=min(10.0, value))


def _build(client: httpx.Client | httpx.AsyncClient, req: HttpRequest, timeout: Any) -> httpx.Request:
    return client.build_request(
        req.method, req.url, headers=req.headers, json=req.json, timeout=_timeout(timeout)
    )


def _scrub(text: str, req: HttpRequest) -> str:
    for s in req.secrets:
        if s:
            text = text.replace(s, "****")
    return text


def _connection_error(
    exc: httpx.HTTPError, req: HttpRequest, provider: str, model: str
) -> APIConnectionError:
    cls = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
    return cls(_scrub(f"{type(exc).__name__}: {exc}", req), provider=provider, model=model)


RetryAfter = Callable[[httpx.Response], float | None]


def send(
    req: HttpRequest,
    *,
    transport: str,
    provider: str,
    model: str,
    timeout: float | httpx.Timeout | None,
    max_retries: int,
    retry_after: RetryAfter,
) -> httpx.Response:
    """Send with retries. Returns the final response (maybe an error status); the body is unread when
    ``req.stream`` is true, so the caller must close it."""
    client = _client(transport)
    attempt = 0
    while True:
        attempt += 1
        try:
            response = client.send(_build(client, req, timeout), stream=req.stream)
        except httpx.HTTPError as exc:
            if attempt > max_retries:
                raise _connection_error(exc, req, provider, model) from None
            time.sleep(backoff(attempt, None))
            continue
        if response.status_code in RETRY_STATUSES and attempt <= max_retries:
            wait = backoff(attempt, retry_after(response))
            response.close()
            time.sleep(wait)
            continue
        return response


async def asend(
    req: HttpRequest,
    *,
    transport: str,
    provider: str,
    model: str,
    timeout: float | httpx.Timeout | None,
    max_retries: int,
    retry_after: RetryAfter,
) -> httpx.Response:
    client = _aclient(transport)
    attempt = 0
    while True:
        attempt += 1
        try:
            response = await client.send(_build(client, req, timeout), stream=req.stream)
        except httpx.HTTPError as exc:
            if attempt > max_retries:
                raise _connection_error(exc, req, provider, model) from None
            await asyncio.sleep(backoff(attempt, None))
            continue
        if response.status_code in RETRY_STATUSES and attempt <= max_retries:
            wait = backoff(attempt, retry_after(response))
            await response.aclose()
            await asyncio.sleep(wait)
            continue
        return response
