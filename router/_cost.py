"""Cost from the catalogue's declared prices and the unified usage.

Prompt tokens read from the cache and written to it are priced at their own rates where the spec
declares them (``cached_input``, ``cache_write``), at the input rate otherwise. Reasoning tokens are
output tokens (they are inside ``completion_tokens`` in the unified usage).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from router._registry import adapter
from router._types import ChatCompletion
from router._types import Usage

if TYPE_CHECKING:  # the config dataclasses load with the first adapter, not on `import router`
    from router.protocols._config import Price

__all__ = ["cost", "usage_cost"]


def usage_cost(price: Price, usage: Usage) -> float:
    """USD for ``usage`` at ``price`` (prices are per million tokens)."""
    cached = usage.prompt_tokens_details.cached_tokens or 0
    written = usage.prompt_tokens_details.cache_write_tokens or 0
    fresh = max(usage.prompt_tokens - cached - written, 0)
    total = (
        fresh * price.input
        + cached * (price.cached_input if price.cached_input is not None else price.input)
        + written * (price.cache_write if price.cache_write is not None else price.input)
        + usage.completion_tokens * price.output
    )
    return total / 1_000_000


def cost(resp: ChatCompletion) -> float | None:
    """USD the response cost, or None when its model has no declared price (or it reports no usage).

    >>> router.cost(router.completion("openai/gpt-4o-mini", messages))
    0.000123
    """
    if resp.usage is None or resp.router is None:
        return None
    model = adapter(resp.router.provider).model(resp.router.model, resp.model)
    if model is None or model.price is None:
        return None
    return usage_cost(model.price, resp.usage)
