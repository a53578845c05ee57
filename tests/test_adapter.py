"""The typed adapter contract, the one extra_body rule, and injectable HTTP.

1. Every provider in the index has an ``Adapter`` (mypy sees the type through the registry).
2. ``extra_body`` merges the same way on every protocol: key by key, recursively; a list or a scalar
   replaces what the translation made.
3. ``http_client=`` takes the caller's own httpx client (``httpx.MockTransport`` in tests), sync, async,
   streamed and through ``Router``; the module-level pool is never used for such a call.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import ROOT
from matrix import TEST_ENV
from matrix import TEST_MODELS

import router
import router.fake
from router import _registry
from router import _transport
from router._adapter import Adapter

MSGS = [{"role": "user", "content": "Hi"}]
OPENAI_ANSWER = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-4o-mini",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}


# --------------------------------------------------------------------------- 1. the contract


@pytest.mark.parametrize("provider", _registry.provider_ids())
def test_every_provider_has_an_adapter(provider: str) -> None:
    a = _registry.adapter(provider)
    assert isinstance(a, Adapter)
    assert a.id == provider and a.name and a.protocol == a.config.protocol
    assert set(a.capabilities) == set(a.models)
    for alias, model_id in a.aliases.items():
        assert a.model(alias) is a.models[model_id]


def test_mypy_sees_the_adapter_type_through_the_registry(tmp_path: Path) -> None:
    snippet = tmp_path / "snippet.py"
    snippet.write_text(
        'from router._registry import adapter\nreveal_type(adapter("groq"))\nadapter("groq").no_such_thing\n'
    )
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\nstrict = True\n")
    command = [sys.executable, "-m", "mypy", "--config-file", str(config), "--cache-dir", str(tmp_path / "c")]
    run = subprocess.run([*command, str(snippet)], cwd=ROOT, capture_output=True, text=True, check=False)
    out = run.stdout + run.stderr
    assert 'Revealed type is "router._adapter.Adapter"' in out, out
    assert '"Adapter" has no attribute "no_such_thing"' in out, out  # a mistake across the boundary is seen


# --------------------------------------------------------------------------- 2. extra_body


# protocol -> (provider, a request whose translation makes a nested object, extra_body, expected part)
EXTRA_BODY = {
    "openai-chat": (
        "openai",
        {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "x", "schema": {"type": "object"}},
            }
        },
        {"response_format": {"json_schema": {"strict": True}}},
        {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "x", "schema": {"type": "object"}, "strict": True},
            }
        },
    ),
    "anthropic-messages": (
        "anthropic",
        {"user": "u-1"},
        {"metadata": {"tag": "t"}},
        {"metadata": {"user_id": "u-1", "tag": "t"}},
    ),
    "gemini": (
        "gemini",
        {"temperature": 0.5},
        {"generationConfig": {"seed": 7}},
        {"generationConfig": {"temperature": 0.5, "seed": 7}},
    ),
    "openai-responses": (
        "openai-responses",
        {"reasoning_effort": "low"},
        {"reasoning": {"summary": "auto"}},  # reasoning summaries are asked for this way
        {"reasoning": {"effort": "low", "summary": "auto"}},
    ),
    "ollama-chat": (
        "ollama",
        {"temperature": 0.5},
        {"options": {"num_ctx": 8192}},
        {"options": {"temperature": 0.5, "num_ctx": 8192}},
    ),
    "cohere-chat-v2": (
        "cohere",
        {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "x", "schema": {"type": "object"}},
            }
        },
        {"response_format": {"json_schema": {"required": []}}},
        {"response_format": {"type": "json_object", "json_schema": {"type": "object", "required": []}}},
    ),
}


@pytest.mark.parametrize("protocol", sorted(EXTRA_BODY))
def test_extra_body_merges_nested_values(protocol: str) -> None:
    provider, params, extra, expected = EXTRA_BODY[protocol]
    a = _registry.adapter(provider)
    assert a.protocol == protocol
    body = a.build_request(
        {"model": TEST_MODELS[provider], "messages": MSGS, **params, "extra_body": extra}, api_key="k"
    ).json
    for key, value in expected.items():
        assert body[key] == value


@pytest.mark.parametrize("provider", _registry.provider_ids())
def test_extra_body_rule_is_the_same_for_every_provider(
    provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in TEST_ENV.get(provider, {}).items():
        monkeypatch.setenv(name, value)
    a = _registry.adapter(provider)
    request = {"model": TEST_MODELS[provider], "messages": MSGS}
    plain = a.build_request(request, api_key="k").json
    extra = {"x_new": {"a": {"b": 1}}, "x_list": [1, 2]}
    body = a.build_request({**request, "extra_body": extra}, api_key="k").json
    assert body == {**plain, **extra}  # new keys are added as given
    # A list or a scalar replaces a translated value; a mapping merges into it.
    key = next(iter(plain))
    replaced = a.build_request({**request, "extra_body": {key: [0]}}, api_key="k").json
    assert replaced[key] == [0]
    again = a.build_request({**request, "extra_body": {"x_new": {"a": {"c": 2}}}}, api_key="k").json
    assert again["x_new"] == {"a": {"c": 2}}


# --------------------------------------------------------------------------- 3. injectable HTTP


@pytest.fixture
def no_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any use of the module-level pool fails the test."""

    def refuse() -> Any:
        raise AssertionError("the module-level pool was used")

    monkeypatch.setattr(_transport, "_client", refuse)
    monkeypatch.setattr(_transport, "_aclient", refuse)


def _sse(*chunks: dict[str, Any]) -> bytes:
    return b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def test_http_client_sees_the_request(no_pool: None) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=OPENAI_ANSWER)

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        resp = router.completion("openai/gpt-4o-mini", MSGS, api_key="sk-x", http_client=client)
        assert not client.is_closed  # the caller's client is theirs to close
    assert isinstance(resp, router.ChatCompletion)
    assert resp.choices[0].message.content == "Hello" and resp.usage is not None
    assert resp.cost is not None  # priced from the catalogue as on the pooled path
    (request,) = seen
    assert str(request.url) == "https://api.openai.com/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-x"
    assert json.loads(request.content) == {"model": "gpt-4o-mini", "messages": MSGS}


def test_http_client_streams_and_maps_errors(no_pool: None) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content).get("stream"):
            body = _sse(
                _chunk({"role": "assistant", "content": "He"}), _chunk({"content": "llo"}), _chunk({}, "stop")
            )
            return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)
        return httpx.Response(429, json={"error": {"message": "slow down", "type": "requests", "code": None}})

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        stream = router.completion("openai/gpt-4o-mini", MSGS, api_key="k", stream=True, http_client=client)
        assert isinstance(stream, router.Stream)
        assert router.accumulate(list(stream)).choices[0].message.content == "Hello"
        with pytest.raises(router.RateLimitError, match="slow down"):
            router.completion("openai/gpt-4o-mini", MSGS, api_key="k", max_retries=0, http_client=client)


def test_async_http_client(no_pool: None) -> None:
    seen: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json=OPENAI_ANSWER)

    async def main() -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await router.acompletion("openai/gpt-4o-mini", MSGS, api_key="k", http_client=client)

    resp = asyncio.run(main())
    assert isinstance(resp, router.ChatCompletion)
    assert seen == ["https://api.openai.com/v1/chat/completions"]


def test_router_takes_http_clients(no_pool: None) -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(json.loads(request.content)["model"])
        return httpx.Response(200, json=OPENAI_ANSWER)

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        r = router.Router(
            [router.Deployment("smart", "openai/gpt-4o-mini", api_key_env=None)], http_client=client
        )
        r.completion("smart", MSGS, api_key="k")
    assert calls == ["gpt-4o-mini"]


def test_fake_provider_is_an_ordinary_transport(no_pool: None) -> None:
    with httpx.Client(mounts={"fake://": router.fake.FakeTransport()}) as client:
        resp = router.completion("fake/echo", MSGS, http_client=client)
    assert isinstance(resp, router.ChatCompletion)
    assert resp.choices[0].message.content == "Hi"
