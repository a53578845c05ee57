"""Cost from the catalogue's declared prices and the unified usage.

Prompt tokens read from the cache and written to it are priced at their own rates where the spec
declares them (``cached_input``, ``cache_write``), at the input rate otherwise. Reasoning tokens are
output tokens (they are inside ``completion_tokens`` in the unified usage).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from router._types import ChatCompletion, Usage
from router.protocols._config import Model, Price

__all__ = ["cost", "find_model", "usage_cost"]


def usage_cost(price: Price, usage: Usage) -> float:
    """USD for ``usage`` at ``price`` (prices are per million tokens)."""
    cached = usage.prompt_tokens_details.cached_tokens or 0
    written = usage.prompt_tokens_details.cache_creation_tokens or 0
    fresh = max(usage.prompt_tokens - cached - written, 0)
    total = (
        fresh * price.input
        + cached * (price.cached_input if price.cached_input is not None else price.input)
        + written * (price.cache_write if price.cache_write is not None else price.input)
        + usage.completion_tokens * price.output
    )
    return total / 1_000_000


def find_model(mod: ModuleType, *names: str | None) -> Model | None:
    models: Any = mod.MODELS
    aliases: Any = mod.ALIASES
    for name in names:
        if not name:
            continue
        model = models.get(aliases.get(name, name))
        if model is not None:
            return model  # type: ignore[no-any-return]
    return None


def cost(resp: ChatCompletion) -> float | None:
    """USD the response cost, or None when its model has no declared price (or it reports no usage).

    >>> router.cost(router.completion("openai/gpt-4o-mini", messages))
    0.000123
    """
    if resp.usage is None or resp.router is None:
        return None
    from router._router import adapter

    model = find_model(adapter(resp.router.provider), resp.router.model, resp.model)
    if model is None or model.price is None:
        return None
    return usage_cost(model.price, resp.usage)
