"""The HTTP request on the way out: base URL (spec, env or argument), ``{placeholders}``, auth, static
and extra headers and query. Every value comes from the ProviderConfig; nothing here knows a provider."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote
from urllib.parse import urlencode
from urllib.parse import urlsplit

from router._exceptions import ConfigError
from router._types import HttpRequest
from router._types import is_credential_header
from router.protocols._config import ProviderConfig

__all__ = ["build_http"]


def _getenv(name: str) -> str | None:
    """``os.environ.get(name)`` without its cost for an unset variable: the Mapping ``get`` raises and
    catches a KeyError inside (~1.5 µs here, on every call for a base-URL variable nobody sets). Reads
    the same table ``os.environ`` keeps (``_data``, encoded keys) and falls back to ``get`` for any
    other mapping put in its place."""
    environ = os.environ
    data = getattr(environ, "_data", None)
    if type(data) is not dict:
        return environ.get(name)
    raw = data.get(environ.encodekey(name))
    return None if raw is None else environ.decodevalue(raw)


def _fill(template: str, values: Mapping[str, str]) -> str:
    if "{" not in template:
        return template
    return template.format_map(values)


class _Variables(dict[str, str]):
    """Placeholder values, read from the environment only when a template uses them, so a variable
    the call does not need (a base URL passed as base_url=) is never demanded."""

    def __init__(self, cfg: ProviderConfig, model: str) -> None:
        super().__init__(model=quote(model, safe=""))
        self._cfg = cfg

    def __missing__(self, name: str) -> str:
        var = self._cfg.variables.get(name)
        if var is None:  # the compiler checks placeholders; this is a hand-built config
            raise ConfigError(f"{self._cfg.id}: no variable {{{name}}}")
        value = _getenv(var.env) if var.env else None
        if value is None:
            value = var.default
        if value is None:
            raise ConfigError(
                f"{self._cfg.id}: set {var.env} (fills {{{name}}} in the provider's URL or headers)"
            )
        self[name] = value
        return value


def _checked(cfg: ProviderConfig, key: str, where: str) -> str:
    """A key that cannot go in a header as it is is refused, without showing it."""
    if not isinstance(key, str):
        raise ConfigError(f"{cfg.id}: the API key from {where} is a {type(key).__name__}, expected a string")
    if key != key.strip() or not key.isascii() or not key.isprintable():
        raise ConfigError(
            f"{cfg.id}: the API key from {where} has surrounding white space, a line break, or a "
            "non-ASCII or control character; it was not sent (check how it was pasted or exported)"
        )
    return key


def _api_key(cfg: ProviderConfig, api_key: str | None) -> str | None:
    if api_key is not None:
        return _checked(cfg, api_key, "api_key=")
    for env in cfg.auth_env:
        value = _getenv(env)
        if value:
            return _checked(cfg, value, f"${env}")
    if cfg.auth_optional:
        return None
    names = " or ".join(cfg.auth_env) or "an api_key argument"
    raise ConfigError(f"{cfg.id}: no API key; set {names} or pass api_key=")


def _complete_host(value: str, default: str) -> str:
    """An env base URL given as a bare host (``localhost``, ``0.0.0.0:11434``, as OLLAMA_HOST often is)
    takes the scheme, and the port if it has none, of the spec's default base_url."""
    if "://" in value:
        return value
    parsed = urlsplit(default)
    host, _, rest = value.partition("/")
    if ":" not in host and parsed.port is not None:
        host = f"{host}:{parsed.port}"
    return f"{parsed.scheme}://{host}" + (f"/{rest}" if rest else "")


class _Plan:
    """What a request's model, stream flag, base URL and environment make of the spec's URL, query and
    headers: the same for every call that shares them, so filled once (the key and the call's own
    extras are added per call)."""

    __slots__ = ("headers", "method", "query", "url")

    def __init__(self, url: str, query: dict[str, str], headers: dict[str, str], method: str) -> None:
        self.url = url
        self.query = query
        self.headers = headers
        self.method = method


_PLANS_MAX = 256  # per provider: models x stream x base URLs a process uses; cleared when full


def _plan(cfg: ProviderConfig, model: str, stream: bool, base_url: str | None, from_env: str | None) -> _Plan:
    values = _Variables(cfg, model)
    base = base_url or (_complete_host(from_env, cfg.base_url) if from_env else None) or cfg.base_url
    base = _fill(base, values).rstrip("/")
    ep = cfg.chat
    path = ep.stream_path if stream and ep.stream_path else ep.path
    url = base + _fill(path, values)
    query = {k: _fill(v, values) for k, v in cfg.query.items()}
    if stream:
        query.update(ep.stream_query)
    headers = {"content-type": "application/json"}
    for k, v in cfg.headers.items():
        filled = _fill(v, values)
        if filled:  # a header whose placeholders are all empty (an optional one left unset) is not sent
            headers[k] = filled
    return _Plan(url, query, headers, ep.method)


def build_http(
    cfg: ProviderConfig,
    body: dict[str, Any],
    *,
    model: str,
    stream: bool,
    api_key: str | None,
    base_url: str | None,
    extra_headers: Mapping[str, str] | None = None,
    extra_query: Mapping[str, str] | None = None,
) -> HttpRequest:
    from_env = _getenv(cfg.base_url_env) if cfg.base_url_env and not base_url else None
    # Every input of the plan is in its key, the variables' environment values included (read here,
    # demanded only by a template that uses them).
    env: tuple[str | None, ...] = (
        tuple(_getenv(v.env) if v.env else None for v in cfg.variables.values()) if cfg.variables else ()
    )
    plan_key = (model, stream, base_url, from_env, env)
    plans = cfg._http_plans
    plan = plans.get(plan_key)
    if plan is None:
        plan = _plan(cfg, model, stream, base_url, from_env)
        if len(plans) >= _PLANS_MAX:
            plans.clear()
        plans[plan_key] = plan
    url = plan.url
    headers = plan.headers.copy()
    key = _api_key(cfg, api_key)
    secrets: tuple[str, ...] = ()
    query = plan.query
    if key:
        secrets = (key,)
        if cfg.auth_query:
            query = {**query, cfg.auth_query: key}
        elif cfg.auth_header:
            headers[cfg.auth_header] = f"Bearer {key}" if cfg.auth_scheme == "bearer" else key
    if extra_query:
        query = {**query, **extra_query}
    if query:
        url = f"{url}{'&' if '?' in url else '?'}{urlencode(query)}"
    if extra_headers:
        headers.update(extra_headers)
        for name, value in extra_headers.items():
            if is_credential_header(name) and isinstance(value, str) and value:
                # the token after a scheme ("Bearer sk-..."), or the whole value
                parts = value.split()
                secrets = (*secrets, parts[-1] if len(parts) > 1 else value)
    return HttpRequest(
        method=plan.method, url=url, headers=headers, json=body, stream=stream, secrets=secrets
    )
