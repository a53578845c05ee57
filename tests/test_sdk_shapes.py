"""The result objects behave like the openai SDK's where users touch them, on every recorded answer in
the repo (tests/fixtures/real and tests/fixtures/harvested, every protocol): ``model_dump()`` (and its
``exclude_none`` / ``exclude_unset`` forms, ``to_dict()``) validates strictly as the openai package's
``ChatCompletion`` / ``ChatCompletionChunk``, ``json.dumps`` takes every dump, and the attribute paths
openai code reads (``choices[0].message.tool_calls[0].function.arguments``,
``choices[0].delta.tool_calls[0].function.name``, ``usage.prompt_tokens_details.cached_tokens``, ...)
give the same values on our object as on the openai-validated one. Error answers: ``status_code``,
``headers`` (masked), ``body``, ``request_id``. Response headers: ``resp.router.headers``."""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import ROOT
from openai.types.chat import ChatCompletion as OpenAIChatCompletion
from openai.types.chat import ChatCompletionChunk as OpenAIChatCompletionChunk

import router
from router import _registry
from router._types import ChatCompletion
from router._types import ChatCompletionChunk
from router._types import Choice
from router._types import ChunkChoice
from router._types import Delta
from router._types import FunctionCall
from router._types import Message
from router._types import Receipt
from router._types import ToolCall
from router._types import ToolCallDelta
from router._types import ToolCallDeltaFunction
from router._types import Usage
from router._types import is_credential_header
from router._types import safe_headers

FIXTURES = ROOT / "tests" / "fixtures"
CASES = sorted((FIXTURES / "real").glob("*/*.json")) + sorted((FIXTURES / "harvested").glob("*/*.json"))
KEY = "sk-shapes-SECRET-4242"
# Added to every recording's headers: a credential-like name is masked whatever its value, the key is
# masked wherever a caller hands it in (safe_headers' secrets), the rest is kept as it came.
MORE_HEADERS = {
    "Set-Cookie": "__cf_bm=cookie-SECRET; path=/",
    "X-Api-Key": "upstream-SECRET",
    "X-RateLimit-Remaining-Requests": "499",
}

# wire api -> (protocol, the adapter that reads it when the recording's provider has none of that protocol)
FAMILY = {
    "openai-chat": ("openai-chat", "openai"),
    "mistral-chat": ("openai-chat", "mistral"),
    "anthropic-messages": ("anthropic-messages", "anthropic"),
    "gemini-generate": ("gemini", "gemini"),
    "gemini-stream": ("gemini", "gemini"),
    "ollama-chat": ("ollama-chat", "ollama"),
    "cohere-chat-v2": ("cohere-chat-v2", "cohere"),
    "openai-responses": ("openai-responses", "openai-responses"),
}

# openai's service_tier is a Literal its own client never enforces on an answer (it constructs, it does
# not validate), so Groq's "on_demand" reaches openai users as it is; model_validate would refuse it.
_TIERS = {
    a
    for arg in typing.get_args(OpenAIChatCompletion.model_fields["service_tier"].annotation)
    for a in typing.get_args(arg)
}


def _ids(paths: list[Path]) -> list[str]:
    return [f"{p.parents[1].name}-{p.parent.name}-{p.stem}" for p in paths]


def _adapter(case: dict[str, Any]) -> Any:
    protocol, default = FAMILY[case["api"]]
    if case["provider"] in _registry.provider_ids():
        own = _registry.adapter(case["provider"])
        if own.protocol == protocol:
            return own
    return _registry.adapter(default)


def _model(case: dict[str, Any]) -> str:
    body = case["request"].get("body")
    if isinstance(body, dict) and isinstance(body.get("model"), str) and body["model"]:
        return str(body["model"])
    return "recorded-model"


Answer = ChatCompletion | list[ChatCompletionChunk] | router.APIError


def _replay(path: Path) -> tuple[dict[str, str], Answer]:
    """(the headers given, the answer: a completion, a stream's chunks or the typed error)."""
    case = json.loads(path.read_text(encoding="utf-8"))
    mod = _adapter(case)
    r = case["response"]
    headers = {**(r.get("headers") or {}), **MORE_HEADERS}
    receipt = Receipt(mod.id, _model(case))
    try:
        if r.get("raw_stream") is not None and (case["stream"] or r.get("body") is None):
            receipt.headers = safe_headers(headers, (KEY,))  # as the caller fills them for a stream
            return headers, list(mod.parse_stream_bytes([r["raw_stream"].encode()], receipt=receipt))
        body = r["body"] if r.get("body") is not None else r.get("raw_body")
        return headers, mod.parse_response(r["status"], headers, body, receipt=receipt)
    except router.APIError as err:
        if err.status is not None and err.status >= 400 and r["status"] >= 400:
            assert err.status == r["status"]
        return headers, err


def _validate(cls: Any, data: dict[str, Any]) -> Any:
    """openai's model, validated strictly (a service tier outside openai's Literal: checked apart)."""
    tier = data.get("service_tier")
    if tier is not None and tier not in _TIERS:
        assert isinstance(tier, str)
        data = {**data, "service_tier": None}
    return cls.model_validate(data, strict=True)


def _fn(theirs: Any, name: str) -> Any:
    return getattr(theirs.function, name) if theirs.function is not None else None


def _same_usage(ours: Usage | None, theirs: Any) -> None:
    assert (ours is None) == (theirs is None)
    if ours is None:
        return
    assert (theirs.prompt_tokens, theirs.completion_tokens, theirs.total_tokens) == (
        ours.prompt_tokens,
        ours.completion_tokens,
        ours.total_tokens,
    )
    pd, cd = ours.prompt_tokens_details, ours.completion_tokens_details
    assert theirs.prompt_tokens_details.cached_tokens == pd.cached_tokens
    assert getattr(theirs.prompt_tokens_details, "cache_write_tokens", None) == pd.cache_write_tokens
    assert theirs.prompt_tokens_details.audio_tokens == pd.audio_tokens
    assert theirs.completion_tokens_details.reasoning_tokens == cd.reasoning_tokens
    for name in ("audio_tokens", "accepted_prediction_tokens", "rejected_prediction_tokens"):
        assert getattr(theirs.completion_tokens_details, name) == getattr(cd, name)


def _same_logprobs(ours: dict[str, Any] | None, theirs: Any) -> None:
    assert (ours is None) == (theirs is None)
    if ours is not None:
        for part in ("content", "refusal"):
            mine = ours.get(part)
            assert [t["token"] for t in mine or ()] == [t.token for t in getattr(theirs, part) or ()]


def _same_completion(ours: ChatCompletion, theirs: Any, full: bool) -> None:
    """The attribute paths openai code reads: the same values on both objects."""
    assert (theirs.id, theirs.object, theirs.created, theirs.model) == (
        ours.id,
        ours.object,
        ours.created,
        ours.model,
    )
    assert theirs.system_fingerprint == ours.system_fingerprint
    if full and (ours.service_tier is None or ours.service_tier in _TIERS):
        assert theirs.service_tier == ours.service_tier
    _same_usage(ours.usage, theirs.usage)
    assert len(theirs.choices) == len(ours.choices)
    for mine, their in zip(ours.choices, theirs.choices, strict=True):
        assert (their.index, their.finish_reason) == (mine.index, mine.finish_reason)
        _same_logprobs(mine.logprobs, their.logprobs)
        m, t = mine.message, their.message
        assert (t.role, t.content, t.refusal, t.audio) == (m.role, m.content, m.refusal, m.audio)
        assert len(t.tool_calls or ()) == len(m.tool_calls or ())
        for a, b in zip(m.tool_calls or (), t.tool_calls or (), strict=True):
            if a.type == "custom":  # openai's ChatCompletionMessageCustomToolCall: free-form input
                assert (b.id, b.type, b.custom.name, b.custom.input) == (
                    a.id,
                    "custom",
                    a.custom.name,
                    a.custom.input,
                )
                continue
            assert (b.id, b.type, b.function.name, b.function.arguments) == (
                a.id,
                a.type,
                a.function.name,
                a.function.arguments,
            )
            json.loads(b.function.arguments)  # tool-call arguments are JSON
        assert (t.function_call is None) == (m.function_call is None)
        if m.function_call is not None:
            assert (t.function_call.name, t.function_call.arguments) == (
                m.function_call.name,
                m.function_call.arguments,
            )
        assert len(t.annotations or ()) == len(m.annotations or ())
        # the router's own fields ride along as extras openai keeps
        assert getattr(t, "reasoning_content", None) == m.reasoning_content
        assert getattr(their, "native_finish_reason", None) == mine.native_finish_reason


def _same_chunk(ours: ChatCompletionChunk, theirs: Any) -> None:
    assert (theirs.id, theirs.object, theirs.created, theirs.model) == (
        ours.id,
        ours.object,
        ours.created,
        ours.model,
    )
    assert theirs.system_fingerprint == ours.system_fingerprint
    if ours.service_tier is None or ours.service_tier in _TIERS:  # else set apart by _validate
        assert theirs.service_tier == ours.service_tier
    _same_usage(ours.usage, theirs.usage)
    assert len(theirs.choices) == len(ours.choices)
    for mine, their in zip(ours.choices, theirs.choices, strict=True):
        assert (their.index, their.finish_reason) == (mine.index, mine.finish_reason)
        _same_logprobs(mine.logprobs, their.logprobs)
        d, t = mine.delta, their.delta
        assert (t.role, t.content, t.refusal, t.audio) == (d.role, d.content, d.refusal, d.audio)
        assert len(t.tool_calls or ()) == len(d.tool_calls or ())
        for a, b in zip(d.tool_calls or (), t.tool_calls or (), strict=True):
            assert (b.index, b.id, b.type) == (a.index, a.id, a.type)
            assert (_fn(b, "name"), _fn(b, "arguments")) == (a.function.name, a.function.arguments)
            assert (a.function.name, a.function.arguments) == (a.name, a.arguments)
        assert (t.function_call is None) == (d.function_call is None)
        if d.function_call is not None:
            assert (t.function_call.name, t.function_call.arguments) == (
                d.function_call.name,
                d.function_call.arguments,
            )


def _dumps(shape: ChatCompletion | ChatCompletionChunk, *, texts: bool = True) -> list[dict[str, Any]]:
    """Every dump form, each through json.dumps; with ``texts`` also the JSON text forms, each the
    same data as its dict (a stream's middle chunks skip those: the same code, 26,000 times)."""
    full = shape.model_dump()
    wire = shape.to_dict()
    no_none = shape.model_dump(exclude_none=True)
    assert None not in no_none.values()
    for data in (full, wire, no_none):
        assert json.loads(json.dumps(data)) == data
    if texts:
        assert shape.model_dump(exclude_unset=True) == wire
        assert shape.model_dump(mode="json") == full
        assert json.loads(shape.model_dump_json()) == full
        assert json.loads(shape.model_dump_json(indent=2)) == full
        assert json.loads(shape.to_json()) == wire
        assert shape.to_json(indent=None) == json.dumps(wire, ensure_ascii=False, separators=(",", ":"))
    return [full, no_none, wire]


def _check_headers(given: dict[str, str], kept: dict[str, str]) -> None:
    assert kept == {k.lower(): ("****" if is_credential_header(k) else v) for k, v in given.items()}
    assert "SECRET" not in json.dumps(kept)
    assert kept["x-ratelimit-remaining-requests"] == "499"


@pytest.mark.parametrize("path", CASES, ids=_ids(CASES))
def test_recorded_answer_has_the_openai_shape(path: Path) -> None:
    headers, result = _replay(path)
    if isinstance(result, router.APIError):
        err = result
        assert err.status_code == err.status
        assert isinstance(err.headers, dict)
        if err.status is not None and err.status >= 400:
            _check_headers(headers, err.headers)
        assert err.request_id is None or isinstance(err.request_id, str)
        json.dumps(err.headers)
        json.dumps(err.body, default=str)
        with pytest.raises(AttributeError):
            err.status_code = 1  # type: ignore[misc]
        return
    if isinstance(result, ChatCompletion):
        assert result.router is not None
        _check_headers(headers, result.router.headers)
        full, no_none, wire = _dumps(result)
        assert full["router"]["headers"] == result.router.headers
        assert "headers" not in wire["router"]  # the wire form (and its snapshots) stay as they were
        _same_completion(result, _validate(OpenAIChatCompletion, full), full=True)
        _same_completion(result, _validate(OpenAIChatCompletion, no_none), full=True)
        _same_completion(result, _validate(OpenAIChatCompletion, wire), full=False)
        return
    assert result, "a stream with no chunk"
    for i, chunk in enumerate(result):
        for data in _dumps(chunk, texts=i in (0, len(result) - 1)):
            _same_chunk(chunk, _validate(OpenAIChatCompletionChunk, data))
    whole = router.accumulate(result)
    full, no_none, wire = _dumps(whole)
    _same_completion(whole, _validate(OpenAIChatCompletion, full), full=True)
    _same_completion(whole, _validate(OpenAIChatCompletion, wire), full=False)


def test_the_corpus_is_wide() -> None:
    kinds = {json.loads(p.read_text(encoding="utf-8"))["api"] for p in CASES}
    assert len(CASES) >= 800, len(CASES)
    assert kinds == set(FAMILY), kinds


# --- the pieces, one by one ------------------------------------------------------------------------


def _completion() -> ChatCompletion:
    call = ToolCall(id="call_1", function=FunctionCall(name="get_weather", arguments='{"city": "Paris"}'))
    return ChatCompletion(
        id="chatcmpl-1",
        created=1,
        model="gpt-4o",
        choices=[
            Choice(
                index=0,
                message=Message(content=None, tool_calls=[call], reasoning_content="thinking"),
                finish_reason="tool_calls",
                native_finish_reason="tool_calls",
            )
        ],
        usage=Usage(prompt_tokens=3, completion_tokens=4, total_tokens=7),
        router=Receipt("openai", "gpt-4o", dropped=["x"], extra={"service_tier": "default"}),
    )


def test_tool_call_delta_has_openais_nested_paths() -> None:
    first = ToolCallDelta(index=0, id="call_1", name="get_weather", arguments="")
    more = ToolCallDelta(1, None, None, '{"ci')  # the constructor the codecs use is unchanged
    assert (first.type, first.function.name, first.function.arguments) == ("function", "get_weather", "")
    assert (more.type, more.function.name, more.function.arguments) == (None, None, '{"ci')
    assert first.function == ToolCallDeltaFunction(first)
    assert isinstance(more.function, ToolCallDeltaFunction)
    more.arguments = '{"city"}'  # the view reads the fragment as it is now
    assert more.function.arguments == '{"city"}'
    with pytest.raises(AttributeError):
        more.function.arguments = "x"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        more.type = "function"  # type: ignore[misc]
    assert not hasattr(first, "__dict__")  # still slotted
    assert first.to_dict() == {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    assert more.to_dict() == {"index": 1, "function": {"arguments": '{"city"}'}}
    assert more.model_dump() == {
        "index": 1,
        "id": None,
        "type": None,
        "function": {"name": None, "arguments": '{"city"}'},
    }


def test_completion_paths_and_openai_defaults() -> None:
    resp = _completion()
    m = resp.choices[0].message
    assert m.tool_calls is not None
    assert (m.role, m.refusal, m.audio, m.tool_calls[0].type) == ("assistant", None, None, "function")
    assert resp.service_tier == "default"  # read from router.extra, where the codec keeps it
    assert resp.system_fingerprint is None and resp.choices[0].logprobs is None
    u = resp.usage
    assert u is not None
    assert (u.prompt_tokens_details.cached_tokens, u.completion_tokens_details.reasoning_tokens) == (0, 0)
    assert u.prompt_tokens_details.audio_tokens is None
    assert u.completion_tokens_details.accepted_prediction_tokens is None
    assert ChatCompletion("x", 1, "m", []).service_tier is None  # no receipt
    chunk = ChatCompletionChunk("c", 1, "m", [ChunkChoice(0, Delta(content="Hi"))])
    assert (chunk.system_fingerprint, chunk.service_tier, chunk.choices[0].delta.audio) == (None, None, None)
    theirs = OpenAIChatCompletion.model_validate(resp.model_dump(), strict=True)
    calls = theirs.choices[0].message.tool_calls
    assert calls is not None and calls[0].type == "function"
    assert calls[0].function.arguments == '{"city": "Paris"}'
    assert theirs.service_tier == "default"


def test_model_dump_arguments_behave_as_pydantics() -> None:
    resp = _completion()
    full = resp.model_dump()
    assert full["choices"][0]["message"]["audio"] is None and full["cost"] is None
    no_none = resp.model_dump(exclude_none=True)
    assert "cost" not in no_none and "audio" not in no_none["choices"][0]["message"]
    assert no_none["router"]["extra"] == {"service_tier": "default"}
    # exclude_defaults: fields at their dataclass default (or openai's None) are left out
    lean = resp.model_dump(exclude_defaults=True)
    assert "object" not in lean and "cost" not in lean
    assert lean["router"] == {
        "provider": "openai",
        "model": "gpt-4o",
        "dropped": ["x"],
        "extra": {"service_tier": "default"},
    }
    assert lean["usage"] == {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
    # include / exclude: sets, nested mappings, "__all__" and list indexes, as pydantic takes them
    assert resp.model_dump(include={"id", "model"}) == {"id": "chatcmpl-1", "model": "gpt-4o"}
    picked = resp.model_dump(include={"choices": {"__all__": {"message": {"tool_calls": {0: {"id"}}}}}})
    assert picked == {"choices": [{"message": {"tool_calls": [{"id": "call_1"}]}}]}
    assert "router" not in resp.model_dump(exclude={"router"})
    assert "usage" in resp.model_dump(exclude={"router": {"extra"}})
    assert "extra" not in resp.model_dump(exclude={"router": {"extra"}})["router"]
    # fresh data: changing the dump changes nothing on the object
    full["choices"][0]["message"]["tool_calls"].clear()
    full["router"]["dropped"].append("y")
    assert resp.choices[0].message.tool_calls and resp.router is not None and resp.router.dropped == ["x"]
    # openai's to_dict() keywords
    assert resp.to_dict() == resp.model_dump(exclude_unset=True)
    assert resp.to_dict(exclude_unset=False) == resp.model_dump()
    assert "logprobs" not in resp.to_dict(exclude_none=True)["choices"][0]
    assert resp.to_dict()["choices"][0]["logprobs"] is None
    assert resp.model_dump_json() == json.dumps(resp.model_dump(), separators=(",", ":"), ensure_ascii=False)
    assert resp.to_json().startswith('{\n  "id": "chatcmpl-1"')


def test_dumps_are_json_whatever_the_receipt_holds() -> None:
    """The receipt keeps request values (clamped, defaulted) and answer fields as given: tuples, sets,
    bytes or objects in them still dump to JSON data."""

    class Odd:
        def __str__(self) -> str:
            return "odd"

    receipt = Receipt("p", "m", clamped={"stop": ("a", "b"), "n": {1}}, defaulted={"b": b"\xff", "o": Odd()})
    resp = ChatCompletion("x", 1, "m", [], router=receipt)
    dumped = resp.model_dump()["router"]
    assert dumped["clamped"] == {"stop": ["a", "b"], "n": [1]}
    assert dumped["defaulted"] == {"b": "\ufffd", "o": "odd"}
    json.dumps(resp.model_dump())
    json.dumps(resp.to_dict())
    assert resp.model_dump(fallback=lambda v: {"object": type(v).__name__})["router"]["defaulted"]["o"] == {
        "object": "Odd"
    }


def test_safe_headers_mask_credentials_and_secrets() -> None:
    given = {"Authorization": "Bearer x", "X-Goog-Api-Key": "k", "Set-Cookie": "a=b", "Request-Id": "r-1",
             "x-echo": f"key={KEY}", "X-Ratelimit-Remaining-Tokens": "100"}  # fmt: skip
    kept = safe_headers(given, (KEY,))
    assert kept == {"authorization": "****", "x-goog-api-key": "****", "set-cookie": "****", "request-id": "r-1",
                    "x-echo": "key=****", "x-ratelimit-remaining-tokens": "100"}  # fmt: skip
    assert safe_headers(httpx.Headers([("Vary", "a"), ("vary", "b")])) == {"vary": "a, b"}


def test_errors_carry_status_code_headers_body_and_request_id() -> None:
    mod = _registry.adapter("openai")
    body = b'{"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}'
    headers = {"X-Request-Id": "req_123", "Retry-After": "2", "Set-Cookie": "s=SECRET", **MORE_HEADERS}
    for err in (mod.map_error(429, headers, body), _raised(lambda: mod.parse_response(429, headers, body))):
        assert isinstance(err, router.RateLimitError)
        assert (err.status_code, err.status, err.request_id) == (429, 429, "req_123")
        assert err.headers["retry-after"] == "2" and err.headers["set-cookie"] == "****"
        assert err.body == json.loads(body)
    # an answer that is no answer (a 200 with the wrong shape) carries the headers too
    bad = _raised(lambda: mod.parse_response(200, headers, b'{"object": "list"}'))
    assert isinstance(bad, router.InvalidResponseError) and bad.headers["x-request-id"] == "req_123"
    # no answer at all: no headers, no status
    gone = router.APIConnectionError("refused")
    assert (gone.status_code, gone.headers) == (None, {})
    # scrubbing the key reaches the headers too
    echoed = mod.map_error(500, {"x-echo": KEY}, b"{}").scrub((KEY,))
    assert KEY not in json.dumps(echoed.headers)


def _raised(call: Any) -> router.APIError:
    try:
        call()
    except router.APIError as err:
        return err
    raise AssertionError("no error raised")


def _openai_answer(request: httpx.Request) -> httpx.Response:
    headers = {"x-ratelimit-remaining-requests": "499", "x-request-id": "req_9", "set-cookie": "s=SECRET"}
    if b'"stream":true' in request.content.replace(b" ", b""):
        frames = [
            {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o",
             "choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": [{"index": 0, "id": "call_1",
             "type": "function", "function": {"name": "f", "arguments": ""}}]}, "finish_reason": None}]},
            {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o",
             "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]},
             "finish_reason": "tool_calls"}]},
        ]  # fmt: skip
        text = "".join(f"data: {json.dumps(f)}\n\n" for f in frames) + "data: [DONE]\n\n"
        return httpx.Response(200, headers={**headers, "content-type": "text/event-stream"}, text=text)
    answer = {"id": "c", "object": "chat.completion", "created": 1, "model": "gpt-4o", "service_tier": "default",
              "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}],
              "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}  # fmt: skip
    return httpx.Response(200, headers=headers, json=answer)


def test_the_answers_headers_are_on_the_receipt() -> None:
    with httpx.Client(transport=httpx.MockTransport(_openai_answer)) as client:
        resp = router.completion(
            "openai/gpt-4o", [{"role": "user", "content": "Hi"}], api_key=KEY, http_client=client
        )
    assert isinstance(resp, ChatCompletion) and resp.router is not None
    assert resp.router.headers["x-ratelimit-remaining-requests"] == "499"
    assert resp.router.headers["set-cookie"] == "****"
    assert resp.service_tier == "default"
    assert resp.model_dump()["router"]["headers"] == resp.router.headers
    assert "headers" not in resp.to_dict()["router"]


def test_streamed_chunks_read_as_openais() -> None:
    with httpx.Client(transport=httpx.MockTransport(_openai_answer)) as client:
        stream = router.completion(
            "openai/gpt-4o", [{"role": "user", "content": "Hi"}], api_key=KEY, http_client=client, stream=True
        )
        assert isinstance(stream, router.Stream)
        chunks = list(stream)
    calls = [tc for c in chunks for ch in c.choices for tc in ch.delta.tool_calls or ()]
    assert [(tc.index, tc.id, tc.type, tc.function.name, tc.function.arguments) for tc in calls] == [
        (0, "call_1", "function", "f", ""),
        (0, None, None, None, "{}"),
    ]


def test_a_streams_headers_are_on_its_receipt() -> None:
    with httpx.Client(transport=httpx.MockTransport(_openai_answer)) as client:
        stream = router.completion(
            "openai/gpt-4o", [{"role": "user", "content": "Hi"}], api_key=KEY, http_client=client, stream=True
        )
        assert isinstance(stream, router.Stream)
        list(stream)
    assert stream.receipt.headers["x-ratelimit-remaining-requests"] == "499"
    assert stream.receipt.headers["set-cookie"] == "****"
