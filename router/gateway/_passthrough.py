"""Passthrough: a request in the provider's own API goes upstream untouched, and its answer back.

When the inbound API (Chat Completions, Messages, Responses) is the wire protocol of the deployment
the model names, and that provider's spec says ``passthrough: true`` (it serves the API as the API's
owner documents it), the gateway sends the caller's JSON body as it came, with only ``model``
replaced by the upstream's model id, to the URL and with the auth and headers the spec builds; and
it answers with the upstream's status, content type and body bytes as they came: plain, streamed
(every byte, in order, as it arrives) and errors (already in the caller's API's own shape). Nothing
is translated, so nothing can be lost; ``x-router-passthrough: true`` says it happened.

Everything else still holds: the virtual key, its limits and budget (the usage is read from the
answer, which is parsed on the side), the Router's breakers, cooldowns and rate limits (the attempt
is one of the Router's own, ``router._router._Call``: its events, so OpenTelemetry spans, too), the
call's deadline, first-token and stall limits and retries (``router._transport.AsyncCall``), and
the caller's headers the spec names in ``passthrough_headers`` (Anthropic's ``anthropic-version``
and ``anthropic-beta``; ``openai-beta``). Not taken through here
(the translated path serves them): a model whose deployment has fallbacks, more than one member,
or ``params`` of its own (those are in the OpenAI shape); a Router with a response cache; an OpenAI
Chat stream without ``stream_options.include_usage`` (the gateway bills by the usage the answer
carries, and asking for it would add a chunk the caller did not ask for).
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import AsyncGenerator
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from router import _client
from router import _transport
from router._adapter import Adapter
from router._deployment import Deployment
from router._exceptions import APIError
from router._exceptions import RouterError
from router._ratelimit import Reservation
from router._registry import resolve
from router._router import _SKIPPED
from router._router import Router
from router._router import _Call as RouterCall
from router._router import _Candidate
from router._streaming import aiter_events
from router._types import ChatCompletion
from router._types import Receipt

__all__ = ["Passthrough", "open_passthrough", "passable"]

# what the minimal request given to the spec keeps of the call options: how to connect, not what
_CONNECTION = frozenset(
    {
        "api_key",
        "base_url",
        "extra_headers",
        "timeout",
        "max_retries",
        "first_token_timeout",
        "stall_timeout",
        "max_response_bytes",
        "max_event_bytes",
        "_on_retry",
        "http_client",
    }
)


@dataclass
class Passthrough:
    """One attempt sent as is: its answer's head, and (``body``) the plain body or (``chunks``) the
    stream's bytes as they arrive; ``succeeded`` / ``failed`` / ``abandoned`` settle the attempt
    with the Router."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes | None
    receipt: Receipt
    adapter: Adapter
    failure: APIError | None  # an error answer, typed (its body goes to the caller as it came)
    result: ChatCompletion | None  # a plain answer, parsed on the side (usage, cost)
    _call: RouterCall
    _cand: _Candidate
    _sent: float
    _reservation: Any
    _response: Any = None
    _transport_call: Any = None
    _max_event: int = 0
    _clock: Any = None
    _secrets: tuple[str, ...] = ()

    def got_first(self) -> None:
        """The first content chunk came: the first-token limit is met."""
        if self._clock is not None:
            self._clock.got_first()

    def abandoned(self) -> None:
        """Ended with no verdict (the caller left, the server stops): the breaker's probe and the
        rate-limit reservation are let go."""
        self._call.router._health(self._cand.label, self._cand.dep).breaker.release()
        if isinstance(self._reservation, Reservation):
            self._reservation.cancel()

    def succeeded(self, usage: Any, cost: float | None, finish: tuple[str, ...]) -> None:
        self._call.succeeded(self._cand, self._sent, self.receipt, usage, cost, finish, self._reservation)

    def failed(self, err: APIError) -> APIError:
        err = err.scrub(self._secrets)  # a read's failure may quote the request: never its key
        self._call.failed(self._cand, self._sent, err, self._reservation)
        out = self._call.raise_final(err)
        return out if isinstance(out, APIError) else err

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        """The stream's bytes as they come, inside the call's limits (a late or failed read raises
        its typed ``APIError``); the connection is released when this ends."""
        assert self._response is not None
        clock = self._clock = _client._Clock(self._transport_call, self.adapter, self.receipt)
        timed = _client._atimed(self._response, clock)
        try:
            async for chunk in timed:
                yield chunk
        finally:
            await timed.aclose()
            await self._response.aclose()

    async def events(self, chunks: AsyncIterator[bytes]) -> AsyncGenerator[Any, None]:
        """The framed events of ``chunks`` (the spec's stream framing), for the side decoder."""
        async for ev in aiter_events(chunks, self.adapter.config.stream.framing, self._max_event):
            yield ev


_TARGETS: weakref.WeakKeyDictionary[
    Router, dict[tuple[str, str], tuple[Deployment | None, Adapter] | None]
] = weakref.WeakKeyDictionary()


def _target(router: Router, model: str, protocol: str) -> tuple[_Candidate, Adapter] | None:
    """The attempt to pass ``model`` through to, when its one deployment speaks ``protocol``
    natively; None otherwise. Decided once per Router, model and API: it reads only the Router's
    deployments and the specs (the key's variable is read when the attempt is made)."""
    known = _TARGETS.get(router)
    if known is None:
        known = _TARGETS.setdefault(router, {})
    key = (model, protocol)
    if key not in known:
        if len(known) >= 4096:  # bounded: names outside the deployments (provider/model) vary
            known.clear()
        known[key] = _decide(router, model, protocol)
    found = known[key]
    if found is None or router.cache is not None:
        return None
    return _Candidate(model, model, found[0]), found[1]


def _decide(router: Router, model: str, protocol: str) -> tuple[Deployment | None, Adapter] | None:
    group = router._groups.get(model)
    dep = None
    if group is not None:
        if len(group) != 1:
            return None
        dep = group[0]
        if dep.fallbacks or dep.context_window_fallbacks or dep.params:
            return None
        upstream = dep.model
    elif router.provider is not None:
        upstream = f"{router.provider}/{router.model_mapping.get(model, model)}"
    elif "/" in model:
        upstream = model
    else:
        return None
    try:
        found, _ = resolve(upstream)
    except RouterError:
        return None  # the translated path reports it
    if found.config.protocol != protocol or not found.config.passthrough:
        return None
    return dep, found


_ENDPOINTS: dict[Any, tuple[Adapter, Any, dict[str, Any], int]] = {}


def _endpoint(upstream: str, stream: bool, opts: dict[str, Any]) -> tuple[Adapter, Any, dict[str, Any], int]:
    """Where and how the spec sends to ``upstream`` (URL, auth, its headers, the call's limits), from
    a minimal request built once per target and its connection options: the body is the caller's."""
    # the timeout is what is left of the call's deadline: set per call, not part of the key
    key = (upstream, stream, tuple(sorted((k, repr(v)) for k, v in opts.items() if k != "timeout")))
    found = _ENDPOINTS.get(key)
    if found is None:
        request, _, limits = _client._request([{"role": "user", "content": "-"}], stream, dict(opts))
        spec_adapter, http, _, callopts = _client._prepare(upstream, request, limits)
        callopts.pop("on_retry", None)
        callopts.pop("timeout", None)
        if len(_ENDPOINTS) >= 256:  # bounded: keys and base URLs are few, but not promised to be
            _ENDPOINTS.clear()
        found = _ENDPOINTS[key] = (spec_adapter, http, callopts, _client._max_event(request))
    return found


def passable(router: Router, model: str, protocol: str) -> bool:
    """Whether a call to ``model`` in the API of ``protocol`` would go upstream as it came."""
    return _target(router, model, protocol) is not None


async def open_passthrough(
    router: Router,
    model: str,
    protocol: str,
    raw: dict[str, Any],
    stream: bool,
    scope_headers: list[tuple[bytes, bytes]],
    kwargs: dict[str, Any],
) -> Passthrough | None:
    """Send ``raw`` as is when the model's target speaks ``protocol`` natively; None when the call
    is the translated path's (not a passthrough target, or passed over now: a breaker, a cooldown,
    a rate limit to wait for, which that path reports or waits for). An attempt that fails before
    any answer raises its ``APIError``, already settled with the Router."""
    found = _target(router, model, protocol)
    if found is None:
        return None
    cand = found[0]
    call = RouterCall(router, model, [], kwargs, stream)
    admitted = call.admit(cand)
    if admitted is _SKIPPED or isinstance(admitted, float):
        if isinstance(admitted, float):  # not waited here: the translated path waits, with its events
            router._health(cand.label, cand.dep).breaker.release()
        return None
    step = admitted if isinstance(admitted, Reservation) else None
    assert cand.opts is not None
    sent = call.sending(cand)
    cand.opts.setdefault("http_client", await router._async_client())
    opts = {k: v for k, v in cand.opts.items() if k in _CONNECTION}
    client = opts.pop("http_client")
    on_retry = opts.pop("_on_retry", None)
    try:
        spec_adapter, http, callopts, max_event = _endpoint(cand.upstream, stream, opts)
    except APIError as err:
        call.failed(cand, sent, err, step)
        raise call.raise_final(err) from None
    # A receipt of the call's own: the spec's parameter policy never ran on this body
    receipt = Receipt(provider=spec_adapter.id, model=str(http.json.get("model", cand.upstream)))
    callopts = {**callopts, "on_retry": on_retry, "timeout": opts.get("timeout")}
    headers = dict(http.headers)
    forwarded = spec_adapter.config.passthrough_headers  # the spec's: the API's version, its betas
    for name, value in scope_headers:
        caller = name.decode("latin-1")
        if caller in forwarded:
            for same in [k for k in headers if k.lower() == caller]:  # the caller's replaces the spec's
                del headers[same]
            headers[caller] = value.decode("latin-1")
    body = dict(raw)
    body["model"] = http.json.get("model", body.get("model"))
    http = dataclasses.replace(http, json=body, headers=headers)
    callopts["client"] = client
    callopts["deadline"] = _transport.deadline_for(callopts["timeout"])
    transport_call = _transport.AsyncCall(http, **callopts)
    try:
        response, answer = await transport_call.send()
    except APIError as err:
        call.failed(cand, sent, err.scrub(http.secrets), step)
        raise call.raise_final(err.scrub(http.secrets)) from None
    receipt.deployment = cand.label
    receipt.attempts = call.attempts
    returned = [
        (k.encode("latin-1"), v.encode("latin-1"))
        for k, v in response.headers.items()
        if k.lower() == "content-type" or k.lower() in spec_adapter.config.errors.request_id
    ]
    out = Passthrough(
        status=response.status_code,
        headers=returned,
        body=answer,
        receipt=receipt,
        adapter=spec_adapter,
        failure=None,
        result=None,
        _call=call,
        _cand=cand,
        _sent=sent,
        _reservation=step,
        _transport_call=transport_call,
        _max_event=max_event,
        _secrets=http.secrets,
    )
    if response.status_code >= 400:
        said = spec_adapter.map_error(
            response.status_code, response.headers, answer or b"", model=receipt.model
        ).scrub(http.secrets)
        out.failure = said
        call.failed(cand, sent, said, step)
        call.raise_final(said)  # the call's error event (hooks, spans); the caller gets the body as is
        await response.aclose()
        return out
    if stream:
        out._response = response
        return out
    try:
        out.result = _client._finish(spec_adapter, response, answer, receipt)
    except APIError as err:  # a 200 that is not an answer: typed, never passed on as one
        raise out.failed(err.scrub(http.secrets)) from None
    return out
