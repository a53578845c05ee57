"""The ``gateway`` section of a router config file, resolved: virtual keys, state, log."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from router._exceptions import ConfigError
from router.gateway._state import KeyLimits

__all__ = ["GatewayConfig", "VirtualKey", "hash_key"]

DEFAULT_MAX_BODY = 32 * 1024 * 1024


def hash_key(key: str) -> str:
    """How a virtual key is kept at rest: ``sha256:<hex>`` (the config never holds the key itself)."""
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class VirtualKey:
    name: str
    hash: str
    models: tuple[str, ...] = ()  # empty: every model
    limits: KeyLimits = field(default_factory=KeyLimits)

    def allows(self, model: str) -> bool:
        if not self.models:
            return True
        return any(m == model or (m.endswith("*") and model.startswith(m[:-1])) for m in self.models)

    def __repr__(self) -> str:  # the hash is not the key, but a repr has no use for it either
        return f"VirtualKey(name={self.name!r}, models={self.models!r}, limits={self.limits!r})"


@dataclass
class GatewayConfig:
    keys: dict[str, VirtualKey] = field(default_factory=dict)  # by hash
    redis_url: str | None = None
    prefix: str = "router:"
    timeout: float = 0.5
    on_error: dict[str, str] = field(
        default_factory=lambda: {"rpm": "open", "tpm": "open", "budget": "closed"}
    )
    health_sync: float = 0.25  # seconds between reads of the breakers other replicas opened
    log_path: Path | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY
    shutdown_grace: float = 10.0  # seconds in-flight streams get to finish at shutdown
    telemetry: bool = False  # OpenTelemetry spans and metrics (router/gateway/_telemetry.py)

    @classmethod
    def from_section(cls, section: dict[str, Any], base: Path | None = None) -> GatewayConfig:
        """From the validated ``gateway`` section (paths relative to ``base``, the config's folder)."""
        cfg = cls()
        names: set[str] = set()
        for k in section.get("keys") or []:
            if k["name"] in names:
                raise ConfigError(f"gateway.keys: the name {k['name']!r} is used twice")
            if k["hash"] in cfg.keys:
                raise ConfigError(f"gateway.keys: {k['name']!r} has the same hash as another key")
            names.add(k["name"])
            cfg.keys[k["hash"]] = VirtualKey(
                name=k["name"],
                hash=k["hash"],
                models=tuple(k.get("models") or ()),
                limits=KeyLimits(k.get("rpm"), k.get("tpm"), k.get("budget_usd")),
            )
        state = section.get("state") or {}
        cfg.redis_url = state.get("redis_url")
        cfg.prefix = state.get("prefix", cfg.prefix)
        cfg.timeout = float(state.get("timeout", cfg.timeout))
        cfg.on_error.update(state.get("on_error") or {})
        cfg.health_sync = float(state.get("health_sync", cfg.health_sync))
        log = section.get("log") or {}
        if log.get("path"):
            p = Path(log["path"])
            cfg.log_path = p if p.is_absolute() or base is None else base / p
        cfg.max_body_bytes = int(section.get("max_body_bytes", DEFAULT_MAX_BODY))
        cfg.shutdown_grace = float(section.get("shutdown_grace", cfg.shutdown_grace))
        cfg.telemetry = bool(section.get("telemetry", False))
        return cfg

    def lookup(self, presented: str) -> VirtualKey | None:
        """The key whose hash matches (compared in constant time)."""
        digest = hash_key(presented)
        found = self.keys.get(digest)
        if found is not None and hmac.compare_digest(found.hash, digest):
            return found
        return None
