"""Response normalisation on real recorded traffic (tests/fixtures/real): every openai and
anthropic recording through parse_response / parse_stream_bytes / map_error, snapshotted, and the
unified results checked against the official openai package's own types."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import error_record
from conftest import load_case
from conftest import real_cases
from openai.types.chat import ChatCompletion as OpenAIChatCompletion
from openai.types.chat import ChatCompletionChunk as OpenAIChatCompletionChunk

import router
from router import _registry

CASES = real_cases("openai", "anthropic")
OK = [c for c in CASES if load_case(c)["response"]["status"] < 400]
ERRORS = [c for c in CASES if load_case(c)["response"]["status"] >= 400]


def _ids(paths: list[Path]) -> list[str]:
    return [f"{p.parent.name}-{p.stem}" for p in paths]


def _adapter(case: dict[str, Any]) -> Any:
    return _registry.adapter(case["provider"])


def _body(case: dict[str, Any]) -> Any:
    r = case["response"]
    return r["body"] if r.get("body") is not None else r.get("raw_body")


@pytest.mark.parametrize("path", OK, ids=_ids(OK))
def test_recorded_answer(path: Path, snapshot_json: Any, fixed_clock: int) -> None:
    case = load_case(path)
    mod = _adapter(case)
    resp = case["response"]
    if case["stream"]:
        chunks = list(mod.parse_stream_bytes([resp["raw_stream"].encode()]))
        dicts = [c.to_dict() for c in chunks]
        for d in dicts:
            OpenAIChatCompletionChunk.model_validate(d)
        assert chunks[0].choices[0].delta.role == "assistant"
        assert any(c.choices and c.choices[0].finish_reason for c in chunks)
        assert dicts == snapshot_json
    else:
        result = mod.parse_response(resp["status"], resp["headers"], _body(case))
        d = result.to_dict()
        OpenAIChatCompletion.model_validate(d)
        choice = result.choices[0]
        assert choice.native_finish_reason is not None
        assert choice.finish_reason in ("stop", "length", "tool_calls", "content_filter")
        u = result.usage
        assert u is not None and u.total_tokens == u.prompt_tokens + u.completion_tokens
        assert d == snapshot_json


@pytest.mark.parametrize("path", ERRORS, ids=_ids(ERRORS))
def test_recorded_error(path: Path, snapshot_json: Any) -> None:
    case = load_case(path)
    mod = _adapter(case)
    resp = case["response"]
    with pytest.raises(router.APIError) as info:
        mod.parse_response(resp["status"], resp["headers"], _body(case))
    err = info.value
    assert err.status == resp["status"]
    assert err.provider == case["provider"]
    assert error_record(err) == snapshot_json


def test_anthropic_usage_counts_cache_in_prompt_tokens() -> None:
    from router.generated.anthropic import ADAPTER as anthropic

    body = {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "m", "stop_reason": "end_turn",
        "content": [{"type": "text", "text": "hi"}],
        "usage": {"input_tokens": 10, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 5, "output_tokens": 3},
    }  # fmt: skip
    u = anthropic.parse_response(200, {}, body).usage
    assert u is not None
    assert (u.prompt_tokens, u.completion_tokens, u.total_tokens) == (115, 3, 118)
    assert u.prompt_tokens_details.cached_tokens == 100
    assert u.prompt_tokens_details.cache_write_tokens == 5


def test_unknown_finish_reason_is_kept_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    from router.generated.anthropic import ADAPTER as anthropic

    body = {
        "id": "m",
        "content": [{"type": "text", "text": "x"}],
        "stop_reason": "brand_new_reason",
        "model": "m",
    }
    with caplog.at_level("WARNING", logger="router"):
        result = anthropic.parse_response(200, {}, body)
    assert result.choices[0].native_finish_reason == "brand_new_reason"
    assert result.choices[0].finish_reason == "stop"  # the spec's declared `unknown`
    assert "brand_new_reason" in caplog.text


@pytest.mark.parametrize(
    ("provider", "status", "body", "cls"),
    [
        ("openai", 200, b"<html><body>Bad gateway</body></html>", router.InvalidResponseError),
        ("openai", 502, b"<html><body>Bad gateway</body></html>", router.ServiceUnavailableError),
        ("openai", 200, b'{"choices": [', router.InvalidResponseError),
        ("openai", 200, b'{"object": "list"}', router.InvalidResponseError),
        ("anthropic", 200, b'{"type": "message"}', router.InvalidResponseError),
        (
            "anthropic",
            529,
            b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
            router.ServiceUnavailableError,
        ),
        (
            "anthropic",
            400,
            b'{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 250000 tokens > 200000 maximum"}}',
            router.ContextWindowExceededError,
        ),
        (
            "openai",
            400,
            b'{"error":{"message":"too long","type":"invalid_request_error","code":"context_length_exceeded"}}',
            router.ContextWindowExceededError,
        ),
        (
            "openai",
            200,
            b'{"error":{"message":"upstream failed","type":"server_error","code":null}}',
            router.InternalServerError,
        ),
    ],
    ids=[
        "html-200",
        "html-502",
        "truncated-json",
        "no-choices",
        "no-content",
        "overloaded",
        "prompt-too-long",
        "context-length-code",
        "error-in-200",
    ],
)
def test_bad_answers_give_typed_errors(provider: str, status: int, body: bytes, cls: type[Exception]) -> None:
    mod = _registry.adapter(provider)
    with pytest.raises(cls):
        mod.parse_response(status, {}, body)


def test_html_error_page_message_says_html() -> None:
    from router.generated.openai import ADAPTER as openai

    err = openai.map_error(502, {}, b"<!DOCTYPE html><html>nginx</html>")
    assert "HTML" in str(err)


def test_retry_after_header_is_read() -> None:
    from router.generated.openai import ADAPTER as openai

    err = openai.map_error(
        429,
        {"retry-after-ms": "1500"},
        b'{"error":{"message":"slow","type":"requests","code":"rate_limit_exceeded"}}',
    )
    assert isinstance(err, router.RateLimitError)
    assert err.retry_after == 1.5


@pytest.mark.parametrize(
    ("provider", "stream", "cls"),
    [
        (
            "anthropic",
            b'event: message_start\ndata: {"type":"message_start","message":{"id":"m","model":"x","usage":{"input_tokens":1}}}\n\nevent: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}\n\n',
            router.APIConnectionError,
        ),
        (
            "anthropic",
            b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n',
            router.ServiceUnavailableError,
        ),
        (
            "openai",
            b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n',
            router.APIConnectionError,
        ),
        ("openai", b"data: {not json}\n\n", router.InvalidResponseError),
    ],
    ids=["anthropic-truncated", "anthropic-error-event", "openai-truncated", "openai-bad-frame"],
)
def test_bad_streams_give_typed_errors(provider: str, stream: bytes, cls: type[Exception]) -> None:
    mod = _registry.adapter(provider)
    with pytest.raises(cls):
        list(mod.parse_stream_bytes([stream]))


def test_openai_logprobs_are_kept_and_accumulated() -> None:
    from router.generated.openai import ADAPTER as openai

    lp = {
        "content": [{"token": "Hi", "logprob": -0.1, "bytes": [72, 105], "top_logprobs": []}],
        "refusal": None,
    }
    body = {
        "id": "c", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop", "logprobs": lp}],
    }  # fmt: skip
    result = openai.parse_response(200, {}, body)
    assert result.choices[0].logprobs == lp
    OpenAIChatCompletion.model_validate(result.to_dict())
    frames = [
        {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
         "choices": [{"index": 0, "delta": {"content": w}, "finish_reason": f, "logprobs": {"content": [{"token": w, "logprob": -0.5, "bytes": None, "top_logprobs": []}]}}]}
        for w, f in (("Hi", None), ("!", "stop"))
    ]  # fmt: skip
    stream = "".join(f"data: {json.dumps(f)}\n\n" for f in frames) + "data: [DONE]\n\n"
    merged = router.accumulate(openai.parse_stream_bytes([stream.encode()]))
    assert [t["token"] for t in merged.choices[0].logprobs["content"]] == ["Hi", "!"]


def test_gemini_retry_delay_from_the_body() -> None:
    from router.generated.gemini import ADAPTER as gemini

    body = {"error": {"code": 429, "message": "Resource has been exhausted", "status": "RESOURCE_EXHAUSTED", "details": [
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"},
    ]}}  # fmt: skip
    err = gemini.map_error(429, {}, json.dumps(body).encode())
    assert isinstance(err, router.RateLimitError) and err.retry_after == 37.0
    assert gemini.map_error(429, {"retry-after": "3"}, json.dumps(body).encode()).retry_after == 3.0


def test_content_as_typed_parts_splits_text_and_thinking() -> None:
    from router.generated.mistral import ADAPTER as mistral

    body = {
        "id": "x", "object": "chat.completion", "created": 1, "model": "magistral-medium-latest",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": [
            {"type": "thinking", "thinking": [{"type": "text", "text": "Let me add: 2+2."}]},
            {"type": "text", "text": "4"},
        ]}}],
    }  # fmt: skip
    msg = mistral.parse_response(200, {}, body).choices[0].message
    assert (msg.content, msg.reasoning_content) == ("4", "Let me add: 2+2.")


def test_groq_drops_message_names_onto_the_receipt() -> None:
    from router.generated.groq import ADAPTER as groq

    receipt = router.Receipt("groq", "llama-3.1-8b-instant")
    msgs = [{"role": "user", "content": "hi", "name": "alice"}]
    http = groq.build_request(
        {"model": "llama-3.1-8b-instant", "messages": msgs}, api_key="k", receipt=receipt
    )
    assert http.json["messages"] == [{"role": "user", "content": "hi"}]
    assert receipt.dropped == ["messages[].name"]


def test_anthropic_forced_json_tool_comes_back_as_content() -> None:
    from router.generated.anthropic import ADAPTER as anthropic

    req = {
        "model": "claude-haiku-4-5",
        "messages": [{"role": "user", "content": "city?"}],
        "response_format": {"type": "json_object"},
    }
    sent = anthropic.build_request(req, api_key="k").json
    assert sent["tool_choice"] == {"type": "tool", "name": "json_output"}
    body = {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-haiku-4-5-20251001",
        "content": [{"type": "tool_use", "id": "toolu_1", "name": "json_output", "input": {"city": "Paris"}}],
        "stop_reason": "tool_use", "usage": {"input_tokens": 10, "output_tokens": 5},
    }  # fmt: skip
    choice = anthropic.parse_response(200, {}, body).choices[0]
    assert json.loads(choice.message.content or "") == {"city": "Paris"}
    assert choice.message.tool_calls is None
    assert (choice.finish_reason, choice.native_finish_reason) == ("stop", "tool_use")
    stream = "".join(
        f"event: {e['type']}\ndata: {json.dumps(e)}\n\n"
        for e in [
            {"type": "message_start", "message": {"id": "m", "model": "x", "usage": {"input_tokens": 3}}},
            {"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "t", "name": "json_output", "input": {}}},
            {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": '{"city": '}},
            {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": '"Rome"}'}},
            {"type": "content_block_stop", "index": 0},
            {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 4}},
            {"type": "message_stop"},
        ]
    )  # fmt: skip
    merged = router.accumulate(anthropic.parse_stream_bytes([stream.encode()]))
    assert merged.choices[0].message.content == '{"city": "Rome"}'
    assert merged.choices[0].finish_reason == "stop"


def test_anthropic_thinking_blocks_go_back_signed_on_the_next_turn() -> None:
    from router.generated.anthropic import ADAPTER as anthropic

    body = {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
        "content": [
            {"type": "thinking", "thinking": "Two and two.", "signature": "sig-abc"},
            {"type": "text", "text": "4"},
        ],
        "stop_reason": "end_turn", "usage": {"input_tokens": 10, "output_tokens": 5},
    }  # fmt: skip
    answer = anthropic.parse_response(200, {}, body).choices[0].message
    assert answer.reasoning_content == "Two and two."
    follow_up = [{"role": "user", "content": "2+2?"}, answer, {"role": "user", "content": "times 3?"}]
    sent = anthropic.build_request({"model": "claude-sonnet-4-5", "messages": follow_up}, api_key="k").json
    assert sent["messages"][1]["content"] == [
        {"type": "thinking", "thinking": "Two and two.", "signature": "sig-abc"},
        {"type": "text", "text": "4"},
    ]
    # The same answer streamed: the signed block arrives whole when the block closes.
    events = [
        {"type": "message_start", "message": {"id": "m", "model": "x", "usage": {"input_tokens": 3}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}},
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "Two and two."},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "signature_delta", "signature": "sig-abc"},
        },
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "4"}},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 4}},
        {"type": "message_stop"},
    ]
    stream = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)
    merged = router.accumulate(anthropic.parse_stream_bytes([stream.encode()])).choices[0].message
    assert merged.reasoning_blocks == [
        {"type": "thinking", "thinking": "Two and two.", "signature": "sig-abc"}
    ]
    assert merged.reasoning_content == "Two and two." and merged.content == "4"


def test_request_id_from_the_error_body_when_no_header_came() -> None:
    from router.generated.anthropic import ADAPTER as anthropic

    body = {
        "type": "error",
        "error": {"type": "authentication_error", "message": "invalid x-api-key"},
        "request_id": "req_01X",
    }
    assert anthropic.map_error(401, {}, json.dumps(body).encode()).request_id == "req_01X"
    assert anthropic.map_error(401, {"request-id": "req_H"}, json.dumps(body).encode()).request_id == "req_H"
