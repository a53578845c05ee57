"""``router new``: a commented spec skeleton that passes ``router validate`` as written."""

from __future__ import annotations

import os
import re
from pathlib import Path

import click

from router.cli._common import builtin_specs_dir
from router.cli._common import fail

__all__ = ["new", "skeleton"]

_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def _schema_hint(out_dir: Path) -> str:
    """The first line the built-in specs carry: the schema for editors, relative to the new file."""
    from router.compiler._specs import schema_path  # yaml and jsonschema come with the compiler

    try:
        schema = schema_path().resolve()
    except FileNotFoundError:
        return "# yaml-language-server: $schema=https://router.dev/schemas/provider.v1.schema.json"
    try:
        where = Path(os.path.relpath(schema, out_dir.resolve())).as_posix()
    except ValueError:  # another drive (Windows)
        where = schema.as_posix()
    return f"# yaml-language-server: $schema={where}"


def _env_name(pid: str) -> str:
    return pid.upper().replace("-", "_")


def _title(pid: str) -> str:
    return " ".join(part.capitalize() for part in pid.split("-"))


def skeleton(pid: str, extends: str | None, out_dir: Path) -> str:
    """The spec text for a new provider ``pid``: a child of ``extends``, or a whole openai-chat spec."""
    env = _env_name(pid)
    head = [
        _schema_hint(out_dir),
        f"# {_title(pid)}: written by `router new`. Replace the example values with the provider's, and cite",
        "# its documentation beside each (a URL in a comment), as the built-in specs do. Every field is",
        "# described in docs/spec-reference.md. Check it with `router validate`, then `router build`.",
    ]
    if extends is not None:
        body = f"""\
# The spec language's version.
spec_version: 1
# The provider id: the prefix in "{pid}/<model>", and this file's name.
id: {pid}
# Inherit every field of the {extends} spec (mappings merge key by key, lists and scalars replace the
# inherited value, null removes it). id, name, docs and models are never inherited.
extends: {extends}
# The name people see (router list, the docs).
name: {_title(pid)}
# The provider's API reference.
docs: https://api.{pid}.example/docs
# Where requests go: scheme, host and path prefix (the chat path is appended).
base_url: https://api.{pid}.example/v1
# An environment variable that replaces base_url when set (null: none, not the parent's).
base_url_env: {env}_BASE_URL
# The API key: the environment variable(s) holding it (the first one set wins). The header and its
# scheme are inherited; set them here if the provider sends the key another way.
auth: {{env: {env}_API_KEY}}
# OpenAI request parameters this provider rejects: dropped and listed on the receipt (an error with
# strict=True). Renames, defaults and limits go under params too (see the reference).
params:
  unsupported: [top_k]
# The parent's rules for its own model families (overrides, matched by glob on the model id) are
# inherited too; `overrides: null` removes them.
# The catalogue: the models callers may name without a prefix, with their limits and prices.
models:
  - id: {pid}-chat
    # Tokens of input plus output, and the most output one answer may have.
    context_window: 128000
    max_output: 8192
    capabilities: [tools, json_object, streaming]
    # USD per million tokens, from the provider's price page, with the date they were read:
    # price: {{input: 0.50, output: 1.50, per: 1M, source: https://{pid}.example/pricing, as_of: 2026-01-01}}
"""
    else:
        body = f"""\
# The spec language's version.
spec_version: 1
# The provider id: the prefix in "{pid}/<model>", and this file's name.
id: {pid}
# The name people see (router list, the docs).
name: {_title(pid)}
# The provider's API reference.
docs: https://api.{pid}.example/docs
# The wire protocol (which codec translates): openai-chat, anthropic-messages, gemini, ollama-chat,
# cohere-chat-v2 or openai-responses.
protocol: openai-chat
# Where requests go: scheme, host and path prefix (the endpoint paths are appended). {{placeholders}}
# are filled from `variables`.
base_url: https://api.{pid}.example/v1
# An environment variable that replaces base_url when set.
base_url_env: {env}_BASE_URL
# The API key: the environment variable(s) holding it (the first one set wins), the header that
# carries it and how: bearer sends "Bearer <key>", raw the key as is. optional: true for servers
# that need none.
auth: {{env: {env}_API_KEY, header: Authorization, scheme: bearer}}
endpoints:
  # The chat endpoint, relative to base_url.
  chat: {{method: POST, path: /chat/completions}}
  # The model list (router models --remote, router health): where the list is, and each id in it.
  models: {{method: GET, path: /models, items: data, id_field: id}}
# How OpenAI request parameters become the provider's: rename (a dotted target nests), defaults,
# limits (clamp, error or drop), unsupported (dropped onto the receipt; an error with strict=True).
params:
  unsupported: [top_k]
  limits:
    temperature: {{min: 0, max: 2, policy: clamp}}
# The provider's finish reasons -> OpenAI's (stop, length, tool_calls, content_filter); any other is
# `unknown` (logged, the native value kept).
finish_reasons:
  map: {{stop: stop, length: length, tool_calls: tool_calls, content_filter: content_filter}}
  unknown: stop
# Where each usage figure is in the answer (dotted paths; a list is summed).
usage:
  prompt_tokens: usage.prompt_tokens
  completion_tokens: usage.completion_tokens
  total_tokens: usage.total_tokens
  cached_tokens: usage.prompt_tokens_details.cached_tokens
  reasoning_tokens: usage.completion_tokens_details.reasoning_tokens
# Error answers -> the router's error classes: by message substring, then code, then type, then status.
errors:
  type_at: error.type
  code_at: error.code
  message_at: error.message
  codes:
    context_length_exceeded: context_window_exceeded
    rate_limit_exceeded: rate_limit
  messages:
    - {{match: "maximum context length", error: context_window_exceeded}}
  status: {{400: bad_request, 401: authentication, 403: permission_denied, 404: not_found,
           422: bad_request, 429: rate_limit, 500: internal_server, 502: service_unavailable,
           503: service_unavailable, 504: timeout}}
  # Content filtering: replace this with the provider's own error (a code, type or message above)
  # if it has one; name a class here only when the provider cannot produce it.
  not_applicable: [content_filter]
  # How an error arrives inside a 200 stream: an {{"error": {{...}}}} data frame.
  in_stream: [object]
  # Headers with the retry hint and the request id.
  retry_after: [retry-after]
  request_id: [x-request-id]
# Server-sent events ending with a [DONE] frame; usage arrives when asked for.
stream:
  framing: sse
  done: "[DONE]"
  body: {{stream_options: {{include_usage: true}}}}
# The catalogue: the models callers may name without a prefix, with their limits and prices.
models:
  - id: {pid}-chat
    # Tokens of input plus output, and the most output one answer may have.
    context_window: 128000
    max_output: 8192
    capabilities: [tools, json_object, streaming]
    # USD per million tokens, from the provider's price page, with the date they were read:
    # price: {{input: 0.50, output: 1.50, per: 1M, source: https://{pid}.example/pricing, as_of: 2026-01-01}}
"""
    return "\n".join(head) + "\n\n" + body


def _known_ids(out_dir: Path) -> set[str]:
    places = [out_dir, Path("specs"), builtin_specs_dir()]
    return {p.stem for d in places if d is not None and d.is_dir() for p in d.glob("*.y*ml")}


@click.command(short_help="Write a commented spec skeleton for a new provider.")
@click.argument("provider_id", metavar="ID")
@click.option(
    "--extends",
    "extends",
    metavar="ID",
    help="Inherit from this spec (e.g. openai) and write only what differs.",
)
@click.option(
    "--out",
    "out_dir",
    default="specs",
    show_default=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder to write ID.yaml into (created if missing).",
)
def new(provider_id: str, extends: str | None, out_dir: Path) -> None:
    """Write OUT/ID.yaml: a commented spec skeleton with the required fields, valid as written.

    Without --extends: a whole spec for a provider speaking OpenAI Chat Completions.
    Never overwrites a file.
    """
    if not _ID.match(provider_id):
        raise click.BadParameter(
            "expected lowercase letters and digits in dash-separated words (e.g. acme or acme-eu)",
            param_hint="ID",
        )
    if extends is not None:
        if not _ID.match(extends):
            raise click.BadParameter(f"{extends!r} is no spec id", param_hint="--extends")
        known = _known_ids(out_dir)
        if extends not in known:
            import difflib  # only for the error's hint

            close = difflib.get_close_matches(extends, sorted(known), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            fail(f"--extends {extends}: no such spec in {out_dir}/, ./specs or the built-in specs{hint}")
        if extends == provider_id:
            raise click.BadParameter("a spec cannot extend itself", param_hint="--extends")
    target = out_dir / f"{provider_id}.yaml"
    if target.exists() or target.with_suffix(".yml").exists():
        fail(f"{target}: already exists; not overwritten (remove it, or choose another id or --out)")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with target.open("x", encoding="utf-8") as f:  # "x": never replace a file made meanwhile
            f.write(skeleton(provider_id, extends, out_dir))
    except FileExistsError:
        fail(f"{target}: already exists; not overwritten")
    except OSError as e:
        fail(f"{target}: cannot write it ({e.strerror or type(e).__name__})")
    click.echo(f"wrote {target.as_posix()}")
    click.echo(f"next: edit it, then `router validate {out_dir.as_posix()}` and `router build`", err=True)
