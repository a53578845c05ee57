"""OTelHooks: GenAI spans and metrics from synthetic Router event sequences, read back through the
OpenTelemetry SDK's in-memory span exporter and metric reader."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import ROOT
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from opentelemetry.trace import StatusCode

from router._events import Event
from router._events import emit
from router._exceptions import AuthenticationError
from router._exceptions import RateLimitError
from router._otel import DURATION_BUCKETS
from router._otel import TOKEN_BUCKETS
from router._otel import OTelHooks
from router._otel import provider_name
from router._types import PromptTokensDetails
from router._types import Receipt
from router._types import Usage


@dataclass
class RouterEvent(Event):
    """An Event with the fields OTelHooks reads when the Router sets them (read with getattr)."""

    call_id: int | None = None
    url: str | None = None
    response_model: str | None = None
    response_id: str | None = None


@dataclass
class HitReceipt(Receipt):
    cache_hit: bool = False


class Ends(SpanProcessor):
    """Counts every span's starts and ends, by span id."""

    def __init__(self) -> None:
        self.started: Counter[int] = Counter()
        self.ended: Counter[int] = Counter()
        self.lock = threading.Lock()

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        with self.lock:
            self.started[span.context.span_id] += 1

    def on_end(self, span: ReadableSpan) -> None:
        assert span.context is not None
        with self.lock:
            self.ended[span.context.span_id] += 1


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Telemetry:
    def __init__(self, **kwargs: Any) -> None:
        self.exporter = InMemorySpanExporter()
        self.ends = Ends()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(self.ends)
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.clock = Clock()
        self.hooks = OTelHooks(
            tracer_provider=self.tracer_provider,
            meter_provider=self.meter_provider,
            clock=self.clock,
            **kwargs,
        )

    def send(self, event: Event, advance: float = 0.0) -> None:
        self.clock.now += advance
        emit([self.hooks], event)

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.spans() if s.name == name]

    def points(self, metric: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        out: list[Any] = []
        if data is None:
            return out
        for rm in data.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    if m.name == metric:
                        out.extend(m.data.data_points)
        return out

    def metric(self, metric: str) -> Any:
        data = self.reader.get_metrics_data()
        assert data is not None
        for rm in data.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    if m.name == metric:
                        return m
        raise AssertionError(f"no metric {metric}")

    def assert_each_span_ended_once(self) -> None:
        assert self.ends.started, "no span was started"
        assert set(self.ends.started) == set(self.ends.ended), "a span was started and never ended"
        assert all(n == 1 for n in self.ends.ended.values()), self.ends.ended
        assert all(n == 1 for n in self.ends.started.values())
        assert len(self.spans()) == len(self.ends.ended)
        assert self.hooks.in_flight() == 0


@pytest.fixture
def otel(caplog: pytest.LogCaptureFixture) -> Any:
    caplog.set_level(logging.WARNING)
    t = Telemetry()
    yield t
    # The SDK logs a warning when end() is called on an ended span; a hook that raised is logged too.
    bad = [r for r in caplog.records if r.name.startswith(("opentelemetry", "router"))]
    assert not bad, [r.getMessage() for r in bad]


BASE = {"deployment": "gpt", "provider": "openai", "model": "gpt-4o", "started": 0.0}


def ev(kind: str, **kw: Any) -> RouterEvent:
    args = {**BASE, **kw}
    return RouterEvent(kind, **args)  # type: ignore[arg-type]


def usage(prompt: int, completion: int, cached: int = 0) -> Usage:
    return Usage(prompt, completion, prompt + completion, PromptTokensDetails(cached_tokens=cached))


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def point(points: list[Any], **want: Any) -> Any:
    found = [p for p in points if all(p.attributes.get(k) == v for k, v in want.items())]
    assert len(found) == 1, [dict(p.attributes) for p in points]
    return found[0]


# -- spans ------------------------------------------------------------------------------------------------


def test_success(otel: Telemetry) -> None:
    otel.send(ev("request", call_id=1, url="https://api.openai.com/v1/chat/completions"))
    otel.send(
        ev(
            "response",
            call_id=1,
            duration=1.6,
            usage=usage(12, 30, cached=4),
            cost=0.0021,
            finish_reasons=("stop",),
            response_model="gpt-4o-2024-08-06",
            response_id="chatcmpl-1",
        ),
        advance=1.5,
    )
    otel.assert_each_span_ended_once()
    (span,) = otel.named("chat gpt-4o")
    (call,) = otel.named("router.completion")
    assert span.kind is SpanKind.CLIENT
    assert call.kind is SpanKind.INTERNAL
    assert span.parent is not None and span.parent.span_id == call.context.span_id
    assert span.status.status_code is StatusCode.UNSET
    assert attrs(span) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.response.model": "gpt-4o-2024-08-06",
        "gen_ai.response.id": "chatcmpl-1",
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.usage.output_tokens": 30,
        "gen_ai.usage.cache_read.input_tokens": 4,
        "server.address": "api.openai.com",
        "server.port": 443,
        "router.provider": "openai",
        "router.deployment": "gpt",
        "router.attempt": 0,
        "router.stream": False,
        "router.cost_usd": 0.0021,
    }
    assert attrs(call)["router.attempts"] == 1
    assert attrs(call)["router.fallbacks"] == 0
    assert attrs(call)["router.deployment"] == "gpt"
    assert call.status.status_code is StatusCode.UNSET

    common = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.response.model": "gpt-4o-2024-08-06",
        "server.address": "api.openai.com",
        "server.port": 443,
    }
    duration = otel.metric("gen_ai.client.operation.duration")
    assert duration.unit == "s"
    (d,) = duration.data.data_points
    assert dict(d.attributes) == common
    assert (d.count, d.sum) == (1, pytest.approx(1.5))
    assert tuple(d.explicit_bounds) == DURATION_BUCKETS
    tokens = otel.metric("gen_ai.client.token.usage")
    assert tokens.unit == "{token}"
    assert len(tokens.data.data_points) == 2
    inp = point(tokens.data.data_points, **{"gen_ai.token.type": "input"})
    out = point(tokens.data.data_points, **{"gen_ai.token.type": "output"})
    assert dict(inp.attributes) == {**common, "gen_ai.token.type": "input"}
    assert (inp.count, inp.sum, out.count, out.sum) == (1, 12, 1, 30)
    assert tuple(inp.explicit_bounds) == TOKEN_BUCKETS
    assert otel.points("gen_ai.client.operation.time_to_first_chunk") == []  # not a stream


def test_fallback_then_success(otel: Telemetry) -> None:
    err = RateLimitError("slow down", status=429, provider="openai")
    otel.send(ev("request", call_id=7))
    otel.send(ev("retry", call_id=7, reason="RateLimitError 429", wait=0.5), advance=0.2)
    otel.send(ev("fallback", call_id=7, error=err, reason="RateLimitError 429"), advance=0.8)
    second = {"deployment": "claude", "provider": "anthropic", "model": "claude-sonnet-4-5"}
    otel.send(ev("request", call_id=7, attempt=1, **second))
    otel.send(
        ev("response", call_id=7, attempt=1, usage=usage(10, 5), finish_reasons=("stop",), **second),
        advance=2.0,
    )
    otel.assert_each_span_ended_once()
    (failed,) = otel.named("chat gpt-4o")
    (answered,) = otel.named("chat claude-sonnet-4-5")
    (call,) = otel.named("router.completion")
    for s in (failed, answered):
        assert s.kind is SpanKind.CLIENT
        assert s.parent is not None and s.parent.span_id == call.context.span_id
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.status.description == str(err)
    assert attrs(failed)["error.type"] == "RateLimitError"
    assert attrs(failed)["router.attempt"] == 0
    assert [(e.name, dict(e.attributes or {})) for e in failed.events] == [
        ("router.retry", {"router.reason": "RateLimitError 429", "router.wait": 0.5})
    ]
    assert answered.status.status_code is StatusCode.UNSET
    assert "error.type" not in attrs(answered)
    assert attrs(answered)["gen_ai.provider.name"] == "anthropic"
    assert attrs(answered)["router.attempt"] == 1
    assert call.status.status_code is StatusCode.UNSET
    assert {k: attrs(call)[k] for k in ("router.attempts", "router.fallbacks", "router.deployment")} == {
        "router.attempts": 2,
        "router.fallbacks": 1,
        "router.deployment": "claude",
    }

    durations = otel.points("gen_ai.client.operation.duration")
    assert len(durations) == 2
    bad = point(durations, **{"error.type": "RateLimitError"})
    assert bad.attributes["gen_ai.provider.name"] == "openai"
    assert bad.sum == pytest.approx(1.0)  # the attempt's time, its retry included
    good = point(durations, **{"gen_ai.provider.name": "anthropic"})
    assert "error.type" not in good.attributes
    assert good.sum == pytest.approx(2.0)
    tokens = otel.points("gen_ai.client.token.usage")
    assert {p.attributes["gen_ai.provider.name"] for p in tokens} == {"anthropic"}  # a failure has no usage


def test_error(otel: Telemetry) -> None:
    err = AuthenticationError("bad key", status=401, provider="openai")
    otel.send(ev("request", call_id=3))
    otel.send(ev("error", call_id=3, error=err), advance=0.3)
    otel.assert_each_span_ended_once()
    (span,) = otel.named("chat gpt-4o")
    (call,) = otel.named("router.completion")
    for s in (span, call):
        assert s.status.status_code is StatusCode.ERROR
        assert s.status.description == str(err)
        assert attrs(s)["error.type"] == "AuthenticationError"
    (d,) = otel.points("gen_ai.client.operation.duration")
    assert d.attributes["error.type"] == "AuthenticationError"
    assert d.sum == pytest.approx(0.3)
    assert otel.points("gen_ai.client.token.usage") == []


def test_error_after_fallbacks_ends_the_call_once(otel: Telemetry) -> None:
    err = RateLimitError("slow down", status=429)
    otel.send(ev("request", call_id=4))
    otel.send(ev("fallback", call_id=4, error=err))
    otel.send(ev("request", call_id=4, attempt=1, deployment="b"))
    otel.send(ev("fallback", call_id=4, attempt=1, deployment="b", error=err))
    otel.send(ev("error", call_id=4, attempt=1, deployment="b", error=err))
    otel.assert_each_span_ended_once()
    assert len(otel.named("chat gpt-4o")) == 2
    (call,) = otel.named("router.completion")
    assert call.status.status_code is StatusCode.ERROR
    assert attrs(call)["router.fallbacks"] == 2


def test_stream_time_to_first_chunk(otel: Telemetry) -> None:
    otel.send(ev("request", call_id=5, stream=True))
    otel.send(
        ev("response", call_id=5, stream=True, time_to_first_token=0.25, usage=usage(3, 40)), advance=4.0
    )
    otel.assert_each_span_ended_once()
    (span,) = otel.named("chat gpt-4o")
    assert attrs(span)["router.stream"] is True
    assert attrs(span)["gen_ai.response.time_to_first_chunk"] == 0.25
    ttfc = otel.metric("gen_ai.client.operation.time_to_first_chunk")
    assert ttfc.unit == "s"
    (p,) = ttfc.data.data_points
    assert (p.count, p.sum) == (1, 0.25)
    assert tuple(p.explicit_bounds) == DURATION_BUCKETS
    assert p.attributes["gen_ai.provider.name"] == "openai"
    (d,) = otel.points("gen_ai.client.operation.duration")
    assert d.sum == pytest.approx(4.0)


def test_error_with_nothing_sent_still_ends_a_call_span(otel: Telemetry) -> None:
    otel.send(ev("error", call_id=9, reason="RateLimitError: every deployment is cooling down"))
    otel.assert_each_span_ended_once()
    (call,) = otel.spans()
    assert call.name == "router.completion"
    assert call.status.status_code is StatusCode.ERROR
    assert attrs(call)["error.type"] == "RateLimitError"
    assert attrs(call)["router.attempts"] == 0
    assert otel.points("gen_ai.client.operation.duration") == []  # no model was called


def test_events_without_a_request_are_ignored(otel: Telemetry) -> None:
    otel.send(ev("response", call_id=11))
    otel.send(ev("fallback", call_id=12))
    otel.send(ev("retry", call_id=13))
    assert otel.spans() == []
    assert otel.hooks.in_flight() == 0


def test_interleaved_calls_are_kept_apart_by_call_id(otel: Telemetry) -> None:
    # Two calls begun in the same clock tick (same `started`): call_id keeps them apart.
    otel.send(ev("request", call_id=1, started=5.0, model="m1"))
    otel.send(ev("request", call_id=2, started=5.0, model="m2"))
    otel.send(ev("error", call_id=1, started=5.0, model="m1", error=RateLimitError("x")))
    otel.send(ev("response", call_id=2, started=5.0, model="m2"))
    otel.assert_each_span_ended_once()
    (m1,) = otel.named("chat m1")
    (m2,) = otel.named("chat m2")
    assert m1.status.status_code is StatusCode.ERROR
    assert m2.status.status_code is StatusCode.UNSET
    assert m1.parent is not None and m2.parent is not None and m1.parent.span_id != m2.parent.span_id


def test_without_call_id_the_key_is_started(otel: Telemetry) -> None:
    plain = {"deployment": "gpt", "provider": "openai", "model": "gpt-4o"}
    otel.send(Event("request", started=1.0, **plain))
    otel.send(Event("request", started=2.0, **plain))
    otel.send(Event("response", started=2.0, **plain))
    otel.send(Event("error", started=1.0, error=RateLimitError("x"), **plain))
    otel.assert_each_span_ended_once()
    statuses = sorted(s.status.status_code.name for s in otel.named("chat gpt-4o"))
    assert statuses == ["ERROR", "UNSET"]


def test_an_ending_event_numbered_for_the_next_attempt(otel: Telemetry) -> None:
    # router._router counts a failure before it emits the fallback / error event: the event that
    # ends attempt 0 says attempt=1. It still ends attempt 0, with its own error.type.
    err = RateLimitError("slow down", status=429)
    otel.send(ev("request", call_id=1, attempt=0))
    otel.send(ev("retry", call_id=1, attempt=0, reason="RateLimitError (429)", wait=0.1))
    otel.send(ev("fallback", call_id=1, attempt=1, error=err), advance=1.0)
    otel.send(ev("request", call_id=1, attempt=1, model="m2"))
    otel.send(ev("error", call_id=1, attempt=2, model="m2", error=AuthenticationError("no")), advance=0.5)
    otel.assert_each_span_ended_once()
    (first,) = otel.named("chat gpt-4o")
    (second,) = otel.named("chat m2")
    assert attrs(first)["error.type"] == "RateLimitError"
    assert len(first.events) == 1
    assert attrs(second)["error.type"] == "AuthenticationError"
    durations = otel.points("gen_ai.client.operation.duration")
    assert point(durations, **{"error.type": "RateLimitError"}).sum == pytest.approx(1.0)
    assert point(durations, **{"error.type": "AuthenticationError"}).sum == pytest.approx(0.5)


def test_a_cache_hit_with_nothing_sent_gets_a_call_span(otel: Telemetry) -> None:
    receipt = HitReceipt("openai", "gpt-4o", cache_hit=True)
    otel.send(ev("response", call_id=1, receipt=receipt, usage=usage(5, 5)))
    otel.assert_each_span_ended_once()
    (call,) = otel.spans()
    assert call.name == "router.completion"
    assert attrs(call)["router.cache_hit"] is True
    assert attrs(call)["router.attempts"] == 0
    assert otel.points("gen_ai.client.operation.duration") == []
    assert otel.points("gen_ai.client.token.usage") == []


def test_hedged_loser_and_duplicate_request_end_cancelled(otel: Telemetry) -> None:
    otel.send(ev("request", call_id=1, attempt=0))
    otel.send(ev("request", call_id=1, attempt=0))  # the same attempt again: the first is superseded
    otel.send(ev("request", call_id=1, attempt=1, model="fast"))  # raced alongside
    otel.send(ev("response", call_id=1, attempt=1, model="fast"))
    otel.assert_each_span_ended_once()
    slow = otel.named("chat gpt-4o")
    assert len(slow) == 2
    assert all(attrs(s)["error.type"] == "cancelled" for s in slow)
    (fast,) = otel.named("chat fast")
    assert fast.status.status_code is StatusCode.UNSET


def test_max_in_flight_ends_abandoned_calls(caplog: pytest.LogCaptureFixture) -> None:
    t = Telemetry(max_in_flight=2)
    for i in range(5):  # streams dropped unread: no end event ever comes
        t.send(ev("request", call_id=i))
    assert t.hooks.in_flight() == 2
    ended = [s for s in t.spans() if s.name == "router.completion"]
    assert len(ended) == 3
    assert all(attrs(s)["error.type"] == "cancelled" for s in ended)
    attempts = [s for s in t.spans() if s.name == "chat gpt-4o"]
    assert len(attempts) == 3
    assert all(attrs(s)["error.type"] == "cancelled" for s in attempts)
    for i in (3, 4):
        t.send(ev("response", call_id=i))
    t.assert_each_span_ended_once()
    with pytest.raises(ValueError):
        OTelHooks(max_in_flight=0)


def test_call_spans_off_and_the_callers_span_as_parent(otel: Telemetry) -> None:
    t = Telemetry(call_spans=False)
    outer_tracer = t.tracer_provider.get_tracer("app")
    with outer_tracer.start_as_current_span("handler") as outer:
        t.send(ev("request", call_id=1))
        t.send(ev("response", call_id=1))
    t.assert_each_span_ended_once()
    (span,) = t.named("chat gpt-4o")
    assert span.parent is not None and span.parent.span_id == outer.get_span_context().span_id
    assert t.named("router.completion") == []

    with outer_tracer.start_as_current_span("handler2") as outer2:
        otel.send(ev("request", call_id=2))
    otel.send(ev("response", call_id=2))  # the call span was parented when the call began
    (call,) = otel.named("router.completion")
    assert call.parent is not None and call.parent.span_id == outer2.get_span_context().span_id
    assert trace.get_current_span() is trace.INVALID_SPAN


def test_server_address_never_keeps_the_url(otel: Telemetry) -> None:
    url = "https://generativelanguage.googleapis.com/v1beta/models/g:generateContent?key=AIzaSECRET"
    otel.send(ev("request", call_id=1, provider="gemini", model="gemini-2.5-flash", url=url))
    otel.send(ev("response", call_id=1, provider="gemini", model="gemini-2.5-flash", url=url))
    otel.send(ev("request", call_id=2, url="http://localhost:11434/api/chat", provider="ollama"))
    otel.send(ev("response", call_id=2, provider="ollama"))
    otel.send(ev("request", call_id=3, url="fake://fake.local/v1", provider="fake"))
    otel.send(ev("response", call_id=3, provider="fake"))
    gem, oll, fake = (attrs(s) for s in otel.spans() if s.name.startswith("chat"))
    assert (gem["server.address"], gem["server.port"], gem["gen_ai.provider.name"]) == (
        "generativelanguage.googleapis.com",
        443,
        "gcp.gemini",
    )
    assert (oll["server.address"], oll["server.port"], oll["gen_ai.provider.name"]) == (
        "localhost",
        11434,
        "ollama",
    )
    assert fake["server.address"] == "fake.local" and "server.port" not in fake
    everything = repr([attrs(s) for s in otel.spans()]) + repr(otel.reader.get_metrics_data())
    assert "AIzaSECRET" not in everything


def test_provider_names() -> None:
    assert provider_name("openai") == "openai"
    assert provider_name("openai-responses") == "openai"
    assert provider_name("azure-openai") == "azure.ai.openai"
    assert provider_name("anthropic") == "anthropic"
    assert provider_name("gemini") == "gcp.gemini"
    assert provider_name("bedrock") == "aws.bedrock"
    assert provider_name("xai") == "x_ai"
    assert provider_name("mistral") == "mistral_ai"
    assert provider_name("cohere-compat") == "cohere"
    assert provider_name("ollama") == "ollama"  # no well-known value: our id, a custom value


def test_cache_hit_records_no_metric(otel: Telemetry) -> None:
    receipt = HitReceipt("openai", "gpt-4o", cache_hit=True)
    otel.send(ev("request", call_id=1, receipt=receipt))
    otel.send(ev("response", call_id=1, receipt=receipt, usage=usage(5, 5)))
    otel.assert_each_span_ended_once()
    (span,) = otel.named("chat gpt-4o")
    assert attrs(span)["router.cache_hit"] is True
    assert otel.points("gen_ai.client.operation.duration") == []
    assert otel.points("gen_ai.client.token.usage") == []


def test_threads_share_one_hooks(otel: Telemetry) -> None:
    def run(worker: int) -> None:
        for n in range(50):
            cid = worker * 1000 + n
            otel.hooks.on_request(ev("request", call_id=cid))
            if n % 3 == 0:
                otel.hooks.on_fallback(ev("fallback", call_id=cid, error=RateLimitError("x")))
                otel.hooks.on_request(ev("request", call_id=cid, attempt=1))
            if n % 5 == 0:
                otel.hooks.on_error(ev("error", call_id=cid, attempt=1, error=RateLimitError("x")))
            else:
                otel.hooks.on_response(
                    ev("response", call_id=cid, attempt=int(n % 3 == 0), usage=usage(1, 1))
                )

    threads = [threading.Thread(target=run, args=(w,)) for w in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    otel.assert_each_span_ended_once()
    assert len(otel.named("router.completion")) == 400
    durations = otel.points("gen_ai.client.operation.duration")
    assert sum(p.count for p in durations) == len(otel.named("chat gpt-4o"))


# -- the import path --------------------------------------------------------------------------------------


def test_import_router_does_not_import_opentelemetry() -> None:
    code = (
        "import sys, router\n"
        "router.completion('fake/echo', [{'role': 'user', 'content': 'hi'}])\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'opentelemetry')\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True)


def test_missing_opentelemetry_is_a_config_error() -> None:
    code = (
        "import sys\n"
        "sys.modules['opentelemetry'] = None\n"  # as if it were not installed
        "import router\n"
        "try:\n"
        "    import router._otel\n"
        "except router.ConfigError as e:\n"
        "    assert 'spec-router[otel]' in str(e), e\n"
        "else:\n"
        "    raise SystemExit('no ConfigError')\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True)
