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
from collections.abc import AsyncGenerator
from collections.abc import Callable
from collections.abc import Mapping
from typing import TYPE_CHECKING
from typing import Any

from router import _watchdog
from router._exceptions import APIConnectionError
from router._exceptions import APIError
from router._exceptions import APITimeoutError
from router._exceptions import InvalidResponseError
from router._fake import FakeTransport
from router._httpx import httpx
from router._types import HttpRequest
from router._watchdog import awatch
from router._watchdog import unwatch
from router._watchdog import watch

if TYPE_CHECKING:
    import ssl

__all__ = [
    "DEFAULT_TIMEOUT",
    "DEFAULT_TOTAL",
    "MAX_BODY",
    "RETRY_STATUSES",
    "HTTPError",
    "asend",
    "awatch",
    "backoff",
    "connection_error",
    "deadline_for",
    "past",
    "send",
    "unwatch",
    "watch",
]

DEFAULT_TIMEOUT = httpx.Timeout(600.0, connect=10.0)
# Retried after a pause: timeouts, conflicts, rate limits and server-side failures.
# Every failure httpx raises while connecting, sending or reading.
HTTPError = httpx.HTTPError
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 520, 522, 524, 529})
DEFAULT_TOTAL = 600.0  # seconds a call may take in all when timeout= is not given
MAX_BODY = 64 * 1024 * 1024  # bytes of one response body (max_response_bytes=)
_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100)

_sync_client: httpx.Client | None = None
_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
    weakref.WeakKeyDictionary()
)
_lock = threading.Lock()
_ssl_context: ssl.SSLContext | None = None


def _verify() -> ssl.SSLContext:
    """The one default SSL context every pooled client verifies with (httpx's default: certifi's CA
    bundle, or SSL_CERT_FILE / SSL_CERT_DIR). Loading the bundle takes about 40 ms; without sharing it,
    each event loop's new client paid that again (``asyncio.run(acompletion(...))`` once per call).
    An SSLContext may be shared between clients, threads and event loops."""
    global _ssl_context
    context = _ssl_context
    if context is None:
        context = _ssl_context = httpx.create_ssl_context()  # a race only builds one more
    return context


def _client() -> httpx.Client:
    global _sync_client
    client = _sync_client
    if client is None:
        with _lock:
            client = _sync_client
            if client is None:
                client = httpx.Client(
                    verify=_verify(),
                    limits=_LIMITS,
                    timeout=DEFAULT_TIMEOUT,
                    follow_redirects=False,
                    mounts={"fake://": FakeTransport()},
                )
                _sync_client = client
    return client


_closers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncGenerator[None, None]] = (
    weakref.WeakKeyDictionary()
)


async def _aclient() -> httpx.AsyncClient:
    """The pooled async client of the running loop. It is closed when the loop shuts down: an async
    generator parked here is finalised by ``loop.shutdown_asyncgens()`` (which ``asyncio.run`` calls),
    so ``asyncio.run(acompletion(...))`` once per call leaks no client and no socket."""
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        client = httpx.AsyncClient(
            verify=_verify(),
            limits=_LIMITS,
            timeout=DEFAULT_TIMEOUT,
            follow_redirects=False,
            mounts={"fake://": FakeTransport()},
        )
        _async_clients[loop] = client
        closer = _close_at_shutdown(loop, client)
        await closer.asend(None)  # started: the loop now tracks it
        _closers[loop] = closer
    return client


async def _close_at_shutdown(
    loop: asyncio.AbstractEventLoop, client: httpx.AsyncClient
) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        _async_clients.pop(loop, None)
        await client.aclose()


def backoff(attempt: int, retry_after: float | None) -> float:
    """Seconds to wait before retry ``attempt`` (1-based): the provider's hint when it gave one
    (capped at 60 s), else exponential from 0.5 s with jitter, capped at 8 s."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), 60.0)
    base: float = min(0.5 * 2 ** (attempt - 1), 8.0)
    return base * (0.75 + random.random() * 0.25)


def deadline_for(timeout: float | httpx.Timeout | None) -> float | None:
    """The monotonic time a call must end by: ``timeout`` seconds (default 600) from now. An
    ``httpx.Timeout`` sets per-operation limits only, as in httpx, and no total deadline."""
    if isinstance(timeout, httpx.Timeout):
        return None
    return time.monotonic() + (DEFAULT_TOTAL if timeout is None else float(timeout))


def _timeout(value: float | httpx.Timeout | None, deadline: float | None) -> Any:
    """The httpx timeout of one attempt: each connect, write and read at most what is left."""
    if isinstance(value, httpx.Timeout):
        return value
    if deadline is None:
        return httpx.USE_CLIENT_DEFAULT if value is None else httpx.Timeout(value, connect=min(10.0, value))
    left = max(deadline - time.monotonic(), 0.001)
    per_op = left if value is None else min(float(value), left)
    return httpx.Timeout(per_op, connect=min(10.0, per_op))


def _build(
    client: httpx.Client | httpx.AsyncClient, req: HttpRequest, timeout: Any, deadline: float | None
) -> httpx.Request:
    return client.build_request(
        req.method, req.url, headers=req.headers, json=req.json, timeout=_timeout(timeout, deadline)
    )


def _expired(deadline: float | None, provider: str, model: str) -> APITimeoutError:
    return APITimeoutError("the call's deadline (timeout=) passed", provider=provider, model=model)


def _too_big(cap: int, provider: str, model: str, status: int) -> InvalidResponseError:
    return InvalidResponseError(
        f"the response body is larger than {cap:,} bytes, the cap (max_response_bytes=)",
        status=status,
        provider=provider,
        model=model,
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


def _left(deadline: float | None) -> float:
    return float("inf") if deadline is None else deadline - time.monotonic()


def _failed(
    exc: Exception,
    response: httpx.Response | None,
    req: HttpRequest,
    where: tuple[str, str, float | None],
) -> APIError | bytes:
    """What a failed attempt means: the error to retry or raise, or, for an error answer cut off
    while its body was read, a stand-in body (its status types it; retrying cannot help)."""
    provider, model, deadline = where
    if isinstance(exc, APIError):  # the deadline passed or the body is over the cap while reading
        return exc
    if past(deadline):  # the watchdog cut a read that had stalled past the deadline
        return _expired(deadline, provider, model)
    if isinstance(exc, httpx.DecodingError):  # a body that lies about its encoding: a bad answer
        what = f"the response body could not be decoded ({type(exc).__name__})"
        return InvalidResponseError(what, provider=provider, model=model)
    status = response.status_code if response is not None else 0
    if status >= 400 and status not in RETRY_STATUSES:
        return f"the error body could not be read ({type(exc).__name__})".encode()
    assert isinstance(exc, httpx.HTTPError)
    return connection_error(exc, req.secrets, provider, model)


def _retry_wait(
    attempt: int, max_retries: int, deadline: float | None, failure: APIError | None, hint: float | None
) -> float | None:
    """Seconds to wait before the next attempt, or None when there is none: retries used up, a bad
    answer (never retried), or a wait that would pass the call's deadline."""
    if attempt > max_retries or isinstance(failure, InvalidResponseError):
        return None
    wait = backoff(attempt, hint)
    return wait if wait < _left(deadline) else None


def send(
    req: HttpRequest,
    *,
    client: httpx.Client | None = None,
    provider: str,
    model: str,
    timeout: float | httpx.Timeout | None,
    max_retries: int,
    retry_after: RetryAfter,
    deadline: float | None = None,
    max_body: int = MAX_BODY,
) -> tuple[httpx.Response, bytes | None]:
    """Send with retries inside the call's deadline. Returns the final response (maybe an error
    status) and its body, read here (capped at ``max_body``, inside the deadline), except for a
    successful streamed response, which is returned unread: the caller must close it.
    A retry whose wait would pass the deadline is not made: the last answer or error stands."""
    client = _client() if client is None else client
    attempt = 0
    while True:
        attempt += 1
        if _left(deadline) <= 0:
            raise _expired(deadline, provider, model)
        outcome: APIError | bytes | None = None
        body: bytes | None = None
        response: httpx.Response | None = None
        try:
            response = client.send(_build(client, req, timeout, deadline), stream=True)
            if not req.stream or response.status_code >= 400:  # an error answer is read here too
                body = _read(response, deadline, max_body, provider, model)
        except (httpx.HTTPError, APIError) as exc:
            outcome = _failed(exc, response, req, (provider, model, deadline))
        if isinstance(outcome, bytes) and response is not None:
            return response, outcome
        if isinstance(outcome, APIError):
            wait = _retry_wait(attempt, max_retries, deadline, outcome, None)
            if wait is None:
                raise outcome  # outside the except: no chained httpx error holding the request
            time.sleep(wait)
            continue
        assert response is not None  # sent: no failure was recorded
        if response.status_code in RETRY_STATUSES:
            wait = _retry_wait(attempt, max_retries, deadline, None, retry_after(response.headers))
            if wait is not None:
                response.close()
                time.sleep(wait)
                continue
        return response, body


def past(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() >= deadline


def _take(
    buf: bytearray, chunk: bytes, cap: int, deadline: float | None, where: tuple[str, str, int]
) -> None:
    """Add a chunk of a body being read; over the cap or past the deadline, stop with the error."""
    buf += chunk
    provider, model, status = where
    if len(buf) > cap:
        raise _too_big(cap, provider, model, status)
    if past(deadline):
        raise _expired(deadline, provider, model)


def _read(response: httpx.Response, deadline: float | None, cap: int, provider: str, model: str) -> bytes:
    buf = bytearray()
    where = (provider, model, response.status_code)
    token = None if deadline is None else _watchdog.watch(deadline, response)
    try:
        for chunk in response.iter_bytes():
            _take(buf, chunk, cap, deadline, where)
        _take(buf, b"", cap, deadline, where)  # a body ended by the watchdog's cut is not an answer
    finally:
        if token is not None:
            _watchdog.unwatch(token)
        response.close()
    return bytes(buf)


async def _aread(
    response: httpx.Response, deadline: float | None, cap: int, provider: str, model: str
) -> bytes:
    buf = bytearray()
    where = (provider, model, response.status_code)
    handle = None if deadline is None else _watchdog.awatch(deadline, response)
    try:
        async for chunk in response.aiter_bytes():
            _take(buf, chunk, cap, deadline, where)
        _take(buf, b"", cap, deadline, where)
    finally:
        if handle is not None:
            handle.cancel()
        await response.aclose()
    return bytes(buf)


async def asend(
    req: HttpRequest,
    *,
    client: httpx.AsyncClient | None = None,
    provider: str,
    model: str,
    timeout: float | httpx.Timeout | None,
    max_retries: int,
    retry_after: RetryAfter,
    deadline: float | None = None,
    max_body: int = MAX_BODY,
) -> tuple[httpx.Response, bytes | None]:
    """The async twin of :func:`send`."""
    client = await _aclient() if client is None else client
    attempt = 0
    while True:
        attempt += 1
        if _left(deadline) <= 0:
            raise _expired(deadline, provider, model)
        outcome: APIError | bytes | None = None
        body: bytes | None = None
        response: httpx.Response | None = None
        try:
            response = await client.send(_build(client, req, timeout, deadline), stream=True)
            if not req.stream or response.status_code >= 400:  # an error answer is read here too
                body = await _aread(response, deadline, max_body, provider, model)
        except (httpx.HTTPError, APIError) as exc:
            outcome = _failed(exc, response, req, (provider, model, deadline))
        if isinstance(outcome, bytes) and response is not None:
            return response, outcome
        if isinstance(outcome, APIError):
            wait = _retry_wait(attempt, max_retries, deadline, outcome, None)
            if wait is None:
                raise outcome
            await asyncio.sleep(wait)
            continue
        assert response is not None
        if response.status_code in RETRY_STATUSES:
            wait = _retry_wait(attempt, max_retries, deadline, None, retry_after(response.headers))
            if wait is not None:
                await response.aclose()
                await asyncio.sleep(wait)
                continue
        return response, body
