"""Router features beyond the fault scenarios: weighted load balancing, rate limits (wait, pass over,
raise; reserve then reconcile), the response cache, hooks and INFO logs, OpenTelemetry end to end,
closing, and deployment-file groups."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from scenario_server import Conn
from scenario_server import ScenarioServer

import router
from router import Deployment
from router import Router
from router._cache import ResponseCache

MSGS = [{"role": "user", "content": "Hi"}]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _unavailable(c: Conn, n: int) -> None:
    c.error(503, "down")


def _ok(c: Conn, n: int) -> None:
    c.ok(f"answer {n}")


@pytest.fixture(scope="module")
def server() -> Any:
    with ScenarioServer({"down": _unavailable, "ok": _ok}) as s:
        yield s


def test_weighted_load_balancing_follows_the_weights() -> None:
    r = Router([Deployment("g", "fake/echo", weight=3), Deployment("g", "fake/lorem", weight=1)], seed=7)
    firsts = Counter()
    for _ in range(800):
        resp = r.completion("g", MSGS)
        assert resp.router is not None
        firsts[resp.router.deployment] += 1
    share = firsts["g"] / 800
    assert 0.70 <= share <= 0.80, firsts  # 3:1 -> 75 %
    assert set(firsts) == {"g", "g#2"}


def test_a_group_skips_a_member_whose_breaker_is_open(server: ScenarioServer) -> None:
    clock = FakeClock()
    r = Router(
        [
            Deployment("g", "openai-compatible/a", base_url=server.url("down"), max_retries=0, weight=1000),
            Deployment("g", "openai-compatible/b", base_url=server.url("ok"), max_retries=0, weight=0.001),
        ],
        breaker_threshold=1,
        clock=clock,
        seed=1,
    )
    before = server.count("down")
    first = r.completion("g", MSGS)  # "g" (weight 1000) goes first, fails, opens; "g#2" answers
    assert first.router is not None and [a.deployment for a in first.router.attempts] == ["g", "g#2"]
    for _ in range(5):
        resp = r.completion("g", MSGS)
        assert resp.router is not None and resp.router.attempts[0].skipped == "circuit_open"
    assert server.count("down") == before + 1  # no request to the open member


def test_rate_limit_waits_within_the_deadline(server: ScenarioServer) -> None:
    r = Router(
        [Deployment("m", "openai-compatible/m", base_url=server.url("ok"), rpm=120, max_retries=0)], timeout=5
    )
    import time

    start = time.monotonic()
    for _ in range(121):  # the bucket holds 120; the 121st waits half a second for a token
        r.completion("m", MSGS)
    assert 0.4 <= time.monotonic() - start < 5


def test_rate_limit_passes_over_or_raises_when_it_cannot_wait() -> None:
    clock = FakeClock()
    deps = [Deployment("m", "fake/echo", rpm=2, fallbacks=["spare"]), Deployment("spare", "fake/lorem")]
    r = Router(deps, clock=clock, rate_limit_wait=False)
    assert [r.completion("m", MSGS).router.deployment for _ in range(3)] == ["m", "m", "spare"]  # type: ignore[union-attr]
    alone = Router([Deployment("m", "fake/echo", rpm=1)], clock=clock, rate_limit_wait=False)
    alone.completion("m", MSGS)
    with pytest.raises(router.RateLimitError) as e:
        alone.completion("m", MSGS)
    assert e.value.retry_after == pytest.approx(60.0)
    assert [a.skipped for a in e.value.attempts] == ["rate_limited"]
    clock.now += 60
    assert alone.completion("m", MSGS).choices[0].message.content == "Hi"


def test_token_limit_is_reconciled_with_real_usage() -> None:
    clock = FakeClock()
    r = Router([Deployment("m", "fake/echo", tpm=1000)], clock=clock, rate_limit_wait=False)
    r.completion("m", MSGS, max_tokens=500)  # reserves ~501, the fake answer uses a few tokens
    limiter = r._health("m", r.deployments["m"]).limiter
    assert limiter is not None and limiter.tokens is not None
    assert limiter.tokens.level > 990  # the unused estimate went back


def test_cache_hits_send_nothing_and_say_so(server: ScenarioServer) -> None:
    cache = ResponseCache(max_entries=8)
    r = Router(
        [Deployment("m", "openai-compatible/m", base_url=server.url("ok"), max_retries=0)], cache=cache
    )
    before = server.count("ok")
    one = r.completion("m", MSGS, temperature=0)
    two = r.completion("m", MSGS, temperature=0)
    assert server.count("ok") == before + 1
    assert one.choices[0].message.content == two.choices[0].message.content
    assert one.router is not None and not one.router.cache_hit
    assert two.router is not None and two.router.cache_hit and two.cost == 0.0
    r.completion("m", MSGS, temperature=1)  # another request: another key
    assert server.count("ok") == before + 2


def test_errors_are_never_cached(server: ScenarioServer) -> None:
    cache = ResponseCache()
    r = Router(
        [Deployment("m", "openai-compatible/m", base_url=server.url("down"), max_retries=0)], cache=cache
    )
    before = server.count("down")
    for _ in range(2):
        with pytest.raises(router.APIError):
            r.completion("m", MSGS)
    assert server.count("down") == before + 2 and len(cache) == 0


def test_fallbacks_and_retries_are_logged_at_info(
    server: ScenarioServer, caplog: pytest.LogCaptureFixture
) -> None:
    deps = [
        Deployment(
            "m", "openai-compatible/m", base_url=server.url("down"), max_retries=1, fallbacks=["spare"]
        ),
        Deployment("spare", "fake/echo"),
    ]
    with caplog.at_level(logging.INFO, logger="router"):
        Router(deps).completion("m", MSGS)
    text = "\n".join(r.getMessage() for r in caplog.records if r.levelno == logging.INFO)
    assert "retrying openai-compatible/m" in text
    assert "m failed (InternalServerError (503)); falling back to the next deployment" in text


def test_a_hook_that_raises_does_not_change_the_outcome(caplog: pytest.LogCaptureFixture) -> None:
    def boom(event: router.Event) -> None:
        raise RuntimeError("hook bug")

    r = Router([Deployment("m", "fake/echo")], hooks=[{"on_response": boom}])
    assert r.completion("m", MSGS).choices[0].message.content == "Hi"
    assert any("hook" in rec.getMessage() for rec in caplog.records)
    with pytest.raises(ValueError):
        Router(hooks=[{"on_typo": boom}])


def test_opentelemetry_spans_and_metrics_from_a_real_fail_over(server: ScenarioServer) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from router._otel import OTelHooks

    spans = InMemorySpanExporter()
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    mp = MeterProvider(metric_readers=[reader])
    deps = [
        Deployment(
            "m", "openai-compatible/m", base_url=server.url("down"), max_retries=0, fallbacks=["spare"]
        ),
        Deployment("spare", "openai-compatible/s", base_url=server.url("ok"), max_retries=0),
    ]
    r = Router(deps, hooks=[OTelHooks(tracer_provider=tp, meter_provider=mp)])
    r.completion("m", MSGS)
    finished = spans.get_finished_spans()
    chats = [s for s in finished if s.name.startswith("chat ")]
    assert [s.name for s in chats] == ["chat m", "chat s"]
    assert chats[0].attributes is not None and chats[0].attributes["error.type"] == "InternalServerError"
    assert chats[1].attributes is not None and chats[1].attributes["gen_ai.usage.input_tokens"] == 5
    names = {
        m.name
        for rm in reader.get_metrics_data().resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
    }
    assert {"gen_ai.client.operation.duration", "gen_ai.client.token.usage"} <= names


def test_close_and_context_managers() -> None:
    with Router([Deployment("m", "fake/echo")]) as r:
        r.completion("m", MSGS)
        own = r._own_client
        assert own is not None
    assert own.is_closed and r._own_client is None
    r.completion("m", MSGS)  # usable again: a new pool
    r.close()

    async def main() -> None:
        async with Router([Deployment("m", "fake/echo")]) as ar:
            await ar.acompletion("m", MSGS)
            (client,) = ar._own_async.values()
        assert client.is_closed

    asyncio.run(main())


def test_a_given_client_is_never_closed() -> None:
    import httpx

    from router._fake import FakeTransport

    client = httpx.Client(mounts={"fake://": FakeTransport()})
    with Router([Deployment("m", "fake/echo")], http_client=client) as r:
        r.completion("m", MSGS)
    assert not client.is_closed
    client.close()


def test_deployment_file_groups_and_resilience_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("router.yaml").write_text(
        "config_version: 1\n"
        "defaults: {timeout: 30, first_token_timeout: 5, stall_timeout: 3, breaker_threshold: 2, breaker_cooldown: 10}\n"
        "models:\n"
        "  - {name: chat, model: fake/echo, weight: 3, rpm: 100, tpm: 50000}\n"
        "  - {name: chat, model: fake/lorem, weight: 1, context_window_fallbacks: [big]}\n"
        "  - {name: big, model: fake/echo}\n"
    )
    r = Router.from_config("router.yaml")
    assert [d.weight for d in r._groups["chat"]] == [3.0, 1.0]
    assert r._groups["chat"][0].rpm == 100 and r._groups["chat"][1].context_window_fallbacks == ["big"]
    assert (r.first_token_timeout, r.stall_timeout, r.breaker_threshold, r.breaker_cooldown) == (5, 3, 2, 10)
    assert r.completion("chat", MSGS).router is not None


def test_a_router_dropped_without_close_releases_its_pool() -> None:
    import gc

    r = Router([Deployment("m", "fake/echo")])
    r.completion("m", MSGS)
    client = r._own_client
    assert client is not None and not client.is_closed
    del r
    gc.collect()
    assert client.is_closed
