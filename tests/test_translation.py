"""Translation snapshots: the one matrix, every provider x every canonical request -> the exact HTTP
request, or the typed error where the provider cannot take the request (tests/matrix.py REFUSED).

The table of models, env vars and refusals is tests/matrix.py. The API key is a known test value; the
snapshot must show it masked, never in clear.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import router.generated as generated
from conftest import canonical_cases
from conftest import load_case
from matrix import KEYLESS
from matrix import PROVIDER_ENV
from matrix import REFUSED
from matrix import TEST_ENV
from matrix import TEST_MODELS
from matrix import adapter

import router
from router import Receipt

KEY = "sk-test-DO-NOT-LEAK-1234"
CASES = canonical_cases()
CELLS = [(p, c) for p in sorted(generated.PROVIDERS) for c in CASES]


def _set_env(monkeypatch: pytest.MonkeyPatch, provider: str) -> None:
    for name in PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in TEST_ENV.get(provider, {}).items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize(("provider", "case"), CELLS, ids=[f"{p}-{c.stem}" for p, c in CELLS])
def test_translation(provider: str, case: Path, snapshot_json: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _set_env(monkeypatch, provider)
    model = TEST_MODELS[provider]
    request = dict(load_case(case)["request"])
    request["model"] = model
    key = None if provider in KEYLESS else KEY
    receipt = Receipt(provider, model)
    build = adapter(provider).build_request

    if (provider, case.stem) in REFUSED:
        cls, message = REFUSED[(provider, case.stem)]
        with pytest.raises(cls, match=re.escape(message)) as info:
            build(request, api_key=key, receipt=receipt)
        err = info.value
        assert type(err) is cls
        assert err.provider == provider
        refused = {"error": type(err).__name__, "message": str(err)}
        assert KEY not in json.dumps(refused)
        assert refused == snapshot_json
        return

    http = build(request, api_key=key, receipt=receipt)
    out = {"request": http.redacted(), "stream": http.stream, "receipt": receipt.to_dict()}
    assert KEY not in json.dumps(out)
    assert KEY not in repr(http)
    if key is None:
        assert http.secrets == ()
    else:
        # sent, in exactly one place (one header, or the URL query), and masked everywhere it is shown
        assert http.secrets == (KEY,)
        places = [h for h, v in http.headers.items() if v in (KEY, f"Bearer {KEY}")]
        assert len(places) + (KEY in http.url) == 1, (places, http.url)
    wants_stream = bool(request.get("stream"))
    assert http.stream is wants_stream
    assert http.json.get("stream", wants_stream) is wants_stream
    if provider == "ollama":
        assert "stream" in http.json  # Ollama streams by default: the flag is always sent
    assert out == snapshot_json


def test_the_matrix_has_one_model_per_provider_and_names_only_known_cells() -> None:
    providers = set(generated.PROVIDERS)
    assert sorted(TEST_MODELS) == sorted(providers), (
        "every provider in generated.PROVIDERS needs a test model"
    )
    assert all(isinstance(m, str) and m for m in TEST_MODELS.values())
    assert set(TEST_ENV) <= providers
    assert providers >= KEYLESS
    for provider, env in TEST_ENV.items():
        assert set(env) <= set(PROVIDER_ENV), f"{provider}: an env var no spec reads"
    cases = {c.stem for c in CASES}
    for (provider, case), (cls, message) in REFUSED.items():
        assert provider in providers, provider
        assert case in cases, case
        assert issubclass(cls, router.APIError) and message


def test_provider_env_is_read_from_every_spec() -> None:
    # a sample of what the specs name: auth.env (str and list), base_url_env, variables.*.env
    for name in ("OPENAI_API_KEY", "CO_API_KEY", "COHERE_API_KEY", "OLLAMA_HOST", "AZURE_OPENAI_ENDPOINT"):
        assert name in PROVIDER_ENV
    assert list(PROVIDER_ENV) == sorted(set(PROVIDER_ENV))


def test_key_is_sent_but_never_shown() -> None:
    anthropic = adapter("anthropic")
    openai = adapter("openai")

    a = anthropic.build_request({"model": "m", "messages": [{"role": "user", "content": "x"}]}, api_key=KEY)
    o = openai.build_request({"model": "m", "messages": [{"role": "user", "content": "x"}]}, api_key=KEY)
    assert a.headers["x-api-key"] == KEY
    assert o.headers["Authorization"] == f"Bearer {KEY}"
    for req in (a, o):
        assert KEY not in repr(req)
        assert KEY not in json.dumps(req.redacted())


def test_strict_mode_raises_instead_of_dropping() -> None:
    anthropic = adapter("anthropic")
    from router import UnsupportedParamsError

    req = {"model": "m", "messages": [{"role": "user", "content": "x"}], "seed": 1}
    receipt = Receipt("anthropic", "m")
    anthropic.build_request(req, api_key=KEY, receipt=receipt)
    assert receipt.dropped == ["seed"]
    with pytest.raises(UnsupportedParamsError, match="seed"):
        anthropic.build_request(req, api_key=KEY, strict=True)


def test_unknown_parameter_is_a_typed_error_with_a_suggestion() -> None:
    openai = adapter("openai")
    from router import UnsupportedParamsError

    with pytest.raises(UnsupportedParamsError, match="did you mean 'temperature'"):
        openai.build_request(
            {"model": "m", "messages": [{"role": "user", "content": "x"}], "temprature": 1}, api_key=KEY
        )


def test_reasoning_model_override_renames_and_drops() -> None:
    openai = adapter("openai")

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
    anthropic = adapter("anthropic")
    from router import BadRequestError

    with pytest.raises(BadRequestError, match=message):
        anthropic.build_request(request_, api_key=KEY)


def test_missing_key_names_the_env_var() -> None:
    anthropic = adapter("anthropic")
    from router import ConfigError

    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        anthropic.build_request({"model": "m", "messages": [{"role": "user", "content": "x"}]})


def test_env_base_url_and_key(monkeypatch: pytest.MonkeyPatch) -> None:
    openai = adapter("openai")

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1/")
    http = openai.build_request({"model": "m", "messages": [{"role": "user", "content": "x"}]})
    assert http.url == "http://127.0.0.1:9/v1/chat/completions"
    assert http.headers["Authorization"] == f"Bearer {KEY}"


def test_unsupported_content_part_is_named() -> None:
    anthropic = adapter("anthropic")
    from router import UnsupportedParamsError

    msg = {"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}]}
    with pytest.raises(
        UnsupportedParamsError, match="anthropic cannot take a content part of type 'input_audio'"
    ):
        anthropic.build_request({"model": "m", "messages": [msg]}, api_key=KEY)
