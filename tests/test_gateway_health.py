"""How a gateway takes the deployment health other replicas published (Gateway._apply_health), in
process and on an injected clock: tests/test_gateway_redis.py shows the same across two real
processes and a real redis-server."""

from __future__ import annotations

import asyncio

from router import Deployment
from router import Router
from router.gateway import Gateway
from router.gateway._state import MemoryState


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


class Shared(MemoryState):
    shared = True

    def __init__(self) -> None:
        super().__init__()
        self.published: list[tuple[str, str, float]] = []

    async def publish_health(self, label: str, change: str, seconds: float) -> None:
        self.published.append((label, change, seconds))


def _gateway() -> tuple[Gateway, Router, Shared, Clock]:
    clock = Clock()
    router = Router(
        [Deployment("g", "openai/a"), Deployment("g", "openai/b"), Deployment("solo", "openai/c")],
        breaker_threshold=1,
        breaker_cooldown=30,
        clock=clock,
    )
    state = Shared()
    return Gateway(router, state=state), router, state, clock


def test_open_elsewhere_opens_here_and_closed_elsewhere_closes_here() -> None:
    gw, router, _, _clock = _gateway()
    gw._apply_health({"g#2": 12.0, "nobody-here": 5.0}, {})
    assert router.breaker("g#2").state == "open" and router.breaker("g#2").retry_in() == 12
    assert "nobody-here" not in router._state  # labels this config does not have are ignored
    gw._apply_health({"g#2": 11.0}, {})  # read again while open: nothing changes
    assert router.breaker("g#2").retry_in() == 12
    gw._apply_health({}, {})  # gone before its end: a probe elsewhere closed it
    assert router.breaker("g#2").state == "closed"


def test_an_opening_that_ran_out_here_stays_half_open() -> None:
    gw, router, _, clock = _gateway()
    gw._apply_health({"solo": 2.0}, {})
    clock.now += 2
    gw._apply_health({}, {})  # gone because it ended: this replica probes as usual
    assert router.breaker("solo").state == "half_open"


def test_local_openings_are_not_closed_by_the_store() -> None:
    gw, router, _, _clock = _gateway()
    router.breaker("solo").failure()  # opened here (publishing needs a loop: none, so nothing sent)
    gw._apply_health({}, {})
    assert router.breaker("solo").state == "open"


def test_cooling_elsewhere_parks_the_deployment_here() -> None:
    gw, router, _, clock = _gateway()
    gw._apply_health({}, {"solo": 9.0})
    assert router._state["solo"].cool_until == clock.now + 9


def test_changes_here_are_published() -> None:
    gw, router, state, _clock = _gateway()

    async def run() -> None:
        router.breaker("g").failure()
        router.breaker("g").success()
        await asyncio.sleep(0)
        await asyncio.gather(*gw._tasks)

    asyncio.run(run())
    assert state.published == [("g", "open", 30), ("g", "closed", 0.0)]
