"""A misbehaving OpenAI-compatible (and Anthropic) upstream on 127.0.0.1 for the resilience scenarios.

Raw sockets, one behaviour per URL tag: ``http://127.0.0.1:PORT/<tag>/v1/chat/completions``. Each
request to a tag is counted (``server.count(tag)``), and its behaviour gets its 1-based number, so a
behaviour can fail the first N requests and then answer. Bounded: no behaviour holds a connection
longer than ``MAX_SLOW`` seconds, and the server stops when its context manager exits.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

MAX_SLOW = 6.0

Behaviour = Callable[["Conn", int], None]


def answer(text: str = "ok", model: str = "m") -> dict[str, Any]:
    return {
        "id": "c1",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
    }


def chunk(delta: dict[str, Any], finish: str | None = None, usage: dict[str, int] | None = None) -> bytes:
    body: dict[str, Any] = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if usage is not None:
        body["usage"] = usage
    return b"data: " + json.dumps(body).encode() + b"\n\n"


ROLE = chunk({"role": "assistant"})
DONE = b"data: [DONE]\n\n"


def tokens(n: int, start: int = 0) -> list[bytes]:
    return [chunk({"content": f"t{i} "}) for i in range(start, start + n)]


def end_frames() -> list[bytes]:
    return [chunk({}, "stop", {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}), DONE]


class Conn:
    """One accepted connection: the request read, and ways to answer (well or badly)."""

    def __init__(self, sock: socket.socket, path: str, body: bytes) -> None:
        self.sock = sock
        self.path = path
        self.body = body

    @property
    def stream(self) -> bool:
        try:
            return bool(json.loads(self.body or b"{}").get("stream"))
        except ValueError:
            return False

    def send(self, data: bytes) -> None:
        with contextlib.suppress(OSError):
            self.sock.sendall(data)

    def head(self, status: int, headers: dict[str, str] | None = None, length: int | None = None) -> None:
        lines = [f"HTTP/1.1 {status} X"]
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        if length is not None:
            lines.append(f"content-length: {length}")
        lines.append("connection: close")
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode())

    def json(self, status: int, body: Any, **headers: str) -> None:
        data = json.dumps(body).encode()
        self.head(status, {"content-type": "application/json", **headers}, len(data))
        self.send(data)

    def error(
        self, status: int, message: str, code: str | None = None, type_: str = "server_error", **headers: str
    ) -> None:
        self.json(
            status, {"error": {"message": message, "type": type_, "param": None, "code": code}}, **headers
        )

    def sse(self, frames: list[bytes], gap: float = 0.0) -> None:
        """An SSE answer, the connection closed after it (no content-length: read until EOF)."""
        self.head(200, {"content-type": "text/event-stream"})
        for f in frames:
            self.send(f)
            if gap:
                time.sleep(gap)

    def ok(self, text: str = "ok") -> None:
        if self.stream:
            self.sse([ROLE, *[chunk({"content": w + " "}) for w in text.split()], *end_frames()])
        else:
            self.json(200, answer(text))

    def sleep(self, seconds: float) -> None:
        time.sleep(min(seconds, MAX_SLOW))

    def reset(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.sock.close()


class ScenarioServer:
    def __init__(self, behaviours: dict[str, Behaviour]) -> None:
        self.behaviours = behaviours
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(128)
        self._sock.settimeout(0.1)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._main = threading.Thread(target=self._serve, daemon=True)

    @property
    def port(self) -> int:
        port: int = self._sock.getsockname()[1]
        return port

    def url(self, tag: str) -> str:
        return f"http://127.0.0.1:{self.port}/{tag}/v1"

    def count(self, tag: str) -> int:
        with self._lock:
            return self.counts[tag]

    def __enter__(self) -> ScenarioServer:
        self._main.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._main.join(timeout=5)
        for t in self._threads:
            t.join(timeout=MAX_SLOW + 1)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._sock.accept()
            except OSError:
                continue
            t = threading.Thread(target=self._handle, args=(sock,), daemon=True)
            self._threads.append(t)
            t.start()

    def _handle(self, sock: socket.socket) -> None:
        sock.settimeout(MAX_SLOW)
        try:
            data = b""
            while b"\r\n\r\n" not in data:
                piece = sock.recv(65536)
                if not piece:
                    return
                data += piece
            head, _, body = data.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            length = 0
            for line in lines[1:]:
                k, _, v = line.partition(":")
                if k.strip().lower() == "content-length":
                    length = int(v.strip())
            while len(body) < length:
                piece = sock.recv(65536)
                if not piece:
                    break
                body += piece
            tag = path.strip("/").split("/")[0]
            with self._lock:
                self.counts[tag] += 1
                n = self.counts[tag]
            behaviour = self.behaviours.get(tag)
            conn = Conn(sock, path, body)
            if behaviour is None:
                conn.error(404, f"no behaviour {tag!r}")
            else:
                behaviour(conn, n)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sock.close()
