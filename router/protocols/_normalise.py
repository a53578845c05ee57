"""Reading answers: JSON bodies, dotted paths, usage through the spec's paths, provider-reported cost,
and finish reasons through the spec's table (never silently ``stop``)."""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Mapping
from typing import Any

from router._exceptions import ERROR_KINDS
from router._exceptions import InvalidResponseError
from router._json import fast as _fast_loads
from router._types import CompletionTokensDetails
from router._types import PromptTokensDetails
from router._types import Usage
from router.protocols._config import Path
from router.protocols._config import ProviderConfig
from router.protocols._config import UsagePaths

__all__ = ["finish_reason", "get_path", "load_json", "new_id", "now", "response_cost", "usage_from"]

log = logging.getLogger("router")


def now() -> int:
    return int(time.time())


# 96 random bits per made-up id, as 24 hex digits (what uuid4().hex[:24] gave, at a tenth of the
# cost: uuid4 builds a UUID object per call, once per answer of a provider that sends no id). Not a
# secret, only unique; the random module reseeds itself in a forked child.
_bits = random.getrandbits


def new_id(prefix: str) -> str:
    return f"{prefix}{_bits(96):024x}"


def load_json(
    body: bytes | str | Mapping[str, Any] | list[Any] | None,
    *,
    provider: str,
    status: int,
    model: str | None = None,
) -> Any:
    if type(body) is not bytes and (body is None or isinstance(body, Mapping | list)):  # bytes: no ABC check
        return body
    try:  # valid UTF-8 JSON text (no BOM), read by msgspec from the bytes (router/_json.py)
        return _fast_loads(body)
    except (ValueError, RecursionError):  # refused: the general path below, json.loads decides
        pass
    if isinstance(body, bytes):
        # Invalid UTF-8 is replaced, as the stream decoders do, so a body and a stream read alike; a
        # BOM is dropped. (Not the "utf-8-sig" codec: it is Python code, 2 µs of a small answer.)
        raw = body[3:] if body[:3] == b"\xef\xbb\xbf" else body
        try:
            body = raw.decode()
        except UnicodeDecodeError:
            body = raw.decode("utf-8", "replace")
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python recurses
        raise InvalidResponseError(
            f"provider sent a body that is not JSON (or is nested too deeply): {body[:200]!r}",
            status=status,
            provider=provider,
            model=model,
            body=body[:2000],
        ) from None


def get_path(obj: Any, path: Path) -> Any:
    """The value at a dotted path; a digit indexes a list, ``*`` takes the first list item that has
    the rest of the path (``error.details.*.retryDelay``)."""
    # Several per answer (every usage figure): plain dicts are walked inline, anything else (a list,
    # a dict subclass) by _get_rest.
    for i, key in enumerate(path):
        if type(obj) is not dict:
            return _get_rest(obj, path, i)
        obj = obj.get(key)
        if obj is None:
            return None
    return obj


def _get_rest(obj: Any, path: Path, start: int) -> Any:
    for i in range(start, len(path)):
        key = path[i]
        if isinstance(obj, dict):
            obj = obj.get(key)
        elif isinstance(obj, list) and key == "*":
            rest = path[i + 1 :]
            return next((v for v in (get_path(item, rest) for item in obj) if v is not None), None)
        elif isinstance(obj, list) and key.isdigit() and int(key) < len(obj):
            obj = obj[int(key)]
        else:
            return None
        if obj is None:
            return None
    return obj


def _sum(obj: Any, paths: tuple[Path, ...], first: bool = False) -> int | None:
    """The figure at ``paths``: their sum, or with ``first`` the first one present."""
    total: int | None = None
    for p in paths:
        # get_path inlined for the usual walk through plain dicts (six figures an answer); a list
        # or anything else on the way is walked by get_path itself, from the top.
        v = obj
        for key in p:
            if type(v) is not dict:
                v = get_path(obj, p)
                break
            v = v.get(key)
            if v is None:
                break
        if type(v) is int or (isinstance(v, int) and not isinstance(v, bool)):
            if first:
                return v
            total = v if total is None else total + v
    return total


def usage_from(paths: UsagePaths, obj: Any) -> Usage | None:
    """Read usage through the spec's paths; None when the object reports none."""
    # Most stream chunks carry no usage: one dict lookup per path root decides that.
    if not isinstance(obj, dict):
        return None
    for root in paths.roots:
        if obj.get(root) is not None:
            break
    else:
        return None
    alt = paths.alternatives
    prompt = _sum(obj, paths.prompt_tokens, "prompt_tokens" in alt)
    completion = _sum(obj, paths.completion_tokens, "completion_tokens" in alt)
    if prompt is None and completion is None:
        return None
    prompt = prompt or 0
    completion = completion or 0
    reasoning = _sum(obj, paths.reasoning_tokens, "reasoning_tokens" in alt) or 0
    reported = _sum(obj, paths.total_tokens, "total_tokens" in alt)
    # The unified completion counts reasoning tokens (as OpenAI's does). Where the spec says the
    # provider leaves them out, or its own total shows it did (total = prompt + completion + reasoning),
    # they are added back.
    if paths.reasoning_excluded_from_completion or (
        reasoning and reported is not None and reported == prompt + completion + reasoning
    ):
        completion += reasoning
    # One rule for every provider: prompt + completion == total (a provider total that counts
    # something else, or nothing, never makes the three figures disagree).
    total = prompt + completion
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=total,
        prompt_tokens_details=PromptTokensDetails(
            cached_tokens=_sum(obj, paths.cached_tokens, "cached_tokens" in alt) or 0,
            cache_write_tokens=_sum(obj, paths.cache_write_tokens, "cache_write_tokens" in alt),
        ),
        completion_tokens_details=CompletionTokensDetails(reasoning_tokens=reasoning),
    )


def response_cost(cfg: ProviderConfig, headers: Mapping[str, str], data: Any) -> float | None:
    """The cost the provider itself reports (a header or a body field), in USD."""
    u = cfg.usage
    if u.cost_headers:
        lower = {k.lower(): v for k, v in headers.items()}
        for name in u.cost_headers:
            raw = lower.get(name.lower())
            if raw is not None:
                try:
                    return float(raw)
                except ValueError:
                    continue
    for path in u.cost:
        v = get_path(data, path)
        if isinstance(v, int | float) and not isinstance(v, bool):
            return float(v)
    return None


def finish_reason(cfg: ProviderConfig, native: Any, detail: Any = None) -> Any:
    """Map the provider's finish reason through the spec's table.

    An unmapped value never silently becomes ``stop``: it maps to the spec's declared
    ``finish_reasons.unknown`` and is logged; the native value is always kept by the caller. A
    reason the spec lists under ``finish_reasons.errors`` raises that error (``detail``: an error
    object the provider attached to the choice, if any).
    """
    if native is None:
        return None
    mapped = cfg.finish_reasons.get(native)
    if mapped is None:
        kind = cfg.finish_reason_errors.get(native)
        if kind is not None:
            why = detail.get("message") if isinstance(detail, dict) else None
            text = f"the answer ended with finish_reason {native!r}" + (f": {why}" if why else "")
            raise ERROR_KINDS[kind](text, provider=cfg.id, native_type=str(native), body=detail)
        log.warning("%s: unknown finish reason %r, mapped to %r", cfg.id, native, cfg.finish_reason_unknown)
        mapped = cfg.finish_reason_unknown
    return mapped
