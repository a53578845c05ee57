"""The HTTP client library: httpx2 for the pooled clients, and a caller's own httpx 0.28 client too.

The pooled clients are httpx2's (pydantic's maintained httpx fork, the client the 2026 official SDKs
use): the same API as httpx 0.28, with an async connection pool that takes less than half the CPU
per request of httpcore 1.0's (examples/bench_http.py measures both side by side). The rest of the
code imports it under the name ``httpx``.

A caller may still pass an ``httpx.Client`` / ``httpx.AsyncClient`` of httpx 0.28 as
``http_client=`` (an ``httpx.MockTransport`` in tests, or an app's configured client): its classes
are a separate family (``httpx.HTTPError`` is not ``httpx2.HTTPError``), so the code that catches
or builds client objects asks :func:`family` for the module a client, response or exception came
from. httpx 0.28 is never imported here: a client of it exists only if the caller imported it.

``timeout=`` takes a number or either library's ``Timeout``; :func:`timeout_of` rebuilds one for the
client it is sent with.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from collections.abc import Iterator
from types import ModuleType
from typing import TYPE_CHECKING
from typing import Any

import httpx2 as httpx

if TYPE_CHECKING:
    import httpx as httpx1

    Client = httpx.Client | httpx1.Client
    AsyncClient = httpx.AsyncClient | httpx1.AsyncClient
    Response = httpx.Response | httpx1.Response
    Timeout = httpx.Timeout | httpx1.Timeout

__all__ = ["abody_chunks", "body_chunks", "family", "httpx", "is_timeout", "timeout_of"]

_FAMILY_NAMES = ("httpx2", "httpx")
_families: dict[type, ModuleType] = {}


def family(obj: object) -> ModuleType:
    """The module (httpx2, or httpx 0.28) whose classes ``obj`` -- a client, request, response,
    exception or timeout, or a subclass of one -- belongs to; httpx2 for anything else."""
    cls = type(obj)
    found = _families.get(cls)
    if found is None:
        found = httpx
        for klass in cls.__mro__:
            name = klass.__module__.partition(".")[0]
            if name in _FAMILY_NAMES:
                mod = sys.modules.get(name)
                if mod is not None:
                    found = mod
                break
        _families[cls] = found
    return found


def is_timeout(value: object) -> bool:
    """Whether ``value`` is a ``Timeout`` of httpx2 or httpx (per-operation limits)."""
    return isinstance(value, httpx.Timeout) or (
        family(value) is not httpx and type(value).__name__ == "Timeout"
    )


def timeout_of(value: Any, mod: ModuleType) -> Any:
    """``value`` (a ``Timeout`` of either library) as ``mod``'s ``Timeout``."""
    if isinstance(value, mod.Timeout):
        return value
    return mod.Timeout(connect=value.connect, read=value.read, write=value.write, pool=value.pool)


def _encoded(response: Response) -> bool:
    """Whether the response has a Content-Encoding header (its raw pairs scanned: ``in headers``
    works out the headers' text encoding first, on every call)."""
    return any(len(name) == 16 and name.lower() == b"content-encoding" for name, _ in response.headers.raw)


def body_chunks(response: Response) -> Iterator[bytes]:
    """The body's bytes as they arrive, decoded. With no ``Content-Encoding`` there is nothing to
    decode, and the bytes are read from ``response.stream`` (the transport's own iterator) as
    ``iter_raw`` reads them, without its two generator layers per chunk (``iter_bytes`` adds two more:
    7.3k instructions a chunk against 1.4k; a stream's every chunk passes here). The response is
    marked consumed as ``iter_raw`` marks it, and the caller closes it. A compressed body, or one
    already read or closed, goes through ``iter_bytes`` (and its errors)."""
    if response.is_stream_consumed or response.is_closed or _encoded(response):
        return response.iter_bytes()
    stream = response.stream
    if not isinstance(stream, family(response).SyncByteStream):
        return response.iter_bytes()  # an async stream: httpx's own error
    response.is_stream_consumed = True
    return iter(stream)


def abody_chunks(response: Response) -> AsyncIterator[bytes]:
    """The async twin of :func:`body_chunks`."""
    if response.is_stream_consumed or response.is_closed or _encoded(response):
        return response.aiter_bytes()
    stream = response.stream
    if not isinstance(stream, family(response).AsyncByteStream):
        return response.aiter_bytes()
    response.is_stream_consumed = True
    chunks: AsyncIterator[bytes] = stream.__aiter__()
    return chunks
