"""The gemini codec (generateContent / streamGenerateContent) through generated/gemini.py.

1. every canonical case -> the exact HTTP request: in the one matrix, tests/test_translation.py
   (snapshots test_translation[gemini-*]); here, the gemini particulars (URL, key env order, parts);
2. every outgoing body checked against google-genai's own pydantic types (which forbid unknown keys),
   in their JSON (camelCase, base64) form, and no top-level key the API does not define;
3. every recorded gemini answer in tests/fixtures/real through parse_response / parse_stream_bytes
   (snapshot), checked against the official ``openai`` types; error recordings -> typed errors;
4. streams accumulated chunk by chunk agree with what the chunks say and with the non-stream reading
   of the same answer (recorded streams merged into one body; recorded bodies split into a stream);
5. blocked prompts, empty candidates, HTML pages, cut-off streams, error frames, unknown finish
   reasons -> a well-formed result or the typed error; thought signatures and tool names round-trip.

Docs: https://ai.google.dev/api/generate-content , https://ai.google.dev/gemini-api/docs/thought-signatures
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import canonical_cases
from conftest import error_record
from conftest import load_case
from conftest import real_cases
from google.genai import types as genai_types
from matrix import TEST_MODELS
from openai.types.chat import ChatCompletion as OpenAIChatCompletion
from openai.types.chat import ChatCompletionChunk as OpenAIChatCompletionChunk
from pydantic import TypeAdapter
from router.generated.gemini import ADAPTER as adapter

import router
from router import Receipt
from router._adapter import Adapter
from router._streaming import iter_events
from router._types import ChatCompletion
from router._types import ChatCompletionChunk
from router.protocols import gemini as codec
from router.protocols._config import MessageRules

MODEL = TEST_MODELS["gemini"]
KEY = "AIza-test-KEY-DO-NOT-LEAK-4242"
CASES = canonical_cases()
RECORDED = real_cases("gemini")
OK = [p for p in RECORDED if load_case(p)["response"]["status"] < 400]
ERRORS = [p for p in RECORDED if load_case(p)["response"]["status"] >= 400]
STREAMS = [p for p in OK if load_case(p)["stream"]]
BODIES = [p for p in OK if not load_case(p)["stream"]]
SPLITTABLE = [
    p for p in BODIES if (load_case(p)["response"]["body"]["candidates"][0].get("content") or {}).get("parts")
]

# GenerateContentRequest's fields (https://ai.google.dev/api/generate-content#request-body), each with
# the google-genai type that describes it. The model travels in the URL.
TOP_LEVEL: dict[str, Any] = {
    "contents": list[genai_types.Content],
    "systemInstruction": genai_types.Content,
    "generationConfig": genai_types.GenerationConfig,
    "tools": list[genai_types.Tool],
    "toolConfig": genai_types.ToolConfig,
    "safetySettings": list[genai_types.SafetySetting],
    "cachedContent": str,
}
# Where user data (not API field names) sits in a body: property names, call arguments, results.
USER_DATA = {"properties", "args", "response", "responseJsonSchema"}


@pytest.fixture(autouse=True)
def no_gemini_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def _request(case: Path, **extra: Any) -> dict[str, Any]:
    request = dict(load_case(case)["request"])
    request["model"] = MODEL
    request.update(extra)
    return request


def _user(text: str = "Hi") -> dict[str, Any]:
    return {"role": "user", "content": text}


def _sse(*frames: dict[str, Any]) -> bytes:
    return b"".join(b"data: " + json.dumps(f).encode() + b"\r\n\r\n" for f in frames)


def _body(case: dict[str, Any]) -> Any:
    r = case["response"]
    return r["body"] if r.get("body") is not None else r.get("raw_body")


# --------------------------------------------------------------------------- 1. translation


def test_stream_goes_to_the_stream_method_as_sse() -> None:
    http = adapter.build_request({"model": MODEL, "messages": [_user()], "stream": True}, api_key=KEY)
    assert http.url == (
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    )
    assert "stream" not in http.json and http.stream


def test_models_prefix_and_alias_free_ids() -> None:
    http = adapter.build_request({"model": "models/gemini-2.5-pro", "messages": [_user()]}, api_key=KEY)
    assert http.url.endswith("/v1beta/models/gemini-2.5-pro:generateContent")


def test_key_env_order_follows_the_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "from-gemini")
    http = adapter.build_request({"model": MODEL, "messages": [_user()]})
    assert http.headers["x-goog-api-key"] == "from-gemini"
    monkeypatch.setenv("GOOGLE_API_KEY", "from-google")
    http = adapter.build_request({"model": MODEL, "messages": [_user()]})
    assert http.headers["x-goog-api-key"] == "from-google"


def test_missing_key_names_both_env_vars() -> None:
    with pytest.raises(router.ConfigError, match="GOOGLE_API_KEY or GEMINI_API_KEY"):
        adapter.build_request({"model": MODEL, "messages": [_user()]})


def test_base_url_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", "http://127.0.0.1:9/")
    http = adapter.build_request({"model": MODEL, "messages": [_user()]}, api_key=KEY)
    assert http.url == "http://127.0.0.1:9/v1beta/models/gemini-2.5-flash:generateContent"


@pytest.mark.parametrize(
    ("url", "mime"),
    [
        ("https://example.com/a/cat.PNG?x=1", "image/png"),
        ("https://example.com/cat.webp", "image/webp"),
        ("https://example.com/cat", "image/jpeg"),
        ("http://example.com/cat.jpeg", "image/jpeg"),
    ],
)
def test_image_url_mime_is_guessed_from_the_extension(url: str, mime: str) -> None:
    msg = {"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}
    body = adapter.build_request({"model": MODEL, "messages": [msg]}, api_key=KEY).json
    assert body["contents"][0]["parts"] == [{"fileData": {"mimeType": mime, "fileUri": url}}]


def test_audio_and_pdf_parts_become_inline_data() -> None:
    msg = {
        "role": "user",
        "content": [
            {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
            {
                "type": "file",
                "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"},
            },
        ],
    }
    body = adapter.build_request({"model": MODEL, "messages": [msg]}, api_key=KEY).json
    assert body["contents"][0]["parts"] == [
        {"inlineData": {"mimeType": "audio/wav", "data": "UklGRg=="}},
        {"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0="}},
    ]


@pytest.mark.parametrize(
    ("part", "message"),
    [
        (
            {"type": "video_url", "video_url": {"url": "x"}},
            "gemini cannot take a content part of type 'video_url'",
        ),
        ({"type": "file", "file": {"file_id": "file-abc"}}, "file part only as file_data"),
        ({"type": "image_url", "image_url": {"url": "ftp://example.com/a.png"}}, "scheme 'ftp'"),
        ({"type": "image_url", "image_url": {"url": "data:image/png,rawbytes"}}, "must be base64"),
    ],
    ids=["video_url", "file_id", "ftp-image", "non-base64-data-url"],
)
def test_unsupported_content_is_named(part: dict[str, Any], message: str) -> None:
    with pytest.raises(router.UnsupportedParamsError, match=message) as info:
        adapter.build_request(
            {"model": MODEL, "messages": [{"role": "user", "content": [part]}]}, api_key=KEY
        )
    assert info.value.provider == "gemini"


@pytest.mark.parametrize(
    ("request_", "cls", "message"),
    [
        ({"model": MODEL, "messages": []}, router.BadRequestError, "non-empty list"),
        ({"model": "", "messages": [_user()]}, router.BadRequestError, "model"),
        ({"model": MODEL, "messages": [{"role": "wizard", "content": "x"}]}, router.BadRequestError, "role"),
        (
            {"model": MODEL, "messages": [{"role": "system", "content": "only a system prompt"}]},
            router.BadRequestError,
            "at least one user or assistant message",
        ),
        (
            {
                "model": MODEL,
                "messages": [_user(), {"role": "tool", "tool_call_id": "call_x", "content": "1"}],
            },
            router.BadRequestError,
            "answers no earlier assistant tool call",
        ),
        (
            {"model": MODEL, "messages": [{"role": "function", "name": "f", "content": "1"}]},
            router.UnsupportedParamsError,
            "legacy",
        ),
        (
            {"model": MODEL, "messages": [_user()], "tools": [{"type": "web_search"}]},
            router.UnsupportedParamsError,
            "tool of type 'web_search'",
        ),
        (
            {"model": MODEL, "messages": [_user()], "tool_choice": "sometimes"},
            router.BadRequestError,
            "tool_choice",
        ),
        (
            {"model": MODEL, "messages": [_user()], "response_format": {"type": "xml"}},
            router.BadRequestError,
            "response_format",
        ),
        (
            {
                "model": MODEL,
                "messages": [
                    _user(),
                    {
                        "role": "assistant",
                        "tool_calls": [
                            {"id": "c", "type": "function", "function": {"name": "f", "arguments": "[1]"}}
                        ],
                    },
                ],
            },
            router.BadRequestError,
            "not a JSON object",
        ),
        (
            {"model": MODEL, "messages": [_user()], "temprature": 1},
            router.UnsupportedParamsError,
            "temperature",
        ),
    ],
    ids=[
        "empty-messages",
        "empty-model",
        "unknown-role",
        "system-only",
        "orphan-tool-result",
        "legacy-function-role",
        "non-function-tool",
        "bad-tool-choice",
        "bad-response-format",
        "non-object-arguments",
        "typo",
    ],
)
def test_bad_requests_fail_before_the_network(
    request_: dict[str, Any], cls: type[Exception], message: str
) -> None:
    with pytest.raises(cls, match=message):
        adapter.build_request(request_, api_key=KEY)


def test_strict_mode_raises_instead_of_dropping() -> None:
    req = {"model": MODEL, "messages": [_user()], "user": "u-1", "parallel_tool_calls": False}
    receipt = Receipt("gemini", MODEL)
    adapter.build_request(req, api_key=KEY, receipt=receipt)
    assert receipt.dropped == ["parallel_tool_calls", "user"]
    with pytest.raises(router.UnsupportedParamsError, match="parallel tool calls"):
        adapter.build_request(req, api_key=KEY, strict=True)
    with pytest.raises(router.UnsupportedParamsError, match="'user'"):
        adapter.build_request({**req, "parallel_tool_calls": None}, api_key=KEY, strict=True)


def test_tool_choice_modes() -> None:
    tools = load_case(Path(__file__).parent / "cases" / "tools.json")["request"]["tools"]

    def config(choice: Any) -> Any:
        req = {"model": MODEL, "messages": [_user()], "tools": tools, "tool_choice": choice}
        return adapter.build_request(req, api_key=KEY).json["toolConfig"]["functionCallingConfig"]

    assert config("auto") == {"mode": "AUTO"}
    assert config("none") == {"mode": "NONE"}
    assert config("required") == {"mode": "ANY"}
    assert config({"type": "function", "function": {"name": "get_weather"}}) == {
        "mode": "ANY",
        "allowedFunctionNames": ["get_weather"],
    }
    allowed = {"mode": "auto", "tools": [{"type": "function", "function": {"name": "get_weather"}}]}
    assert config({"type": "allowed_tools", "allowed_tools": allowed}) == {
        "mode": "VALIDATED",
        "allowedFunctionNames": ["get_weather"],
    }


def test_schema_keywords_gemini_rejects_are_removed_recursively() -> None:
    params = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            # A property named like a dropped keyword stays: only keywords go.
            "const": {"type": "integer", "exclusiveMinimum": 0, "description": "d"},
            "tags": {"type": "array", "uniqueItems": True, "items": {"type": "string", "const": "x"}},
        },
        "required": ["const"],
    }
    tools = [{"type": "function", "function": {"name": "f", "parameters": params, "strict": True}}]
    body = adapter.build_request({"model": MODEL, "messages": [_user()], "tools": tools}, api_key=KEY).json
    assert body["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "f",
                    "parameters": {
                        "type": "object",
                        "properties": {
                            "const": {"type": "integer", "description": "d"},
                            "tags": {"type": "array", "items": {"type": "string"}},
                        },
                        "required": ["const"],
                    },
                }
            ]
        }
    ]
    genai_types.Tool.model_validate(body["tools"][0])


def test_extra_body_merges_into_generation_config() -> None:
    req = {
        "model": MODEL,
        "messages": [_user()],
        "temperature": 0.2,
        "extra_body": {
            "generationConfig": {"thinkingConfig": {"thinkingLevel": "low"}},
            "safetySettings": [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_NONE"}],
        },
        "extra_headers": {"X-Trace": "t-1"},
    }
    http = adapter.build_request(req, api_key=KEY)
    assert http.json["generationConfig"] == {"temperature": 0.2, "thinkingConfig": {"thinkingLevel": "low"}}
    assert http.headers["X-Trace"] == "t-1"
    _validate_body(http.json)


def test_reasoning_raises_the_output_limit_above_the_budget() -> None:
    receipt = Receipt("gemini", MODEL)
    req = {"model": MODEL, "messages": [_user()], "reasoning_effort": "high", "max_tokens": 100}
    gen = adapter.build_request(req, api_key=KEY, receipt=receipt).json["generationConfig"]
    assert gen["thinkingConfig"] == {"thinkingBudget": 24576, "includeThoughts": True}
    assert gen["maxOutputTokens"] == 24676
    assert receipt.clamped == {"generationConfig.maxOutputTokens": {"from": 100, "to": 24676}}
    none = adapter.build_request({**req, "reasoning_effort": "none"}, api_key=KEY).json["generationConfig"]
    assert none == {"maxOutputTokens": 100, "thinkingConfig": {"thinkingBudget": 0}}


# --------------------------------------------------------------------------- 2. google-genai types


def _snake_keys(obj: Any, path: str = "") -> list[str]:
    """API field names in a body that are not camelCase (the REST API's JSON form)."""
    found: list[str] = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if "_" in k:
                found.append(f"{path}.{k}")
            if k not in USER_DATA:
                found += _snake_keys(v, f"{path}.{k}")
            elif k == "properties" and isinstance(v, dict):
                for name, sub in v.items():
                    found += _snake_keys(sub, f"{path}.properties.{name}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            found += _snake_keys(v, f"{path}[{i}]")
    return found


def _validate_body(body: dict[str, Any], allowed_extra: frozenset[str] = frozenset()) -> None:
    unknown = set(body) - set(TOP_LEVEL) - allowed_extra
    assert not unknown, f"body has top-level keys generateContent does not define: {sorted(unknown)}"
    snake = _snake_keys({k: v for k, v in body.items() if k not in allowed_extra})
    assert not snake, f"body has field names that are not camelCase: {snake}"
    for key, value in body.items():
        if key in TOP_LEVEL:
            # JSON mode: camelCase aliases, and base64 for bytes (inlineData.data, thoughtSignature).
            TypeAdapter(TOP_LEVEL[key]).validate_json(json.dumps(value))


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_body_matches_google_genai_types(case: Path) -> None:
    body = adapter.build_request(_request(case), api_key=KEY).json
    extra = frozenset(load_case(case)["request"].get("extra_body") or ())
    _validate_body(body, extra)
    roles = [c["role"] for c in body["contents"]]
    assert roles == [("user", "model")[i % 2] for i in range(len(roles))], "turns alternate, user first"
    assert all(c["parts"] for c in body["contents"]), "no turn without parts"


def test_the_type_check_catches_a_stray_key() -> None:
    with pytest.raises(ValueError):
        _validate_body({"contents": [{"role": "user", "parts": [{"text": "x", "bogus": 1}]}]})
    with pytest.raises(AssertionError):
        _validate_body({"contents": [{"role": "user", "parts": [{"inline_data": {"data": "eA=="}}]}]})
    with pytest.raises(AssertionError):
        _validate_body({"contents": [], "model": "m"})


# --------------------------------------------------------------------------- 3. recorded answers


def _ids(paths: list[Path]) -> list[str]:
    return [f"gemini-{p.stem}" for p in paths]


@pytest.mark.parametrize("path", OK, ids=_ids(OK))
def test_recorded_answer(path: Path, snapshot_json: Any, fixed_clock: int) -> None:
    case = load_case(path)
    resp = case["response"]
    if case["stream"]:
        chunks = list(adapter.parse_stream_bytes([resp["raw_stream"].encode()]))
        dicts = [c.to_dict() for c in chunks]
        for d in dicts:
            OpenAIChatCompletionChunk.model_validate(d)
        assert chunks[0].choices[0].delta.role == "assistant"
        assert any(c.choices and c.choices[0].finish_reason for c in chunks)
        assert chunks[-1].choices == [] and chunks[-1].usage is not None
        assert dicts == snapshot_json
    else:
        result = adapter.parse_response(resp["status"], resp["headers"], _body(case))
        d = result.to_dict()
        OpenAIChatCompletion.model_validate(d)
        choice = result.choices[0]
        assert choice.native_finish_reason is not None
        u = result.usage
        assert u is not None and u.total_tokens == u.prompt_tokens + u.completion_tokens
        assert d == snapshot_json


@pytest.mark.parametrize("path", ERRORS, ids=_ids(ERRORS))
def test_recorded_error(path: Path, snapshot_json: Any) -> None:
    case = load_case(path)
    resp = case["response"]
    with pytest.raises(router.APIError) as info:
        adapter.parse_response(resp["status"], resp["headers"], _body(case))
    err = info.value
    assert err.status == resp["status"] and err.provider == "gemini"
    # The router's error path (map_error straight from the adapter) agrees with parse_response.
    assert type(adapter.map_error(resp["status"], resp["headers"], _body(case))) is type(err)
    assert error_record(err, request_id=False) == snapshot_json


def test_recorded_usage_counts_thoughts_as_completion() -> None:
    case = load_case(next(p for p in BODIES if p.stem == "parallel_function_calls"))
    u = adapter.parse_response(200, {}, case["response"]["body"]).usage
    assert u is not None
    # promptTokenCount 143, candidatesTokenCount 44 (thoughts left out), thoughtsTokenCount 110, total 297.
    assert (u.prompt_tokens, u.completion_tokens, u.total_tokens) == (143, 154, 297)
    assert u.completion_tokens_details.reasoning_tokens == 110


# --------------------------------------------------------------------------- 4. streams vs answers


def _accumulate(chunks: list[ChatCompletionChunk]) -> tuple[dict[int, dict[str, Any]], Any]:
    """Fold chunks the way an OpenAI client does, checking the stream's own promises on the way."""
    choices: dict[int, dict[str, Any]] = {}
    usage = None
    for n, chunk in enumerate(chunks):
        if chunk.usage is not None:
            assert chunk.choices == [] and n == len(chunks) - 1, "usage comes once, last, without choices"
            usage = chunk.usage.to_dict()
        for c in chunk.choices:
            first = c.index not in choices
            acc = choices.setdefault(
                c.index,
                {"content": None, "reasoning_content": None, "tool_calls": {}, "reasoning_blocks": [],
                 "finish_reason": None, "native_finish_reason": None},
            )  # fmt: skip
            assert (c.delta.role == "assistant") == first, "role comes once, on the first delta"
            assert acc["finish_reason"] is None, "nothing follows a choice's finish reason"
            d = c.delta
            if d.content is not None:
                acc["content"] = (acc["content"] or "") + d.content
            if d.reasoning_content is not None:
                acc["reasoning_content"] = (acc["reasoning_content"] or "") + d.reasoning_content
            for tc in d.tool_calls or ():
                slot = acc["tool_calls"].setdefault(tc.index, {"id": None, "name": None, "arguments": ""})
                slot["id"] = tc.id or slot["id"]
                slot["name"] = tc.name or slot["name"]
                slot["arguments"] += tc.arguments or ""
            acc["reasoning_blocks"] += d.reasoning_blocks or []
            if c.finish_reason is not None:
                acc["finish_reason"] = c.finish_reason
                acc["native_finish_reason"] = c.native_finish_reason
    for acc in choices.values():
        assert acc["finish_reason"] is not None
        calls = acc.pop("tool_calls")
        assert sorted(calls) == list(range(len(calls))), "tool call indexes count up from 0"
        acc["tool_calls"] = [
            {"id": v["id"], "type": "function", "function": {"name": v["name"], "arguments": v["arguments"]}}
            for _, v in sorted(calls.items())
        ] or None
        acc["content"] = acc["content"] or None  # an empty signed text part adds "" only
        acc["reasoning_blocks"] = acc["reasoning_blocks"] or None
    return choices, usage


def _as_accumulated(result: ChatCompletion) -> tuple[dict[int, dict[str, Any]], Any]:
    out = {}
    for c in result.choices:
        m = c.message.to_dict()
        out[c.index] = {
            "content": m["content"],
            "reasoning_content": m.get("reasoning_content"),
            "reasoning_blocks": m.get("reasoning_blocks"),
            "finish_reason": c.finish_reason,
            "native_finish_reason": c.native_finish_reason,
            "tool_calls": m.get("tool_calls"),
        }
    return out, result.usage.to_dict() if result.usage else None


def _merged(raw_stream: str) -> dict[str, Any]:
    """The non-stream answer a recorded stream adds up to: all frames' parts in one candidate."""
    frames = [json.loads(e.data) for e in iter_events([raw_stream.encode()], "sse")]
    parts: list[Any] = []
    finish = None
    for f in frames:
        for c in f.get("candidates") or ():
            parts += (c.get("content") or {}).get("parts") or []
            finish = c.get("finishReason") or finish
    last = frames[-1]
    return {
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": finish, "index": 0}],
        "usageMetadata": last["usageMetadata"],
        "modelVersion": last["modelVersion"],
        "responseId": last["responseId"],
    }


def _split(body: dict[str, Any]) -> bytes:
    """A recorded answer as the stream that would carry it: one part per frame, the finish reason and
    the final usage on the last frame (the shape of the recorded streams)."""
    frames = []
    cand = body["candidates"][0]
    parts = cand["content"]["parts"]
    for i, part in enumerate(parts):
        c: dict[str, Any] = {"content": {"parts": [part], "role": "model"}, "index": 0}
        frame: dict[str, Any] = {
            "candidates": [c],
            "modelVersion": body["modelVersion"],
            "responseId": body["responseId"],
        }
        if i == len(parts) - 1:
            c["finishReason"] = cand["finishReason"]
            frame["usageMetadata"] = body["usageMetadata"]
        else:
            frame["usageMetadata"] = {"promptTokenCount": body["usageMetadata"]["promptTokenCount"]}
        frames.append(frame)
    return _sse(*frames)


@pytest.mark.parametrize("path", STREAMS, ids=_ids(STREAMS))
def test_recorded_stream_adds_up_to_the_answer(path: Path) -> None:
    raw = load_case(path)["response"]["raw_stream"]
    chunks = list(adapter.parse_stream_bytes([raw.encode()]))
    streamed = _accumulate(chunks)
    assert streamed == _as_accumulated(adapter.parse_response(200, {}, _merged(raw)))
    # Byte boundaries do not matter: 7-byte pieces give the same chunks.
    data = raw.encode()
    pieces = [data[i : i + 7] for i in range(0, len(data), 7)]
    again = list(adapter.parse_stream_bytes(pieces))
    assert [c.to_dict() | {"created": 0} for c in again] == [c.to_dict() | {"created": 0} for c in chunks]


@pytest.mark.parametrize("path", SPLITTABLE, ids=_ids(SPLITTABLE))
def test_recorded_answer_streamed_adds_up_to_the_same(path: Path) -> None:
    body = load_case(path)["response"]["body"]
    chunks = list(adapter.parse_stream_bytes([_split(body)]))
    for c in chunks:
        OpenAIChatCompletionChunk.model_validate(c.to_dict())
    assert _accumulate(chunks) == _as_accumulated(adapter.parse_response(200, {}, body))


def test_streamed_function_call_has_index_id_name_and_full_arguments() -> None:
    body = load_case(next(p for p in BODIES if p.stem == "parallel_function_calls"))["response"]["body"]
    chunks = list(adapter.parse_stream_bytes([_split(body)]))
    deltas = [tc for c in chunks for ch in c.choices for tc in ch.delta.tool_calls or ()]
    assert [(d.index, d.name, d.arguments) for d in deltas] == [
        (0, "weather", '{"latitude":"52.5200","longitude":"13.4050"}'),
        (1, "best_language_to_learn", "{}"),
    ]
    assert all(d.id and d.id.startswith("call_") for d in deltas)
    finish = [ch for c in chunks for ch in c.choices if ch.finish_reason]
    assert [(ch.finish_reason, ch.native_finish_reason) for ch in finish] == [("tool_calls", "STOP")]


# --------------------------------------------------------------------------- 5. odd answers


def _check(result: ChatCompletion) -> dict[str, Any]:
    d = result.to_dict()
    OpenAIChatCompletion.model_validate(d)
    return d


@pytest.mark.parametrize(
    ("body", "native"),
    [
        (
            {
                "promptFeedback": {"blockReason": "SAFETY"},
                "usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9},
            },
            "SAFETY",
        ),
        (
            {"candidates": [], "promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}, "modelVersion": "m"},
            "PROHIBITED_CONTENT",
        ),
        ({"promptFeedback": {}, "usageMetadata": {"promptTokenCount": 3}}, None),
        ({"candidates": [{"content": {}, "finishReason": "RECITATION"}], "responseId": "r"}, "RECITATION"),
        ({"candidates": [{"finishReason": "SAFETY", "index": 0}]}, "SAFETY"),
    ],
    ids=["prompt-blocked", "empty-candidates-blocked", "no-candidates-no-reason", "recitation", "no-content"],
)
def test_blocked_and_empty_answers_are_well_formed(body: dict[str, Any], native: str | None) -> None:
    result = adapter.parse_response(200, {}, json.dumps(body).encode())
    _check(result)
    choice = result.choices[0]
    assert choice.message.content is None and choice.message.tool_calls is None
    assert choice.finish_reason == "content_filter"
    assert choice.native_finish_reason == native


def test_several_candidates_become_several_choices() -> None:
    body = {
        "candidates": [
            {"content": {"parts": [{"text": "a"}], "role": "model"}, "finishReason": "STOP", "index": 0},
            {
                "content": {"parts": [{"text": "b"}], "role": "model"},
                "finishReason": "MAX_TOKENS",
                "index": 1,
            },
        ],
        "usageMetadata": {"promptTokenCount": 2, "candidatesTokenCount": 2, "totalTokenCount": 4},
    }
    result = adapter.parse_response(200, {}, body)
    _check(result)
    assert [(c.index, c.message.content, c.finish_reason) for c in result.choices] == [
        (0, "a", "stop"),
        (1, "b", "length"),
    ]


def test_unknown_finish_reason_is_kept_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    body = {"candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": "BRAND_NEW_REASON"}]}
    with caplog.at_level("WARNING", logger="router"):
        result = adapter.parse_response(200, {}, body)
    assert result.choices[0].native_finish_reason == "BRAND_NEW_REASON"
    assert result.choices[0].finish_reason == "stop"  # the spec's declared `unknown`
    assert "BRAND_NEW_REASON" in caplog.text


def test_malformed_function_call_is_not_reported_as_tool_calls() -> None:
    body = {"candidates": [{"content": {}, "finishReason": "MALFORMED_FUNCTION_CALL"}]}
    choice = adapter.parse_response(200, {}, body).choices[0]
    assert (choice.finish_reason, choice.native_finish_reason) == ("stop", "MALFORMED_FUNCTION_CALL")


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (200, b"<html><body>Bad gateway</body></html>", router.InvalidResponseError),
        (502, b"<html><body>Bad gateway</body></html>", router.ServiceUnavailableError),
        (200, b'{"candidates": [', router.InvalidResponseError),
        (200, b'{"object": "list"}', router.InvalidResponseError),
        (200, b"[]", router.InvalidResponseError),
        (
            400,
            b'{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT"}}',
            router.AuthenticationError,
        ),
        (
            400,
            b'{"error":{"code":400,"message":"The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}',
            router.ContextWindowExceededError,
        ),
        (
            429,
            b'{"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED"}}',
            router.RateLimitError,
        ),
        (
            200,
            b'{"error":{"code":500,"message":"An internal error has occurred.","status":"INTERNAL"}}',
            router.InternalServerError,
        ),
    ],
    ids=[
        "html-200",
        "html-502",
        "truncated-json",
        "no-candidates",
        "not-an-object",
        "bad-key",
        "too-long",
        "quota",
        "error-in-200",
    ],
)
def test_bad_answers_give_typed_errors(status: int, body: bytes, cls: type[Exception]) -> None:
    with pytest.raises(cls):
        adapter.parse_response(status, {}, body)


def test_html_error_page_message_says_html() -> None:
    err = adapter.map_error(502, {}, b"<!DOCTYPE html><html>nginx</html>")
    assert "HTML" in str(err)


_TEXT = {
    "candidates": [{"content": {"parts": [{"text": "Hel"}], "role": "model"}, "index": 0}],
    "responseId": "r",
}


@pytest.mark.parametrize(
    ("stream", "cls"),
    [
        (_sse(_TEXT), router.APIConnectionError),
        (b"", router.APIConnectionError),
        (
            _sse(
                _TEXT,
                {
                    "error": {
                        "code": 429,
                        "message": "Resource has been exhausted",
                        "status": "RESOURCE_EXHAUSTED",
                    }
                },
            ),
            router.RateLimitError,
        ),
        (
            _sse({"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}),
            router.ServiceUnavailableError,
        ),
        (b"data: {not json}\r\n\r\n", router.InvalidResponseError),
        (b"data: [1, 2]\r\n\r\n", router.InvalidResponseError),
    ],
    ids=["truncated", "empty", "error-frame-midway", "error-frame-first", "bad-frame", "non-object-frame"],
)
def test_bad_streams_give_typed_errors(stream: bytes, cls: type[Exception]) -> None:
    with pytest.raises(cls):
        list(adapter.parse_stream_bytes([stream]))


def test_a_stream_of_two_candidates_needs_both_to_finish() -> None:
    def frame(index: int, text: str, finish: str | None = None) -> dict[str, Any]:
        c: dict[str, Any] = {"content": {"parts": [{"text": text}], "role": "model"}, "index": index}
        if finish:
            c["finishReason"] = finish
        return {"candidates": [c], "responseId": "r"}

    with pytest.raises(router.APIConnectionError):
        list(adapter.parse_stream_bytes([_sse(frame(0, "a"), frame(1, "b"), frame(0, "!", "STOP"))]))
    chunks = list(
        adapter.parse_stream_bytes([_sse(frame(0, "a"), frame(1, "b", "MAX_TOKENS"), frame(0, "!", "STOP"))])
    )
    acc, _ = _accumulate(chunks)
    assert {i: (a["content"], a["finish_reason"]) for i, a in acc.items()} == {
        0: ("a!", "stop"),
        1: ("b", "length"),
    }


def test_blocked_prompt_in_a_stream_finishes_with_content_filter() -> None:
    frame = {
        "promptFeedback": {"blockReason": "SAFETY"},
        "usageMetadata": {"promptTokenCount": 7, "totalTokenCount": 7},
    }
    chunks = list(adapter.parse_stream_bytes([_sse(frame)]))
    for c in chunks:
        OpenAIChatCompletionChunk.model_validate(c.to_dict())
    choice = chunks[0].choices[0]
    assert (choice.delta.role, choice.finish_reason, choice.native_finish_reason) == (
        "assistant",
        "content_filter",
        "SAFETY",
    )
    assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens == 7


def test_stream_decoder_is_incremental() -> None:
    decoder = adapter.stream_decoder()
    frames = list(iter_events([_sse(_TEXT)], "sse"))
    assert [c.choices[0].delta.content for c in decoder.feed(frames[0])] == ["Hel"]
    with pytest.raises(router.APIConnectionError):
        decoder.close()


# --------------------------------------------------------------------------- round trips


def _answer(path_stem: str) -> ChatCompletion:
    return adapter.parse_response(
        200, {}, load_case(next(p for p in BODIES if p.stem == path_stem))["response"]["body"]
    )


def test_function_call_signature_and_names_round_trip() -> None:
    answer = _answer("parallel_function_calls")
    message = answer.choices[0].message
    assert message.tool_calls is not None
    results = [
        {"role": "tool", "tool_call_id": tc.id, "content": f"result {i}"}
        for i, tc in enumerate(message.tool_calls)
    ]
    req = {"model": MODEL, "messages": [_user("Weather?"), message, *results]}
    body = adapter.build_request(req, api_key=KEY).json
    _validate_body(body)
    signature = load_case(next(p for p in BODIES if p.stem == "parallel_function_calls"))["response"]["body"]
    first_part = signature["candidates"][0]["content"]["parts"][0]
    assert body["contents"][1] == {
        "role": "model",
        "parts": [
            # The signature goes back in the part it came in; the second call had none.
            {"functionCall": {"name": "weather", "args": {"latitude": "52.5200", "longitude": "13.4050"}},
             "thoughtSignature": first_part["thoughtSignature"]},
            {"functionCall": {"name": "best_language_to_learn", "args": {}}},
        ],
    }  # fmt: skip
    assert body["contents"][2] == {
        "role": "user",
        "parts": [
            {"functionResponse": {"name": "weather", "response": {"result": "result 0"}}},
            {"functionResponse": {"name": "best_language_to_learn", "response": {"result": "result 1"}}},
        ],
    }


def test_text_signature_round_trips_on_the_text_part() -> None:
    message = _answer("thinking_parts").choices[0].message
    assert message.reasoning_content and message.content
    body = adapter.build_request(
        {"model": MODEL, "messages": [_user(), message, _user("More?")]}, api_key=KEY
    ).json
    _validate_body(body)
    (part,) = body["contents"][1]["parts"]
    assert part["text"] == message.content
    assert part["thoughtSignature"] == message.reasoning_blocks[0]["thoughtSignature"]  # type: ignore[index]


def test_streamed_signature_round_trips_as_a_signed_empty_part() -> None:
    raw = load_case(next(p for p in STREAMS if p.stem == "stream_sse_gemini3_thinking"))["response"][
        "raw_stream"
    ]
    acc, _ = _accumulate(list(adapter.parse_stream_bytes([raw.encode()])))
    message = {
        "role": "assistant",
        "content": acc[0]["content"],
        "reasoning_blocks": acc[0]["reasoning_blocks"],
    }
    body = adapter.build_request(
        {"model": MODEL, "messages": [_user(), message, _user("Go on")]}, api_key=KEY
    ).json
    _validate_body(body)
    parts = body["contents"][1]["parts"]
    assert len(parts) == 1 and parts[0]["text"] == acc[0]["content"] and parts[0]["thoughtSignature"]


def test_native_call_ids_are_kept_and_echoed() -> None:
    body = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [{"functionCall": {"id": "fc-7", "name": "f", "args": {"a": 1}}}],
                },
                "finishReason": "STOP",
            }
        ],
        "responseId": "r1",
    }
    message = adapter.parse_response(200, {}, body).choices[0].message
    assert message.tool_calls is not None and message.tool_calls[0].id == "fc-7"
    req = {
        "model": MODEL,
        "messages": [_user(), message, {"role": "tool", "tool_call_id": "fc-7", "content": "ok"}],
    }
    sent = adapter.build_request(req, api_key=KEY).json
    assert sent["contents"][1]["parts"] == [{"functionCall": {"name": "f", "args": {"a": 1}, "id": "fc-7"}}]
    assert sent["contents"][2]["parts"] == [
        {"functionResponse": {"name": "f", "response": {"result": "ok"}, "id": "fc-7"}}
    ]


def test_generated_call_ids_are_stable_and_distinct() -> None:
    one = _answer("function_call").choices[0].message.tool_calls
    again = _answer("function_call").choices[0].message.tool_calls
    other = _answer("parallel_function_calls").choices[0].message.tool_calls
    assert one is not None and again is not None and other is not None
    assert [t.id for t in one] == [t.id for t in again]
    ids = [t.id for t in one + other]
    assert len(set(ids)) == len(ids)


def test_other_protocols_reasoning_blocks_are_not_sent() -> None:
    message = {
        "role": "assistant",
        "content": "4",
        "reasoning_content": "2+2",
        "reasoning_blocks": [{"type": "thinking", "thinking": "2+2", "signature": "anthropic-sig"}],
    }
    body = adapter.build_request({"model": MODEL, "messages": [_user(), message, _user()]}, api_key=KEY).json
    assert body["contents"][1] == {"role": "model", "parts": [{"text": "4"}]}


def test_reasoning_content_is_sent_as_a_thought_part_when_the_spec_says_so() -> None:
    cfg = dataclasses.replace(adapter.config, messages=MessageRules(reasoning_content="send"))
    message = {"role": "assistant", "content": "4", "reasoning_content": "2+2"}
    http = Adapter(cfg, codec).build_request(
        {"model": MODEL, "messages": [_user(), message, _user()]}, api_key=KEY
    )
    assert http.json["contents"][1]["parts"] == [{"text": "2+2", "thought": True}, {"text": "4"}]
    _validate_body(http.json)


def test_request_is_not_mutated() -> None:
    case = next(c for c in CASES if c.stem == "parallel_tool_calls")
    request = _request(case)
    before = copy.deepcopy(request)
    adapter.build_request(request, api_key=KEY)
    assert request == before


def test_legacy_functions_become_tools() -> None:
    req = {
        "model": MODEL,
        "messages": [_user()],
        "functions": [{"name": "f", "description": "d", "parameters": {"type": "object", "properties": {}}}],
        "function_call": {"name": "f"},
    }
    body = adapter.build_request(req, api_key=KEY).json
    assert body["tools"] == [
        {
            "functionDeclarations": [
                {"name": "f", "description": "d", "parameters": {"type": "object", "properties": {}}}
            ]
        }
    ]
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["f"]}}
