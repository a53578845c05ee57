"""``router serve``: the gateway on granian (the ``gateway`` extra)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from router._exceptions import ConfigError
from router.cli._common import error_line

__all__ = ["serve"]

INSTALL_GATEWAY = "pip install 'spec-router[gateway]'"


@click.command(short_help="Serve the configured models over the OpenAI and Anthropic APIs (a gateway).")
@click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("router.yaml"),
    show_default=True,
    help="The router config file (models, providers, and its gateway section: keys, state, log).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=4000, show_default=True, help="Port to listen on."
)
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Worker processes.")
@click.option(
    "--loop",
    type=click.Choice(["auto", "asyncio", "uvloop"]),
    default="auto",
    show_default=True,
    help="The event loop: auto takes uvloop when it is installed (the gateway extra brings it).",
)
@click.option(
    "--hash-key", "hash_key", metavar="KEY", help="Print the hash of a virtual key for the config, and exit."
)
def serve(config: Path, host: str, port: int, workers: int, loop: str, hash_key: str | None) -> None:
    """Serve every model of CONFIG at http://HOST:PORT (POST /v1/chat/completions, /v1/responses,
    /v1/messages, /v1/messages/count_tokens; GET /v1/models, /health, /metrics). Point the official
    openai SDK at base_url=http://HOST:PORT/v1, the anthropic SDK at base_url=http://HOST:PORT."""
    if hash_key is not None:
        # the gateway package loads only for the serve command, not for every `router` command
        from router.gateway._config import hash_key as _hash

        click.echo(_hash(hash_key))
        return
    try:
        # granian is the gateway extra's: other commands run without it
        from granian import Granian
        from granian.constants import Interfaces
        from granian.constants import Loops
    except ImportError:
        click.echo(f"error: router serve needs granian: {INSTALL_GATEWAY}", err=True)
        sys.exit(2)
    from router.gateway import Gateway  # as above: loaded for this command only

    try:
        checked = Gateway.from_config(config)  # every config problem now, before a worker starts
    except (ConfigError, ImportError) as e:
        click.echo(error_line(e), err=True)
        sys.exit(1)
    if workers > 1 and checked.config.redis_url is None and checked.config.keys:
        click.echo(
            f"warning: {workers} workers without gateway.state.redis_url: each worker keeps its own"
            " rate limits, budgets and breakers (configure Redis to share them)",
            err=True,
        )
    os.environ["ROUTER_CONFIG"] = str(config.resolve())
    click.echo(
        f"router serve: http://{host}:{port}/v1 ({workers} worker{'s' if workers > 1 else ''})", err=True
    )
    Granian(
        "router.gateway:create_app",
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        factory=True,
        loop=Loops(loop),
        log_level="warning",  # type: ignore[arg-type]
    ).serve()
