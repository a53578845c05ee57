"""Untrusted bytes from upstream never escape as bare Python errors.

A fault matrix over the six protocols, sync and async, plain and streamed, through ``http_client=``
with an ``httpx.MockTransport`` that misbehaves: invalid, deep, wrong-shape and non-UTF-8 JSON,
HTML error pages, error bodies and streams cut off by a read error or a read timeout, and a stream
iterated twice. Every call either returns a well-formed answer or raises a ``RouterError``, never
anything else, and never a partial answer as a success.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from matrix import PROTOCOL_MODELS

import router

MSGS = [{"role": "user", "content": "Hi"}]
MODELS = PROTOCOL_MODELS
DEEP = b"[" * 200_000 + b"]" * 200_000
DEEP_OBJ = b'{"a":' * 100_000 + b"1" + b"}" * 100_000


class _Body(httpx.SyncByteStream, httpx.AsyncByteStream):
    """Yields ``pieces``; an exception instance among them is raised at that point."""

    def __init__(self, pieces: list[bytes | Exception]) -> None:
        self.pieces = pieces

    def __iter__(self) -> Iterator[bytes]:
        for p in self.pieces:
            if isinstance(p, Exception):
                raise p
            yield p

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for p in self.pieces:
            if isinstance(p, Exception):
                raise p
            yield p


def _reply(status: int, pieces: list[bytes | Exception], ctype: str = "application/json") -> httpx.Response:
    return httpx.Response(status, headers={"content-type": ctype}, stream=_Body(pieces))


def _cut(kind: str) -> Exception:
    req = httpx.Request("POST", "https://x")
    return (
        httpx.ReadTimeout("stalled", request=req)
        if kind == "timeout"
        else httpx.ReadError("reset", request=req)
    )


def _sse(*events: bytes) -> bytes:
    return b"".join(b"data: " + e + b"\n\n" for e in events)


def _nd(*lines: bytes) -> bytes:
    return b"".join(line + b"\n" for line in lines)


# fault name -> (protocol -> HTTP response) for plain and streamed calls
def _wrong_shapes(provider: str) -> list[bytes]:
    common = [b"[1, 2]", b'"text"', b"123", b"null", b"{}", DEEP, DEEP_OBJ, b"\xff\xfe{not utf8}"]
    own = {
        "openai": [b'{"choices":[1,"two"]}', b'{"choices":[{"message":5}]}', b'{"choices":[{"message":{"tool_calls":[1]}}]}',
                   b'{"choices":[{"message":{"content":"x"},"finish_reason":"stop"}],"usage":{"prompt_tokens":"a"}}'],
        "anthropic": [b'{"content":[1,"two"]}', b'{"content":[{"type":"tool_use","input":5}]}', b'{"content":"x"}'],
        "gemini": [b'{"candidates":[1]}', b'{"candidates":[{"content":{"parts":[1,"x"]}}]}', b'{"candidates":[{"content":5}]}'],
        "ollama": [b'{"message":{"content":5}}', b'{"message":{"tool_calls":[1]}}', b'{"message":{"role":"assistant","content":"x","tool_calls":"no"}}'],
        "cohere": [b'{"message":{"content":5}}', b'{"message":{"content":[1,"two"]}}', b'{"message":{"content":[{"type":"text","text":5}]}}',
                   b'{"message":{"tool_calls":[1]}}', b'{"message":{"tool_calls":[{"function":5}]}}', b'{"message":{"tool_calls":"no"}}',
                   b'{"message":{"content":[{"type":"text","text":"x"}]},"finish_reason":"COMPLETE","usage":{"tokens":{"input_tokens":"a"}}}',
                   b'{"message":{"content":[{"type":"text","text":"x"}]},"finish_reason":"ERROR"}'],
        "openai-responses": [b'{"output":5}', b'{"output":[1,"two"]}', b'{"output":[{"type":"message","content":5}]}',
                             b'{"output":[{"type":"message","content":[{"type":"output_text","text":5}]}]}',
                             b'{"output":[{"type":"function_call","name":5,"arguments":{}}]}',
                             b'{"output":[{"type":"reasoning","summary":5}]}', b'{"status":"failed","output":[],"error":5}',
                             b'{"status":"completed","output":[],"usage":{"input_tokens":"a"}}'],
    }  # fmt: skip
    return common + own[provider]


def _stream_faults(provider: str) -> list[bytes]:
    if provider == "ollama":
        return [
            _nd(b"[1,2,3]"),
            _nd(b'{"message":5}'),
            _nd(b'{"message":{"content":5}}'),
            _nd(DEEP),
            _nd(b"\xff\xfe"),
        ]
    bad = [b"[1,2,3]", b'"x"', DEEP, b"\xff\xfe", b"{"]
    own = {
        "openai": [b'{"choices":[1]}', b'{"choices":[{"delta":5}]}', b'{"choices":[{"delta":{"tool_calls":[1]}}]}'],
        "anthropic": [b'{"type":"content_block_delta","delta":5}', b'{"type":"message_start","message":5}',
                      b'{"type":"content_block_start","content_block":5}'],
        "gemini": [b'{"candidates":[1]}', b'{"candidates":[{"content":{"parts":[1]}}]}'],
        "cohere": [b'{"type":"content-delta","delta":5}', b'{"type":"content-delta","delta":{"message":{"content":5}}}',
                   b'{"type":"content-delta","delta":{"message":{"content":{"text":5}}}}',
                   b'{"type":"tool-call-start","index":0,"delta":{"message":{"tool_calls":5}}}',
                   b'{"type":"tool-call-start","index":0,"delta":{"message":{"tool_calls":{"id":1,"function":{"name":2}}}}}',
                   b'{"type":"tool-call-delta","index":"x","delta":{"message":{"tool_calls":{"function":{"arguments":5}}}}}',
                   b'{"type":"message-end","delta":{"finish_reason":"COMPLETE","usage":{"tokens":{"input_tokens":"a"}}}}',
                   b'{"type":"message-end","delta":{"finish_reason":"ERROR","error":"boom"}}'],
        "openai-responses": [b'{"type":"response.output_text.delta","delta":5}', b'{"type":"response.created","response":5}',
                             b'{"type":"response.output_item.added","output_index":0,"item":5}',
                             b'{"type":"response.output_item.added","output_index":0,"item":{"type":"function_call","name":5}}',
                             b'{"type":"response.output_item.done","output_index":0,"item":{"type":"message","content":5}}',
                             b'{"type":"response.completed","response":{"status":"completed","usage":{"input_tokens":"a"}}}',
                             b'{"type":"response.failed","response":{"status":"failed","error":5}}', b'{"type":"error","message":5}'],
    }  # fmt: skip
    return [_sse(e) for e in bad + own[provider]]


def _cases() -> list[tuple[str, str, bool, Callable[[], httpx.Response]]]:
    cases: list[tuple[str, str, bool, Callable[[], httpx.Response]]] = []
    for provider in MODELS:
        for i, body in enumerate(_wrong_shapes(provider)):
            cases.append((provider, f"body{i}", False, lambda b=body: _reply(200, [b])))
        for i, body in enumerate(_stream_faults(provider)):
            cases.append((provider, f"event{i}", True, lambda b=body: _reply(200, [b], "text/event-stream")))
        for stream in (False, True):
            cases += [
                (provider, "html500", stream, lambda: _reply(500, [b"<html>oops</html>"], "text/html")),
                (
                    provider,
                    "error_body_reset",
                    stream,
                    lambda: _reply(400, [b'{"error": {"mes', _cut("reset")]),
                ),
                (provider, "error_body_stall", stream, lambda: _reply(400, [b'{"err', _cut("timeout")])),
                (provider, "body_reset", stream, lambda: _reply(200, [b'{"choi', _cut("reset")])),
                (provider, "body_stall", stream, lambda: _reply(200, [b"data: {", _cut("timeout")])),
                (provider, "not_utf8_error", stream, lambda: _reply(418, [b"\xff\xfe\xfd"])),
            ]
    return cases


CASES = _cases()


def _check(outcome: Any, stream: bool) -> None:
    """A success must be a real answer: a ChatCompletion with choices, or a stream that finished."""
    if stream:
        assert isinstance(outcome, list)
    else:
        assert isinstance(outcome, router.ChatCompletion) and outcome.choices


def _sync(provider: str, stream: bool, respond: Callable[[], httpx.Response]) -> Any:
    with httpx.Client(transport=httpx.MockTransport(lambda r: respond())) as client:
        result = router.completion(
            MODELS[provider], MSGS, api_key="k", max_retries=0, stream=stream, http_client=client
        )
        return list(result) if stream else result


def _async(provider: str, stream: bool, respond: Callable[[], httpx.Response]) -> Any:
    async def handler(request: httpx.Request) -> httpx.Response:
        return respond()

    async def main() -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            result = await router.acompletion(
                MODELS[provider], MSGS, api_key="k", max_retries=0, stream=stream, http_client=client
            )
            return [c async for c in result] if stream else result

    return asyncio.run(main())


@pytest.mark.parametrize("call", [_sync, _async], ids=["sync", "async"])
@pytest.mark.parametrize(
    ("provider", "fault", "stream", "respond"),
    CASES,
    ids=[f"{p}-{f}-{'stream' if s else 'plain'}" for p, f, s, _ in CASES],
)
def test_faults_give_router_errors(call: Any, provider: str, fault: str, stream: bool, respond: Any) -> None:
    try:
        outcome = call(provider, stream, respond)
    except router.RouterError as err:
        if isinstance(err, router.APIError):
            assert err.provider == provider
            assert err.model, f"{type(err).__name__} without the model: {err}"
            assert len(str(err)) < 2_000  # a short excerpt, never the whole body
        return
    _check(outcome, stream)


def test_a_stream_iterated_twice_is_a_router_error() -> None:
    body = _sse(b'{"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":"stop"}]}', b"[DONE]")
    with httpx.Client(
        transport=httpx.MockTransport(lambda r: _reply(200, [body], "text/event-stream"))
    ) as client:
        stream = router.completion(MODELS["openai"], MSGS, api_key="k", stream=True, http_client=client)
        assert isinstance(stream, router.Stream)
        assert len(list(stream)) == 1
        with pytest.raises(router.RouterError, match="already"):
            list(stream)


def test_invalid_utf8_reads_the_same_in_a_body_and_a_stream() -> None:
    from router._registry import adapter

    a = adapter("openai")
    body = (
        b'{"choices":[{"index":0,"message":{"role":"assistant","content":"a\xffb"},"finish_reason":"stop"}]}'
    )
    plain = a.parse_response(200, {}, body).choices[0].message.content
    frame = b'{"choices":[{"index":0,"delta":{"content":"a\xffb"},"finish_reason":"stop"}]}'
    streamed = (
        router.accumulate(list(a.parse_stream_bytes([b"data: " + frame + b"\n\n"])))
        .choices[0]
        .message.content
    )
    assert plain == streamed == "a\ufffdb"
