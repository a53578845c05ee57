"""Fold a stream of ChatCompletionChunk into the ChatCompletion the same answer gives without streaming.

>>> chunks = list(router.completion(model="fake/echo", messages=msgs, stream=True))
>>> router.accumulate(chunks).choices[0].message.content
'Hi'
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from router._types import AnyToolCall
from router._types import ChatCompletion
from router._types import ChatCompletionChunk
from router._types import Choice
from router._types import ChunkChoice
from router._types import CustomCall
from router._types import CustomToolCall
from router._types import FunctionCall
from router._types import Message
from router._types import Receipt
from router._types import ToolCall
from router._types import Usage

__all__ = ["StreamAccumulator", "accumulate"]


@dataclass
class _Call:
    id: str | None = None
    name: str = ""
    arguments: list[str] = field(default_factory=list)
    custom: bool = False


@dataclass
class _ChoiceState:
    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    reasoning_blocks: list[dict[str, Any]] = field(default_factory=list)
    refusal: list[str] = field(default_factory=list)
    calls: dict[int, _Call] = field(default_factory=dict)
    finish_reason: Any = None
    native_finish_reason: str | None = None
    saw_content: bool = False
    function_name: str | None = None
    function_args: list[str] | None = None
    logprobs: dict[str, list[Any]] | None = None


class StreamAccumulator:
    """Feed chunks with ``add()``; ``result()`` gives the ChatCompletion so far."""

    def __init__(self, receipt: Receipt | None = None) -> None:
        self.id = ""
        self.model = ""
        self.created = 0
        self.usage: Usage | None = None
        self.system_fingerprint: str | None = None
        self.receipt = receipt
        self._choices: dict[int, _ChoiceState] = {}
        self._known = False  # id, model and created all set

    def add(self, chunk: ChatCompletionChunk) -> None:
        if not self._known:  # until id, model and created are all known (usually the first chunk)
            self.id = self.id or chunk.id
            self.model = self.model or chunk.model
            self.created = self.created or chunk.created
            self._known = bool(self.id and self.model and self.created)
        if chunk.usage is not None:
            self.usage = chunk.usage
        if chunk.system_fingerprint is not None:
            self.system_fingerprint = chunk.system_fingerprint
        states = self._choices
        for c in chunk.choices:
            st = states.get(c.index)
            if st is None:  # a new state only for a new choice, not one per chunk
                st = states[c.index] = _ChoiceState()
            d = c.delta
            if d.content is not None:
                st.saw_content = True
                st.content.append(d.content)
            if (  # most chunks: a piece of text and nothing else
                d.reasoning_content
                or d.reasoning_blocks
                or d.refusal is not None
                or d.tool_calls
                or d.function_call is not None
                or c.logprobs
                or c.finish_reason is not None
                or c.native_finish_reason is not None
            ):
                _add_rest(st, c)

    def result(self) -> ChatCompletion:
        choices = []
        for index in sorted(self._choices):
            st = self._choices[index]
            calls: list[AnyToolCall] = [
                CustomToolCall(
                    id=call.id or f"call_{i}", custom=CustomCall(call.name, "".join(call.arguments))
                )
                if call.custom
                else ToolCall(
                    id=call.id or f"call_{i}",
                    function=FunctionCall(name=call.name, arguments="".join(call.arguments)),
                )
                for i, call in sorted(st.calls.items())
            ]
            content = "".join(st.content)
            message = Message(
                content=content if content or (st.saw_content and not calls) else None,
                tool_calls=calls or None,
                reasoning_content="".join(st.reasoning) or None,
                reasoning_blocks=st.reasoning_blocks or None,
                function_call=None
                if st.function_args is None
                else FunctionCall(name=st.function_name or "", arguments="".join(st.function_args) or "{}"),
                refusal="".join(st.refusal) if st.refusal else None,
            )
            choices.append(
                Choice(
                    index=index,
                    message=message,
                    finish_reason=st.finish_reason,
                    native_finish_reason=st.native_finish_reason,
                    logprobs=dict(st.logprobs) if st.logprobs is not None else None,
                )
            )
        return ChatCompletion(
            id=self.id,
            created=self.created,
            model=self.model,
            choices=choices,
            usage=self.usage,
            system_fingerprint=self.system_fingerprint,
            router=self.receipt,
        )


def _add_rest(st: _ChoiceState, c: ChunkChoice) -> None:
    """What a chunk's choice carries besides content: reasoning, a refusal, tool calls, logprobs, the finish."""
    d = c.delta
    if d.reasoning_content:
        st.reasoning.append(d.reasoning_content)
    if d.reasoning_blocks:
        st.reasoning_blocks.extend(d.reasoning_blocks)
    if d.refusal is not None:
        st.refusal.append(d.refusal)
    for tc in d.tool_calls or ():
        call = st.calls.setdefault(tc.index, _Call())
        if tc.id:
            call.id = tc.id
        if tc.name:
            call.name = tc.name
        if tc.arguments:
            call.arguments.append(tc.arguments)
        if tc.custom:
            call.custom = True
    if d.function_call is not None:
        if d.function_call.name:
            st.function_name = d.function_call.name
        if st.function_args is None:
            st.function_args = []
        if d.function_call.arguments:
            st.function_args.append(d.function_call.arguments)
    if c.logprobs:
        if st.logprobs is None:
            st.logprobs = {}
        for key, items in c.logprobs.items():
            if isinstance(items, list):
                st.logprobs.setdefault(key, []).extend(items)
    if c.finish_reason is not None:
        st.finish_reason = c.finish_reason
    if c.native_finish_reason is not None:
        st.native_finish_reason = c.native_finish_reason


def accumulate(chunks: Iterable[ChatCompletionChunk], receipt: Receipt | None = None) -> ChatCompletion:
    """The ChatCompletion a whole stream amounts to. Given the stream itself (not a list of its
    chunks), the result carries the stream's receipt (``resp.router``: what was sent, and the answer
    fields kept on ``resp.router.extra``)."""
    if receipt is None:
        found = getattr(chunks, "receipt", None)
        receipt = found if isinstance(found, Receipt) else None
    acc = StreamAccumulator(receipt)
    for chunk in chunks:
        acc.add(chunk)
    result = acc.result()
    model = getattr(chunks, "response_format", None)  # a Stream of response_format=<model class>
    if model is not None:
        from router._structured import parse_completion  # only for response_format=<model class>

        parse_completion(result, model)
    return result
