"""router.accumulate folds a stream into the ChatCompletion the same answer gives without streaming.

Recorded pairs: the official SDKs' own stream accumulators (openai's ChatCompletionStreamState,
anthropic's accumulate_event) turn each recorded stream into the non-streamed answer; our
parse_response of that answer must equal router.accumulate of our parsed chunks. The fake provider
gives a live stream/non-stream pair.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from anthropic.lib.streaming._messages import accumulate_event
from conftest import load_case
from conftest import real_cases
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk as OpenAIChunk

import router
from router import _registry
from router._streaming import iter_events

STREAMS = [p for p in real_cases("openai", "anthropic") if load_case(p)["stream"]]


def _sdk_final_body(case: dict[str, Any]) -> dict[str, Any]:
    raw = case["response"]["raw_stream"].encode()
    events = [e for e in iter_events([raw], "sse") if e.data != "[DONE]"]
    if case["provider"] == "openai":
        state = ChatCompletionStreamState()
        for e in events:
            for _ in state.handle_chunk(OpenAIChunk.model_validate(json.loads(e.data))):
                pass
        out: dict[str, Any] = state.get_final_completion().model_dump(mode="json", exclude_none=True)
        return out
    snapshot = None
    bufs: dict[int, bytes] = {}
    for e in events:
        data = json.loads(e.data)
        if data.get("type") in ("ping", "error"):
            continue
        snapshot = accumulate_event(event=data, current_snapshot=snapshot, json_bufs=bufs)
    assert snapshot is not None
    body: dict[str, Any] = snapshot.model_dump(mode="json", exclude_none=True)
    return body


def _comparable(c: router.ChatCompletion) -> dict[str, Any]:
    d = c.to_dict()
    d.pop("created")
    d.pop("router", None)
    d.pop("system_fingerprint", None)
    return d


@pytest.mark.parametrize("path", STREAMS, ids=[f"{p.parent.name}-{p.stem}" for p in STREAMS])
def test_accumulated_stream_equals_the_sdk_final_answer(path: Path) -> None:
    case = load_case(path)
    mod = _registry.adapter(case["provider"])
    chunks = list(mod.parse_stream_bytes([case["response"]["raw_stream"].encode()]))
    ours = router.accumulate(chunks)
    theirs = mod.parse_response(200, {}, _sdk_final_body(case))
    assert _comparable(ours) == _comparable(theirs)


@pytest.mark.parametrize("model", ["echo", "lorem"])
def test_fake_stream_and_non_stream_agree(model: str) -> None:
    msgs = [{"role": "user", "content": "Stream me, if you can: ünïcødé 🦜"}]
    whole = router.completion(f"fake/{model}", msgs, max_tokens=6)
    streamed = router.accumulate(router.completion(f"fake/{model}", msgs, max_tokens=6, stream=True))
    assert isinstance(whole, router.ChatCompletion)
    assert _comparable(streamed) | {"id": ""} == _comparable(whole) | {"id": ""}


def test_tool_call_fragments_are_joined_by_index() -> None:
    from router import ChatCompletionChunk
    from router import ChunkChoice
    from router import Delta
    from router import ToolCallDelta

    def chunk(delta: Delta, finish: Any = None) -> ChatCompletionChunk:
        return ChatCompletionChunk("c", 1, "m", [ChunkChoice(0, delta, finish, finish)])

    chunks = [
        chunk(Delta(role="assistant")),
        chunk(Delta(tool_calls=[ToolCallDelta(0, id="a", name="f", arguments="")])),
        chunk(Delta(tool_calls=[ToolCallDelta(1, id="b", name="g", arguments='{"y":')])),
        chunk(Delta(tool_calls=[ToolCallDelta(0, arguments='{"x": 1}')])),
        chunk(Delta(tool_calls=[ToolCallDelta(1, arguments="2}")])),
        chunk(Delta(), "tool_calls"),
    ]
    msg = router.accumulate(chunks).choices[0].message
    assert msg.content is None
    assert msg.tool_calls is not None
    assert [(t.id, t.function.name, t.function.arguments) for t in msg.tool_calls] == [
        ("a", "f", '{"x": 1}'),
        ("b", "g", '{"y":2}'),
    ]
