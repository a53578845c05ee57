"""``Router``: named models served by one or more deployments, with retries, fallbacks, load
balancing, circuit breakers, rate limits, a response cache and events.

Router([Deployment("smart", "anthropic/claude-sonnet-4-5", fallbacks=["fast"]), ...])
Router.from_env()                  # ROUTER_PROVIDER / ROUTER_MODEL_MAPPING / MODELS
Router.from_config("router.yaml")  # a deployment file (schemas/router-config.v1.schema.json)

How a call goes (sync and async share every step but the I/O, in ``_Call``):

1. The name asked for is a **group**: every ``Deployment`` with that name, tried in a weighted random
   order (``weight``), then each of its ``fallbacks`` (a name or ``provider/model``) the same way.
2. A deployment whose **circuit breaker** is open (``breaker_threshold`` failures in a row; a probe
   after ``breaker_cooldown`` seconds) or which is **cooling down** (a 429 told it to wait) is passed
   over, recorded as skipped; its **rate limits** (``rpm`` / ``tpm`` token buckets) are reserved
   before sending, waiting within the call's deadline (``rate_limit_wait``) or passing it over.
3. The call is sent with the deployment's settings (timeouts, retries: the transport retries the same
   deployment first). It falls back on the error kinds of ``fallback_on`` (rate limits, overload, 5xx,
   connection, timeouts); a context-window error goes only to the deployment's
   ``context_window_fallbacks``; anything else (bad request, content filter, auth) is raised at once.
4. A stream holds its lifecycle frames (role-only chunks) back until the first real content, so an
   attempt that fails before it falls back invisibly; after content was yielded, a failure ends the
   stream with the typed error, carrying what was received (``err.partial``) and the attempts.
5. The answer names the deployment that answered and every attempt (``resp.router.deployment``,
   ``resp.router.attempts``: error class, status, latency, or why it was skipped); usage and cost are
   the answer's only. Hooks get an ``Event`` at each step; retries and fallbacks are logged at INFO.

``timeout`` (call, deployment or router) is the total for the whole call, fallbacks included.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import random
import re
import threading
import time
import weakref
from collections.abc import AsyncGenerator
from collections.abc import AsyncIterator
from collections.abc import Callable
from collections.abc import Generator
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any
from typing import Literal
from typing import overload

from router import _client
from router._accumulate import StreamAccumulator
from router._breaker import CircuitBreaker
from router._client import AsyncStream
from router._client import Stream
from router._client import acompletion
from router._client import completion
from router._client import normalise_options
from router._config_file import load_config
from router._deployment import Deployment
from router._events import Event
from router._events import EventKind
from router._events import Hooks
from router._events import as_hooks
from router._events import emit
from router._exceptions import ERROR_KINDS
from router._exceptions import APIError
from router._exceptions import ConfigError
from router._exceptions import ContextWindowExceededError
from router._exceptions import InvalidResponseError
from router._exceptions import RateLimitError
from router._exceptions import ServiceUnavailableError
from router._exceptions import StreamConsumedError
from router._providers import models
from router._ratelimit import RateLimiter
from router._ratelimit import Reservation
from router._registry import adapter
from router._types import Attempt
from router._types import ChatCompletion
from router._types import ChatCompletionChunk
from router._types import Receipt

if TYPE_CHECKING:  # httpx loads on the first call, not on `import router`
    from typing import Unpack

    from router import _httpx as _h
    from router._params_types import AsyncCompletionParams
    from router._params_types import CompletionParams
    from router._params_types import Messages

__all__ = ["DEFAULT_FALLBACK_ON", "AsyncRouterStream", "HealthChange", "Router", "RouterStream"]

HealthChange = Literal["open", "closed", "cooling"]

log = logging.getLogger("router")

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

DEFAULT_FALLBACK_ON = (
    "rate_limit",
    "overloaded",
    "service_unavailable",
    "internal_server",
    "connection",
    "timeout",
)
# A stream that failed before yielding anything falls back on a bad answer too (a malformed frame,
# a truncated stream): the caller has seen nothing, so another deployment can still answer whole.
_STREAM_EXTRA = (InvalidResponseError,)
_CALL_IDS = itertools.count(1)
_MAX_COOLDOWN = 300.0  # seconds a 429's Retry-After may park a deployment for later calls


@dataclass
class _Candidate:
    label: str  # the deployment's label: its name, "name#2" for the third of a group, or the model
    name: str  # the group (or model) name it serves
    dep: Deployment | None
    upstream: str = ""  # provider/model
    opts: dict[str, Any] | None = None


class _Skip:
    """An attempt passed over (unusable, breaker open, cooling down, rate-limited)."""


_SKIPPED = _Skip()


class _Health:
    """Per-deployment state shared by every call of one Router (sync and async)."""

    def __init__(self, breaker: CircuitBreaker, limiter: RateLimiter | None) -> None:
        self.breaker = breaker
        self.limiter = limiter
        self.cool_until = 0.0


def _has_content(chunk: ChatCompletionChunk) -> bool:
    """A chunk the caller must see: content, reasoning, a tool call, a refusal or a finish. Role-only
    and usage-only chunks are lifecycle (held back until content, so a failing attempt can still fall
    back invisibly)."""
    for c in chunk.choices:
        d = c.delta
        if (
            c.finish_reason is not None
            or d.content
            or d.reasoning_content
            or d.tool_calls
            or d.refusal
            or d.function_call is not None
            or d.reasoning_blocks
        ):
            return True
    return False


def _estimate_tokens(messages: Any, kwargs: Mapping[str, Any]) -> float:
    """A cheap estimate for the token bucket: 4 characters a token, plus the output it may write."""
    try:
        text = json.dumps(messages, default=str)
    except (TypeError, ValueError):
        text = str(messages)
    out = kwargs.get("max_completion_tokens") or kwargs.get("max_tokens") or 0
    return len(text) / 4 + (out if isinstance(out, int) else 0)


class _Call:
    """One call's plan and bookkeeping: which deployment next, what each attempt did, the events.
    Everything but the sending and the waiting, so the sync and async paths are the same code."""

    def __init__(
        self, router: Router, model: str, messages: Any, kwargs: dict[str, Any], stream: bool
    ) -> None:
        self.router = router
        self.model = model
        self.messages = messages
        self.kwargs = normalise_options(dict(kwargs))
        self.stream = stream
        self.started = router._clock()
        self.call_id = next(_CALL_IDS)
        self.attempts: list[Attempt] = []
        self.failures: list[APIError] = []
        self.skipped_reasons: list[str] = []
        self.retry_in: list[float] = []
        self.queue: list[str] = [model]
        self.seen: set[str] = set()
        self.index = 0
        timeout = self.kwargs.get("timeout", router.timeout)
        self.deadline = None if not isinstance(timeout, int | float) else self.started + float(timeout)

    # ----------------------------------------------------------------- the plan

    def candidates(self) -> Iterator[_Candidate]:
        while self.queue:
            name = self.queue.pop(0)
            if name in self.seen:
                continue
            self.seen.add(name)
            group = self.router._groups.get(name)
            if not group:
                yield _Candidate(name, name, None)
                continue
            for label, dep in self.router._order(group):
                yield _Candidate(label, name, dep)
            for group_dep in group:  # then the group's fallbacks, breadth first
                self.queue.extend(f for f in group_dep.fallbacks if f not in self.queue)

    def resolve(self, cand: _Candidate) -> bool:
        """Fill the candidate's upstream and options; an unusable one (its key's env var unset) is
        skipped with the reason logged."""
        try:
            cand.upstream, opts = self.router._upstream(cand.name, cand.dep)
        except ConfigError as err:
            log.warning("%s skipped: %s", cand.label, err)
            self.skipped_reasons.append(str(err))
            return False
        merged = self.router._merge(opts, self.kwargs)
        if self.deadline is not None:  # the call's total holds across fallbacks
            left = self.deadline - self.router._clock()
            own = merged.get("timeout")
            merged["timeout"] = max(0.001, min(left, own) if isinstance(own, int | float) else left)
        cand.opts = merged
        return True

    def gate(self, cand: _Candidate) -> str | None:
        """Why this deployment is passed over now, or None."""
        health = self.router._health(cand.label, cand.dep)
        now = self.router._clock()
        if health.cool_until > now:
            self.retry_in.append(health.cool_until - now)
            return "cooling_down"
        if not health.breaker.allow():
            self.retry_in.append(health.breaker.retry_in())
            return "circuit_open"
        return None

    def reserve(self, cand: _Candidate) -> Reservation | float | None:
        """A rate-limit reservation (None when the deployment has no limits), or the seconds to wait."""
        limiter = self.router._health(cand.label, cand.dep).limiter
        if limiter is None:
            return None
        return limiter.reserve(_estimate_tokens(self.messages, self.kwargs))

    def admit(self, cand: _Candidate, *, again: bool = False) -> Reservation | float | _Skip | None:
        """May this attempt be sent? A reservation (None without limits): send. A float: wait that
        long (it fits in the deadline), then ask ``again``. ``_Skip``: passed over (recorded why)."""
        if not again:
            if not self.resolve(cand):
                return _SKIPPED
            why = self.gate(cand)
            if why is not None:
                self.skip(cand, why)
                return _SKIPPED
        reservation = self.reserve(cand)
        if isinstance(reservation, float):
            if self.may_wait(reservation):
                return reservation
            self.retry_in.append(reservation)
            self.skip(cand, "rate_limited")
            return _SKIPPED
        return reservation

    def may_wait(self, wait: float) -> bool:
        if not self.router.rate_limit_wait:
            return False
        if self.deadline is None:
            return wait <= 60.0
        return self.router._clock() + wait < self.deadline

    def skip(self, cand: _Candidate, why: str) -> None:
        self.router._health(cand.label, cand.dep).breaker.release()
        self.attempts.append(Attempt(cand.label, cand.upstream or cand.name, skipped=why))
        self.skipped_reasons.append(f"{cand.label}: {why.replace('_', ' ')}")
        log.info("%s passed over (%s)", cand.label, why.replace("_", " "))

    # ----------------------------------------------------------------- events

    def event(self, kind: EventKind, cand: _Candidate, **fields: Any) -> Event:
        provider, _, model = (cand.upstream or cand.name).partition("/")
        ev = Event(
            kind,
            cand.label,
            provider,
            model,
            stream=self.stream,
            attempt=self.index,
            started=self.started,
            attempts=self.attempts,
            call_id=self.call_id,
            **fields,
        )
        emit(self.router.hooks, ev)
        return ev

    def sending(self, cand: _Candidate) -> float:
        self.event("request", cand)
        assert cand.opts is not None

        def on_retry(ev: Event) -> None:
            ev.deployment = cand.label
            ev.attempt = self.index
            ev.started = self.started
            ev.stream = self.stream
            ev.call_id = self.call_id
            emit(self.router.hooks, ev)

        cand.opts["_on_retry"] = on_retry
        return self.router._clock()

    # ----------------------------------------------------------------- outcomes

    def succeeded(
        self,
        cand: _Candidate,
        sent: float,
        receipt: Receipt | None,
        usage: Any,
        cost: float | None,
        finish: tuple[str, ...],
        reservation: Reservation | float | None,
        ttft: float | None = None,
    ) -> None:
        now = self.router._clock()
        health = self.router._health(cand.label, cand.dep)
        health.breaker.success()
        if isinstance(reservation, Reservation):
            reservation.reconcile(getattr(usage, "total_tokens", None))
        self.attempts.append(Attempt(cand.label, cand.upstream, latency=now - sent))
        if receipt is not None:
            receipt.deployment = cand.label
            receipt.attempts = self.attempts
        self.event(
            "response",
            cand,
            duration=now - self.started,
            time_to_first_token=ttft,
            usage=usage,
            cost=cost,
            receipt=receipt,
            finish_reasons=finish,
        )

    def failed(
        self,
        cand: _Candidate,
        sent: float,
        err: APIError,
        reservation: Reservation | float | None,
        *,
        yielded: bool = False,
    ) -> bool:
        """Record a failed attempt; True when the call falls back to the next deployment."""
        now = self.router._clock()
        health = self.router._health(cand.label, cand.dep)
        if isinstance(reservation, Reservation):
            reservation.cancel()
        self.attempts.append(
            Attempt(
                cand.label,
                cand.upstream,
                error=type(err).__name__,
                latency=now - sent,
                status=err.status,
                message=str(err).splitlines()[0][:300] if str(err) else None,
            )
        )
        self.failures.append(err)
        health_failure = isinstance(err, (*self.router.fallback_on, *_STREAM_EXTRA))
        if health_failure:
            health.breaker.failure()
        else:
            health.breaker.release()
        if isinstance(err, RateLimitError) and err.retry_after:
            parked = min(err.retry_after, _MAX_COOLDOWN)
            health.cool_until = now + parked
            if self.router.on_health is not None:
                self.router.on_health(cand.label, "cooling", parked)
        err.attempts = self.attempts
        if yielded:
            return False
        if isinstance(err, ContextWindowExceededError):
            larger = list(cand.dep.context_window_fallbacks) if cand.dep is not None else []
            if larger:
                self.queue = larger + [q for q in self.queue if q not in larger]
                reason = f"{type(err).__name__}: to a larger window"
                self.event("fallback", cand, duration=now - self.started, error=err, reason=reason)
                log.info("%s: context window exceeded; trying %s", cand.label, ", ".join(larger))
                self.index += 1
                return True
            return False
        falls = isinstance(err, self.router.fallback_on) or (self.stream and isinstance(err, _STREAM_EXTRA))
        if falls:
            reason = f"{type(err).__name__}" + (f" ({err.status})" if err.status else "")
            self.event("fallback", cand, duration=now - self.started, error=err, reason=reason)
            log.info("%s failed (%s); falling back to the next deployment", cand.label, reason)
            self.index += 1
        return falls

    def raise_final(self, last: APIError | None = None) -> APIError | ConfigError:
        """The error the call ends with: the last failure, or why nothing could be sent."""
        if last is None and self.failures:
            last = self.failures[-1]
        if last is not None:
            last.attempts = self.attempts
            self._error_event(last)
            return last
        if self.attempts and all(a.skipped for a in self.attempts):
            wait = min(self.retry_in) if self.retry_in else None
            reasons = "; ".join(self.skipped_reasons)
            cls = (
                RateLimitError
                if all(a.skipped == "rate_limited" for a in self.attempts)
                else ServiceUnavailableError
            )
            err: APIError = cls(
                f"no deployment of {self.model!r} can take the call now ({reasons})",
                provider="router",
                model=self.model,
                retry_after=wait,
            )
            err.attempts = self.attempts
            self._error_event(err)
            return err
        return ConfigError(f"no usable upstream for {self.model!r}: " + "; ".join(self.skipped_reasons))

    def _error_event(self, err: APIError) -> None:
        cand = _Candidate(self.attempts[-1].deployment if self.attempts else self.model, self.model, None)
        cand.upstream = self.attempts[-1].model if self.attempts else self.model
        self.event("error", cand, duration=self.router._clock() - self.started, error=err)


class Router:
    """Serves named models with their settings, retries, fallbacks, load balancing and breakers.

    >>> r = Router([Deployment("smart", "anthropic/claude-sonnet-4-5", fallbacks=["openai/gpt-4o"])])
    >>> r.completion("smart", [{"role": "user", "content": "Hi"}])
    """

    def __init__(
        self,
        deployments: Sequence[Deployment] = (),
        *,
        providers: Mapping[str, Mapping[str, Any]] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        strict: bool = False,
        fallback_on: Sequence[str] = DEFAULT_FALLBACK_ON,
        provider: str | None = None,
        model_mapping: Mapping[str, str] | None = None,
        http_client: _h.Client | None = None,
        async_http_client: _h.AsyncClient | None = None,
        first_token_timeout: float | None = None,
        stall_timeout: float | None = None,
        breaker_threshold: int = 5,
        breaker_cooldown: float = 30.0,
        rate_limit_wait: bool = True,
        hooks: Sequence[Hooks | Mapping[str, Callable[[Event], None]]] = (),
        cache: Any = None,
        telemetry: bool = False,
        clock: Callable[[], float] = time.monotonic,
        seed: int | None = None,
        on_health: Callable[[str, HealthChange, float], None] | None = None,
    ) -> None:
        self.http_client = http_client  # used for every sync call, as it is, and never closed here
        self.async_http_client = async_http_client
        self._groups: dict[str, list[Deployment]] = {}
        for d in deployments:
            self._groups.setdefault(d.name, []).append(d)
        self.deployments = {name: group[0] for name, group in self._groups.items()}
        self.provider_settings = {k: dict(v) for k, v in (providers or {}).items()}
        self.timeout = timeout
        self.max_retries = max_retries
        self.strict = strict
        self.first_token_timeout = first_token_timeout
        self.stall_timeout = stall_timeout
        unknown = [k for k in fallback_on if k not in ERROR_KINDS]
        if unknown:
            raise ConfigError(
                f"fallback_on names unknown error kinds {unknown}; known: {sorted(ERROR_KINDS)}"
            )
        self.fallback_on = tuple(ERROR_KINDS[k] for k in fallback_on)
        self.provider = provider
        self.model_mapping = dict(model_mapping or {})
        if provider is not None:
            adapter(provider)  # an unknown provider fails now, at start, not on the first request
        if breaker_threshold < 1 or breaker_cooldown < 0:
            raise ConfigError("breaker_threshold must be >= 1 and breaker_cooldown >= 0 seconds")
        self.breaker_threshold = breaker_threshold
        self.breaker_cooldown = breaker_cooldown
        self.rate_limit_wait = rate_limit_wait
        self.hooks: list[Hooks] = as_hooks(hooks)
        if telemetry:
            from router._otel import OTelHooks  # opentelemetry loads only when asked for

            self.hooks.append(OTelHooks())
        self.cache = cache
        self._clock = clock
        self._rng = random.Random(seed)
        self._state: dict[str, _Health] = {}
        self._state_lock = threading.Lock()
        # told (deployment label, "open" | "closed" | "cooling", seconds) when a breaker opens or a
        # probe closes it, or a 429 parks a deployment: what other processes may share (apply_health)
        self.on_health = on_health
        self._own_client: _h.Client | None = None
        self._own_async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _h.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )
        self._closers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncGenerator[None, None]] = (
            weakref.WeakKeyDictionary()
        )
        self._finalizer: weakref.finalize[Any, Any] = weakref.finalize(self, lambda: None)

    # ----------------------------------------------------------------- construction

    @classmethod
    def from_env(cls) -> Router:
        """``ROUTER_PROVIDER`` sends every request to one provider; ``ROUTER_MODEL_MAPPING`` (JSON
        object) renames requested models for it; ``MODELS`` lists the offered models."""
        mapping: dict[str, str] = {}
        raw = os.environ.get("ROUTER_MODEL_MAPPING")
        if raw:
            try:
                loaded = json.loads(raw)
            except ValueError as e:
                raise ConfigError(
                    f"ROUTER_MODEL_MAPPING is not JSON ({e}), expected an object of model names"
                ) from None
            if not isinstance(loaded, dict) or not all(isinstance(v, str) for v in loaded.values()):
                raise ConfigError(
                    'ROUTER_MODEL_MAPPING must be a JSON object of strings, e.g. {"gpt-4o": "llama3.1"}'
                )
            mapping = loaded
        deployments = [Deployment(name=m, model=m) for m in models()]
        return cls(deployments, provider=os.environ.get("ROUTER_PROVIDER") or None, model_mapping=mapping)

    @classmethod
    def from_config(cls, path: str | os.PathLike[str], **options: Any) -> Router:
        """Load a deployment file; every problem is reported at once (``ConfigError`` listing
        ``file:line:col: error: ...`` lines). Loading imports yaml; ``import router`` does not.
        Keyword ``options`` (hooks, cache, clock, ...) are given to the Router as they are."""
        deployments, loaded = load_config(Path(path))
        return cls(deployments, **{**loaded, **options})

    # ----------------------------------------------------------------- state

    def _health(self, label: str, dep: Deployment | None) -> _Health:
        health = self._state.get(label)
        if health is None:
            with self._state_lock:
                health = self._state.get(label)
                if health is None:
                    limiter = None
                    if dep is not None and (dep.rpm or dep.tpm):
                        limiter = RateLimiter(dep.rpm, dep.tpm, clock=self._clock)
                    breaker = CircuitBreaker(self.breaker_threshold, self.breaker_cooldown, clock=self._clock)
                    breaker.listener = partial(self._breaker_changed, label)
                    health = self._state[label] = _Health(breaker, limiter)
        return health

    def _breaker_changed(self, label: str, state: str, seconds: float) -> None:
        if self.on_health is not None:
            self.on_health(label, "open" if state == "open" else "closed", seconds)

    def _dep_of(self, label: str) -> Deployment | None:
        group, _, nth = label.partition("#")
        deps = self._groups.get(group) or []
        if nth.isdigit() and 0 < int(nth) <= len(deps):
            return deps[int(nth) - 1]
        return deps[0] if deps else None

    def apply_health(self, deployment: str, change: HealthChange, seconds: float = 0.0) -> None:
        """Take what another process saw of a deployment (by label): its breaker ``open`` for
        ``seconds``, ``closed`` again, or ``cooling`` (a 429) for ``seconds``. ``on_health`` is not
        called for it."""
        health = self._health(deployment, self._dep_of(deployment))
        if change == "open":
            health.breaker.trip(seconds)
        elif change == "closed":
            health.breaker.reset()
        else:
            health.cool_until = max(health.cool_until, self._clock() + seconds)

    def breaker(self, deployment: str) -> CircuitBreaker:
        """The circuit breaker of a deployment (by its label: the name, ``name#2`` within a group)."""
        return self._health(deployment, self._dep_of(deployment)).breaker

    def _order(self, group: list[Deployment]) -> list[tuple[str, Deployment]]:
        """The group's deployments, in a weighted random order (Efraimidis-Spirakis): each is first with
        a chance proportional to its weight. One deployment keeps its place."""
        labelled = [(d.name if i == 0 else f"{d.name}#{i + 1}", d) for i, d in enumerate(group)]
        if len(labelled) == 1:
            return labelled
        keyed = []
        for label, d in labelled:
            w = d.weight if d.weight > 0 else 1e-9
            keyed.append((self._rng.random() ** (1.0 / w), label, d))
        keyed.sort(key=lambda t: t[0], reverse=True)
        return [(label, d) for _, label, d in keyed]

    # ----------------------------------------------------------------- routing

    def _upstream(self, name: str, dep: Deployment | None = None) -> tuple[str, dict[str, Any]]:
        if dep is None:
            dep = self.deployments.get(name)
        if dep is None:
            model = name
            if self.provider is not None:
                model = f"{self.provider}/{self.model_mapping.get(name, name)}"
            opts: dict[str, Any] = {}
            provider = model.partition("/")[0]
        else:
            model, provider = dep.model, dep.model.partition("/")[0]
            opts = dict(dep.params)
        settings = self.provider_settings.get(provider, {})
        conn = {
            **settings,
            **({} if dep is None else {k: v for k, v in vars(dep).items() if v not in (None, {}, [])}),
        }
        if conn.get("base_url"):
            opts["base_url"] = conn["base_url"]
        if conn.get("api_key_env"):
            env = conn["api_key_env"]
            if not isinstance(env, str) or not _ENV_NAME.fullmatch(env):
                # never echoed: a key pasted where its variable's name belongs is a secret
                raise ConfigError(
                    f"{name}: api_key_env must name an environment variable (letters, digits, _)"
                )
            key = os.environ.get(env)
            if not key:
                raise ConfigError(f"{name}: set {env} (the API key for {provider})")
            opts["api_key"] = key
        if conn.get("headers"):
            opts["extra_headers"] = dict(conn["headers"])
        for option, default in (
            ("timeout", self.timeout),
            ("max_retries", self.max_retries),
            ("first_token_timeout", self.first_token_timeout),
            ("stall_timeout", self.stall_timeout),
        ):
            value = conn.get(option, default)
            if value is not None:
                opts[option] = value
        if self.strict:
            opts["strict"] = True
        return model, opts

    def names(self, name: str) -> list[str]:
        """The names tried for ``name``, in order: the model, then its fallbacks (no repeats)."""
        out: list[str] = []
        todo = [name]
        while todo:
            n = todo.pop(0)
            if n in out:
                continue
            out.append(n)
            for dep in self._groups.get(n) or []:
                todo.extend(dep.fallbacks)
        return out

    def chain(self, name: str) -> list[tuple[str, dict[str, Any]]]:
        """The upstreams tried for ``name`` with their call options (every one resolved now; a call
        resolves each only when it gets to it)."""
        out = []
        for n in self.names(name):
            for dep in self._groups.get(n) or [None]:  # type: ignore[list-item]
                out.append(self._upstream(n, dep))
        return out

    def _merge(self, opts: dict[str, Any], kwargs: dict[str, Any]) -> dict[str, Any]:
        merged = {**opts, **kwargs}
        if "extra_headers" in opts and "extra_headers" in kwargs:
            merged["extra_headers"] = {**opts["extra_headers"], **kwargs["extra_headers"]}
        return merged

    # ----------------------------------------------------------------- clients

    def _sync_client(self) -> _h.Client:
        if self.http_client is not None:
            return self.http_client
        if self._own_client is None:
            client = self._own_client = _new_client()
            # A Router dropped without close() still releases its connections when it is collected.
            self._finalizer = weakref.finalize(self, client.close)
        return self._own_client

    async def _async_client(self) -> _h.AsyncClient:
        if self.async_http_client is not None:
            return self.async_http_client
        loop = asyncio.get_running_loop()
        client = self._own_async.get(loop)
        if client is None:
            client = self._own_async[loop] = _new_client(asynchronous=True)
            # Closed when the loop shuts down (asyncio.run finalises async generators then), or when
            # this generator is collected with a Router dropped without aclose(): no socket leaks.
            closer = _close_with_loop(client)
            await closer.asend(None)  # started: the loop now tracks it
            self._closers[loop] = closer
        return client

    def close(self) -> None:
        """Close the connection pool this Router opened (a client you gave it stays open). The Router
        stays usable: a later call opens a new pool."""
        if self._own_client is not None:
            self._own_client.close()
            self._own_client = None
            self._finalizer.detach()

    async def aclose(self) -> None:
        """Close this Router's pools, the async ones included."""
        self.close()
        loop = asyncio.get_running_loop()
        client = self._own_async.pop(loop, None)  # another loop's pool closes with its loop
        self._closers.pop(loop, None)
        if client is not None:
            await client.aclose()

    def __enter__(self) -> Router:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Router:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ----------------------------------------------------------------- calls

    @overload
    def completion(
        self,
        model: str,
        messages: Messages,
        *,
        stream: Literal[False] | None = None,
        **kwargs: Unpack[CompletionParams],
    ) -> ChatCompletion: ...
    @overload
    def completion(
        self, model: str, messages: Messages, *, stream: Literal[True], **kwargs: Unpack[CompletionParams]
    ) -> RouterStream: ...
    @overload
    def completion(
        self,
        model: str,
        messages: Messages,
        *,
        stream: bool | None = None,
        **kwargs: Unpack[CompletionParams],
    ) -> ChatCompletion | RouterStream: ...
    def completion(
        self, model: str, messages: Messages, *, stream: bool | None = None, **kwargs: Any
    ) -> ChatCompletion | RouterStream:
        """``router.completion`` through this Router's deployments (same keywords and return types;
        a stream is a :class:`RouterStream`)."""
        call = _Call(self, model, messages, kwargs, bool(stream))
        if stream:
            return RouterStream(call)
        for cand in call.candidates():
            step = call.admit(cand)
            while isinstance(step, float):  # a rate limit to wait for, within the deadline
                time.sleep(step)
                step = call.admit(cand, again=True)
            if isinstance(step, _Skip):
                continue
            reservation = step
            assert cand.opts is not None
            cache_key = self._cache_key(cand, messages)
            if cache_key is not None:
                hit = self.cache.get(cache_key)
                if hit is not None:
                    return self._hit(call, cand, hit, reservation)
            sent = call.sending(cand)
            cand.opts.setdefault("http_client", self._sync_client())
            try:
                resp: ChatCompletion = completion(cand.upstream, messages, **cand.opts)
            except APIError as err:
                if call.failed(cand, sent, err, reservation):
                    continue
                raise call.raise_final(err) from None
            call.succeeded(cand, sent, resp.router, resp.usage, resp.cost, _finishes(resp), reservation)
            if cache_key is not None:
                self.cache.put(cache_key, resp)
            return resp
        raise call.raise_final()

    @overload
    async def acompletion(
        self,
        model: str,
        messages: Messages,
        *,
        stream: Literal[False] | None = None,
        **kwargs: Unpack[AsyncCompletionParams],
    ) -> ChatCompletion: ...
    @overload
    async def acompletion(
        self,
        model: str,
        messages: Messages,
        *,
        stream: Literal[True],
        **kwargs: Unpack[AsyncCompletionParams],
    ) -> AsyncRouterStream: ...
    @overload
    async def acompletion(
        self,
        model: str,
        messages: Messages,
        *,
        stream: bool | None = None,
        **kwargs: Unpack[AsyncCompletionParams],
    ) -> ChatCompletion | AsyncRouterStream: ...
    async def acompletion(
        self, model: str, messages: Messages, *, stream: bool | None = None, **kwargs: Any
    ) -> ChatCompletion | AsyncRouterStream:
        """The async twin of :meth:`completion` (a stream is an :class:`AsyncRouterStream`)."""
        call = _Call(self, model, messages, kwargs, bool(stream))
        if stream:
            return AsyncRouterStream(call)
        for cand in call.candidates():
            step = call.admit(cand)
            while isinstance(step, float):  # a rate limit to wait for, within the deadline
                await asyncio.sleep(step)
                step = call.admit(cand, again=True)
            if isinstance(step, _Skip):
                continue
            reservation = step
            assert cand.opts is not None
            cache_key = self._cache_key(cand, messages)
            if cache_key is not None:
                hit = self.cache.get(cache_key)
                if hit is not None:
                    return self._hit(call, cand, hit, reservation)
            sent = call.sending(cand)
            cand.opts.setdefault("http_client", await self._async_client())
            try:
                resp: ChatCompletion = await acompletion(cand.upstream, messages, **cand.opts)
            except APIError as err:
                if call.failed(cand, sent, err, reservation):
                    continue
                raise call.raise_final(err) from None
            call.succeeded(cand, sent, resp.router, resp.usage, resp.cost, _finishes(resp), reservation)
            if cache_key is not None:
                self.cache.put(cache_key, resp)
            return resp
        raise call.raise_final()

    def _cache_key(self, cand: _Candidate, messages: Any) -> str | None:
        """The response cache's key for this attempt: the translated request (never its headers)."""
        if self.cache is None or cand.opts is None or cand.opts.get("mock_response") is not None:
            return None
        request, _, limits = _client._request(
            messages, False, {k: v for k, v in cand.opts.items() if not k.startswith("_")}
        )
        _, http, _, _ = _client._prepare(cand.upstream, request, limits)
        key: str = self.cache.key(cand.upstream.partition("/")[0], http)
        return key

    def _hit(
        self, call: _Call, cand: _Candidate, hit: ChatCompletion, reservation: Reservation | float | None
    ) -> ChatCompletion:
        if isinstance(reservation, Reservation):
            reservation.cancel()
        if hit.router is not None:
            hit.router.cache_hit = True
        hit.cost = 0.0  # nothing was billed for this answer: its usage is the cached answer's
        call.succeeded(cand, self._clock(), hit.router, hit.usage, hit.cost, _finishes(hit), None)
        return hit

    def models(self) -> list[str]:
        return sorted(self._groups)


async def _close_with_loop(client: _h.AsyncClient) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await client.aclose()


def _new_client(*, asynchronous: bool = False) -> Any:
    """A connection pool of this Router's own, set up as the process-wide pooled one."""
    import router._transport as _transport  # imports httpx: kept off `import router` until a call
    from router._fake import FakeTransport  # (likewise: an httpx transport)
    from router._httpx import httpx  # (likewise)

    cls: Any = httpx.AsyncClient if asynchronous else httpx.Client
    return cls(
        verify=_transport._verify(),
        limits=_transport._LIMITS,
        timeout=_transport.DEFAULT_TIMEOUT,
        follow_redirects=False,
        mounts={"fake://": FakeTransport()},
        cookies=_transport.NoCookies(),  # one pool for every call: no cookie crosses between them
    )


def _finishes(resp: ChatCompletion) -> tuple[str, ...]:
    return tuple(c.finish_reason for c in resp.choices if c.finish_reason)


class _StreamBase:
    def __init__(self, call: _Call) -> None:
        self._call = call
        self.receipt: Receipt | None = None
        self._started = False
        self._done = False


class RouterStream(_StreamBase, Iterator[ChatCompletionChunk]):
    """A Router's stream: lifecycle frames held back until the first content, so an attempt that fails
    before it falls back to the next deployment without the caller seeing anything."""

    def __init__(self, call: _Call) -> None:
        super().__init__(call)
        self._gen = self._run()

    def __iter__(self) -> RouterStream:
        if self._started and self._done:
            raise StreamConsumedError(
                "this stream was already read", provider="router", model=self._call.model
            )
        return self

    def __next__(self) -> ChatCompletionChunk:
        self._started = True
        try:
            return next(self._gen)
        except StopIteration:
            self._done = True
            raise

    def close(self) -> None:
        self._done = True
        self._gen.close()

    def get_final_completion(self) -> ChatCompletion:
        """Read the rest of the stream and return the whole answer (the receipt's attempts on it)."""
        acc = StreamAccumulator(None)
        for chunk in self:
            acc.add(chunk)
        result = acc.result()
        result.router = self.receipt
        return result

    def __enter__(self) -> RouterStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> Generator[ChatCompletionChunk, None, None]:
        call, r = self._call, self._call.router
        for cand in call.candidates():
            step = call.admit(cand)
            while isinstance(step, float):  # a rate limit to wait for, within the deadline
                time.sleep(step)
                step = call.admit(cand, again=True)
            if isinstance(step, _Skip):
                continue
            reservation = step
            assert cand.opts is not None
            sent = call.sending(cand)
            cand.opts.setdefault("http_client", r._sync_client())
            try:
                upstream: Stream = completion(cand.upstream, call.messages, stream=True, **cand.opts)
            except APIError as err:
                if call.failed(cand, sent, err, reservation):
                    continue
                raise call.raise_final(err) from None
            self.receipt = upstream.receipt
            acc = StreamAccumulator(upstream.receipt)
            held: list[ChatCompletionChunk] = []
            yielded = False
            ttft: float | None = None
            failure: APIError | None = None
            try:
                for chunk in upstream:
                    acc.add(chunk)
                    if yielded:
                        yield chunk
                        continue
                    held.append(chunk)
                    if _has_content(chunk):
                        ttft = r._clock() - sent
                        yielded = True
                        yield from held
                        held.clear()
            except APIError as err:
                failure = err
            finally:
                upstream.close()
            if failure is not None:
                if call.failed(cand, sent, failure, reservation, yielded=yielded):
                    continue
                if yielded:
                    failure.partial = acc.result()
                raise call.raise_final(failure) from None
            yield from held  # an answer with no content at all (an empty completion) is still one
            whole = acc.result()
            call.succeeded(
                cand, sent, upstream.receipt, whole.usage, whole.cost, _finishes(whole), reservation, ttft
            )
            return
        raise call.raise_final()


class AsyncRouterStream(_StreamBase, AsyncIterator[ChatCompletionChunk]):
    """The async twin of :class:`RouterStream`."""

    def __init__(self, call: _Call) -> None:
        super().__init__(call)
        self._gen = self._run()

    def __aiter__(self) -> AsyncRouterStream:
        if self._started and self._done:
            raise StreamConsumedError(
                "this stream was already read", provider="router", model=self._call.model
            )
        return self

    async def __anext__(self) -> ChatCompletionChunk:
        self._started = True
        try:
            return await self._gen.__anext__()
        except StopAsyncIteration:
            self._done = True
            raise

    async def aclose(self) -> None:
        self._done = True
        await self._gen.aclose()

    async def get_final_completion(self) -> ChatCompletion:
        """Read the rest of the stream and return the whole answer (the receipt's attempts on it)."""
        acc = StreamAccumulator(None)
        async for chunk in self:
            acc.add(chunk)
        result = acc.result()
        result.router = self.receipt
        return result

    async def __aenter__(self) -> AsyncRouterStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _run(self) -> AsyncGenerator[ChatCompletionChunk, None]:
        call, r = self._call, self._call.router
        for cand in call.candidates():
            step = call.admit(cand)
            while isinstance(step, float):  # a rate limit to wait for, within the deadline
                await asyncio.sleep(step)
                step = call.admit(cand, again=True)
            if isinstance(step, _Skip):
                continue
            reservation = step
            assert cand.opts is not None
            sent = call.sending(cand)
            cand.opts.setdefault("http_client", await r._async_client())
            try:
                upstream: AsyncStream = await acompletion(
                    cand.upstream, call.messages, stream=True, **cand.opts
                )
            except APIError as err:
                if call.failed(cand, sent, err, reservation):
                    continue
                raise call.raise_final(err) from None
            self.receipt = upstream.receipt
            acc = StreamAccumulator(upstream.receipt)
            held: list[ChatCompletionChunk] = []
            yielded = False
            ttft: float | None = None
            failure: APIError | None = None
            try:
                async for chunk in upstream:
                    acc.add(chunk)
                    if yielded:
                        yield chunk
                        continue
                    held.append(chunk)
                    if _has_content(chunk):
                        ttft = r._clock() - sent
                        yielded = True
                        for h in held:
                            yield h
                        held.clear()
            except APIError as err:
                failure = err
            finally:
                await upstream.aclose()
            if failure is not None:
                if call.failed(cand, sent, failure, reservation, yielded=yielded):
                    continue
                if yielded:
                    failure.partial = acc.result()
                raise call.raise_final(failure) from None
            for h in held:
                yield h
            whole = acc.result()
            call.succeeded(
                cand, sent, upstream.receipt, whole.usage, whole.cost, _finishes(whole), reservation, ttft
            )
            return
        raise call.raise_final()
