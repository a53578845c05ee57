"""A misbehaving HTTP server on 127.0.0.1, one fault per URL: ``http://127.0.0.1:PORT/<fault>/<call>/...``.

Raw sockets, so it can do what a polite server cannot: reset before or after the headers, stall, trickle,
send keep-alives forever, lie about gzip, promise a huge body. It counts requests per ``<call>`` so a
test can check retries. Bounded: every slow fault gives up after ``MAX_SLOW`` seconds, and the server
stops when its context manager exits.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
import socketserver
import struct
import threading
import time
from collections import Counter
from email.utils import formatdate
from typing import Any

MAX_SLOW = 5.0  # no fault keeps a connection longer than this


def _responses_message(text: str) -> dict[str, Any]:
    return {"id": "msg_1", "type": "message", "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}  # fmt: skip


# A valid answer, and one content frame and a terminal frame of a stream, per protocol (keyed by the
# provider of tests/matrix.py's PROTOCOL_MODELS that speaks it).
ANSWER = {
    "openai": {"id": "c", "object": "chat.completion", "created": 1, "model": "m",
               "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]},
    "anthropic": {"id": "m", "type": "message", "role": "assistant", "model": "m", "stop_reason": "end_turn",
                  "content": [{"type": "text", "text": "ok"}], "usage": {"input_tokens": 1, "output_tokens": 1}},
    "gemini": {"candidates": [{"index": 0, "content": {"role": "model", "parts": [{"text": "ok"}]}, "finishReason": "STOP"}]},
    "ollama": {"model": "m", "created_at": "2025-01-01T00:00:00Z", "message": {"role": "assistant", "content": "ok"},
               "done": True, "done_reason": "stop"},
    # V2ChatResponse (tests/fixtures/harvested/cohere/text.json): no model field; usage tokens + billed_units
    "cohere": {"id": "c", "finish_reason": "COMPLETE", "message": {"role": "assistant", "content": [{"type": "text", "text": "ok"}]},
               "usage": {"billed_units": {"input_tokens": 1, "output_tokens": 1}, "tokens": {"input_tokens": 1, "output_tokens": 1}}},
    # Response (tests/fixtures/harvested/openai/text_after_output_schema_tool.json)
    "openai-responses": {"id": "resp_1", "object": "response", "created_at": 1, "status": "completed", "error": None,
                         "incomplete_details": None, "model": "m", "output": [_responses_message("ok")],
                         "usage": {"input_tokens": 1, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 1,
                                   "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 2}},
}  # fmt: skip


def _named(*events: dict[str, Any]) -> bytes:
    """SSE frames with the event name on each (Anthropic, Cohere v2 and Responses all send one)."""
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


def _frames(protocol: str) -> tuple[list[bytes], bytes]:
    """(content frames, the terminal frame) of a stream."""
    if protocol == "openai":
        chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                 "choices": [{"index": 0, "delta": {"content": "tok "}, "finish_reason": None}]}  # fmt: skip
        end = {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        return [b"data: " + json.dumps(chunk).encode() + b"\n\n"], b"data: " + json.dumps(
            end
        ).encode() + b"\n\ndata: [DONE]\n\n"
    if protocol == "anthropic":
        start = {"type": "message_start", "message": {"id": "m", "model": "m", "usage": {"input_tokens": 1}}}
        delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "tok "}}
        stop = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 1}}
        ev = lambda d: f"event: {d['type']}\ndata: {json.dumps(d)}\n\n".encode()  # noqa: E731
        return [ev(start), ev(delta)], ev(stop) + ev({"type": "message_stop"})
    if protocol == "gemini":
        part = {"candidates": [{"index": 0, "content": {"role": "model", "parts": [{"text": "tok "}]}}]}
        end = {
            "candidates": [
                {"index": 0, "content": {"role": "model", "parts": [{"text": "."}]}, "finishReason": "STOP"}
            ]
        }
        return [b"data: " + json.dumps(part).encode() + b"\n\n"], b"data: " + json.dumps(
            end
        ).encode() + b"\n\n"
    if protocol == "cohere":  # tests/fixtures/harvested/cohere/stream_text.json
        message = {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}
        text = {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": "tok "}}}}
        usage = {
            "billed_units": {"input_tokens": 1, "output_tokens": 1},
            "tokens": {"input_tokens": 1, "output_tokens": 1},
        }
        return [
            _named({"id": "c", "type": "message-start", "delta": {"message": message}}),
            _named({"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "text", "text": ""}}}}),
            _named(text),
        ], _named(
            {"type": "content-end", "index": 0},
            {"type": "message-end", "delta": {"finish_reason": "COMPLETE", "usage": usage}},
        ) + b"data: [DONE]\n\n"  # fmt: skip
    if protocol == "openai-responses":  # tests/fixtures/harvested/openai/stream_text_*.json
        created = {**ANSWER["openai-responses"], "status": "in_progress", "output": [], "usage": None}
        item = {"id": "msg_1", "type": "message", "status": "in_progress", "role": "assistant", "content": []}
        part = {"type": "output_text", "text": "", "annotations": []}
        where = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
        return [
            _named({"type": "response.created", "sequence_number": 0, "response": created}),
            _named({"type": "response.output_item.added", "sequence_number": 1, "output_index": 0, "item": item}),
            _named({"type": "response.content_part.added", "sequence_number": 2, **where, "part": part}),
            _named({"type": "response.output_text.delta", "sequence_number": 3, **where, "delta": "tok "}),
        ], _named(
            {"type": "response.output_text.done", "sequence_number": 4, **where, "text": "tok "},
            {"type": "response.content_part.done", "sequence_number": 5, **where, "part": {**part, "text": "tok "}},
            {"type": "response.output_item.done", "sequence_number": 6, "output_index": 0, "item": _responses_message("tok ")},
            {"type": "response.completed", "sequence_number": 7,
             "response": {**ANSWER["openai-responses"], "output": [_responses_message("tok ")]}},
        )  # fmt: skip
    line = {
        "model": "m",
        "created_at": "2025-01-01T00:00:00Z",
        "message": {"role": "assistant", "content": "tok "},
        "done": False,
    }
    end = {**line, "message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "stop"}
    return [json.dumps(line).encode() + b"\n"], json.dumps(end).encode() + b"\n"


def _protocol(path: str) -> str:
    if path.endswith("/api/chat"):
        return "ollama"
    if path.endswith("/v2/chat"):
        return "cohere"
    if path.endswith("/responses"):
        return "openai-responses"
    if "generateContent" in path or "streamGenerateContent" in path:
        return "gemini"
    if path.endswith("/v1/messages"):
        return "anthropic"
    return "openai"


# Each protocol's error envelope, as its provider documents (and the recordings show) it.
_GOOGLE_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                  429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}  # fmt: skip
_ANTHROPIC_TYPE = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                   404: "not_found_error", 429: "rate_limit_error", 529: "overloaded_error"}  # fmt: skip


def error_body(protocol: str, status: int, message: str) -> bytes:
    """An error answer's body in ``protocol``'s own envelope."""
    if protocol in ("openai", "openai-responses"):
        # https://platform.openai.com/docs/guides/error-codes (tests/fixtures/harvested/openai/error_429_*.json)
        kind = "requests" if status == 429 else ("server_error" if status >= 500 else "invalid_request_error")
        code = "rate_limit_exceeded" if status == 429 else None
        body: Any = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    elif protocol == "anthropic":  # https://docs.anthropic.com/en/api/errors
        kind = _ANTHROPIC_TYPE.get(status, "api_error")
        body = {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_1"}
    elif protocol == "gemini":  # https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes
        body = {
            "error": {"code": status, "message": message, "status": _GOOGLE_STATUS.get(status, "UNKNOWN")}
        }
    elif protocol == "ollama":  # https://github.com/ollama/ollama/blob/main/docs/api.md#errors
        body = {"error": message}
    else:  # cohere: {"id", "message"}, no error object (tests/fixtures/real/cohere/error_401.json)
        body = {"id": "e", "message": message}
    return json.dumps(body).encode()


def _head(status: int, headers: dict[str, str] | None = None, length: int | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status} X", "connection: close"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if length is not None:
        lines.append(f"content-length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _whole(status: int, body: bytes, ctype: str = "application/json", **headers: str) -> bytes:
    return _head(status, {"content-type": ctype, **headers}, len(body)) + body


class _Handler(socketserver.BaseRequestHandler):
    server: FaultServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(MAX_SLOW)
        data = b""
        while b"\r\n\r\n" not in data:
            more = sock.recv(65536)
            if not more:
                return
            data += more
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        path = lines[0].split(" ")[1].split("?")[0]
        length = next((int(h.split(":")[1]) for h in lines[1:] if h.lower().startswith("content-length:")), 0)
        while len(body) < length:
            more = sock.recv(65536)
            if not more:
                return
            body += more
        _, fault, call, *_ = path.split("/")
        with self.server.lock:
            self.server.hits[call] += 1
        try:
            request = json.loads(body) if body else {}
        except ValueError:
            request = {}
        protocol = _protocol(path)
        stream = bool(request.get("stream")) or "streamGenerateContent" in path
        with contextlib.suppress(OSError):  # the client gave up: that is what a deadline does
            self.fault(sock, fault, protocol, stream)

    def _send(self, sock: socket.socket, data: bytes) -> None:
        sock.sendall(data)

    def _reset(self, sock: socket.socket) -> None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = RST
        sock.close()

    def _slow(self, sock: socket.socket, piece: bytes, every: float) -> None:
        end = time.monotonic() + MAX_SLOW
        while time.monotonic() < end and not self.server.stopping.is_set():
            sock.sendall(piece)
            time.sleep(every)

    def fault(self, sock: socket.socket, fault: str, protocol: str, stream: bool) -> None:
        frames, terminal = _frames(protocol)
        ctype = "application/x-ndjson" if protocol == "ollama" else "text/event-stream"
        ok_body = b"".join(frames) + terminal if stream else json.dumps(ANSWER[protocol]).encode()
        ok_type = ctype if stream else "application/json"
        if fault == "ok":
            self._send(sock, _whole(200, ok_body, ok_type))
        elif fault == "reset_before":
            self._reset(sock)
        elif fault == "reset_after_headers":
            self._send(sock, _head(200, {"content-type": ok_type}, 10_000) + ok_body[:5])
            self._reset(sock)
        elif fault == "truncated":
            cut = b"".join(frames) if stream else ok_body[: len(ok_body) // 2]
            self._send(sock, _head(200, {"content-type": ok_type}) + cut)  # no length: EOF ends it
            sock.shutdown(socket.SHUT_WR)
        elif fault == "stall_headers":
            self.server.stopping.wait(MAX_SLOW)
        elif fault == "stall_body":
            self._send(sock, _head(200, {"content-type": ok_type}) + (frames[0] if stream else ok_body[:3]))
            self.server.stopping.wait(MAX_SLOW)
        elif fault == "trickle":
            self._send(sock, _head(200, {"content-type": ok_type}))
            self._slow(sock, b" " if not stream else (b"\n" if protocol == "ollama" else b":\n"), 0.05)
        elif (
            fault == "trickle_then_stall"
        ):  # bytes for a while, then nothing: the read limit alone would overshoot
            self._send(sock, _head(200, {"content-type": ok_type}))
            end = time.monotonic() + 0.7
            while time.monotonic() < end:
                sock.sendall(b" " if not stream else (b"\n" if protocol == "ollama" else b":\n"))
                time.sleep(0.05)
            self.server.stopping.wait(MAX_SLOW)
        elif fault == "keepalive":
            self._send(sock, _head(200, {"content-type": ok_type}))
            self._slow(sock, b"\n" if protocol == "ollama" else b": ping\n\n", 0.1)
        elif fault == "invalid_json":
            self._send(sock, _whole(200, b"{not json" if not stream else b"data: {not json\n\n", ok_type))
        elif fault == "deep_json":
            deep = b"[" * 100_000 + b"]" * 100_000
            self._send(sock, _whole(200, deep if not stream else b"data: " + deep + b"\n\n", ok_type))
        elif fault == "wrong_shape":
            self._send(sock, _whole(200, b"[1, 2, 3]" if not stream else b"data: [1, 2, 3]\n\n", ok_type))
        elif fault == "html_500":
            self._send(sock, _whole(500, b"<html><body>Bad gateway</body></html>", "text/html"))
        elif fault.startswith(("status_", "retry_")):
            status = int(fault.split("_")[1])
            headers = {
                "retry_429_seconds": {"retry-after": "0"},
                "retry_429_fraction": {"retry-after": "0.05"},
                "retry_429_ms": {"retry-after-ms": "50"},
                "retry_429_date": {"retry-after": formatdate(time.time(), usegmt=True)},
                "retry_429_long": {"retry-after": "3600"},
                "retry_503_seconds": {"retry-after": "0"},
                "retry_529_seconds": {"retry-after": "0"},
            }.get(fault, {})
            self._send(sock, _whole(status, error_body(protocol, status, "try later"), **headers))
        elif fault == "gzip_garbage":
            self._send(
                sock,
                _head(200, {"content-type": ok_type, "content-encoding": "gzip"}, 20)
                + b"\x1f\x8bthis is not gzip",
            )
        elif fault == "gzip_ok":
            packed = gzip.compress(ok_body)
            self._send(
                sock, _head(200, {"content-type": ok_type, "content-encoding": "gzip"}, len(packed)) + packed
            )
        elif fault == "huge_body":
            self._send(sock, _head(200, {"content-type": ok_type}, 1 << 30))
            self._slow(sock, b" " * 65536, 0.0)
        elif fault == "huge_error":  # an error answer that never ends: read capped, not whole
            self._send(sock, _head(400, {"content-type": "application/json"}, 1 << 30))
            self._slow(sock, b" " * 65536, 0.0)
        elif fault == "error_then_reset":
            self._send(sock, _head(400, {"content-type": "application/json"}, 500) + b'{"error": {"mes')
            self._reset(sock)
        elif fault == "error_then_stall":
            self._send(sock, _head(400, {"content-type": "application/json"}, 500) + b'{"error": {"mes')
            self.server.stopping.wait(MAX_SLOW)
        else:
            self._send(sock, _whole(404, b"{}"))


class FaultServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()
        self._thread.join(5)
