"""The adapter index: which providers exist, their compiled adapters, and model/alias resolution.

The bottom of the runtime: it imports only the adapter contract, types and errors. Adapters come from
the installed ``generated`` package, or from the directory ``$ROUTER_ADAPTERS`` names (what
``router build --out DIR`` wrote), and are imported on first use.

>>> adapter("groq").protocol
'openai-chat'
>>> resolve("claude-sonnet-4-5")
(Adapter('anthropic', 'anthropic-messages'), 'claude-sonnet-4-5')
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import os
import sys
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from router._exceptions import ConfigError

if TYPE_CHECKING:  # the adapter machinery (codecs, config dataclasses) loads with the first adapter
    from router._adapter import Adapter

__all__ = ["adapter", "index", "model_index", "provider_ids", "resolve"]

_INDEX_PACKAGE = "generated"


@cache
def index() -> ModuleType:
    """The package of compiled adapters (its ``PROVIDERS`` and ``MODEL_INDEX`` tables), read on first use."""
    where = os.environ.get("ROUTER_ADAPTERS")
    if not where:
        try:
            return importlib.import_module(_INDEX_PACKAGE)
        except ImportError as e:  # pragma: no cover - a broken install
            raise ConfigError("no compiled adapters found: run `router build`") from e
    init = Path(where) / "__init__.py"
    if not init.is_file():
        raise ConfigError(
            f"ROUTER_ADAPTERS={where!r} holds no compiled adapters: run `router build --out {where}`"
        )
    name = "router_adapters"
    spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(Path(where))])
    if spec is None or spec.loader is None:  # pragma: no cover - spec_from_file_location on a .py file
        raise ConfigError(f"cannot load adapters from {where!r}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _providers() -> Mapping[str, str]:
    table: Mapping[str, str] = index().PROVIDERS
    return table


def provider_ids() -> list[str]:
    """Every provider id in the index, sorted."""
    return sorted(_providers())


def model_index() -> Mapping[str, str]:
    """Model id or alias -> provider id, for bare model names."""
    table: Mapping[str, str] = index().MODEL_INDEX
    return table


@cache
def adapter(provider: str) -> Adapter:
    """The compiled adapter for ``provider`` (its module imported on first use)."""
    providers = _providers()
    module = providers.get(provider)
    if module is None:
        close = difflib.get_close_matches(provider, sorted(providers), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(sorted(providers))}"
        raise ConfigError(f"unknown provider {provider!r}{hint}")
    found: Adapter | None = getattr(importlib.import_module(f"{index().__name__}.{module}"), "ADAPTER", None)
    if found is None:
        raise ConfigError(
            f"{module} has no ADAPTER (built by an older router): rebuild it with `router build`"
        )
    return found


def resolve(model: str) -> tuple[Adapter, str]:
    """``"anthropic/claude-…"`` -> (adapter, provider model id). A bare id is looked up in the catalogue."""
    if not isinstance(model, str) or not model:
        raise ConfigError("model must be a non-empty string such as 'openai/gpt-4o'")
    provider, sep, name = model.partition("/")
    if sep and provider in _providers():
        return adapter(provider), name
    owner = model_index().get(model)
    if owner is not None:
        return adapter(owner), model
    if sep:
        adapter(provider)  # raises the unknown-provider error with suggestions
    close = difflib.get_close_matches(model, sorted(model_index()), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise ConfigError(f"cannot route model {model!r}: give it as 'provider/model'{hint}")
