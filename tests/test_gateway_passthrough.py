"""Passthrough, held on every recorded exchange whose provider serves the gateway's inbound API
natively (a spec with ``passthrough: true``: OpenAI Chat Completions, Anthropic Messages, OpenAI
Responses), real and harvested: the recorded request is sent to ``router serve`` as the recorded
client sent it, and

- the upstream receives that body untouched (the model is the recorded one, so not even renamed);
- the caller receives the recorded answer byte for byte, with its status (errors included);
- ``x-router-passthrough: true`` says so, and only where the rule says: every other spec's answer
  is translated (tests/test_gateway.py), and so is an OpenAI Chat stream that did not ask for usage.

Then what passthrough keeps of the gateway: usage billed into the spend log from the answer read on
the side, the caller's ``anthropic-beta`` forwarded and its key never, a stream cut before its end
finished with a terminal error event.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import REAL
from conftest import load_case
from gateway_env import gateway
from loopback import Loopback
from loopback import Reply
from test_replay import FAMILY
from test_replay import _adapter
from test_replay import _reply

from router import _registry
from router.gateway import hash_key

HARVESTED = REAL.parent / "harvested"
ROUTES = {
    "openai-chat": "/v1/chat/completions",
    "anthropic-messages": "/v1/messages",
    "openai-responses": "/v1/responses",
}
KEY = "sk-pass-SECRET-1"
UPSTREAM_KEY = "sk-upstream-pass-SECRET-2"


def _passable(path: Path) -> bool:
    case = load_case(path)
    if case["api"] not in FAMILY:
        return False
    body = case["request"].get("body")
    mod = _adapter(case)
    if not (isinstance(body, dict) and isinstance(body.get("model"), str)):
        return False
    # a recording whose request body was not kept (only its model) is not a request to replay
    recorded = body.get("input") if mod.config.protocol == "openai-responses" else body.get("messages")
    return bool(recorded) and mod.config.passthrough and mod.config.protocol in ROUTES


CASES = sorted(p for folder in (REAL, HARVESTED) for p in folder.glob("*/*.json") if _passable(p))


def test_every_passthrough_spec_speaks_an_inbound_api() -> None:
    """The class rule over every spec: passthrough is declared only where the gateway has that API."""
    declared = []
    for pid in _registry.provider_ids():
        config = _registry.adapter(pid).config
        if config.passthrough:
            declared.append(pid)
            assert config.protocol in ROUTES, f"{pid}: passthrough with protocol {config.protocol}"
        else:
            assert not config.passthrough_headers, f"{pid}: passthrough_headers without passthrough"
        # never the caller's credentials: forwarded headers are versions and betas, not keys
        assert not {"authorization", "x-api-key", "cookie"} & set(config.passthrough_headers), pid
    assert sorted(declared) == ["anthropic", "openai", "openai-responses"]
    assert len(CASES) >= 100


@pytest.fixture(scope="module")
def upstream() -> Iterator[Loopback]:
    with Loopback() as server:
        yield server


@pytest.fixture(scope="module")
def served(upstream: Loopback, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("passthrough")
    config = folder / "router.yaml"
    config.write_text(
        "config_version: 1\n"
        "defaults: {max_retries: 0, breaker_threshold: 100000}\n"
        "providers:\n"
        + "".join(
            f"  {p}: {{base_url: '{upstream.url}', api_key_env: GW_UPSTREAM_KEY}}\n"
            for p in ("openai", "anthropic", "openai-responses")
        )
        + "models:\n  - {name: mini, model: openai/gpt-4o-mini}\n"
        "  - {name: claude, model: anthropic/claude-sonnet-4-5}\n"
        "gateway:\n  log: {path: spend.jsonl}\n"
        f"  keys:\n    - {{name: team, hash: '{hash_key(KEY)}'}}\n"
    )
    with gateway(config, env={"GW_UPSTREAM_KEY": UPSTREAM_KEY}) as url:
        yield url, folder


@pytest.fixture
def url(served: tuple[str, Path], upstream: Loopback) -> str:
    upstream.replies.clear()
    upstream.seen.clear()
    return served[0]


def _post(url: str, route: str, body: Any, **headers: str) -> httpx.Response:
    return httpx.post(
        url + route, json=body, headers={"authorization": f"Bearer {KEY}", **headers}, timeout=30
    )


def _log(served: tuple[str, Path]) -> list[dict[str, Any]]:
    path = served[1] / "spend.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [json.loads(line) for line in lines]


def _record_after(served: tuple[str, Path], before: int) -> dict[str, Any]:
    """The spend record of the call made after ``before`` records: the gateway writes it once the
    answer has gone out (router/gateway/_app.py, after the reply), so a busy machine may show the
    answer first. Waited for at most 5 s."""
    deadline = time.monotonic() + 5.0
    while True:
        records = _log(served)
        if len(records) > before or time.monotonic() > deadline:
            assert len(records) == before + 1, f"{len(records) - before} new spend records"
            return records[-1]
        time.sleep(0.01)


@pytest.mark.parametrize(
    "path", CASES, ids=[f"{p.parent.parent.name}-{p.parent.name}-{p.stem}" for p in CASES]
)
def test_a_recorded_exchange_passes_through_untouched(path: Path, url: str, upstream: Loopback) -> None:
    case = load_case(path)
    mod = _adapter(case)
    recorded = case["request"]["body"]
    body = {**recorded, "model": f"{mod.id}/{recorded['model']}"}
    reply = _reply(case)
    upstream.replies.append(reply)
    resp = _post(url, ROUTES[mod.config.protocol], body)
    chat_stream_without_usage = (
        mod.config.protocol == "openai-chat"
        and recorded.get("stream") is True
        and not (recorded.get("stream_options") or {}).get("include_usage")
    )
    if resp.status_code == 400 and not upstream.seen:
        # refused before any call by the inbound API's reader: only for what that API rejects too
        pytest.fail(f"the gateway refused a recorded request: {resp.text[:300]}")
    if chat_stream_without_usage:
        assert resp.headers.get("x-router-passthrough") is None  # translated, to see the usage
        return
    assert resp.headers.get("x-router-passthrough") == "true", resp.text[:300]
    assert upstream.seen, "nothing went upstream"
    assert json.loads(upstream.seen[-1].body) == recorded  # the request as the client sent it
    assert upstream.seen[-1].headers.get("authorization", f"Bearer {UPSTREAM_KEY}").endswith(
        UPSTREAM_KEY
    ) or (upstream.seen[-1].headers.get("x-api-key") == UPSTREAM_KEY)
    assert KEY not in json.dumps(upstream.seen[-1].headers)
    assert resp.status_code == case["response"]["status"]
    assert resp.content == b"".join(reply.pieces)  # the answer as the provider sent it


def test_usage_is_billed_from_a_passed_answer(served: tuple[str, Path], url: str, upstream: Loopback) -> None:
    answer = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "hi"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 11, "output_tokens": 7},
    }
    upstream.replies.append(Reply.json(answer))
    before = len(_log(served))
    body = {
        "model": "claude",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "hi"}],
        "x_future": 1,
    }
    resp = _post(
        url, "/v1/messages", body, **{"anthropic-beta": "future-2099", "anthropic-version": "2023-06-01"}
    )
    assert resp.status_code == 200 and resp.headers["x-router-passthrough"] == "true"
    assert resp.json() == answer
    seen = upstream.seen[-1]
    assert json.loads(seen.body) == {**body, "model": "claude-sonnet-4-5"}  # an unknown field kept
    assert seen.headers["anthropic-beta"] == "future-2099"
    assert seen.headers["x-api-key"] == UPSTREAM_KEY
    record = _record_after(served, before)
    assert (record["model"], record["prompt_tokens"], record["completion_tokens"]) == ("claude", 11, 7)
    assert record["cost_usd"] and record["cost_usd"] > 0
    assert record["deployment"] == "claude" and record["status"] == 200


def _chunk(text: str | None, finish: str | None = None, usage: dict[str, int] | None = None) -> bytes:
    d: dict[str, Any] = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini"}
    d["choices"] = (
        [] if usage else [{"index": 0, "delta": {"content": text} if text else {}, "finish_reason": finish}]
    )
    if usage:
        d["usage"] = usage
    return b"data: " + json.dumps(d).encode() + b"\n\n"


def test_a_passed_stream_bills_its_usage(served: tuple[str, Path], url: str, upstream: Loopback) -> None:
    frames = [_chunk("a"), _chunk("b"), _chunk(None, "stop")]
    frames += [
        _chunk(None, usage={"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}),
        b"data: [DONE]\n\n",
    ]
    upstream.replies.append(Reply(200, {"content-type": "text/event-stream"}, frames))
    before = len(_log(served))
    body = {"model": "mini", "messages": [{"role": "user", "content": "hi"}], "stream": True,
            "stream_options": {"include_usage": True}}  # fmt: skip
    resp = _post(url, "/v1/chat/completions", body)
    assert resp.headers["x-router-passthrough"] == "true"
    assert resp.content == b"".join(frames)
    record = _record_after(served, before)
    assert (record["prompt_tokens"], record["completion_tokens"], record["stream"]) == (5, 2, True)


def test_a_passed_stream_cut_short_ends_with_an_error_event(url: str, upstream: Loopback) -> None:
    frames = [_chunk("a"), _chunk("b")]  # no finish, no [DONE]: the connection just ends
    upstream.replies.append(Reply(200, {"content-type": "text/event-stream"}, frames))
    body = {"model": "mini", "messages": [{"role": "user", "content": "hi"}], "stream": True,
            "stream_options": {"include_usage": True}}  # fmt: skip
    resp = _post(url, "/v1/chat/completions", body)
    assert resp.status_code == 200 and resp.content.startswith(b"".join(frames))
    tail = resp.content[len(b"".join(frames)) :].decode()
    assert tail.startswith("data: ") and "error" in json.loads(tail[6:].strip())
