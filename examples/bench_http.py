"""The router against a raw httpx call, side by side, on a fast loopback upstream.

    .venv/bin/python examples/bench_http.py                      # 5 rounds, 500-chunk streams
    .venv/bin/python examples/bench_http.py --quick --json out.json
    .venv/bin/python examples/bench_http.py --protocols openai,anthropic --rounds 7 --chunks 1000

The upstream is a small asyncio HTTP/1.1 keep-alive server in a separate process on 127.0.0.1; it
answers canned bodies (the shapes of tests/faultserver.py's ANSWER and _frames) for the OpenAI chat,
Anthropic messages, Gemini generateContent / streamGenerateContent?alt=sse and Ollama /api/chat
protocols, plain or as a stream of N content chunks, choosing by path (and the body's "stream").

For each protocol and measure, the raw client (build the dict, json.dumps, post, json.loads, pick the
text) and ``router.completion`` / ``router.acompletion`` (with an ``http_client`` of the same
settings) run interleaved for R rounds; each round gives one router/raw ratio. Within a round the
sync and stream runs are cut into 4 blocks, the clients taking turns block by block in an order that
rotates (a drift of the machine's falls on every client alike); the async runs rotate by round.
Measures: sequential sync req/s, async req/s with 32 in flight, sync stream chunks/s, and the
client's CPU µs per request / per chunk (time.process_time over the run). A round whose client CPU /
wall is outside 0.5x-2x of the other rounds' median is marked disturbed and left out of the medians.
If ``httpx2`` is importable it is measured as a second raw client. Nothing here asserts a number.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import importlib
import json
import multiprocessing
import re
import statistics
import sys
import time
from collections.abc import Callable
from collections.abc import Coroutine
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import httpx

import router

PROTOCOLS = ("openai", "anthropic", "gemini", "ollama")
MODELS = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-haiku-4-5",
    "gemini": "gemini-2.5-flash",
    "ollama": "llama3.2",
}
MESSAGES: list[dict[str, Any]] = [{"role": "user", "content": "Hi"}]
IN_FLIGHT = 32
# (wall seconds, process CPU seconds, work units) of one timed run
Run = tuple[float, float, int]

# --------------------------------------------------------------------------------------------------
# The upstream (runs in its own process)
# --------------------------------------------------------------------------------------------------

# The answer shapes of tests/faultserver.py (ANSWER, _frames), copied: examples do not import tests.
ANSWER: dict[str, dict[str, Any]] = {
    "openai": {"id": "c", "object": "chat.completion", "created": 1, "model": "m",
               "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]},
    "anthropic": {"id": "m", "type": "message", "role": "assistant", "model": "m", "stop_reason": "end_turn",
                  "content": [{"type": "text", "text": "ok"}], "usage": {"input_tokens": 1, "output_tokens": 1}},
    "gemini": {"candidates": [{"index": 0, "content": {"role": "model", "parts": [{"text": "ok"}]}, "finishReason": "STOP"}]},
    "ollama": {"model": "m", "created_at": "2025-01-01T00:00:00Z", "message": {"role": "assistant", "content": "ok"},
               "done": True, "done_reason": "stop"},
}  # fmt: skip


def _event(d: dict[str, Any]) -> bytes:
    return f"event: {d['type']}\ndata: {json.dumps(d)}\n\n".encode()


def _data(d: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(d).encode() + b"\n\n"


def _tok(i: int) -> str:
    """The text of content chunk ``i``: each differs from the one before (LiteLLM ends a stream that
    repeats one chunk many times as a model stuck in a loop)."""
    return f"t{i % 1000:03d} "


SHAPES = ("recorded", "minimal")


def _frames(protocol: str, n: int, shape: str = "recorded") -> list[bytes]:
    """The frames of a stream with ``n`` content chunks (chunks with text) and its other frames.

    ``recorded``: shaped as the real APIs send them (tests/fixtures/real/openai/
    stream_text_after_tool_result.json, tests/fixtures/real/gemini/stream_sse_text.json): OpenAI names
    its service tier and fingerprint and pads every frame (``obfuscation``); Gemini repeats the usage,
    model version and response id on each. ``minimal``: only the keys a reader needs (the frames of
    the runs before 2026-12-04). Anthropic's and Ollama's recorded frames are their minimal ones."""
    if protocol == "openai" and shape == "minimal":

        def small(text: str | None, finish: str | None = None) -> dict[str, Any]:
            delta = {} if text is None else {"content": text}
            return {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}  # fmt: skip

        return [_data(small(_tok(i))) for i in range(n)] + [_data(small(None, "stop")), b"data: [DONE]\n\n"]
    if protocol == "openai":

        def chunk(text: str | None, finish: str | None = None) -> dict[str, Any]:
            delta = {} if text is None else {"content": text}
            return {"id": "chatcmpl-Dx0Xq5Xx9rHB2ehcHZCRDsnuymUXc", "object": "chat.completion.chunk",
                    "created": 1782955818, "model": "gpt-4o-mini-2024-07-18", "service_tier": "default",
                    "system_fingerprint": "fp_d0469e1700",
                    "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
                    "usage": None, "obfuscation": "auU6fTns"}  # fmt: skip

        return [_data(chunk(_tok(i))) for i in range(n)] + [_data(chunk(None, "stop")), b"data: [DONE]\n\n"]
    if protocol == "anthropic":
        start = {"type": "message_start", "message": {"id": "m", "model": "m", "usage": {"input_tokens": 1}}}
        stop = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 1}}
        deltas = [
            _event(
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": _tok(i)}}
            )
            for i in range(n)
        ]
        return [_event(start), *deltas, _event(stop), _event({"type": "message_stop"})]
    if protocol == "gemini" and shape == "minimal":

        def bare(text: str) -> dict[str, Any]:
            return {"candidates": [{"index": 0, "content": {"role": "model", "parts": [{"text": text}]}}]}

        tail = {"candidates": [{"index": 0, "content": {"role": "model", "parts": [{"text": "."}]}, "finishReason": "STOP"}]}  # fmt: skip
        return [_data(bare(_tok(i))) for i in range(n - 1)] + [_data(tail)]
    if protocol == "gemini":
        usage = {"promptTokenCount": 8, "candidatesTokenCount": 12, "totalTokenCount": 20,
                 "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 8}]}  # fmt: skip
        meta = {
            "usageMetadata": usage,
            "modelVersion": "gemini-2.5-flash",
            "responseId": "CPcmapHjOLeRxN8PwcPGkAI",
        }

        def part(text: str) -> dict[str, Any]:
            return {
                "candidates": [{"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}],
                **meta,
            }

        end = {"candidates": [{"content": {"parts": [{"text": "."}], "role": "model"}, "finishReason": "STOP", "index": 0}], **meta}  # fmt: skip
        return [_data(part(_tok(i))) for i in range(n - 1)] + [_data(end)]  # the end frame has text too

    def line(text: str) -> dict[str, Any]:
        return {"model": "m", "created_at": "2025-01-01T00:00:00Z",
                "message": {"role": "assistant", "content": text}, "done": False}  # fmt: skip

    last: dict[str, Any] = {**line(""), "done": True, "done_reason": "stop"}
    return [json.dumps(line(_tok(i))).encode() + b"\n" for i in range(n)] + [
        json.dumps(last).encode() + b"\n"
    ]


def _protocol(path: bytes) -> str:
    if path.endswith(b"/api/chat"):
        return "ollama"
    if b"enerateContent" in path:
        return "gemini"
    if path.endswith(b"/v1/messages"):
        return "anthropic"
    return "openai"


def _answers(chunks: int) -> dict[tuple[str, bool], bytes]:
    """Every canned answer, head included: plain with a content-length, streams chunked (one HTTP
    chunk per frame, as a provider flushes them)."""
    out: dict[tuple[str, bool], bytes] = {}
    for p in PROTOCOLS:
        body = json.dumps(ANSWER[p]).encode()
        head = f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
        out[p, False] = head.encode() + body
        ctype = "application/x-ndjson" if p == "ollama" else "text/event-stream"
        stream = b"".join(b"%x\r\n%s\r\n" % (len(f), f) for f in _frames(p, chunks)) + b"0\r\n\r\n"
        out[p, True] = (
            f"HTTP/1.1 200 OK\r\ncontent-type: {ctype}\r\ntransfer-encoding: chunked\r\n\r\n".encode()
            + stream
        )
    return out


_STREAM_TRUE = re.compile(rb'"stream"\s*:\s*true')
_STREAM_FALSE = re.compile(rb'"stream"\s*:\s*false')
_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


async def _serve(chunks: int, ready: Any) -> None:
    answers = _answers(chunks)
    served = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal served
        try:
            while True:  # keep-alive: one request after another on this connection
                head = await reader.readuntil(b"\r\n\r\n")
                m = _LENGTH.search(head)
                body = await reader.readexactly(int(m.group(1))) if m else b""
                path = head.split(b" ", 2)[1]
                if path == b"/_stats":  # the upstream's own cost, to tell whether it was the limit
                    stats = json.dumps({"cpu_s": time.process_time(), "requests": served}).encode()
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(stats), stats))
                    continue
                served += 1
                p = _protocol(path.split(b"?")[0])
                if p == "gemini":
                    stream = b"streamGenerateContent" in path
                elif p == "ollama":  # Ollama streams unless told not to
                    stream = _STREAM_FALSE.search(body) is None
                else:
                    stream = _STREAM_TRUE.search(body) is not None
                writer.write(answers[p, stream])
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    ready.send(server.sockets[0].getsockname()[1])
    ready.close()
    async with server:
        await server.serve_forever()


def serve(chunks: int, ready: Any) -> None:
    """The upstream process's entry point: sends its port through ``ready``, then serves forever."""
    asyncio.run(_serve(chunks, ready))


# --------------------------------------------------------------------------------------------------
# The clients
# --------------------------------------------------------------------------------------------------


def _raw_call(protocol: str, base: str, stream: bool) -> tuple[str, dict[str, str], dict[str, Any]]:
    """(url, headers, body) of a raw request, as a hand-written client would build it."""
    model = MODELS[protocol]
    if protocol == "openai":
        body: dict[str, Any] = {"model": model, "messages": MESSAGES, "stream": stream}
        return f"{base}/v1/chat/completions", {"authorization": "Bearer k"}, body
    if protocol == "anthropic":
        body = {"model": model, "messages": MESSAGES, "max_tokens": 4096, "stream": stream}
        return f"{base}/v1/messages", {"x-api-key": "k", "anthropic-version": "2023-06-01"}, body
    if protocol == "gemini":
        body = {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}
        verb = "streamGenerateContent?alt=sse" if stream else "generateContent"
        return f"{base}/v1beta/models/{model}:{verb}", {"x-goog-api-key": "k"}, body
    body = {"model": model, "messages": MESSAGES, "stream": stream}
    return f"{base}/api/chat", {}, body


def _text(protocol: str, d: dict[str, Any]) -> str:
    if protocol == "openai":
        return str(d["choices"][0]["message"]["content"])
    if protocol == "anthropic":
        return str(d["content"][0]["text"])
    if protocol == "gemini":
        return str(d["candidates"][0]["content"]["parts"][0]["text"])
    return str(d["message"]["content"])


def _delta(protocol: str, d: dict[str, Any]) -> Any:
    if protocol == "openai":
        choices = d.get("choices") or [{}]
        return choices[0].get("delta", {}).get("content")
    if protocol == "anthropic":
        return d["delta"].get("text") if d.get("type") == "content_block_delta" else None
    if protocol == "gemini":
        return d["candidates"][0]["content"]["parts"][0].get("text")
    return d["message"].get("content") or None


def _headers(extra: dict[str, str]) -> dict[str, str]:
    return {"content-type": "application/json", **extra}


def raw_plain(client: Any, protocol: str, base: str) -> str:
    url, headers, body = _raw_call(protocol, base, False)
    r = client.post(url, content=json.dumps(body).encode(), headers=_headers(headers))
    return _text(protocol, json.loads(r.content))


async def araw_plain(client: Any, protocol: str, base: str) -> str:
    url, headers, body = _raw_call(protocol, base, False)
    r = await client.post(url, content=json.dumps(body).encode(), headers=_headers(headers))
    return _text(protocol, json.loads(r.content))


def raw_stream(client: Any, protocol: str, base: str) -> int:
    """The number of content chunks read."""
    url, headers, body = _raw_call(protocol, base, True)
    n = 0
    with client.stream("POST", url, content=json.dumps(body).encode(), headers=_headers(headers)) as r:
        for line in r.iter_lines():
            if protocol == "ollama":
                if not line:
                    continue
            elif line.startswith("data: ") and line != "data: [DONE]":
                line = line[6:]
            else:
                continue
            if _delta(protocol, json.loads(line)):
                n += 1
    return n


def _route_kwargs(protocol: str, base: str, client: Any = None) -> dict[str, Any]:
    """The call's settings: the upstream, a key, and (when given) the caller's own client; the
    router's own pooled client (httpx2, what a call without ``http_client`` uses) otherwise."""
    out: dict[str, Any] = {"base_url": f"{base}/v1" if protocol == "openai" else base, "api_key": "k"}
    if client is not None:
        out["http_client"] = client
    return out


def router_plain(client: Any, protocol: str, base: str) -> str:
    resp = router.completion(
        model=f"{protocol}/{MODELS[protocol]}",
        messages=MESSAGES,
        **_route_kwargs(protocol, base, client),
    )
    return resp.choices[0].message.content or ""


async def arouter_plain(client: Any, protocol: str, base: str) -> str:
    resp = await router.acompletion(
        model=f"{protocol}/{MODELS[protocol]}",
        messages=MESSAGES,
        **_route_kwargs(protocol, base, client),
    )
    return resp.choices[0].message.content or ""


def router_stream(client: Any, protocol: str, base: str) -> int:
    n = 0
    stream = router.completion(
        model=f"{protocol}/{MODELS[protocol]}",
        messages=MESSAGES,
        stream=True,
        **_route_kwargs(protocol, base, client),
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            n += 1
    return n


# --------------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------------


def _timed(fn: Callable[[], int]) -> Run:
    c0, t0 = time.process_time(), time.perf_counter()
    units = fn()
    return time.perf_counter() - t0, time.process_time() - c0, units


def sequential(call: Callable[[], object], requests: int) -> Run:
    def run() -> int:
        for _ in range(requests):
            call()
        return requests

    return _timed(run)


def streams(call: Callable[[], int], count: int, chunks: int) -> Run:
    def run() -> int:
        total = 0
        for _ in range(count):
            got = call()
            if got != chunks:
                raise RuntimeError(f"read {got} content chunks, expected {chunks}")
            total += got
        return total

    return _timed(run)


@dataclass
class Cell:
    """One (protocol, measure, client): a run per round."""

    runs: list[Run] = field(default_factory=list)

    def rate(self, i: int) -> float:
        wall, _, units = self.runs[i]
        return units / wall

    def cpu_us(self, i: int) -> float:
        _, cpu, units = self.runs[i]
        return cpu / units * 1e6

    def load(self, i: int) -> float:
        wall, cpu, _ = self.runs[i]
        return cpu / wall


MEASURES = {  # name -> (what it is, higher is better)
    "sync_req_s": ("sequential sync req/s", True),
    "async_req_s": (f"async req/s, {IN_FLIGHT} in flight", True),
    "stream_chunks_s": ("sync stream chunks/s", True),
    "cpu_us_req": ("client CPU µs / request (sync)", False),
    "cpu_us_req_async": ("client CPU µs / request (async)", False),
    "cpu_us_chunk": ("client CPU µs / chunk (stream)", False),
}
# which timed run each measure reads, and how
SOURCE = {
    "sync_req_s": ("sync", "rate"),
    "async_req_s": ("async", "rate"),
    "stream_chunks_s": ("stream", "rate"),
    "cpu_us_req": ("sync", "cpu_us"),
    "cpu_us_req_async": ("async", "cpu_us"),
    "cpu_us_chunk": ("stream", "cpu_us"),
}


def disturbed(cells: list[Cell]) -> set[int]:
    """Rounds where any client's CPU / wall is outside 0.5x-2x of its median over the rounds."""
    out: set[int] = set()
    for cell in cells:
        loads = [cell.load(i) for i in range(len(cell.runs))]
        mid = statistics.median(loads)
        out |= {i for i, v in enumerate(loads) if mid > 0 and not 0.5 * mid <= v <= 2 * mid}
    return out


def _clients() -> dict[str, Any]:
    """Raw clients: httpx always, httpx2 when it is installed (same API)."""
    found: dict[str, Any] = {"httpx": httpx}
    with contextlib.suppress(ImportError):
        found["httpx2"] = importlib.import_module("httpx2")
    return found


def _limits(mod: Any) -> Any:
    return mod.Limits(max_connections=64, max_keepalive_connections=64)


async def _async_run(mod: Any, kind: str, protocol: str, base: str, requests: int) -> Run:
    """One async run on a fresh AsyncClient (its pool warmed first by IN_FLIGHT concurrent calls); the
    router's on its own pooled client of this event loop (new with each asyncio.run)."""
    ac = None if kind == "router" else mod.AsyncClient(limits=_limits(mod), timeout=30.0)
    try:
        one_call: Callable[[], Coroutine[Any, Any, object]]
        if kind == "router":
            one_call = functools.partial(arouter_plain, ac, protocol, base)
        else:
            one_call = functools.partial(araw_plain, ac, protocol, base)
        await asyncio.gather(*(one_call() for _ in range(IN_FLIGHT)))  # opens IN_FLIGHT connections
        gate = asyncio.Semaphore(IN_FLIGHT)

        async def one() -> None:
            async with gate:
                await one_call()

        c0, t0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(one() for _ in range(requests)))
        return time.perf_counter() - t0, time.process_time() - c0, requests
    finally:
        if ac is not None:
            await ac.aclose()


BLOCKS = 4  # turns each client takes in a round's sync and stream runs


def _rotated(order: list[str], n: int) -> list[str]:
    n %= len(order)
    return order[n:] + order[:n]


def _sum_runs(runs: list[Run]) -> Run:
    return sum(r[0] for r in runs), sum(r[1] for r in runs), sum(r[2] for r in runs)


def bench(
    protocols: list[str], rounds: int, chunks: int, requests: int, n_streams: int, base: str
) -> dict[str, Any]:
    mods = _clients()
    kinds = ["router", *(f"raw_{m}" for m in mods)]
    order = ["raw_httpx", "router", *kinds[2:]]  # the turns of a round's first block (then rotated)
    module = {k: httpx if k == "router" else mods[k[4:]] for k in kinds}
    # The router runs as an app calls it: no http_client, its own pooled (httpx2) client.
    sync_clients: dict[str, Any] = {
        k: None if k == "router" else module[k].Client(limits=_limits(module[k]), timeout=30.0) for k in kinds
    }
    cells: dict[tuple[str, str, str], Cell] = {}
    try:
        for p in protocols:
            plain: dict[str, Callable[[], object]] = {}
            stream: dict[str, Callable[[], int]] = {}
            for k, c in sync_clients.items():
                if k == "router":
                    plain[k] = functools.partial(router_plain, c, p, base)
                    stream[k] = functools.partial(router_stream, c, p, base)
                else:
                    plain[k] = functools.partial(raw_plain, c, p, base)
                    stream[k] = functools.partial(raw_stream, c, p, base)
                plain[k]()  # warm up: imports, adapters, connections
                stream[k]()
            for r in range(rounds):
                # A round's sync and stream runs are cut into blocks, the clients taking turns block
                # by block in an order that rotates, so a drift of the machine's over the round (a
                # neighbour's load, the clock) falls on every client alike, whatever its place.
                sync_runs: dict[str, list[Run]] = {k: [] for k in order}
                stream_runs: dict[str, list[Run]] = {k: [] for k in order}
                for b in range(BLOCKS):
                    for k in _rotated(order, r * BLOCKS + b):
                        sync_runs[k].append(sequential(plain[k], max(1, requests // BLOCKS)))
                        stream_runs[k].append(streams(stream[k], max(1, n_streams // BLOCKS), chunks))
                for k in order:
                    cells.setdefault((p, "sync", k), Cell()).runs.append(_sum_runs(sync_runs[k]))
                    cells.setdefault((p, "stream", k), Cell()).runs.append(_sum_runs(stream_runs[k]))
                for k in _rotated(order, r):
                    run = asyncio.run(_async_run(module[k], k, p, base, requests))
                    cells.setdefault((p, "async", k), Cell()).runs.append(run)
    finally:
        for c in sync_clients.values():
            if c is not None:
                c.close()
    return summarize(cells, protocols, kinds, rounds)


def summarize(
    cells: dict[tuple[str, str, str], Cell], protocols: list[str], kinds: list[str], rounds: int
) -> dict[str, Any]:
    raws = [k for k in kinds if k != "router"]
    out: dict[str, Any] = {"protocols": {}}
    for p in protocols:
        res: dict[str, Any] = {}
        for m, (run, how) in SOURCE.items():
            group = [cells[p, run, k] for k in kinds]
            bad = disturbed(group)
            entry: dict[str, Any] = {"disturbed_rounds": sorted(bad)}
            for k in kinds:
                vals = [getattr(cells[p, run, k], how)(i) for i in range(rounds)]
                good = [v for i, v in enumerate(vals) if i not in bad] or vals
                entry[k] = {"values": vals, "median": statistics.median(good)}
            for raw in raws:
                ratios = [
                    getattr(cells[p, run, "router"], how)(i) / getattr(cells[p, run, raw], how)(i)
                    for i in range(rounds)
                ]
                good = [v for i, v in enumerate(ratios) if i not in bad] or ratios
                entry[f"ratio_router_{raw}"] = {
                    "values": ratios,
                    "median": statistics.median(good),
                    "min": min(good),
                    "max": max(good),
                }
            res[m] = entry
        out["protocols"][p] = res
    out["raw_clients"] = raws
    return out


def print_table(result: dict[str, Any], settings: dict[str, Any]) -> None:
    raws: list[str] = result["raw_clients"]
    print(
        f"router vs raw clients on a loopback upstream: {settings['rounds']} rounds, {settings['requests']} requests"
        f" per sync/async run, {settings['streams']} streams of {settings['chunks']} chunks per stream run"
    )
    if "raw_httpx2" not in raws:
        print("(httpx2 is not installed: measured against httpx only)")
    head = f"{'protocol':<10} {'measure':<34} {'router':>10}"
    for raw in raws:
        head += f" {raw:>10} {'ratio router/' + raw[4:] + ' (min-max)':>30}"
    print(head)
    print("-" * len(head))
    notes: list[str] = []
    for p, res in result["protocols"].items():
        for m, (label, _higher) in MEASURES.items():
            e = res[m]
            line = f"{p:<10} {label:<34} {e['router']['median']:>10.1f}"
            for raw in raws:
                r = e[f"ratio_router_{raw}"]
                span = f"{r['median']:.2f} ({r['min']:.2f}-{r['max']:.2f})"
                line += f" {e[raw]['median']:>10.1f} {span:>30}"
            print(line + (" *" if e["disturbed_rounds"] else ""))
            if e["disturbed_rounds"]:
                rounds = ", ".join(str(i + 1) for i in e["disturbed_rounds"])
                notes.append(f"{p} {label}: round(s) {rounds} dropped from the medians (client CPU/wall off)")
    up = result.get("upstream")
    if up and up["requests"]:
        print(
            f"upstream process: {up['cpu_s']:.1f} s CPU for {up['requests']} requests"
            f" ({up['cpu_s'] / up['requests'] * 1e6:.0f} µs each, streams included)"
        )
    print("ratio > 1: router higher (better for rates, worse for CPU µs). Medians over undisturbed rounds.")
    for n in notes:
        print("* " + n)


def run(
    protocols: list[str], rounds: int, chunks: int, requests: int, n_streams: int
) -> dict[str, Any] | None:
    """Start the upstream, run every pair, stop it: the figures (None: the upstream did not start)."""
    ctx = multiprocessing.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    upstream = ctx.Process(target=serve, args=(chunks, send), daemon=True)
    upstream.start()
    send.close()
    try:
        if not recv.poll(30):
            return None
        port = recv.recv()
        base = f"http://127.0.0.1:{port}"
        result = bench(protocols, rounds, chunks, requests, n_streams, base)
        result["upstream"] = httpx.get(f"{base}/_stats").json()
    finally:
        upstream.terminate()
        upstream.join(5)
    result["settings"] = {
        "rounds": rounds,
        "chunks": chunks,
        "requests": requests,
        "streams": n_streams,
        "in_flight": IN_FLIGHT,
    }
    result["python"] = sys.version.split()[0]
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="tiny runs (a smoke test, not figures)")
    ap.add_argument("--rounds", type=int, default=None, help="A/B rounds (default 5; --quick 2)")
    ap.add_argument(
        "--chunks", type=int, default=None, help="content chunks per stream (default 500; --quick 20)"
    )
    ap.add_argument("--requests", type=int, default=None, help="requests per sync/async run (default 1000)")
    ap.add_argument("--streams", type=int, default=None, help="streams per stream run (default 20)")
    ap.add_argument(
        "--protocols", default=",".join(PROTOCOLS), help="comma-separated, of " + ",".join(PROTOCOLS)
    )
    ap.add_argument("--json", dest="json_out", default=None, help="write the figures to this JSON file")
    a = ap.parse_args(argv)
    protocols = [p.strip() for p in a.protocols.split(",") if p.strip()]
    unknown = [p for p in protocols if p not in PROTOCOLS]
    if unknown:
        ap.error(f"unknown protocol(s): {', '.join(unknown)}")
    rounds = a.rounds or (2 if a.quick else 5)
    chunks = a.chunks or (20 if a.quick else 500)
    requests = a.requests or (40 if a.quick else 1000)
    n_streams = a.streams or (3 if a.quick else 20)

    result = run(protocols, rounds, chunks, requests, n_streams)
    if result is None:
        print("the upstream did not start", file=sys.stderr)
        return 1
    settings = result["settings"]
    print_table(result, settings)
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump(result, f, indent=2)
        print(f"wrote {a.json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
