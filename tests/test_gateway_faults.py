"""The fault matrix through ``router serve``: every fault of tests/faultserver.py behind an OpenAI and an
Anthropic upstream, called through each inbound API (Chat Completions, Messages, Responses), plain
and streamed: passed through (Chat to OpenAI, Messages to Anthropic) and translated (the others).

Per call: it ends within the deadline (timeout 1 s, plus the gateway's own slack); a good answer is
a 200 with the text; a faulty one is never a success: an error answer in the inbound API's own JSON
shape (whatever the upstream sent: an HTML page becomes that API's error), or, for a stream that had
started, a terminal error event of that API; never the gateway's "internal error" (a bug of ours).
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from faultserver import FaultServer
from gateway_env import gateway

FAULTS = [
    "ok", "gzip_ok", "reset_before", "reset_after_headers", "truncated", "stall_headers", "stall_body",
    "trickle", "trickle_then_stall", "keepalive", "invalid_json", "deep_json", "wrong_shape", "html_500",
    "status_500", "retry_429_long", "gzip_garbage", "huge_body", "huge_error", "error_then_reset",
    "error_then_stall",
]  # fmt: skip
OK = {"ok", "gzip_ok"}
TARGETS = {"openai": "openai/m", "anthropic": "anthropic/m"}
ROUTES = {"chat": "/v1/chat/completions", "messages": "/v1/messages", "responses": "/v1/responses"}
TIMEOUT = 1.0


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("faults")
    lines = [
        "config_version: 1",
        f"defaults: {{timeout: {TIMEOUT}, max_retries: 0, breaker_threshold: 100000}}",
        "models:",
    ]
    with FaultServer() as server:
        for fault, (target, model) in itertools.product(FAULTS, TARGETS.items()):
            name = f"{fault}-{target}"
            lines.append(
                f"  - {{name: {name}, model: {model}, base_url: '{server.url}/{fault}/{name}',"
                " api_key_env: GW_FAULT_KEY}"
            )
        config = folder / "router.yaml"
        config.write_text("\n".join(lines) + "\n")
        with gateway(config, env={"GW_FAULT_KEY": "sk-fault"}) as url:
            yield url


def _body(route: str, model: str, stream: bool) -> dict[str, Any]:
    if route == "responses":
        return {"model": model, "input": "Hi", "stream": stream}
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": "Hi"}], "stream": stream}
    if route == "messages":
        body["max_tokens"] = 16
    if route == "chat" and stream:
        body["stream_options"] = {"include_usage": True}
    return body


def _error_shape(route: str, data: Any) -> bool:
    if route == "messages":
        return (
            data.get("type") == "error"
            and isinstance(data.get("error"), dict)
            and data["error"].get("message")
        )
    return isinstance(data.get("error"), dict) and bool(data["error"].get("message"))


def _events(route: str, text: str) -> list[Any]:
    out = []
    for block in text.split("\n\n"):
        for line in block.split("\n"):
            if line.startswith("data: ") and line != "data: [DONE]":
                try:
                    out.append(json.loads(line[6:]))
                except (ValueError, RecursionError):  # a hostile frame, passed through as it came
                    out.append({"unparsed": line[:100]})
    return out


def _one(url: str, fault: str, target: str, route: str, stream: bool) -> str | None:
    """None when the call obeyed the rules, else what it did wrong."""
    where = f"{fault} -> {target} via {route} {'stream' if stream else 'plain'}"
    start = time.monotonic()
    try:
        resp = httpx.post(url + ROUTES[route], json=_body(route, f"{fault}-{target}", stream), timeout=15)
    except httpx.HTTPError as e:
        return f"{where}: the gateway's answer broke ({type(e).__name__}: {e})"
    took = time.monotonic() - start
    if took > TIMEOUT + 1.5:
        return f"{where}: took {took:.2f} s"
    text = resp.text
    if "internal gateway error" in text:
        return f"{where}: a bug of the gateway's ({resp.status_code})"
    if resp.status_code >= 400:
        try:
            data = resp.json()
        except ValueError:
            return f"{where}: {resp.status_code} not in the API's JSON shape: {text[:200]!r}"
        if not _error_shape(route, data):
            return f"{where}: {resp.status_code} not in the API's error shape: {text[:200]!r}"
        return None if fault not in OK else f"{where}: a good answer failed: {text[:300]}"
    if fault not in OK:
        if not stream:
            return f"{where}: a faulty answer was a success: {text[:200]!r}"
        events = _events(route, text)
        last = events[-1] if events else {}
        ended_in_error = isinstance(last, dict) and (
            "error" in last or last.get("type") in ("error", "response.failed")
        )
        return (
            None
            if ended_in_error
            else f"{where}: a faulty stream did not end in an error event: {text[-300:]!r}"
        )
    if "ok" not in text:
        return f"{where}: the answer lost its text: {text[:300]!r}"
    return None


def test_fault_matrix_through_the_gateway(served: str, tmp_path: Path) -> None:
    combos = list(itertools.product(FAULTS, TARGETS, ROUTES, (False, True)))
    with ThreadPoolExecutor(12) as pool:
        problems = [p for p in pool.map(lambda c: _one(served, *c), combos) if p]
    print(f"\ngateway fault matrix: {len(combos)} calls, {len(problems)} problems")
    assert not problems, "\n".join(problems)
