"""Configuration: which providers are enabled, which models an app offers, and the Router that
serves named models with per-model settings and fallbacks.

    router.providers()                 # every compiled provider, enabled or not and why
    router.models()                    # the MODELS env var, filtered to enabled providers
    Router.from_env()                  # ROUTER_PROVIDER / ROUTER_MODEL_MAPPING / MODELS
    Router.from_config("router.yaml")  # a deployment file (schemas/router-config.v1.schema.json)

Keys are only ever named by environment variable; no key is logged.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from router._exceptions import ERROR_KINDS, APIError, ConfigError

__all__ = ["Deployment", "ProviderStatus", "Router", "models", "providers"]

log = logging.getLogger("router")

DEFAULT_FALLBACK_ON = (
    "rate_limit",
    "overloaded",
    "service_unavailable",
    "internal_server",
    "connection",
    "timeout",
)
_logged_disabled: set[str] = set()


@dataclass(frozen=True)
class ProviderStatus:
    id: str
    name: str
    protocol: str
    enabled: bool
    reason: str  # why (or why not), naming env vars, never their values
    key_env: tuple[str, ...]


def _status(pid: str) -> ProviderStatus:
    from router._router import adapter

    mod = adapter(pid)
    cfg = mod.CONFIG
    missing_vars = [
        v.env for v in cfg.variables.values() if v.default is None and v.env and not os.environ.get(v.env)
    ]
    if missing_vars:
        enabled, reason = False, f"set {', '.join(missing_vars)}"
    elif cfg.auth_optional:
        enabled, reason = True, "needs no key"
    else:
        present = [e for e in cfg.auth_env if os.environ.get(e)]
        enabled = bool(present)
        reason = f"key from {present[0]}" if present else f"no key: set {' or '.join(cfg.auth_env)}"
    if not enabled and pid not in _logged_disabled:
        _logged_disabled.add(pid)
        log.debug("provider %s disabled: %s", pid, reason)
    return ProviderStatus(pid, mod.NAME, mod.PROTOCOL, enabled, reason, tuple(cfg.auth_env))


def providers() -> list[ProviderStatus]:
    """Every compiled provider with whether it is usable here and why.

    >>> [p.id for p in router.providers() if p.enabled]
    ['fake', 'ollama', 'openai']
    """
    from router._router import index

    return [_status(pid) for pid in sorted(index().PROVIDERS)]


def models(env: str = "MODELS") -> list[str]:
    """The models an app offers (comma-separated ``provider/model`` in ``$MODELS``), keeping only those
    whose provider is enabled. Bare ids are resolved through the catalogue."""
    from router._router import resolve

    raw = os.environ.get(env, "")
    enabled = {p.id for p in providers() if p.enabled}
    out = []
    for item in (s.strip() for s in raw.split(",")):
        if not item:
            continue
        mod, name = resolve(item)
        if mod.ID in enabled:
            out.append(f"{mod.ID}/{name}")
        else:
            log.debug("MODELS: %s left out, provider %s is disabled", item, mod.ID)
    return out


@dataclass
class Deployment:
    """One model an app offers: the name callers use and the upstream that serves it."""

    name: str
    model: str  # provider/model
    params: dict[str, Any] = field(default_factory=dict)
    fallbacks: list[str] = field(default_factory=list)
    base_url: str | None = None
    api_key_env: str | None = None
    timeout: float | None = None
    max_retries: int | None = None
    headers: dict[str, str] = field(default_factory=dict)


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
    ) -> None:
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
            from router._router import adapter

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
        from router._config_file import load_config

        return load_config(Path(path), cls)

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
            key = os.environ.get(conn["api_key_env"])
            if not key:
                raise ConfigError(f"{name}: set {conn['api_key_env']} (the API key for {provider})")
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

    def chain(self, name: str) -> list[tuple[str, dict[str, Any]]]:
        """The upstreams tried for ``name``, in order: the model, then its fallbacks (no repeats)."""
        out: list[tuple[str, dict[str, Any]]] = []
        seen: set[str] = set()
        todo = [name]
        while todo:
            n = todo.pop(0)
            if n in seen:
                continue
            seen.add(n)
            out.append(self._upstream(n))
            dep = self.deployments.get(n)
            if dep is not None:
                todo.extend(dep.fallbacks)
        return out

    def _merge(self, opts: dict[str, Any], kwargs: dict[str, Any]) -> dict[str, Any]:
        merged = {**opts, **kwargs}
        if "extra_headers" in opts and "extra_headers" in kwargs:
            merged["extra_headers"] = {**opts["extra_headers"], **kwargs["extra_headers"]}
        return merged

    def completion(self, model: str, messages: list[Any], **kwargs: Any) -> Any:
        from router._router import completion

        chain = self.chain(model)
        for i, (upstream, opts) in enumerate(chain):
            try:
                return completion(upstream, messages, **self._merge(opts, kwargs))
            except APIError as err:
                if i + 1 < len(chain) and isinstance(err, self.fallback_on):
                    log.warning(
                        "%s failed (%s); falling back to %s", upstream, type(err).__name__, chain[i + 1][0]
                    )
                    continue
                raise
        raise ConfigError(f"no upstream for {model!r}")  # pragma: no cover - chain is never empty

    async def acompletion(self, model: str, messages: list[Any], **kwargs: Any) -> Any:
        from router._router import acompletion

        chain = self.chain(model)
        for i, (upstream, opts) in enumerate(chain):
            try:
                return await acompletion(upstream, messages, **self._merge(opts, kwargs))
            except APIError as err:
                if i + 1 < len(chain) and isinstance(err, self.fallback_on):
                    log.warning(
                        "%s failed (%s); falling back to %s", upstream, type(err).__name__, chain[i + 1][0]
                    )
                    continue
                raise
        raise ConfigError(f"no upstream for {model!r}")  # pragma: no cover

    def models(self) -> list[str]:
        return sorted(self.deployments)
