"""The call path: ``completion`` / ``acompletion`` and the ``Stream`` / ``AsyncStream`` they return.

``"provider/model"`` -> registry -> ``Adapter.build_request`` -> transport (pooled or the caller's
``http_client``) -> ``Adapter.parse_response`` or the adapter's incremental stream decoder, fed by
the sync and the async reader alike.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
from collections.abc import AsyncIterator
from collections.abc import Generator
from collections.abc import Iterator
from typing import TYPE_CHECKING
from typing import Any

from router._cost import usage_cost
from router._exceptions import APIError
from router._exceptions import APITimeoutError
from router._exceptions import StreamConsumedError
from router._registry import resolve
from router._streaming import MAX_EVENT
from router._streaming import aiter_events
from router._streaming import iter_events
from router._types import ChatCompletion
from router._types import ChatCompletionChunk
from router._types import HttpRequest
from router._types import Receipt

if TYPE_CHECKING:  # httpx and the adapter machinery load on the first call, not on `import router`
    from router._adapter import Adapter
    from router._httpx import httpx

__all__ = ["AsyncStream", "Stream", "acompletion", "completion"]

DEFAULT_MAX_RETRIES = 2
_closing: set[asyncio.Task[None]] = set()  # closes of dropped async streams still running


def _prepare(model: str, kwargs: dict[str, Any]) -> tuple[Adapter, HttpRequest, Receipt, dict[str, Any]]:
    adapter, name = resolve(model)
    request = dict(kwargs)
    request["model"] = name
    http_client = request.pop("http_client", None)
    receipt = Receipt(provider=adapter.id, model=adapter.aliases.get(name, name))
    http = adapter.build_request(
        request,
        api_key=kwargs.get("api_key"),
        base_url=kwargs.get("base_url"),
        strict=bool(kwargs.get("strict", False)),
        receipt=receipt,
    )
    retries = kwargs.get("max_retries")
    opts = {
        "client": http_client,
        "provider": adapter.id,
        "model": receipt.model,
        "timeout": kwargs.get("timeout"),
        "max_retries": DEFAULT_MAX_RETRIES if retries is None else int(retries),
        "retry_after": adapter.retry_after,
    }
    if kwargs.get("max_response_bytes") is not None:
        opts["max_body"] = int(kwargs["max_response_bytes"])
    return adapter, http, receipt, opts


def _stream_limits(kwargs: dict[str, Any], deadline: float | None) -> tuple[float | None, int]:
    cap = kwargs.get("max_event_bytes")
    return deadline, MAX_EVENT if cap is None else int(cap)


def _finish(
    adapter: Adapter, response: httpx.Response, body: bytes | None, receipt: Receipt
) -> ChatCompletion:
    result = adapter.parse_response(response.status_code, response.headers, body or b"", receipt=receipt)
    if result.cost is None and result.usage is not None:
        found = adapter.model(receipt.model, result.model)
        if found is not None and found.price is not None:
            result.cost = usage_cost(found.price, result.usage)
    return result


def completion(model: str, messages: list[Any], **kwargs: Any) -> ChatCompletion | Stream:
    """Send an OpenAI-style chat request to any provider.

    >>> resp = completion("fake/echo", [{"role": "user", "content": "Hi"}])
    >>> resp.choices[0].message.content
    'Hi'

    ``stream=True`` returns a :class:`Stream` of ``ChatCompletionChunk``. Router options: ``api_key``,
    ``base_url``, ``timeout`` (seconds), ``max_retries``, ``extra_headers``, ``extra_body``, ``strict``
    (raise instead of dropping a parameter the provider does not take), ``http_client`` (your own
    ``httpx.Client``, used as it is and left open; e.g. one with an ``httpx.MockTransport`` in tests).
    """
    from router import _transport  # imports httpx: kept off `import router`

    adapter, http, receipt, opts = _prepare(model, {"messages": messages, **kwargs})
    opts["deadline"] = deadline = _transport.deadline_for(opts["timeout"])
    response, body = _transport.send(http, **opts)
    if http.stream:
        if response.status_code < 400:
            return Stream(adapter, response, receipt, http.secrets, *_stream_limits(kwargs, deadline))
        # an error answer's body was read by the transport, capped and inside the deadline
        failure = adapter.map_error(response.status_code, response.headers, body or b"", model=receipt.model)
    else:
        try:
            return _finish(adapter, response, body, receipt)
        except APIError as err:
            failure = err
    raise failure.scrub(http.secrets)  # outside any except: no chained error, no echoed key


async def acompletion(model: str, messages: list[Any], **kwargs: Any) -> ChatCompletion | AsyncStream:
    """The async twin of :func:`completion`; ``stream=True`` gives an :class:`AsyncStream`;
    ``http_client`` takes an ``httpx.AsyncClient``."""
    from router import _transport  # imports httpx: kept off `import router`

    adapter, http, receipt, opts = _prepare(model, {"messages": messages, **kwargs})
    opts["deadline"] = deadline = _transport.deadline_for(opts["timeout"])
    response, body = await _transport.asend(http, **opts)
    if http.stream:
        if response.status_code < 400:
            return AsyncStream(adapter, response, receipt, http.secrets, *_stream_limits(kwargs, deadline))
        # an error answer's body was read by the transport, capped and inside the deadline
        failure = adapter.map_error(response.status_code, response.headers, body or b"", model=receipt.model)
    else:
        try:
            return _finish(adapter, response, body, receipt)
        except APIError as err:
            failure = err
    raise failure.scrub(http.secrets)  # outside any except: no chained error, no echoed key


def _timed(
    response: httpx.Response, deadline: float | None, adapter: Adapter, receipt: Receipt
) -> Generator[bytes, None, None]:
    """The body's chunks, until the call's deadline: a trickle, endless keep-alives or a stalled read
    (cut by the watchdog) end there with APITimeoutError."""
    from router import _transport  # already loaded by the call that opened the stream

    token = None if deadline is None else _transport.watch(deadline, response)
    try:
        for chunk in response.iter_bytes():
            _in_time(deadline, adapter, receipt)
            yield chunk
        _in_time(deadline, adapter, receipt)  # a stream ended by the watchdog's cut is not an answer
    finally:
        if token is not None:
            _transport.unwatch(token)


async def _atimed(
    response: httpx.Response, deadline: float | None, adapter: Adapter, receipt: Receipt
) -> AsyncGenerator[bytes, None]:
    from router import _transport  # already loaded by the call that opened the stream

    handle = None if deadline is None else _transport.awatch(deadline, response)
    try:
        async for chunk in response.aiter_bytes():
            _in_time(deadline, adapter, receipt)
            yield chunk
        _in_time(deadline, adapter, receipt)
    finally:
        if handle is not None:
            handle.cancel()


def _in_time(deadline: float | None, adapter: Adapter, receipt: Receipt) -> None:
    if deadline is not None and time.monotonic() >= deadline:
        raise _late(adapter, receipt)


def _late(adapter: Adapter, receipt: Receipt) -> APITimeoutError:
    return APITimeoutError(
        "the call's deadline (timeout=) passed while streaming", provider=adapter.id, model=receipt.model
    )


def _consumed(adapter: Adapter, receipt: Receipt) -> StreamConsumedError:
    return StreamConsumedError(
        "this stream was already read (a stream can be iterated once)",
        provider=adapter.id,
        model=receipt.model,
    )


def _read_error(exc: Exception, adapter: Adapter, receipt: Receipt, deadline: float | None) -> APIError:
    from router import _transport  # already loaded by the call that opened the stream

    if _transport.past(deadline):  # the watchdog cut a read that had stalled past the deadline
        return _late(adapter, receipt)
    if isinstance(exc, _transport.HTTPError):
        return _transport.connection_error(exc, (), adapter.id, receipt.model)
    return _consumed(adapter, receipt)  # httpx.StreamError: the body was read or closed before


class _Reader:
    """What a stream holds: the open response and what its reading must respect."""

    def __init__(
        self,
        adapter: Adapter,
        response: httpx.Response,
        receipt: Receipt,
        secrets: tuple[str, ...] = (),
        deadline: float | None = None,
        max_event: int = MAX_EVENT,
    ) -> None:
        self._adapter = adapter
        self._secrets = secrets
        self._deadline = deadline
        self._max_event = max_event
        self.response = response
        self.receipt = receipt
        self._started = False

    def _begin(self) -> None:
        if self._started:
            raise _consumed(self._adapter, self.receipt)
        self._started = True

    def _failed(self, failure: APIError) -> APIError:
        if failure.provider is None:  # raised by the framing layer, which knows no provider
            failure.provider, failure.model = self._adapter.id, self.receipt.model
        return failure.scrub(self._secrets)


class Stream(_Reader):
    """Iterate for ``ChatCompletionChunk`` objects; closes the connection when done (or use ``with``)."""

    def __iter__(self) -> Iterator[ChatCompletionChunk]:
        from router._httpx import httpx  # already loaded by the call that opened the stream

        self._begin()
        decoder = self._adapter.stream_decoder(receipt=self.receipt)
        framing = self._adapter.config.stream.framing
        failure: APIError | None = None
        chunks = _timed(self.response, self._deadline, self._adapter, self.receipt)
        try:
            yield from decoder.decode(iter_events(chunks, framing, self._max_event))
        except (httpx.HTTPError, httpx.StreamError) as exc:
            failure = _read_error(exc, self._adapter, self.receipt, self._deadline)
        except APIError as err:
            failure = err
        finally:
            chunks.close()  # its deadline watch ends with the stream
            self.response.close()
        if failure is not None:
            raise self._failed(failure)

    def close(self) -> None:
        self.response.close()

    def __del__(self) -> None:
        # A stream dropped unread gives its pooled connection back (sync: closed here, at once).
        response = getattr(self, "response", None)
        if response is not None and not response.is_closed:
            response.close()

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncStream(_Reader):
    """``async for`` over ``ChatCompletionChunk`` objects."""

    async def __aiter__(self) -> AsyncIterator[ChatCompletionChunk]:
        from router._httpx import httpx  # already loaded by the call that opened the stream

        self._begin()
        decoder = self._adapter.stream_decoder(receipt=self.receipt)
        framing = self._adapter.config.stream.framing
        failure: APIError | None = None
        chunks = _atimed(self.response, self._deadline, self._adapter, self.receipt)
        try:
            async for ev in aiter_events(chunks, framing, self._max_event):
                for chunk in decoder.feed(ev):
                    yield chunk
                if decoder.done:
                    return
            for chunk in decoder.close():
                yield chunk
        except (httpx.HTTPError, httpx.StreamError) as exc:
            failure = _read_error(exc, self._adapter, self.receipt, self._deadline)
        except APIError as err:
            failure = err
        finally:
            await chunks.aclose()  # now, not when collected: its deadline watch ends with the stream
            await self.response.aclose()
        if failure is not None:
            raise self._failed(failure)

    async def aclose(self) -> None:
        await self.response.aclose()

    def __del__(self) -> None:
        # A stream dropped unread: its connection is released on the loop that opened it.
        response = getattr(self, "response", None)
        if response is None or response.is_closed:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop any more: the loop's shutdown closes the pool and its connections
        task = loop.create_task(response.aclose())
        _closing.add(task)  # held until done: the loop keeps only a weak reference to tasks
        task.add_done_callback(_closing.discard)

    async def __aenter__(self) -> AsyncStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
