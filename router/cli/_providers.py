"""``router list``, ``router models`` and ``router health``: the compiled providers, a catalogue, and
whether a provider answers."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import click

from router._probe import Health
from router._probe import health as probe
from router._probe import list_models
from router._providers import ProviderStatus
from router._providers import providers
from router._registry import adapter
from router.cli._common import colour
from router.cli._common import emit_json
from router.cli._common import origins
from router.cli._common import table
from router.protocols._config import Model

__all__ = ["health", "list_providers", "models"]

_STATUS_STYLE: dict[str, dict[str, Any]] = {
    "ok": {"fg": "green"},
    "enabled": {"fg": "green"},
    "auth_failed": {"fg": "red"},
    "down": {"fg": "red"},
    "error": {"fg": "red"},
    "disabled": {"fg": "yellow"},
}


def _check(ids: Sequence[str], timeout: float) -> dict[str, Health]:
    """router.health for each provider, several at a time (each waits on the network)."""
    if not ids:
        return {}
    with ThreadPoolExecutor(max_workers=min(8, len(ids))) as pool:
        found = list(pool.map(lambda pid: probe(pid, timeout=timeout), ids))
    return {h.provider: h for h in found}


def _latency(h: Health) -> str:
    return "-" if h.latency_ms is None else f"{h.latency_ms:.0f} ms"


# -- router list --------------------------------------------------------------------------------------


def _source(pid: str, where: dict[str, list[str]]) -> tuple[str, bool]:
    """Where a provider is defined, and whether it shadows a built-in one."""
    places = where.get(pid) or ["built-in"]
    return places[0], places[0] != "built-in" and "built-in" in places[1:]


@click.command(name="list", short_help="List the providers: protocol, models, usable here or not and why.")
@click.option("--models", "with_models", is_flag=True, help="Add each provider's model names.")
@click.option("--check", is_flag=True, help="Also ask each enabled provider whether it answers (network).")
@click.option("--timeout", default=5.0, show_default=True, help="Seconds for each --check.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def list_providers(with_models: bool, check: bool, timeout: float, as_json: bool) -> None:
    """List the compiled providers: protocol, catalogue size, and whether each is usable here and why.

    The reachable column is there only with --check.
    """
    statuses = providers()
    where = origins()
    checked = _check([p.id for p in statuses if p.enabled], timeout) if check else None
    records = [_record(p, where, checked) for p in statuses]
    if as_json:
        emit_json(records)
        return
    header = ["PROVIDER", "PROTOCOL", "MODELS", "STATUS", "WHY", "SOURCE"]
    if checked is not None:
        header.append("REACHABLE")
    if with_models:
        header.append("MODEL NAMES")
    rows = []
    for p, r in zip(statuses, records, strict=True):
        row = [p.id, p.protocol, str(len(r["models"])), "enabled" if p.enabled else "disabled", p.reason]
        row.append(r["source"] + (" (overrides built-in)" if r["overrides_builtin"] else ""))
        if checked is not None:
            h = checked.get(p.id)
            row.append("-" if h is None else f"{h.status} {_latency(h)}".replace(" -", ""))
        if with_models:
            row.append(", ".join(r["models"]) or "-")
        rows.append(row)

    def style(col: int, cell: str, row: Sequence[str]) -> dict[str, Any]:
        name = header[col]
        if name in ("STATUS", "REACHABLE"):
            return _STATUS_STYLE.get(cell.split()[0] if cell.strip() else "", {})
        if name == "SOURCE" and "overrides" in cell:
            return {"fg": "yellow"}
        if name == "PROVIDER":
            return {"bold": True}
        return {}

    for line in table(header, rows, style, right=frozenset({2})):
        click.echo(line)


def _record(
    p: ProviderStatus, where: dict[str, list[str]], checked: dict[str, Health] | None
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": p.id,
        "name": p.name,
        "protocol": p.protocol,
        "models": sorted(adapter(p.id).models),
        "enabled": p.enabled,
        "reason": p.reason,
        "key_env": list(p.key_env),
    }
    record["source"], record["overrides_builtin"] = _source(p.id, where)
    if checked is not None:
        h = checked.get(p.id)
        record["reachable"] = None if h is None else _health_record(h)
    return record


# -- router models ------------------------------------------------------------------------------------


def _usd(x: float | None) -> str:
    if x is None:
        return "-"
    text = f"{x:.2f}"
    return text if float(text) == x else f"{x:.6f}".rstrip("0")


def _model_record(m: Model) -> dict[str, Any]:
    price = None
    if m.price is not None:
        p = m.price
        price = {
            "input": p.input,
            "output": p.output,
            "cached_input": p.cached_input,
            "cache_write": p.cache_write,
            "per": "1M",
            "source": p.source,
            "as_of": p.as_of,
        }
    return {
        "id": m.id,
        "aliases": list(m.aliases),
        "api_aliases": list(m.api_aliases),
        "context_window": m.context_window,
        "max_output": m.max_output,
        "capabilities": sorted(m.capabilities),
        "price": price,
    }


@click.command(short_help="A provider's model catalogue: context, max output, prices.")
@click.argument("provider")
@click.option(
    "--remote", is_flag=True, help="Ask the provider's models endpoint instead (network, needs its key)."
)
@click.option("--timeout", default=10.0, show_default=True, help="Seconds for --remote.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def models(provider: str, remote: bool, timeout: float, as_json: bool) -> None:
    """PROVIDER's model catalogue: ids, aliases, context window, max output, prices (USD per 1M tokens).

    With --remote, the ids the provider's own models endpoint lists, marked when the catalogue has them.
    """
    found = adapter(provider)
    if remote:
        ids = list_models(provider, timeout=timeout)
        if as_json:
            emit_json([{"id": i, "in_catalogue": found.model(i) is not None} for i in ids])
            return
        rows = [[i, "yes" if found.model(i) is not None else "-"] for i in ids]
        for line in table(["MODEL", "IN CATALOGUE"], rows):
            click.echo(line)
        click.echo(colour(f"{len(ids)} models listed by {provider}", dim=True), err=True)
        return
    catalogue = list(found.config.models)
    if as_json:
        emit_json([_model_record(m) for m in catalogue])
        return
    if not catalogue:
        click.echo(f"{provider} declares no catalogue: it serves whatever models its server has", err=True)
        return
    rows = []
    for m in catalogue:
        names = [*m.aliases, *(f"{a} (api)" for a in m.api_aliases)]
        p = m.price
        rows.append(
            [
                m.id,
                ", ".join(names) or "-",
                "-" if m.context_window is None else f"{m.context_window:,}",
                "-" if m.max_output is None else f"{m.max_output:,}",
                _usd(p.input if p else None),
                _usd(p.output if p else None),
                _usd(p.cached_input if p else None),
                _usd(p.cache_write if p else None),
            ]
        )
    header = ["MODEL", "ALIASES", "CONTEXT", "MAX OUT", "IN $/M", "OUT $/M", "CACHED $/M", "CACHE WRITE $/M"]
    for line in table(header, rows, right=frozenset(range(2, 8))):
        click.echo(line)


# -- router health ------------------------------------------------------------------------------------


def _health_record(h: Health) -> dict[str, Any]:
    return {"provider": h.provider, "status": h.status, "latency_ms": h.latency_ms, "detail": h.detail}


@click.command(short_help="Check that providers answer with the key we hold.")
@click.argument("provider", required=False)
@click.option("--timeout", default=5.0, show_default=True, help="Seconds for each provider.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def health(provider: str | None, timeout: float, as_json: bool) -> None:
    """Whether PROVIDER (default: every enabled one) answers with the key we hold: ok, auth_failed or
    down, with the latency. Exits 1 when any is not ok."""
    if provider is not None:
        adapter(provider)  # an unknown id is an error, not a "down"
        ids = [provider]
    else:
        ids = [p.id for p in providers() if p.enabled]
    checked = _check(ids, timeout)
    results = [checked[i] for i in ids]
    if as_json:
        emit_json([_health_record(h) for h in results])
    else:
        rows = [[h.provider, h.status, _latency(h), " ".join(h.detail.split())] for h in results]

        def style(col: int, cell: str, row: Sequence[str]) -> dict[str, Any]:
            return _STATUS_STYLE.get(cell, {}) if col == 1 else {}

        for line in table(["PROVIDER", "STATUS", "LATENCY", "DETAIL"], rows, style, right=frozenset({2})):
            click.echo(line)
    if any(h.status != "ok" for h in results):
        sys.exit(1)
