"""``router inspect``: the exact request an adapter would send (nothing is sent), or a resolved spec
with the file each value comes from."""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

import click

from router._exceptions import ConfigError
from router._registry import resolve
from router._types import Receipt
from router.cli._common import builtin_specs_dir
from router.cli._common import colour
from router.cli._common import emit_json
from router.cli._common import fail

if TYPE_CHECKING:
    from router._adapter import Adapter
    from router.compiler import Spec

__all__ = ["inspect", "origin_map", "spec_chain"]

PLACEHOLDER_KEY = "sk-placeholder-not-a-real-key"
# Options of router.completion that are not part of the request body.
_ROUTER_OPTIONS = ("api_key", "base_url", "timeout", "max_retries", "http_client", "strict",
                   "max_response_bytes", "max_event_bytes")  # fmt: skip


@click.command(short_help="Show the request an adapter would send, or a resolved spec.")
@click.argument("model", required=False)
@click.option("-m", "--message", "message", help="The user message (default: 'Hello').")
@click.option(
    "--file",
    "request_file",
    type=click.File("r", encoding="utf-8"),
    help="A JSON request body in OpenAI Chat Completions form (its model is optional; '-' reads stdin).",
)
@click.option("--stream", is_flag=True, help="Show the streaming request.")
@click.option(
    "--strict", is_flag=True, help="Fail on a parameter the provider does not take, as strict=True."
)
@click.option("--base-url", help="Send to this base URL instead of the spec's (as base_url=).")
@click.option(
    "--spec",
    "spec_id",
    metavar="ID",
    help="Show the resolved spec ID instead, with where each value comes from.",
)
@click.option(
    "--specs",
    "specs_dir",
    type=click.Path(path_type=Path),
    help="Folder of specs for --spec (default: ./specs if it exists, then the built-in specs).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def inspect(
    model: str | None,
    message: str | None,
    request_file: Any,
    stream: bool,
    strict: bool,
    base_url: str | None,
    spec_id: str | None,
    specs_dir: Path | None,
    as_json: bool,
) -> None:
    """Show the HTTP request MODEL's adapter would send, and the receipt (what was dropped, renamed,
    clamped or defaulted), without sending anything. Credentials are masked.

    \b
    router inspect anthropic/claude-sonnet-4-5 -m "Hi"
    router inspect gpt-4o --file request.json --json
    router inspect --spec openai-responses
    """
    if spec_id is not None:
        if model is not None or message is not None or request_file is not None:
            raise click.UsageError("--spec shows a spec: give it without MODEL, -m or --file")
        _show_spec(spec_id, specs_dir, as_json)
        return
    if specs_dir is not None:
        raise click.UsageError("--specs goes with --spec")
    if message is not None and request_file is not None:
        raise click.UsageError("give -m or --file, not both")
    body: dict[str, Any] = {}
    if request_file is not None:
        try:
            loaded = json.load(request_file)
        except ValueError as e:
            fail(f"{request_file.name}: not JSON ({e})")
        if not isinstance(loaded, dict):
            fail(f"{request_file.name}: expected a JSON object (a Chat Completions request body)")
        body = loaded
    model = model or body.get("model")
    if not isinstance(model, str) or not model:
        raise click.UsageError("give MODEL (or a model in the --file body)")
    for name in _ROUTER_OPTIONS:
        body.pop(name, None)
    if "messages" not in body:
        body["messages"] = [{"role": "user", "content": "Hello" if message is None else message}]
    if stream:
        body["stream"] = True
    _show_request(model, body, strict=strict, base_url=base_url, as_json=as_json)


# -- a request ----------------------------------------------------------------------------------------


def _key_for(found: Adapter) -> tuple[str | None, str]:
    """The api_key to build with (None: the adapter reads the environment) and a note saying which."""
    cfg = found.config
    present = [e for e in cfg.auth_env if os.environ.get(e)]
    if present:
        return None, f"key from {present[0]} (masked)"
    if cfg.auth_optional:
        return (
            None,
            "no key needed" if not cfg.auth_env else f"no key ({' or '.join(cfg.auth_env)} unset; optional)",
        )
    names = " or ".join(cfg.auth_env) or "an API key"
    return PLACEHOLDER_KEY, f"no key set ({names}): a placeholder key stands in (masked)"


def _show_request(
    model: str, body: dict[str, Any], *, strict: bool, base_url: str | None, as_json: bool
) -> None:
    found, name = resolve(model)
    body["model"] = name
    receipt = Receipt(provider=found.id, model=found.aliases.get(name, name))
    api_key, key_note = _key_for(found)
    http = found.build_request(body, api_key=api_key, base_url=base_url, strict=strict, receipt=receipt)
    shown = http.redacted()
    text = json.dumps(shown["json"], indent=2, ensure_ascii=False)
    for secret in http.secrets:  # a key in the body too (rare: a provider that wants it there)
        if secret:
            text = text.replace(secret, "****")
    if as_json:
        emit_json(
            {
                "provider": found.id,
                "protocol": found.protocol,
                "model": receipt.model,
                "request": {
                    "method": shown["method"],
                    "url": shown["url"],
                    "headers": shown["headers"],
                    "stream": http.stream,
                    "json": json.loads(text),
                },
                "receipt": receipt.to_dict(),
                "key": key_note,
            }
        )
        return
    click.echo(colour(f"# {found.id} ({found.protocol}), model {receipt.model}: nothing is sent", dim=True))
    click.echo(colour(f"{shown['method']} {shown['url']}", bold=True))
    for k, v in shown["headers"].items():
        click.echo(f"{k}: {v}")
    click.echo()
    click.echo(text)
    click.echo()
    for line in receipt_lines(receipt):
        click.echo(line)
    click.echo(colour(f"key: {key_note}", dim=True))


def receipt_lines(receipt: Receipt) -> list[str]:
    out = ["receipt:"]
    rows: list[tuple[str, str]] = []
    if receipt.dropped:
        rows.append(("dropped", ", ".join(receipt.dropped)))
    if receipt.renamed:
        rows.append(("renamed", ", ".join(f"{k} -> {v}" for k, v in receipt.renamed.items())))
    if receipt.clamped:
        rows.append(("clamped", ", ".join(f"{k}: {_clamp(v)}" for k, v in receipt.clamped.items())))
    if receipt.defaulted:
        rows.append(("defaulted", ", ".join(f"{k} = {json.dumps(v)}" for k, v in receipt.defaulted.items())))
    if not rows:
        return ["receipt: sent as given (nothing dropped, renamed, clamped or defaulted)"]
    out += [f"  {k + ':':<10} {v}" for k, v in rows]
    return out


def _clamp(v: Any) -> str:
    if isinstance(v, dict) and "from" in v and "to" in v:
        return f"{json.dumps(v['from'])} -> {json.dumps(v['to'])}"
    return json.dumps(v)


# -- a spec -------------------------------------------------------------------------------------------


def find_spec(spec_id: str, specs_dir: Path | None) -> tuple[Spec, list[Spec]]:
    """Spec ``spec_id`` and the specs loaded beside it: from ``specs_dir``, or else from ./specs (when
    there) and then the built-in specs."""
    from router.compiler import validate  # yaml and jsonschema: only for the commands that read specs

    if specs_dir is not None:
        if not specs_dir.is_dir():
            fail(f"{specs_dir}: no such directory, expected a folder of provider specs")
        places = [specs_dir]
    else:
        builtin = builtin_specs_dir()
        places = [p for p in (Path("specs"), builtin) if p is not None and p.is_dir()]
        if len(places) == 2 and places[0].resolve() == places[1].resolve():
            places = places[:1]
    known: set[str] = set()
    for place in places:
        specs, diags = validate([place])
        for spec in specs:
            if spec.id == spec_id:
                for d in diags:
                    if d.file == spec.file:
                        click.echo(str(d), err=True)
                return spec, specs
        known |= {s.id for s in specs}
        if any(Path(d.file).stem == spec_id for d in diags):
            for d in diags:
                click.echo(str(d), err=True)
            fail(f"spec {spec_id!r} in {place} has errors (above)")
    close = difflib.get_close_matches(spec_id, sorted(known), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(sorted(known))}"
    where = " or ".join(f"{p}/" for p in places) or "no folder of specs"
    raise ConfigError(f"no spec {spec_id!r} in {where}{hint}")


def spec_chain(spec: Spec) -> list[Spec]:
    """The spec and every spec it extends, child first."""
    chain = [spec]
    parent = spec.parent
    while parent is not None and parent not in chain:
        chain.append(parent)
        parent = parent.parent
    return chain


def origin_map(spec: Spec, siblings: Sequence[Spec] = ()) -> dict[str, Any]:
    """For each resolved top-level key, the files it comes from; for a mapping value, the same for
    each of its keys (several files: their values merged, the first one's winning). The catalogue
    of a ``models_from`` spec comes from the spec it names (one of ``siblings``)."""
    from router.compiler._specs import NOT_INHERITED  # yaml and jsonschema come with the compiler

    chain = spec_chain(spec)
    out: dict[str, Any] = {}
    for key, value in spec.resolved.items():
        if key == "models" and "models" not in spec.raw:
            source = spec.raw.get("models_from")
            out[key] = [s.file for s in siblings if s.id == source][:1]
            continue
        owners = [spec] if key in NOT_INHERITED else [s for s in chain if key in s.raw]
        if not owners or key not in owners[0].raw:
            out[key] = ["(default)"]
        elif isinstance(value, dict):
            subs: dict[str, list[str]] = {}
            for sub, sub_value in value.items():
                files = [s.file for s in owners if isinstance(s.raw.get(key), dict) and sub in s.raw[key]]
                subs[str(sub)] = files if isinstance(sub_value, dict) else files[:1]
            out[key] = subs
        else:
            out[key] = [owners[0].file]
    return out


def _show_spec(spec_id: str, specs_dir: Path | None, as_json: bool) -> None:
    spec, siblings = find_spec(spec_id, specs_dir)
    chain = spec_chain(spec)
    origins = origin_map(spec, siblings)
    resolved = in_schema_order(spec.resolved)
    if as_json:
        emit_json(
            {
                "id": spec.id,
                "file": spec.file,
                "extends": [s.file for s in chain[1:]],
                "resolved": resolved,
                "origins": origins,
            }
        )
        return
    click.echo(colour(f"# {spec.id}: resolved from {' -> '.join(s.file for s in chain)}", dim=True))
    lines = yamlish(resolved, origins)
    width = min(max((len(text) for text, where in lines if where), default=0), 64)
    for text, where in lines:
        click.echo(text.ljust(width) + colour(f"  # {where}", dim=True) if where else text)


def in_schema_order(resolved: dict[str, Any]) -> dict[str, Any]:
    """The top-level keys in the order the schema lists them (as the specs are written)."""
    from router.compiler._specs import schema_path  # yaml and jsonschema come with the compiler

    order = list(json.loads(schema_path().read_text(encoding="utf-8")).get("properties") or {})
    rank = {k: i for i, k in enumerate(order)}
    return dict(sorted(resolved.items(), key=lambda kv: rank.get(kv[0], len(rank))))


def _dump(key: str, value: Any) -> list[str]:
    """``key: value`` as YAML lines: one flow-style line, or a block for a mapping or a list of them."""
    import yaml  # only for this command's output

    block = (isinstance(value, dict) and bool(value)) or (
        isinstance(value, list) and any(isinstance(v, dict | list) for v in value)
    )
    text: str = yaml.safe_dump(
        {key: value},
        default_flow_style=None if block else True,  # block: lists of scalars still on one line
        sort_keys=False,
        width=10**6,  # a flow mapping stays on its line, next to its comment
        allow_unicode=True,
    )
    lines = text.splitlines()
    return lines if block else [text.strip()[1:-1]]


def yamlish(resolved: dict[str, Any], origins: dict[str, Any]) -> list[tuple[str, str]]:
    """The resolved spec as YAML lines, each top-level key (and each key of a mapping value) paired
    with the files it comes from."""
    out: list[tuple[str, str]] = []
    for key, value in resolved.items():
        where = origins.get(key, [])
        if isinstance(value, dict) and value and isinstance(where, dict):
            files = list(dict.fromkeys(f for fs in where.values() for f in fs))
            out.append((f"{key}:", " + ".join(files)))
            for sub, sub_value in value.items():
                lines = _dump(str(sub), sub_value)
                out.append(("  " + lines[0], " + ".join(where.get(str(sub), []))))
                out += [("  " + line, "") for line in lines[1:]]
        else:
            lines = _dump(key, value)
            out.append((lines[0], " + ".join(where) if isinstance(where, list) else ""))
            out += [(line, "") for line in lines[1:]]
    return out
