"""Graceful shutdown of a real ``router serve`` process (SIGTERM, as a service manager sends it):
a stream in flight finishes within ``shutdown_grace``; one that would outlast it ends with a terminal
error event; the process exits either way and nothing hangs."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from gateway_env import gateway_process
from loopback import Loopback
from loopback import Reply


def _sse(n: int) -> Reply:
    frames = [
        b"data: "
        + json.dumps(
            {
                "id": "chatcmpl-s",
                "object": "chat.completion.chunk",
                "created": 1,
                "model": "gpt-4o-mini",
                "choices": [{"index": 0, "delta": {"content": f"w{i} "}, "finish_reason": None}],
            }
        ).encode()
        + b"\n\n"
        for i in range(n)
    ]
    end = {
        "id": "chatcmpl-s",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
    }
    frames += [b"data: " + json.dumps(end).encode() + b"\n\n", b"data: [DONE]\n\n"]
    return Reply(200, {"content-type": "text/event-stream"}, frames, piece_delay=0.1)


@pytest.fixture()
def upstream() -> Iterator[Loopback]:
    with Loopback() as server:
        yield server


def _config(folder: Path, upstream: Loopback, grace: float) -> Path:
    path = folder / "router.yaml"
    path.write_text(
        "config_version: 1\n"
        "defaults: {max_retries: 0}\n"
        f"providers:\n  openai: {{base_url: '{upstream.url}', api_key_env: GW_UPSTREAM_KEY}}\n"
        "models:\n  - {name: mini, model: openai/gpt-4o-mini}\n"
        f"gateway: {{shutdown_grace: {grace}}}\n"
    )
    return path


def _stream_then_stop(url: str, proc: object) -> tuple[list[str], float, float]:
    """Read a stream; SIGTERM the server after the third frame. The lines read, the seconds from the
    signal to the stream's end and to the process's exit."""
    lines: list[str] = []
    signalled: list[float] = []

    def stop_soon() -> None:
        while len([x for x in lines if x.startswith("data: {")]) < 3:
            time.sleep(0.01)
        signalled.append(time.monotonic())
        proc.send_signal(signal.SIGTERM)  # type: ignore[attr-defined]

    killer = threading.Thread(target=stop_soon, daemon=True)
    killer.start()
    body = {"model": "mini", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=30) as r:
        assert r.status_code == 200
        try:
            for line in r.iter_lines():
                if line:
                    lines.append(line)
        except httpx.RemoteProtocolError:  # a server that cut the stream: the test below says so
            lines.append("<cut>")
    ended = time.monotonic()
    killer.join(5)
    proc.wait(timeout=20)  # type: ignore[attr-defined]
    exited = time.monotonic()
    return lines, ended - signalled[0], exited - signalled[0]


def test_a_stream_in_flight_finishes_within_the_grace(tmp_path: Path, upstream: Loopback) -> None:
    upstream.replies.append(_sse(20))  # 2 s of frames
    env = {"GW_UPSTREAM_KEY": "sk-upstream-SECRET"}
    with gateway_process(_config(tmp_path, upstream, 10), env=env) as (url, proc):
        lines, to_end, to_exit = _stream_then_stop(url, proc)
    data = [x for x in lines if x.startswith("data: {")]
    assert len(data) >= 21  # every content frame and the finish
    assert lines[-1] == "data: [DONE]"
    assert "<cut>" not in lines
    assert to_end < 5 and to_exit < 10


def test_a_stream_longer_than_the_grace_ends_with_an_error_event(tmp_path: Path, upstream: Loopback) -> None:
    upstream.replies.append(_sse(100))  # 10 s of frames, 1 s of grace
    env = {"GW_UPSTREAM_KEY": "sk-upstream-SECRET"}
    with gateway_process(_config(tmp_path, upstream, 1), env=env) as (url, proc):
        lines, to_end, to_exit = _stream_then_stop(url, proc)
    assert "<cut>" not in lines  # the stream was ended, not cut
    last = json.loads(lines[-1].removeprefix("data: "))
    assert "error" in last and last["error"]["type"]  # OpenAI's in-stream error shape
    assert "shut" in last["error"]["message"]
    assert to_end < 4 and to_exit < 8
