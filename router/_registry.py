"""The adapter index: which providers exist, their compiled adapters, and model/alias resolution.

The bottom of the runtime: it imports only the adapter contract, types and errors. The built-in
adapters are the ``router.generated`` package (the repo's ``generated/`` folder, installed inside
``router``). An app's own compiled providers (what ``router build --out DIR`` wrote) are **added**
beside them: the folders ``$ROUTER_ADAPTERS`` lists (``os.pathsep``-separated) and those given to
``use_adapters()``. Where two define the same provider id, the first of these wins:

1. folders given to ``use_adapters()``, the latest call first;
2. ``$ROUTER_ADAPTERS``, in the order listed;
3. the built-in adapters.

A bare model id follows the same order. Modules are imported on first use.

>>> adapter("groq").protocol
'openai-chat'
>>> resolve("claude-sonnet-4-5")
(Adapter('anthropic', 'anthropic-messages'), 'claude-sonnet-4-5')
>>> origins()["openai"]
['built-in']
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from router._exceptions import ConfigError

if TYPE_CHECKING:  # the adapter machinery (codecs, config dataclasses) loads with the first adapter
    from router._adapter import Adapter

__all__ = [
    "BUILTIN",
    "AdapterSource",
    "adapter",
    "model_index",
    "origins",
    "provider_ids",
    "resolve",
    "sources",
    "use_adapters",
]

BUILTIN = "built-in"
_BUILTIN_PACKAGE = "router.generated"

_used: list[str] = []  # folders given to use_adapters(), latest first


@dataclass(frozen=True, slots=True)
class AdapterSource:
    """One package of compiled adapters: the built-in one or a folder of an app's."""

    label: str  # "built-in", or the folder's absolute path
    package: str  # the importable package name
    providers: Mapping[str, str]  # provider id -> module name inside the package
    models: Mapping[str, str]  # model id or alias -> provider id


def _load_folder(folder: str, origin: str) -> AdapterSource:
    where = Path(folder).expanduser()
    shown = f"{origin}={folder!r}" if origin else repr(folder)
    if not where.exists():
        raise ConfigError(f"{shown}: no such folder, expected what `router build --out DIR` wrote")
    init = where / "__init__.py"
    if not where.is_dir() or not init.is_file():
        raise ConfigError(
            f"{shown}: holds no compiled adapters (no __init__.py), expected what `router build --out {folder}` wrote"
        )
    path = str(where.resolve())
    name = "_router_adapters_" + hashlib.sha256(path.encode()).hexdigest()[:12]
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[path])
        if spec is None or spec.loader is None:  # pragma: no cover - spec_from_file_location on a .py file
            raise ConfigError(f"{shown}: cannot load adapters from it")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as e:
            del sys.modules[name]
            raise ConfigError(f"{shown}: its __init__.py fails to import ({type(e).__name__}: {e})") from None
    providers = getattr(module, "PROVIDERS", None)
    models = getattr(module, "MODEL_INDEX", None)
    if not isinstance(providers, Mapping) or not isinstance(models, Mapping):
        raise ConfigError(f"{shown}: its __init__.py is not an adapter index, rebuild it with `router build`")
    return AdapterSource(path, name, providers, models)


@cache
def sources() -> tuple[AdapterSource, ...]:
    """Every package of adapters, in precedence order (the first defining a provider id wins)."""
    out = [_load_folder(f, "") for f in _used]
    for entry in os.environ.get("ROUTER_ADAPTERS", "").split(os.pathsep):
        if entry.strip():
            out.append(_load_folder(entry, "ROUTER_ADAPTERS"))
    try:
        builtin = importlib.import_module(_BUILTIN_PACKAGE)
    except ImportError as e:  # pragma: no cover - a broken install
        raise ConfigError(
            "the built-in adapters are missing (router.generated): reinstall the package"
        ) from e
    out.append(AdapterSource(BUILTIN, _BUILTIN_PACKAGE, builtin.PROVIDERS, builtin.MODEL_INDEX))
    seen: set[str] = set()
    unique = []
    for s in out:  # a folder named twice counts once, at its first place
        if s.label not in seen:
            seen.add(s.label)
            unique.append(s)
    return tuple(unique)


def use_adapters(*folders: str | os.PathLike[str]) -> None:
    """Add folders of compiled adapters (what ``router build --out DIR`` wrote) beside the built-in
    ones; they win over ``$ROUTER_ADAPTERS`` and the built-ins for the provider ids they define.

    >>> router.use_adapters("./my_adapters")
    """
    for f in folders:
        _load_folder(os.fspath(f), "")  # a bad folder is an error here, not at the first call
    for f in folders:
        path = str(Path(os.fspath(f)).expanduser().resolve())
        if path in _used:
            _used.remove(path)
        _used.insert(0, path)
    _clear()


def _clear() -> None:
    sources.cache_clear()
    _winners.cache_clear()
    _merged_models.cache_clear()
    adapter.cache_clear()


@cache
def _winners() -> Mapping[str, AdapterSource]:
    table: dict[str, AdapterSource] = {}
    for s in sources():
        for pid in s.providers:
            table.setdefault(pid, s)
    return table


def origins() -> dict[str, list[str]]:
    """Provider id -> where it is defined, the one used first (``"built-in"`` or a folder)."""
    out: dict[str, list[str]] = {}
    for s in sources():
        for pid in s.providers:
            out.setdefault(pid, []).append(s.label)
    return dict(sorted(out.items()))


def provider_ids() -> list[str]:
    """Every provider id, built-in or added, sorted."""
    return sorted(_winners())


@cache
def _merged_models() -> Mapping[str, str]:
    table: dict[str, str] = {}
    for s in sources():
        for name, pid in s.models.items():
            table.setdefault(name, pid)
    return table


def model_index() -> Mapping[str, str]:
    """Model id or alias -> provider id, for bare model names."""
    return _merged_models()


@cache
def adapter(provider: str) -> Adapter:
    """The compiled adapter for ``provider`` (its module imported on first use)."""
    source = _winners().get(provider)
    if source is None:
        known = provider_ids()
        close = difflib.get_close_matches(provider, known, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(known)}"
        raise ConfigError(f"unknown provider {provider!r}{hint}")
    module = source.providers[provider]
    where = "" if source.label == BUILTIN else f" in {source.label}"
    try:
        loaded = importlib.import_module(f"{source.package}.{module}")
    except ImportError as e:
        raise ConfigError(
            f"the adapter for {provider!r}{where} fails to import ({e}): rebuild it with `router build`"
        ) from None
    found: Adapter | None = getattr(loaded, "ADAPTER", None)
    if found is None:
        raise ConfigError(
            f"{module}{where} has no ADAPTER (built by an older router): rebuild it with `router build`"
        )
    return found


def resolve(model: str) -> tuple[Adapter, str]:
    """``"anthropic/claude-…"`` -> (adapter, provider model id). A bare id is looked up in the catalogue."""
    if not isinstance(model, str) or not model:
        raise ConfigError("model must be a non-empty string such as 'openai/gpt-4o'")
    provider, sep, name = model.partition("/")
    if sep and provider in _winners():
        return adapter(provider), name
    owner = model_index().get(model)
    if owner is not None:
        return adapter(owner), model
    if sep:
        adapter(provider)  # raises the unknown-provider error with suggestions
    close = difflib.get_close_matches(model, sorted(model_index()), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise ConfigError(f"cannot route model {model!r}: give it as 'provider/model'{hint}")
