"""The ollama-chat codec (Ollama's native POST /api/chat) through generated/ollama.py.

1. every canonical case -> the exact HTTP request, or the typed error where Ollama cannot take the
   content (an image by URL): in the one matrix, tests/test_translation.py (snapshots
   test_translation[ollama-*], refusals in tests/matrix.py REFUSED); here, the ollama particulars;
2. every outgoing body checked against the official ``ollama`` package: its pydantic types (which
   ignore unknown keys, so key sets are checked here explicitly), and its own client, which must send
   the same body when given our fields;
3. every recorded ollama-chat answer in tests/fixtures/real through parse_response /
   parse_stream_bytes (snapshot), checked against the official ``openai`` types;
4. error bodies, broken streams and odd finish reasons -> typed errors / kept native values.

Docs: https://github.com/ollama/ollama/blob/main/docs/api.md#generate-a-chat-completion ,
https://docs.ollama.com/api
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import httpx
import ollama
import pytest
from conftest import canonical_cases
from conftest import load_case
from conftest import real_cases
from matrix import REFUSED
from matrix import TEST_MODELS
from ollama import _types as ollama_types
from openai.types.chat import ChatCompletion as OpenAIChatCompletion
from openai.types.chat import ChatCompletionChunk as OpenAIChatCompletionChunk
from router.generated.ollama import ADAPTER as adapter

import router
from router import Receipt
from router._adapter import Adapter
from router._streaming import NDJSONParser
from router.protocols import _normalise
from router.protocols import ollama_chat
from router.protocols._config import MessageRules
from router.protocols._config import StructuredOutput
from router.protocols._config import ToolRules

MODEL = TEST_MODELS["ollama"]
KEY = "ollama-test-KEY-DO-NOT-LEAK-77"
CASES = canonical_cases()
# The cases Ollama can take (tests/matrix.py REFUSED names the others: an image by URL).
SENDABLE = [c for c in CASES if ("ollama", c.stem) not in REFUSED]
RECORDED = [p for p in real_cases("ollama") if load_case(p)["api"] == "ollama-chat"]


@pytest.fixture(autouse=True)
def no_ollama_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OLLAMA_HOST", "OLLAMA_API_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fixed_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """Completion ids are random (the protocol has none); snapshots need them fixed."""
    monkeypatch.setattr(_normalise, "new_id", lambda prefix: f"{prefix}fixed")


def _request(case: Path, **extra: Any) -> dict[str, Any]:
    request = dict(load_case(case)["request"])
    request["model"] = MODEL
    request.update(extra)
    return request


def _line(**fields: Any) -> bytes:
    base: dict[str, Any] = {"model": MODEL, "created_at": "2025-04-17T13:53:54.356258926Z"}
    return (json.dumps({**base, **fields}) + "\n").encode()


# --------------------------------------------------------------------------- 1. translation


def test_image_url_is_refused_even_when_not_strict() -> None:
    msg = {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://x/cat.jpg"}}]}
    with pytest.raises(router.UnsupportedParamsError, match=r"ollama cannot take an image by URL"):
        adapter.build_request({"model": MODEL, "messages": [msg]}, strict=False)


@pytest.mark.parametrize(
    ("part", "message"),
    [
        ({"type": "image_url", "image_url": {"url": "data:image/svg+xml,%3Csvg%3E"}}, "must be base64"),
        ({"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}, "type 'input_audio'"),
        ({"type": "file", "file": {"file_id": "f"}}, "type 'file'"),
    ],
    ids=["data-url-not-base64", "input-audio", "file"],
)
def test_content_parts_ollama_cannot_take(part: dict[str, Any], message: str) -> None:
    with pytest.raises(router.UnsupportedParamsError, match=message):
        adapter.build_request({"model": MODEL, "messages": [{"role": "user", "content": [part]}]})


def test_stream_flag_is_always_sent() -> None:
    base = {"model": MODEL, "messages": [{"role": "user", "content": "x"}]}
    assert adapter.build_request(base).json["stream"] is False
    assert adapter.build_request({**base, "stream": False}).json["stream"] is False
    http = adapter.build_request({**base, "stream": True})
    assert http.json["stream"] is True and http.stream is True


def test_local_server_needs_no_key() -> None:
    http = adapter.build_request({"model": MODEL, "messages": [{"role": "user", "content": "x"}]})
    assert http.url == "http://localhost:11434/api/chat"
    assert "Authorization" not in http.headers


def test_cloud_key_is_a_bearer_and_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", KEY)
    monkeypatch.setenv("OLLAMA_HOST", "https://ollama.com/")
    http = adapter.build_request({"model": "gpt-oss:120b", "messages": [{"role": "user", "content": "x"}]})
    assert http.url == "https://ollama.com/api/chat"
    assert http.headers["Authorization"] == f"Bearer {KEY}"
    assert KEY not in repr(http) and KEY not in json.dumps(http.redacted())


def test_ollama_host_with_scheme(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "http://10.0.0.5:11434")
    http = adapter.build_request({"model": MODEL, "messages": [{"role": "user", "content": "x"}]})
    assert http.url == "http://10.0.0.5:11434/api/chat"


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("0.0.0.0:11434", "http://0.0.0.0:11434/api/chat"),
        ("localhost", "http://localhost:11434/api/chat"),
        ("https://ollama.example.com", "https://ollama.example.com/api/chat"),
    ],
)
def test_ollama_host_without_scheme(monkeypatch: pytest.MonkeyPatch, host: str, url: str) -> None:
    # The official client reads a bare OLLAMA_HOST as http://host:11434 (ollama/_client.py _parse_host).
    monkeypatch.setenv("OLLAMA_HOST", host)
    http = adapter.build_request({"model": MODEL, "messages": [{"role": "user", "content": "x"}]})
    assert http.url == url


def test_extra_body_deep_merges_into_options() -> None:
    http = adapter.build_request(
        {
            "model": MODEL,
            "messages": [{"role": "user", "content": "x"}],
            "temperature": 0.2,
            "extra_body": {"keep_alive": "10m", "options": {"num_ctx": 8192}},
        }
    )
    assert http.json["options"] == {"temperature": 0.2, "num_ctx": 8192}
    assert http.json["keep_alive"] == "10m"


def test_tool_choice_and_parallel_calls_are_dropped_or_refused() -> None:
    tools = load_case(Path(__file__).parent / "cases" / "tools.json")["request"]["tools"]
    base = {"model": MODEL, "messages": [{"role": "user", "content": "x"}], "tools": tools}
    receipt = Receipt("ollama", MODEL)
    body = adapter.build_request({**base, "tool_choice": "auto"}, receipt=receipt).json
    assert "tool_choice" not in body and receipt.dropped == []
    receipt = Receipt("ollama", MODEL)
    adapter.build_request({**base, "tool_choice": "required", "parallel_tool_calls": False}, receipt=receipt)
    assert receipt.dropped == ["tool_choice", "parallel_tool_calls"]
    with pytest.raises(router.UnsupportedParamsError, match="tool_choice"):
        adapter.build_request({**base, "tool_choice": "none"}, strict=True)
    with pytest.raises(router.UnsupportedParamsError, match="parallel_tool_calls"):
        adapter.build_request({**base, "parallel_tool_calls": False}, strict=True)
    with pytest.raises(router.BadRequestError, match="not one OpenAI defines"):
        adapter.build_request({**base, "tool_choice": "sometimes"})


def test_legacy_functions_become_tools() -> None:
    fn = {"name": "f", "parameters": {"type": "object", "properties": {}}}
    body = adapter.build_request(
        {"model": MODEL, "messages": [{"role": "user", "content": "x"}], "functions": [fn]}
    ).json
    assert body["tools"] == [{"type": "function", "function": fn}]


def test_non_function_tools_are_refused() -> None:
    with pytest.raises(router.UnsupportedParamsError, match="function tools only"):
        adapter.build_request(
            {"model": MODEL, "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "custom"}]}
        )


@pytest.mark.parametrize(
    ("effort", "think"), [("none", False), ("low", "low"), ("medium", "medium"), ("high", "high")]
)
def test_reasoning_effort_becomes_think(effort: str, think: Any) -> None:
    body = adapter.build_request(
        {"model": "qwen3", "messages": [{"role": "user", "content": "x"}], "reasoning_effort": effort}
    ).json
    assert body["think"] == think
    assert "reasoning_effort" not in body


def test_reasoning_effort_without_a_level_is_dropped_or_refused() -> None:
    req = {"model": "qwen3", "messages": [{"role": "user", "content": "x"}], "reasoning_effort": "xhigh"}
    receipt = Receipt("ollama", "qwen3")
    assert "think" not in adapter.build_request(req, receipt=receipt).json
    assert receipt.dropped == ["reasoning_effort"]
    with pytest.raises(router.UnsupportedParamsError, match="xhigh"):
        adapter.build_request(req, strict=True)


def test_both_output_limits_keep_the_newer_name() -> None:
    receipt = Receipt("ollama", MODEL)
    body = adapter.build_request(
        {
            "model": MODEL,
            "messages": [{"role": "user", "content": "x"}],
            "max_tokens": 10,
            "max_completion_tokens": 20,
        },
        receipt=receipt,
    ).json
    assert body["options"] == {"num_predict": 20}
    assert receipt.dropped == ["max_tokens"]


def test_reasoning_content_follows_the_spec() -> None:
    case = _request(Path(__file__).parent / "cases" / "reasoning_round_trip.json")
    assistant = adapter.build_request(case).json["messages"][1]
    assert assistant["thinking"] == "Adding two and two gives four."
    dropping = dataclasses.replace(adapter.config, messages=MessageRules(reasoning_content="drop"))
    assert "thinking" not in Adapter(dropping, ollama_chat).build_request(case).json["messages"][1]


def test_structured_output_mechanisms() -> None:
    case = _request(Path(__file__).parent / "cases" / "json_schema.json")
    cleaned = dataclasses.replace(adapter.config, tools=ToolRules(frozenset({"additionalProperties"})))
    assert "additionalProperties" not in Adapter(cleaned, ollama_chat).build_request(case).json["format"]
    off = dataclasses.replace(adapter.config, structured_output=StructuredOutput(json_schema="unsupported"))
    receipt = Receipt("ollama", MODEL)
    assert "format" not in Adapter(off, ollama_chat).build_request(case, receipt=receipt).json
    assert receipt.dropped == ["response_format"]
    forced = dataclasses.replace(adapter.config, structured_output=StructuredOutput(json_schema="tool"))
    with pytest.raises(router.ConfigError, match="no tool_choice"):
        Adapter(forced, ollama_chat).build_request(case)


def test_tool_result_without_a_known_call_has_no_tool_name() -> None:
    body = adapter.build_request(
        {
            "model": MODEL,
            "messages": [
                {"role": "user", "content": "x"},
                {"role": "tool", "tool_call_id": "call_unknown", "content": "42"},
            ],
        }
    ).json
    assert body["messages"][1] == {"role": "tool", "content": "42"}


def test_bad_tool_arguments_fail_before_the_network() -> None:
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{not json"}}
    msgs = [{"role": "user", "content": "x"}, {"role": "assistant", "content": None, "tool_calls": [call]}]
    with pytest.raises(router.BadRequestError, match="not JSON"):
        adapter.build_request({"model": MODEL, "messages": msgs})


# --------------------------------------------------------------------------- 2. official SDK types


CHAT_REQUEST_FIELDS = set(ollama_types.ChatRequest.model_fields)
MESSAGE_FIELDS = set(ollama_types.Message.model_fields)
# ToolCall.Function in ollama-python has name/arguments; the API docs also send `index`
# (https://docs.ollama.com/capabilities/tool-calling), which the server reads (api/types.go).
TOOL_CALL_FUNCTION_FIELDS = set(ollama_types.Message.ToolCall.Function.model_fields) | {"index"}
OPTIONS_FIELDS = set(ollama_types.Options.model_fields)
TOOL_FIELDS = set(ollama_types.Tool.model_fields)
TOOL_FUNCTION_FIELDS = set(ollama_types.Tool.Function.model_fields)


def _official_message(m: dict[str, Any]) -> ollama_types.Message:
    # As ollama-python's own _copy_messages does: images become Image objects, which check base64.
    fields = {k: [ollama_types.Image(value=i) for i in v] if k == "images" else v for k, v in m.items()}
    return ollama_types.Message.model_validate(fields)


@pytest.mark.parametrize("case", SENDABLE, ids=[f"ollama-{c.stem}" for c in SENDABLE])
def test_body_matches_official_sdk_types(case: Path) -> None:
    body = adapter.build_request(_request(case)).json
    extra = set(load_case(case)["request"].get("extra_body") or {})
    unknown = set(body) - CHAT_REQUEST_FIELDS - extra
    assert not unknown, f"body has keys ollama.ChatRequest does not define: {sorted(unknown)}"
    ollama_types.ChatRequest.model_validate({k: v for k, v in body.items() if k not in extra})
    assert isinstance(body["stream"], bool)
    for m in body["messages"]:
        assert set(m) <= MESSAGE_FIELDS, sorted(set(m) - MESSAGE_FIELDS)
        assert m["role"] in ("system", "user", "assistant", "tool")
        assert isinstance(m["content"], str)  # required by docs/openapi.yaml ChatMessage
        _official_message(m).model_dump()  # the Image serializer b64-decodes every image
        for tc in m.get("tool_calls") or ():
            assert set(tc) == {"function"}
            assert set(tc["function"]) <= TOOL_CALL_FUNCTION_FIELDS
            assert isinstance(tc["function"]["arguments"], dict)
    for t in body.get("tools") or ():
        assert set(t) <= TOOL_FIELDS and set(t["function"]) <= TOOL_FUNCTION_FIELDS
    if "options" in body:
        assert set(body["options"]) <= OPTIONS_FIELDS, sorted(set(body["options"]) - OPTIONS_FIELDS)
        ollama_types.Options.model_validate(body["options"])
    if "think" in body:
        assert body["think"] in (True, False, "low", "medium", "high")
    if "format" in body:
        assert body["format"] == "json" or isinstance(body["format"], dict)


def _official_client_body(body: dict[str, Any]) -> dict[str, Any]:
    """What ollama-python's own Client.chat sends for our fields (captured, never sent)."""
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        answer = {"model": MODEL, "message": {"role": "assistant", "content": ""}, "done": True}
        return httpx.Response(200, json=answer)

    client = ollama.Client(host="http://127.0.0.1:9", transport=httpx.MockTransport(handler))
    result = client.chat(**body)
    if body["stream"]:
        list(result)  # a stream is requested when first read
    return seen[0]


def _as_official_client_reads_it(body: dict[str, Any]) -> dict[str, Any]:
    """Our body minus what ollama-python's types do not model: tool_calls[].function.index (sent by
    the docs, https://docs.ollama.com/capabilities/tool-calling) and additionalProperties in tool
    parameters (the server's ToolFunctionParameters does not read it either). The client also leaves
    out empty message fields (_copy_messages keeps truthy values only); we send content "" because
    docs/openapi.yaml marks ChatMessage.content required."""
    out = json.loads(json.dumps(body))
    out["messages"] = [{k: v for k, v in m.items() if v} for m in out["messages"]]
    for m in out["messages"]:
        for tc in m.get("tool_calls") or ():
            tc["function"].pop("index", None)
    for t in out.get("tools") or ():
        t["function"]["parameters"].pop("additionalProperties", None)
    return out


@pytest.mark.parametrize(
    "case", [c for c in SENDABLE if c.stem != "extra_body_headers"], ids=lambda c: f"ollama-{c.stem}"
)
def test_official_client_sends_the_same_body(case: Path) -> None:
    body = adapter.build_request(_request(case)).json
    sent = _official_client_body(body)
    if sent.get("tools") == [] and "tools" not in body:
        del sent["tools"]  # the official client always sends a (possibly empty) tools list
    assert _as_official_client_reads_it(body) == sent


# --------------------------------------------------------------------------- 3. recorded answers


def _recorded(path: Path) -> Any:
    case = load_case(path)
    resp = case["response"]
    if case["stream"]:
        return [c.to_dict() for c in adapter.parse_stream_bytes([resp["raw_stream"].encode()])]
    return adapter.parse_response(resp["status"], resp["headers"], resp["body"]).to_dict()


@pytest.mark.parametrize("path", RECORDED, ids=[f"ollama-{p.stem}" for p in RECORDED])
def test_recorded_answer(path: Path, snapshot_json: Any, fixed_clock: int, fixed_ids: None) -> None:
    case = load_case(path)
    out = _recorded(path)
    if case["stream"]:
        for d in out:
            OpenAIChatCompletionChunk.model_validate(d)
        assert out[0]["choices"][0]["delta"]["role"] == "assistant"
        assert sum(1 for d in out if d["choices"] and d["choices"][0]["finish_reason"]) == 1
        assert out[-1]["choices"] == [] and out[-1]["usage"]["total_tokens"] > 0
        # Byte by byte gives the same chunks: NDJSON framing is boundary-safe.
        raw = case["response"]["raw_stream"].encode()
        one_by_one = [
            c.to_dict() for c in adapter.parse_stream_bytes(raw[i : i + 1] for i in range(len(raw)))
        ]
        assert one_by_one == out
    else:
        OpenAIChatCompletion.model_validate(out)
        u = out["usage"]
        assert u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"]
    assert out == snapshot_json


def test_recorded_stream_tool_call_finishes_as_tool_calls(fixed_clock: int) -> None:
    path = next(p for p in RECORDED if p.stem == "stream_tool_calls")
    chunks = list(adapter.parse_stream_bytes([load_case(path)["response"]["raw_stream"].encode()]))
    calls = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or ()]
    assert [(tc.index, tc.name, json.loads(tc.arguments or "")) for tc in calls] == [
        (0, "weather", {"latitude": "52.5200", "longitude": "13.4050"})
    ]
    assert calls[0].id is not None and calls[0].id.startswith("call_")
    finish = next(c.choices[0] for c in chunks if c.choices and c.choices[0].finish_reason)
    assert (finish.finish_reason, finish.native_finish_reason) == ("tool_calls", "stop")
    accumulated = router.accumulate(chunks)
    OpenAIChatCompletion.model_validate(accumulated.to_dict())
    assert accumulated.choices[0].message.tool_calls is not None


def test_created_at_becomes_unix_seconds() -> None:
    path = next(p for p in RECORDED if p.stem == "chat_tool_result_followup")
    resp = load_case(path)["response"]
    assert adapter.parse_response(200, {}, resp["body"]).created == 1744897856  # 2025-04-17T13:50:56Z


# --------------------------------------------------------------------------- answers the recordings lack

TOOL_ANSWER = {
    # docs/api.md "Chat request (with tools)"
    "model": MODEL,
    "created_at": "2024-07-22T20:33:28.123648Z",
    "message": {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "function": {
                    "name": "get_current_weather",
                    "arguments": {"format": "celsius", "location": "Paris, FR"},
                }
            },
            {"function": {"index": 1, "name": "get_time", "arguments": {}}},
        ],
    },
    "done_reason": "stop",
    "done": True,
    "prompt_eval_count": 122,
    "eval_count": 33,
}


def test_tool_calls_get_stable_ids_and_json_arguments(fixed_clock: int) -> None:
    first = adapter.parse_response(200, {}, TOOL_ANSWER)
    again = adapter.parse_response(200, {}, json.dumps(TOOL_ANSWER).encode())
    OpenAIChatCompletion.model_validate(first.to_dict())
    choice = first.choices[0]
    assert (choice.finish_reason, choice.native_finish_reason) == ("tool_calls", "stop")
    assert choice.message.content is None
    calls = choice.message.tool_calls or []
    assert [c.function.arguments for c in calls] == ['{"format":"celsius","location":"Paris, FR"}', "{}"]
    ids = [c.id for c in calls]
    assert ids == [c.id for c in again.choices[0].message.tool_calls or []]  # stable
    assert len(set(ids)) == 2 and all(i.startswith("call_") and len(i) == 29 for i in ids)
    later = adapter.parse_response(200, {}, {**TOOL_ANSWER, "created_at": "2024-07-22T20:40:00Z"})
    assert ids[0] != (later.choices[0].message.tool_calls or [])[0].id  # a new turn, a new id
    assert first.created == 1721680408


def test_a_tool_call_id_from_the_server_is_kept() -> None:
    answer = json.loads(json.dumps(TOOL_ANSWER))
    answer["message"]["tool_calls"][0]["id"] = "call_server_1"
    calls = adapter.parse_response(200, {}, answer).choices[0].message.tool_calls or []
    assert calls[0].id == "call_server_1"


def test_tool_call_round_trip_names_the_tool() -> None:
    """An answer's tool calls, sent back with their results, reach Ollama with tool_name."""
    answer = adapter.parse_response(200, {}, TOOL_ANSWER)
    calls = answer.choices[0].message.tool_calls or []
    messages = [
        {"role": "user", "content": "Weather and time in Paris?"},
        answer.choices[0].message,  # a Message object, as apps append it
        {"role": "tool", "tool_call_id": calls[0].id, "content": "22C"},
        {"role": "tool", "tool_call_id": calls[1].id, "content": "10:00"},
    ]
    sent = adapter.build_request({"model": MODEL, "messages": messages}).json["messages"]
    assert sent[1] == {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"function": {"index": 0, "name": "get_current_weather", "arguments": {"format": "celsius", "location": "Paris, FR"}}},
            {"function": {"index": 1, "name": "get_time", "arguments": {}}},
        ],
    }  # fmt: skip
    assert sent[2] == {"role": "tool", "content": "22C", "tool_name": "get_current_weather"}
    assert sent[3] == {"role": "tool", "content": "10:00", "tool_name": "get_time"}


def test_thinking_answer() -> None:
    body = {
        "model": "qwen3",
        "created_at": "2025-08-01T10:00:00.123456789Z",
        "message": {"role": "assistant", "content": "3", "thinking": "s-t-r-a-w-b-e-r-r-y: three r."},
        "done": True,
        "done_reason": "stop",
        "prompt_eval_count": 20,
        "eval_count": 50,
    }
    result = adapter.parse_response(200, {}, body)
    OpenAIChatCompletion.model_validate(result.to_dict())
    message = result.choices[0].message
    assert (message.content, message.reasoning_content) == ("3", "s-t-r-a-w-b-e-r-r-y: three r.")
    assert result.usage is not None and result.usage.total_tokens == 70


def test_thinking_stream(fixed_clock: int) -> None:
    raw = (
        _line(message={"role": "assistant", "content": "", "thinking": "Count"}, done=False)
        + _line(message={"role": "assistant", "content": "", "thinking": " the r's."}, done=False)
        + _line(message={"role": "assistant", "content": "3"}, done=False)
        + _line(message={"role": "assistant", "content": ""}, done=True, done_reason="length", eval_count=9)
    )
    chunks = list(adapter.parse_stream_bytes([raw]))
    for c in chunks:
        OpenAIChatCompletionChunk.model_validate(c.to_dict())
    deltas = [c.choices[0].delta.to_dict() for c in chunks if c.choices]
    assert deltas[:3] == [
        {"role": "assistant", "content": "", "reasoning_content": "Count"},
        {"reasoning_content": " the r's."},
        {"content": "3"},
    ]
    assert (chunks[-2].choices[0].finish_reason, chunks[-2].choices[0].native_finish_reason) == (
        "length",
        "length",
    )
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 9
    assert len({c.id for c in chunks}) == 1  # one id for the whole stream
    assert {c.created for c in chunks} == {1744898034}  # the first line's created_at


@pytest.mark.parametrize(
    ("done_reason", "finish"),
    [("stop", "stop"), ("length", "length"), ("load", "stop"), ("unload", "stop")],
)
def test_done_reasons(done_reason: str, finish: str) -> None:
    body = {
        "model": MODEL,
        "message": {"role": "assistant", "content": ""},
        "done": True,
        "done_reason": done_reason,
    }
    choice = adapter.parse_response(200, {}, body).choices[0]
    assert (choice.finish_reason, choice.native_finish_reason) == (finish, done_reason)


def test_unknown_done_reason_is_kept_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    body = {
        "model": MODEL,
        "message": {"role": "assistant", "content": "x"},
        "done": True,
        "done_reason": "brand_new",
    }
    with caplog.at_level("WARNING", logger="router"):
        result = adapter.parse_response(200, {}, body)
        chunks = list(adapter.parse_stream_bytes([_line(**body)]))
    assert result.choices[0].native_finish_reason == "brand_new"
    assert result.choices[0].finish_reason == "stop"  # the spec's declared `unknown`
    finish = next(c.choices[0] for c in chunks if c.choices and c.choices[0].finish_reason)
    assert (finish.finish_reason, finish.native_finish_reason) == ("stop", "brand_new")
    assert "brand_new" in caplog.text


def test_old_servers_without_done_reason(fixed_clock: int) -> None:
    # docs/api.md's own examples: done true, no done_reason, no created_at precision issues.
    body = {
        "model": MODEL,
        "created_at": "not a time",
        "message": {"role": "assistant", "content": "Hi"},
        "done": True,
    }
    result = adapter.parse_response(200, {}, body)
    OpenAIChatCompletion.model_validate(result.to_dict())
    assert (result.choices[0].finish_reason, result.choices[0].native_finish_reason) == ("stop", None)
    assert result.created == fixed_clock  # unparsable created_at falls back to now()
    assert result.usage is None


def test_final_line_without_message_still_finishes() -> None:
    # docs/api.md "Chat Request (Streaming)": the final object has no message at all.
    raw = _line(message={"role": "assistant", "content": "The"}, done=False) + _line(
        done=True, prompt_eval_count=26, eval_count=282
    )
    chunks = list(adapter.parse_stream_bytes([raw]))
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 308


# --------------------------------------------------------------------------- 4. errors


@pytest.mark.parametrize(
    ("status", "body", "cls", "text"),
    [
        (404, b'{"error":"model \'x\' not found"}', router.NotFoundError, "model 'x' not found"),
        (
            404,
            b'{"error":"model \\"x\\" not found, try pulling it first"}',
            router.NotFoundError,
            "try pulling it first",
        ),
        (
            400,
            b'{"error":"\\"llama3.2\\" does not support thinking"}',
            router.UnsupportedParamsError,
            "does not support thinking",
        ),
        (
            400,
            b'{"error":"registry.ollama.ai/library/gemma3:latest does not support tools"}',
            router.UnsupportedParamsError,
            "does not support tools",
        ),
        (400, b'{"error":"invalid options: foo"}', router.BadRequestError, "invalid options"),
        (401, b'{"error":"unauthorized"}', router.AuthenticationError, "unauthorized"),
        (429, b'{"error":"too many requests"}', router.RateLimitError, "too many requests"),
        (
            500,
            b"<!DOCTYPE html><html><body><h1>500 Internal Server Error</h1></body></html>",
            router.InternalServerError,
            "HTML",
        ),
        (502, b'{"error":"cloud model unreachable"}', router.ServiceUnavailableError, "unreachable"),
        (200, b'{"error":"the model failed to generate a response"}', router.InternalServerError, "failed"),
    ],
    ids=[
        "model-not-found",
        "model-not-found-old",
        "no-thinking",
        "no-tools",
        "bad-request",
        "unauthorized",
        "rate-limit",
        "html-500",
        "bad-gateway",
        "error-in-200",
    ],
)
def test_error_answers_are_typed(status: int, body: bytes, cls: type[Exception], text: str) -> None:
    with pytest.raises(cls, match=text) as info:
        adapter.parse_response(status, {}, body)
    assert isinstance(info.value, router.APIError)
    assert info.value.provider == "ollama"
    assert info.value.status == (status if status >= 400 else 500)
    assert type(adapter.map_error(max(status, 500) if status < 400 else status, {}, body)) is cls


@pytest.mark.parametrize(
    ("body", "cls"),
    [
        (b'{"model":"m","message":', router.InvalidResponseError),
        (b'{"model":"m","done":true}', router.InvalidResponseError),
        (b"<html>ok</html>", router.InvalidResponseError),
        (_line(message={"role": "assistant", "content": "a"}, done=False) * 2, router.InvalidResponseError),
    ],
    ids=["truncated-json", "no-message", "html-200", "ndjson-to-parse_response"],
)
def test_bad_answers_are_invalid_responses(body: bytes, cls: type[Exception]) -> None:
    with pytest.raises(cls):
        adapter.parse_response(200, {}, body)


def test_truncated_stream_is_a_connection_error() -> None:
    raw = _line(message={"role": "assistant", "content": "Hel"}, done=False)
    got: list[Any] = []
    with pytest.raises(router.APIConnectionError, match="done: true"):
        for chunk in adapter.parse_stream_bytes([raw]):
            got.append(chunk)
    assert got[0].choices[0].delta.content == "Hel"  # what arrived was delivered first


def test_truncated_last_line_is_an_invalid_response() -> None:
    raw = _line(message={"role": "assistant", "content": "Hel"}, done=False) + b'{"model":"m","done":tr'
    with pytest.raises(router.InvalidResponseError, match="not JSON"):
        list(adapter.parse_stream_bytes([raw]))


def test_error_line_inside_a_200_stream() -> None:
    # https://docs.ollama.com/api/errors "Errors that occur while streaming"
    raw = (
        _line(message={"role": "assistant", "content": " Yes"}, done=False)
        + b'{"error":"an error was encountered while running the model"}\n'
    )
    got: list[Any] = []
    with pytest.raises(router.InternalServerError, match="an error was encountered") as info:
        for chunk in adapter.parse_stream_bytes([raw]):
            got.append(chunk)
    assert info.value.retryable
    assert [c.choices[0].delta.content for c in got] == [" Yes"]


def test_error_line_with_a_known_message_is_typed() -> None:
    with pytest.raises(router.NotFoundError):
        list(adapter.parse_stream_bytes([b'{"error":"model \'nope\' not found"}\n']))


def test_stream_line_that_is_not_an_object() -> None:
    with pytest.raises(router.InvalidResponseError, match="not a JSON object"):
        list(adapter.parse_stream_bytes([b"[1, 2]\n"]))


def test_stream_stops_at_done() -> None:
    """Lines after done: true are never read (the decoder says done)."""
    decoder = adapter.stream_decoder()
    events = NDJSONParser().feed(
        _line(message={"role": "assistant", "content": "a"}, done=True, done_reason="stop") + b"garbage\n"
    )
    out = list(decoder.decode(events))
    assert decoder.done
    assert [c.choices[0].finish_reason for c in out] == [None, "stop"]


# --------------------------------------------------------------------------- 5. through real HTTP


def test_through_http_with_ollama_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """router.completion over a real socket: OLLAMA_HOST is read, the body says stream, a streamed
    answer split at awkward byte boundaries gives the same chunks as the pure parse."""
    from loopback import Loopback
    from loopback import Reply
    from loopback import split_awkwardly

    path = next(p for p in RECORDED if p.stem == "stream_tool_calls")
    raw = load_case(path)["response"]["raw_stream"].encode()
    with Loopback() as server:
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        server.replies.append(Reply(200, {"content-type": "application/x-ndjson"}, split_awkwardly(raw)))
        server.replies.append(Reply.json({"error": "model 'nope' not found"}, status=404))
        msgs = [{"role": "user", "content": "Weather in Berlin?"}]
        chunks = list(router.completion("ollama/llama3.1:8b", msgs, stream=True, max_retries=0))
        with pytest.raises(router.NotFoundError, match="not found"):
            router.completion("ollama/nope", msgs, max_retries=0)
    sent = [json.loads(s.body) for s in server.seen]
    assert [s.path for s in server.seen] == ["/api/chat", "/api/chat"]
    assert [b["stream"] for b in sent] == [True, False]
    assert "authorization" not in server.seen[0].headers
    direct = list(adapter.parse_stream_bytes([raw]))
    assert [c.to_dict() | {"id": ""} for c in chunks] == [c.to_dict() | {"id": ""} for c in direct]
