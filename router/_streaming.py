"""Byte streams to events: SSE (WHATWG rules), NDJSON and a streamed JSON array.

Every parser is incremental: ``feed(bytes)`` returns the events completed by those bytes, whatever the
chunk boundaries (mid-line, mid-CRLF, mid-UTF-8 character), and ``close()`` returns what the end of the
stream completes. No parser needs a ``[DONE]`` sentinel to finish.

SSE follows https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation:
lines end in CR, LF or CRLF; a leading BOM is dropped; ``:`` lines are comments; ``data`` fields are
joined with LF; an event is dispatched at a blank line, and only when it carried data.
One deliberate difference: the spec discards an event cut off by the end of the stream; we dispatch it,
because several providers close the connection right after the last ``data:`` line, and the codec
then decides whether the answer was complete.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import AsyncIterable
from collections.abc import AsyncIterator
from collections.abc import Iterable
from collections.abc import Iterator
from typing import Any
from typing import NamedTuple
from typing import Protocol

from router._exceptions import InvalidResponseError

__all__ = [
    "MAX_EVENT",
    "Event",
    "EventParser",
    "EventTooLarge",
    "JSONArrayParser",
    "NDJSONParser",
    "SSEParser",
    "aiter_events",
    "iter_events",
    "make_parser",
]


# One event's size cap (characters of data, or of one line): a provider's single frame is kilobytes;
# a bigger one is a broken or hostile stream, refused before it exhausts memory.
MAX_EVENT = 8 * 1024 * 1024


class EventTooLarge(InvalidResponseError):
    """A stream event (or one line of it) is larger than the cap."""


def _too_large(cap: int) -> EventTooLarge:
    return EventTooLarge(f"a stream event is larger than {cap:,} characters, the cap (max_event_bytes=)")


class Event(NamedTuple):
    """One framed message. For NDJSON and JSON arrays ``event`` is "message" and ``data`` the JSON text.
    (A named tuple: one is made per stream chunk, and a tuple is the cheapest immutable object.)"""

    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None

    def json(self) -> Any:
        return json.loads(self.data)


# Event(...) runs a Python-level __new__; tuple's own, called with the four fields, makes the same
# object in one C call (for the one event made per stream chunk).
_new_event: Any = tuple.__new__


class EventParser(Protocol):
    def feed(self, chunk: bytes) -> list[Event]: ...

    def close(self) -> list[Event]: ...


# ``b"x" in data`` tries b"x" as an int first, raising and clearing a TypeError (~1,800 instructions,
# 8% of a chunk): hot code decodes once and tests the text (tests/test_hot_paths.py keeps it out).
class SSEParser:
    __slots__ = (
        "_bom_checked",
        "_cap",
        "_clean",
        "_data",
        "_decoder",
        "_event",
        "_id",
        "_last_id",
        "_parts",
        "_pending",
        "_retry",
        "_size",
        "_skip_lf",
    )

    def __init__(self, max_event: int = MAX_EVENT) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._cap = max_event
        self._pending = ""  # text after the last complete line
        self._parts: list[str] = []  # more of that line, kept apart until it ends (linear, not n^2)
        self._size = 0  # characters of the event being read (its data lines and the pending line)
        self._skip_lf = False  # the previous chunk ended in CR: a leading LF belongs to it
        self._bom_checked = False
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None
        self._last_id: str | None = None
        self._retry: int | None = None
        self._clean = False  # nothing carried over between chunks: see feed()

    def feed(self, chunk: bytes) -> list[Event]:
        # Most chunks are one whole event, as providers flush them: ``data: {...}\n\n`` (OpenAI,
        # Gemini) or ``event: name\ndata: {...}\n\n`` (Anthropic). With nothing carried over from the
        # previous chunk, such a chunk is read straight from its bytes; anything else (CR, several
        # lines, a cut line, the first chunk and its BOM) goes through the incremental parser.
        if self._clean:
            try:
                text = chunk.decode()  # strict, with no arguments: the cheapest call
            except UnicodeDecodeError:
                text = chunk.decode("utf-8", "replace")
            if text[-2:] == "\n\n" and "\r" not in text:
                name = "message"
                if text[:7] == "event: ":
                    cut = text.index("\n")
                    name = text[7:cut] or "message"
                    text = text[cut + 1 :]
                if text[:6] == "data: " and name.strip(" ") == name:
                    data = text[6:-2]
                    if "\n" not in data and len(data) <= self._cap:  # one data line, and a blank one
                        return [_new_event(Event, (data, name, self._last_id, self._retry))]
        out = self._text(self._decoder.decode(chunk))
        self._clean = (
            not self._pending
            and not self._parts
            and not self._data
            and not self._event
            and self._id is None
            and self._bom_checked
            and not self._skip_lf
            and not self._decoder.getstate()[0]
        )
        return out

    def close(self) -> list[Event]:
        out = self._text(self._decoder.decode(b"", final=True))
        pending = self._pending + "".join(self._parts)
        self._parts = []
        if pending:
            self._line(pending, out)
            self._pending = ""
        self._dispatch(out)
        return out

    def _text(self, text: str) -> list[Event]:
        out: list[Event] = []
        if not text:
            return out
        if "\r" not in text and self._bom_checked and not self._skip_lf and not self._parts and "\n" in text:
            return self._lf_lines(text, out)
        if "\n" not in text and "\r" not in text and self._bom_checked and not self._skip_lf:
            self._parts.append(text)  # the middle of a long line: no copy of what came before
            self._size += len(text)
            if self._size > self._cap:
                raise _too_large(self._cap)
            return out
        if self._parts:
            self._pending += "".join(self._parts)
            self._parts = []
        if not self._bom_checked:
            self._bom_checked = True
            if text.startswith("\ufeff"):
                text = text[1:]
        if self._skip_lf:
            self._skip_lf = False
            if text.startswith("\n"):
                text = text[1:]
        buf = self._pending + text
        start = 0
        n = len(buf)
        while True:
            # Find the next CR or LF from start.
            cr = buf.find("\r", start)
            lf = buf.find("\n", start)
            if cr == -1 and lf == -1:
                break
            if cr == -1 or (lf != -1 and lf < cr):
                self._line(buf[start:lf], out)
                start = lf + 1
                continue
            self._line(buf[start:cr], out)
            if cr + 1 < n:
                start = cr + 2 if buf[cr + 1] == "\n" else cr + 1
            else:
                start = cr + 1
                self._skip_lf = True
        self._pending = buf[start:]
        if self._size + len(self._pending) > self._cap:
            raise _too_large(self._cap)
        return out

    def _lf_lines(self, text: str, out: list[Event]) -> list[Event]:
        """The common case, lines ended by LF only (no CR anywhere, no line in pieces): one split,
        and ``data:`` lines and blank ones handled inline; the others go to :meth:`_line`."""
        pending = self._pending
        lines = (pending + text if pending else text).split("\n")
        self._pending = pending = lines.pop()
        data = self._data
        cap = self._cap
        for line in lines:
            if not line:
                if data or self._id is not None or self._event:
                    self._dispatch(out)
                    data = self._data
                else:
                    self._size = 0
            elif line.startswith("data: "):
                data.append(line[6:])
                self._size += len(line) - 6
                if self._size > cap:
                    raise _too_large(cap)
            else:
                self._line(line, out)
                data = self._data
        if self._size + len(pending) > cap:
            raise _too_large(cap)
        return out

    def _line(self, line: str, out: list[Event]) -> None:
        if not line:
            self._dispatch(out)
            return
        if line[0] == ":":
            return
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
            self._size += len(value)
            if self._size > self._cap:
                raise _too_large(self._cap)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)

    def _dispatch(self, out: list[Event]) -> None:
        if self._id is not None:
            self._last_id = self._id
            self._id = None
        if self._data:
            out.append(Event("\n".join(self._data), self._event or "message", self._last_id, self._retry))
        self._data = []
        self._event = ""
        self._size = 0


class NDJSONParser:
    """One JSON value a line; blank lines are skipped."""

    __slots__ = ("_cap", "_clean", "_decoder", "_parts", "_size")

    def __init__(self, max_event: int = MAX_EVENT) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._cap = max_event
        self._parts: list[str] = []  # the unfinished line, in pieces (linear, not n^2)
        self._size = 0
        self._clean = True  # the decoder holds no bytes of a cut character: see feed()

    def feed(self, chunk: bytes) -> list[Event]:
        if self._clean and not self._parts and chunk[-1:] == b"\n":
            # Most chunks: whole lines, nothing held back; ending on LF, decoded at once.
            try:
                text = chunk.decode()  # strict, with no arguments: the cheapest call
            except UnicodeDecodeError:
                text = chunk.decode("utf-8", "replace")
            line = text.strip()
            if "\n" not in line:
                if len(line) > self._cap:
                    raise _too_large(self._cap)
                return [_new_event(Event, (line, "message", None, None))] if line else []
        else:
            text = self._decoder.decode(chunk)
            self._clean = not self._decoder.getstate()[0]
        if "\n" not in text:
            self._parts.append(text)
            self._size += len(text)
            if self._size > self._cap:
                raise _too_large(self._cap)
            return []
        self._parts.append(text)
        *lines, rest = "".join(self._parts).split("\n")
        self._parts = [rest] if rest else []
        self._size = len(rest)
        if any(len(line) > self._cap for line in lines) or self._size > self._cap:
            raise _too_large(self._cap)
        return [Event(s) for line in lines if (s := line.strip())]

    def close(self) -> list[Event]:
        rest = ("".join(self._parts) + self._decoder.decode(b"", final=True)).strip()
        self._parts = []
        return [Event(rest)] if rest else []


class JSONArrayParser:
    """A JSON array streamed element by element (``[{...},\\n{...}]``): each top-level element is an event.

    Tracks string and escape state, so brackets inside strings do not confuse it.
    """

    __slots__ = ("_cap", "_decoder", "_depth", "_escape", "_in_string", "_item", "_started")

    def __init__(self, max_event: int = MAX_EVENT) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._cap = max_event
        self._depth = 0
        self._in_string = False
        self._escape = False
        self._started = False
        self._item: list[str] = []

    def feed(self, chunk: bytes) -> list[Event]:
        return self._text(self._decoder.decode(chunk))

    def close(self) -> list[Event]:
        out = self._text(self._decoder.decode(b"", final=True))
        rest = "".join(self._item).strip()
        if rest:
            out.append(Event(rest))  # a truncated element: the codec's JSON parse reports it
        self._item = []
        return out

    def _text(self, text: str) -> list[Event]:
        out: list[Event] = []
        item = self._item
        if len(item) + len(text) > self._cap and len(item) > self._cap // 2:
            raise _too_large(self._cap)
        for ch in text:
            if self._in_string:
                item.append(ch)
                if self._escape:
                    self._escape = False
                elif ch == "\\":
                    self._escape = True
                elif ch == '"':
                    self._in_string = False
                continue
            if not self._started:
                if ch == "[":
                    self._started = True
                continue
            if self._depth == 0 and (ch in ",]" or ch.isspace()):
                if item and "".join(item).strip():
                    out.append(Event("".join(item).strip()))
                    item.clear()
                continue
            if ch == '"':
                self._in_string = True
            elif ch in "{[":
                self._depth += 1
            elif ch in "}]":
                self._depth -= 1
            item.append(ch)
            if self._depth == 0 and ch in "}]":
                out.append(Event("".join(item).strip()))
                item.clear()
        return out


def make_parser(framing: str, max_event: int = MAX_EVENT) -> EventParser:
    if framing == "sse":
        return SSEParser(max_event)
    if framing == "ndjson":
        return NDJSONParser(max_event)
    if framing == "json-array":
        return JSONArrayParser(max_event)
    raise ValueError(f"unknown stream framing {framing!r}")


def iter_events(chunks: Iterable[bytes], framing: str, max_event: int = MAX_EVENT) -> Iterator[Event]:
    parser = make_parser(framing, max_event)
    for chunk in chunks:
        yield from parser.feed(chunk)
    yield from parser.close()


async def aiter_events(
    chunks: AsyncIterable[bytes], framing: str, max_event: int = MAX_EVENT
) -> AsyncIterator[Event]:
    parser = make_parser(framing, max_event)
    async for chunk in chunks:
        for ev in parser.feed(chunk):
            yield ev
    for ev in parser.close():
        yield ev
