"""The one request/response driver every codec runs inside.

On the way out (``build_request``): the model (aliases resolved), the receipt, the codec's translation
of messages/tools/structured output, the spec's parameter policy, the stream flag and the spec's
stream fields, ``extra_body``, then URL/auth/headers. On the way back (``parse_response``): the status
check, JSON decoding, an error object where an answer should be, the codec's reading of the answer,
and usage and cost through the spec's paths. Streams (``StreamDriver``): the end sentinel, JSON
decoding, error frames and the cut-off check around the codec's incremental decoder, one path for
sync and async callers.

``extra_body`` rule (all protocols): merged into the translated body key by key, recursively;
mappings merge, anything else (a list, a scalar, ``None``) replaces the translated value. So
``extra_body={"generationConfig": {"seed": 7}}`` adds to Gemini's translated generationConfig and
``extra_body={"options": {"num_ctx": 8192}}`` to Ollama's options.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from typing import Any
from typing import Protocol

from router._exceptions import APIConnectionError
from router._exceptions import APIError
from router._exceptions import InvalidResponseError
from router._json import fast as _fast_loads
from router._streaming import Event
from router._types import ChatCompletion
from router._types import ChatCompletionChunk
from router._types import ChunkChoice
from router._types import Delta
from router._types import HttpRequest
from router._types import Receipt
from router._types import ToolCallDelta
from router._types import safe_headers
from router.protocols import _errors
from router.protocols import _normalise
from router.protocols import _params
from router.protocols import _wire
from router.protocols._config import ProviderConfig
from router.protocols._http import build_http
from router.protocols._validate import check_request

__all__ = [
    "Answer",
    "Body",
    "Codec",
    "CodecDecoder",
    "Request",
    "StreamDriver",
    "build_request",
    "parse_response",
]

Request = Mapping[str, Any]  # an OpenAI-style request, as the caller gave it
Body = dict[str, Any]  # the provider's JSON body, being built
Answer = Mapping[str, Any]  # a decoded answer from the provider

# Request keys the driver itself consumes (besides the router's own keyword arguments).
_DRIVER_KEYS = frozenset({"model", "messages", "stream", "extra_body", "extra_headers", "extra_query"})
# A codec's handled keys joined with the driver's, by the codec's set (frozensets keep their hash).
_WITH_DRIVER: dict[frozenset[str], frozenset[str]] = {}


class CodecDecoder(Protocol):
    """A codec's incremental stream reader: decoded frames in, unified chunks out."""

    done: bool  # the provider's own end marker arrived: stop reading

    def unfinished(self) -> str | None:
        """None when the answer finished (a finish reason for every choice that began); else what is
        missing ("" when there is nothing more to say)."""
        ...

    def feed(self, data: Mapping[str, Any], event: str | None) -> list[ChatCompletionChunk]: ...

    def close(self) -> list[ChatCompletionChunk]: ...

    # Optional: ``fast(data, event) -> ChatCompletionChunk | None``, the protocol's common frame (a
    # piece of text, of reasoning or of a refusal) read straight, once per stream chunk. It returns a
    # chunk only for a frame that ``body_error`` would not call an error, whose top-level keys are
    # all in the codec's ``FRAME_KEYS`` (``ANSWER_KEYS`` where it has none; a frame key outside
    # ANSWER_KEYS it keeps on receipt.extra itself, as the driver would), and whose chunk has one
    # choice of string pieces (content, reasoning_content, refusal; perhaps a role) and nothing
    # else: no tool call, no finish reason; that chunk, what the receipt keeps and the decoder's
    # state after it are what ``feed`` makes of the frame. Anything else is None, and ``feed`` reads
    # it. tests/test_stream_fast_paths.py holds every codec to that over every recorded stream.


class Codec(Protocol):
    """What a wire-protocol module in router/protocols offers the driver (a module satisfies this)."""

    HANDLED: frozenset[str]  # request keys the codec translates itself
    STREAM_KEY: str | None  # body field that asks for a stream (None: the endpoint path says it)
    STREAM_ALWAYS: bool  # also send it as false (the endpoint streams by default)
    MODEL_PREFIX: str  # a prefix the API puts on model ids, taken off the request's model
    ANSWER_KEYS: frozenset[str]  # top-level answer/frame keys the codec reads (the rest: receipt.extra)

    def translate(
        self, cfg: ProviderConfig, request: Request, body: Body, *, model: str, receipt: Receipt, strict: bool
    ) -> frozenset[str]:
        """Fill ``body`` with the wire form of messages, tools, ...; return the request keys it consumed."""
        ...

    def body_error(self, data: Any) -> int | None:
        """None for an answer; for an error object in its place, the HTTP status it carries (0: none)."""
        ...

    def parse(
        self, cfg: ProviderConfig, data: Mapping[str, Any], status: int, receipt: Receipt | None
    ) -> ChatCompletion:
        """The unified answer for a decoded body (usage and cost are filled in by the driver)."""
        ...

    def decoder(self, cfg: ProviderConfig, receipt: Receipt | None) -> CodecDecoder: ...


# What a codec's reading of an answer raises when the JSON is valid but not the protocol's shape
# (a list where an object belongs, a number where a list belongs, nesting deeper than Python recurses).
_SHAPE_ERRORS = (AttributeError, TypeError, KeyError, IndexError, RecursionError)


def _excerpt(body: Any) -> str:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    return text[:200]


def _shape_error(cfg: ProviderConfig, exc: Exception, body: Any, model: str | None, status: int) -> APIError:
    return InvalidResponseError(
        f"the answer does not have the {cfg.protocol} shape ({type(exc).__name__}): {_excerpt(body)!r}",
        status=status,
        provider=cfg.id,
        model=model,
        body=_excerpt(body),
    )


def _wrong(
    cfg: ProviderConfig, what: str, model: str | None, status: int = 200, body: Any = None
) -> APIError:
    return InvalidResponseError(
        f"the answer does not have the {cfg.protocol} shape: {what}",
        status=status,
        provider=cfg.id,
        model=model,
        body=None if body is None else _excerpt(body),
    )


def _texts_ok(*values: Any) -> bool:
    for v in values:  # noqa: SIM110  (a loop, not all(<generator>): this runs for every answer)
        if v is not None and not isinstance(v, str):
            return False
    return True


def _check_answer(
    cfg: ProviderConfig, result: ChatCompletion, data: Any, status: int, model: str | None
) -> None:
    """A parsed answer with no choice, or text fields that are not text, is never a success."""
    if not result.choices:
        raise _wrong(cfg, "no choices", model, status, json.dumps(data)[:200])
    for choice in result.choices:
        if type(choice.index) is not int:  # choices are ordered and told apart by it
            raise _wrong(cfg, "a choice index that is not an integer", model, status, json.dumps(data)[:200])
        m = choice.message
        if not _texts_ok(m.content, m.reasoning_content, m.refusal):
            raise _wrong(cfg, "message text that is not a string", model, status, json.dumps(data)[:200])
        for tc in m.tool_calls or ():
            if not _texts_ok(tc.id, tc.function.name, tc.function.arguments):
                raise _wrong(cfg, "a tool call whose id, name or arguments is not a string", model, status)
            if not tc.function.name:  # a call of no function cannot be answered: never a success
                raise _wrong(cfg, "a tool call with no function name", model, status, json.dumps(data)[:200])


def _check_delta(cfg: ProviderConfig, delta: Delta, model: str | None) -> None:
    content, reasoning = delta.content, delta.reasoning_content
    if (content is not None and not isinstance(content, str)) or (
        reasoning is not None and not isinstance(reasoning, str)
    ):
        raise _wrong(cfg, "stream delta text that is not a string", model)
    if not delta.tool_calls:
        return
    for tc in delta.tool_calls:
        if not _texts_ok(tc.id, tc.name, tc.arguments) or not isinstance(tc.index, int):
            raise _wrong(
                cfg, "a streamed tool call whose index, id, name or arguments has the wrong type", model
            )


def build_request(
    cfg: ProviderConfig,
    codec: Codec,
    request: Mapping[str, Any],
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    strict: bool = False,
    receipt: Receipt | None = None,
) -> HttpRequest:
    check_request(request, cfg.id)
    model = _wire.model_of(cfg, request).removeprefix(codec.MODEL_PREFIX)
    if receipt is None:
        receipt = Receipt(cfg.id, model)
    body: dict[str, Any] = {}
    handled = codec.translate(cfg, request, body, model=model, receipt=receipt, strict=strict)
    with_driver = _WITH_DRIVER.get(handled)
    if with_driver is None:  # a codec returns one of a few constant sets: each joined once
        with_driver = handled | _DRIVER_KEYS
        if len(_WITH_DRIVER) < 64:
            _WITH_DRIVER[handled] = with_driver
    _params.apply_params(cfg, request, body, handled=with_driver, receipt=receipt, strict=strict)
    stream = bool(request.get("stream"))
    # Sent when streaming, when the endpoint streams by default, and when the caller said false.
    if codec.STREAM_KEY is not None and (stream or codec.STREAM_ALWAYS or request.get("stream") is False):
        body[codec.STREAM_KEY] = stream
    if stream and cfg.stream.body:
        _params.deep_merge(body, cfg.stream.body, keep=True)  # the request's own stream fields win
    extra = request.get("extra_body")
    if extra:
        _params.deep_merge(body, extra)
    return build_http(
        cfg,
        body,
        model=model,
        stream=stream,
        api_key=api_key,
        base_url=base_url,
        extra_headers=request.get("extra_headers"),
        extra_query=request.get("extra_query"),
    )


def _raise_body_error(
    cfg: ProviderConfig, codec: Codec, data: Any, status: int, headers: Mapping[str, str], model: str | None
) -> None:
    inner = codec.body_error(data)
    if inner is not None:
        if status < 400:
            status = inner if 400 <= inner < 600 else 500
        raise _errors.map_error(cfg, status, headers, data, model=model)


def parse_response(
    cfg: ProviderConfig,
    codec: Codec,
    status: int,
    headers: Mapping[str, str],
    body: Any,
    *,
    receipt: Receipt | None = None,
) -> ChatCompletion:
    model = receipt.model if receipt else None
    try:
        return _parse(cfg, codec, status, headers, body, receipt, model)
    except APIError as err:
        _attribute(err, cfg, model, headers)
        raise


def _attribute(
    err: APIError, cfg: ProviderConfig, model: str | None, headers: Mapping[str, str] | None = None
) -> None:
    """Every error names the provider and model it came from, whichever layer raised it, and carries
    the answer's response headers (masked) when it came from an answer."""
    if err.provider is None:
        err.provider = cfg.id
    if err.model is None:
        err.model = model
    if headers and not err.headers:
        err.headers = safe_headers(headers)


def _parse(
    cfg: ProviderConfig,
    codec: Codec,
    status: int,
    headers: Mapping[str, str],
    body: Any,
    receipt: Receipt | None,
    model: str | None,
) -> ChatCompletion:
    if status >= 400:
        raise _errors.map_error(cfg, status, headers, body, model=model)
    data = _normalise.load_json(body, provider=cfg.id, status=status, model=model)
    _raise_body_error(cfg, codec, data, status, headers, model)
    if not isinstance(data, dict):
        raise InvalidResponseError("response is not a JSON object", status=status, provider=cfg.id, body=data)
    try:
        result = codec.parse(cfg, data, status, receipt)
    except _SHAPE_ERRORS as exc:
        raise _shape_error(cfg, exc, body, model, status) from None
    _check_answer(cfg, result, data, status, model)
    for choice in result.choices:  # a call with no arguments is "{}", on every protocol
        if choice.finish_reason is None:  # the provider said nothing: as for a stream that ended so
            choice.finish_reason = "tool_calls" if choice.message.tool_calls else "stop"
        for tc in choice.message.tool_calls or ():
            if not tc.function.arguments.strip():
                tc.function.arguments = "{}"
        fc = choice.message.function_call
        if fc is not None and not fc.arguments.strip():
            fc.arguments = "{}"
    if receipt is not None:
        if not codec.ANSWER_KEYS.issuperset(data):  # usually every key is known: nothing to keep
            keep_extra(codec, data, receipt)
        if not receipt.headers:  # resp.router.headers (unless the caller filled them, secrets scrubbed)
            receipt.headers = safe_headers(headers)
    result.usage = _normalise.usage_from(cfg.usage, data)
    result.cost = _normalise.response_cost(cfg, headers, data)
    result.router = receipt
    return result


def keep_extra(codec: Codec, data: Mapping[str, Any], receipt: Receipt) -> None:
    """Top-level answer fields the codec does not read go to ``receipt.extra``: nothing is dropped."""
    known = codec.ANSWER_KEYS
    if not known.issuperset(data):  # one C call; usually every key is known (nothing to keep)
        for key, value in data.items():
            if key not in known and value is not None:
                receipt.extra[key] = value


class _ChoiceTrack:
    """What the driver keeps of one streamed choice to hold the stream rules."""

    __slots__ = ("finished", "named", "tools")

    def __init__(self) -> None:
        self.finished = False
        self.tools: dict[int, bool] = {}  # tool call index -> some argument text arrived
        self.named: set[int] = set()  # tool call indexes whose function name arrived


class StreamDriver:
    """Framed events in, unified chunks out; one instance per stream, fed by sync and async readers alike.

    ``done`` turns true at the provider's end marker (the spec's ``stream.done`` sentinel or the codec's
    own); ``close()`` raises ``APIConnectionError`` when the stream stopped before the answer finished.
    """

    __slots__ = (
        "_cfg",
        "_codec",
        "_done_marker",
        "_error_event",
        "_fast",
        "_inner",
        "_last",
        "_model",
        "_receipt",
        "_sentinel",
        "_tracks",
        "done",
    )

    def __init__(self, cfg: ProviderConfig, codec: Codec, receipt: Receipt | None = None) -> None:
        self._cfg = cfg
        self._codec = codec
        self._done_marker = cfg.stream.done
        self._error_event = cfg.stream.error_event
        self._inner = codec.decoder(cfg, receipt)
        self._fast: Callable[[dict[str, Any], str], ChatCompletionChunk | None] | None = getattr(
            self._inner, "fast", None
        )
        self._model = receipt.model if receipt else None
        self._receipt = receipt
        self._sentinel = False
        self._tracks: dict[int, _ChoiceTrack] = {}
        self._last: ChatCompletionChunk | None = None
        self.done = False

    def feed(self, ev: Event) -> list[ChatCompletionChunk]:
        try:
            text, event = ev.data, ev.event
            if text == self._done_marker:
                self.done = self._sentinel = True
                return self._inferred()
            try:  # json.loads(text), at msgspec's speed (router/_json.py), once per chunk
                try:
                    data = _fast_loads(text)
                except (ValueError, RecursionError):  # refused: json.loads decides
                    data = json.loads(text)
            except (ValueError, RecursionError):
                raise InvalidResponseError(
                    f"stream frame is not JSON: {text[:200]!r}", provider=self._cfg.id, model=self._model
                ) from None
            fast = self._fast
            try:
                if fast is not None and type(data) is dict and event != self._error_event:
                    # The common frame (a piece of text), read by the codec's fast path: no error,
                    # nothing to keep, no tool call, no finish (the contract in CodecDecoder.fast).
                    chunk = fast(data, event)
                    if chunk is not None:
                        choice = chunk.choices[0]
                        if choice.index not in self._tracks:
                            self._hold_rules(choice)
                        self._last = chunk
                        return [chunk]
                return self._feed(data, text, event)
            except _SHAPE_ERRORS as exc:
                raise _shape_error(self._cfg, exc, text, self._model, 200) from None
        except APIError as err:  # an in-stream error carries the stream's headers, where the caller kept them
            self._attribute(err)
            raise

    def _attribute(self, err: APIError) -> None:
        _attribute(err, self._cfg, self._model, self._receipt.headers if self._receipt else None)

    def _feed(self, data: Any, text: str, event: str) -> list[ChatCompletionChunk]:
        cfg = self._cfg
        codec = self._codec
        if codec.body_error(data) is not None:
            _raise_body_error(cfg, codec, data, 200, {}, self._model)
        if event == self._error_event:  # an error event whose data is the error itself
            data = {"error": data}
            _raise_body_error(cfg, codec, data, 200, {}, self._model)
        if not isinstance(data, dict):
            raise InvalidResponseError(
                f"stream frame is not a JSON object: {text[:200]!r}", provider=cfg.id, model=self._model
            )
        chunks = self._inner.feed(data, event)
        tracks = self._tracks
        for chunk in chunks:
            for choice in chunk.choices:
                # The checks and rules, called only when there is something for them (once per chunk).
                delta = choice.delta
                content, reasoning = delta.content, delta.reasoning_content
                if (
                    delta.tool_calls
                    or (content is not None and type(content) is not str)
                    or (reasoning is not None and type(reasoning) is not str)
                ):
                    _check_delta(cfg, delta, self._model)
                if choice.finish_reason is not None or delta.tool_calls or choice.index not in tracks:
                    self._hold_rules(choice)
            self._last = chunk
        if self._receipt is not None and not codec.ANSWER_KEYS.issuperset(data):  # usually all known
            keep_extra(codec, data, self._receipt)
        self.done = self._inner.done
        if self.done:
            chunks = chunks + self._inferred()
        return chunks

    def _hold_rules(self, choice: ChunkChoice) -> None:
        """Exactly one finish reason per choice (a repeat is taken off), and a tool call that streamed
        no argument text gets "{}" with the finish reason, so the folded call is valid JSON."""
        track = self._tracks.get(choice.index)
        if track is None:
            if type(choice.index) is not int:  # choices are ordered and told apart by it
                raise _wrong(self._cfg, "a stream choice index that is not an integer", self._model)
            track = self._tracks[choice.index] = _ChoiceTrack()
        delta = choice.delta
        for tc in delta.tool_calls or ():
            track.tools[tc.index] = track.tools.get(tc.index, False) or bool(tc.arguments)
            if tc.name:
                track.named.add(tc.index)
        if choice.finish_reason is None:
            return
        if len(track.named) < len(track.tools):  # a streamed call of no function: never a success
            raise _wrong(self._cfg, "a streamed tool call with no function name", self._model)
        if track.finished:
            choice.finish_reason = None
            choice.native_finish_reason = None
            return
        track.finished = True
        empty = [i for i, has in track.tools.items() if not has]
        if empty:
            delta.tool_calls = [
                *(delta.tool_calls or ()),
                *(ToolCallDelta(index=i, arguments="{}") for i in empty),
            ]
            for i in empty:
                track.tools[i] = True

    def _inferred(self) -> list[ChatCompletionChunk]:
        """A finish reason for each choice the provider ended without one: ``tool_calls`` when tool
        calls streamed, else ``stop``; the native finish reason stays None (none was sent)."""
        choices = []
        for index, track in sorted(self._tracks.items()):
            if not track.finished:
                choice = ChunkChoice(
                    index=index, delta=Delta(), finish_reason="tool_calls" if track.tools else "stop"
                )
                self._hold_rules(choice)
                choices.append(choice)
        if not choices:
            return []
        last = self._last
        return [
            ChatCompletionChunk(
                id=last.id if last else "",
                created=last.created if last else _normalise.now(),
                model=last.model if last else (self._model or ""),
                choices=choices,
            )
        ]

    def close(self) -> list[ChatCompletionChunk]:
        why = None if self._sentinel else self._inner.unfinished()
        if why is not None:
            raise APIConnectionError(
                "stream ended before the provider finished its answer" + (f" ({why})" if why else ""),
                provider=self._cfg.id,
                model=self._model,
            )
        tail = self._inner.close()
        for chunk in tail:
            for choice in chunk.choices:
                self._hold_rules(choice)
            self._last = chunk
        return tail + self._inferred()

    def decode(self, events: Iterable[Event]) -> Iterator[ChatCompletionChunk]:
        """Drive this decoder over already framed events, stopping at the provider's end marker."""
        for ev in events:
            yield from self.feed(ev)
            if self.done:
                return
        yield from self.close()
