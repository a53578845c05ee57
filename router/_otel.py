"""OpenTelemetry for a ``Router``: GenAI client spans and metrics, made from its hook events.

>>> from router._otel import OTelHooks
>>> r = router.Router([...], hooks=[OTelHooks()])        # the global tracer and meter providers
>>> r = router.Router([...], hooks=[OTelHooks(tracer_provider=tp, meter_provider=mp)])

Needs ``opentelemetry-api`` (``pip install 'spec-router[otel]'``); importing this module without it
raises ``ConfigError``. ``import router`` never imports OpenTelemetry.

It follows the OpenTelemetry semantic conventions for generative AI (status: Development), as
written in https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/ and
https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-metrics/ (the metric
``gen_ai.client.operation.time_to_first_chunk`` is in the newer copy of that page kept in the
open-telemetry/semantic-conventions-genai repository, docs/gen-ai/gen-ai-metrics.md).

Spans. One span per *attempt*: a request to one deployment, kind CLIENT, named
``chat {gen_ai.request.model}``. The conventions make a span one call to a model as the caller sees
it, retries of that same request included ("if a transient issue happened and the request was
retried automatically, the span SHOULD cover the duration of the logical operation with all
retries"). A fallback is a different request (another provider, another model, another
translation), so it is another span; the transport's retries of one deployment stay inside the
attempt's span, as ``router.retry`` span events. With ``call_spans=True`` (the default) the
attempts of one Router call share a parent span, kind INTERNAL, named ``router.completion``,
which holds the call's outcome (``router.attempts``, ``router.fallbacks``, ``router.deployment``
and ``error.type`` when the call failed, also when no deployment was even tried); it is a child of
the span current when the call began.

Attempt span attributes: ``gen_ai.operation.name`` ("chat"), ``gen_ai.provider.name`` (the
convention's well-known value where one exists, see ``PROVIDER_NAMES``, else the router's provider
id), ``gen_ai.request.model``, ``gen_ai.response.model``, ``gen_ai.response.id``,
``gen_ai.response.finish_reasons``, ``gen_ai.usage.input_tokens``, ``gen_ai.usage.output_tokens``,
``gen_ai.usage.cache_read.input_tokens`` (non-zero only), ``gen_ai.response.time_to_first_chunk``
(streams), ``server.address`` / ``server.port``, ``error.type`` (the error's class name, e.g.
``RateLimitError``) with status ERROR on failure; and the router's own: ``router.provider``,
``router.deployment``, ``router.attempt``, ``router.stream``, ``router.cost_usd``,
``router.cache_hit``.

Metrics (histograms, with the conventions' explicit bucket advice): ``gen_ai.client.operation.duration``
(s; one point per attempt, ``error.type`` on failed ones), ``gen_ai.client.token.usage``
({token}; ``gen_ai.token.type`` input / output, when the answer carried usage) and
``gen_ai.client.operation.time_to_first_chunk`` (s; streams only). Metric attributes are the
low-cardinality ones: operation, provider, request and response model, server address and port.
A cache hit (``receipt.cache_hit``) is marked on its span and records no metric: no model was
called, and no token was billed.

What it reads on an ``Event``: ``kind``, ``deployment``, ``provider``, ``model``, ``stream``,
``attempt``, ``started``, ``time_to_first_token``, ``usage``, ``cost``, ``receipt``, ``error``,
``reason``, ``wait``, ``finish_reasons``, ``attempts``; and, when the Router sets them (read with
``getattr``, so absent is fine): ``call_id`` (an int unique to the call, the same on all its
events: the key of its in-flight state; without it the key is ``started``, which two calls begun
in the same clock tick would share), ``url`` (the request's URL: only its host and port are read,
never the URL itself, which may hold a key), ``response_model`` and ``response_id``.

Every span is ended exactly once: ``request`` opens an attempt; ``fallback`` ends it with
``error.type``; ``response`` ends it OK; ``error`` ends it with ``error.type``. ``response`` and
``error`` end the call. An ending event ends the open attempt of its ``attempt`` index, else the
call's latest opened one (a Router may number the event that ends an attempt with the index of the
attempt after it). A ``response`` with nothing open and ``receipt.cache_hit`` (answered from the
cache) gets a call span of its own, marked ``router.cache_hit``. Attempts of the call still open then (hedged requests that lost) end with
``error.type`` "cancelled". A call never ended (a stream dropped unread, with no event after it)
stays open until ``max_in_flight`` newer calls push it out; it then ends "cancelled" too.

State lives in dicts under a ``threading.Lock`` held only for the dict operations, so one
``OTelHooks`` serves every thread and asyncio task; the events of one call are expected in order
(as one Router call emits them).
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from urllib.parse import urlsplit

from router._events import Event
from router._events import Hooks
from router._exceptions import ConfigError

try:
    from opentelemetry import metrics as otel_metrics
    from opentelemetry import trace as otel_trace
    from opentelemetry.metrics import Histogram
    from opentelemetry.metrics import Meter
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import Span
    from opentelemetry.trace import SpanKind
    from opentelemetry.trace import Status
    from opentelemetry.trace import StatusCode
    from opentelemetry.trace import TracerProvider
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by tests/test_otel.py
    raise ConfigError(
        "router's OpenTelemetry hooks need the opentelemetry-api package: install spec-router[otel]"
    ) from exc

__all__ = ["DURATION_BUCKETS", "PROVIDER_NAMES", "TOKEN_BUCKETS", "OTelHooks", "provider_name"]

# The router's provider ids whose provider the conventions name (gen_ai.provider.name's well-known
# values); any other id is used as it is (a custom value, which the conventions allow).
PROVIDER_NAMES: dict[str, str] = {
    "openai": "openai",
    "openai-responses": "openai",
    "azure-openai": "azure.ai.openai",
    "azure": "azure.ai.openai",
    "azure-ai-inference": "azure.ai.inference",
    "anthropic": "anthropic",
    "gemini": "gcp.gemini",
    "vertex": "gcp.vertex_ai",
    "vertex-ai": "gcp.vertex_ai",
    "vertex_ai": "gcp.vertex_ai",
    "bedrock": "aws.bedrock",
    "aws-bedrock": "aws.bedrock",
    "cohere": "cohere",
    "cohere-compat": "cohere",
    "deepseek": "deepseek",
    "groq": "groq",
    "mistral": "mistral_ai",
    "perplexity": "perplexity",
    "xai": "x_ai",
    "watsonx": "ibm.watsonx.ai",
    "moonshot": "moonshot_ai",
}

# The conventions' ExplicitBucketBoundaries advice.
DURATION_BUCKETS: tuple[float, ...] = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
TOKEN_BUCKETS: tuple[float, ...] = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip

OPERATION = "chat"
CANCELLED = "cancelled"  # error.type of an attempt or call that ended with no event of its own
_DEFAULT_PORTS = {"https": 443, "http": 80}
_ERROR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


def provider_name(provider: str) -> str:
    """``gen_ai.provider.name`` for a router provider id."""
    return PROVIDER_NAMES.get(provider, provider)


def _server(url: object) -> tuple[str | None, int | None]:
    """(host, port) of a URL; the rest of it (a query may hold a key) is never kept."""
    if not isinstance(url, str) or not url:
        return None, None
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None, None
    if port is None:
        port = _DEFAULT_PORTS.get(parts.scheme.lower())
    return (host or None), (port if host else None)


def _error_type(event: Event) -> str:
    """``error.type``: the error's class name, else the reason's leading name, else ``_OTHER``."""
    if event.error is not None:
        return type(event.error).__name__
    found = _ERROR_NAME.match(event.reason or "")
    return found.group(0) if found else "_OTHER"


def _first_line(error: BaseException | None, reason: str | None) -> str:
    text = str(error) if error is not None else (reason or "")
    return text.strip().splitlines()[0][:200] if text.strip() else ""


@dataclass(slots=True)
class _Attempt:
    span: Span
    begun: float  # clock() at the request event
    metric_attrs: dict[str, str | int]


@dataclass(slots=True)
class _Call:
    span: Span | None
    attempts: dict[int, _Attempt] = field(default_factory=dict)
    tried: int = 0
    fallbacks: int = 0


class OTelHooks(Hooks):
    """Router hooks that make OpenTelemetry GenAI spans and metrics (see the module's docstring).

    ``tracer_provider`` / ``meter_provider``: default the global ones. ``call_spans``: a parent
    span per Router call over its attempts. ``max_in_flight``: calls kept open at most (older ones
    are ended "cancelled"). ``clock``: seconds, for attempt durations (``time.monotonic``).
    """

    def __init__(
        self,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        call_spans: bool = True,
        max_in_flight: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, not {max_in_flight}")
        self._tracer = otel_trace.get_tracer("router", tracer_provider=tracer_provider)
        meter = otel_metrics.get_meter("router", meter_provider=meter_provider)
        self._duration = _histogram(
            meter, "gen_ai.client.operation.duration", "s", "GenAI operation duration.", DURATION_BUCKETS
        )
        self._tokens = _histogram(
            meter,
            "gen_ai.client.token.usage",
            "{token}",
            "Number of input and output tokens used.",
            TOKEN_BUCKETS,
        )
        self._first_chunk = _histogram(
            meter,
            "gen_ai.client.operation.time_to_first_chunk",
            "s",
            "Time to receive the first chunk, measured from when the client issues the generation "
            "request to when the first chunk is received in the response stream.",
            DURATION_BUCKETS,
        )
        self._call_spans = call_spans
        self._max = max_in_flight
        self._clock = clock
        self._lock = threading.Lock()
        self._calls: OrderedDict[object, _Call] = OrderedDict()

    # -- the hooks ---------------------------------------------------------------------------------

    def on_request(self, event: Event) -> None:
        key = _call_key(event)
        with self._lock:
            call = self._calls.get(key)
        evicted: list[_Call] = []
        if call is None:
            call = _Call(self._start_call_span(event) if self._call_spans else None)
            with self._lock:
                self._calls[key] = call
                while len(self._calls) > self._max:
                    evicted.append(self._calls.popitem(last=False)[1])
        for old in evicted:
            with self._lock:
                left = list(old.attempts.values())
                old.attempts.clear()
            for attempt in left:
                self._end_attempt(attempt, None, CANCELLED, "the router sent no end event for this call")
            self._end_call(old, None, CANCELLED, "the router sent no end event for this call")
        parent = otel_trace.set_span_in_context(call.span) if call.span is not None else None
        host, port = _server(getattr(event, "url", None))
        metric_attrs: dict[str, str | int] = {
            "gen_ai.operation.name": OPERATION,
            "gen_ai.provider.name": provider_name(event.provider),
            "gen_ai.request.model": event.model,
        }
        if host is not None:
            metric_attrs["server.address"] = host
            if port is not None:
                metric_attrs["server.port"] = port
        span = self._tracer.start_span(
            f"{OPERATION} {event.model}",
            context=parent,
            kind=SpanKind.CLIENT,
            attributes={
                **metric_attrs,
                "router.provider": event.provider,
                "router.deployment": event.deployment,
                "router.attempt": event.attempt,
                "router.stream": event.stream,
            },
        )
        with self._lock:
            stale = call.attempts.pop(event.attempt, None)
            call.attempts[event.attempt] = _Attempt(span, self._clock(), metric_attrs)
            call.tried += 1
        if stale is not None:  # a second request for the same attempt: the first gets its end
            self._end_attempt(stale, None, CANCELLED, "superseded by another request for this attempt")

    def on_retry(self, event: Event) -> None:
        with self._lock:
            call = self._calls.get(_call_key(event))
            attempt = _find(call, event, pop=False) if call is not None else None
        if attempt is None:
            return
        attrs: dict[str, str | float] = {}
        if event.reason:
            attrs["router.reason"] = event.reason
        if event.wait is not None:
            attrs["router.wait"] = float(event.wait)
        attempt.span.add_event("router.retry", attrs)

    def on_fallback(self, event: Event) -> None:
        with self._lock:
            call = self._calls.get(_call_key(event))
            attempt = _find(call, event, pop=True) if call is not None else None
            if call is not None:
                call.fallbacks += 1
        if attempt is not None:
            self._end_attempt(attempt, event, _error_type(event), _first_line(event.error, event.reason))

    def on_response(self, event: Event) -> None:
        call, attempt, others = self._take_call(event)
        if call is None and self._call_spans and getattr(event.receipt, "cache_hit", False):
            call = _Call(self._start_call_span(event))  # answered from the cache: nothing was sent
        if attempt is not None:
            self._end_attempt(attempt, event, None, "")
        for other in others:
            self._end_attempt(other, None, CANCELLED, "another attempt answered first")
        if call is not None:
            self._end_call(call, event, None, "")

    def on_error(self, event: Event) -> None:
        call, attempt, others = self._take_call(event)
        error_type = _error_type(event)
        message = _first_line(event.error, event.reason)
        if attempt is not None:
            self._end_attempt(attempt, event, error_type, message)
        for other in others:
            self._end_attempt(other, None, CANCELLED, "the call failed")
        if call is None and self._call_spans:  # nothing was tried (every deployment skipped)
            call = _Call(self._start_call_span(event))
        if call is not None:
            self._end_call(call, event, error_type, message)

    # -- the work ----------------------------------------------------------------------------------

    def _take_call(self, event: Event) -> tuple[_Call | None, _Attempt | None, list[_Attempt]]:
        with self._lock:
            call = self._calls.pop(_call_key(event), None)
            if call is None:
                return None, None, []
            attempt = _find(call, event, pop=True)
            others = list(call.attempts.values())
            call.attempts.clear()
        return call, attempt, others

    def _start_call_span(self, event: Event) -> Span:
        start: int | None = None
        if event.started > 0:  # the call began at event.started (time.monotonic()): date the span from it
            ago = time.monotonic() - event.started
            if 0 <= ago < 300:  # else ``started`` came from another clock (a Router's injected one)
                start = time.time_ns() - int(ago * 1e9)
        return self._tracer.start_span(
            "router.completion",
            kind=SpanKind.INTERNAL,
            attributes={"router.stream": event.stream},
            start_time=start,
        )

    def _end_attempt(
        self, attempt: _Attempt, event: Event | None, error_type: str | None, message: str
    ) -> None:
        span = attempt.span
        duration = max(0.0, self._clock() - attempt.begun)
        attrs = dict(attempt.metric_attrs)
        cache_hit = False
        if event is not None:
            cache_hit = bool(getattr(event.receipt, "cache_hit", False))
            response_model = getattr(event, "response_model", None)
            if isinstance(response_model, str) and response_model:
                attrs["gen_ai.response.model"] = response_model
            response_id = getattr(event, "response_id", None)
            if isinstance(response_id, str) and response_id:
                span.set_attribute("gen_ai.response.id", response_id)
            if event.finish_reasons:
                span.set_attribute("gen_ai.response.finish_reasons", list(event.finish_reasons))
            usage = event.usage
            if usage is not None:
                span.set_attribute("gen_ai.usage.input_tokens", usage.prompt_tokens)
                span.set_attribute("gen_ai.usage.output_tokens", usage.completion_tokens)
                cached = usage.prompt_tokens_details.cached_tokens
                if cached:
                    span.set_attribute("gen_ai.usage.cache_read.input_tokens", cached)
            if event.stream and event.time_to_first_token is not None:
                span.set_attribute("gen_ai.response.time_to_first_chunk", float(event.time_to_first_token))
            if event.cost is not None:
                span.set_attribute("router.cost_usd", float(event.cost))
            if cache_hit:
                span.set_attribute("router.cache_hit", True)
        if "gen_ai.response.model" in attrs:
            span.set_attribute("gen_ai.response.model", attrs["gen_ai.response.model"])
        if error_type is not None:
            attrs["error.type"] = error_type
            span.set_attribute("error.type", error_type)
            span.set_status(Status(StatusCode.ERROR, message or None))
        span.end()
        if cache_hit:
            return
        self._duration.record(duration, attrs)
        if event is None:
            return
        if event.stream and event.time_to_first_token is not None:
            ttfc = {k: v for k, v in attrs.items() if k != "error.type"}
            self._first_chunk.record(float(event.time_to_first_token), ttfc)
        if event.usage is not None and error_type is None:
            base = {k: v for k, v in attrs.items() if k != "error.type"}
            self._tokens.record(event.usage.prompt_tokens, {**base, "gen_ai.token.type": "input"})
            self._tokens.record(event.usage.completion_tokens, {**base, "gen_ai.token.type": "output"})

    def _end_call(self, call: _Call, event: Event | None, error_type: str | None, message: str) -> None:
        span = call.span
        if span is None:
            return
        span.set_attribute("router.attempts", call.tried)
        span.set_attribute("router.fallbacks", call.fallbacks)
        if event is not None:
            if error_type is None:
                span.set_attribute("router.deployment", event.deployment)
                span.set_attribute("router.provider", event.provider)
            if event.cost is not None:
                span.set_attribute("router.cost_usd", float(event.cost))
            if getattr(event.receipt, "cache_hit", False):
                span.set_attribute("router.cache_hit", True)
        if error_type is not None:
            span.set_attribute("error.type", error_type)
            span.set_status(Status(StatusCode.ERROR, message or None))
        span.end()

    def in_flight(self) -> int:
        """Calls begun and not yet ended (for tests and leak checks)."""
        with self._lock:
            return len(self._calls)


def _find(call: _Call, event: Event, *, pop: bool) -> _Attempt | None:
    """The open attempt an event is about: the one of its ``attempt`` index, else the latest opened
    (one call has one attempt open at a time, and an event that ends it may carry the index of the
    attempt that comes next)."""
    index = event.attempt if event.attempt in call.attempts else next(reversed(call.attempts), None)
    if index is None:
        return None
    return call.attempts.pop(index) if pop else call.attempts[index]


def _call_key(event: Event) -> object:
    call_id: Any = getattr(event, "call_id", None)
    return ("call_id", call_id) if call_id is not None else ("started", event.started)


def _histogram(meter: Meter, name: str, unit: str, description: str, buckets: Sequence[float]) -> Histogram:
    try:
        return meter.create_histogram(name, unit, description, explicit_bucket_boundaries_advisory=buckets)
    except TypeError:  # opentelemetry-api before 1.26 has no bucket advice
        return meter.create_histogram(name, unit, description)
