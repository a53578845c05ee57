"""Per-call time limits beyond the total deadline, and retries that show.

``first_token_timeout``: a stream's first content chunk (a role or lifecycle chunk does not count),
or a plain answer's headers; ``stall_timeout``: the longest gap between two reads of a body. Each is
checked against a raw-socket server on 127.0.0.1 that answers every attempt of a call from a script
(late headers, silence, keep-alive comments, a late first token, a reset), sync and async, plain and
streamed: the call ends within the limit + 0.5 s, with the class of the limit that passed, after as
many requests as the retries allow. Retries are logged at INFO under the ``router`` logger and told
to the call's ``_on_retry``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import pytest

import router
from router import _client
from router import _watchdog
from router._events import Event

MODEL = "openai/gpt-4o"
MSGS = [{"role": "user", "content": "Hi"}]
MAX_WAIT = 3.0  # no scripted answer holds a connection longer than this
SLACK = 0.5  # seconds a call may end after the limit that ends it

Behaviour = Callable[[socket.socket, threading.Event], None]


# ----------------------------------------------------------------------------- the server


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    data = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}  # fmt: skip
    return b"data: " + json.dumps(data).encode() + b"\n\n"


ROLE = _chunk({"role": "assistant", "content": ""})  # a role-only chunk: not a first token
CONTENT = _chunk({"content": "Hello"})
END = _chunk({}, "stop") + b"data: [DONE]\n\n"
ANSWER = json.dumps(
    {"id": "c", "object": "chat.completion", "created": 1, "model": "gpt-4o",
     "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]}
).encode()  # fmt: skip


def _head(status: int = 200, *, length: int | None = None, chunked: bool = False, sse: bool = False) -> bytes:
    lines = [f"HTTP/1.1 {status} X", "connection: close"]
    lines.append("content-type: " + ("text/event-stream" if sse else "application/json"))
    if length is not None:
        lines.append(f"content-length: {length}")
    if chunked:
        lines.append("transfer-encoding: chunked")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class Body:
    """Writes a body, close-delimited or chunked (``transfer-encoding: chunked``)."""

    def __init__(self, sock: socket.socket, chunked: bool) -> None:
        self.sock, self.chunked = sock, chunked

    def send(self, data: bytes) -> None:
        self.sock.sendall(b"%x\r\n%s\r\n" % (len(data), data) if self.chunked else data)

    def end(self) -> None:
        if self.chunked:
            self.sock.sendall(b"0\r\n\r\n")


def ok_plain(delay: float = 0.0) -> Behaviour:
    def run(sock: socket.socket, stop: threading.Event) -> None:
        if delay and stop.wait(delay):
            return
        sock.sendall(_head(length=len(ANSWER)) + ANSWER)

    return run


def plain_body_stall(pause: float = MAX_WAIT) -> Behaviour:
    """The headers and half the body at once, the rest after ``pause``."""

    def run(sock: socket.socket, stop: threading.Event) -> None:
        half = len(ANSWER) // 2
        sock.sendall(_head(length=len(ANSWER)) + ANSWER[:half])
        if not stop.wait(pause):
            sock.sendall(ANSWER[half:])

    return run


def stream(*steps: bytes | float, chunked: bool = False, delay: float = 0.0) -> Behaviour:
    """A streamed answer: its headers after ``delay``, then each step (bytes to send, or seconds of
    silence), then the body's end."""

    def run(sock: socket.socket, stop: threading.Event) -> None:
        if delay and stop.wait(delay):
            return
        sock.sendall(_head(chunked=chunked, sse=True))
        body = Body(sock, chunked)
        for step in steps:
            if isinstance(step, float):
                if stop.wait(step):
                    return
            else:
                body.send(step)
        body.end()

    return run


def keepalives(
    seconds: float = MAX_WAIT, then: tuple[bytes, ...] = (), *, first: bytes = b"", chunked: bool = False
) -> Behaviour:
    """A stream that sends ``first``, then an SSE comment every 50 ms for ``seconds``, then ``then``."""

    def run(sock: socket.socket, stop: threading.Event) -> None:
        sock.sendall(_head(chunked=chunked, sse=True))
        body = Body(sock, chunked)
        if first:
            body.send(first)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            body.send(b": keep-alive\n\n")
            if stop.wait(0.05):
                return
        for piece in then:
            body.send(piece)
        body.end()

    return run


def reset(after: bytes = b"") -> Behaviour:
    """Send ``after`` (maybe nothing), then reset the connection (RST)."""

    def run(sock: socket.socket, stop: threading.Event) -> None:
        if after:
            sock.sendall(after)
            time.sleep(0.05)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()

    return run


def status(code: int) -> Behaviour:
    def run(sock: socket.socket, stop: threading.Event) -> None:
        body = b'{"error": {"message": "busy", "type": "server_error"}}'
        sock.sendall(_head(code, length=len(body)) + body + b"")

    return run


class _Handler(socketserver.BaseRequestHandler):
    server: Server

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(MAX_WAIT)
        data = b""
        while b"\r\n\r\n" not in data:
            more = sock.recv(65536)
            if not more:
                return
            data += more
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            (int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:")),
            0,
        )
        while len(body) < length:
            more = sock.recv(65536)
            if not more:
                return
            body += more
        with self.server.lock:
            n = self.server.hits
            self.server.hits += 1
        script = self.server.script
        with contextlib.suppress(OSError):  # the client gave up: that is what a limit does
            script[min(n, len(script) - 1)](sock, self.server.stopping)


class Server(socketserver.ThreadingTCPServer):
    """Answers attempt ``n`` of a call with ``script[n]`` (the last one for any later attempt) and
    counts the requests."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, *script: Behaviour) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script = script
        self.hits = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def __enter__(self) -> Server:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()
        self._thread.join(5)


# ----------------------------------------------------------------------------- one call


@dataclass
class Outcome:
    seconds: float
    hits: int
    error: BaseException | None = None
    chunks: list[router.ChatCompletionChunk] = field(default_factory=list)
    result: router.ChatCompletion | None = None

    @property
    def text(self) -> str | None:
        if self.result is not None:
            return self.result.choices[0].message.content
        return router.accumulate(self.chunks).choices[0].message.content


def run(mode: str, is_stream: bool, script: tuple[Behaviour, ...], **kwargs: Any) -> Outcome:
    """One call against a server answering from ``script``; what it gave or raised, how long it
    took and how many requests reached the server."""
    kwargs.setdefault("max_retries", 0)
    kwargs.setdefault("timeout", 10)
    with Server(*script) as server:
        kwargs = {"api_key": "sk-test", "base_url": server.url, "stream": is_stream, **kwargs}
        start = time.monotonic()
        out = Outcome(0.0, 0)
        try:
            if mode == "sync":
                result = router.completion(MODEL, MSGS, **kwargs)
                if isinstance(result, router.Stream):
                    for chunk in result:
                        out.chunks.append(chunk)
                else:
                    out.result = result
            else:

                async def main() -> None:
                    result = await router.acompletion(MODEL, MSGS, **kwargs)
                    if isinstance(result, router.AsyncStream):
                        async for chunk in result:
                            out.chunks.append(chunk)
                    else:
                        out.result = result

                asyncio.run(main())
        except router.RouterError as exc:
            out.error = exc
        out.seconds = time.monotonic() - start
        out.hits = server.hits
    return out


MODES = pytest.mark.parametrize("mode", ["sync", "async"])


def _raised(out: Outcome, cls: type[router.APIError], message: str) -> router.APIError:
    assert type(out.error) is cls, f"{type(out.error).__name__}: {out.error}"
    assert isinstance(out.error, router.APITimeoutError) == issubclass(cls, router.APITimeoutError)
    assert re.search(message, str(out.error)), str(out.error)
    return out.error


# ----------------------------------------------------------------------------- first_token_timeout


@MODES
def test_plain_headers_late_is_no_response_within_the_limit(mode: str) -> None:
    out = run(mode, False, (ok_plain(delay=MAX_WAIT),), first_token_timeout=0.3)
    err = _raised(out, router.FirstTokenTimeoutError, r"no response within 0\.3 s")
    assert err.retryable and isinstance(err, router.APITimeoutError)
    assert out.seconds < 0.3 + SLACK
    assert out.hits == 1


@MODES
def test_plain_first_byte_timeout_is_retried(mode: str) -> None:
    out = run(mode, False, (ok_plain(delay=MAX_WAIT), ok_plain()), first_token_timeout=0.3, max_retries=1)
    assert out.error is None and out.text == "ok"
    assert out.hits == 2
    assert out.seconds < 0.3 + 0.5 + SLACK  # the limit, one backoff (at most 0.5 s), the answer


@MODES
def test_plain_first_byte_timeout_retries_until_the_budget_ends(mode: str) -> None:
    out = run(mode, False, (ok_plain(delay=MAX_WAIT),), first_token_timeout=0.3, max_retries=1)
    _raised(out, router.FirstTokenTimeoutError, r"no response within 0\.3 s")
    assert out.hits == 2
    assert out.seconds < 2 * 0.3 + 0.5 + SLACK


@MODES
def test_stream_headers_late_is_no_first_token(mode: str) -> None:
    out = run(mode, True, (stream(CONTENT, END, delay=MAX_WAIT),), first_token_timeout=0.3)
    _raised(out, router.FirstTokenTimeoutError, r"no first token within 0\.3 s")
    assert out.seconds < 0.3 + SLACK
    assert out.hits == 1


@MODES
@pytest.mark.parametrize("chunked", [False, True])
def test_stream_role_chunk_then_nothing_is_no_first_token(mode: str, chunked: bool) -> None:
    # the headers and a role-only chunk at once, then silence: the stall limit is further away
    out = run(
        mode, True, (stream(ROLE, MAX_WAIT, chunked=chunked),), first_token_timeout=0.3, stall_timeout=2
    )
    _raised(out, router.FirstTokenTimeoutError, r"no first token within 0\.3 s")
    assert out.seconds < 0.3 + SLACK
    assert out.hits == 1
    assert out.chunks == []  # the role chunk was held back with the first token that never came


@MODES
@pytest.mark.parametrize("chunked", [False, True])
def test_keepalives_only_keep_the_stall_timer_alive_but_not_the_first_token(mode: str, chunked: bool) -> None:
    # comments every 50 ms: bytes, so never a stall (0.2 s); never content, so no first token (0.4 s)
    out = run(mode, True, (keepalives(chunked=chunked),), first_token_timeout=0.4, stall_timeout=0.2)
    _raised(out, router.FirstTokenTimeoutError, r"no first token within 0\.4 s")
    assert 0.4 <= out.seconds < 0.4 + SLACK
    assert out.hits == 1


@MODES
def test_keepalives_then_content_inside_the_first_token_limit_succeed(mode: str) -> None:
    script = (keepalives(0.6, (CONTENT, END), first=ROLE),)
    out = run(mode, True, script, first_token_timeout=1.5, stall_timeout=0.2)
    assert out.error is None, out.error
    assert out.text == "Hello"
    assert out.chunks[0].choices[0].delta.role == "assistant"  # held back, then given first
    assert out.hits == 1


@MODES
def test_a_late_first_token_under_the_limit_then_a_normal_stream_succeeds(mode: str) -> None:
    script = (stream(ROLE, 0.5, CONTENT, *[_chunk({"content": "."})] * 50, END),)
    out = run(mode, True, script, first_token_timeout=1.0, stall_timeout=0.8)
    assert out.error is None, out.error
    assert out.text == "Hello" + "." * 50
    assert 0.5 <= out.seconds < 1.0 + SLACK
    assert out.hits == 1


@MODES
def test_stream_first_token_timeout_before_anything_given_is_retried(mode: str) -> None:
    script = (stream(ROLE, MAX_WAIT), stream(ROLE, CONTENT, END))
    out = run(mode, True, script, first_token_timeout=0.3, max_retries=1)
    assert out.error is None, out.error
    assert out.text == "Hello"
    assert [c.choices[0].delta.role for c in out.chunks].count("assistant") == 1  # one role chunk
    assert out.hits == 2
    assert out.seconds < 0.3 + 0.5 + SLACK


@MODES
def test_stream_first_token_timeout_retries_until_the_budget_ends(mode: str) -> None:
    out = run(mode, True, (stream(ROLE, MAX_WAIT),), first_token_timeout=0.3, max_retries=1)
    _raised(out, router.FirstTokenTimeoutError, r"no first token within 0\.3 s")
    assert out.hits == 2
    assert out.seconds < 2 * 0.3 + 0.5 + SLACK


@MODES
def test_the_first_token_clock_does_not_count_the_callers_own_delay(mode: str) -> None:
    # the caller waits 0.5 s before reading; the provider's content came at once
    with Server(stream(ROLE, CONTENT, END)) as server:
        kwargs: dict[str, Any] = {"api_key": "k", "base_url": server.url, "first_token_timeout": 0.3}
        if mode == "sync":
            s = router.completion(MODEL, MSGS, stream=True, **kwargs)
            time.sleep(0.5)
            text = router.accumulate(list(s)).choices[0].message.content
        else:

            async def main() -> str | None:
                s = await router.acompletion(MODEL, MSGS, stream=True, **kwargs)
                await asyncio.sleep(0.5)
                return router.accumulate([c async for c in s]).choices[0].message.content

            text = asyncio.run(main())
    assert text == "Hello"


# ----------------------------------------------------------------------------- stall_timeout


@MODES
def test_stream_stall_after_content_is_not_retried(mode: str) -> None:
    out = run(mode, True, (stream(ROLE, CONTENT, MAX_WAIT),), stall_timeout=0.3, max_retries=2)
    _raised(out, router.StallTimeoutError, r"stream stalled: no data for 0\.3 s")
    assert out.seconds < 0.3 + SLACK
    assert out.hits == 1  # the caller had chunks: never sent again
    assert [c.choices[0].delta.content for c in out.chunks] == ["", "Hello"]


@MODES
@pytest.mark.parametrize("chunked", [False, True])
def test_stream_stall_before_content_is_retried(mode: str, chunked: bool) -> None:
    script = (stream(MAX_WAIT, chunked=chunked), stream(ROLE, CONTENT, END, chunked=chunked))
    out = run(mode, True, script, stall_timeout=0.3, first_token_timeout=1.5, max_retries=1)
    assert out.error is None, out.error
    assert out.text == "Hello"
    assert out.hits == 2
    assert out.seconds < 0.3 + 0.5 + SLACK


@MODES
def test_stream_stall_retries_until_the_budget_ends(mode: str) -> None:
    out = run(mode, True, (stream(MAX_WAIT),), stall_timeout=0.3, first_token_timeout=1.5, max_retries=1)
    _raised(out, router.StallTimeoutError, r"stream stalled: no data for 0\.3 s")
    assert out.hits == 2
    assert out.seconds < 2 * 0.3 + 0.5 + SLACK


@MODES
def test_plain_body_stall(mode: str) -> None:
    out = run(mode, False, (plain_body_stall(),), stall_timeout=0.3)
    _raised(out, router.StallTimeoutError, r"response body stalled: no data for 0\.3 s")
    assert out.seconds < 0.3 + SLACK
    assert out.hits == 1


@MODES
def test_plain_body_stall_is_retried(mode: str) -> None:
    out = run(mode, False, (plain_body_stall(), ok_plain()), stall_timeout=0.3, max_retries=1)
    assert out.error is None and out.text == "ok"
    assert out.hits == 2
    assert out.seconds < 0.3 + 0.5 + SLACK


@MODES
def test_pauses_shorter_than_the_stall_limit_are_fine(mode: str) -> None:
    script = (stream(ROLE, CONTENT, 0.2, CONTENT, 0.2, CONTENT, END),)
    out = run(mode, True, script, stall_timeout=0.5)
    assert out.error is None, out.error
    assert out.text == "HelloHelloHello"


# ----------------------------------------------------------------------------- the defaults


@pytest.fixture
def small_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "DEFAULT_FIRST_TOKEN_TIMEOUT",
        "DEFAULT_STALL_TIMEOUT",
        "PATIENT_FIRST_TOKEN_TIMEOUT",
        "PATIENT_STALL_TIMEOUT",
    ):
        monkeypatch.setattr(_client, name, 0.3)


def test_the_stream_defaults_are_below_the_total() -> None:
    from router._transport import DEFAULT_TOTAL

    assert _client.DEFAULT_FIRST_TOKEN_TIMEOUT == 120.0
    assert _client.DEFAULT_STALL_TIMEOUT == 60.0
    assert _client.PATIENT_FIRST_TOKEN_TIMEOUT == _client.PATIENT_STALL_TIMEOUT == 300.0
    assert max(_client.PATIENT_FIRST_TOKEN_TIMEOUT, _client.PATIENT_STALL_TIMEOUT) < DEFAULT_TOTAL


@pytest.mark.parametrize(
    ("model", "extra", "patient"),
    [
        ("openai/gpt-4o", {}, False),  # catalogued, no reasoning
        ("openai/gpt-4o", {"reasoning_effort": "high"}, True),  # asked to reason
        ("openai/gpt-5", {}, True),  # a reasoning model: it may stream nothing while it thinks
        ("ollama/some-local-model", {}, True),  # not in the catalogue: a local server may be loading it
    ],
)
def test_models_that_may_think_or_load_get_the_patient_limits(
    model: str, extra: dict[str, Any], patient: bool
) -> None:
    request, _, limits = _client._request([{"role": "user", "content": "x"}], True, {"api_key": "k", **extra})
    _, _, _, opts = _client._prepare(model, request, limits)
    want = (300.0, 300.0) if patient else (120.0, 60.0)
    assert (opts["first_token"], opts["stall"]) == want


@MODES
@pytest.mark.usefixtures("small_defaults")
def test_a_stream_gets_the_default_first_token_limit(mode: str) -> None:
    out = run(mode, True, (keepalives(),))
    _raised(out, router.FirstTokenTimeoutError, r"no first token within 0\.3 s")
    assert out.seconds < 0.3 + SLACK


@MODES
@pytest.mark.usefixtures("small_defaults")
def test_a_stream_gets_the_default_stall_limit(mode: str) -> None:
    out = run(mode, True, (stream(ROLE, CONTENT, MAX_WAIT),))
    _raised(out, router.StallTimeoutError, r"stream stalled: no data for 0\.3 s")
    assert out.seconds < 0.3 + SLACK


@MODES
@pytest.mark.usefixtures("small_defaults")
def test_a_plain_call_has_no_default_first_byte_or_stall_limit(mode: str) -> None:
    # headers after 0.5 s, then the body's second half after 0.5 s: only timeout= bounds a plain call
    late = ok_plain(delay=0.5)
    out = run(mode, False, (late,))
    assert out.error is None and out.text == "ok"
    out = run(mode, False, (plain_body_stall(0.5),))
    assert out.error is None and out.text == "ok"


@MODES
def test_the_total_deadline_wins_when_it_comes_first(mode: str) -> None:
    out = run(mode, True, (stream(ROLE, MAX_WAIT),), timeout=0.4, first_token_timeout=5, stall_timeout=5)
    _raised(out, router.APITimeoutError, r"deadline \(timeout=\) passed")
    assert out.seconds < 0.4 + SLACK
    out = run(mode, False, (ok_plain(delay=MAX_WAIT),), timeout=0.4, first_token_timeout=5, max_retries=2)
    _raised(out, router.APITimeoutError, r"deadline \(timeout=\) passed")
    assert out.hits == 1


# ----------------------------------------------------------------------------- a reset is no timeout


@MODES
def test_a_reset_before_the_first_token_is_a_connection_error(mode: str) -> None:
    out = run(mode, True, (reset(_head(sse=True) + ROLE),), first_token_timeout=0.3, stall_timeout=0.3)
    assert type(out.error) is router.APIConnectionError, repr(out.error)
    assert out.hits == 1
    assert out.seconds < 0.3


@MODES
def test_a_reset_of_a_plain_call_is_a_connection_error(mode: str) -> None:
    out = run(mode, False, (reset(),), first_token_timeout=0.3)
    assert type(out.error) is router.APIConnectionError, repr(out.error)


def test_a_watch_that_fired_says_so_and_leaves_nothing_behind() -> None:
    class Response:  # no network stream: abort() has nothing to shut down
        extensions: dict[str, Any] = {}

    response = Response()
    token = _watchdog.watch(time.monotonic(), response)
    end = time.monotonic() + 2
    while token not in _watchdog._fired and time.monotonic() < end:
        time.sleep(0.01)
    assert _watchdog.unwatch(token) is True  # it cut the connection: the reader names that limit
    assert token not in _watchdog._fired and token not in _watchdog._cancelled
    later = _watchdog.watch(time.monotonic() + 60, response)
    assert _watchdog.unwatch(later) is False


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize("name", ["first_token_timeout", "stall_timeout"])
@pytest.mark.parametrize("value", [0, -1, "1", True, float("nan")])
@pytest.mark.parametrize("is_stream", [False, True])
def test_a_malformed_limit_is_a_bad_request_before_any_network_call(
    name: str, value: Any, is_stream: bool
) -> None:
    with Server(ok_plain()) as server:
        for mock in (None, "hi"):
            with pytest.raises(router.BadRequestError) as info:
                router.completion(MODEL, MSGS, api_key="k", base_url=server.url, stream=is_stream,
                                  mock_response=mock, **{name: value})  # fmt: skip
            assert info.value.param == name
            assert name in str(info.value)
        with pytest.raises(router.BadRequestError):
            asyncio.run(router.acompletion(MODEL, MSGS, api_key="k", base_url=server.url, **{name: value}))
        assert server.hits == 0


def test_limits_are_not_sent_and_pass_with_a_mock() -> None:
    resp = router.completion(MODEL, MSGS, mock_response="hi", first_token_timeout=1, stall_timeout=2.5)
    assert resp.choices[0].message.content == "hi"


# ----------------------------------------------------------------------------- retries shown


@MODES
def test_each_retry_is_logged_at_info_with_its_reason(mode: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="router")
    script = (status(503), stream(ROLE, MAX_WAIT), stream(ROLE, CONTENT, END))
    out = run(mode, True, script, first_token_timeout=0.3, max_retries=2)
    assert out.error is None and out.text == "Hello"
    assert out.hits == 3
    infos = [r.getMessage() for r in caplog.records if r.name == "router" and r.levelno == logging.INFO]
    assert len(infos) == 2, infos
    assert re.fullmatch(
        r"retrying openai/gpt-4o after HTTP 503 \(attempt 2 of 3, waiting 0\.\d\d s\)", infos[0]
    )
    assert re.fullmatch(
        r"retrying openai/gpt-4o after FirstTokenTimeoutError \(attempt 3 of 3, waiting \d\.\d\d s\)",
        infos[1],
    )
    debugs = [r.getMessage() for r in caplog.records if r.name == "router" and r.levelno == logging.DEBUG]
    assert [d for d in debugs if d.startswith("sending ")] == [
        f"sending openai/gpt-4o (stream) (attempt {n} of 3)" for n in (1, 2, 3)
    ]


@MODES
def test_on_retry_gets_an_event_before_each_wait(mode: str) -> None:
    events: list[tuple[Event, float]] = []
    script = (ok_plain(delay=MAX_WAIT), plain_body_stall(), ok_plain())
    out = run(
        mode,
        False,
        script,
        first_token_timeout=0.3,
        stall_timeout=0.3,
        max_retries=2,
        _on_retry=lambda e: events.append((e, time.monotonic())),
    )
    assert out.error is None and out.text == "ok"
    assert out.hits == 3
    assert [e.kind for e, _ in events] == ["retry", "retry"]
    assert [e.reason for e, _ in events] == ["FirstTokenTimeoutError", "StallTimeoutError"]
    assert [e.attempt for e, _ in events] == [2, 3]
    for e, _ in events:
        assert (e.provider, e.model, e.stream) == ("openai", "gpt-4o", False)
        assert e.wait is not None and 0 < e.wait <= 1.0
        assert isinstance(e.error, router.APITimeoutError)
    assert events[1][1] - events[0][1] >= events[0][0].wait  # told before the wait, not after


@MODES
def test_on_retry_for_a_stream_and_a_raising_listener(mode: str) -> None:
    events: list[Event] = []

    def listener(e: Event) -> None:
        events.append(e)
        raise RuntimeError("a listener's own bug")

    script = (stream(ROLE, MAX_WAIT), stream(ROLE, CONTENT, END))
    out = run(mode, True, script, first_token_timeout=0.3, max_retries=1, _on_retry=listener)
    assert out.error is None and out.text == "Hello"  # the listener's exception changed nothing
    assert [(e.kind, e.reason, e.attempt, e.stream) for e in events] == [
        ("retry", "FirstTokenTimeoutError", 2, True)
    ]


def test_no_retry_no_event_and_no_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="router")
    events: list[Event] = []
    out = run("sync", False, (ok_plain(),), _on_retry=events.append, max_retries=2)
    assert out.error is None and out.hits == 1
    assert events == [] and not [r for r in caplog.records if r.levelno >= logging.INFO]
