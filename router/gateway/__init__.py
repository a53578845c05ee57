"""``router serve``: the router as an HTTP gateway (OpenAI Chat Completions inbound), every spec behind it.

    pip install 'spec-router[gateway]'
    router serve --config router.yaml --port 4000

The app is plain ASGI (``Gateway``): ``router serve`` runs it on granian; any ASGI server runs
``router.gateway:create_app`` as a factory (the config path from ``ROUTER_CONFIG``). Nothing here is
imported by ``import router``.
"""

from __future__ import annotations

import os

from router.gateway._app import Gateway
from router.gateway._config import GatewayConfig
from router.gateway._config import VirtualKey
from router.gateway._config import hash_key
from router.gateway._state import KeyLimits
from router.gateway._state import MemoryState
from router.gateway._state import RedisState

__all__ = [
    "Gateway",
    "GatewayConfig",
    "KeyLimits",
    "MemoryState",
    "RedisState",
    "VirtualKey",
    "create_app",
    "hash_key",
]


def create_app() -> Gateway:
    """The app of the config file ``ROUTER_CONFIG`` names (default ``router.yaml``), for an ASGI server."""
    return Gateway.from_config(os.environ.get("ROUTER_CONFIG", "router.yaml"))
