"""Outgoing bodies checked against the official SDKs' own request types, including a check that no
key the provider does not define is sent (extra_body is the one deliberate way to send one)."""

from __future__ import annotations

import functools
import typing
from pathlib import Path
from typing import Any

import pytest
from anthropic.types import message_create_params as anthropic_params
from conftest import canonical_cases
from conftest import load_case
from openai.types.chat import completion_create_params as openai_params
from pydantic import TypeAdapter

from router import _registry

MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5"}
CASES = [c for c in canonical_cases() if c.stem != "extra_body_headers"]
PAIRS = [(p, c) for p in sorted(MODELS) for c in CASES]

# Sampling parameters the anthropic SDK (>= 1.0) no longer declares, but which the API still takes on
# models released up to Claude Opus 4.6; specs/anthropic.yaml drops them for later models.
# https://platform.claude.com/docs/en/about-claude/model-deprecations#api-parameter-deprecations
ANTHROPIC_DEPRECATED_SAMPLING = {"temperature", "top_p", "top_k"}

SDK_TYPES: dict[str, tuple[Any, Any, set[str]]] = {
    "anthropic": (
        anthropic_params.MessageCreateParamsNonStreaming,
        anthropic_params.MessageCreateParamsStreaming,
        ANTHROPIC_DEPRECATED_SAMPLING,
    ),
    "openai": (
        openai_params.CompletionCreateParamsNonStreaming,
        openai_params.CompletionCreateParamsStreaming,
        set(),
    ),
}


@pytest.mark.parametrize(("provider", "case"), PAIRS, ids=[f"{p}-{c.stem}" for p, c in PAIRS])
def test_body_matches_official_sdk_types(provider: str, case: Path) -> None:
    mod = _registry.adapter(provider)
    request = dict(load_case(case)["request"])
    request["model"] = MODELS[provider]
    body = mod.build_request(request, api_key="k").json
    non_stream, stream, allowed_extra = SDK_TYPES[provider]
    td = stream if body.get("stream") else non_stream
    defined = set(typing.get_type_hints(td))
    unknown = set(body) - defined - allowed_extra
    assert not unknown, f"{provider} body has keys its official SDK does not define: {sorted(unknown)}"
    validated = _adapter(td).validate_python({k: v for k, v in body.items() if k not in allowed_extra})
    _consume(validated)


@functools.cache
def _adapter(td: Any) -> TypeAdapter[Any]:
    # Kept alive: the lazy iterators pydantic returns for Iterable[...] fields need their adapter.
    return TypeAdapter(td)


def _consume(obj: Any) -> None:
    """pydantic validates Iterable[...] fields lazily: walk everything so each item is checked."""
    if isinstance(obj, dict):
        for v in obj.values():
            _consume(v)
    elif isinstance(obj, str | bytes | int | float | bool) or obj is None:
        return
    elif hasattr(obj, "__iter__"):
        for v in obj:
            _consume(v)


def test_the_check_catches_a_malformed_block() -> None:
    body = {
        "model": "m",
        "max_tokens": 1,
        "messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "base64"}}]}],
    }
    with pytest.raises(ValueError):
        _consume(_adapter(anthropic_params.MessageCreateParamsNonStreaming).validate_python(body))


def test_extra_body_is_passed_through_unchanged() -> None:
    from router.generated.anthropic import ADAPTER as anthropic

    request = dict(load_case(Path(__file__).parent / "cases" / "extra_body_headers.json")["request"])
    request["model"] = "claude-haiku-4-5"
    http = anthropic.build_request(request, api_key="k")
    assert http.json["custom_field"] == {"a": 1}
    assert http.headers["X-Trace"] == "t-1"
