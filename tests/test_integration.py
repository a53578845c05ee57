"""router.completion through the real httpx transport against a server on 127.0.0.1 that replays
recorded provider answers, streams split at awkward byte boundaries, sync and async."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import REAL
from conftest import load_case
from loopback import Loopback
from loopback import Reply
from loopback import split_awkwardly

import router
from router import _registry

KEY = "sk-integration-SECRET-9876"
MSGS = [{"role": "user", "content": "Hello"}]


@pytest.fixture
def server() -> Iterator[Loopback]:
    with Loopback() as srv:
        yield srv


def _recorded(name: str) -> dict[str, Any]:
    return load_case(REAL / f"{name}.json")


def _reply_for(case: dict[str, Any]) -> Reply:
    r = case["response"]
    headers = {"content-type": r["headers"].get("content-type", "application/json")}
    if case["stream"]:
        return Reply(r["status"], headers, split_awkwardly(r["raw_stream"].encode()))
    return Reply(r["status"], headers, [json.dumps(r["body"]).encode()])


def _base(provider: str, srv: Loopback) -> str:
    return srv.url + ("/v1" if provider == "openai" else "")


@pytest.mark.parametrize(
    ("provider", "name"),
    [("openai", "openai/parallel_tool_calls"), ("anthropic", "anthropic/tool_use_parallel_with_text")],
)
def test_sync_non_stream(server: Loopback, provider: str, name: str) -> None:

    case = _recorded(name)
    server.replies.append(_reply_for(case))
    resp = router.completion(
        f"{provider}/some-model", MSGS, api_key=KEY, base_url=_base(provider, server), max_tokens=50
    )
    mod = _registry.adapter(provider)
    expected = mod.parse_response(200, {}, case["response"]["body"])
    got, want = resp.to_dict(), expected.to_dict()
    got.pop("created"), want.pop("created"), got.pop("router"), got.pop("cost", None)
    assert got == want
    assert resp.router is not None and resp.router.provider == provider
    seen = server.seen[0]
    assert seen.method == "POST"
    assert seen.path == ("/v1/chat/completions" if provider == "openai" else "/v1/messages")
    assert json.loads(seen.body)["messages"]
    assert KEY in (seen.headers.get("authorization", "") + seen.headers.get("x-api-key", ""))


STREAMS = [
    ("anthropic", "anthropic/stream_stop_sequence_prefill"),
    ("anthropic", "anthropic/stream_text_langchaingo"),
    ("openai", "openai/stream_tool_call_then_text"),
    ("openai", "openai/stream_text_after_tool_result"),
]


def _expected_chunks(provider: str, case: dict[str, Any]) -> list[dict[str, Any]]:

    mod = _registry.adapter(provider)
    chunks = [c.to_dict() for c in mod.parse_stream_bytes([case["response"]["raw_stream"].encode()])]
    for c in chunks:
        c.pop("created")
    return chunks


@pytest.mark.parametrize(("provider", "name"), STREAMS, ids=[n for _, n in STREAMS])
def test_sync_stream_split_awkwardly(server: Loopback, provider: str, name: str) -> None:
    case = _recorded(name)
    reply = _reply_for(case)
    assert len(reply.pieces) > 50  # the body really is cut into many pieces
    server.replies.append(reply)
    stream = router.completion(
        f"{provider}/m", MSGS, api_key=KEY, base_url=_base(provider, server), stream=True
    )
    got = [c.to_dict() for c in stream]
    for c in got:
        c.pop("created")
    assert got == _expected_chunks(provider, case)
    assert json.loads(server.seen[0].body)["stream"] is True


@pytest.mark.parametrize(("provider", "name"), STREAMS, ids=[n for _, n in STREAMS])
def test_async_stream_split_awkwardly(server: Loopback, provider: str, name: str) -> None:
    case = _recorded(name)
    server.replies.append(_reply_for(case))

    async def run() -> list[dict[str, Any]]:
        stream = await router.acompletion(
            f"{provider}/m", MSGS, api_key=KEY, base_url=_base(provider, server), stream=True
        )
        assert isinstance(stream, router.AsyncStream)
        return [c.to_dict() async for c in stream]

    got = asyncio.run(run())
    for c in got:
        c.pop("created")
    assert got == _expected_chunks(provider, case)


def test_async_non_stream(server: Loopback) -> None:
    case = _recorded("anthropic/max_tokens_stop")
    server.replies.append(_reply_for(case))

    async def run() -> router.ChatCompletion:
        resp = await router.acompletion(
            "anthropic/claude-3-opus-20240229", MSGS, api_key=KEY, base_url=server.url
        )
        assert isinstance(resp, router.ChatCompletion)
        return resp

    resp = asyncio.run(run())
    assert resp.choices[0].finish_reason == "length"
    assert resp.choices[0].native_finish_reason == "max_tokens"


def test_multibyte_text_survives_every_split(server: Loopback) -> None:
    text = "Grüße, 世界! 🦜 ça va?"
    frames = [
        {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
         "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]},
        *({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
           "choices": [{"index": 0, "delta": {"content": w}, "finish_reason": None}]} for w in text.split(" ")),
        {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
         "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    ]  # fmt: skip
    body = (
        "".join(f"data: {json.dumps(f, ensure_ascii=False)}\r\n\r\n" for f in frames) + "data: [DONE]\r\n\r\n"
    )
    server.replies.append(Reply(200, {"content-type": "text/event-stream"}, split_awkwardly(body.encode())))
    chunks = list(router.completion("openai/m", MSGS, api_key=KEY, base_url=server.url, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == text.replace(" ", "")


def test_retry_after_429_then_success(server: Loopback) -> None:
    err = {"error": {"message": "slow down", "type": "requests", "code": "rate_limit_exceeded"}}
    server.replies.append(Reply.json(err, 429, {"retry-after": "0"}))
    server.replies.append(_reply_for(_recorded("openai/tool_result_followup")))
    resp = router.completion("openai/gpt-4o", MSGS, api_key=KEY, base_url=server.url, max_retries=2)
    assert isinstance(resp, router.ChatCompletion)
    assert len(server.seen) == 2


def test_rate_limit_raised_when_retries_run_out(server: Loopback) -> None:
    case = _recorded("groq/error_429_rate_limit")
    r = case["response"]
    for _ in range(2):
        server.replies.append(Reply.json(r["body"], 429, {"retry-after": "0"}))
    with pytest.raises(router.RateLimitError) as info:
        router.completion("openai/m", MSGS, api_key=KEY, base_url=server.url, max_retries=1)
    assert len(server.seen) == 2
    assert KEY not in str(info.value) and KEY not in repr(info.value)


def test_auth_error_through_http(server: Loopback) -> None:
    case = _recorded("anthropic/error_401_invalid_x_api_key")
    server.replies.append(_reply_for(case))
    with pytest.raises(router.AuthenticationError) as info:
        router.completion("anthropic/m", MSGS, api_key=KEY, base_url=server.url)
    assert info.value.status == 401
    assert KEY not in str(info.value)
    assert len(server.seen) == 1  # 401 is never retried


def test_html_error_page_through_http(server: Loopback) -> None:
    page = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    server.replies.append(Reply(502, {"content-type": "text/html"}, [page]))
    with pytest.raises(router.ServiceUnavailableError, match="HTML"):
        router.completion("openai/m", MSGS, api_key=KEY, base_url=server.url, max_retries=0)


def test_truncated_stream_is_a_typed_error(server: Loopback) -> None:
    raw = _recorded("anthropic/stream_text_langchaingo")["response"]["raw_stream"]
    cut = raw[: raw.index("message_delta")]
    server.replies.append(Reply(200, {"content-type": "text/event-stream"}, split_awkwardly(cut.encode())))
    with pytest.raises(router.APIConnectionError, match="stream ended"):
        list(router.completion("anthropic/m", MSGS, api_key=KEY, base_url=server.url, stream=True))


def test_stream_error_status_is_raised_before_iteration(server: Loopback) -> None:
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    server.replies.append(Reply.json(body, 529))
    with pytest.raises(router.ServiceUnavailableError):
        router.completion("anthropic/m", MSGS, api_key=KEY, base_url=server.url, stream=True, max_retries=0)


def test_timeout_is_a_typed_error(server: Loopback) -> None:
    server.replies.append(Reply.json({}, 200))
    server.replies[0].delay = 1.0
    with pytest.raises(router.APITimeoutError):
        router.completion("openai/m", MSGS, api_key=KEY, base_url=server.url, timeout=0.2, max_retries=0)


def test_connection_refused_is_a_typed_error() -> None:
    with Loopback() as srv:
        url = srv.url
    with pytest.raises(router.APIConnectionError):
        router.completion("openai/m", MSGS, api_key=KEY, base_url=url, max_retries=0, timeout=2)
