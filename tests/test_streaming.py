"""Incremental stream parsers (router/_streaming.py): SSE per WHATWG, NDJSON, streamed JSON arrays.

The central property: the events a parser yields never depend on where the transport cut the byte
stream. It is checked against every recorded real stream in tests/fixtures/real and against
synthetic streams, and the SSE parser is also compared with a small, non-incremental reference
implementation of the WHATWG "event stream interpretation" algorithm written here from the spec.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from collections.abc import Iterable
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from conftest import REAL
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from router._streaming import Event
from router._streaming import JSONArrayParser
from router._streaming import NDJSONParser
from router._streaming import SSEParser
from router._streaming import aiter_events
from router._streaming import iter_events
from router._streaming import make_parser

# The autouse ``clean_env`` fixture in conftest is function scoped; it only deletes env vars, which is
# harmless to share across hypothesis examples.
PROPERTY = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


# --------------------------------------------------------------------------------------------------------
# helpers


def feed_chunks(framing: str, chunks: Iterable[bytes]) -> list[Event]:
    parser = make_parser(framing)
    out: list[Event] = []
    for chunk in chunks:
        out += parser.feed(chunk)
    out += parser.close()
    return out


def sse(*chunks: bytes) -> list[Event]:
    return feed_chunks("sse", chunks)


def whole(framing: str, body: bytes) -> list[Event]:
    parser = make_parser(framing)
    return parser.feed(body) + parser.close()


def split_at(body: bytes, cuts: Iterable[int]) -> list[bytes]:
    points = [0, *sorted(cuts), len(body)]
    return [body[a:b] for a, b in pairwise(points)]


def one_byte_chunks(body: bytes) -> list[bytes]:
    return [body[i : i + 1] for i in range(len(body))]


def cuts_for(body: bytes) -> st.SearchStrategy[list[int]]:
    return st.lists(st.integers(0, len(body)), max_size=40).map(sorted)


def every_two_way_split(body: bytes) -> Iterable[list[bytes]]:
    for i in range(len(body) + 1):
        yield [body[:i], body[i:]]


# --------------------------------------------------------------------------------------------------------
# recorded real traffic


def _framing(case: dict[str, Any]) -> str:
    headers = {k.lower(): v for k, v in case["response"].get("headers", {}).items()}
    if "ndjson" in headers.get("content-type", "") or case.get("api") == "ollama-chat":
        return "ndjson"
    return "sse"


def _load_streams() -> list[tuple[str, str, bytes]]:
    if not REAL.is_dir():
        raise RuntimeError(f"{REAL} is missing: the recorded traffic (tests/fixtures/real) is missing")
    out: list[tuple[str, str, bytes]] = []
    for path in sorted(REAL.glob("*/*.json")):
        case = json.loads(path.read_text())
        raw = (case.get("response") or {}).get("raw_stream")
        if raw is None:
            continue
        name = f"{path.parent.name}/{path.stem}"
        out.append((name, _framing(case), raw.encode("utf-8")))
    return out


STREAMS = _load_streams()
STREAM_IDS = [name for name, _, _ in STREAMS]


def test_recorded_streams_were_found() -> None:
    names = set(STREAM_IDS)
    # One per provider family at least, and both framings.
    for provider in ("openai", "anthropic", "gemini", "groq", "xai", "deepseek", "mistral", "openrouter"):
        assert any(n.startswith(provider + "/") for n in names), provider
    assert {f for _, f, _ in STREAMS} == {"sse", "ndjson"}
    assert dict((n, f) for n, f, _ in STREAMS)["ollama/stream_tool_calls"] == "ndjson"


@pytest.mark.parametrize(("name", "framing", "body"), STREAMS, ids=STREAM_IDS)
def test_recorded_stream_whole_is_sane(name: str, framing: str, body: bytes) -> None:
    """Fed whole, a real stream gives non-empty events whose data is JSON (or the [DONE] sentinel)."""
    events = whole(framing, body)
    assert events, name
    for ev in events:
        if ev.data == "[DONE]":
            continue
        ev.json()  # raises if a frame was cut or glued wrongly
    if framing == "sse":
        # Matches the independent reference implementation below.
        assert events == reference_sse(body)
        # Every `data:` line of these recordings is one event (none uses multi-line data).
        text = body.decode("utf-8")
        assert len(events) == len(re.findall(r"^data:", text, flags=re.M))
    else:
        assert len(events) == len([ln for ln in body.split(b"\n") if ln.strip()])


@pytest.mark.parametrize(("name", "framing", "body"), STREAMS, ids=STREAM_IDS)
def test_recorded_stream_one_byte_chunks(name: str, framing: str, body: bytes) -> None:
    assert feed_chunks(framing, one_byte_chunks(body)) == whole(framing, body)


@pytest.mark.parametrize(("name", "framing", "body"), STREAMS, ids=STREAM_IDS)
def test_recorded_stream_arbitrary_splits(name: str, framing: str, body: bytes) -> None:
    expected = whole(framing, body)

    @PROPERTY
    @given(cuts=cuts_for(body))
    def check(cuts: list[int]) -> None:
        assert feed_chunks(framing, split_at(body, cuts)) == expected

    check()


def test_recorded_details() -> None:
    """Spot checks on what the recordings are known to contain."""
    by_name = {n: (f, b) for n, f, b in STREAMS}

    _, body = by_name["gemini/stream_sse_text"]
    assert b"\r\n\r\n" in body
    events = whole("sse", body)
    assert [e.event for e in events] == ["message"] * 3
    assert events[-1].json()["candidates"][0]["finishReason"] == "STOP"

    _, body = by_name["anthropic/stream_text_langchaingo"]
    events = whole("sse", body)
    assert events[0].event == "message_start"
    assert "ping" in [e.event for e in events]
    assert all(e.json()["type"] == e.event for e in events)

    _, body = by_name["groq/stream_error_event_tool_use_failed"]
    events = whole("sse", body)
    assert events[-1].event == "error"
    assert "[DONE]" not in [e.data for e in events]

    _, body = by_name["openrouter/stream_reasoning_details"]
    assert body.startswith(b": OPENROUTER PROCESSING")
    events = whole("sse", body)
    assert not any("OPENROUTER PROCESSING" in e.data for e in events)
    assert events[-1].data == "[DONE]"


# --------------------------------------------------------------------------------------------------------
# a small, non-incremental reference of the WHATWG algorithm (plus the module's documented difference:
# an event cut off by the end of the stream is dispatched)


def reference_sse(body: bytes) -> list[Event]:
    text = body.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    *lines, tail = re.split(r"\r\n|\r|\n", text)
    if tail:
        lines.append(tail)
    lines.append("")  # end of stream dispatches (documented deviation from the spec)

    out: list[Event] = []
    data = ""
    event_type = ""
    last_id_buffer: str | None = None
    retry: int | None = None
    for line in lines:
        if line == "":
            if data == "":
                event_type = ""
                continue
            if data.endswith("\n"):
                data = data[:-1]
            out.append(Event(data, event_type or "message", last_id_buffer, retry))
            data = ""
            event_type = ""
            continue
        if line.startswith(":"):
            continue
        if ":" in line:
            field, _, value = line.partition(":")
            if value.startswith(" "):
                value = value[1:]
        else:
            field, value = line, ""
        if field == "event":
            event_type = value
        elif field == "data":
            data += value + "\n"
        elif field == "id":
            if "\0" not in value:
                last_id_buffer = value
        elif field == "retry" and value and all(c in "0123456789" for c in value):
            retry = int(value)
    return out


# Pieces that hit every rule: field names (exact and near-misses), colons, spaces, every line ending,
# a BOM, NUL, multibyte UTF-8 (2, 3 and 4 bytes) and invalid bytes.
_SSE_PIECES = [
    b"data",
    b"data:",
    b"data: ",
    b"event:",
    b"event: ",
    b"id:",
    b"id: ",
    b"retry:",
    b"retry: ",
    b"Data:",
    b"foo:",
    b":",
    b": ping",
    b" ",
    b"  ",
    b"\r",
    b"\n",
    b"\r\n",
    b"\n\n",
    b"\r\n\r\n",
    b"x",
    b"[DONE]",
    b'{"a": [1, "}"]}',
    b"42",
    b"0",
    b"\x00",
    b"\xef\xbb\xbf",
    "é".encode(),
    "€".encode(),
    "😀".encode(),
    b"\xff",
    b"\xc3",
]

sse_bodies = st.lists(st.sampled_from(_SSE_PIECES), max_size=40).map(b"".join)


@PROPERTY
@given(body=sse_bodies, data=st.data())
def test_sse_matches_reference_under_any_split(body: bytes, data: st.DataObject) -> None:
    expected = reference_sse(body)
    assert whole("sse", body) == expected
    cuts = data.draw(cuts_for(body))
    assert feed_chunks("sse", split_at(body, cuts)) == expected


# --------------------------------------------------------------------------------------------------------
# SSE: line endings


@pytest.mark.parametrize("eol", [b"\n", b"\r", b"\r\n"], ids=["LF", "CR", "CRLF"])
def test_sse_line_endings(eol: bytes) -> None:
    body = b"data: a" + eol + b"data: b" + eol + eol + b"data: c" + eol + eol
    assert sse(body) == [Event("a\nb"), Event("c")]


def test_sse_mixed_line_endings() -> None:
    body = b"event: x\rdata: a\r\ndata: b\n\r\ndata: c\r\r" + b"data: d\n\n" + b"data: e\r\n\n"
    assert sse(body) == [Event("a\nb", "x"), Event("c"), Event("d"), Event("e")]


def test_sse_lf_then_cr_is_two_line_ends() -> None:
    # "\n\r" is LF followed by CR: two line ends, so a blank line and a dispatch.
    assert sse(b"data: a\n\rdata: b\n\n") == [Event("a"), Event("b")]


def test_sse_cr_cr_lf_is_a_blank_line() -> None:
    # CR, then CRLF: the second terminator ends an empty line.
    assert sse(b"data: a\r\r\ndata: b\r\n\r\n") == [Event("a"), Event("b")]


def test_sse_crlf_split_across_chunks_is_one_line_end() -> None:
    # If the LF were counted as a second line end, "a" would be dispatched alone and then "b" alone.
    chunks = [b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]
    assert sse(*chunks) == [Event("a\nb")]
    assert sse(b"data: a\r", b"\n", b"data: b\r\n\r\n") == [Event("a\nb")]


def test_sse_crlf_split_with_empty_chunks_between() -> None:
    assert sse(b"data: a\r", b"", b"", b"\ndata: b\r\n\r\n") == [Event("a\nb")]


def test_sse_cr_at_chunk_end_then_non_lf() -> None:
    # A lone CR at the end of a chunk still ends the line; the next chunk's first line is new.
    assert sse(b"data: a\r", b"data: b\r", b"\r") == [Event("a\nb")]
    assert sse(b"data: a\r", b"\r", b"data: b\r\r") == [Event("a"), Event("b")]


def test_sse_cr_at_chunk_end_then_multibyte_char_split() -> None:
    body = "data: a\rdata: é\r\n\r\n".encode()
    for chunks in every_two_way_split(body):
        assert sse(*chunks) == [Event("a\né")]
    # "é" alone is a line with an unknown field name: ignored.
    assert sse(b"data: a\r", "é".encode()[:1], "é".encode()[1:] + b"\n\n") == [Event("a")]


def test_sse_crlf_at_every_split_position() -> None:
    body = b"data: a\r\ndata: b\r\n\r\nevent: e\r\ndata: c\r\n\r\n"
    expected = [Event("a\nb"), Event("c", "e")]
    assert sse(body) == expected
    for chunks in every_two_way_split(body):
        assert sse(*chunks) == expected
    assert feed_chunks("sse", one_byte_chunks(body)) == expected


# --------------------------------------------------------------------------------------------------------
# SSE: fields


def test_sse_comment_lines_are_ignored() -> None:
    body = b": ping\n\ndata: a\n: keep-alive\ndata: b\n\n:\n\n"
    assert sse(body) == [Event("a\nb")]


def test_sse_data_space_after_colon_is_optional_and_only_one_is_stripped() -> None:
    assert sse(b"data:a\n\n") == [Event("a")]
    assert sse(b"data: a\n\n") == [Event("a")]
    assert sse(b"data:  a\n\n") == [Event(" a")]
    assert sse(b"data:\ta\n\n") == [Event("\ta")]
    assert sse(b"data: a \n\n") == [Event("a ")]  # trailing space kept
    assert sse(b"data: a:b: c\n\n") == [Event("a:b: c")]  # only the first colon splits


def test_sse_multi_line_data_joined_with_lf() -> None:
    assert sse(b"data: one\ndata: two\ndata:three\n\n") == [Event("one\ntwo\nthree")]
    # Empty data lines contribute empty lines.
    assert sse(b"data:\ndata: x\ndata:\n\n") == [Event("\nx\n")]


def test_sse_event_names() -> None:
    body = b"event: add\ndata: 1\n\ndata: 2\n\nevent:remove\ndata: 3\n\n"
    assert sse(body) == [Event("1", "add"), Event("2", "message"), Event("3", "remove")]


def test_sse_event_name_reset_when_nothing_dispatched() -> None:
    # An event type without data is discarded at the blank line; it does not leak into the next event.
    assert sse(b"event: lost\n\ndata: x\n\n") == [Event("x")]


def test_sse_empty_event_name_means_message() -> None:
    assert sse(b"event:\ndata: x\n\n") == [Event("x", "message")]
    assert sse(b"event\ndata: x\n\n") == [Event("x", "message")]


def test_sse_last_event_id_persists() -> None:
    body = b"id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\ndata: d\n\n"
    assert sse(body) == [Event("a", id="1"), Event("b", id="1"), Event("c", id="2"), Event("d", id="2")]


def test_sse_no_id_means_none() -> None:
    assert sse(b"data: a\n\n") == [Event("a", id=None)]


def test_sse_id_set_by_an_event_without_data_still_applies() -> None:
    # Dispatch step 1 sets the last event ID before the empty-data check.
    assert sse(b"id: 7\n\ndata: a\n\n") == [Event("a", id="7")]


def test_sse_empty_id_resets_last_event_id() -> None:
    assert sse(b"id: 1\ndata: a\n\nid\ndata: b\n\nid:\ndata: c\n\n") == [
        Event("a", id="1"),
        Event("b", id=""),
        Event("c", id=""),
    ]


def test_sse_id_with_nul_is_ignored() -> None:
    body = b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\nid: 4\ndata: c\n\n"
    assert sse(body) == [Event("a", id="1"), Event("b", id="1"), Event("c", id="4")]


def test_sse_id_last_one_in_an_event_wins() -> None:
    assert sse(b"id: 1\nid: 2\ndata: a\n\n") == [Event("a", id="2")]


def test_sse_retry_ascii_digits_only() -> None:
    body = (
        b"retry: 3000\ndata: a\n\n"
        b"retry: 1.5\ndata: b\n\n"
        b"retry: -1\ndata: c\n\n"
        b"retry: 12ms\ndata: d\n\n"
        b"retry:\ndata: e\n\n"
        b"retry:  5\ndata: f\n\n"
        b"retry:0\ndata: g\n\n"
    )
    assert sse(body) == [
        Event("a", retry=3000),
        Event("b", retry=3000),
        Event("c", retry=3000),
        Event("d", retry=3000),
        Event("e", retry=3000),
        Event("f", retry=3000),
        Event("g", retry=0),
    ]


@pytest.mark.parametrize(
    "value",
    ["\u00b2", "\u0661\u0662", "\uff11\uff12", "3\u00b2"],
    ids=["superscript-two", "arabic-indic-12", "fullwidth-12", "three-superscript-two"],
)
def test_sse_retry_non_ascii_digits_are_ignored(value: str) -> None:
    # WHATWG: "If the field value consists of only ASCII digits" -- anything else is ignored.
    # str.isdigit() is true for all of these; int() then either crashes ("²") or accepts them.
    body = f"retry: 100\ndata: a\n\nretry: {value}\ndata: b\n\n".encode()
    assert sse(body) == [Event("a", retry=100), Event("b", retry=100)]


def test_sse_field_without_colon() -> None:
    # "data" alone is a data line with an empty value: the event is dispatched with data "".
    assert sse(b"data\n\n") == [Event("")]
    assert sse(b"data\ndata\n\n") == [Event("\n")]
    assert sse(b"data\ndata: x\n\n") == [Event("\nx")]


def test_sse_unknown_fields_ignored() -> None:
    body = b"foo: bar\ndata: a\nData: no\nDATA: no\ndata : no\n data: no\nevents: no\n\n"
    assert sse(body) == [Event("a")]
    assert sse(b"foo: bar\n\n") == []


def test_sse_blank_lines_without_data_dispatch_nothing() -> None:
    assert sse(b"\n\n\n\r\n\r\r") == []
    assert sse(b"event: x\nid: 3\nretry: 5\n\n") == []
    assert sse(b"") == []
    assert sse(b"\n\ndata: a\n\n\n\n") == [Event("a")]


def test_sse_bom_stripped_once_at_start() -> None:
    bom = b"\xef\xbb\xbf"
    assert sse(bom + b"data: a\n\n") == [Event("a")]
    # Split inside the BOM.
    for chunks in every_two_way_split(bom + b"data: a\n\n"):
        assert sse(*chunks) == [Event("a")]
    assert sse(b"", bom, b"data: a\n\n") == [Event("a")]
    # Only one BOM, and only at the very start: a second one makes the field name unknown.
    assert sse(bom + bom + b"data: a\n\ndata: b\n\n") == [Event("b")]
    assert sse(b"data: a\n\n" + bom + b"data: b\n\n") == [Event("a")]
    # A BOM inside a value is data.
    assert sse(b"data: " + bom + b"x\n\n") == [Event("\ufeffx")]


@pytest.mark.parametrize("char", ["é", "€", "😀"])
def test_sse_multibyte_character_split_across_chunks(char: str) -> None:
    body = f"data: {char}{char}\n\n".encode()
    expected = [Event(char * 2)]
    for chunks in every_two_way_split(body):
        assert sse(*chunks) == expected
    assert feed_chunks("sse", one_byte_chunks(body)) == expected


def test_sse_invalid_utf8_replaced() -> None:
    assert sse(b"data: a\xffb\n\n") == [Event("a\ufffdb")]
    assert sse(b"data: a\xc3", b"\n\n") == [Event("a\ufffd")]
    # Truncated sequence at the very end of the stream.
    assert sse(b"data: a\xe2\x82") == [Event("a\ufffd")]


def test_sse_done_sentinel_is_just_data() -> None:
    assert sse(b"data: {}\n\ndata: [DONE]\n\n") == [Event("{}"), Event("[DONE]")]
    # And no sentinel is needed: close() finishes cleanly.
    parser = SSEParser()
    assert parser.feed(b"data: {}\n\n") == [Event("{}")]
    assert parser.close() == []


def test_sse_event_cut_off_by_end_of_stream_is_dispatched_by_close() -> None:
    # Documented deviation from WHATWG (the spec would discard these).
    parser = SSEParser()
    assert parser.feed(b"data: a\n\nevent: last\ndata: b") == [Event("a")]
    assert parser.close() == [Event("b", "last")]

    for body in (b"data: b", b"data: b\n", b"data: b\r", b"data: b\r\n"):
        parser = SSEParser()
        assert parser.feed(body) == []
        assert parser.close() == [Event("b")]

    # Nothing pending: close() gives nothing.
    parser = SSEParser()
    parser.feed(b"data: a\n\n")
    assert parser.close() == []
    parser = SSEParser()
    parser.feed(b"event: x\n")
    assert parser.close() == []


def test_sse_feed_returns_events_as_soon_as_complete() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: a\n") == []
    assert parser.feed(b"\n") == [Event("a")]
    assert parser.feed(b"data: b\r") == []
    assert parser.feed(b"\r") == [Event("b")]
    assert parser.feed(b"data: c\r\n\r") == [Event("c")]  # the final CR already ends the blank line
    assert parser.feed(b"\n") == []
    assert parser.close() == []


def test_sse_retry_persists_and_combines_with_id_and_event() -> None:
    body = b"retry: 10\nid: a\nevent: e\ndata: 1\n\ndata: 2\n\n"
    assert sse(body) == [Event("1", "e", "a", 10), Event("2", "message", "a", 10)]


# --------------------------------------------------------------------------------------------------------
# synthetic stream with CRLF and multibyte characters: any split gives the same events

SYNTHETIC = (
    "\ufeff: hello ☃\r\n\r\n"
    'event: delta\r\nid: ü-1\r\ndata: {"text": "héllo wörld €"}\r\n\r\n'
    'data: {"text": "日本語 😀"}\r\ndata: second line ✓\r\n\r\n'
    "retry: 2500\rdata: 🎉\r\r"
    "event: done\ndata: [DONE]\r\n"
).encode()
SYNTHETIC_EVENTS = [
    Event('{"text": "héllo wörld €"}', "delta", "ü-1"),
    Event('{"text": "日本語 😀"}\nsecond line ✓', "message", "ü-1"),
    Event("🎉", "message", "ü-1", 2500),
    Event("[DONE]", "done", "ü-1", 2500),
]


def test_synthetic_stream_whole_and_one_byte() -> None:
    assert whole("sse", SYNTHETIC) == SYNTHETIC_EVENTS
    assert reference_sse(SYNTHETIC) == SYNTHETIC_EVENTS
    assert feed_chunks("sse", one_byte_chunks(SYNTHETIC)) == SYNTHETIC_EVENTS
    for chunks in every_two_way_split(SYNTHETIC):
        assert feed_chunks("sse", chunks) == SYNTHETIC_EVENTS


@PROPERTY
@given(cuts=cuts_for(SYNTHETIC))
def test_synthetic_stream_arbitrary_splits(cuts: list[int]) -> None:
    assert feed_chunks("sse", split_at(SYNTHETIC, cuts)) == SYNTHETIC_EVENTS


# --------------------------------------------------------------------------------------------------------
# NDJSON


def nd(*chunks: bytes) -> list[Event]:
    return feed_chunks("ndjson", chunks)


def test_ndjson_basic() -> None:
    body = b'{"a": 1}\n{"b": [2, 3]}\n'
    assert nd(body) == [Event('{"a": 1}'), Event('{"b": [2, 3]}')]
    assert [e.json() for e in nd(body)] == [{"a": 1}, {"b": [2, 3]}]
    assert all(e.event == "message" and e.id is None and e.retry is None for e in nd(body))


def test_ndjson_lines_split_across_chunks() -> None:
    body = b'{"a": "x"}\n{"b": "y"}\n'
    expected = [Event('{"a": "x"}'), Event('{"b": "y"}')]
    for chunks in every_two_way_split(body):
        assert nd(*chunks) == expected
    assert feed_chunks("ndjson", one_byte_chunks(body)) == expected


def test_ndjson_feed_returns_lines_as_soon_as_complete() -> None:
    parser = NDJSONParser()
    assert parser.feed(b'{"a"') == []
    assert parser.feed(b": 1}\n{") == [Event('{"a": 1}')]
    assert parser.feed(b"}\n") == [Event("{}")]
    assert parser.close() == []


def test_ndjson_blank_lines_skipped() -> None:
    assert nd(b'\n\n{"a": 1}\n\n   \n\t\n{"b": 2}\n\n') == [Event('{"a": 1}'), Event('{"b": 2}')]
    assert nd(b"\n\n\n") == []
    assert nd(b"") == []


def test_ndjson_crlf_tolerated() -> None:
    body = b'{"a": 1}\r\n{"b": 2}\r\n\r\n'
    expected = [Event('{"a": 1}'), Event('{"b": 2}')]
    assert nd(body) == expected
    for chunks in every_two_way_split(body):
        assert nd(*chunks) == expected


def test_ndjson_final_line_without_newline_flushed_by_close() -> None:
    parser = NDJSONParser()
    assert parser.feed(b'{"a": 1}\n{"done": true}') == [Event('{"a": 1}')]
    assert parser.close() == [Event('{"done": true}')]
    assert nd(b'{"a": 1}\r\n{"done": true}\r') == [Event('{"a": 1}'), Event('{"done": true}')]


def test_ndjson_multibyte_split() -> None:
    body = '{"t": "é€😀"}\n{"t": "日本"}'.encode()
    expected = [Event('{"t": "é€😀"}'), Event('{"t": "日本"}')]
    for chunks in every_two_way_split(body):
        assert nd(*chunks) == expected


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)


@PROPERTY
@given(
    items=st.lists(json_values, max_size=6),
    ensure_ascii=st.booleans(),
    eol=st.sampled_from(["\n", "\r\n"]),
    data=st.data(),
)
def test_ndjson_property(items: list[Any], ensure_ascii: bool, eol: str, data: st.DataObject) -> None:
    body = "".join(json.dumps(x, ensure_ascii=ensure_ascii) + eol for x in items).encode()
    cuts = data.draw(cuts_for(body))
    events = feed_chunks("ndjson", split_at(body, cuts))
    assert [e.json() for e in events] == items


# --------------------------------------------------------------------------------------------------------
# streamed JSON array


def arr(*chunks: bytes) -> list[Event]:
    return feed_chunks("json-array", chunks)


TRICKY_ITEMS: list[Any] = [
    {"text": "braces { } and brackets [ ] in a string", "n": 1},
    {"text": 'escaped "quotes" and a \\ backslash', "nested": {"a": [1, {"b": "]}"}]}},
    {"text": "ends with a backslash \\", "x": '\\\\"}'},
    {"text": "unicode é € 😀 and escapes \n \t \u0001", "list": [[], [[]], {}]},
    {"empty": ""},
]


@pytest.mark.parametrize(
    "separators",
    [(",", ":"), (", ", ": "), (",\n", ": "), (",\r\n  ", ":")],
    ids=["compact", "spaced", "lf", "crlf"],
)
def test_json_array_tricky_elements_split_at_every_byte(separators: tuple[str, str]) -> None:
    item_sep, key_sep = separators
    body = "[" + item_sep.join(
        json.dumps(x, separators=(",", key_sep), ensure_ascii=False) for x in TRICKY_ITEMS
    )
    body_bytes = (body + "]").encode()
    expected = whole("json-array", body_bytes)
    assert [e.json() for e in expected] == TRICKY_ITEMS
    for chunks in every_two_way_split(body_bytes):
        assert arr(*chunks) == expected
    assert feed_chunks("json-array", one_byte_chunks(body_bytes)) == expected


def test_json_array_indented_gemini_style() -> None:
    # Gemini's non-SSE streamGenerateContent: pretty-printed objects, ",\r\n" between them.
    items = [{"candidates": [{"content": {"parts": [{"text": "a {b} [c]"}]}}]}, {"usageMetadata": {"n": 2}}]
    body = ("[" + ",\r\n".join(json.dumps(x, indent=2) for x in items) + "]").encode()
    events = arr(body)
    assert [e.json() for e in events] == items
    assert all(e.event == "message" and e.id is None for e in events)
    assert feed_chunks("json-array", one_byte_chunks(body)) == events


def test_json_array_whitespace_between_elements() -> None:
    body = b'  \n[\n  {"a": 1}  ,\n\n  {"b": 2}\n,{"c":3}\n]\n'
    assert arr(body) == [Event('{"a": 1}'), Event('{"b": 2}'), Event('{"c":3}')]


def test_json_array_scalars_and_nested_arrays() -> None:
    body = b'[1, "a,b]", [2, [3]], true, null, "x\\"]", {"k": "v"}]'
    events = arr(body)
    assert [e.json() for e in events] == [1, "a,b]", [2, [3]], True, None, 'x"]', {"k": "v"}]
    for chunks in every_two_way_split(body):
        assert arr(*chunks) == events


def test_json_array_events_returned_as_soon_as_complete() -> None:
    parser = JSONArrayParser()
    assert parser.feed(b'[{"a": "}"') == []
    assert parser.feed(b'}, {"b"') == [Event('{"a": "}"}')]
    assert parser.feed(b": 2}") == [Event('{"b": 2}')]
    assert parser.feed(b"]") == []
    assert parser.close() == []


def test_json_array_empty_and_truncated() -> None:
    assert arr(b"[]") == []
    assert arr(b"[\n]") == []
    assert arr(b"") == []
    # A truncated element is handed over by close() for the codec's JSON parse to reject.
    parser = JSONArrayParser()
    assert parser.feed(b'[{"a": 1}, {"b": ') == [Event('{"a": 1}')]
    assert parser.close() == [Event('{"b":')]


@PROPERTY
@given(
    items=st.lists(json_values, max_size=6),
    indent=st.sampled_from([None, 0, 2]),
    ensure_ascii=st.booleans(),
    data=st.data(),
)
def test_json_array_property(
    items: list[Any], indent: int | None, ensure_ascii: bool, data: st.DataObject
) -> None:
    body = json.dumps(items, indent=indent, ensure_ascii=ensure_ascii).encode()
    cuts = data.draw(cuts_for(body))
    events = feed_chunks("json-array", split_at(body, cuts))
    assert [e.json() for e in events] == items


# --------------------------------------------------------------------------------------------------------
# iter_events / aiter_events / make_parser


def test_make_parser() -> None:
    assert isinstance(make_parser("sse"), SSEParser)
    assert isinstance(make_parser("ndjson"), NDJSONParser)
    assert isinstance(make_parser("json-array"), JSONArrayParser)
    with pytest.raises(ValueError, match="unknown stream framing"):
        make_parser("xml")


def test_parsers_are_independent() -> None:
    a, b = SSEParser(), SSEParser()
    assert a.feed(b"id: 1\ndata: x") == []
    assert b.feed(b"data: y\n\n") == [Event("y")]
    assert a.close() == [Event("x", id="1")]


async def _agen(chunks: Sequence[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        await asyncio.sleep(0)
        yield chunk


async def _collect(chunks: Sequence[bytes], framing: str) -> list[Event]:
    return [ev async for ev in aiter_events(_agen(chunks), framing)]


def _async_cases() -> list[tuple[str, str, list[bytes]]]:
    cases: list[tuple[str, str, list[bytes]]] = []
    for name, framing, body in STREAMS:
        # Deterministic irregular chunking: sizes 1, 2, 3, ..., 97, 1, 2, ...
        chunks, i, size = [], 0, 1
        while i < len(body):
            chunks.append(body[i : i + size])
            i += size
            size = size % 97 + 1
        cases.append((name, framing, chunks))
    cases.append(("synthetic-sse", "sse", one_byte_chunks(SYNTHETIC)))
    cases.append(("json-array", "json-array", [b'[{"a": "]"},', b' {"b', b'": [1]}]']))
    cases.append(("ndjson-tail", "ndjson", [b'{"a": 1}\n{"b"', b": 2}"]))
    cases.append(("sse-cut-off", "sse", [b"data: a\r", b"\ndata: b"]))
    cases.append(("empty", "sse", []))
    return cases


ASYNC_CASES = _async_cases()


@pytest.mark.parametrize(("name", "framing", "chunks"), ASYNC_CASES, ids=[c[0] for c in ASYNC_CASES])
def test_aiter_events_matches_iter_events(name: str, framing: str, chunks: list[bytes]) -> None:
    sync = list(iter_events(chunks, framing))
    assert sync == feed_chunks(framing, chunks)
    assert asyncio.run(_collect(chunks, framing)) == sync
    if name != "empty":
        assert sync


def test_iter_events_is_lazy() -> None:
    seen: list[bytes] = []

    def chunks() -> Iterable[bytes]:
        for c in (b"data: a\n\n", b"data: b\n\n"):
            seen.append(c)
            yield c

    it = iter_events(chunks(), "sse")
    assert next(it) == Event("a")
    assert seen == [b"data: a\n\n"]
    assert list(it) == [Event("b")]


def test_event_json() -> None:
    assert Event('{"a": [1]}').json() == {"a": [1]}
    with pytest.raises(json.JSONDecodeError):
        Event("[DONE]").json()


def test_fixture_dir_is_real() -> None:
    assert isinstance(REAL, Path) and REAL.is_dir()
