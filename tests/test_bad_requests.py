"""A malformed request fails before the network, naming the field by its JSON path, the same way in
sync and async, on every protocol; never a bare TypeError/AttributeError/ValueError."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from matrix import PROTOCOL_MODELS

import router

NAN, INF = float("nan"), float("inf")
OK_MSG = {"role": "user", "content": "Hi"}
MODELS = PROTOCOL_MODELS

# (field or JSON path expected in `param`, request overrides)
BAD: list[tuple[str, dict[str, Any]]] = [
    ("messages", {"messages": []}),
    ("messages", {"messages": "Hi"}),
    ("messages", {"messages": {"role": "user"}}),
    ("messages[0]", {"messages": ["Hi"]}),
    ("messages[0]", {"messages": [1]}),
    ("messages[0].role", {"messages": [{"content": "Hi"}]}),
    ("messages[0].role", {"messages": [{"role": "robot", "content": "Hi"}]}),
    ("messages[0].role", {"messages": [{"role": 1, "content": "Hi"}]}),
    ("messages[0].content", {"messages": [{"role": "user", "content": 5}]}),
    ("messages[0].content", {"messages": [{"role": "user", "content": {"text": "x"}}]}),
    ("messages[0].content[0]", {"messages": [{"role": "user", "content": ["x"]}]}),
    ("messages[0].content[0].type", {"messages": [{"role": "user", "content": [{"text": "x"}]}]}),
    ("messages[0].content[0].text", {"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]}),
    ("messages[0].content[0].image_url.url", {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]}),
    ("messages[0].content[0].image_url.url", {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": 3}}]}]}),
    ("messages[1].tool_call_id", {"messages": [OK_MSG, {"role": "tool", "content": "42"}]}),
    ("messages[1].tool_calls", {"messages": [OK_MSG, {"role": "assistant", "tool_calls": "x"}]}),
    ("messages[1].tool_calls[0]", {"messages": [OK_MSG, {"role": "assistant", "tool_calls": [1]}]}),
    ("messages[1].tool_calls[0].function", {"messages": [OK_MSG, {"role": "assistant", "tool_calls": [{"id": "c"}]}]}),
    ("messages[1].tool_calls[0].function.name", {"messages": [OK_MSG, {"role": "assistant", "tool_calls": [{"id": "c", "function": {"arguments": "{}"}}]}]}),
    ("messages[1].tool_calls[0].function.arguments", {"messages": [OK_MSG, {"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": 5}}]}]}),
    ("messages[0].name", {"messages": [{"role": "user", "content": "x", "name": 5}]}),
    *[("temperature", {"temperature": v}) for v in (-0.1, 2.5, NAN, INF, "0.5", True, [1])],
    *[("top_p", {"top_p": v}) for v in (-1, 1.5, NAN, "x")],
    *[("max_tokens", {"max_tokens": v}) for v in (0, -5, 1.5, "100", True, INF)],
    *[("max_completion_tokens", {"max_completion_tokens": v}) for v in (0, 2.0, "x")],
    *[("n", {"n": v}) for v in (0, -1, 1.5, "2")],
    *[("presence_penalty", {"presence_penalty": v}) for v in (3, -3, "x")],
    *[("frequency_penalty", {"frequency_penalty": v}) for v in (2.5, NAN)],
    *[("seed", {"seed": v}) for v in (1.5, "7", True)],
    *[("top_k", {"top_k": v}) for v in (-1, 0.5)],
    *[("top_logprobs", {"top_logprobs": v}) for v in (21, -1)],
    *[("logprobs", {"logprobs": v}) for v in (1, "yes")],
    *[("stop", {"stop": v}) for v in (5, [1, 2], {"a": 1}, ["a", None])],
    *[("stream", {"stream": v}) for v in (1, "yes")],
    *[("tools", {"tools": v}) for v in ("x", {"type": "function"})],
    ("tools[0]", {"tools": ["search"]}),
    ("tools[0].function.name", {"tools": [{"type": "function", "function": {}}]}),
    ("tools[0].function.name", {"tools": [{"type": "function"}]}),
    ("tools[0].function.parameters", {"tools": [{"type": "function", "function": {"name": "f", "parameters": "x"}}]}),
    *[("tool_choice", {"tool_choice": v}) for v in ("sometimes", 5, ["auto"])],
    *[("response_format.type", {"response_format": v}) for v in ("json", {"kind": "json_object"}, 3)],
    *[("extra_body", {"extra_body": v}) for v in ("x", [1], {1: 2})],
    *[("extra_headers", {"extra_headers": v}) for v in ("x", [("a", "b")])],
    ("extra_headers.x-a", {"extra_headers": {"x-a": 5}}),
    ("extra_headers.x-a", {"extra_headers": {"x-a": "b\r\nInjected: 1"}}),
    ("extra_headers.x-a", {"extra_headers": {"x-a": "caf\u00e9"}}),
    *[("timeout", {"timeout": v}) for v in (0, -1, "10", NAN)],
    *[("max_retries", {"max_retries": v}) for v in (-1, 1.5, "2")],
    *[("parallel_tool_calls", {"parallel_tool_calls": v}) for v in (0, "no")],
    *[("reasoning_effort", {"reasoning_effort": v}) for v in (1, ["high"])],
    *[("user", {"user": v}) for v in (5, {"id": 1})],
    *[("metadata", {"metadata": v}) for v in ("x", [1])],
    ("base_url", {"base_url": 5}),
    ("api_key", {"api_key": 5}),
]  # fmt: skip


def _never(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"a malformed request reached the network: {request.url}")


async def _anever(request: httpx.Request) -> httpx.Response:
    return _never(request)


def _call(provider: str, overrides: dict[str, Any]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"messages": [OK_MSG], "api_key": "k", **overrides}
    return {"model": MODELS[provider], **kwargs}


@pytest.mark.parametrize("provider", sorted(MODELS))
@pytest.mark.parametrize(("param", "overrides"), BAD, ids=[f"{p}-{i}" for i, (p, _) in enumerate(BAD)])
def test_bad_request_names_the_field_before_the_network(
    provider: str, param: str, overrides: dict[str, Any]
) -> None:
    kwargs = _call(provider, overrides)
    with (
        httpx.Client(transport=httpx.MockTransport(_never)) as client,
        pytest.raises(router.BadRequestError) as info,
    ):
        router.completion(http_client=client, **kwargs)
    assert info.value.param == param, str(info.value)
    assert info.value.provider == provider

    async def main() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(_anever)) as client:
            await router.acompletion(http_client=client, **kwargs)

    with pytest.raises(router.BadRequestError) as ainfo:
        asyncio.run(main())
    assert (ainfo.value.param, str(ainfo.value)) == (info.value.param, str(info.value))


def test_count() -> None:
    assert len(BAD) * len(MODELS) >= 400


@pytest.mark.parametrize("value", [NAN, INF, object()], ids=["nan", "inf", "object"])
def test_a_body_that_is_not_json_is_a_bad_request_before_sending(value: object) -> None:
    """A value in extra_body that JSON cannot carry is a BadRequestError, not a bare ValueError or
    TypeError, and nothing is sent (the base URL is a closed port)."""
    with pytest.raises(router.BadRequestError) as e:
        router.completion(
            "openai/gpt-4o-mini",
            [{"role": "user", "content": "hi"}],
            api_key="sk-secret-value",
            base_url="http://127.0.0.1:9",
            extra_body={"x": value},
            max_retries=0,
        )
    assert "JSON" in str(e.value)
    assert "sk-secret-value" not in str(e.value)
    assert e.value.__cause__ is None
