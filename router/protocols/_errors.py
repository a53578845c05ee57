"""Error answers into the typed tree: the spec's message, code, type and status tables, request ids and
retry hints from headers or the body."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from router._exceptions import ERROR_KINDS
from router._exceptions import APIError
from router._exceptions import BadRequestError
from router._exceptions import InternalServerError
from router._exceptions import RateLimitError
from router.protocols._config import Path
from router.protocols._config import ProviderConfig
from router.protocols._normalise import get_path

__all__ = ["map_error", "retry_after"]


def retry_after(headers: Mapping[str, str], names: tuple[str, ...]) -> float | None:
    lower = {k.lower(): v for k, v in headers.items()}
    for name in names:
        raw = lower.get(name.lower())
        if raw is None:
            continue
        try:
            value = float(raw.rstrip("s")) / (1000.0 if name.lower().endswith("-ms") else 1.0)
        except ValueError:
            # email.utils (it imports socket) loads only for a Retry-After given as an HTTP date
            from email.utils import parsedate_to_datetime

            try:
                value = parsedate_to_datetime(raw).timestamp() - time.time()
            except (TypeError, ValueError):
                continue
        return max(0.0, value)
    return None


def _body_delay(data: Any, path: Path) -> float | None:
    """A wait hint inside the body: a number of seconds or a duration string such as "37s"/"1.5s"."""
    value = get_path(data, path)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.removesuffix("s"))
        except ValueError:
            return None
    return None


def map_error(
    cfg: ProviderConfig, status: int, headers: Mapping[str, str], body: Any, *, model: str | None = None
) -> APIError:
    """Turn an error answer into a typed exception: the spec's message patterns first (on the message,
    then on an aggregator's wrapped upstream error), then codes, then types, then the HTTP status."""
    if isinstance(body, bytes | str):
        try:
            data: Any = json.loads(body)
        except (ValueError, RecursionError):
            data = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    else:
        data = body
    rules = cfg.errors
    native_type = get_path(data, rules.type_at) if rules.type_at else None
    code = get_path(data, rules.code_at) if rules.code_at else None
    message = get_path(data, rules.message_at) if rules.message_at else None
    if not isinstance(message, str):
        message = data if isinstance(data, str) and data else f"HTTP {status}"
        if isinstance(message, str) and message.lstrip().startswith("<"):
            message = f"HTTP {status} (the provider sent an HTML page, not an API error)"
        message = message[:500]
    upstream = get_path(data, rules.upstream_at) if rules.upstream_at else None
    upstream_text = _text(upstream)
    found_provider = get_path(data, rules.upstream_provider_at) if rules.upstream_provider_at else None
    upstream_provider = found_provider if isinstance(found_provider, str) and found_provider else None
    kind = None
    for text in (message, upstream_text):
        lowered = text.lower()
        kind = next((k for m, k in rules.messages if m.lower() in lowered), None)
        if kind is not None:
            break
    if kind is None and code is not None:
        kind = rules.codes.get(str(code))
    if kind is None and native_type is not None:
        kind = rules.types.get(str(native_type))
    if kind is None:
        kind = rules.status.get(status)
    if kind is None:
        cls: type[APIError] = (
            InternalServerError
            if status >= 500
            else (BadRequestError if status < 500 and status >= 400 else APIError)
        )
    else:
        cls = ERROR_KINDS[kind]
    if status == 429 and not issubclass(cls, RateLimitError):
        # A 429 is a rate limit whatever its code or message says (a quota or a too-large request
        # are kinds of it, typed as RateLimitError subclasses that are not retryable).
        cls = RateLimitError
    lower = {k.lower(): v for k, v in headers.items()}
    request_id = next((lower[h.lower()] for h in rules.request_id if h.lower() in lower), None)
    if request_id is None and rules.request_id_at is not None:
        found = get_path(data, rules.request_id_at)
        request_id = found if isinstance(found, str) else None
    wait = retry_after(headers, rules.retry_after)
    if wait is None and rules.retry_after_at is not None:
        wait = _body_delay(data, rules.retry_after_at)
    if upstream_text and upstream_text not in message:
        who = f" {upstream_provider}" if upstream_provider else ""
        message = f"{message} (upstream{who}: {upstream_text[:500]})"
    if cls.advice:
        message = f"{message} ({cls.advice})"
    return cls(
        message,
        status=status,
        provider=cfg.id,
        model=model,
        request_id=request_id,
        body=data,
        native_type=str(native_type)
        if native_type is not None
        else (str(code) if code is not None else None),
        retry_after=wait,
        upstream=upstream,
        upstream_provider=upstream_provider,
        headers=headers,  # masked by APIError: err.headers
    )


def _text(value: Any) -> str:
    """An upstream error as text to match and show: a string as it is, an object as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    except (TypeError, ValueError, RecursionError):
        return ""
