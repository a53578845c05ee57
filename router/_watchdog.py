"""Deadlines that hold while a read is blocked.

httpx fixes a read's timeout when the body starts, so a body that trickles and then stalls could
outlive the call's deadline by up to one read limit. At the deadline the watchdog shuts the
connection's socket down; the blocked read then fails at once and the caller, seeing the deadline
passed, raises ``APITimeoutError``. Sync readers are watched by one daemon thread (a heap of
deadlines, asleep until the earliest); async readers by a ``loop.call_at`` on their own loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import socket
import threading
import time
import weakref
from typing import Any

__all__ = ["abort", "awatch", "unwatch", "watch"]

_cv = threading.Condition()
_heap: list[tuple[float, int, weakref.ref[Any]]] = []
_cancelled: set[int] = set()
_fired: set[int] = set()  # watches that cut their connection and were not unwatched yet
_seq = itertools.count()
_thread: threading.Thread | None = None


def abort(response: Any) -> None:
    """Shut the response's socket down, waking any read blocked on it (best effort)."""
    stream = getattr(response, "extensions", {}).get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    shutdown = getattr(sock, "shutdown", None)  # a socket.socket, or asyncio's TransportSocket
    if shutdown is not None:
        with contextlib.suppress(OSError):  # already closed
            shutdown(socket.SHUT_RDWR)


def watch(deadline: float, response: Any) -> int:
    """Abort ``response``'s connection at ``deadline`` (time.monotonic) unless unwatched first."""
    global _thread
    token = next(_seq)
    with _cv:
        heapq.heappush(_heap, (deadline, token, weakref.ref(response)))
        if _thread is None:
            _thread = threading.Thread(target=_run, name="router-deadlines", daemon=True)
            _thread.start()
        _cv.notify()
    return token


def unwatch(token: int) -> bool:
    """End a watch; True when it had already fired (the connection was cut at its deadline)."""
    with _cv:
        if token in _fired:
            _fired.discard(token)
            return True
        _cancelled.add(token)
    return False


def _run() -> None:
    while True:
        with _cv:
            while not _heap:
                _cv.wait()
            deadline, token, ref = _heap[0]
            if token in _cancelled:
                heapq.heappop(_heap)
                _cancelled.discard(token)
                continue
            wait = deadline - time.monotonic()
            if wait > 0:
                _cv.wait(wait)  # woken early by a new, maybe earlier, deadline
                continue
            heapq.heappop(_heap)
            _fired.add(token)
        response = ref()
        if response is not None:
            abort(response)


def awatch(deadline: float, response: Any) -> asyncio.TimerHandle:
    """The async twin: abort on the running loop at ``deadline``; cancel the handle when done."""
    loop = asyncio.get_running_loop()
    return loop.call_at(loop.time() + (deadline - time.monotonic()), abort, response)
