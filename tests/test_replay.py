"""Every recording of the four wire protocols in tests/fixtures/real, replayed by a server on
127.0.0.1 (streams split at awkward byte boundaries) and called through router.completion.

Through HTTP the unified answer must be exactly what the pure parse gives; streams are folded with
router.accumulate and the result is snapshotted; error answers must raise the same typed error the
adapter's map_error gives. Providers that have no spec of their own yet are read by their wire
family's adapter (openai-chat servers by `openai`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import REAL
from conftest import load_case
from loopback import Loopback
from loopback import Reply
from loopback import split_awkwardly
from openai.types.chat import ChatCompletion as OpenAIChatCompletion
from openai.types.chat import ChatCompletionChunk as OpenAIChatCompletionChunk

import router
from router import _registry

FAMILY = {
    "openai-chat": ("openai-chat", "openai"),
    "mistral-chat": ("openai-chat", "openai"),  # Mistral's chat API is OpenAI-shaped
    "anthropic-messages": ("anthropic-messages", "anthropic"),
    "gemini-generate": ("gemini", "gemini"),
    "gemini-stream": ("gemini", "gemini"),
    "ollama-chat": ("ollama-chat", "ollama"),
    "openai-responses": ("openai-responses", "openai-responses"),
    "cohere-chat-v2": ("cohere-chat-v2", "cohere"),
}
CASES = sorted(p for p in REAL.glob("*/*.json") if load_case(p)["api"] in FAMILY)
KEY = "sk-replay-SECRET-5555"


def _adapter(case: dict[str, Any]) -> Any:
    protocol, default = FAMILY[case["api"]]
    import router.generated as generated

    if case["provider"] in generated.PROVIDERS and generated.PROTOCOLS[case["provider"]] == protocol:
        return _registry.adapter(case["provider"])
    return _registry.adapter(default)


def _model(case: dict[str, Any]) -> str:
    body = case["request"].get("body") or {}
    if isinstance(body, dict) and isinstance(body.get("model"), str):
        return str(body["model"])
    url = case["request"]["url"]
    return url.split("/models/")[1].split(":")[0] if "/models/" in url else "m"


def _reply(case: dict[str, Any]) -> Reply:
    r = case["response"]
    headers = {
        k: v
        for k, v in r["headers"].items()
        if k.lower() in ("content-type", "retry-after", "request-id", "x-request-id")
    }
    headers["retry-after"] = "0"  # keep retried answers fast; the value itself is tested elsewhere
    if case["stream"]:
        return Reply(r["status"], headers, split_awkwardly(r["raw_stream"].encode()))
    raw = r["raw_body"] if r.get("body") is None else json.dumps(r["body"])
    return Reply(r["status"], headers, [raw.encode()])


def _strip(d: dict[str, Any]) -> dict[str, Any]:
    # created and, for protocols that send no id (Ollama), id are made up locally at parse time.
    d.pop("created", None)
    d.pop("router", None)
    d.pop("cost", None)
    if str(d.get("id", "")).startswith("chatcmpl-") and len(d["id"]) == 33:
        d.pop("id")
    return d


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}-{p.stem}" for p in CASES])
def test_replay_through_http(path: Path, snapshot_json: Any) -> None:
    case = load_case(path)
    mod = _adapter(case)
    stream = bool(case["stream"])
    with Loopback() as server:
        server.replies.append(_reply(case))
        call = {"api_key": KEY, "base_url": server.url, "max_retries": 0, "stream": stream}
        model = f"{mod.id}/{_model(case)}"
        msgs = [{"role": "user", "content": "replayed"}]
        status = case["response"]["status"]
        if status >= 400:
            expected = mod.map_error(status, case["response"]["headers"], _reply(case).pieces[0])
            with pytest.raises(router.APIError) as info:
                router.completion(model, msgs, **call)
            assert type(info.value) is type(expected)
            assert KEY not in str(info.value)
            assert {"class": type(info.value).__name__, "status": info.value.status} == snapshot_json
            return
        if stream:
            try:
                chunks = list(router.completion(model, msgs, **call))
            except router.APIError as err:  # an error frame inside a 200 stream
                with pytest.raises(type(err)):
                    list(mod.parse_stream_bytes([case["response"]["raw_stream"].encode()]))
                assert {"class": type(err).__name__, "status": err.status, "in_stream": True} == snapshot_json
                return
            direct = list(mod.parse_stream_bytes([case["response"]["raw_stream"].encode()]))
            assert [_strip(c.to_dict()) for c in chunks] == [_strip(c.to_dict()) for c in direct]
            for c in chunks:
                OpenAIChatCompletionChunk.model_validate(c.to_dict())
            result = router.accumulate(chunks)
        else:
            result = router.completion(model, msgs, **call)
            assert isinstance(result, router.ChatCompletion)
            direct_one = mod.parse_response(200, {}, case["response"]["body"])
            assert _strip(result.to_dict()) == _strip(direct_one.to_dict())
        OpenAIChatCompletion.model_validate(result.to_dict())
        assert _strip(result.to_dict()) == snapshot_json
