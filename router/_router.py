"""``Router``: named models with their settings, retries and fallbacks.

Router([Deployment("smart", "anthropic/claude-sonnet-4-5", fallbacks=["fast"]), ...])
Router.from_env()                  # ROUTER_PROVIDER / ROUTER_MODEL_MAPPING / MODELS
Router.from_config("router.yaml")  # a deployment file (schemas/router-config.v1.schema.json)
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any
from typing import Literal
from typing import overload

from router._client import AsyncStream
from router._client import Stream
from router._client import acompletion
from router._client import completion
from router._client import normalise_options
from router._config_file import load_config
from router._deployment import Deployment
from router._exceptions import ERROR_KINDS
from router._exceptions import APIError
from router._exceptions import ConfigError
from router._providers import models
from router._registry import adapter
from router._types import ChatCompletion

if TYPE_CHECKING:  # httpx loads on the first call, not on `import router`
    from typing import Unpack

    from router._httpx import httpx
    from router._params_types import AsyncCompletionParams
    from router._params_types import CompletionParams
    from router._params_types import Messages

__all__ = ["DEFAULT_FALLBACK_ON", "Router"]

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


class Router:
    """Serves named models with their settings, retries and fallbacks.

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
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.http_client = http_client  # used for every sync call, as it is, and never closed here
        self.async_http_client = async_http_client
        self.deployments = {d.name: d for d in deployments}
        self.provider_settings = {k: dict(v) for k, v in (providers or {}).items()}
        self.timeout = timeout
        self.max_retries = max_retries
        self.strict = strict
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
    def from_config(cls, path: str | os.PathLike[str]) -> Router:
        """Load a deployment file; every problem is reported at once (``ConfigError`` listing
        ``file:line:col: error: ...`` lines). Loading imports yaml; ``import router`` does not."""
        deployments, options = load_config(Path(path))
        return cls(deployments, **options)

    # ----------------------------------------------------------------- routing

    def _upstream(self, name: str) -> tuple[str, dict[str, Any]]:
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
        timeout = conn.get("timeout", self.timeout)
        retries = conn.get("max_retries", self.max_retries)
        if timeout is not None:
            opts["timeout"] = timeout
        if retries is not None:
            opts["max_retries"] = retries
        if self.strict:
            opts["strict"] = True
        return model, opts

    def names(self, name: str) -> list[str]:
        """The deployments tried for ``name``, in order: the model, then its fallbacks (no repeats)."""
        out: list[str] = []
        todo = [name]
        while todo:
            n = todo.pop(0)
            if n in out:
                continue
            out.append(n)
            dep = self.deployments.get(n)
            if dep is not None:
                todo.extend(dep.fallbacks)
        return out

    def chain(self, name: str) -> list[tuple[str, dict[str, Any]]]:
        """The upstreams tried for ``name`` with their call options (every one resolved now; a call
        resolves each only when it gets to it)."""
        return [self._upstream(n) for n in self.names(name)]

    def _merge(self, opts: dict[str, Any], kwargs: dict[str, Any], client: Any) -> dict[str, Any]:
        merged = {**opts, **kwargs}
        if client is not None:
            merged.setdefault("http_client", client)
        if "extra_headers" in opts and "extra_headers" in kwargs:
            merged["extra_headers"] = {**opts["extra_headers"], **kwargs["extra_headers"]}
        return merged

    def _attempts(
        self, model: str, kwargs: dict[str, Any], client: Any
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """Each usable upstream in turn; one that cannot be used here (its key's env var unset) is
        skipped with a logged reason, and if none can be used the reasons are the error."""
        skipped: list[str] = []
        for n in self.names(model):
            try:
                upstream, opts = self._upstream(n)
            except ConfigError as err:
                log.warning("%s skipped: %s", n, err)
                skipped.append(str(err))
                continue
            yield upstream, self._merge(opts, kwargs, client)
        if skipped:
            raise ConfigError(f"no usable upstream for {model!r}: " + "; ".join(skipped))

    def _fall_back(self, upstream: str, err: APIError, failures: list[APIError]) -> None:
        if not isinstance(err, self.fallback_on):
            raise err
        failures.append(err)
        log.warning("%s failed (%s); trying the next upstream", upstream, type(err).__name__)

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
    ) -> Stream: ...
    @overload
    def completion(
        self,
        model: str,
        messages: Messages,
        *,
        stream: bool | None = None,
        **kwargs: Unpack[CompletionParams],
    ) -> ChatCompletion | Stream: ...
    def completion(
        self, model: str, messages: Messages, *, stream: bool | None = None, **kwargs: Any
    ) -> ChatCompletion | Stream:
        """``router.completion`` for a deployment name (or any model), with its settings, retries and
        fallbacks; the call's own keyword arguments win over the deployment's."""
        call = _call_options(stream, kwargs)
        failures: list[APIError] = []
        try:
            for upstream, opts in self._attempts(model, call, self.http_client):
                try:
                    result: ChatCompletion | Stream = completion(upstream, messages, **opts)
                    return result
                except APIError as err:
                    self._fall_back(upstream, err, failures)
        except ConfigError:
            if not failures:
                raise
        raise failures[-1]

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
    ) -> AsyncStream: ...
    @overload
    async def acompletion(
        self,
        model: str,
        messages: Messages,
        *,
        stream: bool | None = None,
        **kwargs: Unpack[AsyncCompletionParams],
    ) -> ChatCompletion | AsyncStream: ...
    async def acompletion(
        self, model: str, messages: Messages, *, stream: bool | None = None, **kwargs: Any
    ) -> ChatCompletion | AsyncStream:
        """The async twin of :meth:`completion`."""
        call = _call_options(stream, kwargs)
        failures: list[APIError] = []
        try:
            for upstream, opts in self._attempts(model, call, self.async_http_client):
                try:
                    result: ChatCompletion | AsyncStream = await acompletion(upstream, messages, **opts)
                    return result
                except APIError as err:
                    self._fall_back(upstream, err, failures)
        except ConfigError:
            if not failures:
                raise
        raise failures[-1]

    def models(self) -> list[str]:
        return sorted(self.deployments)


def _call_options(stream: bool | None, kwargs: dict[str, Any]) -> dict[str, Any]:
    """A call's own options in the router's terms (LiteLLM's spellings resolved), so they win over a
    deployment's under either name: ``api_base=`` replaces the deployment's ``base_url``."""
    call = normalise_options(kwargs)
    if stream is not None:
        call["stream"] = stream
    return call
