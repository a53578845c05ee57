"""Configuration and routing: enabled providers, MODELS, Router (settings, fallbacks, from_env,
from_config), cost, token counts, list_models/health, and a new provider added as YAML in a temp dir."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import REAL
from conftest import ROOT
from conftest import load_case
from loopback import Loopback
from loopback import Reply

import router
from router.cli import main

MSGS = [{"role": "user", "content": "hi"}]
OPENAI_OK = {
    "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "from upstream"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500,
              "prompt_tokens_details": {"cached_tokens": 400}},
}  # fmt: skip


def test_providers_enabled_by_key(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from router import _providers

    monkeypatch.setattr(_providers, "_logged_disabled", set())
    with caplog.at_level(logging.DEBUG, logger="router"):
        status = {p.id: p for p in router.providers()}
    assert status["fake"].enabled and status["fake"].reason == "needs no key"
    assert not status["openai"].enabled and "OPENAI_API_KEY" in status["openai"].reason
    assert "provider openai disabled" in caplog.text
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-value-123")
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="router"):
        status = {p.id: p for p in router.providers()}
    assert status["openai"].enabled and status["openai"].reason == "key from OPENAI_API_KEY"
    assert "sk-secret-value-123" not in caplog.text + repr(status)


def test_models_env_is_filtered_to_enabled_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELS", "fake/echo, openai/gpt-4o ,anthropic/claude-haiku-4-5, gpt-4o-mini")
    assert router.models() == ["fake/echo"]
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    assert router.models() == ["fake/echo", "openai/gpt-4o", "openai/gpt-4o-mini"]


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("opneai/gpt-4o", "unknown provider 'opneai'; did you mean openai"),
        ("gpt-4o-mni", "did you mean gpt-4o-mini"),
        ("", "non-empty"),
    ],
)
def test_resolution_errors_suggest(model: str, message: str) -> None:
    with pytest.raises(router.ConfigError, match=message):
        router.resolve(model)


def test_bare_ids_and_aliases_route_by_catalogue() -> None:
    mod, name = router.resolve("claude-sonnet-4-5")
    assert (mod.id, name) == ("anthropic", "claude-sonnet-4-5")
    mod, name = router.resolve("gpt-4o")
    assert (mod.id, name) == ("openai", "gpt-4o")


def test_cost_on_recorded_usage() -> None:
    case = load_case(REAL / "anthropic" / "tool_use_parallel_with_text.json")
    from router.generated.anthropic import ADAPTER as anthropic

    resp = anthropic.parse_response(
        200, {}, case["response"]["body"], receipt=router.Receipt("anthropic", "claude-haiku-4-5")
    )
    u = resp.usage
    assert u is not None
    expected = (u.prompt_tokens * 1.00 + u.completion_tokens * 5.00) / 1e6  # no cache use in this answer
    assert router.cost(resp) == pytest.approx(expected)


def test_cost_prices_cached_tokens_separately() -> None:
    from router.generated.openai import ADAPTER as openai

    resp = openai.parse_response(200, {}, OPENAI_OK, receipt=router.Receipt("openai", "gpt-4o-mini"))
    # 600 fresh input at 0.15, 400 cached at 0.075, 500 output at 0.60 (USD per million)
    assert router.cost(resp) == pytest.approx((600 * 0.15 + 400 * 0.075 + 500 * 0.60) / 1e6)
    unknown = openai.parse_response(200, {}, OPENAI_OK, receipt=router.Receipt("openai", "some-new-model"))
    unknown.model = "some-new-model"
    assert router.cost(unknown) is None


def test_completion_sets_cost(monkeypatch: pytest.MonkeyPatch) -> None:
    with Loopback() as srv:
        srv.replies.append(Reply.json(OPENAI_OK))
        resp = router.completion("openai/gpt-4o-mini", MSGS, api_key="k", base_url=srv.url)
    assert isinstance(resp, router.ChatCompletion)
    assert resp.cost == pytest.approx((600 * 0.15 + 400 * 0.075 + 500 * 0.60) / 1e6)


def test_count_tokens_approximation() -> None:
    n = router.count_tokens("anthropic/claude-haiku-4-5", [{"role": "user", "content": "x" * 40}])
    assert n == 10 + 1 + 3 + 3  # 40 chars / 4, "user" / 4 rounded up, per-message and priming


def test_router_fallback_on_rate_limit() -> None:
    err = {"error": {"message": "slow down", "type": "requests", "code": "rate_limit_exceeded"}}
    with Loopback() as primary, Loopback() as backup:
        primary.replies.append(Reply.json(err, 429, {"retry-after": "0"}))
        backup.replies.append(Reply.json(OPENAI_OK))
        r = router.Router(
            [
                router.Deployment(
                    "smart", "openai/gpt-4o", base_url=primary.url, max_retries=0, fallbacks=["backup"]
                ),
                router.Deployment(
                    "backup", "openai/gpt-4o-mini", base_url=backup.url, params={"temperature": 0.1}
                ),
            ],
            providers={"openai": {"api_key_env": "ROUTER_TEST_KEY"}},
        )
        os.environ["ROUTER_TEST_KEY"] = "sk-test"
        try:
            resp = r.completion("smart", MSGS)
        finally:
            del os.environ["ROUTER_TEST_KEY"]
    assert resp.choices[0].message.content == "from upstream"
    assert len(primary.seen) == 1 and len(backup.seen) == 1
    sent = json.loads(backup.seen[0].body)
    assert sent["model"] == "gpt-4o-mini" and sent["temperature"] == 0.1
    assert backup.seen[0].headers["authorization"] == "Bearer sk-test"


def test_router_does_not_fall_back_on_auth_errors() -> None:
    body = {"error": {"message": "bad key", "type": "invalid_request_error", "code": "invalid_api_key"}}
    with Loopback() as primary, Loopback() as backup:
        primary.replies.append(Reply.json(body, 401))
        r = router.Router(
            [
                router.Deployment(
                    "a", "openai/gpt-4o", base_url=primary.url, fallbacks=["openai/gpt-4o-mini"]
                ),
            ],
            providers={"openai": {"base_url": backup.url}},
        )
        with pytest.raises(router.AuthenticationError):
            r.completion("a", MSGS, api_key="k")
        assert backup.seen == []


def test_router_from_env_provider_and_mapping(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTER_PROVIDER", "fake")
    monkeypatch.setenv("ROUTER_MODEL_MAPPING", json.dumps({"gpt-4o": "echo"}))
    r = router.Router.from_env()
    resp = r.completion("gpt-4o", [{"role": "user", "content": "mapped"}])
    assert resp.choices[0].message.content == "mapped"
    assert resp.router.provider == "fake"


@pytest.mark.parametrize(
    ("value", "message"),
    [("{not json", "not JSON"), ("[1]", "JSON object of strings")],
)
def test_router_from_env_bad_mapping(monkeypatch: pytest.MonkeyPatch, value: str, message: str) -> None:
    monkeypatch.setenv("ROUTER_MODEL_MAPPING", value)
    with pytest.raises(router.ConfigError, match=message):
        router.Router.from_env()


def test_router_from_config(tmp_path: Path) -> None:
    cfg = tmp_path / "router.yaml"
    cfg.write_text(
        "config_version: 1\n"
        "defaults: {timeout: 30, max_retries: 1}\n"
        "models:\n"
        "  - name: chat\n"
        "    model: fake/echo\n"
        "    params: {max_tokens: 50}\n"
        "    fallbacks: [backup]\n"
        "  - name: backup\n"
        "    model: fake/lorem\n"
    )
    r = router.Router.from_config(cfg)
    assert r.models() == ["backup", "chat"]
    assert [m for m, _ in r.chain("chat")] == ["fake/echo", "fake/lorem"]
    assert (
        r.completion("chat", [{"role": "user", "content": "configured"}]).choices[0].message.content
        == "configured"
    )


def test_router_config_diagnostics(
    tmp_path: Path, snapshot_json: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("router.yaml").write_text(
        "config_version: 1\n"
        "defaults: {timeout: -1, fallback_on: [rate_limits]}\n"
        "providers:\n"
        "  openai: {api_key: sk-in-the-file}\n"
        "models:\n"
        "  - name: chat\n"
        "    model: opneai/gpt-4o\n"
        "    fallbacks: [nowhere]\n"
        "  - name: chat\n"
        "    model: fake/echo\n"
        "    api_key_env: lower_case\n"
    )
    with pytest.raises(router.ConfigError) as info:
        router.Router.from_config("router.yaml")
    lines = str(info.value).splitlines()
    assert all(line.startswith("router.yaml:") and ": error: " in line for line in lines)
    assert lines == snapshot_json


def test_list_models_and_health() -> None:
    with Loopback() as srv:
        srv.replies.append(Reply.json({"object": "list", "data": [{"id": "gpt-4o"}, {"id": "o3"}]}))
        assert router.list_models("openai", api_key="k", base_url=srv.url + "/v1") == ["gpt-4o", "o3"]
        assert srv.seen[0].method == "GET" and srv.seen[0].path == "/v1/models"
        srv.replies.append(Reply.json({"data": [{"id": "a"}]}))
        ok = router.health("openai", api_key="k", base_url=srv.url)
        assert ok.status == "ok" and ok.detail == "1 models" and ok.latency_ms is not None
        srv.replies.append(
            Reply.json(
                {
                    "error": {
                        "message": "Incorrect API key",
                        "type": "invalid_request_error",
                        "code": "invalid_api_key",
                    }
                },
                401,
            )
        )
        bad = router.health("openai", api_key="k", base_url=srv.url)
        assert bad.status == "auth_failed"
        url = srv.url
    down = router.health("openai", api_key="k", base_url=url, timeout=2)
    assert down.status == "down"


def test_new_provider_is_yaml_only(tmp_path: Path) -> None:
    """Acceptance: a <=10-line spec extending openai, `router build`, and router.completion works."""
    specs = tmp_path / "specs"
    shutil.copytree(ROOT / "specs", specs)
    spec = "spec_version: 1\nid: acme\nextends: openai\nname: Acme AI\nbase_url: https://api.acme.example/v1\nauth: {env: ACME_API_KEY}\n"
    assert len(spec.splitlines()) <= 10
    (specs / "acme.yaml").write_text(spec)
    out = tmp_path / "adapters"
    result = CliRunner().invoke(main, ["build", "--specs", str(specs), "--out", str(out)])
    assert result.exit_code == 0, result.output
    with Loopback() as srv:
        srv.replies.append(Reply.json(OPENAI_OK | {"model": "acme-large"}))
        code = (
            "import router\n"
            f"r = router.completion('acme/acme-large', [{{'role': 'user', 'content': 'hi'}}], base_url={srv.url!r})\n"
            "print(r.router.provider, r.choices[0].message.content)\n"
        )
        env = {**os.environ, "ROUTER_ADAPTERS": str(out), "ACME_API_KEY": "sk-acme"}
        proc = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
        )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "acme from upstream"
    assert srv.seen[0].headers["authorization"] == "Bearer sk-acme"


def test_azure_deployment_in_path_version_in_query(monkeypatch: pytest.MonkeyPatch) -> None:
    from router.generated.azure_openai import ADAPTER as azure

    req = {"model": "my-gpt4o", "messages": MSGS}
    with pytest.raises(router.ConfigError, match="AZURE_OPENAI_ENDPOINT"):
        azure.build_request(req, api_key="k")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com")
    monkeypatch.setenv("OPENAI_API_VERSION", "2025-04-01-preview")
    http = azure.build_request(req, api_key="az-key")
    assert (
        http.url
        == "https://res.openai.azure.com/openai/deployments/my-gpt4o/chat/completions?api-version=2025-04-01-preview"
    )
    assert http.headers["api-key"] == "az-key" and "Authorization" not in http.headers


def test_litellm_extensions_and_cost_header() -> None:
    from router.generated.litellm import ADAPTER as litellm

    receipt = router.Receipt("litellm", "team-model")
    http = litellm.build_request(
        {"model": "team-model", "messages": MSGS, "litellm:tags": ["a"], "litellm:metadata": {"run": 1}},
        receipt=receipt,
    )
    assert http.url == "http://localhost:4000/chat/completions"
    assert http.json["tags"] == ["a"] and http.json["metadata"] == {"run": 1}
    assert "litellm:tags" not in http.json
    assert receipt.renamed == {"litellm:tags": "tags", "litellm:metadata": "metadata"}
    with pytest.raises(router.UnsupportedParamsError, match="unknown parameter 'tags'"):
        litellm.build_request({"model": "m", "messages": MSGS, "tags": ["a"]})
    with Loopback() as srv:
        srv.replies.append(Reply.json(OPENAI_OK, headers={"x-litellm-response-cost": "0.00042"}))
        resp = router.completion("litellm/team-model", MSGS, base_url=srv.url)
    assert isinstance(resp, router.ChatCompletion)
    assert resp.cost == pytest.approx(0.00042)  # the proxy's price wins over the catalogue's


def test_optional_headers_are_left_out_when_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    from router.generated.openrouter import ADAPTER as openrouter

    req = {"model": "openai/gpt-4o", "messages": MSGS}
    assert {"HTTP-Referer", "X-Title"}.isdisjoint(openrouter.build_request(req, api_key="k").headers)
    monkeypatch.setenv("OPENROUTER_SITE_URL", "https://app.example")
    headers = openrouter.build_request(req, api_key="k").headers
    assert headers["HTTP-Referer"] == "https://app.example" and "X-Title" not in headers


def test_base_url_argument_stands_in_for_a_required_variable() -> None:
    from router.generated.openai_compatible import ADAPTER as compat

    req = {"model": "m", "messages": MSGS}
    with pytest.raises(router.ConfigError, match="OPENAI_COMPATIBLE_BASE_URL"):
        compat.build_request(req)
    assert (
        compat.build_request(req, base_url="http://127.0.0.1:1/v1").url
        == "http://127.0.0.1:1/v1/chat/completions"
    )
