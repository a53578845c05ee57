"""Rules every provider must obey, checked over every spec in the index (not one provider at a time).

1. The model the caller names is the model sent: an id or an API alias goes out as written, a
   router-only alias as its id; prices and capabilities resolve through every name.
2. The request vocabulary follows the official SDK: every key of the installed ``openai`` package's
   CompletionCreateParams is known; an openai-chat provider passes an unmarked parameter through; a
   native protocol sends only keys its own API (its official SDK's request type) defines; an unknown
   name is an UnsupportedParamsError naming it, with the extra_body hint.
3. A stream has exactly one finish reason per choice: a repeat is taken off, a stream that ended
   properly without one gets ``tool_calls`` (tool calls streamed) or ``stop``, native None.
4. A tool call with no arguments is ``"{}"``, streamed and whole, on every protocol.
6. Usage adds up: prompt + completion == total, reasoning counted in completion.
7. Answer fields the unified shape cannot hold are kept on ``receipt.extra``.

(Rule 5, the error tables, is tests/test_error_tables.py; the harvested real recordings are graded by
the same rules in tests/test_harvested.py.)
"""

from __future__ import annotations

import inspect
import json
from typing import Any

import pytest
import router.generated as generated
from matrix import TEST_ENV
from matrix import TEST_MODELS

import router
from router import _registry
from router._types import Receipt
from router.protocols._params import OPENAI_PARAMS
from router.protocols._params import ROUTER_KWARGS
from router.protocols._wire import model_of

PROVIDERS = sorted(generated.PROVIDERS)
MSGS = [{"role": "user", "content": "hi"}]
KEY = "sk-rules-1234"
TOOL = {"type": "function", "function": {"name": "f", "description": "d", "parameters": {"type": "object"}}}


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, clean_env: None) -> None:
    for env in TEST_ENV.values():
        for k, v in env.items():
            monkeypatch.setenv(k, v)


def _protocol(pid: str) -> str:
    return str(generated.PROTOCOLS[pid])


def _by(protocol: str) -> list[str]:
    return [p for p in PROVIDERS if _protocol(p) == protocol]


# ----------------------------------------------------------------------------- 1. the model named


def _names() -> list[tuple[str, str, str]]:
    out = []
    for pid in PROVIDERS:
        for m in _registry.adapter(pid).config.models:
            out += [(pid, m.id, m.id)] + [(pid, a, m.id) for a in m.api_aliases]
            out += [(pid, a, m.id) for a in m.aliases]
    return out


@pytest.mark.parametrize(("pid", "name", "model_id"), _names())
def test_the_model_named_is_the_model_sent(pid: str, name: str, model_id: str) -> None:
    a = _registry.adapter(pid)
    model = a.config.by_name[name]
    sent = model_of(a.config, {"model": name})
    assert sent == (model_id if name in model.aliases else name)  # only router-only aliases resolve
    assert a.model(name) is model  # prices, limits and capabilities resolve through every name
    req = a.build_request({"model": name, "messages": MSGS}, api_key=KEY)
    wire = req.json.get("model")
    if wire is not None:
        assert wire == sent  # exact: a dated id that merely contains the alias would be a resolution
    else:  # the model is in the URL path (Gemini's models/<id>:generateContent, Azure's deployment)
        assert f"/{sent}:" in req.url or f"/{sent}/" in req.url or req.url.endswith(f"/{sent}")


def test_a_router_alias_resolves_and_an_api_alias_does_not() -> None:
    from dataclasses import replace

    from router.protocols._config import Model

    base = _registry.adapter("openai").config
    cfg = replace(base, models=(Model(id="long-id-2025", aliases=("short",), api_aliases=("long-id",)),))
    assert model_of(cfg, {"model": "short"}) == "long-id-2025"
    assert model_of(cfg, {"model": "long-id"}) == "long-id"
    assert cfg.by_name["long-id"].id == cfg.by_name["short"].id == "long-id-2025"


# ----------------------------------------------------------------------------- 2. the vocabulary

# A plausible value for each OpenAI request parameter.
VALUES: dict[str, Any] = {
    "temperature": 0.5, "top_p": 0.9, "top_k": 5, "n": 1, "stop": ["END"], "max_tokens": 64,
    "max_completion_tokens": 64, "presence_penalty": 0.1, "frequency_penalty": 0.1,
    "logit_bias": {"50256": -100}, "logprobs": True, "top_logprobs": 2, "user": "u-1", "seed": 7,
    "tools": [TOOL], "tool_choice": "required", "parallel_tool_calls": False,
    "functions": [TOOL["function"]], "function_call": "auto", "response_format": {"type": "json_object"},
    "reasoning_effort": "low", "modalities": ["text"], "audio": {"voice": "alloy", "format": "mp3"},
    "prediction": {"type": "content", "content": "x"}, "service_tier": "auto", "store": True,
    "metadata": {"k": "v"}, "web_search_options": {}, "verbosity": "low", "prompt_cache_key": "pk",
    "safety_identifier": "sid", "prompt_cache_retention": "24h", "prompt_cache_options": {},
    "moderation": {}, "stream_options": {"include_usage": True},
}  # fmt: skip
PARAMS = sorted(OPENAI_PARAMS - {"model", "messages", "stream"})


def test_the_vocabulary_follows_the_openai_sdk() -> None:
    from openai.types.chat.completion_create_params import CompletionCreateParamsBase

    sdk = set(CompletionCreateParamsBase.__annotations__)
    missing = sdk - OPENAI_PARAMS - ROUTER_KWARGS
    assert not missing, f"the openai SDK defines request keys the router does not know: {sorted(missing)}"
    assert set(VALUES) >= set(PARAMS), sorted(set(PARAMS) - set(VALUES))


def _native_keys(protocol: str) -> set[str] | None:
    """The request body keys a native protocol's own API defines (its official SDK's request type)."""
    if protocol == "anthropic-messages":
        from anthropic.types.message_create_params import MessageCreateParamsBase

        # temperature / top_p / top_k: still in the Messages API reference for models before Claude
        # Opus 4.7 (the SDK dropped them in 1.0): https://docs.anthropic.com/en/api/messages
        return set(MessageCreateParamsBase.__annotations__) | {"stream", "temperature", "top_p", "top_k"}
    if protocol == "openai-responses":
        from openai.types.responses.response_create_params import ResponseCreateParamsBase

        return set(ResponseCreateParamsBase.__annotations__) | {"stream"}
    if protocol == "cohere-chat-v2":
        import cohere

        return set(inspect.signature(cohere.ClientV2.chat).parameters) - {"self", "request_options"} | {
            "stream"
        }
    if protocol == "ollama-chat":
        import ollama._types

        return set(ollama._types.ChatRequest.model_fields)
    if protocol == "gemini":
        # GenerateContentRequest: https://ai.google.dev/api/generate-content#request-body
        return {"contents", "tools", "toolConfig", "safetySettings", "systemInstruction", "generationConfig",
                "cachedContent", "labels"}  # fmt: skip
    return None  # openai-chat: the OpenAI vocabulary itself


def _request(pid: str, name: str) -> dict[str, Any]:
    req: dict[str, Any] = {"model": TEST_MODELS[pid], "messages": MSGS, name: VALUES[name]}
    if name in ("tool_choice", "parallel_tool_calls"):
        req["tools"] = [TOOL]
    if name == "stream_options":
        req["stream"] = True
    return req


@pytest.mark.parametrize("pid", PROVIDERS)
def test_every_parameter_is_sent_mapped_or_declared(pid: str) -> None:
    """Each OpenAI parameter either reaches the body (as itself on openai-chat, as a key of the native
    API elsewhere), or is dropped onto the receipt / refused because the spec declares it unsupported."""
    a = _registry.adapter(pid)
    native = _native_keys(a.protocol)
    for name in PARAMS:
        receipt = Receipt(pid, TEST_MODELS[pid])
        try:
            req = a.build_request(_request(pid, name), api_key=KEY, receipt=receipt)
        except router.UnsupportedParamsError as err:
            assert name in str(err) or "reasoning" in str(err) or "tool" in str(err), (name, str(err))
            continue
        if native is None:
            rules = a.config.params
            declared = name in rules.unsupported or name in rules.rename or name in receipt.dropped
            declared = declared or (name == "reasoning_effort" and bool(a.config.reasoning.effort))
            if not declared and name not in ("functions", "function_call"):
                assert name in req.json or name in receipt.renamed or name in receipt.dropped, (pid, name)
        else:
            stray = set(req.json) - native
            assert not stray, f"{pid}: {name} put keys its API does not define into the body: {sorted(stray)}"


@pytest.mark.parametrize("pid", PROVIDERS)
def test_an_unknown_parameter_is_named_with_the_extra_body_hint(pid: str) -> None:
    a = _registry.adapter(pid)
    with pytest.raises(router.UnsupportedParamsError) as info:
        a.build_request({"model": TEST_MODELS[pid], "messages": MSGS, "temperatur": 0.1}, api_key=KEY)
    assert "temperatur" in str(info.value) and "extra_body" in str(info.value)
    assert info.value.param == "temperatur"


# ----------------------------------------------------------------------------- answers per protocol


def _sse(frames: list[tuple[str | None, Any]], done: bool = False) -> bytes:
    out = ""
    for event, data in frames:
        out += (f"event: {event}\n" if event else "") + f"data: {json.dumps(data)}\n\n"
    return (out + ("data: [DONE]\n\n" if done else "")).encode()


def _tool_answer(protocol: str) -> tuple[dict[str, Any], bytes]:
    """(a whole answer, and a stream of the same answer): one tool call with no arguments, usage
    3 + 2, and an answer field no codec reads (vendor_field)."""
    if protocol == "openai-chat":
        whole = {"id": "c", "object": "chat.completion", "created": 1, "model": "m", "vendor_field": {"a": 1},
                 "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant",
                              "content": None, "tool_calls": [{"id": "t1", "type": "function",
                                                               "function": {"name": "f", "arguments": ""}}]}}],
                 "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}  # fmt: skip
        base = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}
        frames: list[tuple[str | None, Any]] = [
            (None, {**base, "vendor_field": {"a": 1}, "choices": [{"index": 0, "delta": {"role": "assistant"}}]}),
            (None, {**base, "choices": [{"index": 0, "delta": {"tool_calls": [
                {"index": 0, "id": "t1", "type": "function", "function": {"name": "f", "arguments": ""}}]}}]}),
            (None, {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}),
            (None, {**base, "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}),
        ]  # fmt: skip
        return whole, _sse(frames, done=True)
    if protocol == "anthropic-messages":
        whole = {"id": "msg", "type": "message", "role": "assistant", "model": "m", "vendor_field": 1,
                 "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}],
                 "stop_reason": "tool_use", "usage": {"input_tokens": 3, "output_tokens": 2}}  # fmt: skip
        frames = [
            ("message_start", {"type": "message_start", "vendor_field": 1, "message": {
                "id": "msg", "type": "message", "role": "assistant", "model": "m", "content": [],
                "usage": {"input_tokens": 3, "output_tokens": 1}}}),
            ("content_block_start", {"type": "content_block_start", "index": 0,
                                     "content_block": {"type": "tool_use", "id": "t1", "name": "f", "input": {}}}),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use"},
                               "usage": {"output_tokens": 2}}),
            ("message_stop", {"type": "message_stop"}),
        ]  # fmt: skip
        return whole, _sse(frames)
    if protocol == "gemini":
        whole = {"candidates": [{"content": {"role": "model", "parts": [{"functionCall": {"name": "f"}}]},
                                 "finishReason": "STOP"}], "vendor_field": 1,
                 "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2, "totalTokenCount": 5}}  # fmt: skip
        return whole, _sse([(None, whole)])
    if protocol == "ollama-chat":
        whole = {"model": "m", "created_at": "2026-01-01T00:00:00Z", "done": True, "done_reason": "stop",
                 "message": {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "f",
                                                                                             "arguments": {}}}]},
                 "prompt_eval_count": 3, "eval_count": 2, "vendor_field": 1}  # fmt: skip
        return whole, (json.dumps(whole) + "\n").encode()
    if protocol == "cohere-chat-v2":
        whole = {"id": "co", "finish_reason": "TOOL_CALL", "vendor_field": 1,
                 "message": {"role": "assistant", "tool_calls": [{"id": "t1", "type": "function",
                                                                  "function": {"name": "f", "arguments": ""}}]},
                 "usage": {"tokens": {"input_tokens": 3, "output_tokens": 2}}}  # fmt: skip
        frames = [
            ("message-start", {"type": "message-start", "id": "co", "vendor_field": 1,
                               "delta": {"message": {"role": "assistant"}}}),
            ("tool-call-start", {"type": "tool-call-start", "index": 0, "delta": {"message": {"tool_calls": {
                "id": "t1", "type": "function", "function": {"name": "f", "arguments": ""}}}}}),
            ("tool-call-end", {"type": "tool-call-end", "index": 0}),
            ("message-end", {"type": "message-end", "delta": {"finish_reason": "TOOL_CALL",
                                                              "usage": {"tokens": {"input_tokens": 3, "output_tokens": 2}}}}),
        ]  # fmt: skip
        return whole, _sse(frames, done=True)
    if protocol == "openai-responses":
        item = {
            "type": "function_call",
            "id": "fc_1",
            "call_id": "t1",
            "name": "f",
            "arguments": "",
            "status": "completed",
        }
        whole = {"id": "resp", "object": "response", "created_at": 1, "model": "m", "status": "completed",
                 "output": [item], "vendor_field": 1,
                 "usage": {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}}  # fmt: skip
        frames = [
            ("response.created", {"type": "response.created", "sequence_number": 0,
                                  "response": {**whole, "status": "in_progress", "output": [], "usage": None}}),
            ("response.output_item.added", {"type": "response.output_item.added", "sequence_number": 1,
                                            "output_index": 0, "item": {**item, "status": "in_progress"}}),
            ("response.output_item.done", {"type": "response.output_item.done", "sequence_number": 2,
                                           "output_index": 0, "item": item}),
            ("response.completed", {"type": "response.completed", "sequence_number": 3, "response": whole}),
        ]  # fmt: skip
        return whole, _sse(frames)
    raise AssertionError(f"no synthetic answer for protocol {protocol}: add one")


@pytest.mark.parametrize("pid", PROVIDERS)
def test_a_call_with_no_arguments_is_an_empty_object_whole_and_streamed(pid: str) -> None:
    a = _registry.adapter(pid)
    whole, stream = _tool_answer(a.protocol)
    receipt = Receipt(pid, "m")
    resp = a.parse_response(200, {}, json.dumps(whole).encode(), receipt=receipt)
    (call,) = resp.choices[0].message.tool_calls or ()
    assert (call.function.name, call.function.arguments) == ("f", "{}")
    assert resp.choices[0].finish_reason == "tool_calls"
    assert receipt.extra.get("vendor_field") is not None, "an unread answer field was dropped"  # rule 7
    u = resp.usage
    assert u is not None and (u.prompt_tokens, u.completion_tokens, u.total_tokens) == (3, 2, 5)

    receipt = Receipt(pid, "m")
    chunks = list(a.parse_stream_bytes([stream], receipt=receipt))
    folded = router.accumulate(chunks)
    (call,) = folded.choices[0].message.tool_calls or ()
    assert (call.function.name, call.function.arguments) == ("f", "{}")
    finishes = [c.finish_reason for ch in chunks for c in ch.choices if c.finish_reason is not None]
    assert finishes == ["tool_calls"]
    assert receipt.extra.get("vendor_field") is not None, "an unread stream field was dropped"


def _chat_stream(*choices: dict[str, Any], done: bool = True) -> bytes:
    base = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    return _sse([(None, {**base, "choices": [c]}) for c in choices], done=done)


@pytest.mark.parametrize("pid", _by("openai-chat"))
def test_a_finish_reason_sent_twice_is_given_once(pid: str) -> None:
    a = _registry.adapter(pid)
    raw = _chat_stream(
        {"index": 0, "delta": {"role": "assistant", "content": "Hi"}},
        {"index": 0, "delta": {}, "finish_reason": "stop"},
        {"index": 0, "delta": {}, "finish_reason": "stop"},
    )
    chunks = list(a.parse_stream_bytes([raw]))
    assert [c.finish_reason for ch in chunks for c in ch.choices if c.finish_reason] == ["stop"]
    assert router.accumulate(chunks).choices[0].finish_reason == "stop"


@pytest.mark.parametrize("pid", _by("openai-chat"))
@pytest.mark.parametrize("tools", [False, True])
def test_a_finish_reason_never_sent_is_inferred(pid: str, tools: bool) -> None:
    a = _registry.adapter(pid)
    delta: dict[str, Any] = {"role": "assistant", "content": "Hi"}
    if tools:
        delta = {
            "role": "assistant",
            "tool_calls": [{"index": 0, "id": "t", "function": {"name": "f", "arguments": '{"a":1}'}}],
        }
    chunks = list(a.parse_stream_bytes([_chat_stream({"index": 0, "delta": delta})]))
    ends = [(c.finish_reason, c.native_finish_reason) for ch in chunks for c in ch.choices if c.finish_reason]
    assert ends == [("tool_calls" if tools else "stop", None)]


@pytest.mark.parametrize("pid", [p for p in _by("openai-chat") if _registry.adapter(p).config.stream.done])
def test_a_stream_cut_without_finish_or_end_marker_is_an_error(pid: str) -> None:
    a = _registry.adapter(pid)
    raw = _chat_stream({"index": 0, "delta": {"role": "assistant", "content": "Hi"}}, done=False)
    with pytest.raises(router.APIConnectionError):
        list(a.parse_stream_bytes([raw]))


# ----------------------------------------------------------------------------- 6. usage


@pytest.mark.parametrize("pid", _by("openai-chat"))
def test_usage_adds_up_when_the_provider_leaves_reasoning_out(pid: str) -> None:
    a = _registry.adapter(pid)
    body = {"id": "c", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "x"}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 20}}  # fmt: skip
    for path in a.config.usage.reasoning_tokens:  # the reasoning count where this provider puts it
        node = body
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = 7
    u = a.parse_response(200, {}, json.dumps(body).encode()).usage
    assert u is not None and (u.prompt_tokens, u.completion_tokens, u.total_tokens) == (10, 10, 20)
    assert u.completion_tokens_details.reasoning_tokens == 7


@pytest.mark.parametrize("pid", _by("openai-chat"))
def test_a_legacy_function_call_comes_back_as_openai_returns_it(pid: str) -> None:
    a = _registry.adapter(pid)
    body = {"id": "c", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "finish_reason": "function_call", "message": {
                "role": "assistant", "content": None, "function_call": {"name": "f", "arguments": ""}}}]}  # fmt: skip
    resp = a.parse_response(200, {}, json.dumps(body).encode())
    fc = resp.choices[0].message.function_call
    assert fc is not None and (fc.name, fc.arguments) == ("f", "{}")
    assert resp.choices[0].finish_reason == "function_call"
    from openai.types.chat import ChatCompletion as SDKChatCompletion

    SDKChatCompletion.model_validate(resp.to_dict())
    raw = _chat_stream(
        {"index": 0, "delta": {"role": "assistant", "function_call": {"name": "f", "arguments": '{"a":'}}},
        {"index": 0, "delta": {"function_call": {"arguments": "1}"}}},
        {"index": 0, "delta": {}, "finish_reason": "function_call"},
    )
    folded = router.accumulate(a.parse_stream_bytes([raw]))
    fc = folded.choices[0].message.function_call
    assert fc is not None and (fc.name, fc.arguments) == ("f", '{"a":1}')
    assert folded.choices[0].finish_reason == "function_call"


@pytest.mark.parametrize("pid", _by("openai-chat"))
def test_a_tool_call_of_no_function_is_never_a_success(pid: str) -> None:
    a = _registry.adapter(pid)
    body = {"id": "c", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "tool_calls": [
                {"id": "t", "type": "function", "function": {"name": "", "arguments": "{}"}}]}}]}  # fmt: skip
    with pytest.raises(router.InvalidResponseError):
        a.parse_response(200, {}, json.dumps(body).encode())
    raw = _chat_stream(
        {
            "index": 0,
            "delta": {
                "role": "assistant",
                "tool_calls": [{"index": 0, "id": "t", "function": {"arguments": "{}"}}],
            },
        },
        {"index": 0, "delta": {}, "finish_reason": "tool_calls"},
    )
    with pytest.raises(router.InvalidResponseError):
        list(a.parse_stream_bytes([raw]))
