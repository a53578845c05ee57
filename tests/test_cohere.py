"""The cohere-chat-v2 codec (Cohere's native POST /v2/chat) through generated/cohere.py.

1. every canonical case -> the exact HTTP request: in the one matrix, tests/test_translation.py
   (snapshots test_translation[cohere-*]); here, the Cohere particulars (tool_choice, tool plans and
   citations sent back, thinking, parameter renames and ranges);
2. every outgoing body checked against the official ``cohere`` SDK: its V2 message, tool, response
   format and thinking types (which allow unknown keys, so key sets are checked here explicitly), and
   the body keys against the parameters of its own ``chat`` call;
3. answers and streams in the shapes of the SDK's V2ChatResponse / V2ChatStreamResponse types (each
   validated with those types first) through parse_response / parse_stream_bytes, checked against the
   official ``openai`` types; a stream folds into what the same answer gives whole;
4. error bodies (the real recording ../shared/fixtures/real/cohere/error_401.json), failed and cut
   streams -> typed errors.

Docs: https://docs.cohere.com/reference/chat , https://docs.cohere.com/reference/chat-stream ,
https://docs.cohere.com/docs/streaming , https://docs.cohere.com/reference/errors
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import pydantic
import pytest
from cohere import ChatMessageV2
from cohere import ResponseFormatV2
from cohere import Thinking
from cohere import ToolV2
from cohere.v2.raw_client import RawV2Client
from cohere.v2.types import V2ChatResponse
from cohere.v2.types import V2ChatStreamResponse
from conftest import REAL
from conftest import canonical_cases
from conftest import load_case
from conftest import real_cases
from matrix import TEST_MODELS
from openai.types.chat import ChatCompletion as OpenAIChatCompletion
from openai.types.chat import ChatCompletionChunk as OpenAIChatCompletionChunk
from router.generated.cohere import ADAPTER as adapter

import router
from router import Receipt

MODEL = TEST_MODELS["cohere"]
REASONING = "command-a-reasoning-08-2025"
KEY = "co-test-KEY-DO-NOT-LEAK-42"
CASES = canonical_cases()
HARVESTED = Path(__file__).parent / "fixtures" / "harvested" / "cohere"
RECORDED = [
    p
    for p in [*real_cases("cohere"), *sorted(HARVESTED.glob("*.json"))]
    if load_case(p).get("api") == "cohere-chat-v2"
]

MESSAGE = pydantic.TypeAdapter(ChatMessageV2)
TOOL = pydantic.TypeAdapter(ToolV2)
RESPONSE_FORMAT = pydantic.TypeAdapter(ResponseFormatV2)
STREAM_EVENT = pydantic.TypeAdapter(V2ChatStreamResponse)
# The body keys the official client's chat() sends (src/cohere/v2/raw_client.py), plus stream.
CHAT_FIELDS = set(inspect.signature(RawV2Client.chat).parameters) - {"self", "request_options"} | {"stream"}
MESSAGE_FIELDS = {
    "system": {"role", "content"},
    "user": {"role", "content"},
    "assistant": {"role", "content", "tool_calls", "tool_plan", "citations"},
    "tool": {"role", "tool_call_id", "content"},
}
USAGE = {
    "billed_units": {"input_tokens": 9, "output_tokens": 4},
    "tokens": {"input_tokens": 210, "output_tokens": 4},
}


def _request(case: Path, **extra: Any) -> dict[str, Any]:
    request = dict(load_case(case)["request"])
    request["model"] = MODEL
    request.update(extra)
    return request


def _msgs(text: str = "x") -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def _body(**request: Any) -> dict[str, Any]:
    request.setdefault("model", MODEL)
    request.setdefault("messages", _msgs())
    body: dict[str, Any] = adapter.build_request(request, api_key=KEY).json
    return body


def _answer(**fields: Any) -> dict[str, Any]:
    """A V2ChatResponse body (validated with the SDK's type before use)."""
    answer = {
        "id": "5a50480a-cf52-46f0-af01-53d18539bd31",
        "finish_reason": "COMPLETE",
        "message": {"role": "assistant", "content": [{"type": "text", "text": "Hello!"}]},
        "usage": USAGE,
        **fields,
    }
    V2ChatResponse.model_validate(answer)
    return answer


def _sse(*events: dict[str, Any]) -> bytes:
    out = []
    for ev in events:
        STREAM_EVENT.validate_python(ev)  # each event has the SDK's stream-event shape
        out.append(f"event: {ev['type']}\ndata: {json.dumps(ev)}\n\n")
    return "".join(out).encode()


def _start(id_: str = "5a50480a-cf52-46f0-af01-53d18539bd31") -> dict[str, Any]:
    message = {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}
    return {"id": id_, "type": "message-start", "delta": {"message": message}}


def _content_start(index: int, kind: str = "text") -> dict[str, Any]:
    return {
        "type": "content-start",
        "index": index,
        "delta": {"message": {"content": {"type": kind, kind: ""}}},
    }


def _content_delta(index: int, text: str, kind: str = "text") -> dict[str, Any]:
    return {"type": "content-delta", "index": index, "delta": {"message": {"content": {kind: text}}}}


def _end(finish: str = "COMPLETE", usage: Any = USAGE, **delta: Any) -> dict[str, Any]:
    return {"type": "message-end", "delta": {"finish_reason": finish, "usage": usage, **delta}}


def _stream(raw: bytes) -> list[Any]:
    chunks = list(adapter.parse_stream_bytes([raw]))
    for c in chunks:
        OpenAIChatCompletionChunk.model_validate(c.to_dict())
    return chunks


# --------------------------------------------------------------------------- 1. translation


def test_url_auth_and_stream_flag() -> None:
    http = adapter.build_request({"model": MODEL, "messages": _msgs()}, api_key=KEY)
    assert http.url == "https://api.cohere.com/v2/chat"
    assert http.headers["Authorization"] == f"Bearer {KEY}"
    assert "stream" not in http.json and http.stream is False
    streamed = adapter.build_request({"model": MODEL, "messages": _msgs(), "stream": True}, api_key=KEY)
    assert streamed.json["stream"] is True and streamed.stream is True
    assert KEY not in repr(http) and KEY not in json.dumps(http.redacted())


def test_key_from_either_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COHERE_API_KEY", KEY)
    assert (
        adapter.build_request({"model": MODEL, "messages": _msgs()}).headers["Authorization"]
        == f"Bearer {KEY}"
    )
    monkeypatch.setenv("CO_API_KEY", "first")
    assert (
        adapter.build_request({"model": MODEL, "messages": _msgs()}).headers["Authorization"]
        == "Bearer first"
    )


def test_parameters_are_renamed_and_kept_in_cohere_ranges() -> None:
    receipt = Receipt("cohere", MODEL)
    body = adapter.build_request(
        {
            "model": MODEL,
            "messages": _msgs(),
            "max_completion_tokens": 50,
            "max_tokens": 10,
            "top_p": 1.0,
            "top_k": 900,
            "stop": "END",
            "temperature": 1.5,
            "frequency_penalty": -1,
            "presence_penalty": 2,
            "seed": 7,
        },
        api_key=KEY,
        receipt=receipt,
    ).json
    assert body["max_tokens"] == 50 and receipt.dropped == ["max_tokens"]
    assert (body["p"], body["k"], body["stop_sequences"], body["seed"]) == (0.99, 500, ["END"], 7)
    assert (body["temperature"], body["frequency_penalty"], body["presence_penalty"]) == (1, 0, 1)
    assert set(receipt.clamped) == {"top_p", "top_k", "temperature", "frequency_penalty", "presence_penalty"}
    assert not {"top_p", "top_k", "stop", "max_completion_tokens"} & set(body)


def test_unsupported_parameters_are_dropped_or_refused() -> None:
    receipt = Receipt("cohere", MODEL)
    adapter.build_request(
        {"model": MODEL, "messages": _msgs(), "n": 2, "logit_bias": {"1": 1}, "user": "u"},
        api_key=KEY,
        receipt=receipt,
    )
    assert receipt.dropped == ["n", "logit_bias", "user"]
    with pytest.raises(router.UnsupportedParamsError, match="'n'"):
        adapter.build_request({"model": MODEL, "messages": _msgs(), "n": 2}, api_key=KEY, strict=True)


@pytest.mark.parametrize(
    ("choice", "expected"),
    [("auto", None), ("required", "REQUIRED"), ("none", "NONE"), (None, None)],
)
def test_tool_choice(choice: Any, expected: Any) -> None:
    tools = load_case(Path(__file__).parent / "cases" / "tools.json")["request"]["tools"]
    body = _body(tools=tools, tool_choice=choice)
    assert body.get("tool_choice") == expected
    assert len(body["tools"]) == len(tools)


def test_a_named_tool_choice_is_that_tool_alone_required() -> None:
    tools = [
        {"type": "function", "function": {"name": "a", "parameters": {"type": "object", "properties": {}}}},
        {"type": "function", "function": {"name": "b", "parameters": {"type": "object", "properties": {}}}},
    ]
    body = _body(tools=tools, tool_choice={"type": "function", "function": {"name": "b"}})
    assert body["tool_choice"] == "REQUIRED"
    assert [t["function"]["name"] for t in body["tools"]] == ["b"]
    with pytest.raises(router.BadRequestError, match="not in tools"):
        _body(tools=tools, tool_choice={"type": "function", "function": {"name": "c"}})
    with pytest.raises(router.BadRequestError, match="not one OpenAI defines"):
        _body(tools=tools, tool_choice="sometimes")


def test_parallel_tool_calls_false_is_dropped_or_refused() -> None:
    tools = load_case(Path(__file__).parent / "cases" / "tools.json")["request"]["tools"]
    receipt = Receipt("cohere", MODEL)
    adapter.build_request(
        {"model": MODEL, "messages": _msgs(), "tools": tools, "parallel_tool_calls": False},
        api_key=KEY,
        receipt=receipt,
    )
    assert receipt.dropped == ["parallel_tool_calls"]
    with pytest.raises(router.UnsupportedParamsError, match="parallel_tool_calls"):
        adapter.build_request(
            {"model": MODEL, "messages": _msgs(), "tools": tools, "parallel_tool_calls": False},
            api_key=KEY,
            strict=True,
        )


def test_strict_tools_when_every_tool_is_strict() -> None:
    fn = {"name": "f", "strict": True, "parameters": {"type": "object", "properties": {}}}
    body = _body(tools=[{"type": "function", "function": fn}])
    assert body["strict_tools"] is True
    assert "strict" not in body["tools"][0]["function"]
    mixed = _body(
        tools=[{"type": "function", "function": fn}, {"type": "function", "function": {"name": "g"}}]
    )
    assert "strict_tools" not in mixed
    assert mixed["tools"][1]["function"]["parameters"] == {"type": "object", "properties": {}}


def test_response_formats() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    assert _body(response_format={"type": "json_object"})["response_format"] == {"type": "json_object"}
    body = _body(response_format={"type": "json_schema", "json_schema": {"name": "c", "schema": schema}})
    assert body["response_format"] == {"type": "json_object", "json_schema": schema}
    assert "response_format" not in _body(response_format={"type": "text"})


@pytest.mark.parametrize(
    ("effort", "thinking", "max_tokens"),
    [
        ("none", {"type": "disabled"}, 100),
        ("low", {"type": "enabled", "token_budget": 2048}, 2148),
        ("medium", {"type": "enabled", "token_budget": 8192}, 8292),
        ("high", {"type": "enabled"}, 100),
    ],
)
def test_reasoning_effort_becomes_thinking(effort: str, thinking: Any, max_tokens: int) -> None:
    receipt = Receipt("cohere", REASONING)
    body = adapter.build_request(
        {"model": REASONING, "messages": _msgs(), "reasoning_effort": effort, "max_tokens": 100},
        api_key=KEY,
        receipt=receipt,
    ).json
    assert body["thinking"] == thinking
    Thinking.model_validate(body["thinking"])
    assert body["max_tokens"] == max_tokens  # the answer keeps its room above the thinking budget
    assert "reasoning_effort" not in body


def test_reasoning_effort_on_a_model_without_thinking_is_dropped_or_refused() -> None:
    receipt = Receipt("cohere", MODEL)
    body = adapter.build_request(
        {"model": MODEL, "messages": _msgs(), "reasoning_effort": "low"}, api_key=KEY, receipt=receipt
    ).json
    assert "thinking" not in body and receipt.dropped == ["reasoning_effort"]
    with pytest.raises(router.UnsupportedParamsError, match="reasoning_effort"):
        adapter.build_request(
            {"model": MODEL, "messages": _msgs(), "reasoning_effort": "low"}, api_key=KEY, strict=True
        )


def test_content_parts() -> None:
    parts = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}},
    ]
    body = _body(messages=[{"role": "developer", "content": "Be brief."}, {"role": "user", "content": parts}])
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": parts},
    ]
    with pytest.raises(router.UnsupportedParamsError, match="type 'input_audio'"):
        _body(messages=[{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}])
    with pytest.raises(router.UnsupportedParamsError, match="type 'image_url' in this role"):
        _body(messages=[{"role": "system", "content": parts}, *_msgs()])
    with pytest.raises(router.UnsupportedParamsError, match="legacy role 'function'"):
        _body(messages=[*_msgs(), {"role": "function", "name": "f", "content": "1"}])


def test_tool_round_trip() -> None:
    """An answer with a plan, tool calls, thinking and citations, appended as apps append it, goes
    back as Cohere's own assistant message (tool_plan, tool_calls, thinking content, citations)."""
    citation = {
        "start": 0,
        "end": 4,
        "text": "Paris",
        "sources": [{"type": "tool", "id": "t1:0", "tool_output": {}}],
    }
    answer = adapter.parse_response(
        200,
        {},
        _answer(
            finish_reason="TOOL_CALL",
            message={
                "role": "assistant",
                "content": [{"type": "thinking", "thinking": "Need the weather."}],
                "tool_plan": "I will look up the weather in Paris.",
                "tool_calls": [
                    {
                        "id": "get_weather_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    },
                    {"id": "now_2", "type": "function", "function": {"name": "now", "arguments": ""}},
                ],
                "citations": [citation],
            },
        ),
    )
    message = answer.choices[0].message
    messages = [
        {"role": "user", "content": "Weather in Paris?"},
        message,  # a Message object
        {"role": "tool", "tool_call_id": "get_weather_1", "content": '{"temp": 18}'},
        {"role": "tool", "tool_call_id": "now_2", "content": [{"type": "text", "text": "10:00"}]},
    ]
    sent = _body(model=REASONING, messages=messages)["messages"]
    assert sent[1] == {
        "role": "assistant",
        "content": [{"type": "thinking", "thinking": "Need the weather."}],
        "tool_plan": "I will look up the weather in Paris.",
        "citations": [citation],
        "tool_calls": [
            {"id": "get_weather_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}},
            {"id": "now_2", "type": "function", "function": {"name": "now", "arguments": "{}"}},
        ],
    }  # fmt: skip
    assert sent[2] == {"role": "tool", "tool_call_id": "get_weather_1", "content": '{"temp": 18}'}
    assert sent[3] == {
        "role": "tool",
        "tool_call_id": "now_2",
        "content": [{"type": "text", "text": "10:00"}],
    }
    for m in sent:
        MESSAGE.validate_python(m)


def test_other_protocols_blocks_are_not_sent() -> None:
    assistant = {
        "role": "assistant",
        "content": "4",
        "reasoning_blocks": [
            {"type": "thinking", "thinking": "t", "signature": "s"},
            {"type": "gemini", "x": 1},
        ],
    }
    sent = _body(messages=[*_msgs(), assistant, *_msgs("again")])["messages"]
    assert sent[1] == {"role": "assistant", "content": "4"}


def test_bad_tool_arguments_fail_before_the_network() -> None:
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{not json"}}
    with pytest.raises(router.BadRequestError, match="not JSON"):
        _body(messages=[*_msgs(), {"role": "assistant", "content": None, "tool_calls": [call]}])


def test_extra_body_reaches_cohere_only_fields() -> None:
    body = _body(extra_body={"safety_mode": "STRICT", "documents": ["Paris is in France."]})
    assert body["safety_mode"] == "STRICT" and body["documents"] == ["Paris is in France."]


# --------------------------------------------------------------------------- 2. official SDK types


@pytest.mark.parametrize("case", CASES, ids=[f"cohere-{c.stem}" for c in CASES])
def test_body_matches_official_sdk_types(case: Path) -> None:
    model = REASONING if load_case(case)["request"].get("reasoning_effort") else MODEL
    body = adapter.build_request(_request(case, model=model), api_key=KEY).json
    extra = set(load_case(case)["request"].get("extra_body") or {})
    unknown = set(body) - CHAT_FIELDS - extra
    assert not unknown, f"body has keys cohere's V2 chat() does not send: {sorted(unknown)}"
    assert isinstance(body["model"], str) and body["messages"]
    for m in body["messages"]:
        assert set(m) <= MESSAGE_FIELDS[m["role"]], (m["role"], sorted(set(m) - MESSAGE_FIELDS[m["role"]]))
        MESSAGE.validate_python(m)
    for t in body.get("tools") or ():
        assert set(t) == {"type", "function"} and set(t["function"]) <= {"name", "description", "parameters"}
        TOOL.validate_python(t)
    if "response_format" in body:
        RESPONSE_FORMAT.validate_python(body["response_format"])
    if "thinking" in body:
        Thinking.model_validate(body["thinking"])
    if "tool_choice" in body:
        assert body["tool_choice"] in ("REQUIRED", "NONE")
    if "stop_sequences" in body:
        assert isinstance(body["stop_sequences"], list) and len(body["stop_sequences"]) <= 5


# --------------------------------------------------------------------------- 3. answers and streams


def test_text_answer(fixed_clock: int) -> None:
    result = adapter.parse_response(200, {}, json.dumps(_answer()).encode())
    OpenAIChatCompletion.model_validate(result.to_dict())
    choice = result.choices[0]
    assert result.id == "5a50480a-cf52-46f0-af01-53d18539bd31" and result.created == fixed_clock
    assert (choice.message.content, choice.finish_reason, choice.native_finish_reason) == (
        "Hello!",
        "stop",
        "COMPLETE",
    )
    assert choice.message.reasoning_blocks is None and choice.message.tool_calls is None
    # usage.tokens (what the model read and wrote), not billed_units
    assert result.usage is not None
    assert (result.usage.prompt_tokens, result.usage.completion_tokens, result.usage.total_tokens) == (
        210,
        4,
        214,
    )


def test_usage_falls_back_to_billed_units() -> None:
    result = adapter.parse_response(
        200, {}, _answer(usage={"billed_units": {"input_tokens": 9, "output_tokens": 4}, "cached_tokens": 3})
    )
    assert result.usage is not None
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (9, 4)
    assert result.usage.prompt_tokens_details.cached_tokens == 3
    assert adapter.parse_response(200, {}, _answer(usage=None)).usage is None


def test_thinking_answer() -> None:
    message = {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "Alice is a sister too."},
            {"type": "text", "text": "3"},
        ],
    }
    result = adapter.parse_response(200, {}, _answer(message=message))
    OpenAIChatCompletion.model_validate(result.to_dict())
    m = result.choices[0].message
    assert (m.content, m.reasoning_content) == ("3", "Alice is a sister too.")


def test_tool_call_answer() -> None:
    message = {
        "role": "assistant",
        "tool_plan": "I will search for the weather.",
        "tool_calls": [
            {"id": "get_weather_0", "type": "function", "function": {"name": "get_weather", "arguments": '{"location":"Toronto"}'}},
            {"id": "now_1", "type": "function", "function": {"name": "now", "arguments": ""}},
        ],
    }  # fmt: skip
    result = adapter.parse_response(200, {}, _answer(message=message, finish_reason="TOOL_CALL"))
    OpenAIChatCompletion.model_validate(result.to_dict())
    choice = result.choices[0]
    assert (choice.finish_reason, choice.native_finish_reason) == ("tool_calls", "TOOL_CALL")
    assert choice.message.content is None
    calls = choice.message.tool_calls or []
    assert [(c.id, c.function.name, c.function.arguments) for c in calls] == [
        ("get_weather_0", "get_weather", '{"location":"Toronto"}'),
        ("now_1", "now", "{}"),  # no arguments is "{}", never ""
    ]
    assert choice.message.reasoning_blocks == [
        {"type": "cohere", "tool_plan": "I will search for the weather."}
    ]


def test_citations_are_kept() -> None:
    citations = [
        {"start": 0, "end": 5, "text": "Paris", "type": "TEXT_CONTENT", "content_index": 0,
         "sources": [{"type": "document", "id": "doc:0", "document": {"id": "doc:0", "text": "Paris is..."}}]},
    ]  # fmt: skip
    message = {
        "role": "assistant",
        "content": [{"type": "text", "text": "Paris is the capital."}],
        "citations": citations,
    }
    result = adapter.parse_response(200, {}, _answer(message=message))
    assert result.choices[0].message.reasoning_blocks == [{"type": "cohere", "citations": citations}]
    assert result.to_dict()["choices"][0]["message"]["reasoning_blocks"][0]["citations"] == citations


@pytest.mark.parametrize(
    ("native", "finish"),
    [("COMPLETE", "stop"), ("STOP_SEQUENCE", "stop"), ("MAX_TOKENS", "length"), ("TOOL_CALL", "tool_calls")],
)
def test_finish_reasons(native: str, finish: str) -> None:
    choice = adapter.parse_response(200, {}, _answer(finish_reason=native)).choices[0]
    assert (choice.finish_reason, choice.native_finish_reason) == (finish, native)


def test_unknown_finish_reason_is_kept_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="router"):
        choice = adapter.parse_response(200, {}, _answer(finish_reason="BRAND_NEW")).choices[0]
    assert (choice.finish_reason, choice.native_finish_reason) == ("stop", "BRAND_NEW")
    assert "BRAND_NEW" in caplog.text


@pytest.mark.parametrize(
    ("native", "cls"), [("ERROR", router.InternalServerError), ("TIMEOUT", router.APITimeoutError)]
)
def test_failed_generations_raise(native: str, cls: type[Exception]) -> None:
    with pytest.raises(cls, match=native) as info:
        adapter.parse_response(200, {}, _answer(finish_reason=native))
    assert isinstance(info.value, router.APIError) and info.value.provider == "cohere"


def test_text_stream_folds_into_the_whole_answer(fixed_clock: int) -> None:
    raw = _sse(
        _start(),
        _content_start(0),
        _content_delta(0, "Hel"),
        _content_delta(0, "lo!"),
        {"type": "content-end", "index": 0},
        _end(),
    )
    chunks = _stream(raw)
    deltas = [c.choices[0].delta.to_dict() for c in chunks if c.choices]
    assert deltas == [{"role": "assistant", "content": ""}, {"content": "Hel"}, {"content": "lo!"}, {}]
    finishes = [(c.choices[0].finish_reason, c.choices[0].native_finish_reason) for c in chunks if c.choices]
    assert [f for f in finishes if f[0]] == [("stop", "COMPLETE")]  # exactly one finish reason
    assert chunks[-1].choices == [] and chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 214
    assert {c.id for c in chunks} == {"5a50480a-cf52-46f0-af01-53d18539bd31"}
    whole = adapter.parse_response(200, {}, _answer())
    folded = router.accumulate(chunks)
    assert folded.to_dict() == whole.to_dict() | {"model": folded.model}


def test_tool_call_stream_with_plan(fixed_clock: int) -> None:
    call = {"id": "get_weather_0", "type": "function", "function": {"name": "get_weather", "arguments": ""}}
    bare = {"id": "now_1", "type": "function", "function": {"name": "now", "arguments": ""}}
    raw = _sse(
        _start(),
        {"type": "tool-plan-delta", "delta": {"message": {"tool_plan": "I will search"}}},
        {"type": "tool-plan-delta", "delta": {"message": {"tool_plan": " for the weather."}}},
        {"type": "tool-call-start", "index": 0, "delta": {"message": {"tool_calls": call}}},
        {"type": "tool-call-delta", "index": 0, "delta": {"message": {"tool_calls": {"function": {"arguments": '{"location":'}}}}},
        {"type": "tool-call-delta", "index": 0, "delta": {"message": {"tool_calls": {"function": {"arguments": '"Toronto"}'}}}}},
        {"type": "tool-call-end", "index": 0},
        {"type": "tool-call-start", "index": 1, "delta": {"message": {"tool_calls": bare}}},
        {"type": "tool-call-end", "index": 1},
        _end("TOOL_CALL"),
    )  # fmt: skip
    chunks = _stream(raw)
    folded = router.accumulate(chunks)
    whole = adapter.parse_response(
        200,
        {},
        _answer(
            finish_reason="TOOL_CALL",
            message={
                "role": "assistant",
                "tool_plan": "I will search for the weather.",
                "tool_calls": [
                    {**call, "function": {"name": "get_weather", "arguments": '{"location":"Toronto"}'}},
                    bare,
                ],
            },
        ),
    )
    assert folded.to_dict() == whole.to_dict() | {"model": folded.model}
    calls = folded.choices[0].message.tool_calls or []
    assert [c.function.arguments for c in calls] == ['{"location":"Toronto"}', "{}"]
    assert [c.choices[0].finish_reason for c in chunks if c.choices].count("tool_calls") == 1


def test_thinking_and_citation_stream() -> None:
    citation = {
        "start": 0,
        "end": 5,
        "text": "Paris",
        "sources": [{"type": "document", "id": "doc:0", "document": {}}],
    }
    raw = _sse(
        _start(),
        _content_start(0, "thinking"),
        _content_delta(0, "The user asks", "thinking"),
        _content_delta(0, " about Paris.", "thinking"),
        {"type": "content-end", "index": 0},
        _content_start(1),
        _content_delta(1, "Paris is the capital."),
        {"type": "citation-start", "index": 0, "delta": {"message": {"citations": citation}}},
        {"type": "citation-end", "index": 0},
        {"type": "content-end", "index": 1},
        {"type": "debug", "prompt": "..."},
        _end(),
    )
    chunks = _stream(raw)
    deltas = [c.choices[0].delta.to_dict() for c in chunks if c.choices]
    assert deltas[1:3] == [{"reasoning_content": "The user asks"}, {"reasoning_content": " about Paris."}]
    folded = router.accumulate(chunks).choices[0].message
    assert (folded.content, folded.reasoning_content) == (
        "Paris is the capital.",
        "The user asks about Paris.",
    )
    assert folded.reasoning_blocks == [{"type": "cohere", "citations": [citation]}]


def test_a_stream_cut_before_message_end_is_a_connection_error() -> None:
    raw = _sse(_start(), _content_start(0), _content_delta(0, "Hel"))
    got: list[Any] = []
    with pytest.raises(router.APIConnectionError, match="message-end"):
        for chunk in adapter.parse_stream_bytes([raw]):
            got.append(chunk)
    assert [c.choices[0].delta.content for c in got] == ["", "Hel"]  # what arrived was delivered first


def test_a_stream_that_failed_raises_with_cohere_s_message() -> None:
    raw = _sse(
        _start(), _content_start(0), _content_delta(0, "Hel"), _end("ERROR", None, error="internal failure")
    )
    with pytest.raises(router.InternalServerError, match="internal failure") as info:
        list(adapter.parse_stream_bytes([raw]))
    assert info.value.retryable and info.value.provider == "cohere"


def test_stream_stops_at_message_end() -> None:
    raw = _sse(_start(), _end()) + b"event: content-delta\ndata: not json\n\n"
    chunks = list(adapter.parse_stream_bytes([raw]))
    assert [c.choices[0].finish_reason for c in chunks if c.choices] == [None, "stop"]


def test_an_error_object_inside_a_stream_is_typed() -> None:
    raw = _sse(_start()) + b'data: {"id": "x", "message": "too many tokens: prompt cannot exceed 256000"}\n\n'
    with pytest.raises(router.ContextWindowExceededError):
        list(adapter.parse_stream_bytes([raw]))


# --------------------------------------------------------------------------- 4. errors


def test_the_real_401_recording_is_an_authentication_error() -> None:
    case = load_case(REAL / "cohere" / "error_401.json")
    r = case["response"]
    with pytest.raises(router.AuthenticationError, match="Incorrect API key provided") as info:
        adapter.parse_response(r["status"], r["headers"], json.dumps(r["body"]).encode())
    assert info.value.request_id == "2d4609a6-d1f9-4cf4-8d09-af865409bdc2"  # the body's id
    assert not info.value.retryable
    # the recorded request is what we send for the same call
    sent = adapter.build_request(
        {"model": "command-a-03-2025", "messages": case["request"]["body"]["messages"]}, api_key=KEY
    )
    assert sent.url == case["request"]["url"]
    assert {k: v for k, v in sent.json.items()} == {
        k: v for k, v in case["request"]["body"].items() if k != "stream"
    }


@pytest.mark.parametrize(
    ("status", "message", "cls"),
    [
        (400, "invalid request: message must be at least 1 token long", router.BadRequestError),
        (400, "too many tokens: total number of tokens in the prompt cannot exceed 256000 - received 300000.", router.ContextWindowExceededError),
        (400, "too many tokens: max tokens must be less than or equal to 4096, the maximum output for this model - received 8192.", router.BadRequestError),
        (402, "Please add or update your payment method", router.PermissionDeniedError),
        (404, "model 'nope' not found, make sure the correct model ID was used", router.NotFoundError),
        (422, "invalid request: unknown field", router.BadRequestError),
        (429, "You are past the per minute request limit, please wait and try again later.", router.RateLimitError),
        (498, "invalid api token", router.AuthenticationError),
        (499, "request cancelled by user", router.APIConnectionError),
        (500, "internal server error", router.InternalServerError),
        (503, "service unavailable", router.ServiceUnavailableError),
        (504, "gateway timeout", router.APITimeoutError),
    ],
    ids=["bad", "context", "max-tokens", "payment", "not-found", "unprocessable", "rate-limit", "invalid-token",
         "cancelled", "internal", "unavailable", "gateway-timeout"],
)  # fmt: skip
def test_error_answers_are_typed(status: int, message: str, cls: type[Exception]) -> None:
    body = json.dumps({"id": "e1", "message": message}).encode()
    with pytest.raises(cls) as info:
        adapter.parse_response(status, {}, body)
    err = info.value
    assert type(err) is cls and isinstance(err, router.APIError)
    assert (err.status, err.provider, err.request_id) == (status, "cohere", "e1")
    assert message in str(err)


def test_an_error_object_in_a_200_body() -> None:
    with pytest.raises(router.InternalServerError, match="boom"):
        adapter.parse_response(200, {}, b'{"id": "e2", "message": "boom"}')


@pytest.mark.parametrize(
    "body",
    [
        b'{"id": "x", "finish_reason": "COMPLETE"}',
        b'{"id": "x", "message": [1]}',
        b"<html></html>",
        b'{"id": ',
    ],
    ids=["no-message", "message-not-an-object", "html", "truncated"],
)
def test_bad_answers_are_invalid_responses(body: bytes) -> None:
    with pytest.raises(router.InvalidResponseError):
        adapter.parse_response(200, {}, body)


@pytest.mark.parametrize("path", RECORDED, ids=[p.stem for p in RECORDED])
def test_recorded_cohere_traffic(path: Path, snapshot_json: Any) -> None:
    """Every recorded cohere-chat-v2 exchange (real, or harvested into tests/fixtures/harvested/cohere):
    the unified answer (a stream folded with router.accumulate), or the typed error."""
    case = load_case(path)
    r = case["response"]
    try:
        if case["stream"]:
            chunks = _stream(r["raw_stream"].encode())
            assert sum(1 for c in chunks for ch in c.choices if ch.finish_reason) == 1  # one finish reason
            result = router.accumulate(chunks)
        else:
            body = r.get("raw_body") if r.get("body") is None else json.dumps(r["body"])
            result = adapter.parse_response(r["status"], r["headers"], body)
    except router.APIError as err:
        assert err.provider == "cohere"
        assert {"error": type(err).__name__, "status": err.status, "message": str(err)} == snapshot_json
        return
    assert r["status"] < 400
    out = result.to_dict()
    OpenAIChatCompletion.model_validate(out)
    out.pop("created")
    assert out == snapshot_json


def test_recorded_requests_are_what_we_send() -> None:
    """The assistant turn with a plan and a tool call, and image parts, as the official SDK sent them."""
    case = load_case(HARVESTED / "after_tool_result_tool_call.json")
    system, user, assistant = case["request"]["body"]["messages"][:3]
    unified = {
        "role": "assistant",
        "content": None,
        "tool_calls": assistant["tool_calls"],
        "reasoning_blocks": [{"type": "cohere", "tool_plan": assistant["tool_plan"]}],
    }
    sent = _body(messages=[system, user, unified])["messages"]
    assert sent == [system, user, assistant]
    images = load_case(HARVESTED / "image_input.json")["request"]["body"]
    assert _body(model=images["model"], messages=images["messages"])["messages"] == images["messages"]


# --------------------------------------------------------------------------- defects the protocol matrices found


def _raw_sse(*events: dict[str, Any]) -> bytes:
    """Events as they came, not checked against the SDK's types (the point is that they are wrong)."""
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()


@pytest.mark.parametrize(
    "tool_calls",
    [5, [], [5], "get_weather", {"id": "c1", "type": "function", "function": {"arguments": ""}}],
    ids=["a-number", "an-empty-list", "a-list-of-a-number", "a-string", "a-call-without-a-name"],
)
def test_a_streamed_tool_call_that_is_not_a_named_call_is_an_invalid_response(tool_calls: Any) -> None:
    """A tool-call-start whose tool_calls was not a call object (or named no function) was read as an
    empty call: the stream came back as a success with a tool call named ""."""
    raw = _raw_sse(
        _start(),
        {"type": "tool-call-start", "index": 0, "delta": {"message": {"tool_calls": tool_calls}}},
        {"type": "tool-call-end", "index": 0},
        _end("TOOL_CALL"),
    )
    with pytest.raises(router.InvalidResponseError):
        list(adapter.parse_stream_bytes([raw]))


@pytest.mark.parametrize("function", [{"arguments": "{}"}, {"name": "", "arguments": "{}"}, {"name": 5}])
def test_an_answer_s_tool_call_without_a_function_name_is_an_invalid_response(function: Any) -> None:
    """A whole answer's tool call with no function name came back as a call named ""."""
    body = {**_answer(), "finish_reason": "TOOL_CALL"}
    body["message"] = {
        "role": "assistant",
        "tool_calls": [{"id": "c1", "type": "function", "function": function}],
    }
    with pytest.raises(router.InvalidResponseError):
        adapter.parse_response(200, {}, json.dumps(body).encode())


def test_a_streamed_citation_that_is_not_an_object_is_an_invalid_response() -> None:
    """A citation-start whose citation was a number came back as a citations block holding it."""
    raw = _raw_sse(
        _start(),
        {"type": "citation-start", "index": 0, "delta": {"message": {"citations": 5}}},
        _end(),
    )
    with pytest.raises(router.InvalidResponseError, match="citation"):
        list(adapter.parse_stream_bytes([raw]))
