"""The openai-responses codec (OpenAI's POST /v1/responses) through generated/openai_responses.py.

1. every canonical case -> the exact HTTP request: in the one matrix, tests/test_translation.py
   (snapshots test_translation[openai-responses-*]); here, the particulars (input items, tools,
   text.format, reasoning, store/include per model family, unsupported parameters);
2. every outgoing body checked against the official SDK's ``ResponseCreateParams`` TypedDict: every
   key known, every required key present, every value of the declared shape (item types included);
3. answers in the shapes OpenAI documents, each validated by the SDK's ``Response`` model, parsed
   (snapshot) and checked against the unified ``ChatCompletion`` type; the same answers as streams of
   SDK-valid ``ResponseStreamEvent`` events (with and without deltas), split at awkward byte
   boundaries, accumulated: equal to the non-stream reading;
4. finish reasons, usage, the reasoning-item round trip, typed errors (error envelopes, failed
   responses, response.failed and error events), cut-off streams; router.completion through a real
   HTTP server on 127.0.0.1; harvested recordings in tests/fixtures/harvested/openai (api
   openai-responses), when there are any, replayed through it.

Docs: https://platform.openai.com/docs/api-reference/responses ,
https://platform.openai.com/docs/api-reference/responses-streaming
"""

from __future__ import annotations

import collections.abc
import copy
import json
import types
import typing
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT
from conftest import canonical_cases
from conftest import error_record
from conftest import load_case
from loopback import Loopback
from loopback import Reply
from loopback import split_awkwardly
from matrix import REFUSED
from matrix import TEST_MODELS
from openai.types import CompletionUsage
from openai.types.chat import ChatCompletion as OpenAIChatCompletion
from openai.types.chat import ChatCompletionChunk as OpenAIChatCompletionChunk
from openai.types.responses import Response
from openai.types.responses import ResponseStreamEvent
from openai.types.responses.response_create_params import ResponseCreateParams
from pydantic import TypeAdapter
from pydantic import ValidationError
from typing_extensions import is_typeddict

import router
from router import Receipt
from router import _registry
from router._types import ChatCompletion

PROVIDER = "openai-responses"
MODEL = TEST_MODELS[PROVIDER]
KEY = "sk-responses-KEY-DO-NOT-LEAK-9191"
CASES = canonical_cases()
SENDABLE = [c for c in CASES if (PROVIDER, c.stem) not in REFUSED]
HARVESTED = sorted(
    p
    for p in (ROOT / "tests" / "fixtures" / "harvested" / "openai").glob("*.json")
    if load_case(p).get("api") == "openai-responses"
)
EVENTS: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
# event type -> the SDK's model of that event (for error messages that name one model, not 59)
EVENT_MODELS: dict[str, Any] = {
    typing.get_args(m.model_fields["type"].annotation)[0]: m
    for m in typing.get_args(typing.get_args(ResponseStreamEvent)[0])
}
MSGS = [{"role": "user", "content": "Hi"}]


def _adapter() -> Any:
    return _registry.adapter(PROVIDER)


def _sdk_valid(model: Any, data: Any) -> None:
    """``data`` validates as the SDK type, except that recordings made before the API reported
    ``input_tokens_details.cache_write_tokens`` (which this SDK version requires) lack that field."""
    try:
        model.model_validate(data)
    except ValidationError as err:
        real = [
            e for e in err.errors() if not (e["type"] == "missing" and e["loc"][-1] == "cache_write_tokens")
        ]
        assert not real, real


# --------------------------------------------------------------------------- SDK TypedDict conformance


def _conform(value: Any, tp: Any, path: str) -> list[str]:
    """Where ``value`` departs from the SDK type ``tp`` (TypedDicts, unions, literals, lists, dicts)."""
    origin = typing.get_origin(tp)
    if tp is Any or tp is object:
        return []
    if origin in (typing.Required, typing.NotRequired, typing.Annotated):
        return _conform(value, typing.get_args(tp)[0], path)
    if origin is typing.Union or isinstance(tp, types.UnionType):
        found = [_conform(value, m, path) for m in typing.get_args(tp)]
        if any(not errs for errs in found):
            return []
        # The member that got furthest (errors inside the value, not about its kind) says most.
        deep = [errs for errs in found if any(not e.startswith(f"{path}:") for e in errs)]
        return min(deep or found, key=len)
    if origin is typing.Literal:
        return (
            [] if value in typing.get_args(tp) else [f"{path}: {value!r} is not one of {typing.get_args(tp)}"]
        )
    if tp is type(None):
        return [] if value is None else [f"{path}: expected null, got {value!r}"]
    if tp is bool:
        return [] if isinstance(value, bool) else [f"{path}: expected a bool, got {value!r}"]
    if tp in (int, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok and (tp is float or isinstance(value, int)) else [f"{path}: expected {tp.__name__}"]
    if tp is str:
        return [] if isinstance(value, str) else [f"{path}: expected a string, got {value!r}"]
    if origin in (list, collections.abc.Iterable, collections.abc.Sequence):
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {type(value).__name__}"]
        (item,) = typing.get_args(tp)
        return [e for i, v in enumerate(value) for e in _conform(v, item, f"{path}[{i}]")]
    if origin in (dict, collections.abc.Mapping):
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {type(value).__name__}"]
        _, item = typing.get_args(tp)
        return [e for k, v in value.items() for e in _conform(v, item, f"{path}.{k}")]
    if is_typeddict(tp):
        if not isinstance(value, dict):
            return [f"{path}: expected an object ({tp.__name__}), got {type(value).__name__}"]
        hints = typing.get_type_hints(tp, include_extras=True)
        # The SDK's annotations are strings (from __future__ import annotations), so the class's own
        # __required_keys__ misses Required[...] keys of total=False dicts: read the markers.
        marked = {k: typing.get_origin(h) for k, h in hints.items()}
        required = {k for k, o in marked.items() if o is typing.Required}
        required |= {k for k in tp.__required_keys__ if marked.get(k) is not typing.NotRequired}
        errs = [f"{path}.{k}: not a key of {tp.__name__}" for k in value if k not in hints]
        errs += [f"{path}.{k}: required by {tp.__name__}" for k in sorted(required) if k not in value]
        return errs + [
            e for k, v in value.items() if k in hints for e in _conform(v, hints[k], f"{path}.{k}")
        ]
    raise AssertionError(f"{path}: the checker has no rule for {tp!r}")


def _sdk_errors(body: dict[str, Any]) -> list[str]:
    return _conform(body, ResponseCreateParams, "body")


def test_the_checker_sees_mistakes() -> None:
    ok = {"model": "gpt-5", "input": [{"role": "user", "content": "Hi"}]}
    assert _sdk_errors(ok) == []
    assert _sdk_errors({**ok, "messages": []})  # an unknown key
    assert _sdk_errors(
        {**ok, "input": [{"type": "function_call", "name": "f", "arguments": "{}"}]}
    )  # no call_id
    assert _sdk_errors({**ok, "input": [{"role": "user", "content": [{"type": "text", "text": "x"}]}]})
    assert _sdk_errors({**ok, "tools": [{"type": "function", "function": {"name": "f"}}]})  # the chat shape


def _build(request: dict[str, Any], model: str = MODEL, **kw: Any) -> Any:
    return _adapter().build_request({"model": model, **request}, api_key=KEY, **kw)


@pytest.mark.parametrize("case", SENDABLE, ids=[c.stem for c in SENDABLE])
def test_every_canonical_body_is_a_response_create_params(case: Path) -> None:
    request = dict(load_case(case)["request"])
    request.pop("model", None)
    body = _build(request).json
    body.pop("custom_field", None)  # extra_body's own key in the extra_body case: the caller's to send
    assert _sdk_errors(body) == []
    assert "messages" not in body and "stream_options" not in body


# A conversation with everything an input can hold: system and developer messages, parts of each kind,
# an earlier answer with reasoning, text and parallel calls, tool results as text and as parts.
RICH = {
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "developer", "content": [{"type": "text", "text": "Use tools."}]},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Look:"},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "high"}},
                {
                    "type": "file",
                    "file": {"file_data": "data:application/pdf;base64,JVBER", "filename": "a.pdf"},
                },
            ],
        },
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "f", "arguments": '{"x":1}'}},
                {"id": "call_b", "type": "function", "function": {"name": "g", "arguments": ""}},
            ],
            "reasoning_blocks": [
                {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAA1"},
                {
                    "type": "reasoning",
                    "id": "rs_2",
                    "summary": [{"type": "summary_text", "text": "t"}],
                    "encrypted_content": "gAAA2",
                    "tool_call_id": "call_b",
                },
                {"type": "thinking", "thinking": "another protocol's", "signature": "s"},
            ],
        },
        {"role": "tool", "tool_call_id": "call_a", "content": "1"},
        {"role": "tool", "tool_call_id": "call_b", "content": [{"type": "text", "text": "2"}]},
    ],
    "tools": [
        {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}, "strict": True}},
        {"type": "function", "function": {"name": "g", "description": "G."}},
    ],
    "tool_choice": {
        "type": "allowed_tools",
        "allowed_tools": {"mode": "required", "tools": [{"type": "function", "function": {"name": "f"}}]},
    },
    "parallel_tool_calls": False,
    "response_format": {
        "type": "json_schema",
        "json_schema": {"name": "r", "schema": {"type": "object"}, "strict": True},
    },
    "reasoning_effort": "low",
    "verbosity": "low",
    "max_completion_tokens": 500,
    "metadata": {"k": "v"},
    "service_tier": "flex",
    "prompt_cache_key": "p",
    "safety_identifier": "s",
    "user": "u",
}


def test_a_rich_conversation_is_a_response_create_params() -> None:
    body = _build({**RICH, "stream": True}).json
    assert _sdk_errors(body) == []
    assert [i.get("type") or i["role"] for i in body["input"]] == [
        "system",
        "developer",
        "user",
        "reasoning",
        "assistant",
        "function_call",
        "reasoning",
        "function_call",
        "function_call_output",
        "function_call_output",
    ]
    assert body["input"][2]["content"][1] == {
        "type": "input_image",
        "image_url": "https://example.com/a.png",
        "detail": "high",
    }
    assert body["input"][2]["content"][2] == {
        "type": "input_file",
        "file_data": "data:application/pdf;base64,JVBER",
        "filename": "a.pdf",
    }
    assert body["input"][3] == {
        "type": "reasoning",
        "id": "rs_1",
        "summary": [],
        "encrypted_content": "gAAA1",
    }
    assert body["input"][6]["id"] == "rs_2" and "tool_call_id" not in body["input"][6]
    assert body["input"][7] == {"type": "function_call", "call_id": "call_b", "name": "g", "arguments": "{}"}
    assert body["input"][9]["output"] == [{"type": "input_text", "text": "2"}]
    assert body["tools"] == [
        {"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": True},
        {
            "type": "function",
            "name": "g",
            "parameters": {"type": "object", "properties": {}},
            "strict": False,
            "description": "G.",
        },
    ]
    assert body["tool_choice"] == {
        "type": "allowed_tools",
        "mode": "required",
        "tools": [{"type": "function", "name": "f"}],
    }
    assert body["text"] == {
        "format": {"type": "json_schema", "name": "r", "schema": {"type": "object"}, "strict": True},
        "verbosity": "low",
    }
    assert body["reasoning"] == {"effort": "low"}
    assert body["max_output_tokens"] == 500 and body["parallel_tool_calls"] is False
    assert body["stream"] is True and "stream_options" not in body


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ({"type": "function", "function": {"name": "f"}}, {"type": "function", "name": "f"}),
    ],
)
def test_tool_choice(choice: Any, wire: Any) -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    body = _build({"messages": MSGS, "tools": tools, "tool_choice": choice}).json
    assert body["tool_choice"] == wire
    assert _sdk_errors(body) == []


def test_store_include_and_sampling_follow_the_model_family() -> None:
    reasoning = _build({"messages": MSGS, "temperature": 0.3}, model="gpt-5-mini")
    assert reasoning.json["store"] is False
    assert reasoning.json["include"] == ["reasoning.encrypted_content"]
    assert "temperature" not in reasoning.json
    receipt = Receipt(PROVIDER, "gpt-4o-mini")
    plain = _build(
        {"messages": MSGS, "temperature": 0.3, "store": True}, model="gpt-4o-mini", receipt=receipt
    )
    # gpt-4o rejects the encrypted-content include; a caller's store wins over the default.
    assert "include" not in plain.json and plain.json["store"] is True and plain.json["temperature"] == 0.3
    assert plain.url == "https://api.openai.com/v1/responses"


def test_unsupported_chat_parameters_are_dropped_or_refused() -> None:
    receipt = Receipt(PROVIDER, MODEL)
    body = _build(
        {"messages": MSGS, "stop": ["x"], "seed": 1, "n": 1, "logprobs": True}, receipt=receipt
    ).json
    assert not {"stop", "seed", "n", "logprobs"} & set(body)
    assert sorted(receipt.dropped) == ["logprobs", "n", "seed", "stop"]
    with pytest.raises(router.UnsupportedParamsError, match="stop"):
        _build({"messages": MSGS, "stop": "x"}, strict=True)


def test_message_fields_without_a_place_are_recorded() -> None:
    receipt = Receipt(PROVIDER, MODEL)
    msgs = [
        {
            "role": "user",
            "name": "ada",
            "content": [{"type": "text", "text": "Hi", "cache_control": {"type": "ephemeral"}}],
        },
        {"role": "assistant", "content": None, "refusal": "No."},
        {"role": "user", "content": "Please?"},
    ]
    body = _build({"messages": msgs}, receipt=receipt).json
    assert body["input"] == [{"role": "user", "content": "Hi"}, {"role": "user", "content": "Please?"}]
    assert receipt.dropped == ["messages[].name", "messages[].content[].cache_control", "messages[].refusal"]


@pytest.mark.parametrize(
    ("messages", "error"),
    [
        ([{"role": "function", "name": "f", "content": "x"}], router.UnsupportedParamsError),
        ([{"role": "user", "content": [{"type": "video", "video": {}}]}], router.UnsupportedParamsError),
        (
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}
                    ],
                }
            ],
            router.UnsupportedParamsError,
        ),
        (
            [{"role": "assistant", "content": "x", "function_call": {"name": "f", "arguments": "{}"}}],
            router.UnsupportedParamsError,
        ),
        ([{"role": "user", "content": "x"}, {"role": "tool", "content": "1"}], router.BadRequestError),
    ],
)
def test_requests_it_cannot_send(messages: list[Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        _build({"messages": messages})


def test_structured_output_by_tool_is_refused() -> None:
    import dataclasses

    from router._adapter import Adapter
    from router.protocols import openai_responses
    from router.protocols._config import StructuredOutput

    cfg = dataclasses.replace(_adapter().config, structured_output=StructuredOutput(json_schema="tool"))
    rf = {"type": "json_schema", "json_schema": {"name": "r", "schema": {"type": "object"}}}
    with pytest.raises(router.UnsupportedParamsError, match="natively"):
        Adapter(cfg, openai_responses).build_request(
            {"model": MODEL, "messages": MSGS, "response_format": rf}
        )


# --------------------------------------------------------------------------- answers


def _response(output: list[dict[str, Any]], **over: Any) -> dict[str, Any]:
    """A Response object as OpenAI sends one (https://platform.openai.com/docs/api-reference/responses/object)."""
    body: dict[str, Any] = {
        "id": "resp_0a1b2c",
        "object": "response",
        "created_at": 1767225600,
        "status": "completed",
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "model": "gpt-5-mini-2025-08-07",
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": "medium", "summary": None},
        "store": False,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": {
            "input_tokens": 12,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": 30,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 42,
        },
        "user": None,
        "metadata": {},
    }
    body.update(over)
    return body


def _message(*parts: dict[str, Any], item_id: str = "msg_1") -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "status": "completed",
        "role": "assistant",
        "content": list(parts),
    }


def _text(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _reasoning(item_id: str, *summary: str, encrypted: str | None = "gAAAAB-enc") -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": item_id,
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": s} for s in summary],
    }
    if encrypted is not None:
        item["encrypted_content"] = encrypted
    return item


def _call(call_id: str, name: str, arguments: str, item_id: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "function_call",
        "status": "completed",
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }


def _usage(inp: int, out: int, cached: int = 0, reasoning: int = 0, written: int = 0) -> dict[str, Any]:
    details = {"cached_tokens": cached, "cache_write_tokens": written}
    return {
        "input_tokens": inp,
        "input_tokens_details": details,
        "output_tokens": out,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": inp + out,
    }


ANSWERS: dict[str, dict[str, Any]] = {
    "text": _response([_message(_text("Hello! "), _text("How can I help?"))]),
    "unicode_text": _response([_message(_text("Grüße, 世界 🌍"))]),
    "reasoning_then_text": _response(
        [
            _reasoning("rs_1", "**Counting letters**\n\nI count the r's.", "Three of them."),
            _message(_text("3")),
        ],
        usage=_usage(20, 90, cached=8, reasoning=64, written=4),
    ),
    "reasoning_then_tool_calls": _response(
        [
            _reasoning("rs_2", "Need the weather in both cities."),
            _call("call_paris", "get_weather", '{"city":"Paris"}', "fc_1"),
            _call("call_rome", "get_weather", '{"city":"Rome"}', "fc_2"),
        ],
        usage=_usage(80, 150, reasoning=100),
    ),
    "reasoning_without_summary_then_call": _response(
        [
            _reasoning("rs_3"),
            _call("call_now", "now", "", "fc_3"),
            _reasoning("rs_4", "Then a second look."),
            _call("call_zone", "zone", '{"tz":"UTC"}', "fc_4"),
        ],
    ),
    "text_and_tool_call": _response(
        [_message(_text("Let me check.")), _call("call_1", "lookup", '{"q":"x"}', "fc_5")]
    ),
    "refusal": _response([_message({"type": "refusal", "refusal": "I can't help with that."})]),
    "incomplete_max_output_tokens": _response(
        [_reasoning("rs_5", encrypted="gAAA-cut"), _message(_text("The answer is"))],
        status="incomplete",
        incomplete_details={"reason": "max_output_tokens"},
        max_output_tokens=16,
        usage=_usage(10, 16, reasoning=12),
    ),
    "incomplete_content_filter": _response(
        [_message(_text("Partial"))], status="incomplete", incomplete_details={"reason": "content_filter"}
    ),
    "built_in_tool_and_text": _response(
        [
            {
                "id": "ws_1",
                "type": "web_search_call",
                "status": "completed",
                "action": {"type": "search", "query": "weather paris"},
            },
            _message(_text("It is sunny.")),
        ]
    ),
}


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_answer(name: str, snapshot_json: Any) -> None:
    data = ANSWERS[name]
    Response.model_validate(data)  # the fixture is what the SDK reads as a Response
    resp = _adapter().parse_response(200, {"x-request-id": "req_1"}, json.dumps(data).encode())
    assert isinstance(resp, ChatCompletion)
    OpenAIChatCompletion.model_validate(resp.to_dict())
    assert resp.usage is not None
    CompletionUsage.model_validate(resp.usage.to_dict())
    assert resp.to_dict() == snapshot_json


@pytest.mark.parametrize(
    ("name", "finish", "native"),
    [
        ("text", "stop", "completed"),
        ("reasoning_then_tool_calls", "tool_calls", "completed"),
        ("text_and_tool_call", "tool_calls", "completed"),
        ("refusal", "stop", "completed"),
        ("incomplete_max_output_tokens", "length", "max_output_tokens"),
        ("incomplete_content_filter", "content_filter", "content_filter"),
    ],
)
def test_finish_reasons(name: str, finish: str, native: str) -> None:
    choice = _adapter().parse_response(200, {}, ANSWERS[name]).choices[0]
    assert (choice.finish_reason, choice.native_finish_reason) == (finish, native)


def test_usage_maps_onto_completion_usage() -> None:
    usage = _adapter().parse_response(200, {}, ANSWERS["reasoning_then_text"]).usage
    assert usage is not None
    CompletionUsage.model_validate(usage.to_dict())
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (20, 90, 110)
    assert usage.prompt_tokens_details.cached_tokens == 8
    assert usage.prompt_tokens_details.cache_write_tokens == 4
    assert usage.completion_tokens_details.reasoning_tokens == 64
    # The catalogue is openai's (models_from): the same models, priced the same.
    receipt = Receipt(PROVIDER, "gpt-5-mini")
    priced = _adapter().parse_response(200, {}, ANSWERS["reasoning_then_text"], receipt=receipt)
    assert router.cost(priced) == pytest.approx(((20 - 8) * 0.25 + 8 * 0.025 + 90 * 2.00) / 1e6)


def test_an_unknown_status_is_kept_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    choice = (
        _adapter().parse_response(200, {}, _response([_message(_text("x"))], status="cancelled")).choices[0]
    )
    assert (choice.finish_reason, choice.native_finish_reason) == ("stop", "cancelled")
    assert "unknown finish reason 'cancelled'" in caplog.text


# --------------------------------------------------------------------------- streams


def _pieces(text: str) -> list[str]:
    return [text[i : i + 4] for i in range(0, len(text), 4)] or [""]


def _events(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The stream OpenAI sends for ``answer``, event by event (every event an SDK ResponseStreamEvent)."""
    seq = iter(range(10_000))
    events: list[dict[str, Any]] = []

    def ev(kind: str, **fields: Any) -> None:
        events.append({"type": kind, "sequence_number": next(seq), **fields})

    start = {**answer, "status": "in_progress", "output": [], "usage": None, "incomplete_details": None}
    ev("response.created", response=start)
    ev("response.in_progress", response=start)
    for i, item in enumerate(answer["output"]):
        kind, item_id = item["type"], item["id"]
        if kind == "message":
            ev(
                "response.output_item.added",
                output_index=i,
                item={**item, "status": "in_progress", "content": []},
            )
            for j, part in enumerate(item["content"]):
                key = "text" if part["type"] == "output_text" else "refusal"
                ev(
                    "response.content_part.added",
                    item_id=item_id,
                    output_index=i,
                    content_index=j,
                    part={**part, key: ""},
                )
                extra = {"logprobs": []} if key == "text" else {}
                name = "output_text" if key == "text" else "refusal"
                for piece in _pieces(part[key]):
                    ev(
                        f"response.{name}.delta",
                        item_id=item_id,
                        output_index=i,
                        content_index=j,
                        delta=piece,
                        **extra,
                    )
                ev(
                    f"response.{name}.done",
                    item_id=item_id,
                    output_index=i,
                    content_index=j,
                    **{key: part[key]},
                    **extra,
                )
                ev("response.content_part.done", item_id=item_id, output_index=i, content_index=j, part=part)
        elif kind == "reasoning":
            ev(
                "response.output_item.added",
                output_index=i,
                item={"id": item_id, "type": "reasoning", "summary": []},
            )
            for j, part in enumerate(item["summary"]):
                ev(
                    "response.reasoning_summary_part.added",
                    item_id=item_id,
                    output_index=i,
                    summary_index=j,
                    part={"type": "summary_text", "text": ""},
                )
                for piece in _pieces(part["text"]):
                    ev(
                        "response.reasoning_summary_text.delta",
                        item_id=item_id,
                        output_index=i,
                        summary_index=j,
                        delta=piece,
                    )
                ev(
                    "response.reasoning_summary_text.done",
                    item_id=item_id,
                    output_index=i,
                    summary_index=j,
                    text=part["text"],
                )
                ev(
                    "response.reasoning_summary_part.done",
                    item_id=item_id,
                    output_index=i,
                    summary_index=j,
                    part=part,
                )
        elif kind == "function_call":
            ev(
                "response.output_item.added",
                output_index=i,
                item={**item, "arguments": "", "status": "in_progress"},
            )
            if item["arguments"]:
                for piece in _pieces(item["arguments"]):
                    ev("response.function_call_arguments.delta", item_id=item_id, output_index=i, delta=piece)
            ev(
                "response.function_call_arguments.done",
                item_id=item_id,
                output_index=i,
                name=item["name"],
                arguments=item["arguments"],
            )
        else:
            ev("response.output_item.added", output_index=i, item=item)
        ev("response.output_item.done", output_index=i, item=item)
    final = {
        "completed": "response.completed",
        "incomplete": "response.incomplete",
        "failed": "response.failed",
    }
    ev(final[answer["status"]], response=answer)
    for e in events:
        EVENTS.validate_python(e)  # every event is one the SDK reads
    return events


def _sse(events: list[dict[str, Any]], *, named: bool = True) -> bytes:
    out = []
    for e in events:
        head = f"event: {e['type']}\n" if named else ""
        out.append(f"{head}data: {json.dumps(e, ensure_ascii=False)}\n\n")
    return "".join(out).encode()


def _stream(raw: bytes) -> list[Any]:
    return list(_adapter().parse_stream_bytes(split_awkwardly(raw)))


def _same(a: ChatCompletion, b: ChatCompletion) -> dict[str, Any]:
    da, db = a.to_dict(), b.to_dict()
    for d in (da, db):
        d.pop("router", None)
        d.pop("cost", None)
    assert da == db
    return da


def _same_answer(a: ChatCompletion, b: ChatCompletion) -> None:
    """The same text, tool calls, finish reason and usage (a real final event may carry re-encrypted
    reasoning or an empty text part the deltas never sent, so the rest is not compared)."""

    def key(r: ChatCompletion) -> Any:
        c = r.choices[0]
        calls = [(t.function.name, t.function.arguments) for t in c.message.tool_calls or ()]
        u = r.usage.to_dict() if r.usage else None
        return (c.message.content or "", c.message.reasoning_content or "", calls, c.finish_reason, u)

    assert key(a) == key(b)


@pytest.mark.parametrize("name", sorted(ANSWERS))
@pytest.mark.parametrize("deltas", [True, False], ids=["deltas", "done-events-only"])
def test_stream_accumulates_to_the_non_stream_answer(name: str, deltas: bool) -> None:
    events = _events(ANSWERS[name])
    if not deltas:  # a server that sends each item whole, in its done events
        events = [e for e in events if not e["type"].endswith(".delta")]
    chunks = _stream(_sse(events))
    for c in chunks:
        OpenAIChatCompletionChunk.model_validate(c.to_dict())
    finishes = [ch.finish_reason for c in chunks for ch in c.choices if ch.finish_reason is not None]
    assert len(finishes) == 1 and chunks[-1].usage is not None and chunks[-1].choices == []
    assert chunks[0].choices[0].delta.role == "assistant"
    _same(router.accumulate(chunks), _adapter().parse_response(200, {}, ANSWERS[name]))


def test_stream_without_event_names_reads_the_same() -> None:
    events = _events(ANSWERS["reasoning_then_tool_calls"])
    named = router.accumulate(_stream(_sse(events)))
    bare = router.accumulate(_stream(_sse(events, named=False)))
    _same(named, bare)


def test_reasoning_text_events_are_reasoning_content() -> None:
    # Open-weight reasoning models served through Responses send reasoning_text, not summaries.
    item = {
        "id": "rs_9",
        "type": "reasoning",
        "summary": [],
        "content": [{"type": "reasoning_text", "text": "Think."}],
    }
    answer = _response([item, _message(_text("Done."))])
    events = [
        e
        for e in _events(answer)
        if e["type"] != "response.output_item.done" or e["item"]["type"] != "reasoning"
    ]
    i = next(k for k, e in enumerate(events) if e["type"] == "response.output_item.added")
    events[i + 1 : i + 1] = [
        {
            "type": "response.reasoning_text.delta",
            "sequence_number": 90,
            "item_id": "rs_9",
            "output_index": 0,
            "content_index": 0,
            "delta": "Think.",
        },
        {"type": "response.output_item.done", "sequence_number": 91, "output_index": 0, "item": item},
    ]
    for e in events:
        EVENTS.validate_python(e)
    streamed = router.accumulate(_stream(_sse(events)))
    whole = _same(streamed, _adapter().parse_response(200, {}, answer))
    assert whole["choices"][0]["message"]["reasoning_content"] == "Think."


def test_a_cut_stream_is_a_connection_error() -> None:
    events = _events(ANSWERS["text"])[:-1]  # no response.completed
    with pytest.raises(router.APIConnectionError, match=r"response\.completed"):
        _stream(_sse(events))


def test_a_stream_of_nothing_is_a_connection_error() -> None:
    with pytest.raises(router.APIConnectionError):
        _stream(b"")


# --------------------------------------------------------------------------- reasoning round trip


def _next_turn(answer_message: dict[str, Any], model: str = MODEL) -> list[dict[str, Any]]:
    calls = answer_message.get("tool_calls") or []
    msgs = [{"role": "user", "content": "Weather?"}, answer_message]
    msgs += [{"role": "tool", "tool_call_id": c["id"], "content": "sunny"} for c in calls]
    body = _adapter().build_request({"model": model, "messages": msgs}, api_key=KEY).json
    assert _sdk_errors(body) == []
    items: list[dict[str, Any]] = body["input"]
    return items


@pytest.mark.parametrize("streamed", [False, True], ids=["parsed", "streamed"])
def test_reasoning_items_go_back_before_what_they_preceded(streamed: bool) -> None:
    answer = ANSWERS["reasoning_without_summary_then_call"]
    if streamed:
        resp = router.accumulate(_stream(_sse(_events(answer))))
    else:
        resp = _adapter().parse_response(200, {}, answer)
    message = resp.choices[0].message
    assert message.reasoning_blocks == [
        {
            "type": "reasoning",
            "id": "rs_3",
            "summary": [],
            "encrypted_content": "gAAAAB-enc",
            "tool_call_id": "call_now",
        },
        {
            "type": "reasoning",
            "id": "rs_4",
            "summary": [{"type": "summary_text", "text": "Then a second look."}],
            "encrypted_content": "gAAAAB-enc",
            "tool_call_id": "call_zone",
        },
    ]
    items = _next_turn(message.to_dict())
    assert [(i.get("type"), i.get("id") or i.get("call_id")) for i in items[1:]] == [
        ("reasoning", "rs_3"),
        ("function_call", "call_now"),
        ("reasoning", "rs_4"),
        ("function_call", "call_zone"),
        ("function_call_output", "call_now"),
        ("function_call_output", "call_zone"),
    ]
    assert items[1] == {"type": "reasoning", "id": "rs_3", "summary": [], "encrypted_content": "gAAAAB-enc"}
    assert items[2]["arguments"] == "{}"


def test_reasoning_before_text_goes_back_before_the_text() -> None:
    message = _adapter().parse_response(200, {}, ANSWERS["reasoning_then_text"]).choices[0].message
    items = _next_turn(message.to_dict())
    assert [i.get("type") or i["role"] for i in items] == ["user", "reasoning", "assistant"]
    assert items[1]["summary"][1] == {"type": "summary_text", "text": "Three of them."}
    assert items[2] == {"role": "assistant", "content": "3"}


def test_reasoning_summary_parts_are_joined_by_a_blank_line() -> None:
    message = _adapter().parse_response(200, {}, ANSWERS["reasoning_then_text"]).choices[0].message
    assert message.reasoning_content == "**Counting letters**\n\nI count the r's.\n\nThree of them."


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("status", "error", "cls"),
    [
        (
            401,
            {
                "message": "Incorrect API key provided",
                "type": "invalid_request_error",
                "param": None,
                "code": "invalid_api_key",
            },
            router.AuthenticationError,
        ),
        (
            429,
            {
                "message": "Rate limit reached",
                "type": "requests",
                "param": None,
                "code": "rate_limit_exceeded",
            },
            router.RateLimitError,
        ),
        (
            400,
            {
                "message": "Your input exceeds the context window of this model.",
                "type": "invalid_request_error",
                "param": "input",
                "code": "context_length_exceeded",
            },
            router.ContextWindowExceededError,
        ),
        (
            400,
            {
                "message": "Unsupported parameter: 'stop'",
                "type": "invalid_request_error",
                "param": "stop",
                "code": "unsupported_parameter",
            },
            router.UnsupportedParamsError,
        ),
        (
            400,
            {
                "message": "Encrypted content is not supported with this model.",
                "type": "invalid_request_error",
                "param": "include",
                "code": None,
            },
            router.BadRequestError,
        ),
        (
            500,
            {"message": "The server had an error", "type": "server_error", "param": None, "code": None},
            router.InternalServerError,
        ),
    ],
    ids=[
        "401-invalid_api_key",
        "429-rate_limit_exceeded",
        "400-context_length_exceeded",
        "400-unsupported_parameter",
        "400-encrypted_content",
        "500-server_error",
    ],
)
def test_error_envelopes(
    status: int, error: dict[str, Any], cls: type[Exception], snapshot_json: Any
) -> None:
    err = _adapter().map_error(status, {"x-request-id": "req_9"}, json.dumps({"error": error}).encode())
    assert type(err) is cls
    assert error_record(err) == snapshot_json


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("server_error", router.InternalServerError),
        ("rate_limit_exceeded", router.RateLimitError),
        ("invalid_prompt", router.BadRequestError),
        ("image_content_policy_violation", router.ContentFilterError),
        ("vector_store_timeout", router.APITimeoutError),
    ],
)
def test_a_failed_response_is_a_typed_error(code: str, cls: type[Exception]) -> None:
    failed = _response([], status="failed", error={"code": code, "message": f"failed: {code}"}, usage=None)
    Response.model_validate(failed)
    with pytest.raises(router.APIError) as info:
        _adapter().parse_response(200, {}, failed)
    assert type(info.value) is cls and f"failed: {code}" in str(info.value)
    assert info.value.provider == PROVIDER
    events = _events(failed)
    assert events[-1]["type"] == "response.failed"
    with pytest.raises(router.APIError) as streamed:
        _stream(_sse(events))
    assert type(streamed.value) is cls


@pytest.mark.parametrize("named", [True, False], ids=["event-error", "bare-error-frame"])
def test_an_error_event_is_a_typed_error(named: bool) -> None:
    events = _events(ANSWERS["text"])[:3]
    error = {
        "type": "error",
        "sequence_number": 3,
        "code": "rate_limit_exceeded",
        "message": "Slow down",
        "param": None,
    }
    EVENTS.validate_python(error)
    with pytest.raises(router.RateLimitError, match="Slow down") as info:
        _stream(_sse([*events, error], named=named))
    assert info.value.provider == PROVIDER


def test_an_error_body_with_status_200_is_a_typed_error() -> None:
    body = {
        "error": {
            "message": "Rate limit reached",
            "type": "requests",
            "code": "rate_limit_exceeded",
            "param": None,
        }
    }
    with pytest.raises(router.RateLimitError):
        _adapter().parse_response(200, {}, body)


@pytest.mark.parametrize(
    "body",
    [{"object": "response", "id": "r"}, {"output": "text"}, {"output": [{"type": "message", "content": 5}]}],
    ids=["no-output", "output-not-a-list", "content-not-a-list"],
)
def test_wrong_shapes_are_invalid_responses(body: dict[str, Any]) -> None:
    with pytest.raises(router.InvalidResponseError):
        _adapter().parse_response(200, {}, body)


# --------------------------------------------------------------------------- through HTTP


def test_completion_through_http() -> None:
    answer = ANSWERS["reasoning_then_tool_calls"]
    with Loopback() as server:
        server.replies.append(Reply.json(answer))
        server.replies.append(
            Reply(200, {"content-type": "text/event-stream"}, split_awkwardly(_sse(_events(answer))))
        )
        call = {"api_key": KEY, "base_url": server.url, "max_retries": 0}
        resp = router.completion(f"{PROVIDER}/gpt-5", MSGS, **call)
        chunks = list(router.completion(f"{PROVIDER}/gpt-5", MSGS, stream=True, **call))
    assert isinstance(resp, router.ChatCompletion)
    assert [s.path for s in server.seen] == ["/responses", "/responses"]
    sent = [json.loads(s.body) for s in server.seen]
    assert sent[0] == {
        "model": "gpt-5",
        "input": MSGS,
        "store": False,
        "include": ["reasoning.encrypted_content"],
    }
    assert sent[1] == {**sent[0], "stream": True}
    assert server.seen[0].headers["authorization"] == f"Bearer {KEY}"
    streamed = router.accumulate(chunks)
    assert resp.choices[0].finish_reason == "tool_calls" and resp.cost is not None
    _same(streamed, resp)


def _harvested_reply(case: dict[str, Any]) -> Reply:
    r = case["response"]
    headers = {k: v for k, v in r["headers"].items() if k.lower() in ("content-type", "x-request-id")}
    headers["retry-after"] = "0"
    if case["stream"]:
        return Reply(r["status"], headers, split_awkwardly(r["raw_stream"].encode()))
    raw = r["raw_body"] if r.get("body") is None else json.dumps(r["body"])
    return Reply(r["status"], headers, [raw.encode()])


@pytest.mark.parametrize("path", HARVESTED, ids=[p.stem for p in HARVESTED])
def test_harvested_recording_through_http(path: Path, snapshot_json: Any) -> None:
    """A real recording, replayed by a server on 127.0.0.1 (streams cut at awkward boundaries) and read
    through router.completion: the same as the pure reading, SDK-valid (the unified answer), snapshotted."""
    case = load_case(path)
    reply = _harvested_reply(case)
    model = (case["request"].get("body") or {}).get("model") or MODEL
    stream = bool(case["stream"])
    with Loopback() as server:
        server.replies.append(copy.deepcopy(reply))
        call = {"api_key": KEY, "base_url": server.url, "max_retries": 0, "stream": stream}
        status = case["response"]["status"]
        if status >= 400:
            expected = _adapter().map_error(status, case["response"]["headers"], b"".join(reply.pieces))
            with pytest.raises(router.APIError) as info:
                router.completion(f"{PROVIDER}/{model}", MSGS, **call)
            assert type(info.value) is type(expected) and KEY not in str(info.value)
            assert error_record(info.value) == snapshot_json
            return
        if stream:
            raw = case["response"]["raw_stream"].encode()
            frames = [json.loads(line[6:]) for line in raw.decode().splitlines() if line.startswith("data: ")]
            # (the recordings themselves are not checked against the SDK's types: servers other than
            # OpenAI's, and OpenAI's own built-in tools, send fields the types do not yet describe)
            try:
                direct = list(_adapter().parse_stream_bytes([raw]))
            except router.APIError as err:  # an error event inside a 200 stream
                with pytest.raises(type(err)):
                    list(router.completion(f"{PROVIDER}/{model}", MSGS, **call))
                assert {**error_record(err), "in_stream": True} == snapshot_json
                return
            chunks = list(router.completion(f"{PROVIDER}/{model}", MSGS, **call))
            assert [_strip(c.to_dict()) for c in chunks] == [_strip(c.to_dict()) for c in direct]
            for c in chunks:
                OpenAIChatCompletionChunk.model_validate(c.to_dict())
            result = router.accumulate(chunks)
            final = next((f["response"] for f in frames if f.get("type") in _ENDS), None)
            if final is not None and final.get("output"):  # the final event repeats the whole answer
                _same_answer(result, _adapter().parse_response(200, {}, final))
        else:
            result = router.completion(f"{PROVIDER}/{model}", MSGS, **call)
            _same(result, _adapter().parse_response(200, {}, case["response"]["body"]))
    OpenAIChatCompletion.model_validate(result.to_dict())
    assert _strip(result.to_dict()) == snapshot_json


_ENDS = ("response.completed", "response.incomplete")


def _strip(d: dict[str, Any]) -> dict[str, Any]:
    d.pop("router", None)
    d.pop("cost", None)
    return d


# --------------------------------------------------------------------------- models_from


def test_the_catalogue_is_openais_and_bare_ids_still_route_there() -> None:
    openai = _registry.adapter("openai")
    assert _adapter().config.models == openai.config.models
    assert _registry.resolve("gpt-5")[0].id == "openai"
    adapter, model = _registry.resolve(f"{PROVIDER}/gpt-5")
    assert (adapter.id, model, adapter.protocol) == (PROVIDER, "gpt-5", "openai-responses")


def test_models_from_is_not_inherited(tmp_path: Path) -> None:
    from router.compiler import validate

    spec = (ROOT / "specs" / "openai-responses.yaml").read_text()
    parent = (ROOT / "specs" / "openai.yaml").read_text()
    (tmp_path / "openai.yaml").write_text(parent)
    (tmp_path / "openai-responses.yaml").write_text(spec)
    child = "spec_version: 1\nid: acme-responses\nextends: openai-responses\nbase_url: https://acme.test/v1\n"
    (tmp_path / "acme-responses.yaml").write_text(child)
    specs, diags = validate([tmp_path])
    assert diags == []
    by_id = {s.id: s for s in specs}
    assert "models" not in by_id["acme-responses"].resolved  # another provider: its own catalogue (none)
    assert len(by_id["openai-responses"].resolved["models"]) == len(by_id["openai"].raw["models"])


@pytest.mark.parametrize(
    "frame",
    [
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {"type": "function_call", "name": 5},
        },
        {"type": "response.output_text.delta", "output_index": [1], "delta": "x"},
        {"type": "response.output_text.delta", "output_index": 0, "delta": 5},
        {
            "type": "response.completed",
            "response": {"status": "completed", "incomplete_details": 5, "usage": 1},
        },
        {"type": "response.completed", "response": {"status": "incomplete", "incomplete_details": 5}},
        {"type": "response.output_item.done", "output_index": 0, "item": {"type": "message", "content": 7}},
    ],
    ids=[
        "call-name-not-text",
        "index-a-list",
        "delta-not-text",
        "usage-not-an-object",
        "details-not-an-object",
        "content-not-a-list",
    ],
)
def test_odd_stream_frames_are_typed_errors_or_ignored(frame: dict[str, Any]) -> None:
    events = [*_events(ANSWERS["text"])[:2], frame, _events(ANSWERS["text"])[-1]]
    try:
        result = router.accumulate(_stream(_sse(events)))
    except router.APIError as err:
        assert isinstance(err, router.InvalidResponseError | router.APIConnectionError), err
    else:
        OpenAIChatCompletion.model_validate(result.to_dict())


# --------------------------------------------------------------------------- defects the protocol matrices found


@pytest.mark.parametrize("named", [True, False], ids=["event-error", "bare-error-frame"])
def test_an_error_event_with_its_error_as_an_object_keeps_its_code_and_message(named: bool) -> None:
    """OpenAI sends the error event as ``{type: error, sequence_number, error: {type, code, message,
    param}}`` (tests/fixtures/harvested/openai/stream_error_event_then_response_failed.json): that was
    an InternalServerError "HTTP 500", its code and message lost, retryable."""
    events = _events(ANSWERS["text"])[:3]
    error = {
        "type": "error",
        "sequence_number": 3,
        "error": {"type": "insufficient_quota", "code": "insufficient_quota", "message": "Quota gone", "param": None},
    }  # fmt: skip
    with pytest.raises(router.QuotaExceededError, match="Quota gone") as info:
        _stream(_sse([*events, error], named=named))
    assert info.value.native_type == "insufficient_quota" and info.value.retryable is False


@pytest.mark.parametrize(
    "output",
    [
        [1, "two"],
        [{"type": "message", "role": "assistant", "content": [5]}],
        [ANSWERS["text"]["output"][0], None],
    ],
    ids=["items-not-objects", "part-not-an-object", "one-item-null"],
)
def test_output_items_that_are_not_objects_are_an_invalid_response(output: list[Any]) -> None:
    """A non-object output item or content part was skipped, and what was left (often nothing) came
    back as a successful answer."""
    with pytest.raises(router.InvalidResponseError, match="not an object"):
        _adapter().parse_response(200, {}, json.dumps({**ANSWERS["text"], "output": output}).encode())


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "response.output_item.added", "output_index": 1, "item": 5},
        {"type": "response.output_item.done", "output_index": 0, "item": None},
        {"type": "response.output_item.done", "output_index": 0, "item": {"type": "message", "content": [3]}},
        {"type": "response.completed", "response": 5},
        {"type": "response.completed"},
    ],
    ids=["added-item-not-an-object", "done-item-null", "done-part-not-an-object", "final-not-an-object", "final-missing"],
)  # fmt: skip
def test_stream_items_and_final_responses_that_are_not_objects_are_an_invalid_response(
    frame: dict[str, Any],
) -> None:
    """Such frames were skipped; a response.completed without its Response ended the stream as a
    success with no finish reason of its own, no usage and whatever text had come."""
    events = [*_events(ANSWERS["text"])[:-1], frame]
    with pytest.raises(router.InvalidResponseError, match="not an object"):
        _stream(_sse(events))
