"""Client-side rate limits per deployment: token buckets for requests and tokens per minute.

A call **reserves** before it is sent: one request, and an estimate of its tokens (prompt estimate +
``max_tokens``). When the buckets cannot cover it, ``reserve`` says how long to wait; the caller waits
(within its deadline) or raises, as configured. After the answer, the reservation is **reconciled**
with the real usage: tokens over the estimate are charged (the bucket may go below zero, so later
calls wait longer), tokens under it are given back. A failed call gives its tokens back and keeps the
request (it was sent).

Pure state on an injected clock; the waiting itself is the caller's (``time.sleep`` or
``asyncio.sleep``), so sync and async share this code.

>>> rl = RateLimiter(rpm=60, tpm=10_000, clock=lambda: now)
>>> r = rl.reserve(tokens=500)          # a Reservation, or a float: seconds to wait
>>> r.reconcile(actual_tokens=420)      # gives 80 back
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RateLimiter", "Reservation", "TokenBucket"]


class TokenBucket:
    """``rate`` units a minute, holding at most ``capacity`` (default: one minute's worth)."""

    def __init__(
        self, per_minute: float, capacity: float | None = None, *, clock: Callable[[], float]
    ) -> None:
        if per_minute <= 0:
            raise ValueError("a rate limit must be > 0 per minute")
        self.rate = per_minute / 60.0  # units a second
        self.capacity = float(capacity if capacity is not None else per_minute)
        self.level = self.capacity
        self._clock = clock
        self._at = clock()

    def _refill(self) -> None:
        now = self._clock()
        if now > self._at:
            self.level = min(self.capacity, self.level + (now - self._at) * self.rate)
        self._at = now

    def wait_for(self, n: float) -> float:
        """Seconds until ``n`` units are there (0 when they are now). ``n`` is capped at capacity."""
        self._refill()
        need = min(n, self.capacity) - self.level
        return 0.0 if need <= 0 else need / self.rate

    def take(self, n: float) -> None:
        self._refill()
        self.level -= n

    def give(self, n: float) -> None:
        self._refill()
        self.level = min(self.capacity, self.level + n)


@dataclass
class Reservation:
    limiter: RateLimiter
    tokens: float
    done: bool = False

    def reconcile(self, actual_tokens: float | None) -> None:
        """The real usage is known: charge or give back the difference (``None``: keep the estimate)."""
        if self.done:
            return
        self.done = True
        if actual_tokens is not None:
            self.limiter._adjust(actual_tokens - self.tokens)

    def cancel(self) -> None:
        """The call failed before using tokens: give them back (the request stays counted)."""
        if self.done:
            return
        self.done = True
        self.limiter._adjust(-self.tokens)


class RateLimiter:
    def __init__(
        self,
        rpm: float | None = None,
        tpm: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        self.requests = TokenBucket(rpm, clock=clock) if rpm else None
        self.tokens = TokenBucket(tpm, clock=clock) if tpm else None

    def reserve(self, tokens: float = 0.0) -> Reservation | float:
        """Take one request and ``tokens`` now, or return the seconds to wait before they are there."""
        with self._lock:
            wait = 0.0
            if self.requests is not None:
                wait = max(wait, self.requests.wait_for(1))
            if self.tokens is not None and tokens > 0:
                wait = max(wait, self.tokens.wait_for(tokens))
            if wait > 0:
                return wait
            if self.requests is not None:
                self.requests.take(1)
            if self.tokens is not None and tokens > 0:
                self.tokens.take(tokens)
            return Reservation(self, tokens if self.tokens is not None else 0.0)

    def _adjust(self, extra_tokens: float) -> None:
        if self.tokens is None or extra_tokens == 0:
            return
        with self._lock:
            if extra_tokens > 0:
                self.tokens.take(extra_tokens)
            else:
                self.tokens.give(-extra_tokens)
