"""Ask a provider what it has: its model list, and whether it is reachable with the key we hold.

>>> router.list_models("groq")
['llama-3.1-8b-instant', ...]
>>> router.health("ollama")
Health(provider='ollama', status='ok', latency_ms=3.1, detail='12 models')
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import Any
from typing import Literal

from router._adapter import Adapter
from router._exceptions import APIConnectionError
from router._exceptions import APIError
from router._exceptions import APITimeoutError
from router._exceptions import AuthenticationError
from router._exceptions import ConfigError
from router._exceptions import PermissionDeniedError
from router._registry import adapter
from router._types import HttpRequest
from router.protocols._http import build_http
from router.protocols._normalise import get_path

if TYPE_CHECKING:  # httpx loads with the first probe, not on `import router`
    from router import _httpx as _h

__all__ = ["Health", "alist_models", "health", "list_models"]


@dataclass(frozen=True)
class Health:
    provider: str
    status: Literal["ok", "auth_failed", "down", "error"]
    latency_ms: float | None
    detail: str


def _models_request(provider: str, api_key: str | None, base_url: str | None) -> tuple[Adapter, HttpRequest]:
    found = adapter(provider)
    cfg = found.config
    ep = cfg.models_endpoint
    if ep is None:
        raise ConfigError(
            f"{provider} declares no models endpoint (endpoints.models in specs/{provider}.yaml)"
        )
    http = build_http(cfg, {}, model="", stream=False, api_key=api_key, base_url=base_url)
    base = http.url[: -len(cfg.chat.path)] if http.url.endswith(cfg.chat.path) else http.url.split("?")[0]
    query = http.url.partition("?")[2]
    url = base + ep.path + (f"?{query}" if query else "")
    headers = {k: v for k, v in http.headers.items() if k.lower() != "content-type"}
    return found, HttpRequest(ep.method, url, headers, {}, secrets=http.secrets)


def _failure(exc: Exception, mod: Adapter, req: HttpRequest, deadline: float | None) -> APIError:
    import router._transport as _transport  # already loaded by the caller

    if isinstance(exc, APIError):  # over the size cap, or the deadline passed while reading
        return exc
    if _transport.past(deadline):
        return APITimeoutError("the models endpoint did not answer in time", provider=mod.id)
    return _transport.connection_error(exc, req.secrets, mod.id, "")


def _answer(mod: Adapter, req: HttpRequest, status: int, headers: Any, body: bytes) -> Any:
    if status >= 400:
        raise mod.map_error(status, headers, body).scrub(req.secrets)
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise APIError(
            "models endpoint answered with something that is not JSON", status=status, provider=mod.id
        ) from None


def _get(mod: Adapter, req: HttpRequest, timeout: float, client: _h.Client | None) -> Any:
    """One GET, with no body (no JSON, no content-type, no content-length), no retries, the body
    capped and read inside ``timeout``; its JSON answer."""
    import router._transport as _transport  # imports httpx2: kept off `import router`
    from router._httpx import family  # (likewise)

    http: Any = _transport._client() if client is None else client
    h = family(http)
    deadline = _transport.deadline_for(timeout)
    request = http.build_request(
        req.method, req.url, headers=req.headers, timeout=_transport._timeout(timeout, deadline, None, h)
    )
    failure: APIError | None = None
    try:
        response = http.send(request, stream=True)
        body = _transport._read(response, deadline, _transport.MAX_BODY, mod.id, "")
    except (h.HTTPError, APIError) as exc:
        failure = _failure(exc, mod, req, deadline)
    if failure is not None:
        raise failure.scrub(req.secrets)  # outside the except: no chained httpx error
    return _answer(mod, req, response.status_code, response.headers, body)


async def _aget(mod: Adapter, req: HttpRequest, timeout: float, client: _h.AsyncClient | None) -> Any:
    """The async twin of :func:`_get`."""
    import router._transport as _transport  # imports httpx2: kept off `import router`
    from router._httpx import family  # (likewise)

    http: Any = await _transport._aclient() if client is None else client
    h = family(http)
    deadline = _transport.deadline_for(timeout)
    request = http.build_request(
        req.method, req.url, headers=req.headers, timeout=_transport._timeout(timeout, deadline, None, h)
    )
    failure: APIError | None = None
    try:
        response = await http.send(request, stream=True)
        body = await _transport._aread(response, deadline, _transport.MAX_BODY, mod.id, "")
    except (h.HTTPError, APIError) as exc:
        failure = _failure(exc, mod, req, deadline)
    if failure is not None:
        raise failure.scrub(req.secrets)
    return _answer(mod, req, response.status_code, response.headers, body)


def _ids(mod: Adapter, data: Any) -> list[str]:
    ep = mod.config.models_endpoint
    assert ep is not None  # _models_request checked it
    items = get_path(data, ep.items) if ep.items else data
    if not isinstance(items, list):
        raise APIError(
            f"models endpoint answer has no list at {'.'.join(ep.items or ())!r}", provider=mod.id, body=data
        )
    ids = []
    for item in items:
        value = get_path(item, ep.id_field) if ep.id_field and isinstance(item, dict) else item
        if isinstance(value, str):
            if ep.strip_prefix and value.startswith(ep.strip_prefix):
                value = value[len(ep.strip_prefix) :]
            ids.append(value)
    return ids


def list_models(
    provider: str,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    timeout: float = 10.0,
    http_client: _h.Client | None = None,
) -> list[str]:
    """The model ids the provider's models endpoint lists, as the spec says to read them (a GET with
    no body; ``http_client``: your own ``httpx2.Client`` (or httpx's), used as it is and left open)."""
    mod, req = _models_request(provider, api_key, base_url)
    return _ids(mod, _get(mod, req, timeout, http_client))


async def alist_models(
    provider: str,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    timeout: float = 10.0,
    http_client: _h.AsyncClient | None = None,
) -> list[str]:
    """The async twin of :func:`list_models` (``http_client``: an ``httpx2.AsyncClient`` (or httpx's))."""
    mod, req = _models_request(provider, api_key, base_url)
    return _ids(mod, await _aget(mod, req, timeout, http_client))


def health(
    provider: str,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    timeout: float = 5.0,
    http_client: _h.Client | None = None,
) -> Health:
    """Reachable with our key (ok), reachable but the key is refused (auth_failed), or down."""
    start = time.perf_counter()
    try:
        models = list_models(
            provider, api_key=api_key, base_url=base_url, timeout=timeout, http_client=http_client
        )
        n = len(models)
    except (AuthenticationError, PermissionDeniedError) as e:
        return Health(provider, "auth_failed", _ms(start), f"{e.status}: {e.message}")
    except APIConnectionError as e:
        return Health(provider, "down", None, e.message)
    except APIError as e:
        if (e.status or 0) >= 500:
            return Health(provider, "down", _ms(start), str(e))
        return Health(provider, "error", _ms(start), str(e))
    except ConfigError as e:
        return Health(provider, "error", None, str(e))
    return Health(provider, "ok", _ms(start), f"{n} models")


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)
