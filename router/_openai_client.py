"""``router.OpenAI`` / ``router.AsyncOpenAI``: the openai SDK's client, over every provider.

Code written against the openai package keeps its shape and gains the providers:

>>> client = router.OpenAI()                      # was: openai.OpenAI()
>>> resp = client.chat.completions.create(model="anthropic/claude-sonnet-4-5", messages=msgs)
>>> [m.id for m in client.models.list()][:2]
['anthropic/claude-opus-4-1', 'anthropic/claude-sonnet-4-5']

``chat.completions.create`` is :func:`router.completion` (the same overloads and typed keywords:
``stream=True`` gives a :class:`router.Stream`); ``chat.completions.parse`` (also at
``beta.chat.completions.parse``) is it with ``response_format=<model class>`` and never streams.
The client's settings are the defaults of every call, which a call's own keywords override:
``api_key`` and ``base_url`` (given: used for whichever provider the model routes to, and a model
no provider knows goes to the ``openai-compatible`` provider at that URL, as the openai SDK would
send it), ``timeout`` (seconds: the call's total deadline), ``max_retries``, ``default_headers``
(``extra_headers``), ``default_query`` (``extra_query``), ``organization`` / ``project`` (OpenAI's
headers, sent to OpenAI's own providers only), ``http_client``.

Without an ``http_client`` the client opens its own connection pool on first use and ``close()``
(or leaving ``with router.OpenAI() as client:``) closes it; a client of yours is used as it is and
never closed here (the router's rule everywhere). ``models.list()`` lists the catalogue of every
provider usable here (ids ``provider/model``, no network call); with ``base_url`` it asks that
server's ``/models``.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from collections.abc import Generator
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import TYPE_CHECKING
from typing import Any
from typing import ClassVar
from typing import Literal
from typing import overload

from router._client import AsyncStream
from router._client import Stream
from router._client import acompletion
from router._client import completion
from router._client import normalise_options
from router._exceptions import APIConnectionError
from router._exceptions import ConfigError
from router._exceptions import NotFoundError
from router._registry import adapter
from router._registry import resolve
from router._types import ChatCompletion
from router._types import _Shape

if TYPE_CHECKING:
    from typing import Unpack

    from router import _httpx as _h
    from router._params_types import AsyncCompletionParams
    from router._params_types import CompletionParams
    from router._params_types import Messages

__all__ = ["AsyncOpenAI", "ModelObject", "ModelPage", "OpenAI"]

# Providers that speak for OpenAI's own account, where its organization / project headers belong.
_OPENAI_ACCOUNT = frozenset({"openai", "openai-responses"})
_COMPATIBLE = "openai-compatible"


@dataclass(slots=True)
class ModelObject(_Shape):
    """One entry of ``models.list()``, as the openai SDK's ``Model``."""

    id: str
    owned_by: str
    created: int = 0
    object: Literal["model"] = "model"

    _FIELDS: ClassVar[tuple[str, ...]] = ("id", "created", "object", "owned_by")


@dataclass(slots=True)
class ModelPage(_Shape):
    """What ``models.list()`` gives, as the openai SDK's page: ``.data``, and iterable."""

    data: list[ModelObject] = field(default_factory=list)
    object: Literal["list"] = "list"

    _FIELDS: ClassVar[tuple[str, ...]] = ("object", "data")

    def __iter__(self) -> Iterator[ModelObject]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> ModelObject:
        return self.data[index]

    def has_next_page(self) -> bool:
        return False  # the whole list is one page


def _catalogue() -> ModelPage:
    from router._providers import providers  # the provider table: only for models.list()

    data: list[ModelObject] = []
    for status in providers():
        if status.enabled:
            data.extend(
                ModelObject(f"{status.id}/{m.id}", status.id) for m in adapter(status.id).config.models
            )
    return ModelPage(data)


def _retrieve(model: str) -> ModelObject:
    try:
        found, name = resolve(model)
    except ConfigError as err:
        raise NotFoundError(str(err), status=404, param="model") from None
    return ModelObject(f"{found.id}/{name}", found.id)


class _Base:
    """A client's settings, the default keyword arguments of each of its calls."""

    def __init__(
        self,
        api_key: str | None,
        organization: str | None,
        project: str | None,
        base_url: str | None,
        timeout: float | _h.Timeout | None,
        max_retries: int,
        default_headers: Mapping[str, str] | None,
        default_query: Mapping[str, str] | None,
    ) -> None:
        self.api_key = api_key
        self.organization = organization
        self.project = project
        self.base_url = base_url
        self.timeout = timeout
        self.max_retries = max_retries
        self.default_headers = dict(default_headers or {})
        self.default_query = dict(default_query or {})
        self._closed = False

    @property
    def is_closed(self) -> bool:
        return self._closed

    def _route(self, model: str) -> tuple[str, str | None]:
        """The model to call, and its provider (None: it does not resolve; the call will say why)."""
        try:
            found, _ = resolve(model)
        except ConfigError:
            if self.base_url is None:
                return model, None
            # a model no provider knows, for the server at base_url: OpenAI's API, as the SDK sends it
            return f"{_COMPATIBLE}/{model}", _COMPATIBLE
        return model, found.id

    def _call(self, model: str, kwargs: dict[str, Any], client: Any) -> tuple[str, dict[str, Any]]:
        """The model and keyword arguments of ``completion`` for a call: the call's own keywords
        (LiteLLM's spellings resolved) over the client's settings."""
        if self._closed:
            raise APIConnectionError("this client was closed (close()); make a new one")
        model, provider = self._route(model)
        own = normalise_options(kwargs)
        call: dict[str, Any] = {"max_retries": self.max_retries}
        for name in ("api_key", "base_url", "timeout"):
            value = getattr(self, name)
            if value is not None:
                call[name] = value
        call.update((k, v) for k, v in own.items() if v is not None or k not in call)
        headers = dict(self.default_headers)
        if provider in _OPENAI_ACCOUNT:
            if self.organization:
                headers["OpenAI-Organization"] = self.organization
            if self.project:
                headers["OpenAI-Project"] = self.project
        if headers:
            call["extra_headers"] = {**headers, **(own.get("extra_headers") or {})}
        if self.default_query:
            call["extra_query"] = {**self.default_query, **(own.get("extra_query") or {})}
        if call.get("http_client") is None:
            call["http_client"] = client
        return model, call

    def _models_source(self) -> tuple[str, dict[str, Any]] | None:
        """Where ``models.list()`` asks: the server at ``base_url``, or None for the catalogue."""
        if self._closed:
            raise APIConnectionError("this client was closed (close()); make a new one")
        if self.base_url is None:
            return None
        opts: dict[str, Any] = {"api_key": self.api_key, "base_url": self.base_url}
        if isinstance(self.timeout, int | float):
            opts["timeout"] = float(self.timeout)
        return _COMPATIBLE, opts


def _pool_client_options() -> dict[str, Any]:
    from router import _transport  # imports httpx: only when the client opens its own pool
    from router._fake import FakeTransport  # the in-process fake provider's transport, with the pool

    return {
        "verify": _transport._verify(),
        "limits": _transport._LIMITS,
        "timeout": _transport.DEFAULT_TIMEOUT,
        "follow_redirects": False,
        "mounts": {"fake://": FakeTransport()},
    }


# ----------------------------------------------------------------------------- sync


class Completions:
    """``client.chat.completions``."""

    def __init__(self, client: OpenAI) -> None:
        self._client = client

    @overload
    def create(
        self,
        *,
        model: str,
        messages: Messages,
        stream: Literal[False] | None = None,
        **kwargs: Unpack[CompletionParams],
    ) -> ChatCompletion: ...
    @overload
    def create(
        self, *, model: str, messages: Messages, stream: Literal[True], **kwargs: Unpack[CompletionParams]
    ) -> Stream: ...
    @overload
    def create(
        self,
        *,
        model: str,
        messages: Messages,
        stream: bool | None = None,
        **kwargs: Unpack[CompletionParams],
    ) -> ChatCompletion | Stream: ...
    def create(
        self, *, model: str, messages: Messages, stream: bool | None = None, **kwargs: Any
    ) -> ChatCompletion | Stream:
        """:func:`router.completion` with the client's settings as defaults."""
        name, call = self._client._call(model, kwargs, self._client._http())
        result: ChatCompletion | Stream = completion(name, messages, stream=stream, **call)
        return result

    def parse(self, *, model: str, messages: Messages, **kwargs: Unpack[CompletionParams]) -> ChatCompletion:
        """The openai SDK's ``parse``: ``response_format=<model class>``, the validated instance on
        ``message.parsed``; never a stream."""
        name, call = self._client._call(model, dict(kwargs), self._client._http())
        result: ChatCompletion = completion(name, messages, stream=False, **call)
        return result


class Chat:
    """``client.chat``."""

    def __init__(self, client: OpenAI) -> None:
        self.completions = Completions(client)


class Models:
    """``client.models``."""

    def __init__(self, client: OpenAI) -> None:
        self._client = client

    def list(self) -> ModelPage:
        """Every model of every provider usable here (``provider/model``), or, for a client with a
        ``base_url``, what that server's ``/models`` lists."""
        source = self._client._models_source()
        if source is None:
            return _catalogue()
        from router._probe import list_models  # the probes: only for models.list() against a server

        provider, opts = source
        ids = list_models(provider, http_client=self._client._http(), **opts)
        return ModelPage([ModelObject(i, provider) for i in ids])

    def retrieve(self, model: str) -> ModelObject:
        """The model a name routes to (``NotFoundError`` for one no provider knows)."""
        return _retrieve(model)


class _Beta:
    def __init__(self, chat: Any) -> None:
        self.chat = chat


class OpenAI(_Base):
    """The openai SDK's ``OpenAI`` client, routing every call through the router's providers."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        organization: str | None = None,
        project: str | None = None,
        base_url: str | None = None,
        timeout: float | _h.Timeout | None = None,
        max_retries: int = 2,
        default_headers: Mapping[str, str] | None = None,
        default_query: Mapping[str, str] | None = None,
        http_client: _h.Client | None = None,
    ) -> None:
        super().__init__(
            api_key, organization, project, base_url, timeout, max_retries, default_headers, default_query
        )
        self._given = http_client  # the caller's: used as it is, never closed here
        self._own: _h.Client | None = None
        self._lock = threading.Lock()
        self.chat = Chat(self)
        self.beta = _Beta(self.chat)
        self.models = Models(self)

    def _http(self) -> _h.Client:
        if self._given is not None:
            return self._given
        own = self._own
        if own is None:
            with self._lock:
                own = self._own
                if own is None:
                    from router._httpx import httpx  # httpx loads on the first call, not on `import router`

                    own = self._own = httpx.Client(**_pool_client_options())
        return own

    def close(self) -> None:
        """Close the connections this client opened (a client given as ``http_client`` stays open)."""
        self._closed = True
        if self._own is not None:
            self._own.close()

    def __enter__(self) -> OpenAI:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"router.OpenAI(base_url={self.base_url!r})"


# ----------------------------------------------------------------------------- async


class AsyncCompletions:
    """``client.chat.completions`` of an :class:`AsyncOpenAI`."""

    def __init__(self, client: AsyncOpenAI) -> None:
        self._client = client

    @overload
    async def create(
        self,
        *,
        model: str,
        messages: Messages,
        stream: Literal[False] | None = None,
        **kwargs: Unpack[AsyncCompletionParams],
    ) -> ChatCompletion: ...
    @overload
    async def create(
        self,
        *,
        model: str,
        messages: Messages,
        stream: Literal[True],
        **kwargs: Unpack[AsyncCompletionParams],
    ) -> AsyncStream: ...
    @overload
    async def create(
        self,
        *,
        model: str,
        messages: Messages,
        stream: bool | None = None,
        **kwargs: Unpack[AsyncCompletionParams],
    ) -> ChatCompletion | AsyncStream: ...
    async def create(
        self, *, model: str, messages: Messages, stream: bool | None = None, **kwargs: Any
    ) -> ChatCompletion | AsyncStream:
        """:func:`router.acompletion` with the client's settings as defaults."""
        name, call = self._client._call(model, kwargs, self._client._http())
        result: ChatCompletion | AsyncStream = await acompletion(name, messages, stream=stream, **call)
        return result

    async def parse(
        self, *, model: str, messages: Messages, **kwargs: Unpack[AsyncCompletionParams]
    ) -> ChatCompletion:
        """The openai SDK's ``parse``: ``response_format=<model class>``; never a stream."""
        name, call = self._client._call(model, dict(kwargs), self._client._http())
        result: ChatCompletion = await acompletion(name, messages, stream=False, **call)
        return result


class AsyncChat:
    """``client.chat`` of an :class:`AsyncOpenAI`."""

    def __init__(self, client: AsyncOpenAI) -> None:
        self.completions = AsyncCompletions(client)


class _AsyncModelList:
    """``await client.models.list()`` gives the page; ``async for m in client.models.list()`` its models."""

    def __init__(self, client: AsyncOpenAI) -> None:
        self._client = client

    async def _page(self) -> ModelPage:
        source = self._client._models_source()
        if source is None:
            return _catalogue()
        from router._probe import alist_models  # the probes: only for models.list() against a server

        provider, opts = source
        ids = await alist_models(provider, http_client=self._client._http(), **opts)
        return ModelPage([ModelObject(i, provider) for i in ids])

    def __await__(self) -> Generator[Any, None, ModelPage]:
        return self._page().__await__()

    async def __aiter__(self) -> AsyncIterator[ModelObject]:
        for m in await self._page():
            yield m


class AsyncModels:
    """``client.models`` of an :class:`AsyncOpenAI`."""

    def __init__(self, client: AsyncOpenAI) -> None:
        self._client = client

    def list(self) -> _AsyncModelList:
        """As :meth:`Models.list`: ``await`` it for the page, or ``async for`` over it."""
        return _AsyncModelList(self._client)

    async def retrieve(self, model: str) -> ModelObject:
        return _retrieve(model)


class AsyncOpenAI(_Base):
    """The openai SDK's ``AsyncOpenAI`` client, routing every call through the router's providers.
    Its own connection pool (without ``http_client``) is opened on first use, on that event loop."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        organization: str | None = None,
        project: str | None = None,
        base_url: str | None = None,
        timeout: float | _h.Timeout | None = None,
        max_retries: int = 2,
        default_headers: Mapping[str, str] | None = None,
        default_query: Mapping[str, str] | None = None,
        http_client: _h.AsyncClient | None = None,
    ) -> None:
        super().__init__(
            api_key, organization, project, base_url, timeout, max_retries, default_headers, default_query
        )
        self._given = http_client
        self._own: _h.AsyncClient | None = None
        self.chat = AsyncChat(self)
        self.beta = _Beta(self.chat)
        self.models = AsyncModels(self)

    def _http(self) -> _h.AsyncClient:
        if self._given is not None:
            return self._given
        if self._own is None:  # one event loop's: no other thread creates it meanwhile
            from router._httpx import httpx  # httpx loads on the first call, not on `import router`

            self._own = httpx.AsyncClient(**_pool_client_options())
        return self._own

    async def close(self) -> None:
        """Close the connections this client opened (a client given as ``http_client`` stays open)."""
        self._closed = True
        if self._own is not None:
            await self._own.aclose()

    async def __aenter__(self) -> AsyncOpenAI:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"router.AsyncOpenAI(base_url={self.base_url!r})"
