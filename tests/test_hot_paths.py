"""Rules of the hot-path shortcuts: each must give exactly what the general path gives."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from router import _watchdog
from router._registry import provider_ids
from router._streaming import Event as _Event
from router._streaming import NDJSONParser
from router._streaming import SSEParser


def _frame(text: str) -> Any:
    """What the stream driver decodes a frame's data to (its inlined scan), seen through a codec
    that keeps the decoded frame."""
    from router._types import Receipt
    from router.protocols import _driver

    seen: list[Any] = []

    class _Codec:
        ANSWER_KEYS = frozenset()

        @staticmethod
        def body_error(data: Any) -> None:
            seen.append(data)
            raise _Stop

        @staticmethod
        def decoder(cfg: Any, receipt: Any) -> Any:
            return None

    class _Stop(Exception):
        pass

    from router import _registry

    driver = _driver.StreamDriver(_registry.adapter("openai").config, _Codec(), Receipt("openai", "m"))  # type: ignore[arg-type]
    with pytest.raises(_Stop):
        driver.feed(_Event(text))
    return seen[0]


@pytest.mark.parametrize(
    "text", ['{"a": 1}', ' {"a": 1}', '{"a": 1} ', "[1, 2]", '"s"', "3", "null", '{"a": [1, {"b": "é"}]}']
)
def test_a_frame_decodes_as_json_loads(text: str) -> None:
    assert _frame(text) == json.loads(text)


@pytest.mark.parametrize("text", ["", " ", "{", '{"a": 1} x', "nope", '{"a": 1}{"b": 2}'])
def test_a_frame_fails_as_json_loads(text: str) -> None:
    from router._exceptions import InvalidResponseError

    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(InvalidResponseError, match="not JSON"):
        _frame(text)


def _feed_all(parser: SSEParser | NDJSONParser, chunks: list[bytes]) -> list[Any]:
    out = []
    for c in chunks:
        out += parser.feed(c)
    return out + parser.close()


def _events(chunks: list[bytes]) -> list[Any]:
    return _feed_all(SSEParser(), chunks)


@pytest.mark.parametrize(
    "chunks",
    [
        [b"data: 1\n\n", b"data: 2\n\n", b"event: e\ndata: 3\n\n"],
        [b"\xef\xbb\xbfdata: 1\n\n", b"data: 2\n\n"],  # a BOM first
        [b"data: 1\n\n", b"id: 7\n", b"data: 2\n\n", b"data: 3\n\n"],  # an id carried over
        [b"data: 1\n\n", b"data: \xc3", b"\xa9\n\n", b"data: 4\n\n"],  # a character cut in two
        [b"data: 1\n\n", b"event:  spaced \ndata: 2\n\n", b"data: 3\r\n\r\n"],
        [b"data: 1\n\n", b"data: a\ndata: b\n\n", b"data:\n\n"],
        [b"data: 1\n\n", b"data: \xff\xfe bad\n\n", b"event: \xc3(\ndata: 2\n\n"],  # invalid UTF-8
        [b"data: 1\n\n", b"event: \ndata: 2\n\n", b"event: e\n\n", b"data: \n\n"],  # empty name, data
        [b"data: 1\n\n", b"data: a\rb\n\n", b"data: c\r\n\n", b"event: x\ry\ndata: 2\n\n"],  # lone CRs
        [b"data: 1\n\n", b": ping\n\n", b"data: 2\n\nda", b"ta: 3\n\n", b"retry: 9\ndata: 4\n\n"],
    ],
)
def test_whole_event_chunks_read_as_byte_by_byte(chunks: list[bytes]) -> None:
    """The whole-event fast path gives what the parser gives fed one byte at a time."""
    one = b"".join(chunks)
    assert _events(chunks) == _events([one[i : i + 1] for i in range(len(one))])


def _lines(chunks: list[bytes]) -> list[Any]:
    return _feed_all(NDJSONParser(), chunks)


@pytest.mark.parametrize(
    "chunks",
    [
        [b'{"a":1}\n', b'{"a":2}\n', b'{"a":3}'],  # the last line with no newline
        [b'{"a":1}\n', b'{"a":', b"2}\n", b'{"a":3}\n'],  # a line cut in two, then whole ones
        [b'{"a":1}\n{"a":2}\n', b"\n", b'  {"a":3}  \n'],  # two lines at once, a blank, spaces
        [b'{"a":"\xc3', b'\xa9"}\n', b'{"a":4}\r\n'],  # a character cut in two, a CRLF
        [b'{"a":1}\n', b'\n\n{"a":"\xff"}\n', b"  \n", b'{"a":2}\n\n'],  # blank lines around, bad UTF-8
    ],
)
def test_whole_line_chunks_read_as_byte_by_byte(chunks: list[bytes]) -> None:
    """NDJSON's whole-line fast path gives what the parser gives fed one byte at a time."""
    one = b"".join(chunks)
    assert _lines(chunks) == _lines([one[i : i + 1] for i in range(len(one))])


_PIECES = [
    b"data: {}\n\n", b"event: e\ndata: 1\n\n", b"data: x\n", b"\n", b"id: 3\n", b"event:  s \n",
    b": c\n\n", b"\r\n", b"\r", b"data: \xc3\xa9\n\n", b"\xc3", b"\xa9", b"\xff", b"retry: 5\n",
    b"data:\n\n", b"dat", b"a: 2\n\n", b"\xef\xbb\xbf", b'{"a":1}\n', b"  \n",
]  # fmt: skip


@pytest.mark.parametrize("parser", [SSEParser, NDJSONParser])
def test_any_chunking_reads_as_byte_by_byte(parser: Any) -> None:
    """2,000 random streams of pieces (whole events, cut lines, CR, bad and cut UTF-8, BOMs) cut into
    random chunks: the fast paths give what the parser gives fed one byte at a time."""
    import random

    rng = random.Random(12)
    for _ in range(2000):
        one = b"".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 12)))
        cuts = (
            sorted(rng.sample(range(1, len(one)), min(len(one) - 1, rng.randint(0, 8))))
            if len(one) > 1
            else []
        )
        chunks = [one[a:b] for a, b in zip([0, *cuts], [*cuts, len(one)], strict=True)]
        assert _feed_all(parser(), chunks) == _feed_all(
            parser(), [one[i : i + 1] for i in range(len(one))]
        ), chunks


def test_no_bytes_membership_test_in_the_package() -> None:
    """``b"x" in data`` makes CPython try the needle as an int first, raising and clearing a TypeError
    (~1,800 instructions); the package says ``data.find(b"x") < 0`` (router/_streaming.py)."""
    import ast

    import router

    found = []
    for path in sorted(Path(router.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Compare)
                and isinstance(node.left, ast.Constant)
                and isinstance(node.left.value, bytes)
                and any(isinstance(op, ast.In | ast.NotIn) for op in node.ops)
            ):
                found.append(f"{path.name}:{node.lineno}")
    assert not found


def test_ndjson_fast_path_keeps_the_cap() -> None:
    from router._streaming import EventTooLarge

    with pytest.raises(EventTooLarge):
        NDJSONParser(max_event=8).feed(b'{"a":"0123456789"}\n')


class _R:
    pass


def test_watchdog_is_not_woken_for_a_later_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """The deadline thread sleeps until the earliest deadline: a watch due later wakes nothing
    (waking it per call cost a thread switch per request); an earlier one wakes it."""
    r = _R()
    _watchdog.unwatch(_watchdog.watch(time.monotonic() + 3600, r))  # the thread is running
    time.sleep(0.05)  # let it go back to sleep
    woken: list[int] = []
    real = _watchdog._cv.notify

    def notify(n: int = 1) -> None:
        woken.append(n)
        real(n)

    monkeypatch.setattr(_watchdog._cv, "notify", notify)
    far = _watchdog.watch(time.monotonic() + 3600, r)
    assert woken == []
    near = _watchdog.watch(time.monotonic() + 0.001, r)  # before it next looks: woken
    assert woken == [1]
    time.sleep(0.2)
    assert _watchdog.unwatch(near) is True  # fired at its deadline
    assert _watchdog.unwatch(far) is False


def test_the_field_order_the_positional_hot_paths_rely_on() -> None:
    """The decoders and OpenAI's parse build these objects positionally (faster than keywords); a
    reordered field would put a value under the wrong name without any error, so the order is held."""
    from dataclasses import fields

    from router._types import ChatCompletion
    from router._types import ChatCompletionChunk
    from router._types import Choice
    from router._types import ChunkChoice
    from router._types import Delta
    from router._types import Message

    def names(cls: type) -> list[str]:
        return [f.name for f in fields(cls)]

    assert names(Delta)[:4] == ["role", "content", "reasoning_content", "tool_calls"]
    assert names(ChunkChoice)[:5] == ["index", "delta", "finish_reason", "native_finish_reason", "logprobs"]
    assert names(ChatCompletionChunk)[:5] == ["id", "created", "model", "choices", "usage"]
    assert names(Message)[:8] == [
        "role", "content", "tool_calls", "reasoning_content", "refusal", "reasoning_blocks",
        "function_call", "annotations",
    ]  # fmt: skip
    assert names(Choice)[:5] == ["index", "message", "finish_reason", "native_finish_reason", "logprobs"]
    assert names(ChatCompletion)[:7] == [
        "id", "created", "model", "choices", "usage", "object", "system_fingerprint",
    ]  # fmt: skip


def test_safe_headers_reads_httpx_headers_as_their_items() -> None:
    """safe_headers reads an httpx Headers by its raw byte pairs: the same result as from its items()
    (names lower-cased, repeats joined, credentials masked, a key masked anywhere), non-ASCII too."""
    from router._httpx import httpx
    from router._types import safe_headers

    raw = [
        (b"Content-Type", b"application/json"),
        (b"X-Request-Id", b"abc"),
        (b"x-request-id", b"def"),  # a repeat, in another case
        (b"Set-Cookie", b"s=1"),
        (b"X-Api-Key", b"sk-secret"),
        (b"X-Echo", b"said sk-secret"),
        (b"X-Note", "caf\u00e9".encode()),  # UTF-8
    ]
    headers = httpx.Headers(raw)
    got = safe_headers(headers, ("sk-secret",))
    assert got == safe_headers(dict(headers.items()), ("sk-secret",))
    assert got["x-request-id"] == "abc, def"
    assert got["set-cookie"] == got["x-api-key"] == "****"
    assert got["x-echo"] == "said ****"
    assert got["x-note"] == "caf\u00e9"
    latin = httpx.Headers([(b"X-Old", b"caf\xe9")])  # not UTF-8: ISO-8859-1, as httpx reads it
    assert safe_headers(latin) == {"x-old": "caf\u00e9"} == safe_headers(dict(latin.items()))


def test_get_path_walks_dicts_lists_and_stars_as_before() -> None:
    from collections import OrderedDict

    from router.protocols._normalise import get_path

    data = {"a": {"b": [{"c": 1}, {"d": 2}]}, "e": None, "f": "s"}
    assert get_path(data, ("a", "b", "0", "c")) == 1
    assert get_path(data, ("a", "b", "*", "d")) == 2  # the first item that has the rest
    assert get_path(data, ("a", "b", "5", "c")) is None  # past the end
    assert get_path(data, ("a", "b", "x")) is None  # a name on a list
    assert get_path(data, ("e", "x")) is None
    assert get_path(data, ("f", "x")) is None  # a name on a string
    assert get_path(data, ("zz",)) is None
    assert get_path(OrderedDict(data), ("a", "b", "1", "d")) == 2  # a dict subclass at the top
    assert get_path({"a": OrderedDict(b=3)}, ("a", "b")) == 3  # ... and inside
    assert get_path(data, ()) is data


@pytest.mark.parametrize("family", ["httpx2", "httpx"])
def test_body_chunks_reads_a_stream_once_and_decodes_what_is_compressed(family: str) -> None:
    """body_chunks reads an unread, uncompressed body from the transport's iterator and marks it
    consumed (a second read is httpx's StreamConsumed); a gzip body and an already read one go
    through iter_bytes (decoded), for both client families."""
    import gzip
    import importlib

    from router._httpx import body_chunks

    mod = importlib.import_module(family)

    class Parts(mod.SyncByteStream):  # type: ignore[misc,name-defined]
        def __init__(self, parts: list[bytes]) -> None:
            self.parts = parts

        def __iter__(self) -> Any:
            return iter(self.parts)

    def handler(request: Any) -> Any:
        if request.url.path == "/gz":
            return mod.Response(
                200, headers={"Content-Encoding": "gzip"}, stream=Parts([gzip.compress(b"abcdef")])
            )
        if request.url.path == "/read":
            return mod.Response(200, content=b"whole")
        return mod.Response(200, stream=Parts([b"ab", b"", b"cd"]))

    with mod.Client(transport=mod.MockTransport(handler)) as client:
        with client.stream("GET", "http://h/plain") as r:
            assert b"".join(body_chunks(r)) == b"abcd"
            assert r.is_stream_consumed
            with pytest.raises(mod.StreamConsumed):
                list(r.iter_bytes())
        with client.stream("GET", "http://h/gz") as r:
            assert b"".join(body_chunks(r)) == b"abcdef"
        with client.stream("GET", "http://h/read") as r:
            assert b"".join(body_chunks(r)) == b"whole"


def test_getenv_reads_what_os_environ_get_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    from router.protocols._http import _getenv

    monkeypatch.setenv("ROUTER_T_SET", "héllo wörld")
    monkeypatch.setenv("ROUTER_T_EMPTY", "")
    monkeypatch.delenv("ROUTER_T_UNSET", raising=False)
    for name in ("ROUTER_T_SET", "ROUTER_T_EMPTY", "ROUTER_T_UNSET", "PATH"):
        assert _getenv(name) == os.environ.get(name)
    monkeypatch.delenv("ROUTER_T_SET")
    assert _getenv("ROUTER_T_SET") is None
    # os.environ replaced by a plain mapping (as some test harnesses do): read through its get()
    monkeypatch.setattr(os, "environ", {"ROUTER_T_SET": "plain"})
    assert _getenv("ROUTER_T_SET") == "plain"
    assert _getenv("ROUTER_T_UNSET") is None


def _env_names(cfg: Any) -> list[str]:
    names = [cfg.base_url_env] if cfg.base_url_env else []
    names += [v.env for v in cfg.variables.values() if v.env]
    return names


@pytest.mark.parametrize("pid", sorted(provider_ids()))
def test_cached_url_and_headers_follow_the_environment(pid: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every spec: the URL and headers a provider's (cached) plan gives are those a config that never
    built a request gives, as the base-URL and placeholder variables change between calls."""
    import dataclasses

    from router._exceptions import ConfigError
    from router._registry import adapter
    from router.protocols._http import build_http

    cfg = adapter(pid).config
    names = _env_names(cfg)

    def both(**kw: Any) -> None:
        def one(c: Any) -> Any:
            try:
                r = build_http(c, {}, api_key="sk-test-0000", extra_headers=None, extra_query=None, **kw)
            except ConfigError as exc:
                return ("ConfigError", str(exc))
            return (r.method, r.url, r.headers, r.stream)

        assert one(cfg) == one(dataclasses.replace(cfg)), (pid, kw, {n: os.environ.get(n) for n in names})

    states: list[dict[str, str | None]] = [
        dict.fromkeys(names),
        {
            n: f"https://one-{i}.example/v1" if n == cfg.base_url_env else f"one{i}"
            for i, n in enumerate(names)
        },
        {n: f"localhost:{9000 + i}" if n == cfg.base_url_env else f"two{i}" for i, n in enumerate(names)},
        dict.fromkeys(names),
    ]
    for state in states:
        for name, value in state.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        for stream in (False, True):
            both(model="some/model id", stream=stream, base_url=None)
            both(model="other", stream=stream, base_url="http://127.0.0.1:1/{model}")


@pytest.mark.parametrize("pid", sorted(provider_ids()))
def test_a_cached_plan_keeps_nothing_of_a_call(pid: str) -> None:
    """Every spec: one call's key, extras and changes to its request never reach the next call that
    shares the cached plan."""
    from router._exceptions import ConfigError
    from router._registry import adapter
    from router.protocols._http import build_http

    cfg = adapter(pid).config
    kw: dict[str, Any] = {"model": "m", "stream": False, "base_url": "http://127.0.0.1:1"}
    try:
        first = build_http(
            cfg, {}, api_key="sk-first-1111", extra_headers={"x-one": "1"}, extra_query={"q1": "1"}, **kw
        )
    except ConfigError:  # a variable with no default and no value: nothing is cached either
        return
    first.headers["x-mutated"] = "yes"
    second = build_http(cfg, {}, api_key="sk-second-2222", **kw)
    text = repr((second.url, sorted(second.headers.items())))
    for leftover in ("sk-first-1111", "x-one", "q1", "x-mutated"):
        assert leftover not in text, (pid, leftover, text)
    assert second.secrets == ("sk-second-2222",)
