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
# When the thread next looks at the heap (time.monotonic); a watch due before that wakes it. With no
# watch it looks every _IDLE seconds, so a new watch due later than that needs no wake-up.
_sleep_until = 0.0
_IDLE = 1.0


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
        elif deadline < _sleep_until:
            # Woken only for a deadline before it next looks: most deadlines are a call's total
            # (minutes away). Waking it on every call cost a thread switch per request (~50 µs CPU).
            _cv.notify()
    return token


def unwatch(token: int) -> bool:
    """End a watch; True when it had already fired (the connection was cut at its deadline)."""
    with _cv:
        if token in _fired:
            _fired.discard(token)
            return True
        _cancelled.add(token)
        # Ended watches leave the heap when they reach its top, or, when they are most of it, all at
        # once here: the heap stays as small as the watches still running (bounded memory).
        if len(_cancelled) > 64 and 2 * len(_cancelled) > len(_heap):
            _heap[:] = [entry for entry in _heap if entry[1] not in _cancelled]
            heapq.heapify(_heap)
            _cancelled.clear()
    return False


def _run() -> None:
    global _sleep_until
    while True:
        with _cv:
            now = time.monotonic()
            while _heap and _heap[0][1] in _cancelled:
                _cancelled.discard(heapq.heappop(_heap)[1])
            if not _heap:
                _sleep_until = now + _IDLE
                _cv.wait(_IDLE)
                continue
            deadline, token, ref = _heap[0]
            if deadline > now:
                _sleep_until = deadline
                _cv.wait(deadline - now)  # woken early by an earlier deadline
                continue
            heapq.heappop(_heap)
            _fired.add(token)
            _sleep_until = 0.0
        response = ref()
        if response is not None:
            abort(response)


def awatch(deadline: float, response: Any) -> asyncio.TimerHandle:
    """The async twin: abort on the running loop at ``deadline``; cancel the handle when done."""
    loop = asyncio.get_running_loop()
    return loop.call_at(loop.time() + (deadline - time.monotonic()), abort, response)
