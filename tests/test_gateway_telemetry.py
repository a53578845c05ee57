"""gateway.telemetry: a SERVER span per request, the caller's traceparent continued, the Router's
GenAI spans beneath it (router.completion, then one ``chat`` CLIENT span per attempt), and the GenAI
metrics. The ASGI app is driven in process, on the fake provider, with the SDK's in-memory exporter."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from opentelemetry.trace import StatusCode

from router import Deployment
from router import Router
from router.gateway import Gateway
from router.gateway import hash_key
from router.gateway._config import GatewayConfig
from router.gateway._config import VirtualKey
from router.gateway._state import KeyLimits

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
KEY = "sk-otel-SECRET-1"


async def _asgi(app: Any, method: str, path: str, body: Any = None, headers: Any = ()) -> tuple[int, bytes]:
    raw = json.dumps(body).encode() if body is not None else b""
    sent: list[dict[str, Any]] = []
    pending = [{"type": "http.request", "body": raw, "more_body": False}]

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop()
        await asyncio.sleep(3600)  # no disconnect while the app answers
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "scheme": "http",
        "server": ("127.0.0.1", 4000),
        "client": ("127.0.0.1", 50000),
        "headers": [(b"content-type", b"application/json"), *headers],
    }
    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def _setup() -> tuple[Gateway, InMemorySpanExporter, InMemoryMetricReader]:
    exporter = InMemorySpanExporter()
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    mp = MeterProvider(metric_readers=[reader])
    config = GatewayConfig(
        keys={hash_key(KEY): VirtualKey("team-a", hash_key(KEY), (), KeyLimits(None, None, None))},
        telemetry=True,
    )
    router = Router([Deployment("echo", "fake/echo")])
    return Gateway(router, config, tracer_provider=tp, meter_provider=mp), exporter, reader


def test_spans_nest_under_the_request_and_continue_the_callers_trace() -> None:
    gw, exporter, reader = _setup()
    auth = (b"authorization", f"Bearer {KEY}".encode())
    body = {"model": "echo", "messages": [{"role": "user", "content": "hi"}]}

    async def run() -> None:
        status, _ = await _asgi(
            gw, "POST", "/v1/chat/completions", body, [auth, (b"traceparent", TRACEPARENT.encode())]
        )
        assert status == 200
        status, data = await _asgi(gw, "POST", "/v1/chat/completions", {**body, "stream": True}, [auth])
        assert status == 200 and data.rstrip().endswith(b"data: [DONE]")
        status, _ = await _asgi(gw, "POST", "/v1/chat/completions", body)  # no key
        assert status == 401

    asyncio.run(run())
    spans = exporter.get_finished_spans()
    servers = [s for s in spans if s.kind == SpanKind.SERVER]
    assert [s.name for s in servers] == ["POST /v1/chat/completions"] * 3
    first, streamed, refused = servers
    assert format(first.context.trace_id, "032x") == TRACE_ID  # the caller's trace, continued
    assert first.parent is not None and format(first.parent.span_id, "016x") == "00f067aa0ba902b7"
    assert first.attributes["http.response.status_code"] == 200
    assert first.attributes["router.inbound"] == "openai.chat"
    assert first.attributes["router.key"] == "team-a"
    assert refused.attributes["http.response.status_code"] == 401 and "router.key" not in refused.attributes
    assert refused.status.status_code != StatusCode.ERROR  # a client's error is not the server's
    for server in (first, streamed):
        call = next(
            s for s in spans if s.name == "router.completion" and s.parent.span_id == server.context.span_id
        )
        chat = next(
            s for s in spans if s.kind == SpanKind.CLIENT and s.parent.span_id == call.context.span_id
        )
        assert chat.name == "chat echo" and chat.attributes["gen_ai.operation.name"] == "chat"
        assert chat.context.trace_id == server.context.trace_id
    assert streamed.context.trace_id != first.context.trace_id  # no traceparent: a new trace
    for s in spans:  # the virtual key's value is never on a span
        assert KEY not in json.dumps({k: str(v) for k, v in (s.attributes or {}).items()})
    names = {
        m.name
        for rm in reader.get_metrics_data().resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
    }
    assert "gen_ai.client.operation.duration" in names
