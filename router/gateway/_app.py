"""The gateway's ASGI application: one ``Gateway`` object is the app (any ASGI server runs it;
``router serve`` runs it on granian).

A request goes: route → virtual key (``Authorization: Bearer`` or ``x-api-key``, compared by hash)
→ body (bounded by ``max_body_bytes``) → inbound codec → the key's allowed models → one atomic
reserve of its limits (``_state``) → the same ``Router`` the library uses → reconcile with the real
usage and cost → the answer in the inbound API's shape, with the receipt in ``x-router-*`` headers →
one spend-log record and the metrics.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import time
from collections.abc import AsyncGenerator
from collections.abc import Awaitable
from collections.abc import Callable
from pathlib import Path
from typing import Any

from router._accumulate import StreamAccumulator
from router._config_file import read_config
from router._exceptions import APIError
from router._exceptions import InvalidResponseError
from router._exceptions import RouterError
from router._registry import adapter
from router._registry import provider_ids
from router._router import HealthChange
from router._router import Router
from router._router import _finishes
from router._router import _has_content
from router._tokens import count_tokens
from router._types import ChatCompletion
from router._types import ChatCompletionChunk
from router._types import Receipt
from router._types import Usage
from router.gateway import _anthropic
from router.gateway import _openai
from router.gateway import _responses
from router.gateway._config import GatewayConfig
from router.gateway._config import VirtualKey
from router.gateway._errors import GatewayError
from router.gateway._errors import from_router_error
from router.gateway._metrics import JsonlSink
from router.gateway._metrics import Metrics
from router.gateway._passthrough import Passthrough
from router.gateway._passthrough import open_passthrough
from router.gateway._passthrough import passable
from router.gateway._pool import gateway_client
from router.gateway._state import Denied
from router.gateway._state import MemoryState
from router.gateway._state import RedisState
from router.gateway._state import State
from router.gateway._state import StateUnavailable
from router.gateway._state import Ticket
from router.gateway._telemetry import ServerSpans

__all__ = ["Gateway"]

log = logging.getLogger("router.gateway")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_JSON = (b"content-type", b"application/json")
_SSE = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
_PASSED = (b"x-router-passthrough", b"true")


class _Reply:
    """``send`` with a memory of whether the response head went out (after it, errors go in-band)."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.started = False
        self.closed = False  # the client went away
        self.status: int | None = None

    async def head(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        self.started = True
        self.status = status
        await self._send({"type": "http.response.start", "status": status, "headers": headers})

    async def body(self, data: bytes, more: bool = False) -> None:
        if self.closed:
            return
        try:
            await self._send({"type": "http.response.body", "body": data, "more_body": more})
        except Exception:  # the server's "client disconnected" (its class differs by server)
            self.closed = True


class _Call:
    """What one request is: for the log, the metrics and the overhead header."""

    def __init__(self, start: float, key: VirtualKey | None, model: str, stream: bool) -> None:
        self.start = start
        self.key = key
        self.model = model
        self.stream = stream
        self.upstream_s = 0.0  # time spent awaiting the Router (the provider and the library's codecs)
        self.status = 200
        self.error: str | None = None
        self.receipt: Receipt | None = None
        self.usage: Usage | None = None
        self.cost: float | None = None

    def overhead_ms(self) -> float:
        return max((time.perf_counter() - self.start - self.upstream_s) * 1000, 0.0)


def _json_object(body: bytes) -> bool:
    """Whether an upstream error body is a JSON object (its API's own error shape, passed on)."""
    if not body.lstrip().startswith(b"{"):
        return False
    try:
        return isinstance(json.loads(body), dict)
    except (ValueError, RecursionError):
        return False


def _receipt_headers(call: _Call) -> list[tuple[bytes, bytes]]:
    out: list[tuple[bytes, bytes]] = [(b"x-router-overhead-ms", f"{call.overhead_ms():.3f}".encode())]
    r = call.receipt
    if r is None:
        return out
    if r.deployment:
        out.append((b"x-router-deployment", r.deployment.encode("ascii", "replace")))
    out.append((b"x-router-provider", r.provider.encode("ascii", "replace")))
    receipt: dict[str, Any] = {"provider": r.provider, "model": r.model}
    for name in ("dropped", "renamed", "clamped", "defaulted"):
        value = getattr(r, name)
        if value:
            receipt[name] = value
    out.append((b"x-router-receipt", json.dumps(receipt, separators=(",", ":"), default=str).encode()))
    if len(r.attempts) > 1:
        out.append((b"x-router-attempts", str(len(r.attempts)).encode()))
    return out


class _Codec:
    """One inbound API's view of a call: what the Router gets, and how its answer is written."""

    model: str
    messages: list[Any]
    kwargs: dict[str, Any]
    stream: bool
    protocol = ""  # the spec protocol that speaks this API natively (passthrough's test)
    raw: dict[str, Any] | None = None  # the caller's body as it came (for passthrough)

    def passthrough_ok(self) -> bool:
        """May this call go upstream untouched (when the target speaks this API)?"""
        return self.raw is not None

    def headers(self) -> list[tuple[bytes, bytes]]:
        return []

    def body(self, resp: ChatCompletion) -> bytes:
        raise NotImplementedError

    def frame(self, chunk: ChatCompletionChunk) -> bytes:
        raise NotImplementedError

    def end(self) -> bytes:
        raise NotImplementedError

    def error_frame(self, err: GatewayError) -> bytes:
        raise NotImplementedError

    def error_body(self, err: GatewayError) -> bytes:
        """A whole error answer in this API's shape."""
        return _openai.error_body(err)


class _OpenAICodec(_Codec):
    protocol = "openai-chat"

    def __init__(self, inbound: _openai.Inbound) -> None:
        self.model, self.messages, self.kwargs = inbound.model, inbound.messages, inbound.kwargs
        self.stream = inbound.stream
        self.hide_usage = not inbound.wants_usage  # the usage chunk the gateway asked for itself

    def passthrough_ok(self) -> bool:
        # a stream carries usage only when asked for; the gateway bills by it
        return self.raw is not None and (not self.stream or not self.hide_usage)

    def body(self, resp: ChatCompletion) -> bytes:
        return _openai.completion_body(resp, self.model)

    def frame(self, chunk: ChatCompletionChunk) -> bytes:
        if self.hide_usage and not chunk.choices and chunk.usage is not None:
            return b""
        return _openai.chunk_frame(chunk)

    def end(self) -> bytes:
        return _openai.DONE

    def error_frame(self, err: GatewayError) -> bytes:
        return _openai.error_frame(err)


class _AnthropicCodec(_Codec):
    protocol = "anthropic-messages"

    def __init__(self, inbound: _anthropic.Inbound) -> None:
        self.model, self.messages, self.kwargs = inbound.model, inbound.messages, inbound.kwargs
        self.stream = inbound.stream
        self.approximated = inbound.approximated
        self.writer = _anthropic.StreamWriter(inbound.model)

    def headers(self) -> list[tuple[bytes, bytes]]:
        if not self.approximated:
            return []
        return [(b"x-router-inbound", json.dumps({"approximated": self.approximated}).encode())]

    def body(self, resp: ChatCompletion) -> bytes:
        return _anthropic.message_body(resp, self.model)

    def frame(self, chunk: ChatCompletionChunk) -> bytes:
        return self.writer.feed(chunk)

    def end(self) -> bytes:
        return self.writer.end()

    def error_frame(self, err: GatewayError) -> bytes:
        return _anthropic.error_frame(err)

    def error_body(self, err: GatewayError) -> bytes:
        return _anthropic.error_body(err)


class _ResponsesCodec(_Codec):
    protocol = "openai-responses"

    def __init__(self, inbound: _responses.Inbound) -> None:
        self.inbound = inbound
        self.model, self.messages, self.kwargs = inbound.model, inbound.messages, inbound.kwargs
        self.stream = inbound.stream
        self.writer = _responses.StreamWriter(inbound)

    def body(self, resp: ChatCompletion) -> bytes:
        return _responses.response_body(resp, self.inbound)

    def frame(self, chunk: ChatCompletionChunk) -> bytes:
        return self.writer.feed(chunk)

    def end(self) -> bytes:
        return self.writer.end()

    def error_frame(self, err: GatewayError) -> bytes:
        return self.writer.error(err)


class Gateway:
    """An ASGI app serving a ``Router`` through the OpenAI and Anthropic APIs (Chat Completions,
    Responses, Messages, models), translated through the specs or passed through untouched.

    >>> app = Gateway.from_config("router.yaml")   # then: granian --interface asgi --factory ...
    """

    def __init__(
        self,
        router: Router,
        config: GatewayConfig | None = None,
        *,
        state: State | None = None,
        sink: JsonlSink | None = None,
        tracer_provider: Any = None,
        meter_provider: Any = None,
    ) -> None:
        self.router = router
        self._own_client = None
        if router.async_http_client is None:  # aiohttp's pool under httpx2 (router/gateway/_pool.py)
            self._own_client = router.async_http_client = gateway_client()
        self.config = config or GatewayConfig()
        if state is None:
            state = (
                RedisState(self.config.redis_url, prefix=self.config.prefix, timeout=self.config.timeout)
                if self.config.redis_url
                else MemoryState()
            )
        self.state = state
        self.sink = (
            sink if sink is not None else (JsonlSink(self.config.log_path) if self.config.log_path else None)
        )
        self.metrics = Metrics()
        self._spans: ServerSpans | None = None
        if self.config.telemetry:
            # opentelemetry loads only when gateway.telemetry is on (ConfigError without it)
            from router._otel import OTelHooks

            self._spans = ServerSpans(tracer_provider)
            router.hooks.append(OTelHooks(tracer_provider=tracer_provider, meter_provider=meter_provider))
        self.draining = False
        self._streams: set[asyncio.Task[Any]] = set()
        # deployment health shared with the other replicas (breakers, cooldowns) through the state
        self._tasks: set[asyncio.Task[Any]] = set()
        self._sync: asyncio.Task[None] | None = None
        self._remote_open: set[str] = set()
        self._drain: asyncio.Task[None] | None = None
        if self.state.shared:
            self._labels = {
                name if i == 0 else f"{name}#{i + 1}"
                for name, group in router._groups.items()
                for i in range(len(group))
            }
            previous = router.on_health

            def on_health(label: str, change: HealthChange, seconds: float) -> None:
                if previous is not None:
                    previous(label, change, seconds)
                self._publish(label, change, seconds)

            router.on_health = on_health
        self._known = set(provider_ids())
        self._routes: dict[tuple[str, str], Callable[[Scope, Receive, _Reply, float], Awaitable[None]]] = {
            ("POST", "/v1/chat/completions"): self._chat,
            ("POST", "/chat/completions"): self._chat,
            ("POST", "/v1/messages"): self._messages,
            ("POST", "/v1/responses"): self._responses,
            ("POST", "/responses"): self._responses,
            ("POST", "/v1/messages/count_tokens"): self._count_tokens,
            ("GET", "/v1/models"): self._models,
            ("GET", "/models"): self._models,
            ("GET", "/health"): self._health,
            ("GET", "/metrics"): self._metrics,
        }

    @classmethod
    def from_config(cls, path: str | Path) -> Gateway:
        p = Path(path)
        deployments, options, section = read_config(p)
        return cls(Router(deployments, **options), GatewayConfig.from_section(section, base=p.parent))

    # ----------------------------------------------------------------- ASGI

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if self._sync is None and self.state.shared and not self.draining:
            self._start_sync()  # a server that sent no lifespan startup
        start = time.perf_counter()
        reply = _Reply(send)
        route = self._routes.get((scope["method"], scope["path"]))
        if self._spans is not None:
            span = self._spans.start(scope, scope["path"] if route is not None else None)
            try:
                await self._serve(scope, receive, reply, start, route)
            finally:
                self._spans.end(span, reply.status, scope.get("router.key"))
            return
        await self._serve(scope, receive, reply, start, route)

    async def _serve(
        self,
        scope: Scope,
        receive: Receive,
        reply: _Reply,
        start: float,
        route: Callable[[Scope, Receive, _Reply, float], Awaitable[None]] | None,
    ) -> None:
        try:
            if route is None:
                if any(path == scope["path"] for _, path in self._routes):
                    raise GatewayError(
                        405, "bad_request", f"{scope['method']} is not allowed on {scope['path']}"
                    )
                raise GatewayError(404, "not_found", f"no route {scope['method']} {scope['path']}")
            await route(scope, receive, reply, start)
        except GatewayError as e:
            if not e.recorded:  # refused before any call (auth, body, limits): counted here
                self.metrics.inc("router_rejected_total", status=str(e.status), kind=e.kind)
            if not reply.started:
                await self._send_error(reply, e, start, scope["path"])
        except Exception:  # a bug of ours: the client still gets an answer, the log gets the trace
            log.exception("gateway: unhandled error on %s %s", scope["method"], scope["path"])
            if not reply.started:
                await self._send_error(
                    reply, GatewayError(500, "internal_server", "internal gateway error"), start
                )

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self.state.shared:
                    self._start_sync()
                self._drain_on_signal()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown(self.config.shutdown_grace)
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _drain_on_signal(self) -> None:
        """Start draining when SIGTERM/SIGINT arrives, not when the server has already waited for
        every connection to end (granian and uvicorn send lifespan.shutdown only then, so a stream
        longer than any grace would hold the process).

        The server's loop learns of the signal through ``signal.set_wakeup_fd`` (asyncio's and
        uvloop's ``add_signal_handler`` both work so), which a Python-level handler does not touch:
        ours replaces only the no-op handler they install, calls whatever was there, and hands the
        drain to the loop. Off the main thread (no signals there) nothing changes, and the grace
        counts from lifespan.shutdown."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                previous = signal.getsignal(sig)
            except ValueError:
                return
            if not callable(previous):  # SIG_DFL / SIG_IGN: no loop handles it; leave it so
                continue

            def on_signal(signum: int, frame: Any, previous: Any = previous) -> None:
                loop.call_soon_threadsafe(self._begin_drain, self.config.shutdown_grace)
                if callable(previous):
                    previous(signum, frame)

            try:
                signal.signal(sig, on_signal)
            except ValueError:  # not the main thread
                return

    def _begin_drain(self, grace: float) -> asyncio.Task[None]:
        self.draining = True
        if self._drain is None:
            self._drain = asyncio.get_running_loop().create_task(self._drain_streams(grace))
        return self._drain

    async def _drain_streams(self, grace: float) -> None:
        if self._streams:
            _, pending = await asyncio.wait(list(self._streams), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=2.0)

    async def shutdown(self, grace: float = 10.0) -> None:
        """Stop: in-flight streams get ``grace`` seconds to finish (counted from the signal when
        there was one), then end with a terminal error event; then the state store, the log and the
        Router's pools close."""
        await self._begin_drain(grace)
        if self._sync is not None:
            self._sync.cancel()
        if self._tasks:  # the last health changes reach the store (bounded by its timeout)
            await asyncio.wait(list(self._tasks), timeout=2 * self.config.timeout + 0.5)
        await self.state.close()
        if self.sink is not None:
            self.sink.close()
        await self.router.aclose()
        if self._own_client is not None:
            await self._own_client.aclose()

    # ----------------------------------------------------------------- shared health

    def _publish(self, label: str, change: HealthChange, seconds: float) -> None:
        """A breaker opened or closed here, or a 429 parked a deployment: tell the other replicas."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a sync call outside the server's loop: nothing to share from
            return
        task = loop.create_task(self._publish_now(label, change, seconds))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _publish_now(self, label: str, change: str, seconds: float) -> None:
        try:
            await self.state.publish_health(label, change, seconds)
        except StateUnavailable:
            self.metrics.inc("router_state_errors_total", op="health")

    def _start_sync(self) -> None:
        if self._sync is None:
            self._sync = asyncio.get_running_loop().create_task(self._sync_health())

    async def _sync_health(self) -> None:
        """Every ``health_sync`` seconds: take the breakers other replicas opened (and closed) and
        their cooldowns. Our own changes went out when they happened (``_publish``)."""
        while True:
            try:
                opened, cooling = await self.state.read_health()
            except StateUnavailable:
                self.metrics.inc("router_state_errors_total", op="health")
            except Exception:  # never let the loop die: local breakers still work without it
                log.exception("gateway: reading the shared health failed")
            else:
                self._apply_health(opened, cooling)
            await asyncio.sleep(self.config.health_sync)

    def _apply_health(self, opened: dict[str, float], cooling: dict[str, float]) -> None:
        router = self.router
        for label, left in opened.items():
            if label in self._labels and left > 0 and router.breaker(label).state != "open":
                router.apply_health(label, "open", left)
                self._remote_open.add(label)
        for label in list(self._remote_open):
            if label not in opened:  # closed by a probe elsewhere, or its cooldown ended
                if router.breaker(label).state == "open":
                    router.apply_health(label, "closed")
                self._remote_open.discard(label)
        for label, left in cooling.items():
            if label in self._labels and left > 0:
                router.apply_health(label, "cooling", left)

    # ----------------------------------------------------------------- plumbing

    async def _send_error(self, reply: _Reply, err: GatewayError, start: float, path: str = "") -> None:
        overhead = f"{(time.perf_counter() - start) * 1000:.3f}".encode()
        await reply.head(err.status, [_JSON, (b"x-router-overhead-ms", overhead), *err.headers()])
        # each inbound API's own error shape: the SDK of that API reads it
        shape = _anthropic.error_body if path.startswith("/v1/messages") else _openai.error_body
        await reply.body(shape(err))

    def _authenticate(self, scope: Scope) -> VirtualKey | None:
        if not self.config.keys:
            return None
        presented = None
        for name, value in scope["headers"]:
            if name == b"authorization" and value[:7].lower() == b"bearer ":
                presented = value[7:].strip().decode("latin-1")
                break
            if name == b"x-api-key":
                presented = value.strip().decode("latin-1")
                break
        if not presented:
            raise GatewayError(
                401, "authentication", "no API key: send 'Authorization: Bearer <key>'", retry=False
            )
        key = self.config.lookup(presented)
        if key is None:
            raise GatewayError(401, "authentication", "the API key is not valid", retry=False)
        scope["router.key"] = key.name  # for the request's span (a name, never the key)
        return key

    async def _read_json(self, receive: Receive) -> Any:
        limit = self.config.max_body_bytes
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise GatewayError(400, "bad_request", "the client went away before sending its body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise GatewayError(
                    413, "request_too_large", f"the request body is over {limit} bytes", retry=False
                )
            parts.append(chunk)
            if not message.get("more_body"):
                break
        try:
            return json.loads(b"".join(parts))
        except (ValueError, RecursionError) as e:
            raise GatewayError(
                400, "bad_request", f"the request body is not JSON ({type(e).__name__})"
            ) from None

    def _check_model(self, key: VirtualKey | None, model: str) -> None:
        if key is not None and not key.allows(model):
            raise GatewayError(
                403,
                "permission_denied",
                f"this key may not call the model {model!r}",
                param="model",
                retry=False,
            )
        if model in self.router.deployments:
            return
        provider, slash, _ = model.partition("/")
        if not slash or provider not in self._known:
            raise GatewayError(
                404, "not_found", f"the model {model!r} does not exist", param="model", retry=False
            )

    def _estimate(self, model: str, messages: Any, kwargs: dict[str, Any]) -> tuple[int, float]:
        """Tokens and USD to reserve: 4 characters a token for the prompt, the ``max_tokens`` asked
        for the output (the real usage replaces both when the answer is in)."""
        try:
            text = json.dumps(messages, default=str)
        except (TypeError, ValueError):
            text = str(messages)
        prompt = len(text) // 4 + 1
        out = kwargs.get("max_completion_tokens") or kwargs.get("max_tokens") or 0
        out = out if isinstance(out, int) and not isinstance(out, bool) and out > 0 else 0
        dep = self.router.deployments.get(model)
        target = dep.model if dep is not None else model
        provider, _, mid = target.partition("/")
        price = None
        try:
            found = adapter(provider).model(mid)
            price = found.price if found is not None else None
        except RouterError:
            price = None
        cost = 0.0 if price is None else (prompt * price.input + out * price.output) / 1_000_000
        return prompt + out, cost

    async def _reserve(self, key: VirtualKey | None, tokens: int, cost: float) -> Ticket | None:
        if key is None:
            return None
        lim = key.limits
        if lim.rpm is None and lim.tpm is None and lim.budget_usd is None:
            return None
        try:
            got = await self.state.reserve(key.name, lim, tokens, cost)
        except StateUnavailable as e:
            declared = [
                name
                for name, value in (("rpm", lim.rpm), ("tpm", lim.tpm), ("budget", lim.budget_usd))
                if value is not None and self.config.on_error.get(name) == "closed"
            ]
            self.metrics.inc("router_state_errors_total")
            if declared:
                raise GatewayError(
                    503,
                    "unavailable",
                    f"{e}; the key's {', '.join(declared)} limit fails closed",
                    retry_after=1.0,
                ) from None
            return None  # every limit of this key fails open
        if isinstance(got, Denied):
            if got.limit == "budget":
                raise GatewayError(429, "quota_exceeded", "this key's budget is spent", retry=False)
            what = "requests" if got.limit == "rpm" else "tokens"
            raise GatewayError(
                429,
                "rate_limit",
                f"this key's {what} per minute limit is reached",
                retry_after=got.retry_after,
            )
        return got

    async def _reconcile(self, ticket: Ticket | None, call: _Call) -> None:
        if ticket is None:
            return
        tokens = call.usage.total_tokens if call.usage is not None else (0 if call.error else None)
        cost = call.cost if call.cost is not None else (0.0 if call.error or call.usage is not None else None)
        try:
            await self.state.reconcile(ticket, tokens, cost)
        except StateUnavailable:
            self.metrics.inc("router_state_errors_total")
            log.warning("gateway: could not reconcile a reservation of key %s", ticket.key)

    def _record(self, call: _Call) -> None:
        seconds = time.perf_counter() - call.start
        status = str(call.status)
        self.metrics.inc("router_requests_total", model=call.model, status=status)
        self.metrics.observe(seconds, model=call.model)
        if call.error:
            self.metrics.inc("router_errors_total", model=call.model, kind=call.error)
        if call.usage is not None:
            self.metrics.inc("router_tokens_total", call.usage.prompt_tokens, model=call.model, type="prompt")
            self.metrics.inc(
                "router_tokens_total", call.usage.completion_tokens, model=call.model, type="completion"
            )
        if call.cost:
            self.metrics.inc("router_cost_usd_total", call.cost, model=call.model)
        if self.sink is None:
            return
        r = call.receipt
        self.sink.write(
            {
                "ts": round(time.time(), 3),
                "key": call.key.name if call.key else None,
                "model": call.model,
                "deployment": r.deployment if r else None,
                "provider": r.provider if r else None,
                "upstream_model": r.model if r else None,
                "stream": call.stream,
                "status": call.status,
                "error": call.error,
                "prompt_tokens": call.usage.prompt_tokens if call.usage else None,
                "completion_tokens": call.usage.completion_tokens if call.usage else None,
                "cost_usd": call.cost,
                "latency_ms": round(seconds * 1000, 3),
                "overhead_ms": round(call.overhead_ms(), 3),
            }
        )

    def _fail(self, call: _Call, err: RouterError) -> GatewayError:
        g = from_router_error(err)
        g.recorded = True  # counted with its call in router_requests_total / router_errors_total
        call.status, call.error = g.status, g.kind
        call.receipt = call.receipt or _receipt_of(err)
        return g

    # ----------------------------------------------------------------- routes

    async def _chat(self, scope: Scope, receive: Receive, reply: _Reply, start: float) -> None:
        key = self._authenticate(scope)
        raw = await self._read_json(receive)
        codec = self._codec(raw, _OpenAICodec, _openai.parse_request, _openai.Inbound)
        await self._complete(key, codec, reply, start, scope)

    async def _messages(self, scope: Scope, receive: Receive, reply: _Reply, start: float) -> None:
        key = self._authenticate(scope)
        raw = await self._read_json(receive)
        codec = self._codec(raw, _AnthropicCodec, _anthropic.parse_request, _anthropic.Inbound)
        await self._complete(key, codec, reply, start, scope)

    async def _responses(self, scope: Scope, receive: Receive, reply: _Reply, start: float) -> None:
        key = self._authenticate(scope)
        raw = await self._read_json(receive)
        codec = self._codec(raw, _ResponsesCodec, _responses.parse_request, _responses.Inbound)
        await self._complete(key, codec, reply, start, scope)

    def _codec(self, raw: Any, cls: Any, parse: Callable[[Any], Any], inbound: Any) -> _Codec:
        """The call's codec. A request this gateway's reader of the API cannot translate (a server
        tool, a field it does not know) still goes to a target that speaks the API natively, as it
        came (passthrough); elsewhere it is refused, naming the field, before any call."""
        try:
            codec: _Codec = cls(parse(raw))
        except GatewayError as e:
            model = raw.get("model") if isinstance(raw, dict) else None
            if (
                e.status != 400
                or not isinstance(model, str)
                or not passable(self.router, model, cls.protocol)
            ):
                raise
            stream = raw.get("stream") is True
            options = raw.get("stream_options")
            wants_usage = isinstance(options, dict) and options.get("include_usage") is True
            if cls.protocol == "openai-chat" and stream and not wants_usage:
                raise  # the translated path would have to ask for usage: it cannot read this one
            limit = next(
                (raw[k] for k in ("max_tokens", "max_completion_tokens", "max_output_tokens")
                 if isinstance(raw.get(k), int)),
                None,
            )  # fmt: skip
            fields: dict[str, Any] = {
                "model": model,
                "messages": [raw.get("messages", raw.get("input"))],  # for the estimate only
                "stream": stream,
                "kwargs": {} if limit is None else {"max_tokens": limit},
            }
            if cls is _OpenAICodec:
                fields["wants_usage"] = wants_usage
            if cls is _ResponsesCodec:
                fields["echo"] = {}
            codec = cls(inbound(**fields))
        codec.raw = raw
        return codec

    async def _count_tokens(self, scope: Scope, receive: Receive, reply: _Reply, start: float) -> None:
        key = self._authenticate(scope)
        inbound = _anthropic.parse_request(await self._read_json(receive), counting=True)
        self._check_model(key, inbound.model)
        dep = self.router.deployments.get(inbound.model)
        try:
            n = count_tokens(dep.model if dep is not None else inbound.model, inbound.messages)
        except RouterError as e:
            raise from_router_error(e) from None
        await reply.head(200, [_JSON])
        await reply.body(json.dumps({"input_tokens": n}).encode())

    async def _complete(
        self, key: VirtualKey | None, codec: _Codec, reply: _Reply, start: float, scope: Scope
    ) -> None:
        model, messages, kwargs = codec.model, codec.messages, codec.kwargs
        self._check_model(key, model)
        tokens, cost = self._estimate(model, messages, kwargs)
        ticket = await self._reserve(key, tokens, cost)
        call = _Call(start, key, model, codec.stream)
        try:
            if codec.raw is not None and codec.passthrough_ok():
                t = time.perf_counter()
                try:
                    passed = await open_passthrough(
                        self.router, model, codec.protocol, codec.raw, codec.stream, scope["headers"], kwargs
                    )
                except RouterError as e:
                    raise self._fail(call, e) from None
                finally:
                    call.upstream_s += time.perf_counter() - t
                if passed is not None:
                    await self._pass(passed, codec, call, reply)
                    return
            if codec.stream:
                await self._stream(codec, call, reply)
                return
            t = time.perf_counter()
            try:
                resp = await self.router.acompletion(model, messages, **kwargs)
            except RouterError as e:
                raise self._fail(call, e) from None
            finally:
                call.upstream_s += time.perf_counter() - t
            assert isinstance(resp, ChatCompletion)
            call.receipt, call.usage, call.cost = resp.router, resp.usage, resp.cost
            body = codec.body(resp)
            await reply.head(200, [_JSON, *_receipt_headers(call), *codec.headers()])
            await reply.body(body)
        finally:
            await self._reconcile(ticket, call)
            self._record(call)

    async def _stream(self, codec: _Codec, call: _Call, reply: _Reply) -> None:
        kwargs = dict(codec.kwargs)
        # The gateway always asks for usage (it bills by it); the codec decides what the caller sees.
        options = kwargs.get("stream_options")
        kwargs["stream_options"] = {**(options if isinstance(options, dict) else {}), "include_usage": True}
        task = asyncio.current_task()
        if task is not None:
            self._streams.add(task)
        t = time.perf_counter()
        try:
            stream = await self.router.acompletion(codec.model, codec.messages, stream=True, **kwargs)
            it = stream.__aiter__()
            acc = StreamAccumulator(None)
            try:
                first = await it.__anext__()
            except StopAsyncIteration:
                first = None
            except RouterError as e:
                raise self._fail(call, e) from None
            finally:
                call.upstream_s += time.perf_counter() - t
            call.receipt = stream.receipt
            await reply.head(200, [*_SSE, *_receipt_headers(call), *codec.headers()])
            chunk = first
            try:
                while chunk is not None and not reply.closed:
                    acc.add(chunk)
                    frame = codec.frame(chunk)
                    if frame:
                        await reply.body(frame, more=True)
                    try:
                        chunk = await it.__anext__()
                    except StopAsyncIteration:
                        chunk = None
                if reply.closed:
                    call.status, call.error = 499, "client_closed"
                else:
                    await reply.body(codec.end())
            except RouterError as e:
                await reply.body(codec.error_frame(self._fail(call, e)))
            except asyncio.CancelledError:  # shutdown's grace ran out
                call.status, call.error = 503, "shutdown"
                await reply.body(
                    codec.error_frame(GatewayError(503, "unavailable", "the gateway is shutting down"))
                )
            finally:
                await stream.aclose()
                whole = acc.result()
                call.usage = whole.usage
                call.cost = whole.cost if whole.usage is not None else None
                if stream.receipt is not None:
                    call.receipt = stream.receipt
        finally:
            if task is not None:
                self._streams.discard(task)

    async def _pass(self, passed: Passthrough, codec: _Codec, call: _Call, reply: _Reply) -> None:
        """Answer with the upstream's own bytes (router/gateway/_passthrough.py)."""
        call.receipt = passed.receipt
        head = [*passed.headers, *_receipt_headers(call), _PASSED]
        if passed.failure is not None:
            g = from_router_error(passed.failure)
            call.status, call.error = passed.status, g.kind
            # the body and status stay the upstream's; what the router knows of retrying is added
            # for the SDKs that read it (x-should-retry: a request too large for a TPM limit is a
            # 429 that no retry can help), unless the upstream said it itself
            if g.retry is not None and not any(k == b"x-should-retry" for k, _ in passed.headers):
                head.append((b"x-should-retry", b"true" if g.retry else b"false"))
            body = passed.body or b""
            if not _json_object(body):  # an HTML page, a body cut off: the API's own error shape
                head = [_JSON, *(h for h in head if h[0] != b"content-type")]
                body = codec.error_body(g)
            await reply.head(passed.status, head)
            await reply.body(body)
            return
        if not codec.stream:
            result = passed.result
            assert result is not None
            call.usage, call.cost = result.usage, result.cost
            passed.succeeded(result.usage, result.cost, _finishes(result))
            await reply.head(200, head)
            await reply.body(passed.body or b"")
            return
        task = asyncio.current_task()
        if task is not None:
            self._streams.add(task)
        await reply.head(200, head)
        decoder = passed.adapter.stream_decoder(receipt=passed.receipt)
        acc = StreamAccumulator(None)
        raw = passed.chunks()

        tail = b"\n\n"  # the last bytes forwarded: an event of ours must start on its own

        async def forwarded() -> AsyncGenerator[bytes, None]:
            nonlocal tail
            async for chunk in raw:
                await reply.body(chunk, more=True)
                if reply.closed:
                    return
                if chunk:  # the last two bytes, without copying the chunk
                    tail = chunk[-2:] if len(chunk) > 1 else tail[-1:] + chunk
                yield chunk

        async def ours(frame: bytes) -> None:
            """An event of the gateway's after the upstream's bytes, on a line of its own."""
            lead = b"" if tail.endswith(b"\n\n") else (b"\n" if tail.endswith(b"\n") else b"\n\n")
            await reply.body(lead + frame, more=True)

        tee = forwarded()
        events = passed.events(tee)
        failure: APIError | None = None
        said = False  # the failure is the upstream's own error event: the caller has it already
        first = True
        try:
            try:
                async for ev in events:
                    if decoder.done:  # the rest (a [DONE] after the end event) is forwarded as it comes
                        continue
                    try:
                        out = decoder.feed(ev)
                    except APIError as e:  # the upstream's error event, or a frame that is none
                        failure, said = e, not isinstance(e, InvalidResponseError)
                        break
                    for chunk in out:
                        acc.add(chunk)
                        if first and _has_content(chunk):
                            first = False
                            passed.got_first()
                else:
                    if not reply.closed and not decoder.done:
                        for chunk in decoder.close():  # a stream cut before its end: raises
                            acc.add(chunk)
            except APIError as e:  # a late or failed read, or a stream cut before its end
                failure = e
            except asyncio.CancelledError:  # shutdown's grace ran out
                failure = None
                call.status, call.error = 503, "shutdown"
                passed.abandoned()
                await ours(
                    codec.error_frame(GatewayError(503, "unavailable", "the gateway is shutting down"))
                )
        finally:
            await events.aclose()
            await tee.aclose()
            await raw.aclose()
            if task is not None:
                self._streams.discard(task)
        whole = acc.result()
        call.usage = whole.usage
        call.cost = whole.cost if whole.usage is not None else None
        if failure is not None:
            g = self._fail(call, passed.failed(failure))
            if not said:
                await ours(codec.error_frame(g))
        elif reply.closed:
            call.status, call.error = 499, "client_closed"
            passed.abandoned()
        elif call.error != "shutdown":
            passed.succeeded(whole.usage, call.cost, _finishes(whole))
        await reply.body(b"")

    async def _models(self, scope: Scope, receive: Receive, reply: _Reply, start: float) -> None:
        key = self._authenticate(scope)
        data = [
            {"id": name, "object": "model", "created": 0, "owned_by": dep.model.partition("/")[0]}
            for name, dep in sorted(self.router.deployments.items())
            if key is None or key.allows(name)
        ]
        body = json.dumps({"object": "list", "data": data}, separators=(",", ":")).encode()
        await reply.head(200, [_JSON])
        await reply.body(body)

    async def _health(self, scope: Scope, receive: Receive, reply: _Reply, start: float) -> None:
        state_ok = await self.state.ping()
        body = {
            "status": "draining" if self.draining else "ok",
            "state": ("redis" if self.config.redis_url else "memory")
            + ("" if state_ok else " (unreachable)"),
            "models": len(self.router.deployments),
        }
        await reply.head(503 if self.draining else 200, [_JSON])
        await reply.body(json.dumps(body).encode())

    async def _metrics(self, scope: Scope, receive: Receive, reply: _Reply, start: float) -> None:
        for label, health in list(self.router._state.items()):
            self.metrics.set(
                "router_breaker_open", 1.0 if health.breaker.state == "open" else 0.0, deployment=label
            )
        self.metrics.set("router_streams_active", float(len(self._streams)))
        await reply.head(200, [(b"content-type", b"text/plain; version=0.0.4; charset=utf-8")])
        await reply.body(self.metrics.render().encode())


def _receipt_of(err: RouterError) -> Receipt | None:
    attempts = getattr(err, "attempts", None) or []
    if not attempts:
        return None
    last = attempts[-1]
    return Receipt(
        provider=last.model.partition("/")[0], model=last.model.partition("/")[2], deployment=last.deployment
    )
