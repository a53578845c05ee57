"""Inbound OpenAI Chat Completions (``POST /v1/chat/completions``, ``GET /v1/models``).

The unified shape *is* this API's shape, so a request's fields go to the Router as they are (a field
the target provider cannot take raises ``UnsupportedParamsError`` with ``strict``, or is dropped and
named in the ``x-router-receipt`` header, never silently) and answers leave as the router's
``to_dict()`` wire form. Reference: https://platform.openai.com/docs/api-reference/chat
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from router._types import ChatCompletion
from router._types import ChatCompletionChunk
from router.gateway._errors import GatewayError

__all__ = ["DONE", "Inbound", "chunk_frame", "completion_body", "error_body", "error_frame", "parse_request"]

DONE = b"data: [DONE]\n\n"

# OpenAI's error ``type`` per gateway kind (https://platform.openai.com/docs/guides/error-codes).
_TYPES = {
    "bad_request": "invalid_request_error",
    "request_too_large": "invalid_request_error",
    "authentication": "authentication_error",
    "permission_denied": "permission_error",
    "not_found": "invalid_request_error",
    "rate_limit": "rate_limit_error",
    "quota_exceeded": "insufficient_quota",
}


@dataclass
class Inbound:
    model: str
    messages: list[Any]
    stream: bool
    kwargs: dict[str, Any]
    wants_usage: bool  # the caller asked for the usage chunk (stream_options.include_usage)


def _dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def parse_request(body: Any) -> Inbound:
    if not isinstance(body, dict):
        raise GatewayError(400, "bad_request", "the request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise GatewayError(400, "bad_request", "'model' must be a non-empty string", param="model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise GatewayError(400, "bad_request", "'messages' must be a non-empty array", param="messages")
    stream = body.get("stream", False)
    if stream is None:
        stream = False
    if not isinstance(stream, bool):
        raise GatewayError(400, "bad_request", "'stream' must be a boolean", param="stream")
    kwargs = {k: v for k, v in body.items() if k not in ("model", "messages", "stream")}
    options = kwargs.get("stream_options")
    wants_usage = isinstance(options, dict) and bool(options.get("include_usage"))
    return Inbound(model, messages, stream, kwargs, wants_usage)


def completion_body(resp: ChatCompletion, model: str) -> bytes:
    data = resp.to_dict()
    data.pop("router", None)  # the receipt travels in the x-router-* headers
    data["model"] = model if not data.get("model") else data["model"]
    return _dumps(data)


def chunk_frame(chunk: ChatCompletionChunk) -> bytes:
    data = chunk.to_dict()
    data.pop("router", None)
    return b"data: " + _dumps(data) + b"\n\n"


def error_body(err: GatewayError) -> bytes:
    default = "server_error" if err.status >= 500 else "invalid_request_error"
    error: dict[str, Any] = {
        "message": err.message,
        "type": _TYPES.get(err.kind, default),
        "param": err.param,
        "code": err.kind,
    }
    if err.upstream:
        error["upstream"] = err.upstream
    return _dumps({"error": error})


def error_frame(err: GatewayError) -> bytes:
    """A stream's terminal error event (OpenAI sends ``data: {"error": ...}`` and ends the stream)."""
    return b"data: " + error_body(err) + b"\n\n"
