"""``router serve`` as a user runs it: a real granian process on 127.0.0.1, called by the official
openai SDK and by plain HTTP, in front of the fake provider and a loopback upstream that replays
every real recording of every wire protocol.

The rule held across every recording: what the gateway answers is exactly what the library's own
parse of that recording gives (the same chunks for a stream), and an upstream error leaves with the
status of its error class, so the SDK raises the class it would against the provider.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest
from conftest import REAL
from conftest import load_case
from gateway_env import gateway
from loopback import Loopback
from loopback import Reply
from test_replay import FAMILY
from test_replay import _adapter
from test_replay import _model
from test_replay import _reply
from test_replay import _strip

import router
from router.gateway import hash_key
from router.gateway._errors import from_router_error

CASES = sorted(p for p in REAL.glob("*/*.json") if load_case(p)["api"] in FAMILY)
KEY = "sk-gw-team-a-SECRET-1234"
LIMITED = "sk-gw-limited-SECRET-99"
NARROW = "sk-gw-narrow-SECRET-77"
UPSTREAM_KEY = "sk-upstream-SECRET-4242"
MSGS = [{"role": "user", "content": "replayed"}]


def _config(folder: Path, upstream: str) -> Path:
    providers = sorted(
        {_adapter(load_case(p)).id for p in CASES} | {"openai", "anthropic", "gemini", "ollama"}
    )
    lines = [
        "config_version: 1",
        "defaults:",
        "  max_retries: 0",
        "  breaker_threshold: 1000",
        "providers:",
    ]
    for p in providers:
        lines += [f"  {p}:", f"    base_url: {upstream}", "    api_key_env: GW_UPSTREAM_KEY"]
    lines += [
        "models:",
        "  - {name: echo, model: fake/echo}",
        "  - {name: lorem, model: fake/lorem}",
        "  - {name: mini, model: openai/gpt-4o-mini}",
        f"  - {{name: compat, model: openai-compatible/gpt-4o-mini, base_url: '{upstream}',"
        " api_key_env: GW_UPSTREAM_KEY}",
        "gateway:",
        "  log: {path: spend.jsonl}",
        "  max_body_bytes: 100000",
        "  keys:",
        f"    - {{name: team-a, hash: '{hash_key(KEY)}'}}",
        f"    - {{name: limited, hash: '{hash_key(LIMITED)}', rpm: 3}}",
        f"    - {{name: narrow, hash: '{hash_key(NARROW)}', models: [echo, 'gemini/*']}}",
    ]
    path = folder / "router.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def upstream() -> Iterator[Loopback]:
    with Loopback() as server:
        yield server


@pytest.fixture(scope="module")
def served(upstream: Loopback, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("gateway")
    config = _config(folder, upstream.url)
    with gateway(config, env={"GW_UPSTREAM_KEY": UPSTREAM_KEY}) as url:
        try:
            yield url, folder
        finally:
            for client in _CLIENTS.values():
                client.close()
            _CLIENTS.clear()


@pytest.fixture
def url(served: tuple[str, Path], upstream: Loopback) -> str:
    upstream.replies.clear()
    upstream.seen.clear()
    return served[0]


_CLIENTS: dict[tuple[str, str], openai.OpenAI] = {}


def _sdk(url: str, key: str = KEY) -> openai.OpenAI:
    """One SDK client per gateway and key, closed with the gateway (no socket left open)."""
    client = _CLIENTS.get((url, key))
    if client is None:
        client = _CLIENTS[(url, key)] = openai.OpenAI(
            base_url=url + "/v1", api_key=key, max_retries=0, timeout=20
        )
    return client


def _sse(body: bytes) -> list[dict[str, Any]]:
    out = []
    for block in body.decode().split("\n\n"):
        if block.startswith("data: ") and block != "data: [DONE]":
            out.append(json.loads(block[6:]))
    return out


def _post(url: str, body: Any, key: str = KEY, **kw: Any) -> httpx.Response:
    return httpx.post(
        url + "/v1/chat/completions", json=body, headers={"authorization": f"Bearer {key}"}, timeout=20, **kw
    )


# ----------------------------------------------------------------------------- every recording


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}-{p.stem}" for p in CASES])
def test_every_recording_through_the_gateway(path: Path, url: str, upstream: Loopback) -> None:
    case = load_case(path)
    mod = _adapter(case)
    stream = bool(case["stream"])
    model = f"{mod.id}/{_model(case)}"
    upstream.replies.append(_reply(case))
    body: dict[str, Any] = {"model": model, "messages": MSGS}
    if stream:
        body |= {"stream": True, "stream_options": {"include_usage": True}}
    resp = _post(url, body)
    status = case["response"]["status"]
    # The provider's key went upstream from the server, never the caller's virtual key.
    assert upstream.seen and KEY not in json.dumps(upstream.seen[-1].headers)
    assert float(resp.headers["x-router-overhead-ms"]) >= 0
    # Every spec that serves Chat Completions natively (passthrough: true) gets the request as it
    # came and answers the caller byte for byte; every other is translated.
    passed = resp.headers.get("x-router-passthrough") == "true"
    assert passed == (mod.config.passthrough and mod.config.protocol == "openai-chat")
    if passed:
        sent = json.loads(upstream.seen[-1].body)
        assert sent == {**body, "model": _model(case)}  # only the model renamed
        assert resp.status_code == status
        assert resp.content == b"".join(_reply(case).pieces)  # the upstream's bytes, untouched
        assert resp.headers["content-type"] == _reply(case).headers.get(
            "content-type", resp.headers["content-type"]
        )
        return
    if status >= 400:
        expected = from_router_error(
            mod.map_error(status, case["response"]["headers"], _reply(case).pieces[0])
        )
        assert resp.status_code == expected.status
        error = resp.json()["error"]
        assert error["code"] == expected.kind and error["message"]
        assert error["upstream"]["status"] == status  # the upstream detail is kept
        assert UPSTREAM_KEY not in resp.text
        return
    if stream:
        try:
            direct = list(mod.parse_stream_bytes([case["response"]["raw_stream"].encode()]))
        except router.APIError as err:  # an error frame inside a 200 stream: a terminal error event
            assert resp.status_code == from_router_error(err).status or _sse(resp.content)[-1].get("error")
            return
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"].startswith("text/event-stream")
        assert resp.content.endswith(b"data: [DONE]\n\n")
        got = _sse(resp.content)
        assert [_strip(c) for c in got] == [_strip(c.to_dict()) for c in direct]
        receipt = json.loads(resp.headers["x-router-receipt"])
        assert receipt["provider"] == mod.id
        return
    assert resp.status_code == 200, resp.text
    direct_one = mod.parse_response(200, {}, case["response"]["body"])
    assert _strip(resp.json()) == _strip(direct_one.to_dict())
    # and the official SDK reads it
    openai.types.chat.ChatCompletion.model_validate(resp.json())


# ----------------------------------------------------------------------------- the official SDK


def test_sdk_plain_stream_and_models(url: str) -> None:
    client = _sdk(url)
    resp = client.chat.completions.create(model="echo", messages=[{"role": "user", "content": "Hi there"}])
    assert resp.choices[0].message.content == "Hi there"
    assert resp.usage is not None and resp.usage.total_tokens > 0
    direct = router.completion(model="fake/lorem", messages=[{"role": "user", "content": "Hi"}])
    chunks = list(
        client.chat.completions.create(
            model="lorem", messages=[{"role": "user", "content": "Hi"}], stream=True
        )
    )
    assert (
        "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        == direct.choices[0].message.content
    )
    assert all(c.usage is None for c in chunks)  # not asked for: the gateway's own usage chunk stays hidden
    with_usage = list(
        client.chat.completions.create(
            model="lorem",
            messages=[{"role": "user", "content": "Hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert with_usage[-1].usage is not None and not with_usage[-1].choices
    assert [m.id for m in client.models.list()] == ["compat", "echo", "lorem", "mini"]


def test_sdk_tools_through_a_loopback_openai(url: str, upstream: Loopback) -> None:
    case = load_case(REAL / "openai" / "parallel_tool_calls.json")
    upstream.replies.append(_reply(case))
    tools = [
        {
            "type": "function",
            "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}},
        }
    ]
    resp = _sdk(url).chat.completions.create(
        model="mini", messages=[{"role": "user", "content": "w?"}], tools=tools
    )
    calls = resp.choices[0].message.tool_calls or []
    want = case["response"]["body"]["choices"][0]["message"]["tool_calls"]
    assert [(c.id, c.function.name, c.function.arguments) for c in calls] == [
        (w["id"], w["function"]["name"], w["function"]["arguments"]) for w in want
    ]
    sent = json.loads(upstream.seen[-1].body)
    assert sent["tools"][0]["function"]["name"] == "get_weather"
    assert upstream.seen[-1].headers["authorization"] == f"Bearer {UPSTREAM_KEY}"


@pytest.mark.parametrize("model", ["mini", "compat"])
def test_sdk_errors_keep_their_class(url: str, upstream: Loopback, model: str) -> None:
    # mini: OpenAI itself, passed through (the upstream's status and body); compat: an
    # OpenAI-compatible server, translated (the status of the error's class)
    passed = model == "mini"
    upstream.replies.append(_reply(load_case(REAL / "openai" / "error_429_request_too_large_tpm.json")))
    with pytest.raises(openai.APIStatusError) as info:
        _sdk(url).chat.completions.create(model=model, messages=MSGS)
    # a request over the TPM limit by itself: not retryable, whatever the status says
    assert info.value.response.headers["x-should-retry"] == "false"
    assert info.value.status_code == (429 if passed else 413)
    assert (info.value.response.headers.get("x-router-passthrough") == "true") is passed
    upstream.replies.append(_reply(load_case(REAL / "openai" / "error_400_web_search_unsupported.json")))
    with pytest.raises(openai.BadRequestError):
        _sdk(url).chat.completions.create(model=model, messages=MSGS)
    upstream.replies.append(
        Reply.json({"error": {"message": "overloaded", "type": "server_error"}}, status=503)
    )
    with pytest.raises(openai.InternalServerError) as err:
        _sdk(url).chat.completions.create(model=model, messages=MSGS)
    assert err.value.status_code == 503


def test_a_parameter_the_target_cannot_take_is_reported(url: str) -> None:
    resp = _post(url, {"model": "echo", "messages": MSGS, "bogus": 1})
    assert resp.status_code == 400
    assert resp.json()["error"]["param"] == "bogus"


# ----------------------------------------------------------------------------- keys and limits


def test_keys(url: str) -> None:
    assert (
        httpx.post(url + "/v1/chat/completions", json={"model": "echo", "messages": MSGS}).status_code == 401
    )
    with pytest.raises(openai.AuthenticationError):
        _sdk(url, "sk-not-a-key").chat.completions.create(model="echo", messages=MSGS)
    narrow = _sdk(url, NARROW)
    assert (
        narrow.chat.completions.create(model="echo", messages=MSGS).choices[0].message.content == "replayed"
    )
    with pytest.raises(openai.PermissionDeniedError):
        narrow.chat.completions.create(model="lorem", messages=MSGS)
    assert [m.id for m in narrow.models.list()] == ["echo"]
    # the Anthropic SDK's header works too
    ok = httpx.post(
        url + "/v1/chat/completions", json={"model": "echo", "messages": MSGS}, headers={"x-api-key": KEY}
    )
    assert ok.status_code == 200


def test_rpm_limit_is_exact_and_says_when(url: str) -> None:
    client = _sdk(url, LIMITED)
    results = []
    for _ in range(5):
        try:
            client.chat.completions.create(model="echo", messages=MSGS)
            results.append("ok")
        except openai.RateLimitError as e:
            results.append("429")
            assert 1 <= int(e.response.headers["retry-after"]) <= 60
    assert results == ["ok", "ok", "ok", "429", "429"]


def test_bad_bodies(url: str) -> None:
    for body, status, param in (
        (b"{not json", 400, None),
        (b"[]", 400, None),
        (b'{"messages": []}', 400, "model"),
        (b'{"model": "echo", "messages": "hi"}', 400, "messages"),
        (b'{"model": "nope", "messages": [{"role": "user", "content": "x"}]}', 404, "model"),
        (b'{"model": "echo", "messages": [{"role":"user","content":"' + b"x" * 200_000 + b'"}]}', 413, None),
    ):
        resp = httpx.post(
            url + "/v1/chat/completions", content=body, headers={"authorization": f"Bearer {KEY}"}, timeout=20
        )
        assert resp.status_code == status, (body[:40], resp.text)
        assert resp.json()["error"]["param"] == param
    assert httpx.get(url + "/v1/nothing").status_code == 404
    assert httpx.get(url + "/v1/chat/completions").status_code == 405


def test_metrics_health_and_spend_log(served: tuple[str, Path], url: str) -> None:
    _sdk(url).chat.completions.create(model="echo", messages=[{"role": "user", "content": "count me"}])
    text = httpx.get(url + "/metrics").text
    assert 'router_requests_total{model="echo",status="200"}' in text
    assert "router_request_duration_seconds_bucket" in text
    assert 'router_tokens_total{model="echo",type="prompt"}' in text
    health = httpx.get(url + "/health").json()
    assert health["status"] == "ok" and health["state"] == "memory"
    records = [json.loads(line) for line in (served[1] / "spend.jsonl").read_text().splitlines()]
    last = [r for r in records if r["model"] == "echo" and r["key"] == "team-a"][-1]
    assert last["status"] == 200 and last["provider"] == "fake" and last["prompt_tokens"] >= 1
    assert last["latency_ms"] >= last["overhead_ms"] >= 0
    assert KEY not in (served[1] / "spend.jsonl").read_text()


# ----------------------------------------------------------------------------- Anthropic Messages inbound

ANTHROPIC_CASES = sorted(
    p for p in (REAL / "anthropic").glob("*.json") if load_case(p)["response"]["status"] == 200
)
_ANTHROPIC: dict[tuple[str, str], anthropic.Anthropic] = {}


def _claude(url: str, key: str = KEY) -> anthropic.Anthropic:
    client = _ANTHROPIC.get((url, key))
    if client is None:
        client = _ANTHROPIC[(url, key)] = anthropic.Anthropic(
            base_url=url, api_key=key, max_retries=0, timeout=20
        )
    return client


@pytest.fixture(scope="module", autouse=True)
def _close_anthropic_clients() -> Iterator[None]:
    yield
    for client in _ANTHROPIC.values():
        client.close()
    _ANTHROPIC.clear()


def _blocks(content: list[Any]) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for b in content:
        b = b if isinstance(b, dict) else b.model_dump()
        if b["type"] == "text":
            out.append(("text", b["text"]))
        elif b["type"] == "tool_use":
            out.append(("tool_use", b["id"], b["name"], b["input"]))
        elif b["type"] == "thinking":
            out.append(("thinking", b["thinking"], b["signature"]))
        else:
            out.append((b["type"],))
    return out


def test_anthropic_sdk_plain_stream_and_count(url: str) -> None:
    client = _claude(url)
    msg = client.messages.create(
        model="echo", max_tokens=50, messages=[{"role": "user", "content": "Hi there"}]
    )
    assert _blocks(msg.content) == [("text", "Hi there")]
    assert msg.stop_reason == "end_turn" and msg.usage.output_tokens > 0
    assert msg.id.startswith("msg_")
    direct = router.completion(model="fake/lorem", messages=[{"role": "user", "content": "Hi"}])
    with client.messages.stream(
        model="lorem", max_tokens=50, messages=[{"role": "user", "content": "Hi"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == direct.choices[0].message.content
    assert final.stop_reason == "end_turn" and final.usage.output_tokens == direct.usage.completion_tokens
    counted = client.messages.count_tokens(
        model="echo", messages=[{"role": "user", "content": "Hello there"}]
    )
    assert counted.input_tokens > 0


@pytest.mark.parametrize("path", ANTHROPIC_CASES, ids=[p.stem for p in ANTHROPIC_CASES])
def test_anthropic_recordings_round_trip(path: Path, url: str, upstream: Loopback) -> None:
    """Anthropic in, Anthropic upstream: the blocks, ids, tool inputs, signatures and stop reason the
    provider sent are what the caller gets, through the unified shape and back."""
    case = load_case(path)
    upstream.replies.append(_reply(case))
    client = _claude(url)
    model = f"anthropic/{_model(case)}"
    if case["stream"]:
        with client.messages.stream(model=model, max_tokens=100, messages=MSGS) as stream:
            got = stream.get_final_message()
        direct = router.accumulate(
            list(_adapter(case).parse_stream_bytes([case["response"]["raw_stream"].encode()]))
        )
        want_text = direct.choices[0].message.content
        assert "".join(b.text for b in got.content if b.type == "text") == want_text
        assert got.stop_reason == direct.choices[0].native_finish_reason
        return
    got = client.messages.create(model=model, max_tokens=100, messages=MSGS)
    body = case["response"]["body"]
    assert _blocks(got.content) == _blocks(body["content"])
    assert got.stop_reason == body["stop_reason"]
    assert got.usage.output_tokens == body["usage"]["output_tokens"]


def test_anthropic_sdk_reaches_other_protocols(url: str, upstream: Loopback) -> None:
    # an OpenAI upstream's parallel tool calls arrive as tool_use blocks with parsed inputs
    case = load_case(REAL / "openai" / "parallel_tool_calls.json")
    upstream.replies.append(_reply(case))
    msg = _claude(url).messages.create(
        model="mini",
        max_tokens=100,
        messages=[{"role": "user", "content": "w?"}],
        tools=[{"name": "get_weather", "input_schema": {"type": "object", "properties": {}}}],
        tool_choice={"type": "any"},
    )
    want = case["response"]["body"]["choices"][0]["message"]["tool_calls"]
    assert [(b.id, b.name, b.input) for b in msg.content if b.type == "tool_use"] == [
        (w["id"], w["function"]["name"], json.loads(w["function"]["arguments"])) for w in want
    ]
    assert msg.stop_reason == "tool_use"
    sent = json.loads(upstream.seen[-1].body)
    assert sent["tool_choice"] == "required" and sent["tools"][0]["function"]["name"] == "get_weather"
    # a Gemini stream with thinking: thinking then text blocks, in Anthropic's events
    case = load_case(REAL / "gemini" / "stream_sse_thinking.json")
    upstream.replies.append(_reply(case))
    with _claude(url).messages.stream(
        model="gemini/gemini-2.5-flash",
        max_tokens=100,
        messages=MSGS,
        thinking={"type": "enabled", "budget_tokens": 2048},
    ) as stream:
        final = stream.get_final_message()
        inbound = stream.response.headers.get("x-router-inbound")
    direct = router.accumulate(
        list(_adapter(case).parse_stream_bytes([case["response"]["raw_stream"].encode()]))
    )
    kinds = [b.type for b in final.content]
    assert kinds[0] == "thinking" and "text" in kinds
    assert final.content[0].thinking == direct.choices[0].message.reasoning_content
    assert json.loads(inbound or "{}") == {"approximated": {"thinking.budget_tokens": "reasoning_effort=low"}}
    # a tool result turn goes upstream as a tool message
    upstream.replies.append(_reply(load_case(REAL / "openai" / "tool_result_followup.json")))
    _claude(url).messages.create(
        model="mini",
        max_tokens=100,
        messages=[
            {"role": "user", "content": "w?"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t1", "name": "get_weather", "input": {"c": 1}}],
            },
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "sunny"}]},
        ],
    )
    sent = json.loads(upstream.seen[-1].body)
    assert sent["messages"][1]["tool_calls"][0]["function"] == {
        "name": "get_weather",
        "arguments": '{"c": 1}',
    }
    assert sent["messages"][2] == {"role": "tool", "tool_call_id": "t1", "content": "sunny"}


def test_anthropic_sdk_errors(url: str, upstream: Loopback) -> None:
    with pytest.raises(anthropic.AuthenticationError):
        _claude(url, "sk-wrong").messages.create(model="echo", max_tokens=5, messages=MSGS)
    upstream.replies.append(_reply(load_case(REAL / "anthropic" / "error_400_invalid_request.json")))
    with pytest.raises(anthropic.BadRequestError) as info:
        _claude(url).messages.create(model="anthropic/claude-sonnet-4-5", max_tokens=5, messages=MSGS)
    assert info.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
    upstream.replies.append(_reply(load_case(REAL / "gemini" / "error_503_unavailable.json")))
    with pytest.raises(anthropic.InternalServerError) as err:
        _claude(url).messages.create(model="gemini/gemini-2.5-flash", max_tokens=5, messages=MSGS)
    assert err.value.status_code == 503
    assert err.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]
    with pytest.raises(anthropic.BadRequestError):
        _claude(url).messages.create(model="echo", max_tokens=5, messages=MSGS, service_tier="auto")


# ----------------------------------------------------------------------------- OpenAI Responses inbound

OK_CASES = [p for p in CASES if load_case(p)["response"]["status"] == 200]


def _events(body: bytes) -> list[dict[str, Any]]:
    out = []
    for block in body.decode().split("\n\n"):
        lines = block.split("\n")
        if len(lines) == 2 and lines[0].startswith("event: ") and lines[1].startswith("data: "):
            data = json.loads(lines[1][6:])
            assert data["type"] == lines[0][7:]
            out.append(data)
    return out


@pytest.mark.parametrize("path", OK_CASES, ids=[f"{p.parent.name}-{p.stem}" for p in OK_CASES])
def test_every_recording_through_responses(path: Path, url: str, upstream: Loopback) -> None:
    """Any protocol's answer, as a Response: the text and the function calls the library parses, in
    output items the official SDK validates; a stream's events in order, ending in its final Response."""
    case = load_case(path)
    mod = _adapter(case)
    upstream.replies.append(_reply(case))
    body: dict[str, Any] = {"model": f"{mod.id}/{_model(case)}", "input": "replayed"}
    if case["stream"]:
        try:
            direct = router.accumulate(
                list(mod.parse_stream_bytes([case["response"]["raw_stream"].encode()]))
            )
        except router.APIError:
            return  # an error frame inside a 200 stream: covered by test_every_recording_through_the_gateway
        resp = httpx.post(
            url + "/v1/responses", json={**body, "stream": True}, headers={"x-api-key": KEY}, timeout=20
        )
        events = _events(resp.content)
        assert [e["sequence_number"] for e in events] == list(range(len(events)))
        assert events[0]["type"] == "response.created"
        assert events[-1]["type"] in ("response.completed", "response.incomplete")
        final = openai.types.responses.Response.model_validate(events[-1]["response"])
        deltas = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
        assert deltas == (direct.choices[0].message.content or "")
    else:
        direct = mod.parse_response(200, {}, case["response"]["body"])
        resp = httpx.post(url + "/v1/responses", json=body, headers={"x-api-key": KEY}, timeout=20)
        assert resp.status_code == 200, resp.text
        final = openai.types.responses.Response.model_validate(resp.json())
    m = direct.choices[0].message
    assert final.output_text == (m.content or "")
    calls = [(o.call_id, o.name, o.arguments) for o in final.output if o.type == "function_call"]
    assert calls == [(t.id, t.function.name, t.function.arguments) for t in m.tool_calls or ()]
    if direct.usage is not None:
        assert final.usage is not None and final.usage.output_tokens == direct.usage.completion_tokens


def test_responses_sdk(url: str, upstream: Loopback) -> None:
    client = _sdk(url)
    resp = client.responses.create(model="echo", input="Hi there", instructions="be brief")
    assert resp.output_text == "Hi there" and resp.status == "completed"
    direct = router.completion(model="fake/lorem", messages=[{"role": "user", "content": "Hi"}])
    with client.responses.stream(model="lorem", input="Hi") as stream:
        text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        final = stream.get_final_response()
    assert text == direct.choices[0].message.content == final.output_text
    # a tool turn: function_call and function_call_output items go upstream as tool calls and results
    upstream.replies.append(_reply(load_case(REAL / "openai" / "tool_result_followup.json")))
    client.responses.create(
        model="mini",
        input=[
            {"role": "user", "content": "w?"},
            {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": '{"c":1}'},
            {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
        ],
        tools=[
            {"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}}
        ],
        max_output_tokens=50,
    )
    sent = json.loads(upstream.seen[-1].body)
    assert sent["messages"][1]["tool_calls"][0]["function"] == {"name": "get_weather", "arguments": '{"c":1}'}
    assert sent["messages"][2] == {"role": "tool", "tool_call_id": "c1", "content": "sunny"}
    assert sent["tools"][0]["function"]["name"] == "get_weather" and 50 in (
        sent.get("max_tokens"),
        sent.get("max_completion_tokens"),
    )
    # server-side state is refused, naming the field
    with pytest.raises(openai.BadRequestError) as info:
        client.responses.create(model="echo", input="Hi", previous_response_id="resp_1")
    assert "stateless" in str(info.value)


@pytest.mark.parametrize("model", ["mini", "compat"])  # passed through, translated
def test_a_cookie_set_by_an_upstream_never_rides_along_a_later_call(
    url: str, upstream: Loopback, model: str
) -> None:
    answer = load_case(REAL / "openai" / "json_object_response_format.json")
    first = _reply(answer)
    first.headers["set-cookie"] = "__cf_bm=SECRET-session-of-caller-1; Path=/; HttpOnly"
    upstream.replies.extend([first, _reply(answer)])
    assert _post(url, {"model": model, "messages": MSGS}).status_code == 200
    assert _post(url, {"model": model, "messages": MSGS}).status_code == 200
    assert len(upstream.seen) == 2
    assert "cookie" not in upstream.seen[1].headers
