"""One regression test per defect the harvested recordings found, named after the defect (each was
fixed as a rule for every provider; tests/test_rules.py checks the rule over every spec, these pin the
recording that showed it). The recordings are in tests/fixtures/harvested, with their sources."""

from __future__ import annotations

import json
from typing import Any

import pytest
import test_harvested

import router

H = test_harvested.HARVESTED


def _case(name: str) -> dict[str, Any]:
    return test_harvested.load(H / name)


def _answer(name: str) -> Any:
    result, err = test_harvested.replay(_case(name))
    assert err is None, err
    return result


def _calls(result: Any) -> list[tuple[str, Any]]:
    return [
        (t.function.name, json.loads(t.function.arguments))
        for t in result.choices[0].message.tool_calls or ()
    ]


@pytest.mark.parametrize(
    "name", ["anthropic/stream_tool_call_web_search.json", "anthropic/stream_tool_call_web_fetch.json"]
)
def test_anthropic_server_tool_input_is_not_a_caller_tool_call(name: str) -> None:
    # server_tool_use input_json_delta fragments became a nameless tool call of the caller's.
    result = _answer(name)
    assert all(t.function.name for t in result.choices[0].message.tool_calls or ())
    assert [b["type"] for b in result.router.extra["content"]][:1] == ["server_tool_use"]  # kept, in order


def test_anthropic_message_that_starts_complete_keeps_its_tool_call() -> None:
    # Programmatic tool calling: message_start carries the tool_use block and stop_reason, no deltas.
    result = _answer("anthropic/stream_programmatic_tool_calling_response1.json")
    assert _calls(result) == [("rollDie", {"player": "player2"})]
    assert result.choices[0].finish_reason == "tool_calls"


def test_anthropic_tool_use_whose_input_comes_on_the_start_block() -> None:
    result = _answer("anthropic/stream_programmatic_tool_calling_response0.json")
    assert _calls(result) == [("rollDie", {"player": "player1"})]


def test_gemini_streamed_function_call_arguments_are_assembled() -> None:
    # Vertex AI partialArgs / willContinue parts: the name, then fragments by JSONPath, then {}.
    result = _answer("gemini/stream_function_call_partial_args.json")
    assert _calls(result) == [
        ("getWeather", {"location": "Boston"}),
        ("getWeather", {"location": "San Francisco"}),
    ]


def test_a_json_answer_sent_as_a_json_value_is_its_json_text() -> None:
    # Cloudflare Workers AI answers json_schema with message.content as an object.
    result = _answer("cloudflare/json_schema.json")
    assert json.loads(result.choices[0].message.content) == {
        "title": "Apples are tasty",
        "author": "Hadley Wickham",
    }


@pytest.mark.parametrize(
    "name",
    [
        "databricks/stream_tool_call_empty_args.json",
        "databricks/stream_after_tool_result_tool_call_empty_args.json",
    ],
)
def test_a_streamed_call_with_no_argument_text_is_an_empty_object(name: str) -> None:
    result = _answer(name)
    assert [t.function.arguments for t in result.choices[0].message.tool_calls or ()] == ["{}"]


@pytest.mark.parametrize(
    "name",
    ["openrouter/stream_tool_call_finish_reason_repeated.json",
     "openrouter/stream_tool_call_reasoning_finish_reason_repeated_finish_stop.json"],
)  # fmt: skip
def test_a_finish_reason_repeated_in_a_stream_is_given_once(name: str) -> None:
    case = _case(name)
    mod = test_harvested.adapter_for(case)
    chunks = list(mod.parse_stream_bytes([case["response"]["raw_stream"].encode()]))
    assert [c.finish_reason for ch in chunks for c in ch.choices if c.finish_reason] == ["tool_calls"]


def test_groq_stream_usage_under_x_groq_is_read() -> None:
    result = _answer("groq/stream_usage_in_x_groq.json")
    u = result.usage
    assert u is not None and u.prompt_tokens > 0 and u.prompt_tokens + u.completion_tokens == u.total_tokens


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("openai/error_429_insufficient_quota.json", router.QuotaExceededError),  # was PermissionDeniedError
        ("openai/error_400_model_not_found.json", router.BadRequestError),  # was NotFoundError
        ("groq/error_400_model_decommissioned.json", router.BadRequestError),  # was NotFoundError
    ],
)
def test_the_status_decides_the_error_class(name: str, cls: type[router.APIError]) -> None:
    _, err = test_harvested.replay(_case(name))
    assert type(err) is cls
    if isinstance(err, router.RateLimitError):
        assert not err.retryable  # a used-up quota does not clear by retrying
