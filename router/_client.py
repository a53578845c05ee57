"""The call path: ``completion`` / ``acompletion`` and the ``Stream`` / ``AsyncStream`` they return.

``"provider/model"`` -> registry -> ``Adapter.build_request`` -> transport (pooled or the caller's
``http_client``) -> ``Adapter.parse_response`` or the adapter's incremental stream decoder, fed by
the sync and the async reader alike.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncGenerator
from collections.abc import AsyncIterator
from collections.abc import Generator
from collections.abc import Iterator
from itertools import chain
from typing import TYPE_CHECKING
from typing import Any
from typing import Literal
from typing import Protocol
from typing import TypeVar
from typing import overload

from router._cost import usage_cost
from router._exceptions import APIError
from router._exceptions import APITimeoutError
from router._exceptions import BadRequestError
from router._exceptions import FirstTokenTimeoutError
from router._exceptions import StallTimeoutError
from router._exceptions import StreamConsumedError
from router._registry import resolve
from router._streaming import MAX_EVENT
from router._streaming import aiter_events
from router._streaming import make_parser
from router._types import ChatCompletion
from router._types import ChatCompletionChunk
from router._types import HttpRequest
from router._types import Receipt
from router._types import safe_headers

if TYPE_CHECKING:  # httpx and the adapter machinery load on the first call, not on `import router`
    import asyncio  # (and asyncio, ~20 ms, with the first async call: httpx itself does not import it)
    from typing import Unpack

    import router._transport as _transport
    from router._accumulate import StreamAccumulator
    from router._adapter import Adapter
    from router._httpx import Response
    from router._params_types import AsyncCompletionParams
    from router._params_types import CompletionParams
    from router._params_types import Messages

__all__ = ["AsyncStream", "Stream", "acompletion", "completion"]

DEFAULT_MAX_RETRIES = 2
# A stream's time limits when the call gives none (seconds, each inside the total deadline): to the
# first content chunk from sending, and between two reads of the body. A plain call has neither by
# default: its headers come when the whole answer is generated, so only timeout= bounds it.
# A stream's default limits (seconds, always inside the total). A model that may think before it
# writes (the catalogue says "reasoning", or the request asks for reasoning_effort), or one the
# catalogue does not know (a local server loading weights), gets the patient pair: OpenAI's o-series
# stream nothing while they reason, and a local model's first token can take minutes to load.
DEFAULT_FIRST_TOKEN_TIMEOUT = 120.0
DEFAULT_STALL_TIMEOUT = 60.0
PATIENT_FIRST_TOKEN_TIMEOUT = 300.0
PATIENT_STALL_TIMEOUT = 300.0
# Call options taken out of the request before it is built (they are the transport's, not the spec's).
_LIMIT_KEYS = ("first_token_timeout", "stall_timeout", "_on_retry")
_closing: set[asyncio.Task[None]] = set()  # closes of dropped async streams still running
_R = TypeVar("_R", "Stream", "AsyncStream")


def _disagree(alias: str, name: str) -> BadRequestError:
    return BadRequestError(
        f"{alias} and {name} were both given, with different values: they are two names (LiteLLM's "
        f"and OpenAI's) for one setting; give one",
        param=alias,
    )


def normalise_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The call's keyword arguments with LiteLLM's spellings in the router's terms: ``api_base`` is
    ``base_url``, ``num_retries`` is ``max_retries``, ``drop_params=False`` is ``strict=True``
    (``True``, the default, drops what the spec marks unsupported and records it on the receipt).
    Both spellings with different values are a ``BadRequestError`` naming the alias."""
    if not _ALIAS_KEYS.intersection(kwargs):
        return dict(kwargs)
    out = dict(kwargs)
    for alias, name in _ALIASES:
        if alias not in out:
            continue
        value = out.pop(alias)
        if value is None:
            continue
        if out.get(name) is not None and out[name] != value:
            raise _disagree(alias, name)
        out[name] = value
    if "drop_params" in out:
        drop = out.pop("drop_params")
        if drop is not None:
            if not isinstance(drop, bool):
                raise BadRequestError(
                    f"drop_params must be true or false, got {type(drop).__name__}", param="drop_params"
                )
            strict = out.get("strict")
            if strict is not None and bool(strict) == drop:
                raise _disagree("drop_params", "strict")  # drop_params=False is strict=True
            out["strict"] = not drop
    return out


_ALIASES = (("api_base", "base_url"), ("num_retries", "max_retries"))
_ALIAS_KEYS = frozenset({"api_base", "num_retries", "drop_params"})


def _request(
    messages: Any, stream: bool | None, kwargs: dict[str, Any]
) -> tuple[dict[str, Any], Any, dict[str, Any]]:
    """The request dict of a call, the model class of ``response_format=<class>`` (or None), whose
    schema the request now carries as an OpenAI json_schema response_format, and the call's time
    limits and retry listener (``first_token_timeout``, ``stall_timeout``, ``_on_retry``), taken out."""
    options = normalise_options(kwargs)
    limits = {k: options.pop(k) for k in _LIMIT_KEYS if k in options}
    if limits:
        # the request checks load with the first call, not on `import router`
        from router.protocols._validate import check_call_limits

        check_call_limits(limits)
    if isinstance(messages, tuple):  # typed as a Sequence; the request's messages are a list
        messages = list(messages)
    request: dict[str, Any] = {"messages": messages, **options}
    if stream is not None:
        request["stream"] = stream
    parse = None
    fmt = request.get("response_format")
    if isinstance(fmt, type):
        from router import _structured  # only for response_format=<model class>

        if _structured.is_model_class(fmt):
            parse = fmt
            request["response_format"] = _structured.response_format_for(fmt)
    return request, parse, limits


def _parsed(result: ChatCompletion, parse: Any) -> ChatCompletion:
    if parse is None:
        return result
    from router._structured import parse_completion  # only for response_format=<model class>

    return parse_completion(result, parse)


def _prepare(
    model: str, request: dict[str, Any], limits: dict[str, Any]
) -> tuple[Adapter, HttpRequest, Receipt, dict[str, Any]]:
    adapter, name = resolve(model)
    request["model"] = name
    http_client = request.pop("http_client", None)
    receipt = Receipt(provider=adapter.id, model=adapter.aliases.get(name, name))
    http = adapter.build_request(
        request,
        api_key=request.get("api_key"),
        base_url=request.get("base_url"),
        strict=bool(request.get("strict", False)),
        receipt=receipt,
    )
    retries = request.get("max_retries")
    first, stall = limits.get("first_token_timeout"), limits.get("stall_timeout")
    if http.stream and (first is None or stall is None):
        entry = adapter.model(name, receipt.model)
        patient = entry is None or "reasoning" in entry.capabilities or bool(request.get("reasoning_effort"))
        if first is None:
            first = PATIENT_FIRST_TOKEN_TIMEOUT if patient else DEFAULT_FIRST_TOKEN_TIMEOUT
        if stall is None:
            stall = PATIENT_STALL_TIMEOUT if patient else DEFAULT_STALL_TIMEOUT
    opts = {
        "client": http_client,
        "provider": adapter.id,
        "model": receipt.model,
        "timeout": request.get("timeout"),
        "max_retries": DEFAULT_MAX_RETRIES if retries is None else int(retries),
        "retry_after": adapter.retry_after,
        "first_token": None if first is None else float(first),
        "stall": None if stall is None else float(stall),
        "on_retry": limits.get("_on_retry"),
    }
    if request.get("max_response_bytes") is not None:
        opts["max_body"] = int(request["max_response_bytes"])
    return adapter, http, receipt, opts


def _max_event(request: dict[str, Any]) -> int:
    cap = request.get("max_event_bytes")
    return MAX_EVENT if cap is None else int(cap)


def _finish(adapter: Adapter, response: Response, body: bytes | None, receipt: Receipt) -> ChatCompletion:
    result = adapter.parse_response(response.status_code, response.headers, body or b"", receipt=receipt)
    if result.cost is None and result.usage is not None:
        found = adapter.model(receipt.model, result.model)
        if found is not None and found.price is not None:
            result.cost = usage_cost(found.price, result.usage)
    return result


def _mocked(model: str, request: dict[str, Any], mock: Any, parse: Any, cls: type[_R]) -> ChatCompletion | _R:
    """LiteLLM's ``mock_response``: the request is checked, nothing is sent."""
    from router._httpx import httpx  # only for mock_response=: httpx for its stand-in response
    from router._mock import mock_answer  # only for mock_response=

    answer = mock_answer(model, request, mock)
    if not request.get("stream"):
        return _parsed(answer.completion(), parse)
    response = httpx.Response(200, headers={"content-type": "text/event-stream"})
    return cls(answer.adapter, response, answer.receipt, parse=parse, source=answer)


@overload
def completion(
    model: str,
    messages: Messages,
    *,
    stream: Literal[False] | None = None,
    **kwargs: Unpack[CompletionParams],
) -> ChatCompletion: ...
@overload
def completion(
    model: str, messages: Messages, *, stream: Literal[True], **kwargs: Unpack[CompletionParams]
) -> Stream: ...
@overload
def completion(
    model: str, messages: Messages, *, stream: bool | None = None, **kwargs: Unpack[CompletionParams]
) -> ChatCompletion | Stream: ...
def completion(
    model: str, messages: Messages, *, stream: bool | None = None, **kwargs: Any
) -> ChatCompletion | Stream:
    """Send an OpenAI-style chat request to any provider.

    >>> resp = completion("fake/echo", [{"role": "user", "content": "Hi"}])
    >>> resp.choices[0].message.content
    'Hi'

    ``stream=True`` returns a :class:`Stream` of ``ChatCompletionChunk``. Every keyword is typed
    (:class:`router.CompletionParams`): the OpenAI parameters, and the router's options ``api_key``,
    ``base_url``, ``timeout`` (seconds), ``max_retries``, ``extra_headers``, ``extra_body``, ``strict``
    (raise instead of dropping a parameter the provider does not take), ``http_client`` (your own
    ``httpx.Client``, used as it is and left open; e.g. one with an ``httpx.MockTransport`` in tests),
    ``max_response_bytes``, ``max_event_bytes``, ``first_token_timeout`` (seconds from sending to a
    stream's first content chunk, default 60; to a plain answer's headers, default none) and
    ``stall_timeout`` (seconds a body may send nothing; streams: default 30, plain: none), both
    inside ``timeout`` and retried like a timeout while a stream has given nothing; LiteLLM's
    ``api_base``, ``num_retries``, ``drop_params`` and ``mock_response``. ``response_format=<model
    class>`` (a pydantic model) sends its strict JSON schema and puts the validated instance on
    ``message.parsed``. Each retry is logged at INFO under the ``router`` logger.
    """
    request, parse, limits = _request(messages, stream, kwargs)
    mock = request.pop("mock_response", None)
    if mock is not None:
        return _mocked(model, request, mock, parse, Stream)
    import router._transport as _transport  # imports httpx: kept off `import router`

    adapter, http, receipt, opts = _prepare(model, request, limits)
    opts["deadline"] = _transport.deadline_for(opts["timeout"])
    call = _transport.Call(http, **opts)
    response, body = call.send()
    if http.stream:
        if response.status_code < 400:
            receipt.headers = safe_headers(response.headers, http.secrets)  # stream.receipt.headers
            return Stream(adapter, response, receipt, http.secrets, call, _max_event(request), parse=parse)
        # an error answer's body was read by the transport, capped and inside the deadline
        failure = adapter.map_error(response.status_code, response.headers, body or b"", model=receipt.model)
    else:
        try:
            result = _finish(adapter, response, body, receipt)
        except APIError as err:
            failure = err
        else:
            return _parsed(result, parse)
    raise failure.scrub(http.secrets)  # outside any except: no chained error, no echoed key


@overload
async def acompletion(
    model: str,
    messages: Messages,
    *,
    stream: Literal[False] | None = None,
    **kwargs: Unpack[AsyncCompletionParams],
) -> ChatCompletion: ...
@overload
async def acompletion(
    model: str, messages: Messages, *, stream: Literal[True], **kwargs: Unpack[AsyncCompletionParams]
) -> AsyncStream: ...
@overload
async def acompletion(
    model: str, messages: Messages, *, stream: bool | None = None, **kwargs: Unpack[AsyncCompletionParams]
) -> ChatCompletion | AsyncStream: ...
async def acompletion(
    model: str, messages: Messages, *, stream: bool | None = None, **kwargs: Any
) -> ChatCompletion | AsyncStream:
    """The async twin of :func:`completion`; ``stream=True`` gives an :class:`AsyncStream`;
    ``http_client`` takes an ``httpx.AsyncClient``."""
    request, parse, limits = _request(messages, stream, kwargs)
    mock = request.pop("mock_response", None)
    if mock is not None:
        return _mocked(model, request, mock, parse, AsyncStream)
    import router._transport as _transport  # imports httpx: kept off `import router`

    adapter, http, receipt, opts = _prepare(model, request, limits)
    opts["deadline"] = _transport.deadline_for(opts["timeout"])
    call = _transport.AsyncCall(http, **opts)
    response, body = await call.send()
    if http.stream:
        if response.status_code < 400:
            receipt.headers = safe_headers(response.headers, http.secrets)  # stream.receipt.headers
            return AsyncStream(
                adapter, response, receipt, http.secrets, call, _max_event(request), parse=parse
            )
        # an error answer's body was read by the transport, capped and inside the deadline
        failure = adapter.map_error(response.status_code, response.headers, body or b"", model=receipt.model)
    else:
        try:
            result = _finish(adapter, response, body, receipt)
        except APIError as err:
            failure = err
        else:
            return _parsed(result, parse)
    raise failure.scrub(http.secrets)  # outside any except: no chained error, no echoed key


class _Current:
    """The response a stream is reading: a retry (first token or a read late, nothing given yet)
    replaces it, and the Stream closes whichever is current."""

    __slots__ = ("ended", "response")

    def __init__(self, response: Response) -> None:
        self.response = response
        self.ended = False  # read to the end, failed, or closed: it cannot be iterated again


class _Clock:
    """The time limits of reading one streamed response: the call's deadline (``inf`` for none), the
    first-token limit while no content chunk has come (``due``, None once one has, or when the
    deadline comes first) and the stall limit (each read's socket limit). Armed when the reading
    starts; the watchdog cuts the connection at the deadline and at ``due``."""

    __slots__ = ("adapter", "call", "cut", "deadline", "due", "first_watch", "receipt", "stall", "watches")

    def __init__(self, call: _transport._Call | None, adapter: Adapter, receipt: Receipt) -> None:
        self.call = call
        self.adapter = adapter
        self.receipt = receipt
        self.deadline = float("inf") if call is None or call.deadline is None else call.deadline
        self.stall = None if call is None else call.stall
        self.due: float | None = None
        self.cut = False  # the first-token watch fired: the connection was cut for it
        self.first_watch: Any = None
        self.watches: list[Any] = []

    def _start(self, response: Response, now: float) -> float | None:
        """Set the body's read limit; the first-token deadline to watch, if any."""
        import router._transport as _transport  # already loaded by the call that opened the stream

        call = self.call
        if call is None:
            return None
        _transport.set_read_limit(response, call.body_limit())
        left = call.first_token_left()
        if left is not None and now + left < self.deadline:
            self.due = now + left
        return self.due

    def start(self, response: Response, now: float) -> None:
        import router._transport as _transport  # already loaded by the call that opened the stream

        due = self._start(response, now)
        if self.deadline != float("inf"):
            self.watches.append(_transport.watch(self.deadline, response))
        if due is not None:
            self.first_watch = _transport.watch(due, response)

    def astart(self, response: Response, now: float) -> None:
        import router._transport as _transport  # already loaded by the call that opened the stream

        due = self._start(response, now)
        if self.deadline != float("inf"):
            self.watches.append(_transport.awatch(self.deadline, response))
        if due is not None:
            self.first_watch = _transport.awatch(due, response)

    def got_first(self) -> None:
        """The first content chunk came: the first-token limit is met (unless the watchdog cut the
        connection for it meanwhile: then the next read fails, and says so)."""
        self.due = None
        if self._drop(self.first_watch):
            self.cut = True
        self.first_watch = None

    def stop(self) -> None:
        self.got_first()
        for w in self.watches:
            self._drop(w)
        self.watches.clear()

    @staticmethod
    def _drop(watch: Any) -> bool:
        """End a watch; True when the (sync) watchdog had already cut the connection for it. An async
        watch runs on the reader's own loop, so it cannot fire between a read and this."""
        import router._transport as _transport  # already loaded by the call that opened the stream

        if watch is None:
            return False
        if isinstance(watch, int):
            return _transport.unwatch(watch)
        watch.cancel()
        return False

    def late(self, now: float) -> APIError | None:
        """The limit that has passed, as its error: the call's deadline, else the first token's."""
        if now >= self.deadline:
            return _late(self.adapter, self.receipt)
        if self.call is not None and (self.cut or (self.due is not None and now >= self.due)):
            return self.call.first_token_error()
        return None

    def read_error(self, exc: Exception, last: float) -> APIError:
        """What a failed read of the body means, by which limit passed (a read cut by the watchdog
        at the deadline or at the first-token limit, a read that waited the stall limit), else the
        connection's own failure: a reset is never called a timeout, nor the other way round."""
        import router._transport as _transport  # already loaded by the call that opened the stream
        from router._httpx import family  # already loaded by the call that opened the stream

        late = self.late(time.monotonic())
        if late is not None:
            return late
        call = self.call
        if call is not None and call.stall is not None and _transport._stalled(exc, call.stall, last):
            return _transport.stall_error(call.stall, True, self.adapter.id, self.receipt.model)
        if not isinstance(exc, family(exc).StreamError):  # a failure to connect, send or read
            return _transport.connection_error(exc, (), self.adapter.id, self.receipt.model)
        return _consumed(self.adapter, self.receipt)  # httpx.StreamError: the body was read or closed


async def _atimed(response: Response, clock: _Clock) -> AsyncGenerator[bytes, None]:
    """The body's chunks, until the call's deadline: a trickle, endless keep-alives or a stalled read
    (cut by the watchdog, or by the stall limit) end with the APITimeoutError of the limit passed.
    (The sync reader does this in its own loop.)"""
    from router._httpx import abody_chunks  # already loaded by the call that opened the stream
    from router._httpx import family

    last = time.monotonic()
    clock.astart(response, last)
    deadline = clock.deadline
    try:
        async for chunk in abody_chunks(response):
            last = time.monotonic()
            if last >= deadline:
                raise _late(clock.adapter, clock.receipt)
            yield chunk
        late = clock.late(time.monotonic())
        if late is not None:
            raise late
    except family(response).HTTPError as exc:
        failure = clock.read_error(exc, last)
    else:
        return
    finally:
        clock.stop()
    raise failure


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


def _has_content(chunk: ChatCompletionChunk) -> bool:
    """Whether a chunk carries something of the answer (content, reasoning, a tool call, a refusal or
    a finish reason), not only a role or the stream's lifecycle."""
    for c in chunk.choices:
        d = c.delta
        if (
            c.finish_reason is not None
            or d.content
            or d.reasoning_content
            or d.tool_calls
            or d.refusal
            or d.reasoning_blocks
            or d.function_call is not None
        ):
            return True
    return False


def _failed(adapter: Adapter, receipt: Receipt, secrets: tuple[str, ...], failure: APIError) -> APIError:
    if failure.provider is None:  # raised by the framing layer, which knows no provider
        failure.provider, failure.model = adapter.id, receipt.model
    return failure.scrub(secrets)


_RETRIED = (FirstTokenTimeoutError, StallTimeoutError)  # retried when the stream has given nothing


def _again(
    adapter: Adapter,
    current: _Current,
    receipt: Receipt,
    secrets: tuple[str, ...],
    answer: tuple[Response, bytes | None] | None,
    failure: APIError,
) -> APIError | None:
    """After a retry's send: None when a new stream is open (now ``current``), else the error."""
    if answer is None:
        return failure
    response, body = answer
    if response.status_code >= 400:  # an error answer: its body was read by the transport
        return adapter.map_error(response.status_code, response.headers, body or b"", model=receipt.model)
    current.response = response
    receipt.headers = safe_headers(response.headers, secrets)
    return None


def _read_stream(
    adapter: Adapter,
    current: _Current,
    receipt: Receipt,
    secrets: tuple[str, ...],
    call: _transport.Call | None,
    max_event: int,
    acc: StreamAccumulator,
) -> Generator[ChatCompletionChunk, None, None]:
    """The chunks of an open streamed answer, each added to ``acc`` as it is given; ``current.ended``
    once it ends (read to the end, failed or closed). It holds no reference to its Stream, so a
    stream dropped half read is freed (and its connection released) at once, not by the cycle
    collector.

    Until the first content chunk, the chunks before it (a role, the stream's lifecycle) are held
    back; a first-token or stall timeout there, with nothing given, is retried within the call's
    budget. After that, chunks pass straight through.

    This runs once per chunk, so it is one loop: the body's bytes (inside the call's deadline), the
    framing and the decoder, with no generator layer between them."""
    from router._httpx import body_chunks  # already loaded by the call that opened the stream
    from router._httpx import family

    framing = adapter.config.stream.framing
    add = acc.add
    try:
        while True:
            response = current.response
            decoder = adapter.stream_decoder(receipt=receipt)
            feed = decoder.feed
            clock = _Clock(call, adapter, receipt)
            parser = make_parser(framing, max_event)
            failure: APIError | None = None
            given = False
            last = time.monotonic()
            clock.start(response, last)
            deadline = clock.deadline
            try:
                held: list[ChatCompletionChunk] = []
                for data in chain(body_chunks(response), _END):
                    if data is None:  # the body ended: what the parser holds, unless a limit passed
                        late = clock.late(time.monotonic())  # a body ended by the watchdog's cut
                        if late is not None:
                            raise late
                        events = parser.close()
                    else:
                        last = time.monotonic()
                        if last >= deadline:
                            raise _late(adapter, receipt)
                        events = parser.feed(data)
                    for ev in events:
                        out = feed(ev)
                        if not given:  # held back until the first content chunk
                            held += out
                            if not any(_has_content(c) for c in out):
                                if decoder.done:
                                    break
                                continue
                            clock.got_first()
                            given, out = True, held
                        for chunk in out:
                            add(chunk)
                            yield chunk
                        if decoder.done:
                            break
                    if decoder.done:
                        break
                tail = [] if decoder.done else decoder.close()  # the end marker came: nothing to close
                if not given:  # ended with no content chunk, inside its limits
                    given = True
                    tail = held + tail
                for chunk in tail:
                    add(chunk)
                    yield chunk
            except (family(response).HTTPError, family(response).StreamError) as exc:
                failure = clock.read_error(exc, last)
            except APIError as err:
                failure = err
            finally:
                clock.stop()  # its deadline watches end with the stream
                response.close()
            if failure is None:
                return
            if not given and call is not None and isinstance(failure, _RETRIED):
                answer = call.retry(failure)  # raises the retry's own failure, if it fails for good
                failure = _again(adapter, current, receipt, secrets, answer, failure)
                if failure is None:
                    continue
            raise _failed(adapter, receipt, secrets, failure)
    finally:
        current.ended = True


_END = (None,)  # after the body's last bytes: the parser gives what it holds


def _fed(
    chunks: Iterator[ChatCompletionChunk], current: _Current, acc: StreamAccumulator
) -> Generator[ChatCompletionChunk, None, None]:
    """A stand-in's chunks (``mock_response=``), kept as a provider's are."""
    try:
        for chunk in chunks:
            acc.add(chunk)
            yield chunk
    finally:
        current.ended = True


async def _aread_stream(
    adapter: Adapter,
    current: _Current,
    receipt: Receipt,
    secrets: tuple[str, ...],
    call: _transport.AsyncCall | None,
    max_event: int,
) -> AsyncGenerator[ChatCompletionChunk, None]:
    from router._httpx import family  # already loaded by the call that opened the stream

    framing = adapter.config.stream.framing
    while True:
        response = current.response
        decoder = adapter.stream_decoder(receipt=receipt)
        clock = _Clock(call, adapter, receipt)
        chunks = _atimed(response, clock)
        failure: APIError | None = None
        given = False
        try:
            held: list[ChatCompletionChunk] = []
            async for ev in aiter_events(chunks, framing, max_event):
                out = decoder.feed(ev)
                if not given:  # held back until the first content chunk
                    held += out
                    if not any(_has_content(c) for c in out):
                        if decoder.done:
                            break
                        continue
                    clock.got_first()
                    given, out = True, held
                for chunk in out:
                    yield chunk
                if decoder.done:
                    break
            tail = [] if decoder.done else decoder.close()  # the end marker came: nothing to close
            if not given:  # ended with no content chunk, inside its limits
                given = True
                tail = held + tail
            for chunk in tail:
                yield chunk
        except (family(response).HTTPError, family(response).StreamError) as exc:
            failure = clock.read_error(exc, time.monotonic())
        except APIError as err:
            failure = err
        finally:
            await chunks.aclose()  # now, not when collected: its deadline watch ends with the stream
            await response.aclose()
        if failure is None:
            return
        if not given and call is not None and isinstance(failure, _RETRIED):
            answer = await call.retry(failure)
            failure = _again(adapter, current, receipt, secrets, answer, failure)
            if failure is None:
                continue
        raise _failed(adapter, receipt, secrets, failure)


class _ChunkSource(Protocol):
    """Chunks that stand in for a provider's stream (``mock_response=``)."""

    def iter_chunks(self) -> Generator[ChatCompletionChunk, None, None]: ...

    def aiter_chunks(self) -> AsyncGenerator[ChatCompletionChunk, None]: ...


class _Reader:
    """What a stream holds: the open response, what its reading must respect, and the answer so far."""

    def __init__(
        self,
        adapter: Adapter,
        response: Response,
        receipt: Receipt,
        secrets: tuple[str, ...] = (),
        call: Any = None,
        max_event: int = MAX_EVENT,
        *,
        parse: Any = None,
        source: _ChunkSource | None = None,
    ) -> None:
        from router._accumulate import StreamAccumulator  # loads with the first stream

        self._adapter = adapter
        self._secrets = secrets
        self._call = call  # the transport's Call (AsyncCall): limits, deadline, retry budget
        self._current = _Current(response)
        self._max_event = max_event
        self._parse = parse  # response_format's model class: the final answer's message.parsed
        self._source = source
        self._acc = StreamAccumulator(receipt)
        self.receipt = receipt

    @property
    def response(self) -> Response:
        """The HTTP response being read (a new one after a retry of a stream that had given nothing)."""
        return self._current.response

    @property
    def response_format(self) -> Any:
        """The model class given as ``response_format`` (its instance goes on the final answer's
        ``message.parsed``), or None."""
        return self._parse

    @property
    def _ended(self) -> bool:
        return self._current.ended

    @_ended.setter
    def _ended(self, value: bool) -> None:
        self._current.ended = value

    def _consumed(self) -> StreamConsumedError:
        return _consumed(self._adapter, self.receipt)

    def _final(self) -> ChatCompletion:
        return _parsed(self._acc.result(), self._parse)


class Stream(_Reader, Iterator[ChatCompletionChunk]):
    """An iterator of ``ChatCompletionChunk`` objects (``for chunk in stream``, ``next(stream)``);
    closes the connection when done (or use ``with``). A stream is read once: iterating it again
    after it ended (or after ``close()``) is a ``StreamConsumedError``."""

    _chunks: Generator[ChatCompletionChunk, None, None] | None = None
    _call: _transport.Call | None

    def _open(self) -> Generator[ChatCompletionChunk, None, None]:
        """The reader: it adds each chunk to the answer so far and marks the stream ended when it ends."""
        chunks = self._chunks
        if chunks is None:
            if self._ended:
                raise self._consumed()
            if self._source is not None:
                chunks = _fed(self._source.iter_chunks(), self._current, self._acc)
            else:
                chunks = _read_stream(
                    self._adapter,
                    self._current,
                    self.receipt,
                    self._secrets,
                    self._call,
                    self._max_event,
                    self._acc,
                )
            self._chunks = chunks
        return chunks

    def __iter__(self) -> Stream:
        if self._ended:
            raise self._consumed()
        return self

    def __next__(self) -> ChatCompletionChunk:
        # the reader adds each chunk to the answer so far and marks the stream ended when it ends
        return next(self._chunks or self._open())

    def get_final_completion(self) -> ChatCompletion:
        """Read what is left of the stream and return the whole answer (``router.accumulate`` of every
        chunk it gave, with the receipt), ``message.parsed`` filled for ``response_format=<model class>``."""
        while not self._ended:
            try:
                next(self)
            except StopIteration:
                break
        return self._final()

    def close(self) -> None:
        self._ended = True
        chunks = self._chunks
        if chunks is not None:
            # its finally closes the body reader and the response; ValueError: being read in
            # another thread, where closing the response below ends that read
            with contextlib.suppress(ValueError):
                chunks.close()
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


class AsyncStream(_Reader, AsyncIterator[ChatCompletionChunk]):
    """An async iterator of ``ChatCompletionChunk`` objects (``async for``, ``await anext(stream)``).
    A stream is read once: iterating it again after it ended (or after ``aclose()``) is a
    ``StreamConsumedError``."""

    _chunks: AsyncGenerator[ChatCompletionChunk, None] | None = None
    _call: _transport.AsyncCall | None

    def _open(self) -> AsyncGenerator[ChatCompletionChunk, None]:
        if self._source is not None:
            return self._source.aiter_chunks()
        return _aread_stream(
            self._adapter, self._current, self.receipt, self._secrets, self._call, self._max_event
        )

    def __aiter__(self) -> AsyncStream:
        if self._ended:
            raise self._consumed()
        return self

    async def __anext__(self) -> ChatCompletionChunk:
        chunks = self._chunks
        if chunks is None:
            if self._ended:
                raise self._consumed()
            chunks = self._chunks = self._open()
        try:
            chunk = await chunks.__anext__()
        except BaseException:
            self._ended = True  # the end (StopAsyncIteration), the stream's typed error, a cancel
            raise
        self._acc.add(chunk)
        return chunk

    async def get_final_completion(self) -> ChatCompletion:
        """The async twin of :meth:`Stream.get_final_completion`."""
        while not self._ended:
            try:
                await self.__anext__()
            except StopAsyncIteration:
                break
        return self._final()

    async def aclose(self) -> None:
        self._ended = True
        chunks = self._chunks
        if chunks is not None:
            # its finally closes the body reader and the response; RuntimeError: being read by
            # another task, where closing the response below ends that read
            with contextlib.suppress(RuntimeError):
                await chunks.aclose()
        await self.response.aclose()

    def __del__(self) -> None:
        # A stream dropped unread: its connection is released on the loop that opened it.
        response = getattr(self, "response", None)
        if response is None or response.is_closed:
            return
        import asyncio  # loaded: this stream was opened on a loop

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
