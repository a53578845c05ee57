"""Which providers are usable here and why, and which models an app offers.

    router.providers()                 # every compiled provider, enabled or not and why
    router.models()                    # the MODELS env var, filtered to enabled providers

Keys are only ever named by environment variable; no key is logged.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from router._registry import adapter
from router._registry import provider_ids
from router._registry import resolve

__all__ = ["ProviderStatus", "models", "providers"]

log = logging.getLogger("router")
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
    cfg = adapter(pid).config
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
    return ProviderStatus(pid, cfg.name, cfg.protocol, enabled, reason, tuple(cfg.auth_env))


def providers() -> list[ProviderStatus]:
    """Every compiled provider with whether it is usable here and why.

    >>> [p.id for p in router.providers() if p.enabled]
    ['fake', 'ollama', 'openai']
    """
    return [_status(pid) for pid in provider_ids()]


def models(env: str = "MODELS") -> list[str]:
    """The models an app offers (comma-separated ``provider/model`` in ``$MODELS``), keeping only those
    whose provider is enabled. Bare ids are resolved through the catalogue."""
    raw = os.environ.get(env, "")
    enabled = {p.id for p in providers() if p.enabled}
    out = []
    for item in (s.strip() for s in raw.split(",")):
        if not item:
            continue
        found, name = resolve(item)
        if found.id in enabled:
            out.append(f"{found.id}/{name}")
        else:
            log.debug("MODELS: %s left out, provider %s is disabled", item, found.id)
    return out
