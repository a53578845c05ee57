"""A call of a custom (free-form) tool reaches the caller on every spec that speaks an OpenAI protocol.

OpenAI's custom tools (https://platform.openai.com/docs/guides/function-calling#custom-tools) answer
with ``{"type": "custom", "custom": {"name", "input"}}`` in chat and a ``custom_tool_call`` output
item in Responses; ``input`` is the model's text, not JSON. A recording from DataDog/dd-trace-py
(tests/fixtures/harvested/openai/chat_custom_tool_call_ddtrace.json) showed chat raising
InvalidResponseError ("a tool call with no function name") and Responses answering finish "stop"
with the call gone. Now: a CustomToolCall, finish "tool_calls", openai's wire shape from
``to_dict()``, and a stream folds to the same call.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import router.generated as generated

import router
from router import _registry
from router._types import Receipt

CHAT = sorted(p for p, proto in generated.PROTOCOLS.items() if proto == "openai-chat")
CHAT_TOOLS = [p for p in CHAT if "tools" not in _registry.adapter(p).config.params.unsupported]
RESPONSES = sorted(p for p, proto in generated.PROTOCOLS.items() if proto == "openai-responses")
GRAMMAR_INPUT = 'SELECT "a b" FROM t -- not JSON {'


def _chat_answer() -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1755723498,
        "model": "gpt-5",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {"id": "call_a", "type": "custom", "custom": {"name": "sql", "input": GRAMMAR_INPUT}},
                        {"id": "call_b", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
    }


def _check(message: Any) -> None:
    first, second = message.tool_calls
    assert isinstance(first, router.CustomToolCall)
    assert (first.id, first.type, first.custom.name, first.custom.input) == (
        "call_a",
        "custom",
        "sql",
        GRAMMAR_INPUT,
    )
    assert (first.function.name, first.function.arguments) == (
        "sql",
        GRAMMAR_INPUT,
    )  # the same call, viewed so
    assert isinstance(second, router.ToolCall) and second.function.name == "f"


@pytest.mark.parametrize("provider", CHAT)
def test_chat_answer_with_a_custom_call(provider: str) -> None:
    adapter = _registry.adapter(provider)
    resp = adapter.parse_response(
        200, {}, json.dumps(_chat_answer()).encode(), receipt=Receipt(provider, "m")
    )
    _check(resp.choices[0].message)
    assert resp.choices[0].finish_reason == "tool_calls"
    assert resp.to_dict()["choices"][0]["message"]["tool_calls"][0] == {
        "id": "call_a",
        "type": "custom",
        "custom": {"name": "sql", "input": GRAMMAR_INPUT},
    }


@pytest.mark.parametrize("provider", CHAT)
def test_chat_stream_with_a_custom_call_folds_to_the_same_call(provider: str) -> None:
    adapter = _registry.adapter(provider)
    frames = [
        {"choices": [{"index": 0, "delta": {"role": "assistant"}}]},
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "call_a",
                                "type": "custom",
                                "custom": {"name": "sql", "input": GRAMMAR_INPUT[:7]},
                            }
                        ]
                    },
                }
            ]
        },
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [{"index": 0, "type": "custom", "custom": {"input": GRAMMAR_INPUT[7:]}}]
                    },
                }
            ]
        },
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {
                                "index": 1,
                                "id": "call_b",
                                "type": "function",
                                "function": {"name": "f", "arguments": "{}"},
                            }
                        ]
                    },
                }
            ]
        },
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    ]
    for f in frames:
        f.update({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-5"})
    raw = "".join(f"data: {json.dumps(f)}\n\n" for f in frames) + "data: [DONE]\n\n"
    chunks = list(adapter.parse_stream_bytes([raw.encode()], receipt=Receipt(provider, "m")))
    opening = chunks[1].choices[0].delta.tool_calls[0]
    # openai's chunk type knows function calls only: the fragment says custom in its own flag
    assert (opening.type, opening.custom, opening.name) == ("function", True, "sql")
    folded = router.accumulate(iter(chunks))
    _check(folded.choices[0].message)
    assert folded.choices[0].finish_reason == "tool_calls"


def _responses_items() -> list[dict[str, Any]]:
    return [
        {"id": "rs_1", "type": "reasoning", "summary": []},
        {"id": "ctc_1", "type": "custom_tool_call", "status": "completed", "call_id": "call_a", "name": "sql", "input": GRAMMAR_INPUT},
        {"id": "fc_1", "type": "function_call", "status": "completed", "call_id": "call_b", "name": "f", "arguments": "{}"},
    ]  # fmt: skip


def _responses_body() -> dict[str, Any]:
    return {"id": "resp_1", "object": "response", "created_at": 1, "model": "gpt-5", "status": "completed",
            "output": _responses_items(), "usage": {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7}}  # fmt: skip


@pytest.mark.parametrize("provider", RESPONSES)
def test_responses_answer_with_a_custom_call(provider: str) -> None:
    adapter = _registry.adapter(provider)
    resp = adapter.parse_response(
        200, {}, json.dumps(_responses_body()).encode(), receipt=Receipt(provider, "m")
    )
    _check(resp.choices[0].message)
    assert resp.choices[0].finish_reason == "tool_calls"


@pytest.mark.parametrize("provider", RESPONSES)
@pytest.mark.parametrize("deltas", [True, False], ids=["input-deltas", "done-items-only"])
def test_responses_stream_with_a_custom_call_folds_to_the_same_call(provider: str, deltas: bool) -> None:
    adapter = _registry.adapter(provider)
    items = _responses_items()
    opened = {**items[1], "input": "", "status": "in_progress"}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": {"id": "resp_1", "created_at": 1, "model": "gpt-5", "status": "in_progress", "output": []}},
        {"type": "response.output_item.done", "output_index": 0, "item": items[0]},
        {"type": "response.output_item.added", "output_index": 1, "item": opened},
    ]  # fmt: skip
    if deltas:
        events += [
            {"type": "response.custom_tool_call_input.delta", "output_index": 1, "item_id": "ctc_1", "delta": GRAMMAR_INPUT[:5]},
            {"type": "response.custom_tool_call_input.delta", "output_index": 1, "item_id": "ctc_1", "delta": GRAMMAR_INPUT[5:]},
            {"type": "response.custom_tool_call_input.done", "output_index": 1, "item_id": "ctc_1", "input": GRAMMAR_INPUT},
        ]  # fmt: skip
    events += [
        {"type": "response.output_item.done", "output_index": 1, "item": items[1]},
        {"type": "response.output_item.added", "output_index": 2, "item": {**items[2], "arguments": ""}},
        {"type": "response.output_item.done", "output_index": 2, "item": items[2]},
        {"type": "response.completed", "response": {"id": "resp_1", "created_at": 1, "model": "gpt-5", "status": "completed",
         "output": items, "usage": {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7}}},
    ]  # fmt: skip
    raw = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)
    folded = router.accumulate(adapter.parse_stream_bytes([raw.encode()], receipt=Receipt(provider, "m")))
    _check(folded.choices[0].message)
    assert folded.choices[0].finish_reason == "tool_calls"


def test_openai_sdk_reads_the_answer() -> None:
    """openai's own types take the wire form (its custom tool call model)."""
    import openai.types.chat as types  # the [dev] install has the SDK (tests/test_sdk_shapes.py)

    resp = _registry.adapter("openai").parse_response(200, {}, json.dumps(_chat_answer()).encode())
    parsed = types.ChatCompletion.model_validate(resp.to_dict())
    assert parsed.choices[0].message.tool_calls[0].type == "custom"


@pytest.mark.parametrize("provider", CHAT_TOOLS)
def test_chat_request_sends_custom_tools_and_calls_as_given(provider: str) -> None:
    adapter = _registry.adapter(provider)
    answer = adapter.parse_response(200, {}, json.dumps(_chat_answer()).encode())
    tool = {"type": "custom", "custom": {"name": "sql", "description": "SQL"}}
    messages = [{"role": "user", "content": "q"}, answer.choices[0].message.to_dict()]
    messages.append({"role": "tool", "tool_call_id": "call_a", "content": "3 rows"})
    request = {"model": "m", "messages": messages, "tools": [tool]}
    body = adapter.build_request(request, api_key="k", base_url="https://llm.example/v1").json
    assert body["tools"] == [tool]
    assert body["messages"][1]["tool_calls"][0] == {
        "id": "call_a",
        "type": "custom",
        "custom": {"name": "sql", "input": GRAMMAR_INPUT},
    }


@pytest.mark.parametrize(
    ("call", "field"),
    [
        ({"id": "c", "type": "custom", "custom": None}, "custom"),
        ({"id": "c", "type": "custom", "custom": {"input": "x"}}, "custom.name"),
        ({"id": "c", "type": "custom", "custom": {"name": "sql", "input": 7}}, "custom.input"),
    ],
)
def test_a_malformed_custom_call_in_the_history_is_refused_naming_the_field(
    call: dict[str, Any], field: str
) -> None:
    messages = [{"role": "user", "content": "q"}, {"role": "assistant", "tool_calls": [call]}]
    with pytest.raises(router.BadRequestError) as info:
        _registry.adapter("openai").build_request({"model": "m", "messages": messages}, api_key="k")
    assert f"messages[1].tool_calls[0].{field}" in str(info.value)
