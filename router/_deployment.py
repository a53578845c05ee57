"""``Deployment``: one model an app offers, by the name its callers use, and the upstream serving it."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Any

__all__ = ["Deployment"]


@dataclass
class Deployment:
    """One model an app offers: the name callers use and the upstream that serves it."""

    name: str
    model: str  # provider/model
    params: dict[str, Any] = field(default_factory=dict)
    fallbacks: list[str] = field(default_factory=list)
    base_url: str | None = None
    api_key_env: str | None = None
    timeout: float | None = None
    max_retries: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
