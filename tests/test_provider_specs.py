"""The OpenAI-compatible provider specs (specs/<id>.yaml that extend openai).

1. Translation snapshots of these providers are in the one matrix, tests/test_translation.py
   (models, env: tests/matrix.py); here, what is particular to them: key and base URL env vars,
   model aliases, per-model parameter rules.
2. Every real recording of these providers (tests/fixtures/real) through its own adapter: the
   unified answer (checked against the official openai types, with consistent usage totals) or the
   typed error.
3. openai-compatible takes its URL from OPENAI_COMPATIBLE_BASE_URL and names it when it is missing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import error_record
from conftest import load_case
from conftest import real_cases
from matrix import TEST_ENV
from matrix import TEST_MODELS
from openai.types.chat import ChatCompletion as OpenAIChatCompletion
from openai.types.chat import ChatCompletionChunk as OpenAIChatCompletionChunk

import router
from router import Receipt
from router import _registry

# The OpenAI-compatible providers tested here, with their matrix models (tests/matrix.py).
MODELS = {
    p: TEST_MODELS[p]
    for p in (
        "cerebras", "cohere-compat", "deepseek", "fireworks", "groq", "huggingface", "llamacpp", "lmstudio",
        "mistral", "openai-compatible", "openrouter", "perplexity", "together", "vllm", "xai",
    )
}  # fmt: skip
KEY = "sk-test-KEY"
COMPATIBLE_URL = TEST_ENV["openai-compatible"]["OPENAI_COMPATIBLE_BASE_URL"]

PROVIDERS = ("xai", "groq", "deepseek", "mistral", "openrouter", "perplexity", "cohere")
RECORDED = real_cases(*PROVIDERS)
OK = [c for c in RECORDED if load_case(c)["response"]["status"] < 400]
ERRORS = [c for c in RECORDED if load_case(c)["response"]["status"] >= 400]


def _module(provider: str) -> Any:
    return _registry.adapter(provider)


def _ids(paths: list[Path]) -> list[str]:
    return [f"{p.parent.name}-{p.stem}" for p in paths]


def _body(case: dict[str, Any]) -> Any:
    r = case["response"]
    return r["body"] if r.get("body") is not None else r.get("raw_body")


def _error(err: router.APIError) -> dict[str, Any]:
    return error_record(err)


def _assert_usage_adds_up(usage: Any) -> None:
    assert usage is not None
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.completion_tokens >= usage.completion_tokens_details.reasoning_tokens
    assert usage.prompt_tokens >= usage.prompt_tokens_details.cached_tokens


# --------------------------------------------------------------------------- 1. these providers


def test_every_new_provider_has_a_model() -> None:
    import router.generated as generated

    ours = {p for p, m in generated.PROTOCOLS.items() if m == "openai-chat"} - {"openai", "fake"}
    assert set(MODELS) <= ours
    for provider, model in MODELS.items():
        catalogue = _module(provider).models
        if catalogue:  # local servers and the generic spec have none
            assert model in catalogue, provider


def test_models_are_routed_to_their_provider() -> None:
    mod, model = router.resolve("deepseek/deepseek-v4-flash")
    assert mod.id == "deepseek"
    assert (
        mod.build_request({"model": model, "messages": [{"role": "user", "content": "x"}]}, api_key=KEY).json[
            "model"
        ]
        == "deepseek-v4-flash"
    )  # the legacy name is an API alias: the API accepts it, so it goes out as the caller named it
    assert mod.model("deepseek-v4-flash").id == "deepseek-flash"  # priced as the model it names
    mod, model = router.resolve("groq/openai/gpt-oss-120b")
    assert (mod.id, model) == ("groq", "openai/gpt-oss-120b")


def test_no_inherited_openai_base_url_or_key(monkeypatch: pytest.MonkeyPatch) -> None:
    # A child of openai must not send requests to OPENAI_BASE_URL, nor an OpenAI key to another host.
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-SHOULD-NOT-LEAK")
    monkeypatch.setenv("OPENAI_COMPATIBLE_BASE_URL", COMPATIBLE_URL)
    msgs = [{"role": "user", "content": "x"}]
    for provider, model in MODELS.items():
        mod = _module(provider)
        assert "OPENAI_API_KEY" not in mod.config.auth_env, provider
        if mod.config.auth_optional:
            http = mod.build_request({"model": model, "messages": msgs})
            assert "Authorization" not in http.headers, provider
        else:
            with pytest.raises(router.ConfigError, match=mod.config.auth_env[0]):
                mod.build_request({"model": model, "messages": msgs})
        http = mod.build_request({"model": model, "messages": msgs}, api_key=KEY)
        assert not http.url.startswith("http://127.0.0.1:9"), provider


def test_sdk_base_url_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    from router.generated.cerebras import ADAPTER as cerebras
    from router.generated.groq import ADAPTER as groq
    from router.generated.together import ADAPTER as together
    from router.generated.vllm import ADAPTER as vllm

    msgs = [{"role": "user", "content": "x"}]
    # Groq's and Cerebras's SDKs hold the host only and add the API path themselves.
    monkeypatch.setenv("GROQ_BASE_URL", "https://groq.example.test")
    monkeypatch.setenv("CEREBRAS_BASE_URL", "https://cerebras.example.test")
    monkeypatch.setenv("TOGETHER_BASE_URL", "https://together.example.test/v1")
    monkeypatch.setenv("VLLM_BASE_URL", "http://gpu-box:8000/v1")
    monkeypatch.setenv("VLLM_API_KEY", KEY)
    assert groq.build_request({"model": "m", "messages": msgs}, api_key=KEY).url == (
        "https://groq.example.test/openai/v1/chat/completions"
    )
    assert cerebras.build_request({"model": "m", "messages": msgs}, api_key=KEY).url == (
        "https://cerebras.example.test/v1/chat/completions"
    )
    assert together.build_request({"model": "m", "messages": msgs}, api_key=KEY).url == (
        "https://together.example.test/v1/chat/completions"
    )
    http = vllm.build_request({"model": "m", "messages": msgs})
    assert http.url == "http://gpu-box:8000/v1/chat/completions"
    assert http.headers["Authorization"] == f"Bearer {KEY}"


def test_parameter_rules_per_model_family() -> None:
    from router.generated.xai import ADAPTER as xai

    req = {
        "messages": [{"role": "user", "content": "x"}],
        "presence_penalty": 0.1,
        "stop": ["END"],
        "reasoning_effort": "low",
    }
    reasoning = Receipt("xai", "grok-4.20-0309-reasoning")
    xai.build_request({**req, "model": "grok-4.20-0309-reasoning"}, api_key=KEY, receipt=reasoning)
    assert sorted(reasoning.dropped) == ["presence_penalty", "reasoning_effort", "stop"]
    plain = Receipt("xai", "grok-4.20-0309-non-reasoning")
    http = xai.build_request({**req, "model": "grok-4.20-0309-non-reasoning"}, api_key=KEY, receipt=plain)
    assert plain.dropped == ["reasoning_effort"]
    assert http.json["stop"] == ["END"]
    with pytest.raises(router.UnsupportedParamsError, match="presence_penalty"):
        xai.build_request({**req, "model": "grok-4.3"}, api_key=KEY, strict=True)


def test_groq_rejects_more_than_one_choice() -> None:
    from router.generated.groq import ADAPTER as groq

    msgs = [{"role": "user", "content": "x"}]
    assert groq.build_request({"model": "m", "messages": msgs, "n": 1}, api_key=KEY).json["n"] == 1
    with pytest.raises(router.UnsupportedParamsError, match="n=2"):
        groq.build_request({"model": "m", "messages": msgs, "n": 2}, api_key=KEY)


def test_deepseek_sends_reasoning_back_and_maps_effort() -> None:
    from router.generated.deepseek import ADAPTER as deepseek

    turn = {"role": "assistant", "content": None, "reasoning_content": "Look it up.",
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}  # fmt: skip
    msgs = [
        {"role": "user", "content": "x"},
        turn,
        {"role": "tool", "tool_call_id": "call_1", "content": "1"},
    ]
    http = deepseek.build_request(
        {"model": "deepseek-flash", "messages": msgs, "reasoning_effort": "none"}, api_key=KEY
    )
    assert http.json["messages"][1]["reasoning_content"] == "Look it up."
    assert http.json["thinking"] == {"type": "disabled"}
    assert "reasoning_effort" not in http.json


# --------------------------------------------------------------------------- 2. recorded traffic


@pytest.mark.parametrize("path", OK, ids=_ids(OK))
def test_recorded_answer(path: Path, snapshot_json: Any, fixed_clock: int) -> None:
    case = load_case(path)
    mod = _module(case["provider"])
    resp = case["response"]
    if case["stream"]:
        chunks: list[Any] = []
        try:
            for chunk in mod.parse_stream_bytes([resp["raw_stream"].encode()]):
                chunks.append(chunk)
        except router.APIError as err:  # an error frame inside a 200 stream
            assert {"chunks_before_error": len(chunks), "error": _error(err)} == snapshot_json
            return
        for c in chunks:
            OpenAIChatCompletionChunk.model_validate(c.to_dict())
            if c.usage is not None:
                _assert_usage_adds_up(c.usage)
        assert chunks[0].choices[0].delta.role == "assistant"
        assert any(c.choices and c.choices[0].finish_reason for c in chunks)
        result = router.accumulate(chunks)
        out = {"chunks": len(chunks), "first": chunks[0].to_dict(), "last": chunks[-1].to_dict()}
    else:
        result = mod.parse_response(resp["status"], resp["headers"], _body(case))
        out = {}
    d = result.to_dict()
    OpenAIChatCompletion.model_validate(d)
    choice = result.choices[0]
    assert choice.native_finish_reason is not None
    assert choice.finish_reason in ("stop", "length", "tool_calls", "content_filter")
    _assert_usage_adds_up(result.usage)
    assert {**out, "result": d} == snapshot_json


def test_xai_usage_counts_reasoning_in_completion_tokens() -> None:
    # Recorded: prompt 137, completion 1, reasoning 116, total 254 (xAI leaves reasoning out of
    # completion_tokens); the unified figures count it, as OpenAI's do.
    from router.generated.xai import ADAPTER as xai

    case = load_case(next(p for p in RECORDED if p.name == "plain_basic.json" and p.parent.name == "xai"))
    u = xai.parse_response(200, {}, case["response"]["body"]).usage
    assert u is not None
    assert (u.prompt_tokens, u.completion_tokens, u.total_tokens) == (137, 117, 254)
    assert u.completion_tokens_details.reasoning_tokens == 116
    assert u.prompt_tokens_details.cached_tokens == 128


def test_deepseek_cached_tokens_come_from_prompt_cache_hit_tokens() -> None:
    from router.generated.deepseek import ADAPTER as deepseek

    body = {"id": "x", "model": "deepseek-flash", "created": 1,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 5, "total_tokens": 105,
                      "prompt_cache_hit_tokens": 64, "prompt_cache_miss_tokens": 36}}  # fmt: skip
    u = deepseek.parse_response(200, {}, body).usage
    assert u is not None and u.prompt_tokens_details.cached_tokens == 64


def test_openrouter_reports_its_cost() -> None:
    from router.generated.openrouter import ADAPTER as openrouter

    case = load_case(
        next(p for p in RECORDED if p.name == "plain_basic.json" and p.parent.name == "openrouter")
    )
    assert openrouter.parse_response(200, {}, case["response"]["body"]).cost == pytest.approx(8.1e-05)


@pytest.mark.parametrize("path", ERRORS, ids=_ids(ERRORS))
def test_recorded_error(path: Path, snapshot_json: Any) -> None:
    case = load_case(path)
    mod = _module(case["provider"])
    resp = case["response"]
    err = mod.map_error(resp["status"], resp["headers"], _body(case))
    with pytest.raises(router.APIError) as info:
        mod.parse_response(resp["status"], resp["headers"], _body(case))
    assert type(info.value) is type(err)
    assert err.provider == case["provider"]
    assert err.status == resp["status"]
    assert _error(err) == snapshot_json


@pytest.mark.parametrize(
    ("provider", "status", "body", "cls"),
    [
        ("llamacpp", 400, {"error": {"code": 400, "type": "exceed_context_size_error",
                                     "message": "request (9412 tokens) exceeds the available context size (8192 tokens)"}},
         router.ContextWindowExceededError),
        ("vllm", 400, {"error": {"code": 400, "type": "BadRequestError",
                                 "message": "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens"}},
         router.ContextWindowExceededError),
        ("xai", 400, {"code": "Client specified an invalid argument", "error": "Incorrect API key provided: xa***"},
         router.AuthenticationError),
        ("groq", 498, {"error": {"message": "Flex tier capacity exceeded", "type": "capacity_exceeded"}},
         router.ServiceUnavailableError),
        ("deepseek", 402, {"error": {"message": "Insufficient Balance", "type": "unknown_error"}}, router.PermissionDeniedError),
        ("deepseek", 503, {"error": {"message": "Server overloaded", "type": "unknown_error"}}, router.ServiceUnavailableError),
        ("openrouter", 402, {"error": {"code": 402, "message": "Insufficient credits"}}, router.PermissionDeniedError),
    ],
    ids=["llamacpp-context", "vllm-context", "xai-bad-key", "groq-498", "deepseek-402", "deepseek-503", "openrouter-402"],
)  # fmt: skip
def test_documented_errors(provider: str, status: int, body: Any, cls: type[router.APIError]) -> None:
    err = _module(provider).map_error(status, {}, json.dumps(body))
    assert isinstance(err, cls)
    assert err.status == status


# --------------------------------------------------------------------------- 3. openai-compatible


def test_openai_compatible_needs_its_base_url() -> None:
    from router.generated.openai_compatible import ADAPTER as compat

    with pytest.raises(router.ConfigError, match="OPENAI_COMPATIBLE_BASE_URL"):
        compat.build_request({"model": "m", "messages": [{"role": "user", "content": "x"}]})


def test_openai_compatible_uses_its_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    from router.generated.openai_compatible import ADAPTER as compat

    monkeypatch.setenv("OPENAI_COMPATIBLE_BASE_URL", "http://127.0.0.1:4000/v1/")
    http = compat.build_request({"model": "m", "messages": [{"role": "user", "content": "x"}]})
    assert http.url == "http://127.0.0.1:4000/v1/chat/completions"
    assert "Authorization" not in http.headers  # the key is optional
    monkeypatch.setenv("OPENAI_COMPATIBLE_API_KEY", KEY)
    http = compat.build_request({"model": "m", "messages": [{"role": "user", "content": "x"}]})
    assert http.headers["Authorization"] == f"Bearer {KEY}"
