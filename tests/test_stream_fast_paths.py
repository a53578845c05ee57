"""The stream decoders' fast paths (``fast(data, event)``, the contract in router/protocols/_driver.py,
CodecDecoder) give exactly what the general path gives: every spec, over every recorded stream of its
protocol (tests/fixtures/real and tests/fixtures/harvested), and one adapter per protocol over every
frame of those streams mutated at each of its values (a number, None, a list where a string was; an
unknown key; an error key). Chunks, what the receipt keeps, and the error a stream ends with are all
compared, and every frame the fast path took is checked against the contract itself: not an error,
every key known, one choice of text and nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import router.generated as generated
from conftest import ROOT

from router import _registry
from router._exceptions import APIError
from router._streaming import Event
from router._streaming import make_parser
from router._types import ChatCompletionChunk
from router._types import ChunkChoice
from router._types import Delta
from router._types import Receipt
from router._types import text_chunk


@pytest.fixture(autouse=True)
def _fixed_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ids a decoder makes up (Ollama's stream has none) are the same in both runs."""
    from router.protocols import _normalise

    monkeypatch.setattr(_normalise, "new_id", lambda prefix="": prefix + "fixed")


API_PROTOCOL = {
    "openai-chat": "openai-chat",
    "mistral-chat": "openai-chat",
    "anthropic-messages": "anthropic-messages",
    "gemini-stream": "gemini",
    "gemini-generate": "gemini",
    "ollama-chat": "ollama-chat",
    "cohere-chat-v2": "cohere-chat-v2",
    "openai-responses": "openai-responses",
}


def _recorded() -> dict[str, list[tuple[str, bytes]]]:
    """protocol -> (name, raw stream bytes) of every recorded stream in the repo."""
    out: dict[str, list[tuple[str, bytes]]] = {}
    for path in sorted(
        [
            *(ROOT / "tests/fixtures/real").glob("*/*.json"),
            *(ROOT / "tests/fixtures/harvested").glob("*/*.json"),
        ]
    ):
        case = json.loads(path.read_text(encoding="utf-8"))
        raw = case.get("response", {}).get("raw_stream")
        protocol = API_PROTOCOL.get(case.get("api", ""))
        if raw and protocol and case["response"].get("status") == 200:
            out.setdefault(protocol, []).append((f"{path.parent.name}/{path.stem}", raw.encode()))
    return out


RECORDED = _recorded()


def _specs_of(protocol: str) -> list[str]:
    return sorted(p for p in generated.PROVIDERS if generated.PROTOCOLS[p] == protocol)


def _events(adapter: Any, raw: bytes) -> list[Event]:
    parser = make_parser(adapter.config.stream.framing)
    return parser.feed(raw) + parser.close()


class _Checked:
    """Wraps a decoder's ``fast`` and checks the contract on every frame it takes."""

    def __init__(self, fast: Any, codec: Any) -> None:
        self.fast, self.codec, self.taken = fast, codec, 0

    def __call__(self, data: dict[str, Any], event: str) -> ChatCompletionChunk | None:
        chunk: ChatCompletionChunk | None = self.fast(data, event)
        if chunk is not None:
            self.taken += 1
            assert self.codec.body_error(data) is None, data
            assert getattr(self.codec, "FRAME_KEYS", self.codec.ANSWER_KEYS).issuperset(data), data
            assert len(chunk.choices) == 1, chunk
            choice = chunk.choices[0]
            delta = choice.delta
            pieces = (delta.content, delta.reasoning_content, delta.refusal)
            assert all(p is None or type(p) is str for p in pieces), chunk
            assert choice.finish_reason is None and choice.native_finish_reason is None, chunk
            assert delta.tool_calls is None and delta.function_call is None, chunk
            assert delta.reasoning_blocks is None, chunk
        return chunk


def _run(adapter: Any, events: list[Event], fast: bool) -> tuple[list[Any], Any, list[dict[str, Any]], int]:
    """(chunks, the error it ended with or None, receipt.extra after each frame and at the end,
    frames the fast path took)."""
    receipt = Receipt(provider=adapter.id, model="m")
    driver = adapter.stream_decoder(receipt=receipt)
    checked = None
    if fast and driver._fast is not None:
        checked = driver._fast = _Checked(driver._fast, driver._codec)
    elif not fast:
        driver._fast = None
    chunks: list[Any] = []
    error = None
    kept = []  # what the receipt keeps after each frame, not only at the end
    try:
        for ev in events:
            chunks += driver.feed(ev)
            kept.append(dict(receipt.extra))
            if driver.done:
                break
        else:
            chunks += driver.close()
    except APIError as exc:
        error = (type(exc).__name__, str(exc))
    for chunk in chunks:  # created may be "now" when the frame has none: the same for both runs
        chunk.created = 0
    return chunks, error, [*kept, dict(receipt.extra)], checked.taken if checked else 0


def _same(adapter: Any, events: list[Event]) -> int:
    fast = _run(adapter, events, True)
    slow = _run(adapter, events, False)
    assert fast[:3] == slow[:3]
    return fast[3]


def test_some_protocols_have_fast_paths() -> None:
    """The four protocols of the benchmark read their common frame straight."""
    for protocol in ("openai-chat", "anthropic-messages", "gemini", "ollama-chat"):
        adapter = _registry.adapter(_specs_of(protocol)[0])
        assert adapter.stream_decoder()._fast is not None, protocol


@pytest.mark.parametrize("protocol", sorted(RECORDED))
def test_every_spec_reads_every_recorded_stream_the_same_either_way(protocol: str) -> None:
    taken = 0
    for spec in _specs_of(protocol):
        adapter = _registry.adapter(spec)
        for name, raw in RECORDED[protocol]:
            try:
                taken += _same(adapter, _events(adapter, raw))
            except AssertionError as exc:
                raise AssertionError(f"{spec} on {name}: {exc}") from None
    if protocol in ("openai-chat", "anthropic-messages", "gemini", "ollama-chat"):
        assert taken > 0, "the fast path never ran: this test would not see it go wrong"


def _mutations(value: Any) -> Iterator[Any]:
    """``value`` with each of its leaves replaced in turn by a number, None and a list, each dict
    given an unknown key, and the top level given an ``error``."""
    if isinstance(value, dict):
        yield {**value, "zz_unknown": 1}
        for key, item in value.items():
            for other in _mutations(item):
                yield {**value, key: other}
            rest = dict(value)
            del rest[key]
            yield rest
    elif isinstance(value, list):
        for i, item in enumerate(value):
            for other in _mutations(item):
                yield [*value[:i], other, *value[i + 1 :]]
        yield [*value, *value[-1:]]  # one more of the last (two choices, two parts)
    else:
        for other in (5, None, [], "", "x"):
            if other != value or type(other) is not type(value):
                yield other


def _shape(value: Any) -> Any:
    """A frame's keys, nested (values left out): frames of one shape take one path."""
    if isinstance(value, dict):
        return tuple(sorted((k, _shape(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(sorted({_shape(v) for v in value}, key=repr))
    return type(value).__name__


def _varied(adapter: Any, recorded: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """The first 10 recordings, and each later one that has a frame of a shape none before had
    (reasoning deltas, providers' own keys): at most 30."""
    seen: set[Any] = set()
    out = []
    for i, (name, raw) in enumerate(recorded):
        shapes = set()
        for ev in _events(adapter, raw):
            try:
                shapes.add(_shape(json.loads(ev.data)))
            except ValueError:
                continue
        if i < 10 or not shapes <= seen:
            out.append((name, raw))
        seen |= shapes
    return out[:30]


def _text_frames(events: list[Event]) -> list[int]:
    """Indexes of the first few events that carry JSON objects (a start, text, the end)."""
    out = [i for i, ev in enumerate(events) if ev.data.startswith("{")]
    return sorted(set(out[:4] + out[-2:]))


@pytest.mark.parametrize("protocol", ["openai-chat", "anthropic-messages", "gemini", "ollama-chat"])
def test_fast_paths_equal_the_general_path_on_mutated_frames(protocol: str) -> None:
    adapter = _registry.adapter(_specs_of(protocol)[0])
    tried = 0
    for name, raw in _varied(adapter, RECORDED[protocol]):
        events = _events(adapter, raw)
        for i in _text_frames(events):
            try:
                data = json.loads(events[i].data)
            except ValueError:  # a frame that is not one JSON value: not the fast path's
                continue
            for variant in [*_mutations(data), {"error": {"message": "boom"}, **data}]:
                # the frame in its place, the two after it and the stream's last two (its end)
                tail = events[max(i + 3, len(events) - 2) :]
                changed = [
                    *events[:i],
                    Event(json.dumps(variant), events[i].event),
                    *events[i + 1 : i + 3],
                    *tail,
                ]
                try:
                    _same(adapter, changed)
                except AssertionError as exc:
                    raise AssertionError(f"{name} frame {i} as {variant!r}: {exc}") from None
                tried += 1
    assert tried > 100


def test_text_chunk_is_the_dataclass_form_field_by_field() -> None:
    import dataclasses

    made = text_chunk("id", 7, "m", 2, "tok", "assistant", None, {"content": []})
    want = ChatCompletionChunk(
        "id", 7, "m", [ChunkChoice(2, Delta("assistant", "tok"), None, None, {"content": []})]
    )
    full = text_chunk("id", 7, "m", 0, None, None, None, None, "think", "no", "fp_1", "flex")
    full_want = ChatCompletionChunk(
        "id",
        7,
        "m",
        [ChunkChoice(0, Delta(None, None, "think", refusal="no"))],
        system_fingerprint="fp_1",
        service_tier="flex",
    )
    for obj, ref in (
        (made, want),
        (made.choices[0], want.choices[0]),
        (made.choices[0].delta, want.choices[0].delta),
        (full, full_want),
        (full.choices[0].delta, full_want.choices[0].delta),
    ):
        for f in dataclasses.fields(ref):  # a field added later and not set by text_chunk fails here
            assert getattr(obj, f.name) == getattr(ref, f.name), f.name
    assert made == want and full == full_want


_FIRST = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}


@pytest.mark.parametrize(
    "delta",
    [
        {"content": None, "reasoning_content": "a", "reasoning": "b"},  # both names: reasoning_content wins
        {"content": "", "reasoning": "b"},
        {"content": None, "reasoning_content": None, "reasoning": 5},
        {"content": None, "refusal": "I can't"},
        {"content": "x", "refusal": 3},
        {
            "content": [
                {"type": "text", "text": "t"},
                {"type": "thinking", "thinking": [{"type": "text", "text": "h"}]},
            ]
        },
        {"content": {"a": 1}},
        {"role": "assistant", "content": None},
        {},
    ],
)
@pytest.mark.parametrize(
    "top", [{}, {"service_tier": "flex", "system_fingerprint": "fp"}, {"service_tier": 4}]
)
def test_openai_pieces_read_the_same_either_way(delta: dict[str, Any], top: dict[str, Any]) -> None:
    """Frames the recordings do not have: each reading of a delta's pieces, and the frame's own fields."""
    adapter = _registry.adapter("openai")
    frames = [
        {**_FIRST, **top, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
        {
            **_FIRST,
            **top,
            "obfuscation": "xyz",
            "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
        },
        {**_FIRST, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    ]
    _same(adapter, [Event(json.dumps(f)) for f in frames])


def test_a_streamed_refusal_and_the_frame_fields_reach_the_answer() -> None:
    """OpenAI streams a refusal as ``delta.refusal`` pieces, and names system_fingerprint and
    service_tier on every frame: the chunks carry them, and so does the folded answer."""
    from router._accumulate import StreamAccumulator

    adapter = _registry.adapter("openai")
    top = {**_FIRST, "service_tier": "default", "system_fingerprint": "fp_9", "obfuscation": "q"}
    frames = [
        {**top, "choices": [{"index": 0, "delta": {"role": "assistant", "content": None, "refusal": ""}}]},
        {**top, "choices": [{"index": 0, "delta": {"refusal": "I can't "}, "finish_reason": None}]},
        {**top, "choices": [{"index": 0, "delta": {"refusal": "help."}, "finish_reason": None}]},
        {**top, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    ]
    receipt = Receipt(provider="openai", model="m")
    chunks = list(adapter.parse_stream([Event(json.dumps(f)) for f in frames], receipt=receipt))
    assert [c.system_fingerprint for c in chunks] == ["fp_9"] * 4
    assert [c.service_tier for c in chunks] == ["default"] * 4
    acc = StreamAccumulator(receipt)
    for c in chunks:
        acc.add(c)
    answer = acc.result()
    assert answer.choices[0].message.refusal == "I can't help."
    assert answer.system_fingerprint == "fp_9" and answer.service_tier == "default"
    assert "obfuscation" not in receipt.extra
