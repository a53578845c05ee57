"""Per-deployment health: a circuit breaker and a cooldown, as small state machines on an injected clock.

    closed --(failure_threshold failures in a row)--> open --(cooldown passes)--> half_open
    half_open --(the probe succeeds)--> closed
    half_open --(the probe fails)--> open (the cooldown starts again)

While open, a ``Router`` goes straight to the next deployment (no request is sent). In half-open,
one call at a time is let through as the probe; the others are treated as open. Thread-safe, and
the same object serves sync and async calls (the state changes are a few assignments under a lock).

>>> b = CircuitBreaker(failure_threshold=3, cooldown=30.0, clock=lambda: now)
>>> b.allow()      # True: closed
>>> b.failure(); b.failure(); b.failure()
>>> b.state        # 'open'

State shared between processes (the gateway's replicas on Redis): ``listener`` hears this breaker
open (with its cooldown) and close after a probe, and ``trip``/``reset`` apply what another process
saw without telling the listener again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Literal

__all__ = ["CircuitBreaker", "State"]

State = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    def __init__(
        self,
        failure_threshold: int = 5,
        cooldown: float = 30.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if cooldown < 0:
            raise ValueError("cooldown must be >= 0 seconds")
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._state: State = "closed"
        self._failures = 0  # in a row, while closed
        self._opened_at = 0.0
        self._open_for = cooldown  # this opening's length: the cooldown, or what trip() was given
        self._probing = False  # a half-open probe is in flight
        self.opened = 0  # how many times it opened (for metrics)
        # told (state, seconds) when this breaker opens here ("open", its cooldown) or a probe
        # closes it ("closed", 0.0); called outside the lock, never for trip() and reset()
        self.listener: Callable[[State, float], None] | None = None

    @property
    def state(self) -> State:
        with self._lock:
            return self._peek()

    def _peek(self) -> State:
        if self._state == "open" and self._clock() - self._opened_at >= self._open_for:
            self._state = "half_open"
            self._probing = False
        return self._state

    def retry_in(self) -> float:
        """Seconds until an open breaker lets a probe through (0 when it would now)."""
        with self._lock:
            if self._peek() != "open":
                return 0.0
            return max(0.0, self._open_for - (self._clock() - self._opened_at))

    def allow(self) -> bool:
        """May a call go to this deployment now? In half-open, True once (the probe) until it ends."""
        with self._lock:
            state = self._peek()
            if state == "closed":
                return True
            if state == "half_open" and not self._probing:
                self._probing = True
                return True
            return False

    def success(self) -> None:
        with self._lock:
            was = self._state
            self._state = "closed"
            self._failures = 0
            self._probing = False
        if was != "closed" and self.listener is not None:
            self.listener("closed", 0.0)

    def failure(self) -> None:
        with self._lock:
            state = self._peek()
            opened = state == "half_open" or (
                state == "closed" and self._failures + 1 >= self.failure_threshold
            )
            if opened:
                self._open()
            elif state == "closed":
                self._failures += 1
        if opened and self.listener is not None:
            self.listener("open", self.cooldown)

    def trip(self, remaining: float) -> None:
        """Open now for ``remaining`` seconds (another process opened it); the listener is not told."""
        with self._lock:
            if self._state != "open":
                self.opened += 1
            self._state = "open"
            self._opened_at = self._clock()
            self._open_for = max(0.0, remaining)
            self._failures = 0
            self._probing = False

    def reset(self) -> None:
        """Close now (another process's probe succeeded); the listener is not told."""
        with self._lock:
            self._state = "closed"
            self._failures = 0
            self._probing = False

    def release(self) -> None:
        """A call let through ended with neither verdict (the caller's own error): free the probe."""
        with self._lock:
            self._probing = False

    def _open(self) -> None:
        self._state = "open"
        self._opened_at = self._clock()
        self._open_for = self.cooldown
        self._failures = 0
        self._probing = False
        self.opened += 1

    def __repr__(self) -> str:
        return f"CircuitBreaker(state={self.state!r}, failure_threshold={self.failure_threshold}, cooldown={self.cooldown})"
