"""``mock_response=``: LiteLLM's canned answer, with no network call.

``completion(model=..., messages=..., mock_response="Hi")`` checks the request as a real call would
(the model must resolve, malformed fields and unknown names are the same typed errors, the receipt
records what the spec would drop) and returns a ``ChatCompletion`` (or, with ``stream=True``, a
stream) whose answer is that text; an exception instance given as ``mock_response`` is raised
instead. No API key is needed.
"""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from collections.abc import AsyncGenerator
from collections.abc import Generator
from collections.abc import Mapping
from typing import TYPE_CHECKING
from typing import Any

from router._exceptions import BadRequestError
from router._exceptions import ConfigError
from router._registry import resolve
from router._types import ChatCompletion
from router._types import ChatCompletionChunk
from router._types import Choice
from router._types import ChunkChoice
from router._types import Delta
from router._types import Message
from router._types import Receipt
from router._types import Usage

if TYPE_CHECKING:
    from router._adapter import Adapter

__all__ = ["MockAnswer", "mock_answer"]

_PIECE = re.compile(r"\s*\S+\s*|\s+")


class MockAnswer:
    """What a mocked call answers: the whole completion, or its chunks."""

    def __init__(self, adapter: Adapter, receipt: Receipt, request: Mapping[str, Any], text: str) -> None:
        self.adapter = adapter
        self.receipt = receipt
        self.text = text
        self.id = f"chatcmpl-mock-{uuid.uuid4().hex[:24]}"
        self.created = int(time.time())
        self.model = receipt.model
        from router._tokens import _texts  # the count_tokens approximation, without tiktoken

        prompt = sum(-(-len(t) // 4) for t in _texts(request.get("messages") or ()))
        prompt += 3 * len(request.get("messages") or ()) + 3
        completion = -(-len(text) // 4)
        self.usage = Usage(
            prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
        )
        options = request.get("stream_options")
        self.include_usage = isinstance(options, Mapping) and bool(options.get("include_usage"))

    def completion(self) -> ChatCompletion:
        message = Message(content=self.text)
        choice = Choice(index=0, message=message, finish_reason="stop", native_finish_reason="stop")
        return ChatCompletion(
            id=self.id,
            created=self.created,
            model=self.model,
            choices=[choice],
            usage=self.usage,
            router=self.receipt,
        )

    def chunks(self) -> list[ChatCompletionChunk]:
        def chunk(delta: Delta, finish: Any = None) -> ChatCompletionChunk:
            native = None if finish is None else str(finish)
            choice = ChunkChoice(index=0, delta=delta, finish_reason=finish, native_finish_reason=native)
            return ChatCompletionChunk(id=self.id, created=self.created, model=self.model, choices=[choice])

        out = [chunk(Delta(role="assistant", content=""))]
        out.extend(chunk(Delta(content=piece)) for piece in _PIECE.findall(self.text))
        out.append(chunk(Delta(), "stop"))
        if self.include_usage:
            out.append(
                ChatCompletionChunk(
                    id=self.id, created=self.created, model=self.model, choices=[], usage=self.usage
                )
            )
        return out

    def iter_chunks(self) -> Generator[ChatCompletionChunk, None, None]:
        yield from self.chunks()

    async def aiter_chunks(self) -> AsyncGenerator[ChatCompletionChunk, None]:
        for c in self.chunks():
            yield c


def mock_answer(model: str, request: dict[str, Any], mock: Any) -> MockAnswer:
    """Check the request as a real call would, then the answer ``mock`` makes (or raise it)."""
    if not isinstance(mock, str | BaseException):
        raise BadRequestError(
            f"mock_response must be a string or an exception instance, got {type(mock).__name__}",
            param="mock_response",
        )
    adapter, name = resolve(model)
    request["model"] = name
    request.pop("http_client", None)
    receipt = Receipt(provider=adapter.id, model=adapter.aliases.get(name, name))
    # No key and no URL are needed to mock: stand-ins let the request be translated all the way; a
    # variable of the provider's URL or headers left unset (ConfigError) does not matter either.
    with contextlib.suppress(ConfigError):
        adapter.build_request(
            request,
            api_key=request.get("api_key") or "mock-key",
            base_url=request.get("base_url") or "http://mock.invalid",
            strict=bool(request.get("strict", False)),
            receipt=receipt,
        )
    if isinstance(mock, BaseException):
        raise mock
    return MockAnswer(adapter, receipt, request, mock)
