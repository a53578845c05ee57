"""Spec-language rules applied at request time, shown on real specs: per-model reasoning tables,
limit policies, reasoning budgets and drops."""

from __future__ import annotations

from typing import Any

import pytest

import router
from router import _registry

MSGS = [{"role": "user", "content": "x"}]


def _build(provider: str, model: str, **params: Any) -> tuple[dict[str, Any], router.Receipt]:

    mod = _registry.adapter(provider)
    receipt = router.Receipt(provider, model)
    http = mod.build_request({"model": model, "messages": MSGS, **params}, api_key="k", receipt=receipt)
    return http.json, receipt


@pytest.mark.parametrize(
    ("model", "effort", "config"),
    [
        ("gemini-2.5-flash", "medium", {"thinkingBudget": 8192, "includeThoughts": True}),
        ("gemini-3-flash-preview", "medium", {"thinkingLevel": "medium", "includeThoughts": True}),
        ("gemini-3-flash-preview", "none", {"thinkingLevel": "minimal"}),
        ("gemini-3.1-pro-preview", "medium", {"thinkingLevel": "high", "includeThoughts": True}),
    ],
)
def test_model_family_reasoning_tables(model: str, effort: str, config: dict[str, Any]) -> None:
    body, receipt = _build("gemini", model, reasoning_effort=effort)
    assert body["generationConfig"]["thinkingConfig"] == config
    assert receipt.dropped == []


def test_a_level_a_family_lacks_is_dropped_or_strict_error() -> None:
    body, receipt = _build("gemini", "gemini-3.1-pro-preview", reasoning_effort="none")
    assert "generationConfig" not in body and receipt.dropped == ["reasoning_effort"]
    from router.generated.gemini import ADAPTER as gemini

    with pytest.raises(router.UnsupportedParamsError, match="reasoning_effort='none'"):
        gemini.build_request(
            {"model": "gemini-3.1-pro-preview", "messages": MSGS, "reasoning_effort": "none"},
            api_key="k",
            strict=True,
        )


def test_bad_effort_level_is_a_typed_error() -> None:
    with pytest.raises(router.BadRequestError, match="not a level"):
        _build("anthropic", "claude-haiku-4-5", reasoning_effort="extreme")


def test_thinking_budget_raises_the_output_limit_and_drops_sampling() -> None:
    body, receipt = _build(
        "anthropic", "claude-haiku-4-5", reasoning_effort="low", max_tokens=500, temperature=0.3
    )
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert body["max_tokens"] == 2548 and receipt.clamped == {"max_tokens": {"from": 500, "to": 2548}}
    assert "temperature" not in body and receipt.dropped == ["temperature"]


def test_no_output_limit_is_invented() -> None:
    body, receipt = _build("gemini", "gemini-2.5-flash", reasoning_effort="low")
    assert "maxOutputTokens" not in body["generationConfig"] and receipt.clamped == {}


@pytest.mark.parametrize(
    ("provider", "model", "params", "outcome"),
    [
        (
            "anthropic",
            "claude-haiku-4-5",
            {"temperature": 1.5},
            ("clamped", {"temperature": {"from": 1.5, "to": 1}}),
        ),
        ("groq", "llama-3.1-8b-instant", {"n": 2}, ("error", "outside groq's range")),
    ],
)
def test_limit_policies(provider: str, model: str, params: dict[str, Any], outcome: tuple[str, Any]) -> None:
    kind, expected = outcome
    if kind == "error":
        with pytest.raises(router.UnsupportedParamsError, match=expected):
            _build(provider, model, **params)
    else:
        _, receipt = _build(provider, model, **params)
        assert receipt.clamped == expected


def test_newer_claude_models_drop_sampling_parameters() -> None:
    body, receipt = _build("anthropic", "claude-opus-5", temperature=0.2, top_p=0.9)
    assert "temperature" not in body and "top_p" not in body
    assert sorted(receipt.dropped) == ["temperature", "top_p"]


def test_error_finish_reasons_raise_with_the_providers_detail() -> None:
    import json

    from router.generated.mistral import ADAPTER as mistral
    from router.generated.openrouter import ADAPTER as openrouter

    body = {"id": "x", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "par"}, "finish_reason": "error"}]}  # fmt: skip
    with pytest.raises(router.InternalServerError, match="finish_reason 'error'"):
        mistral.parse_response(200, {}, body)
    chunks = [
        {"id": "g", "object": "chat.completion.chunk", "created": 1, "model": "m",
         "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Par"}, "finish_reason": None}]},
        {"id": "g", "object": "chat.completion.chunk", "created": 1, "model": "m",
         "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error",
                      "error": {"code": 502, "message": "Upstream provider went away"}}]},
    ]  # fmt: skip
    raw = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks).encode()
    received = []
    with pytest.raises(router.InternalServerError, match="Upstream provider went away") as info:
        for chunk in openrouter.parse_stream_bytes([raw]):
            received.append(chunk)
    assert len(received) == 1 and info.value.native_type == "error"
