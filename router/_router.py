"""Model resolution and the call path: ``"provider/model"`` -> generated adapter -> HTTP -> unified result."""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import os
import sys
from collections.abc import AsyncIterator, Iterator, Mapping
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from router._exceptions import APIError, ConfigError
from router._streaming import aiter_events, iter_events
from router._types import ChatCompletion, ChatCompletionChunk, Receipt

if TYPE_CHECKING:  # httpx loads on the first call, not on `import router` (~80 ms saved)
    from router import _transport
    from router._httpx import httpx

__all__ = [
    "AsyncStream",
    "Stream",
    "acompletion",
    "adapter",
    "completion",
    "index",
    "provider_table",
    "resolve",
]

_INDEX_PACKAGE = "generated"


@cache
def index() -> ModuleType:
    """The index of compiled adapters: the installed ``generated`` package, or the directory named by
    ``$ROUTER_ADAPTERS`` (what ``router build --out DIR`` wrote), read on first use."""
    where = os.environ.get("ROUTER_ADAPTERS")
    if not where:
        try:
            return importlib.import_module(_INDEX_PACKAGE)
        except ImportError as e:  # pragma: no cover - a broken install
            raise ConfigError("no compiled adapters found: run `router build`") from e
    init = Path(where) / "__init__.py"
    if not init.is_file():
        raise ConfigError(
            f"ROUTER_ADAPTERS={where!r} holds no compiled adapters: run `router build --out {where}`"
        )
    name = "router_adapters"
    spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(Path(where))])
    if spec is None or spec.loader is None:  # pragma: no cover - spec_from_file_location on a .py file
        raise ConfigError(f"cannot load adapters from {where!r}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@cache
def adapter(provider: str) -> ModuleType:
    """The generated module for ``provider`` (imported on first use)."""
    idx = index()
    providers: Mapping[str, str] = idx.PROVIDERS
    module = providers.get(provider)
    if module is None:
        close = difflib.get_close_matches(provider, sorted(providers), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(sorted(providers))}"
        raise ConfigError(f"unknown provider {provider!r}{hint}")
    return importlib.import_module(f"{idx.__name__}.{module}")


def resolve(model: str) -> tuple[ModuleType, str]:
    """``"anthropic/claude-…"`` -> (adapter module, provider model id). A bare id is looked up in the catalogue."""
    if not isinstance(model, str) or not model:
        raise ConfigError("model must be a non-empty string such as 'openai/gpt-4o'")
    provider, sep, name = model.partition("/")
    idx = index()
    if sep and provider in idx.PROVIDERS:
        return adapter(provider), name
    owner = idx.MODEL_INDEX.get(model)
    if owner is not None:
        return adapter(owner), model
    if sep:
        adapter(provider)  # raises the unknown-provider error with suggestions
    close = difflib.get_close_matches(model, sorted(idx.MODEL_INDEX), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise ConfigError(f"cannot route model {model!r}: give it as 'provider/model'{hint}")


def _transport_module() -> Any:
    from router import _transport

    return _transport


def _retry_after_for(mod: ModuleType) -> _transport.RetryAfter:
    names: tuple[str, ...] = mod.CONFIG.errors.retry_after

    def read(response: httpx.Response) -> float | None:
        from router.protocols._common import _retry_after

        return _retry_after(response.headers, names)

    return read


def _prepare(model: str, kwargs: dict[str, Any]) -> tuple[ModuleType, Any, Receipt, dict[str, Any]]:
    mod, name = resolve(model)
    request = dict(kwargs)
    request["model"] = name
    receipt = Receipt(provider=mod.ID, model=mod.ALIASES.get(name, name))
    http = mod.build_request(
        request,
        api_key=kwargs.get("api_key"),
        base_url=kwargs.get("base_url"),
        strict=bool(kwargs.get("strict", False)),
        receipt=receipt,
    )
    opts = {
        "transport": mod.TRANSPORT,
        "provider": mod.ID,
        "model": receipt.model,
        "timeout": kwargs.get("timeout"),
        "max_retries": _transport_module().DEFAULT_MAX_RETRIES
        if kwargs.get("max_retries") is None
        else int(kwargs["max_retries"]),
        "retry_after": _retry_after_for(mod),
    }
    return mod, http, receipt, opts


def _raise_for(mod: ModuleType, response: httpx.Response, body: bytes, model: str) -> None:
    if response.status_code >= 400:
        raise mod.map_error(response.status_code, response.headers, body, model=model)


def completion(model: str, messages: list[Any], **kwargs: Any) -> ChatCompletion | Stream:
    """Send an OpenAI-style chat request to any provider.

    >>> resp = completion("fake/echo", [{"role": "user", "content": "Hi"}])
    >>> resp.choices[0].message.content
    'Hi'

    ``stream=True`` returns a :class:`Stream` of ``ChatCompletionChunk``. Router options: ``api_key``,
    ``base_url``, ``timeout`` (seconds), ``max_retries``, ``extra_headers``, ``extra_body``, ``strict``
    (raise instead of dropping a parameter the provider does not take).
    """
    mod, http, receipt, opts = _prepare(model, {"messages": messages, **kwargs})
    response = _transport_module().send(http, **opts)
    if http.stream:
        if response.status_code >= 400:
            body = response.read()
            response.close()
            _raise_for(mod, response, body, receipt.model)
        return Stream(mod, response, receipt)
    _raise_for(mod, response, response.content, receipt.model)
    result: ChatCompletion = mod.parse_response(
        response.status_code, response.headers, response.content, receipt=receipt
    )
    if result.cost is None:
        result.cost = _cost(mod, result)
    return result


async def acompletion(model: str, messages: list[Any], **kwargs: Any) -> ChatCompletion | AsyncStream:
    """The async twin of :func:`completion`; ``stream=True`` gives an :class:`AsyncStream`."""
    mod, http, receipt, opts = _prepare(model, {"messages": messages, **kwargs})
    response = await _transport_module().asend(http, **opts)
    if http.stream:
        if response.status_code >= 400:
            body = await response.aread()
            await response.aclose()
            _raise_for(mod, response, body, receipt.model)
        return AsyncStream(mod, response, receipt)
    _raise_for(mod, response, response.content, receipt.model)
    result: ChatCompletion = mod.parse_response(
        response.status_code, response.headers, response.content, receipt=receipt
    )
    if result.cost is None:
        result.cost = _cost(mod, result)
    return result


def _cost(mod: ModuleType, resp: ChatCompletion) -> float | None:
    from router._cost import find_model, usage_cost

    if resp.usage is None or resp.router is None:
        return None
    found = find_model(mod, resp.router.model, resp.model)
    return usage_cost(found.price, resp.usage) if found is not None and found.price is not None else None


def _wrap_read_error(exc: Exception, provider: str, model: str) -> APIError:
    err: APIError = _transport_module()._connection_error(exc, _NO_SECRETS, provider, model)
    return err


def _http_error() -> type[Exception]:
    from router._httpx import httpx

    return httpx.HTTPError


class _NoSecrets:
    secrets: tuple[str, ...] = ()


_NO_SECRETS: Any = _NoSecrets()


class Stream:
    """Iterate for ``ChatCompletionChunk`` objects; closes the connection when done (or use ``with``)."""

    def __init__(self, mod: ModuleType, response: httpx.Response, receipt: Receipt) -> None:
        self._mod = mod
        self.response = response
        self.receipt = receipt

    def __iter__(self) -> Iterator[ChatCompletionChunk]:
        framing = self._mod.CONFIG.stream.framing
        try:
            yield from self._mod.parse_stream(
                iter_events(self.response.iter_bytes(), framing), receipt=self.receipt
            )
        except _http_error() as exc:
            raise _wrap_read_error(exc, self._mod.ID, self.receipt.model) from None
        finally:
            self.response.close()

    def close(self) -> None:
        self.response.close()

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncStream:
    """``async for`` over ``ChatCompletionChunk`` objects."""

    def __init__(self, mod: ModuleType, response: httpx.Response, receipt: Receipt) -> None:
        self._mod = mod
        self.response = response
        self.receipt = receipt

    async def __aiter__(self) -> AsyncIterator[ChatCompletionChunk]:
        decoder = self._mod.stream_decoder(receipt=self.receipt)
        try:
            async for ev in aiter_events(self.response.aiter_bytes(), self._mod.CONFIG.stream.framing):
                for chunk in decoder.feed(ev):
                    yield chunk
                if decoder.done:
                    return
            for chunk in decoder.close():
                yield chunk
        except _http_error() as exc:
            raise _wrap_read_error(exc, self._mod.ID, self.receipt.model) from None
        finally:
            await self.response.aclose()

    async def aclose(self) -> None:
        await self.response.aclose()

    async def __aenter__(self) -> AsyncStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def provider_table() -> list[str]:
    """`router list`: one row a provider: id, protocol, catalogue size, and whether it is usable here."""
    from router._deployment import providers

    rows = []
    statuses = providers()
    width = max(len(p.id) for p in statuses)
    for p in statuses:
        n = len(adapter(p.id).MODELS)
        state = "enabled " if p.enabled else "disabled"
        rows.append(f"{p.id:<{width}}  {p.protocol:<18}  {n:>2} models  {state}  {p.reason}")
    return rows
