"""The litellm adapter against a REAL LiteLLM proxy started on 127.0.0.1, its models answering from
LiteLLM's own mock responses (no upstream, no network). The proxy lives in .venv-litellm, installed by
tests/check.sh; when that install was not possible the test fails and says why."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT

import router

VENV = ROOT / ".venv-litellm"
CONFIG = """
model_list:
  - model_name: team-chat
    litellm_params:
      model: openai/gpt-4o-mini
      api_key: sk-not-used
      mock_response: "Hello from the LiteLLM mock"
  - model_name: team-claude
    litellm_params:
      model: anthropic/claude-3-5-haiku-20241022
      api_key: sk-not-used
      mock_response: "Claude, mocked"
  - model_name: team-unmocked
    litellm_params:
      model: openai/gpt-4o-mini
      api_key: sk-not-used
      # No mock here: only a mock_response sent with the request keeps the proxy off this closed port.
      api_base: http://127.0.0.1:9/v1
general_settings:
  master_key: sk-proxy-master-1234
litellm_settings:
  telemetry: false
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    exe = VENV / "bin" / "litellm"
    if not exe.exists():
        log = ROOT / ".venv-litellm.log"
        why = (
            log.read_text()[-2000:] if log.exists() else "tests/check.sh did not run (it installs the proxy)"
        )
        pytest.fail(f"no LiteLLM proxy in {VENV}: {why}")
    cfg = tmp_path_factory.mktemp("litellm") / "config.yaml"
    cfg.write_text(CONFIG)
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")},
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # use the bundled price map: no fetch at start
        "LITELLM_TELEMETRY": "False",
        "DISABLE_SCHEMA_UPDATE": "True",
    }
    out = cfg.parent / "proxy.log"
    with out.open("wb") as log_file:
        proc = subprocess.Popen(
            [str(exe), "--config", str(cfg), "--host", "127.0.0.1", "--port", str(port)],
            stdout=log_file, stderr=subprocess.STDOUT, env=env, cwd=cfg.parent,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    pytest.fail(
                        f"the LiteLLM proxy exited with {proc.returncode}:\n{out.read_text()[-3000:]}"
                    )
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                        break
                except OSError:
                    time.sleep(0.5)
            else:
                pytest.fail(f"the LiteLLM proxy did not listen within 120 s:\n{out.read_text()[-3000:]}")
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def _call(url: str, model: str, **kw: object) -> object:
    return router.completion(
        f"litellm/{model}",
        [{"role": "user", "content": "Hi"}],
        base_url=url,
        api_key="sk-proxy-master-1234",
        **kw,
    )


def test_completion_through_a_real_proxy(proxy: str) -> None:
    resp = _call(proxy, "team-chat", max_tokens=20)
    assert isinstance(resp, router.ChatCompletion)
    assert resp.choices[0].message.content == "Hello from the LiteLLM mock"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.router is not None and resp.router.provider == "litellm"
    # The proxy's own price for the call, read from x-litellm-response-cost.
    assert resp.cost is not None and resp.cost >= 0


def test_extension_params_reach_the_proxy(proxy: str) -> None:
    # `fallbacks` is a LiteLLM request field: the unreachable group falls back to a mocked one.
    resp = _call(
        proxy,
        "team-unmocked",
        max_retries=0,
        **{"litellm:fallbacks": ["team-chat"], "litellm:num_retries": 0},
    )
    assert isinstance(resp, router.ChatCompletion)
    assert resp.choices[0].message.content == "Hello from the LiteLLM mock"
    assert resp.router is not None
    assert resp.router.renamed == {"litellm:fallbacks": "fallbacks", "litellm:num_retries": "num_retries"}


def test_streaming_through_a_real_proxy(proxy: str) -> None:
    chunks = list(_call(proxy, "team-chat", stream=True))  # type: ignore[call-overload]
    text = router.accumulate(chunks).choices[0].message.content
    assert text == "Hello from the LiteLLM mock"


def test_proxy_errors_are_typed_and_keep_no_key(proxy: str) -> None:
    # A key the proxy does not know: with no database to look virtual keys up in, LiteLLM answers
    # 400 no_db_connection (observed with litellm 1.x). What matters here: a typed error, the proxy's
    # status and message kept, the key nowhere in it.
    with pytest.raises(router.APIError) as info:
        router.completion(
            "litellm/team-chat",
            [{"role": "user", "content": "Hi"}],
            base_url=proxy,
            api_key="sk-wrong-key-987",
            max_retries=0,
        )
    err = info.value
    assert isinstance(err, router.BadRequestError) and err.status == 400
    assert err.native_type == "no_db_connection"
    assert "sk-wrong-key-987" not in str(err) + repr(err)


def test_router_maps_app_names_to_proxy_models(proxy: str, tmp_path: Path) -> None:
    cfg = tmp_path / "router.yaml"
    cfg.write_text(
        "config_version: 1\nmodels:\n  - name: assistant\n    model: litellm/team-chat\n"
        f"    base_url: {proxy}\n    api_key_env: ROUTER_LITELLM_KEY\n"
    )
    os.environ["ROUTER_LITELLM_KEY"] = "sk-proxy-master-1234"
    try:
        resp = router.Router.from_config(cfg).completion("assistant", [{"role": "user", "content": "Hi"}])
    finally:
        del os.environ["ROUTER_LITELLM_KEY"]
    assert resp.choices[0].message.content == "Hello from the LiteLLM mock"
