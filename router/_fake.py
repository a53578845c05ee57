"""An in-process OpenAI-compatible server, as an httpx transport: the ``fake`` provider's far end.

Requests still go through the generated adapter and real HTTP objects; only the socket is missing.
Replies are chosen by model name (see specs/fake.yaml); ``script()`` programs more.

>>> import router, router.fake
>>> router.fake.script("greeter", "Hello!", "Hello again!")
>>> router.completion(model="fake/greeter", messages=[{"role": "user", "content": "hi"}]).choices[0].message.content
'Hello!'
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from collections.abc import Iterator
from typing import Any

from router._httpx import family
from router._httpx import httpx

# What the far end answers: status, headers, and a body or the frames of a stream. The transport
# makes it a Response of the asking client's library (httpx2, or a caller's httpx 0.28).
_Answer = tuple[int, dict[str, str], "bytes | list[bytes]"]

__all__ = ["FakeTransport", "reset", "script"]

_LOREM = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore "
    "et dolore magna aliqua."
)
_scripts: dict[str, deque[str]] = {}
_lock = threading.Lock()


def script(model: str, *replies: str) -> None:
    """Queue replies for ``fake/<model>``; each request takes the next one (the last one repeats)."""
    with _lock:
        _scripts[model] = deque(replies)


def reset() -> None:
    with _lock:
        _scripts.clear()


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _reply(model: str, body: dict[str, Any]) -> tuple[str, str]:
    with _lock:
        queue = _scripts.get(model)
        if queue:
            return (queue.popleft() if len(queue) > 1 else queue[0]), "stop"
    if model == "echo":
        users = [m for m in body.get("messages") or [] if isinstance(m, dict) and m.get("role") == "user"]
        return (_text(users[-1].get("content")) if users else ""), "stop"
    if model == "lorem":
        words = _LOREM.split()
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        if isinstance(limit, int) and limit < len(words):
            return " ".join(words[:limit]), "length"
        return _LOREM, "stop"
    raise KeyError(model)


def _tokens(text: str) -> int:
    return max(1, len(text.split())) if text else 0


def _error(status: int, message: str, code: str | None = None) -> _Answer:
    kinds = {
        400: "invalid_request_error",
        401: "authentication_error",
        404: "not_found_error",
        429: "rate_limit_error",
    }
    body = {
        "error": {"message": message, "type": kinds.get(status, "server_error"), "param": None, "code": code}
    }
    headers = {"content-type": "application/json", "x-request-id": "req_fake"}
    if status == 429:
        headers["retry-after"] = "0"
    return status, headers, json.dumps(body).encode()


def _respond(request: Any) -> _Answer:
    if request.method == "GET" and request.url.path.endswith("/models"):
        with _lock:
            ids = ["echo", "lorem", *sorted(_scripts)]
        listing = {"object": "list", "data": [{"id": i, "object": "model", "owned_by": "fake"} for i in ids]}
        return 200, {"content-type": "application/json"}, json.dumps(listing).encode()
    if not request.url.path.endswith("/chat/completions"):
        return _error(404, f"no route for {request.method} {request.url.path}")
    try:
        body = json.loads(request.content)
    except ValueError:
        return _error(400, "request body is not JSON")
    model = str(body.get("model", ""))
    if model.startswith("error-") and model[6:].isdigit():
        return _error(int(model[6:]), f"fake error {model[6:]} as requested by the model name")
    try:
        text, finish = _reply(model, body)
    except KeyError:
        return _error(404, f"The model `{model}` does not exist on the fake provider", "model_not_found")
    prompt = sum(_tokens(_text(m.get("content"))) for m in body.get("messages") or [] if isinstance(m, dict))
    usage = {
        "prompt_tokens": prompt,
        "completion_tokens": _tokens(text),
        "total_tokens": prompt + _tokens(text),
    }
    created = int(time.time())
    rid = f"chatcmpl-fake{created}"
    if not body.get("stream"):
        payload = {
            "id": rid, "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
            "usage": usage,
        }  # fmt: skip
        return 200, {"content-type": "application/json"}, json.dumps(payload).encode()
    want_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    frames = _stream_frames(rid, created, model, text, finish, usage if want_usage else None)
    return 200, {"content-type": "text/event-stream"}, frames


def _stream_frames(
    rid: str, created: int, model: str, text: str, finish: str, usage: dict[str, int] | None
) -> list[bytes]:
    def frame(delta: dict[str, Any], finish_reason: str | None = None, **extra: Any) -> bytes:
        chunk = {"id": rid, "object": "chat.completion.chunk", "created": created, "model": model,
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}], **extra}  # fmt: skip
        return b"data: " + json.dumps(chunk).encode() + b"\n\n"

    frames = [frame({"role": "assistant", "content": ""})]
    words = text.split(" ")
    frames += [frame({"content": w if i == 0 else " " + w}) for i, w in enumerate(words) if text]
    frames.append(frame({}, finish))
    if usage is not None:
        chunk = {
            "id": rid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [],
            "usage": usage,
        }
        frames.append(b"data: " + json.dumps(chunk).encode() + b"\n\n")
    frames.append(b"data: [DONE]\n\n")
    return frames


def _frames_class(mod: Any) -> Any:
    """The byte-stream class of a stream's frames for the client library ``mod``."""
    cls = _frame_classes.get(mod.__name__)
    if cls is None:

        class _Frames(mod.SyncByteStream, mod.AsyncByteStream):  # type: ignore[misc]
            def __init__(self, frames: list[bytes]) -> None:
                self._frames = frames

            def __iter__(self) -> Iterator[bytes]:
                yield from self._frames

            async def __aiter__(self) -> AsyncIterator[bytes]:
                for f in self._frames:
                    yield f

        cls = _frame_classes[mod.__name__] = _Frames
    return cls


_frame_classes: dict[str, Any] = {}


def _response(request: Any) -> Any:
    mod = family(request)
    status, headers, body = _respond(request)
    if isinstance(body, list):
        return mod.Response(status, headers=headers, stream=_frames_class(mod)(body))
    return mod.Response(status, headers=headers, content=body)


class FakeTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Answers ``fake://`` requests in-process, like ``httpx.MockTransport`` with a built-in handler.
    It can be mounted in an httpx2 client or in an httpx 0.28 one (it answers in the asking client's
    library)."""

    def handle_request(self, request: Any) -> Any:
        request.read()
        return _response(request)

    async def handle_async_request(self, request: Any) -> Any:
        await request.aread()
        return _response(request)
