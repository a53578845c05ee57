"""A real HTTP server on 127.0.0.1 for tests: replays scripted answers, byte pieces flushed one by one
so the client sees awkward boundaries (mid-line, mid-CRLF, mid-UTF-8 character).

Bounded by construction: it answers only what it is given (404 afterwards) and stops when the
context manager exits.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from dataclasses import field
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    pieces: list[bytes] = field(default_factory=list)  # written and flushed one at a time
    delay: float = 0.0  # seconds before answering
    piece_delay: float = 0.001

    @classmethod
    def json(cls, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
        return cls(
            status, {"content-type": "application/json", **(headers or {})}, [json.dumps(body).encode()]
        )


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


def split_awkwardly(data: bytes, max_pieces: int = 600) -> list[bytes]:
    """Cut before and inside every line break, inside every multi-byte UTF-8 character, and every 7
    bytes; long bodies keep an evenly spread subset of those cuts (at most ``max_pieces`` pieces, so a
    100 kB stream is not thousands of flushed writes)."""
    cuts = set(range(7, len(data), 7))
    for i, b in enumerate(data):
        if b in (10, 13):
            cuts.update((i, i + 1))
        if b >= 0xC0:  # the lead byte of a multi-byte character: cut right after it
            cuts.add(i + 1)
    inner = sorted(c for c in cuts if 0 < c < len(data))
    if len(inner) > max_pieces:
        step = len(inner) / max_pieces
        inner = [inner[int(k * step)] for k in range(max_pieces)]
    points = [0, *inner, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(points) if b > a]


class Loopback:
    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.seen: list[Seen] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.seen.append(
                    Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                reply = outer.replies.popleft() if outer.replies else Reply(404, {}, [b"no scripted reply"])
                if reply.delay:
                    time.sleep(reply.delay)
                payload = b"".join(reply.pieces)
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", str(len(payload)))
                # One request per connection: a pooled keep-alive connection must never reach a
                # handler thread that outlives the server.
                self.send_header("connection", "close")
                self.close_connection = True
                self.end_headers()
                try:
                    for piece in reply.pieces:
                        self.wfile.write(piece)
                        self.wfile.flush()
                        if reply.piece_delay:
                            time.sleep(reply.piece_delay)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_POST = _serve
            do_GET = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> Loopback:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
