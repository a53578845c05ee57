"""Router.from_config: a deployment YAML file, validated by schemas/router-config.v1.schema.json with
the same line-aware loader and ``file:line:col: error: ...`` diagnostics as provider specs."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

from router._deployment import Deployment
from router._exceptions import ConfigError
from router._extras import COMPILER_MODULES
from router._extras import needs
from router._registry import provider_ids

__all__ = ["load_config", "read_config"]


def load_config(path: Path) -> tuple[list[Deployment], dict[str, Any]]:
    """The deployments a file declares and the Router options of its ``defaults``/``providers``."""
    deployments, options, _ = read_config(path)
    return deployments, options


def read_config(path: Path) -> tuple[list[Deployment], dict[str, Any], dict[str, Any]]:
    """``load_config`` and the file's ``gateway`` section (validated; ``{}`` when absent)."""
    try:
        # The compiler's line-aware YAML loader and schema checks: they import yaml and jsonschema
        # (the cli extra); without them a MissingDependencyError (a ConfigError) names the install.
        from router.compiler._diagnostics import Diagnostic
        from router.compiler._specs import schema_diagnostics
        from router.compiler._specs import schema_path
        from router.compiler._yaml import load_yaml
    except ImportError as err:
        raise needs("Router.from_config", COMPILER_MODULES, err) from None

    shown = path.as_posix()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(
            f"{shown}:1:1: error: cannot read the file ({e}), expected a UTF-8 YAML file"
        ) from None
    loaded = load_yaml(shown, text)
    diags: list[Diagnostic] = list(loaded.diagnostics)
    if loaded.data is not None:
        schema = json.loads(schema_path("router-config.v1.schema.json").read_text())
        diags += schema_diagnostics(loaded, schema)
    data: Any = loaded.data
    entries = data.get("models") if isinstance(data, dict) else None
    if isinstance(entries, list):  # semantic checks run beside the schema's: every problem at once
        items = [(i, m) for i, m in enumerate(entries) if isinstance(m, dict)]
        # A name used by several entries is a group (balanced by weight): no longer an error.
        names = [m.get("name") for _, m in items]
        for i, m in items:
            for key in ("fallbacks", "context_window_fallbacks"):
                listed = m.get(key)
                for j, fb in enumerate(listed if isinstance(listed, list) else []):
                    if not (isinstance(fb, str) and fb not in names and "/" not in fb):
                        continue
                    line, col = loaded.marks.at(("models", i, key, j))
                    diags.append(
                        Diagnostic(
                            shown,
                            line,
                            col,
                            f"fallback {fb!r} names no model in this file, expected a model name or provider/model",
                        )
                    )
        known = provider_ids()
        for i, m in items:
            provider = str(m.get("model", "")).partition("/")[0]
            if isinstance(m.get("model"), str) and "/" in m["model"] and provider not in known:
                line, col = loaded.marks.at(("models", i, "model"))
                diags.append(
                    Diagnostic(
                        shown,
                        line,
                        col,
                        f"unknown provider {provider!r}, expected a provider id that `router list` shows"
                        + "".join(
                            f"; did you mean {h!r}?"
                            for h in difflib.get_close_matches(provider, sorted(known), n=1)
                        ),
                    )
                )
    if diags:
        raise ConfigError("\n".join(str(d) for d in sorted(diags)))
    defaults = data.get("defaults") or {}
    deployments = [
        Deployment(
            name=m["name"],
            model=m["model"],
            params=dict(m.get("params") or {}),
            fallbacks=list(m.get("fallbacks") or []),
            base_url=m.get("base_url"),
            api_key_env=m.get("api_key_env"),
            timeout=m.get("timeout"),
            max_retries=m.get("max_retries"),
            headers=dict(m.get("headers") or {}),
            weight=float(m.get("weight", 1.0)),
            rpm=m.get("rpm"),
            tpm=m.get("tpm"),
            first_token_timeout=m.get("first_token_timeout"),
            stall_timeout=m.get("stall_timeout"),
            context_window_fallbacks=list(m.get("context_window_fallbacks") or []),
        )
        for m in data["models"]
    ]
    options: dict[str, Any] = {
        "providers": data.get("providers") or {},
        "timeout": defaults.get("timeout"),
        "max_retries": defaults.get("max_retries"),
        "strict": bool(defaults.get("strict", False)),
    }
    for key in (
        "fallback_on",
        "first_token_timeout",
        "stall_timeout",
        "breaker_threshold",
        "breaker_cooldown",
        "rate_limit_wait",
    ):
        if key in defaults:
            options[key] = defaults[key]
    return deployments, options, dict(data.get("gateway") or {})
