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
    # Several deployments may share a name: a group, balanced by weight (a deployment is tried
    # first with a chance proportional to it); the others follow, then the fallbacks.
    weight: float = 1.0
    # Client-side limits, per deployment: requests and tokens per minute (token buckets).
    rpm: int | None = None
    tpm: int | None = None
    # Seconds to the first content chunk of a stream (to the first byte of a plain answer), and the
    # longest silence between a stream's reads.
    first_token_timeout: float | None = None
    stall_timeout: float | None = None
    # Where a context-window error goes (names or provider/model with larger windows); without
    # these, such an error is raised: retrying the same model cannot help.
    context_window_fallbacks: list[str] = field(default_factory=list)
