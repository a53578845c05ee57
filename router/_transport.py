"""HTTP: pooled or injected httpx clients, timeouts, and the retry loop (backoff with jitter,
Retry-After honoured, every retry logged under the ``router`` logger and told to the call's
``_on_retry``).

A call's time limits: ``timeout=`` is the total deadline (connect, send, every read, the retries);
``first_token`` bounds the wait for the answer's headers (a plain call's first byte; for a stream,
the reader in router/_client.py holds the rest of that limit until the first content chunk), and
``stall`` the gap between two reads of a body. The per-read ones are socket read limits: httpcore
looks up ``request.extensions["timeout"]["read"]`` for the headers and again when the body starts,
so each phase gets its own, at no cost per chunk.

Pooled clients are created on first use, one sync client per process and one async client per event
loop, so connections are reused across calls; a caller's own ``http_client`` is used as it is (its
transport, timeouts and limits) and never closed here. Nothing here knows a provider: the pooled
clients mount router/_fake.py's in-process transport on ``fake://``, as any httpx client can.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import random
import threading
import time
import weakref
from collections.abc import AsyncGenerator
from collections.abc import Callable
from collections.abc import Mapping
from http.cookiejar import CookieJar
from typing import TYPE_CHECKING
from typing import Any

from router import _watchdog
from router._exceptions import APIConnectionError
from router._exceptions import APIError
from router._exceptions import APITimeoutError
from router._exceptions import BadRequestError
from router._exceptions import FirstTokenTimeoutError
from router._exceptions import InvalidResponseError
from router._exceptions import StallTimeoutError
from router._fake import FakeTransport
from router._httpx import abody_chunks
from router._httpx import body_chunks
from router._httpx import family
from router._httpx import httpx
from router._httpx import is_timeout
from router._httpx import timeout_of
from router._types import HttpRequest
from router._watchdog import awatch
from router._watchdog import unwatch
from router._watchdog import watch

if TYPE_CHECKING:
    import ssl

    from router._httpx import AsyncClient
    from router._httpx import Client
    from router._httpx import Response
    from router._httpx import Timeout

__all__ = [
    "DEFAULT_TIMEOUT",
    "DEFAULT_TOTAL",
    "MAX_BODY",
    "RETRY_STATUSES",
    "AsyncCall",
    "Call",
    "NoCookies",
    "awatch",
    "backoff",
    "connection_error",
    "deadline_for",
    "past",
    "set_read_limit",
    "stall_error",
    "unwatch",
    "watch",
]

log = logging.getLogger("router")

DEFAULT_TIMEOUT = httpx.Timeout(600.0, connect=10.0)
# Retried after a pause: timeouts, conflicts, rate limits and server-side failures.
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


class NoCookies(CookieJar):
    """The pooled clients' cookie jar, which keeps nothing. One pool serves every call of a process
    (every key, every tenant of an app; every caller of the gateway), so a cookie one answer set (a
    load balancer's, a session's) must never ride along another call. No LLM API needs cookies: each
    authenticates every request. Nothing is parsed either (httpx extracts cookies from every answer)."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None

    def add_cookie_header(self, request: Any) -> None:
        return None

    def set_cookie(self, cookie: Any) -> None:
        return None


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
                    cookies=NoCookies(),
                )
                _sync_client = client
                # Its keep-alive connections are closed at exit, not left to the garbage collector.
                atexit.register(client.close)
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
            cookies=NoCookies(),
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


def deadline_for(timeout: float | Timeout | None) -> float | None:
    """The monotonic time a call must end by: ``timeout`` seconds (default 600) from now. An
    ``httpx.Timeout`` sets per-operation limits only, as in httpx, and no total deadline."""
    if timeout is None:
        return time.monotonic() + DEFAULT_TOTAL
    if is_timeout(timeout):
        return None
    return time.monotonic() + float(timeout)  # type: ignore[arg-type]


def _timeout(value: float | Timeout | None, deadline: float | None, first: float | None, mod: Any) -> Any:
    """The timeout of one attempt, as ``mod``'s (the client's library) ``Timeout``: each connect,
    write and read at most what is left; with ``first``, the connect and the wait for the headers at
    most that (the body's reads get their own limit when the body starts: :func:`set_read_limit`)."""
    if value is not None and not isinstance(value, (int, float)):  # a Timeout: limits per operation
        if first is None:
            return timeout_of(value, mod)
        connect = first if value.connect is None else min(value.connect, first)
        read = first if value.read is None else min(value.read, first)
        return mod.Timeout(connect=connect, read=read, write=value.write, pool=value.pool)
    if deadline is None:
        if value is None and first is None:
            return mod.USE_CLIENT_DEFAULT
        per_op = DEFAULT_TOTAL if value is None else float(value)
    else:
        left = max(deadline - time.monotonic(), 0.001)
        per_op = left if value is None else min(float(value), left)
    if first is None:
        return mod.Timeout(per_op, connect=min(10.0, per_op))
    first = min(first, per_op)
    return mod.Timeout(per_op, connect=min(10.0, first), read=first)


def set_read_limit(response: Response, seconds: float | None) -> None:
    """Each read of ``response``'s body waits at most ``seconds`` (None: no limit). Call it before the
    body is iterated: httpcore looks the read limit up once, when the body starts."""
    limits = response.request.extensions.get("timeout")
    if isinstance(limits, dict):
        limits["read"] = seconds


def _stalled(exc: Exception, stall: float | None, since: float) -> bool:
    """Whether ``exc`` is a read that waited ``stall`` seconds for a byte (not a read limit of some
    other kind, and not an injected transport's instant timeout)."""
    return (
        stall is not None
        and isinstance(exc, family(exc).ReadTimeout)
        and time.monotonic() - since >= stall - _SLACK
    )


_SLACK = 0.01  # seconds: how early a timer may fire (asyncio's are checked against the loop's clock)


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
    exc: Exception, secrets: tuple[str, ...], provider: str, model: str
) -> APIConnectionError:
    """The typed error for a transport failure, with every secret of the request scrubbed from it."""
    cls = APITimeoutError if isinstance(exc, family(exc).TimeoutException) else APIConnectionError
    return cls(_scrub(f"{type(exc).__name__}: {exc}", secrets), provider=provider, model=model)


RetryAfter = Callable[[Mapping[str, str]], float | None]  # response headers -> seconds to wait


def _left(deadline: float | None) -> float:
    return float("inf") if deadline is None else deadline - time.monotonic()


def _retry_wait(
    attempt: int, max_retries: int, deadline: float | None, failure: APIError | None, hint: float | None
) -> float | None:
    """Seconds to wait before the next attempt, or None when there is none: retries used up, a bad
    answer (never retried), or a wait that would pass the call's deadline."""
    if attempt > max_retries or isinstance(failure, InvalidResponseError):
        return None
    wait = backoff(attempt, hint)
    return wait if wait < _left(deadline) else None


OnRetry = Callable[[Any], None]  # called with a router._events.Event(kind="retry") before each wait


class _Call:
    """One call on its way to an answer: the request, its time limits and its retry budget.

    :meth:`Call.send` / :meth:`AsyncCall.send` run one; a stream's reader (router/_client.py) keeps it, to try
    again when the first token or a read is late before the stream gave the caller anything.
    ``first_token`` caps the wait for the headers (counted from sending), ``stall`` each read of a
    body; both stay inside the deadline.
    """

    def __init__(
        self,
        req: HttpRequest,
        *,
        provider: str,
        model: str,
        timeout: float | Timeout | None,
        max_retries: int,
        retry_after: RetryAfter,
        deadline: float | None = None,
        max_body: int = MAX_BODY,
        first_token: float | None = None,
        stall: float | None = None,
        on_retry: OnRetry | None = None,
    ) -> None:
        self.req = req
        self.provider = provider
        self.model = model
        self.timeout = timeout
        self.max_retries = max_retries
        self.retry_after = retry_after
        self.deadline = deadline
        self.max_body = max_body
        self.first_token = first_token
        self.stall = stall
        self.on_retry = on_retry
        self.attempt = 0  # attempts made so far (1-based once sent)
        self._content: bytes | None = None  # the body as sent, encoded by the first attempt
        self.started = time.monotonic()
        self.sent_at = self.started  # when the current attempt was sent
        self.headers_at = self.started  # when its headers came

    # ------------------------------------------------------------------ one attempt

    def _request(self, client: Client | AsyncClient, mod: Any) -> Any:
        self.attempt += 1
        if _left(self.deadline) <= 0:
            raise _expired(self.deadline, self.provider, self.model)
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "sending %s/%s%s (attempt %d of %d)",
                self.provider,
                self.model,
                " (stream)" if self.req.stream else "",
                self.attempt,
                self.max_retries + 1,
            )
        self.sent_at = time.monotonic()
        timeout = _timeout(self.timeout, self.deadline, self.first_token, mod)
        req = self.req
        content = self._content
        if content is None:  # once per call, not per attempt
            try:
                content = self._content = _JSON.encode(req.json).encode()
            except (ValueError, TypeError, RecursionError) as exc:  # NaN, an object, a cycle (extra_body=)
                raise BadRequestError(
                    f"the request body cannot be sent as JSON: {exc}",
                    provider=self.provider,
                    model=self.model,
                ) from None
        headers = _own_headers(client, req.headers, mod)
        if headers is None:  # a caller's client: its cookies, params and base URL apply, as httpx does
            return client.build_request(
                req.method, _url(req.url, mod), headers=req.headers, content=content, timeout=timeout
            )
        limits = client.timeout if timeout is mod.USE_CLIENT_DEFAULT else timeout
        return mod.Request(
            req.method,
            _url(req.url, mod),
            headers=headers,
            content=content,
            extensions={"timeout": limits.as_dict()},
        )

    def body_limit(self) -> float | None:
        """The read limit of a body about to be read: the stall limit, inside what is left."""
        limits = [] if self.stall is None else [self.stall]
        timeout = self.timeout
        if timeout is not None and not isinstance(timeout, (int, float)):  # a Timeout
            if timeout.read is not None:
                limits.append(timeout.read)
        elif timeout is not None:
            limits.append(float(timeout))
        if self.deadline is not None:
            limits.append(max(self.deadline - time.monotonic(), 0.001))
        return min(limits) if limits else None

    def first_token_left(self) -> float | None:
        """Seconds of the first-token limit the headers left for the first content chunk (None: no
        limit, or none before the deadline). The reader starts this clock when it starts reading, so
        time the caller takes before iterating is not the provider's."""
        if self.first_token is None:
            return None
        return max(self.sent_at + self.first_token - self.headers_at, 0.0)

    def first_token_error(self) -> FirstTokenTimeoutError:
        what = "no first token" if self.req.stream else "no response"
        return FirstTokenTimeoutError(
            f"{what} within {self.first_token:g} s (first_token_timeout=)",
            provider=self.provider,
            model=self.model,
        )

    def _failed(self, exc: Exception, response: Response | None) -> APIError | bytes:
        """What a failed attempt means: the error to retry or raise, or, for an error answer cut off
        while its body was read, a stand-in body (its status types it; retrying cannot help)."""
        provider, model = self.provider, self.model
        if isinstance(exc, APIError):  # the deadline passed, a stall, or the body is over the cap
            return exc
        if past(self.deadline):  # the watchdog cut a read that had stalled past the deadline
            return _expired(self.deadline, provider, model)
        mod = family(exc)
        if (
            response is None
            and self.first_token is not None
            and isinstance(exc, mod.TimeoutException)
            and time.monotonic() - self.sent_at >= self.first_token - _SLACK
        ):
            return self.first_token_error()  # the headers did not come within first_token_timeout
        if isinstance(exc, mod.DecodingError):  # a body that lies about its encoding: a bad answer
            what = f"the response body could not be decoded ({type(exc).__name__})"
            return InvalidResponseError(what, provider=provider, model=model)
        status = response.status_code if response is not None else 0
        if status >= 400 and status not in RETRY_STATUSES:
            return f"the error body could not be read ({type(exc).__name__})".encode()
        return connection_error(exc, self.req.secrets, provider, model)

    def _answered(self, response: Response) -> bool:
        """Whether the answer's body is read here: a plain answer's, and every error answer's."""
        self.headers_at = time.monotonic()
        if self.req.stream and response.status_code < 400:
            return False
        set_read_limit(response, self.body_limit())
        return True

    # ------------------------------------------------------------------ retries

    def wait_for(self, failure: APIError | None, response: Response | None) -> float | None:
        """Seconds to wait before the next attempt after ``failure`` (or a retryable ``response``),
        told to the log and to ``on_retry``; None when there is no next attempt."""
        hint = None if response is None else self.retry_after(response.headers)
        wait = _retry_wait(self.attempt, self.max_retries, self.deadline, failure, hint)
        if wait is not None:
            reason = type(failure).__name__ if failure is not None else f"HTTP {_status(response)}"
            self._announce(reason, wait, failure)
        return wait

    def _announce(self, reason: str, wait: float, failure: APIError | None) -> None:
        nxt, most = self.attempt + 1, self.max_retries + 1
        log.info(
            "retrying %s/%s after %s (attempt %d of %d, waiting %.2f s)",
            self.provider,
            self.model,
            reason,
            nxt,
            most,
            wait,
        )
        if self.on_retry is None:
            return
        from router._events import Event  # only for a caller that listens (a Router)

        event = Event(
            kind="retry",
            deployment=f"{self.provider}/{self.model}",
            provider=self.provider,
            model=self.model,
            stream=self.req.stream,
            attempt=nxt,
            started=self.started,
            duration=time.monotonic() - self.started,
            error=failure,
            reason=reason,
            wait=wait,
        )
        try:
            self.on_retry(event)
        except Exception:
            log.exception("the call's _on_retry callback raised; the call goes on")


# The body's JSON as httpx's ``json=`` writes it (compact, UTF-8, no NaN), by one encoder made once:
# ``json=`` builds a new encoder for every request (json.dumps with options does), ~5 µs of a call.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)

_urls: dict[tuple[str, str], Any] = {}


def _url(url: str, mod: Any) -> Any:
    """``url`` as ``mod``'s parsed ``URL``, kept: a call's URL is one of a few, and httpx parses a
    string URL anew for every request (a third of building one). A URL object is immutable."""
    key = (mod.__name__, url)
    found = _urls.get(key)
    if found is None:
        if len(_urls) >= 512:  # bounded: URLs with a model or key in them vary without end
            _urls.clear()
        found = _urls[key] = mod.URL(url)
    return found


_merged: weakref.WeakKeyDictionary[Any, dict[tuple[tuple[str, str], ...], Any]] = weakref.WeakKeyDictionary()


def _own_headers(client: Any, headers: dict[str, str], mod: Any) -> Any:
    """The request's headers merged over ``client``'s, kept per client and header set, when the
    client is one of the router's own (it keeps no cookies, has no default query parameters and no
    base URL): then ``build_request`` would only merge these again, and normalise every header, on
    every call (a tenth of a gateway request's CPU). None for any other client."""
    known = _merged.get(client)
    if known is None:
        if (
            not isinstance(getattr(client.cookies, "jar", None), NoCookies)
            or client.params
            or str(client.base_url)
        ):
            return None
        known = _merged.setdefault(client, {})
    key = tuple(headers.items())
    found = known.get(key)
    if found is None:
        if len(known) >= 256:  # bounded: a key or a model in a header varies without end
            known.clear()
        found = known[key] = mod.Headers(client.headers)
        found.update(headers)
    return found


def _status(response: Response | None) -> int:
    return 0 if response is None else response.status_code


class Call(_Call):
    """A synchronous call: :meth:`send`, and :meth:`retry` for a stream's reader."""

    def __init__(self, req: HttpRequest, *, client: Client | None = None, **kwargs: Any) -> None:
        super().__init__(req, **kwargs)
        self.client = _client() if client is None else client

    def send(self) -> tuple[Response, bytes | None]:
        """Send with retries inside the call's deadline. Returns the final response (maybe an error
        status) and its body, read here (capped at ``max_body``, inside the deadline), except for a
        successful streamed response, which is returned unread: the caller must close it.
        A retry whose wait would pass the deadline is not made: the last answer or error stands."""
        client = self.client
        mod = family(client)
        while True:
            outcome: APIError | bytes | None = None
            body: bytes | None = None
            response: Response | None = None
            request = self._request(client, mod)
            try:
                response = client.send(request, stream=True)
                if self._answered(response):  # a plain answer, or an error answer: read here
                    body = _read(
                        response, self.deadline, self.max_body, self.provider, self.model, stall=self.stall
                    )
            except (mod.HTTPError, APIError) as exc:
                outcome = self._failed(exc, response)
            if isinstance(outcome, bytes) and response is not None:
                return response, outcome
            if isinstance(outcome, APIError):
                wait = self.wait_for(outcome, None)
                if wait is None:
                    raise outcome  # outside the except: no chained httpx error holding the request
                time.sleep(wait)
                continue
            assert response is not None  # sent: no failure was recorded
            if response.status_code in RETRY_STATUSES:
                wait = self.wait_for(None, response)
                if wait is not None:
                    response.close()
                    time.sleep(wait)
                    continue
            return response, body

    def retry(self, failure: APIError) -> tuple[Response, bytes | None] | None:
        """For a stream that failed before giving anything: wait and send again (None: no retry
        left, the failure stands)."""
        wait = self.wait_for(failure, None)
        if wait is None:
            return None
        time.sleep(wait)
        return self.send()


class AsyncCall(_Call):
    """The async twin of :class:`Call`."""

    def __init__(self, req: HttpRequest, *, client: AsyncClient | None = None, **kwargs: Any) -> None:
        super().__init__(req, **kwargs)
        self.client = client

    async def send(self) -> tuple[Response, bytes | None]:
        client = self.client
        if client is None:
            client = self.client = await _aclient()
        mod = family(client)
        while True:
            outcome: APIError | bytes | None = None
            body: bytes | None = None
            response: Response | None = None
            request = self._request(client, mod)
            try:
                response = await client.send(request, stream=True)
                if self._answered(response):
                    body = await _aread(
                        response, self.deadline, self.max_body, self.provider, self.model, stall=self.stall
                    )
            except (mod.HTTPError, APIError) as exc:
                outcome = self._failed(exc, response)
            if isinstance(outcome, bytes) and response is not None:
                return response, outcome
            if isinstance(outcome, APIError):
                wait = self.wait_for(outcome, None)
                if wait is None:
                    raise outcome
                await asyncio.sleep(wait)
                continue
            assert response is not None
            if response.status_code in RETRY_STATUSES:
                wait = self.wait_for(None, response)
                if wait is not None:
                    await response.aclose()
                    await asyncio.sleep(wait)
                    continue
            return response, body

    async def retry(self, failure: APIError) -> tuple[Response, bytes | None] | None:
        wait = self.wait_for(failure, None)
        if wait is None:
            return None
        await asyncio.sleep(wait)
        return await self.send()


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


def stall_error(stall: float, stream: bool, provider: str, model: str) -> StallTimeoutError:
    what = "stream stalled" if stream else "response body stalled"
    return StallTimeoutError(
        f"{what}: no data for {stall:g} s (stall_timeout=)", provider=provider, model=model
    )


def _stall_error(
    exc: Exception, response: Response, stall: float | None, since: float, where: tuple[str, str]
) -> StallTimeoutError | None:
    """A body read that waited ``stall`` seconds, as the error to retry; None for any other failure,
    and for an error answer's body (its status types it; cut off, it is read as far as it came)."""
    status = response.status_code
    if stall is not None and (status < 400 or status in RETRY_STATUSES) and _stalled(exc, stall, since):
        return stall_error(stall, False, *where)
    return None


def _read(
    response: Response,
    deadline: float | None,
    cap: int,
    provider: str,
    model: str,
    *,
    stall: float | None = None,
) -> bytes:
    """The whole body, capped at ``cap`` bytes, inside the deadline; with ``stall``, a read that
    waits that long for a byte is a ``StallTimeoutError`` (the caller has set the read limit)."""
    buf = bytearray()
    where = (provider, model, response.status_code)
    token = None if deadline is None else _watchdog.watch(deadline, response)
    last = time.monotonic()
    try:
        for chunk in body_chunks(response):
            _take(buf, chunk, cap, deadline, where)
            last = time.monotonic()
        _take(buf, b"", cap, deadline, where)  # a body ended by the watchdog's cut is not an answer
    except family(response).HTTPError as exc:
        stalled = None if past(deadline) else _stall_error(exc, response, stall, last, (provider, model))
        if stalled is None:
            raise
        raise stalled from None
    finally:
        if token is not None:
            _watchdog.unwatch(token)
        response.close()
    return bytes(buf)


async def _aread(
    response: Response,
    deadline: float | None,
    cap: int,
    provider: str,
    model: str,
    *,
    stall: float | None = None,
) -> bytes:
    buf = bytearray()
    where = (provider, model, response.status_code)
    handle = None if deadline is None else _watchdog.awatch(deadline, response)
    last = time.monotonic()
    try:
        async for chunk in abody_chunks(response):
            _take(buf, chunk, cap, deadline, where)
            last = time.monotonic()
        _take(buf, b"", cap, deadline, where)
    except family(response).HTTPError as exc:
        stalled = None if past(deadline) else _stall_error(exc, response, stall, last, (provider, model))
        if stalled is None:
            raise
        raise stalled from None
    finally:
        if handle is not None:
            handle.cancel()
        await response.aclose()
    return bytes(buf)
