"""Every provider's error table, whole: each spec (with what it inherits) classifies every error class.

- ``router validate --strict`` passes on every shipped spec, and the strict check is what the specs say.
- For every spec x every class, an error answer in the spec's own shape (its ``message_at``, ``code_at``
  and ``type_at`` paths) carrying each of the spec's entries for that class maps to that class.
- An error inside a 200 stream, in each way the spec's ``errors.in_stream`` names, raises a typed error.
- Every real error recording (tests/fixtures/real/*, copied from ../shared/fixtures/real) maps to the
  class the provider meant; the harvested ones are snapshotted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import ROOT
from conftest import error_record
from conftest import load_case

import router
from router import _registry
from router._exceptions import ERROR_KINDS
from router.cli import main
from router.compiler import validate
from router.compiler._error_tables import ERROR_CLASSES
from router.compiler._error_tables import classified

SPECS, _DIAGS = validate([ROOT / "specs"], strict=True)
BY_ID = {s.id: s for s in SPECS}
FIXTURES = ROOT / "tests" / "fixtures"
NEUTRAL_STATUS = 418  # no spec maps it: a body entry must decide the class by itself
NEUTRAL_MESSAGE = "something went wrong"


def test_strict_validation_passes_on_every_shipped_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    assert [str(d) for d in _DIAGS] == []
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, ["validate", "--strict"])
    assert result.exit_code == 0, result.output
    assert len(SPECS) >= 22


@pytest.mark.parametrize("spec_id", sorted(BY_ID))
def test_every_class_is_classified_or_declared_not_applicable(spec_id: str) -> None:
    assert classified(BY_ID[spec_id].resolved) >= set(ERROR_CLASSES)


def _put(body: dict[str, Any], path: tuple[str, ...] | None, value: Any) -> None:
    if path is None:
        return
    node = body
    for part in path[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            return
    node[path[-1]] = value


def _body(
    spec_id: str, *, message: str = NEUTRAL_MESSAGE, code: Any = None, type_: Any = None
) -> dict[str, Any]:
    rules = _registry.adapter(spec_id).config.errors
    body: dict[str, Any] = {}
    _put(body, rules.message_at, message)
    if code is not None:
        _put(body, rules.code_at, code)
    if type_ is not None:
        _put(body, rules.type_at, type_)
    return body


def _entries(spec_id: str, kinds: frozenset[str]) -> list[tuple[str, Any, str]]:
    """(table, key, kind) for every entry of the spec's compiled error table whose kind is in ``kinds``."""
    rules = _registry.adapter(spec_id).config.errors
    out: list[tuple[str, Any, str]] = [("messages", m, k) for m, k in rules.messages if k in kinds]
    if rules.code_at is not None:
        out += [("codes", c, k) for c, k in rules.codes.items() if k in kinds]
    if rules.type_at is not None:
        out += [("types", t, k) for t, k in rules.types.items() if k in kinds]
    out += [("status", s, k) for s, k in rules.status.items() if k in kinds]
    return out


CASES = [
    (spec_id, name)
    for spec_id in sorted(BY_ID)
    for name in ERROR_CLASSES
    if name != "stream_error"
    and name not in (BY_ID[spec_id].resolved.get("errors") or {}).get("not_applicable", [])
]


@pytest.mark.parametrize(("spec_id", "name"), CASES, ids=[f"{s}-{n}" for s, n in CASES])
def test_each_entry_of_each_class_maps_to_it(spec_id: str, name: str) -> None:
    adapter = _registry.adapter(spec_id)
    entries = _entries(spec_id, ERROR_CLASSES[name])
    # finish_reasons.errors may be the only entry of a class (none here but content filters); the
    # table entries are what map_error reads.
    if not entries:
        assert name in {str(v) for v in adapter.config.finish_reason_errors.values()}
        return
    for table, key, kind in entries:
        status = NEUTRAL_STATUS
        if table == "messages":
            body = _body(spec_id, message=f"Error: {key} (details follow)")
        elif table == "codes":
            body = _body(spec_id, code=key)
        elif table == "types":
            body = _body(spec_id, type_=key)
        else:
            body, status = _body(spec_id), int(key)
        err = adapter.map_error(status, {}, json.dumps(body))
        assert type(err) is ERROR_KINDS[kind], (table, key, kind, body, status)
        assert err.provider == spec_id


def _frame(framing: str, data: dict[str, Any], event: str | None = None) -> bytes:
    if framing == "ndjson":
        return (json.dumps(data) + "\n").encode()
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data)}\n\n".encode()


def _stream_bodies(spec_id: str) -> list[tuple[dict[str, Any], type[router.APIError] | None]]:
    """Error objects in the spec's shape for a rate limit or an overload, with the class they should
    give when a body entry (not the status, which a stream frame may lack) classifies them."""
    out: list[tuple[dict[str, Any], type[router.APIError] | None]] = []
    for name in ("rate_limit", "overloaded", "bad_request"):
        for table, key, kind in _entries(spec_id, ERROR_CLASSES[name]):
            if table == "messages":
                out.append((_body(spec_id, message=f"{key}!"), ERROR_KINDS[kind]))
            elif table == "codes":
                out.append((_body(spec_id, code=key), ERROR_KINDS[kind]))
            elif table == "types":
                out.append((_body(spec_id, type_=key), ERROR_KINDS[kind]))
            if out:
                return out
    return [(_body(spec_id, message="the stream failed"), None)]


STREAM_CASES = [
    (spec_id, way)
    for spec_id in sorted(BY_ID)
    for way in (BY_ID[spec_id].resolved.get("errors") or {}).get("in_stream") or ()
]

# A chunk that ends the answer with an error finish reason, per protocol (finish_reason ways only).
_FINISH_CHUNKS = {
    "openai-chat": lambda reason: {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "m",
        "choices": [
            {"index": 0, "delta": {}, "finish_reason": reason, "error": {"message": "upstream died"}}
        ],
    },
    "cohere-chat-v2": lambda reason: {
        "type": "message-end",
        "delta": {"finish_reason": reason, "error": "upstream died"},
    },
}


@pytest.mark.parametrize(("spec_id", "way"), STREAM_CASES, ids=[f"{s}-{w}" for s, w in STREAM_CASES])
def test_an_error_inside_a_stream_is_typed(spec_id: str, way: str) -> None:
    adapter = _registry.adapter(spec_id)
    cfg = adapter.config
    if way == "finish_reason":
        reason, kind = next(iter(cfg.finish_reason_errors.items()))
        frames = [_frame(cfg.stream.framing, _FINISH_CHUNKS[cfg.protocol](reason), None)]
        cases: list[tuple[list[bytes], type[router.APIError] | None]] = [(frames, ERROR_KINDS[kind])]
    else:
        cases = []
        for body, cls in _stream_bodies(spec_id):
            data = body
            event = cfg.stream.error_event if way == "event" else None
            if adapter.codec.body_error(data) is None:
                # Anthropic's documented event data is {"type": "error", "error": {...}}; other error
                # events carry the error object itself (the driver wraps it).
                tagged = {"type": "error", **body}
                data = tagged if adapter.codec.body_error(tagged) is not None else body.get("error", body)
            cases.append(([_frame(cfg.stream.framing, data, event)], cls))
    for frames, cls in cases:
        with pytest.raises(router.APIError) as info:
            list(adapter.parse_stream_bytes(frames))
        err = info.value
        assert type(err) is not router.APIError, err
        assert not isinstance(err, router.InvalidResponseError | router.APIConnectionError), err
        if cls is not None:
            assert type(err) is cls, (way, frames, err)


# Real recordings (copied from ../shared/fixtures/real into tests/fixtures/real) and what each is.
REAL = {
    "anthropic/error_400_invalid_request.json": router.BadRequestError,
    "anthropic/error_401_invalid_x_api_key.json": router.AuthenticationError,
    "cohere/error_401.json": router.AuthenticationError,
    "deepseek/error_400_context_length.json": router.ContextWindowExceededError,
    "gemini/error_400_unknown_field.json": router.BadRequestError,
    "gemini/error_403_permission_denied.json": router.AuthenticationError,  # no key at all
    "gemini/error_503_unavailable.json": router.ServiceUnavailableError,
    "groq/error_429_rate_limit.json": router.RateLimitError,
    "mistral/error_429.json": router.RateLimitError,
    "ollama/cloud_error_401.json": router.AuthenticationError,
    "openai/error_400_web_search_unsupported.json": router.BadRequestError,
    "openai/error_429_request_too_large_tpm.json": router.RequestTooLargeError,
    "openrouter/error_401_missing_auth.json": router.AuthenticationError,
    "openrouter/error_429_upstream.json": router.RateLimitError,
    "perplexity/error_401.json": router.AuthenticationError,
    "xai/error_400_context_length.json": router.ContextWindowExceededError,
}


def test_every_real_error_recording_is_listed() -> None:
    found = {p.relative_to(FIXTURES / "real").as_posix() for p in (FIXTURES / "real").glob("*/*error*.json")}
    found.discard("groq/stream_error_event_tool_use_failed.json")  # a stream: the next test
    assert found == set(REAL)


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_error_recording(name: str) -> None:
    case = load_case(FIXTURES / "real" / name)
    resp = case["response"]
    body = resp["body"] if resp.get("body") is not None else resp.get("raw_body", "")
    adapter = _registry.adapter(case["provider"])
    err = adapter.map_error(resp["status"], resp["headers"], json.dumps(body))
    assert type(err) is REAL[name], err
    assert err.status == resp["status"]


def test_request_too_large_is_a_rate_limit_that_says_retrying_cannot_help() -> None:
    case = load_case(FIXTURES / "real" / "openai" / "error_429_request_too_large_tpm.json")
    err = _registry.adapter("openai").map_error(429, {}, json.dumps(case["response"]["body"]))
    assert isinstance(err, router.RateLimitError)
    assert not isinstance(err, router.ContextWindowExceededError)
    assert err.retryable is False
    assert "retrying will not help" in str(err)
    assert "Request too large for gpt-5-nano" in str(err)
    plain = _registry.adapter("openai").map_error(
        429,
        {},
        json.dumps({"error": {"message": "Rate limit reached for requests", "code": "rate_limit_exceeded"}}),
    )
    assert type(plain) is router.RateLimitError and plain.retryable is True


def test_openrouter_keeps_the_upstream_error() -> None:
    case = load_case(FIXTURES / "real" / "openrouter" / "error_429_upstream.json")
    err = _registry.adapter("openrouter").map_error(429, {}, json.dumps(case["response"]["body"]))
    assert err.upstream_provider == "Google"
    assert isinstance(err.upstream, str) and "temporarily rate-limited upstream" in err.upstream
    assert "upstream Google" in str(err)


def test_openrouter_classifies_by_the_upstream_message_where_its_own_is_generic() -> None:
    body = {
        "error": {
            "code": 400,
            "message": "Provider returned error",
            "metadata": {
                "provider_name": "Anthropic",
                "raw": json.dumps(
                    {"type": "error", "error": {"type": "invalid_request_error",
                                                "message": "prompt is too long: 250000 tokens > 200000 maximum"}}
                ),
            },
        }
    }  # fmt: skip
    err = _registry.adapter("openrouter").map_error(400, {}, json.dumps(body))
    assert type(err) is router.ContextWindowExceededError
    assert err.upstream_provider == "Anthropic"


def test_litellm_proxy_keeps_the_wrapped_upstream_class() -> None:
    body = {
        "error": {
            "message": "litellm.ContextWindowExceededError: AnthropicException - prompt is too long",
            "type": "invalid_request_error",
            "param": None,
            "code": "400",
            "provider_specific_fields": {"error": {"type": "invalid_request_error"}},
        }
    }
    err = _registry.adapter("litellm").map_error(400, {}, json.dumps(body))
    assert type(err) is router.ContextWindowExceededError
    assert err.upstream == {"error": {"type": "invalid_request_error"}}


@pytest.mark.parametrize(
    ("provider", "status", "body", "cls"),
    [
        # Together documents 403 as input + max_tokens over the context length.
        ("together", 403, {"error": {"message": "Input validation error", "type": "invalid_request_error"}},
         router.ContextWindowExceededError),
        # Fireworks documents 403 as a bad API key.
        ("fireworks", 403, {"error": {"message": "Forbidden", "type": "invalid_request_error"}},
         router.AuthenticationError),
        ("openai", 403, {"error": {"message": "Country, region, or territory not supported", "type": "request_forbidden"}},
         router.PermissionDeniedError),
        ("deepseek", 400, {"error": {"message": "Content Exists Risk", "type": "invalid_request_error",
                                     "code": "invalid_request_error"}}, router.ContentFilterError),
        ("openai", 400, {"error": {"message": "Invalid prompt: your prompt was flagged as potentially violating our "
                                              "usage policy. Please try again with a different prompt",
                                   "type": "invalid_request_error", "code": "invalid_prompt"}}, router.ContentFilterError),
        ("openai", 503, {"error": {"message": "Slow Down", "type": "service_unavailable_error", "code": "slow_down"}},
         router.ServiceUnavailableError),
        ("anthropic", 400, {"type": "error", "error": {"type": "invalid_request_error", "message":
                            "input length and `max_tokens` exceed context limit: 198000 + 8192 > 200000"}},
         router.ContextWindowExceededError),
        ("llamacpp", 503, {"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}},
         router.ServiceUnavailableError),
        ("ollama", 400, {"error": "the input length exceeds the context length"}, router.ContextWindowExceededError),
        ("mistral", 400, {"object": "error", "message": "Prompt contains 66385 tokens, too large for model with 32768 "
                          "maximum context length", "type": "invalid_request_error", "param": None, "code": None},
         router.ContextWindowExceededError),
        ("cohere", 400, {"id": "x", "message": "too many tokens: total number of tokens in the prompt cannot exceed 4081"},
         router.ContextWindowExceededError),
        ("openrouter", 403, {"error": {"code": 403, "message": "Your chosen model requires moderation and your input "
                                       "was flagged", "metadata": {"reasons": ["harassment"], "flagged_input": "..."}}},
         router.ContentFilterError),
    ],
    ids=["together-403", "fireworks-403", "openai-403", "deepseek-risk", "openai-invalid-prompt", "openai-slow-down",
         "anthropic-exceed-limit", "llamacpp-loading", "ollama-context", "mistral-context", "cohere-context",
         "openrouter-moderation"],
)  # fmt: skip
def test_documented_errors(provider: str, status: int, body: Any, cls: type[router.APIError]) -> None:
    err = _registry.adapter(provider).map_error(status, {}, json.dumps(body))
    assert type(err) is cls, err


HARVESTED = sorted(
    p
    for p in (FIXTURES / "harvested").glob("*/error_*.json")
    if p.parent.name in BY_ID and not load_case(p).get("stream")
)


@pytest.mark.parametrize("path", HARVESTED, ids=[f"{p.parent.name}-{p.stem}" for p in HARVESTED])
def test_harvested_error_recording(path: Path, snapshot_json: Any) -> None:
    case = load_case(path)
    resp = case["response"]
    body = resp["body"] if resp.get("body") is not None else resp.get("raw_body", "")
    adapter = _registry.adapter(case["provider"])
    if resp["status"] < 400:  # an error object in a 200 body: what parse_response raises
        with pytest.raises(router.APIError) as info:
            adapter.parse_response(resp["status"], resp.get("headers") or {}, json.dumps(body))
        err = info.value
    else:
        err = adapter.map_error(resp["status"], resp.get("headers") or {}, json.dumps(body))
    assert type(err) is not router.APIError
    record = error_record(err, request_id=False)
    record["upstream_provider"] = err.upstream_provider
    assert record == snapshot_json
