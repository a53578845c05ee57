"""OpenTelemetry for the gateway: a SERVER span per inbound request, parent of the Router's GenAI
spans (router/_otel.py: ``router.completion`` and one ``chat {model}`` CLIENT span per attempt).

The span follows the HTTP server conventions
(https://opentelemetry.io/docs/specs/semconv/http/http-spans/#http-server): named
``{method} {route}``, with ``http.request.method``, ``http.route``, ``url.path``, ``url.scheme``,
``server.port``, ``client.address`` and ``http.response.status_code`` (status ERROR from 500 up),
and the router's own ``router.inbound`` (the inbound API) and ``router.key`` (the virtual key's
name, never its value). A ``traceparent`` (W3C trace context) on the request continues the
caller's trace.

Turned on by ``gateway.telemetry: true``; spans and metrics go to the global providers (set up by
``opentelemetry-instrument router serve ...`` or by the app), or to those given to ``Gateway``.
Needs ``opentelemetry-api`` (``pip install 'spec-router[otel]'``), imported only then.
"""

from __future__ import annotations

from typing import Any

from router._exceptions import ConfigError

__all__ = ["ServerSpans"]

_INBOUND = {
    "/v1/chat/completions": "openai.chat",
    "/chat/completions": "openai.chat",
    "/v1/responses": "openai.responses",
    "/responses": "openai.responses",
    "/v1/messages": "anthropic.messages",
    "/v1/messages/count_tokens": "anthropic.count_tokens",
}
_PROPAGATED = (b"traceparent", b"tracestate", b"baggage")


class ServerSpans:
    def __init__(self, tracer_provider: Any = None) -> None:
        try:
            # opentelemetry-api: the otel extra's, loaded only when gateway.telemetry is on
            from opentelemetry import context
            from opentelemetry import propagate
            from opentelemetry import trace
        except ImportError:
            raise ConfigError(
                "gateway.telemetry needs opentelemetry-api: pip install 'spec-router[otel]'"
            ) from None
        self._context = context
        self._propagate = propagate
        self._trace = trace
        self._tracer = trace.get_tracer("router.gateway", tracer_provider=tracer_provider)

    def start(self, scope: Any, route: str | None) -> tuple[Any, Any]:
        """Open the request's span and make it current; returns what ``end`` needs."""
        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope.get("headers") or ()
            if name in _PROPAGATED
        }
        parent = self._propagate.extract(carrier) if carrier else None
        method = scope.get("method", "")
        attrs: dict[str, Any] = {
            "http.request.method": method,
            "url.path": scope.get("path", ""),
            "url.scheme": scope.get("scheme", "http"),
        }
        if route is not None:
            attrs["http.route"] = route
        if route in _INBOUND:
            attrs["router.inbound"] = _INBOUND[route]
        server = scope.get("server")
        if server and len(server) > 1 and server[1] is not None:
            attrs["server.port"] = int(server[1])
        client = scope.get("client")
        if client:
            attrs["client.address"] = str(client[0])
        span = self._tracer.start_span(
            f"{method} {route}" if route else method,
            context=parent,
            kind=self._trace.SpanKind.SERVER,
            attributes=attrs,
        )
        token = self._context.attach(self._trace.set_span_in_context(span))
        return span, token

    def end(self, handle: tuple[Any, Any], status: int | None, key: str | None = None) -> None:
        span, token = handle
        try:
            if status is not None:
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_status(self._trace.Status(self._trace.StatusCode.ERROR))
                    span.set_attribute("error.type", str(status))
            if key is not None:
                span.set_attribute("router.key", key)
            span.end()
        finally:
            self._context.detach(token)
