"""Every harvested real recording (tests/fixtures/harvested: other projects' cassettes of the real APIs,
each with its source repository, path and commit) replayed through router.completion against a server
on 127.0.0.1, streams split at awkward byte boundaries, and graded against tests/oracle.py's reading of
the raw recording: text, reasoning, tool calls (valid JSON arguments), finish reason, usage
(prompt + completion == total) and, for error answers, the typed error class.

Recordings of providers with no spec of their own are read by their wire family's adapter (the
recording's provider when a spec of that protocol exists, else ``FAMILY``). tests/harvest_score.py
prints the same grading as a pass rate by provider.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import oracle
import pytest
from conftest import ROOT
from loopback import Loopback
from loopback import Reply
from loopback import split_awkwardly

import router
from router import _registry

HARVESTED = ROOT / "tests" / "fixtures" / "harvested"
CASES = sorted(HARVESTED.glob("*/*.json"))
KEY = "sk-harvest-SECRET-7777"

# wire api -> the adapter that reads it when the recording's provider has no spec of that protocol
FAMILY = {
    "openai-chat": ("openai-chat", "openai"),
    "mistral-chat": ("openai-chat", "mistral"),
    "anthropic-messages": ("anthropic-messages", "anthropic"),
    "gemini-generate": ("gemini", "gemini"),
    "gemini-stream": ("gemini", "gemini"),
    "ollama-chat": ("ollama-chat", "ollama"),
    "cohere-chat-v2": ("cohere-chat-v2", "cohere"),
    "openai-responses": ("openai-responses", "openai-responses"),
}


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def adapter_for(case: dict[str, Any]) -> Any:
    import router.generated as generated

    protocol, default = FAMILY[case["api"]]
    if case["provider"] in generated.PROVIDERS and generated.PROTOCOLS[case["provider"]] == protocol:
        return _registry.adapter(case["provider"])
    return _registry.adapter(default)


def model_of(case: dict[str, Any]) -> str:
    body = case["request"].get("body") or {}
    if isinstance(body, dict) and isinstance(body.get("model"), str) and body["model"]:
        return str(body["model"])
    url = case["request"].get("url") or ""
    if "/models/" in url:
        return url.split("/models/")[1].split(":")[0]
    resp = case["response"].get("body")
    if isinstance(resp, dict) and isinstance(resp.get("model"), str):
        return str(resp["model"])
    return "recorded-model"


def reply_of(case: dict[str, Any]) -> Reply:
    r = case["response"]
    headers = {
        k: v for k, v in r["headers"].items() if k.lower() in ("content-type", "request-id", "x-request-id")
    }
    headers["retry-after"] = "0"  # retried answers stay fast; the value itself is tested elsewhere
    if r.get("raw_stream") is not None and (case["stream"] or r.get("body") is None):
        return Reply(r["status"], headers, split_awkwardly(r["raw_stream"].encode()))
    raw = r["raw_body"] if r.get("body") is None else json.dumps(r["body"])
    return Reply(r["status"], headers, [(raw or "").encode()])


def replay(case: dict[str, Any]) -> tuple[Any, router.APIError | None]:
    """(the unified answer, or the typed error the call raised). Any other exception propagates."""
    mod = adapter_for(case)
    with Loopback() as server:
        server.replies.append(reply_of(case))
        call = {"api_key": KEY, "base_url": server.url, "max_retries": 0, "stream": bool(case["stream"])}
        msgs = [{"role": "user", "content": "replayed"}]
        try:
            if case["stream"]:
                # the stream itself, so the folded answer carries its receipt (resp.router.extra)
                return router.accumulate(router.completion(f"{mod.id}/{model_of(case)}", msgs, **call)), None
            return router.completion(f"{mod.id}/{model_of(case)}", msgs, **call), None
        except router.APIError as err:
            assert KEY not in str(err)
            return None, err


def grade_case(case: dict[str, Any]) -> list[str]:
    reading = oracle.read(case)
    result, err = replay(case)
    if reading.error is not None or reading.error_any:
        if err is None:
            return [f"expected {getattr(reading.error, '__name__', 'an error')}, got an answer"]
        if not oracle.error_matches(err, reading):
            return [
                f"error {type(err).__name__} != {reading.error.__name__ if reading.error else 'any'}: {err}"[
                    :300
                ]
            ]
        return []
    if err is not None:
        return [f"unexpected {type(err).__name__}: {err}"[:300]]
    return oracle.grade(result, reading)


def test_the_corpus_is_wide() -> None:
    providers = {p.parent.name for p in CASES}
    assert len(CASES) >= 300, len(CASES)
    assert len(providers) >= 15, sorted(providers)


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}-{p.stem}" for p in CASES])
def test_harvested_case_is_exact(path: Path) -> None:
    case = load(path)
    for key in ("repo", "path", "commit"):
        assert case["source"].get(key), f"{path.name}: source.{key} is missing"
    assert grade_case(case) == []


REQUESTS = [
    p
    for p in CASES
    if (c := load(p))["api"] in ("openai-chat", "mistral-chat")
    and isinstance(c["request"].get("body"), dict)
    and "messages" in c["request"]["body"]
]


def _without(message: Any, dropped: list[str]) -> Any:
    if not isinstance(message, dict):
        return message
    gone = {d.removeprefix("messages[].") for d in dropped if d.startswith("messages[].")}
    return {k: v for k, v in message.items() if k not in gone}


@pytest.mark.parametrize("path", REQUESTS, ids=[f"{p.parent.name}-{p.stem}" for p in REQUESTS])
def test_harvested_request_is_sent_as_the_caller_asked(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The recorded OpenAI-shaped request, given to the router as is: every field goes out with the
    caller's value unless the receipt says it was dropped or renamed (the spec's declared policy);
    a request the router refuses is refused with a typed error naming the field, before any network."""
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://example-resource.openai.azure.com")
    case = load(path)
    body = case["request"]["body"]
    mod = adapter_for(case)
    receipt = router.Receipt(mod.id, str(body.get("model")))
    try:
        sent = mod.build_request(body, api_key=KEY, receipt=receipt).json
    except router.BadRequestError as err:
        assert err.param, f"refused without naming the field: {err}"
        return
    for key, value in body.items():
        if key in receipt.dropped or key in receipt.renamed or key in receipt.clamped or value is None:
            continue
        if key == "messages":
            assert sent[key] == [_without(m, receipt.dropped) for m in value]
        elif key == "model":
            assert sent[key] == value  # the model named is the model sent
        elif key not in mod.config.params.rename and not (
            key == "reasoning_effort" and mod.config.reasoning.effort
        ):
            assert sent.get(key) == value, key
