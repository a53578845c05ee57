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
        value = os.environ.get(var.env) if var.env else None
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
        value = os.environ.get(env)
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
    values = _Variables(cfg, model)
    from_env = os.environ.get(cfg.base_url_env) if cfg.base_url_env and not base_url else None
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
    key = _api_key(cfg, api_key)
    secrets: tuple[str, ...] = ()
    if key:
        secrets = (key,)
        if cfg.auth_query:
            query[cfg.auth_query] = key
        elif cfg.auth_header:
            headers[cfg.auth_header] = f"Bearer {key}" if cfg.auth_scheme == "bearer" else key
    if extra_query:
        query.update(extra_query)
    if query:
        url = f"{url}{'&' if '?' in url else '?'}{urlencode(query)}"
    if extra_headers:
        headers.update(extra_headers)
        for name, value in extra_headers.items():
            if is_credential_header(name) and isinstance(value, str) and value:
                # the token after a scheme ("Bearer sk-..."), or the whole value
                parts = value.split()
                secrets = (*secrets, parts[-1] if len(parts) > 1 else value)
    return HttpRequest(method=ep.method, url=url, headers=headers, json=body, stream=stream, secrets=secrets)
