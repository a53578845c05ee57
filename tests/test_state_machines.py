"""The breaker and rate-limit state machines, on an injected clock (no sleeps)."""

from __future__ import annotations

import pytest

from router._breaker import CircuitBreaker
from router._ratelimit import RateLimiter
from router._ratelimit import Reservation


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_n_failures_in_a_row() -> None:
    clock = Clock()
    b = CircuitBreaker(failure_threshold=3, cooldown=30, clock=clock)
    b.failure()
    b.failure()
    b.success()  # a success resets the run
    b.failure()
    b.failure()
    assert b.state == "closed" and b.allow()
    b.failure()
    assert b.state == "open" and not b.allow()
    assert b.retry_in() == 30
    clock.now += 29.9
    assert not b.allow() and b.retry_in() == pytest.approx(0.1)


def test_breaker_half_open_lets_one_probe_then_closes_or_reopens() -> None:
    clock = Clock()
    b = CircuitBreaker(failure_threshold=1, cooldown=10, clock=clock)
    b.failure()
    clock.now += 10
    assert b.state == "half_open"
    assert b.allow()  # the probe
    assert not b.allow()  # only one at a time
    b.failure()  # the probe failed: open again, a new cooldown
    assert b.state == "open" and b.opened == 2
    clock.now += 9.99
    assert not b.allow()
    clock.now += 0.01
    assert b.allow()
    b.success()
    assert b.state == "closed" and b.allow() and b.allow()


def test_breaker_release_frees_the_probe() -> None:
    clock = Clock()
    b = CircuitBreaker(failure_threshold=1, cooldown=1, clock=clock)
    b.failure()
    clock.now += 1
    assert b.allow()
    b.release()  # the caller's own error: no verdict
    assert b.state == "half_open" and b.allow()


def test_breaker_listener_hears_opening_and_closing_but_not_trip_or_reset() -> None:
    clock = Clock()
    heard: list[tuple[str, float]] = []
    b = CircuitBreaker(failure_threshold=2, cooldown=30, clock=clock)
    b.listener = lambda state, seconds: heard.append((state, seconds))
    b.failure()
    assert heard == []
    b.failure()
    assert heard == [("open", 30)]
    b.success()  # closed from open (a manual success): heard
    b.success()  # closed already: not heard again
    assert heard == [("open", 30), ("closed", 0.0)]
    b.trip(5)  # another process opened it: 5 s left there
    assert heard == [("open", 30), ("closed", 0.0)]
    assert b.state == "open" and b.retry_in() == 5 and b.opened == 2
    clock.now += 5
    assert b.state == "half_open" and b.allow()  # its cooldown ends when the other's does
    b.failure()  # the probe failed here: open for this breaker's own cooldown, heard
    assert heard[-1] == ("open", 30) and b.retry_in() == 30
    b.reset()
    assert b.state == "closed" and b.allow() and heard[-1] == ("open", 30)


def test_router_reports_and_applies_health_changes() -> None:
    from router import Deployment
    from router import Router

    clock = Clock()
    heard: list[tuple[str, str, float]] = []
    r = Router(
        [Deployment("g", "openai/a"), Deployment("g", "openai/b")],
        breaker_cooldown=20,
        clock=clock,
        on_health=lambda label, change, seconds: heard.append((label, change, seconds)),
    )
    r.apply_health("g#2", "open", 7)
    assert r.breaker("g#2").state == "open" and r.breaker("g#2").retry_in() == 7
    assert r.breaker("g").state == "closed"
    r.apply_health("g#2", "closed")
    assert r.breaker("g#2").state == "closed"
    r.apply_health("g", "cooling", 3)
    assert r._state["g"].cool_until == clock.now + 3
    r.apply_health("g", "cooling", 1)  # the later end wins
    assert r._state["g"].cool_until == clock.now + 3
    assert heard == []  # applied changes are not reported back
    for _ in range(5):
        r.breaker("g").failure()
    assert heard == [("g", "open", 20)]


def test_breaker_rejects_bad_settings() -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(failure_threshold=0)
    with pytest.raises(ValueError):
        CircuitBreaker(cooldown=-1)


def test_requests_per_minute_bucket() -> None:
    clock = Clock()
    rl = RateLimiter(rpm=2, clock=clock)
    assert isinstance(rl.reserve(), Reservation)
    assert isinstance(rl.reserve(), Reservation)
    wait = rl.reserve()
    assert wait == pytest.approx(30.0)  # 2 a minute: one more every 30 s
    clock.now += 30
    assert isinstance(rl.reserve(), Reservation)


def test_tokens_reserved_then_reconciled() -> None:
    clock = Clock()
    rl = RateLimiter(tpm=1000, clock=clock)
    r = rl.reserve(tokens=600)
    assert isinstance(r, Reservation)
    assert rl.reserve(tokens=600) == pytest.approx(12.0)  # 200 missing at 1000/60 a second
    r.reconcile(actual_tokens=100)  # 500 given back
    r2 = rl.reserve(tokens=600)
    assert isinstance(r2, Reservation)
    r2.reconcile(actual_tokens=1100)  # 500 over the estimate: charged, the bucket goes below zero
    assert rl.tokens is not None and rl.tokens.level == pytest.approx(-200)
    assert rl.reserve(tokens=1) == pytest.approx(201 * 60 / 1000)
    r2.reconcile(actual_tokens=0)  # a second reconcile changes nothing
    assert rl.tokens.level == pytest.approx(-200)


def test_cancel_gives_tokens_back_and_keeps_the_request() -> None:
    clock = Clock()
    rl = RateLimiter(rpm=1, tpm=100, clock=clock)
    r = rl.reserve(tokens=80)
    assert isinstance(r, Reservation)
    r.cancel()
    assert rl.tokens is not None and rl.tokens.level == pytest.approx(100)
    assert rl.reserve(tokens=1) == pytest.approx(60.0)  # the request was sent: it counts


def test_an_estimate_over_capacity_waits_for_a_full_bucket_not_forever() -> None:
    clock = Clock()
    rl = RateLimiter(tpm=100, clock=clock)
    r = rl.reserve(tokens=50)
    assert isinstance(r, Reservation)
    assert rl.reserve(tokens=10_000) == pytest.approx(30.0)  # capped at capacity: wait for 100 tokens
    clock.now += 30
    assert isinstance(rl.reserve(tokens=10_000), Reservation)


def test_refill_never_exceeds_capacity() -> None:
    clock = Clock()
    rl = RateLimiter(rpm=3, clock=clock)
    clock.now += 3600
    for _ in range(3):
        assert isinstance(rl.reserve(), Reservation)
    assert rl.reserve() == pytest.approx(20.0)
