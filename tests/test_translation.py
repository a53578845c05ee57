"""Translation snapshots: every provider x every canonical request -> the exact HTTP request.

The API key is a known test value; the snapshot must show it masked, never in clear.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import canonical_cases, load_case

from router import Receipt, _registry

# provider -> the model each canonical case is sent to
MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5", "fake": "echo"}
KEY = "sk-test-DO-NOT-LEAK-1234"
PAIRS = [(p, c) for p in sorted(MODELS) for c in canonical_cases()]


def _translate(provider: str, case: Path) -> dict[str, Any]:
    mod = _registry.adapter(provider)
    request = dict(load_case(case)["request"])
    request["model"] = MODELS[provider]
    receipt = Receipt(provider, MODELS[provider])
    http = mod.build_request(request, api_key=KEY, receipt=receipt)
    return {"request": http.redacted(), "stream": http.stream, "receipt": receipt.to_dict()}


@pytest.mark.parametrize(("provider", "case"), PAIRS, ids=[f"{p}-{c.stem}" for p, c in PAIRS])
def test_translation(provider: str, case: Path, snapshot_json: Any) -> None:
    out = _translate(provider, case)
    assert KEY not in json.dumps(out)
    assert out == snapshot_json


def test_key_is_sent_but_never_shown() -> None:
    from generated.anthropic import ADAPTER as anthropic
    from generated.openai import ADAPTER as openai

    a = anthropic.build_request({"model": "m", "messages": [{"role": "user", "content": "x"}]}, api_key=KEY)
    o = openai.build_request({"model": "m", "messages": [{"role": "user", "content": "x"}]}, api_key=KEY)
    assert a.headers["x-api-key"] == KEY
    assert o.headers["Authorization"] == f"Bearer {KEY}"
    for req in (a, o):
        assert KEY not in repr(req)
        assert KEY not in json.dumps(req.redacted())


def test_strict_mode_raises_instead_of_dropping() -> None:
    from generated.anthropic import ADAPTER as anthropic
    from router import UnsupportedParamsError

    req = {"model": "m", "messages": [{"role": "user", "content": "x"}], "seed": 1}
    receipt = Receipt("anthropic", "m")
    anthropic.build_request(req, api_key=KEY, receipt=receipt)
    assert receipt.dropped == ["seed"]
    with pytest.raises(UnsupportedParamsError, match="seed"):
        anthropic.build_request(req, api_key=KEY, strict=True)


def test_unknown_parameter_is_a_typed_error_with_a_suggestion() -> None:
    from generated.openai import ADAPTER as openai
    from router import UnsupportedParamsError

    with pytest.raises(UnsupportedParamsError, match="did you mean 'temperature'"):
        openai.build_request(
            {"model": "m", "messages": [{"role": "user", "content": "x"}], "temprature": 1}, api_key=KEY
        )


def test_reasoning_model_override_renames_and_drops() -> None:
    from generated.openai import ADAPTER as openai

    receipt = Receipt("openai", "o3-mini")
    http = openai.build_request(
        {
            "model": "o3-mini",
            "messages": [{"role": "user", "content": "x"}],
            "max_tokens": 5,
            "temperature": 0.2,
        },
        api_key=KEY,
        receipt=receipt,
    )
    assert http.json["max_completion_tokens"] == 5
    assert "max_tokens" not in http.json and "temperature" not in http.json
    assert receipt.dropped == ["temperature"]
    assert receipt.renamed == {"max_tokens": "max_completion_tokens"}


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({"model": "m", "messages": []}, "non-empty list"),
        ({"model": "m"}, "non-empty list"),
        ({"model": "", "messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": "m", "messages": [{"role": "wizard", "content": "x"}]}, "role"),
    ],
    ids=["empty-messages", "no-messages", "empty-model", "unknown-role"],
)
def test_bad_requests_fail_before_the_network(request_: dict[str, Any], message: str) -> None:
    from generated.anthropic import ADAPTER as anthropic
    from router import BadRequestError

    with pytest.raises(BadRequestError, match=message):
        anthropic.build_request(request_, api_key=KEY)


def test_missing_key_names_the_env_var() -> None:
    from generated.anthropic import ADAPTER as anthropic
    from router import ConfigError

    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        anthropic.build_request({"model": "m", "messages": [{"role": "user", "content": "x"}]})


def test_env_base_url_and_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from generated.openai import ADAPTER as openai

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1/")
    http = openai.build_request({"model": "m", "messages": [{"role": "user", "content": "x"}]})
    assert http.url == "http://127.0.0.1:9/v1/chat/completions"
    assert http.headers["Authorization"] == f"Bearer {KEY}"


def test_unsupported_content_part_is_named() -> None:
    from generated.anthropic import ADAPTER as anthropic
    from router import UnsupportedParamsError

    msg = {"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}]}
    with pytest.raises(
        UnsupportedParamsError, match="anthropic cannot take a content part of type 'input_audio'"
    ):
        anthropic.build_request({"model": "m", "messages": [msg]}, api_key=KEY)
