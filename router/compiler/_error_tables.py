"""Checks of a spec's error table as a whole (after ``extends``): what ``router validate --strict`` asks.

Every provider's resolved ``errors`` rules must classify each error class an app has to tell apart
(``ERROR_CLASSES``), with an entry in ``messages``, ``codes``, ``types`` or ``status`` (or, for a
content filter, ``finish_reasons.errors``), and say how an error inside a 200 stream arrives
(``errors.in_stream``). A class the provider cannot produce is named in ``errors.not_applicable``, with
a comment why, so that nothing passes silently. The consistency of ``in_stream`` with the stream rules
is checked always; coverage only with ``strict``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from router.compiler._diagnostics import Diagnostic
from router.compiler._diagnostics import pointer_str
from router.compiler._specs import Spec

__all__ = ["ERROR_CLASSES", "classified", "error_table_diagnostics"]

# class -> the error kinds that classify it (the kinds of router._exceptions.ERROR_KINDS).
ERROR_CLASSES: dict[str, frozenset[str]] = {
    "authentication": frozenset({"authentication"}),
    "permission_denied": frozenset({"permission_denied"}),
    "not_found": frozenset({"not_found"}),
    "rate_limit": frozenset({"rate_limit"}),
    "overloaded": frozenset({"overloaded", "service_unavailable"}),
    "context_window_exceeded": frozenset({"context_window_exceeded"}),
    "content_filter": frozenset({"content_filter"}),
    "bad_request": frozenset({"bad_request"}),
    "stream_error": frozenset(),  # covered by errors.in_stream
}


def _kinds(resolved: dict[str, Any]) -> set[str]:
    errors = resolved.get("errors") or {}
    kinds: set[str] = {str(v) for v in (errors.get("status") or {}).values() if v is not None}
    # A table whose path is removed (type_at: null) can never match: its inherited entries do not count.
    for table, path in (("types", "type_at"), ("codes", "code_at")):
        if errors.get(path):
            kinds.update(str(v) for v in (errors.get(table) or {}).values() if v is not None)
    if errors.get("message_at"):
        kinds.update(str(m.get("error")) for m in errors.get("messages") or () if isinstance(m, dict))
    kinds.update(str(v) for v in ((resolved.get("finish_reasons") or {}).get("errors") or {}).values())
    return kinds


def classified(resolved: dict[str, Any]) -> set[str]:
    """The error classes a resolved spec classifies or declares not applicable."""
    errors = resolved.get("errors") or {}
    kinds = _kinds(resolved)
    out = {c for c, ks in ERROR_CLASSES.items() if ks & kinds}
    if errors.get("in_stream"):
        out.add("stream_error")
    out.update(str(c) for c in errors.get("not_applicable") or ())
    return out


def _at(spec: Spec, path: tuple[str | int, ...]) -> tuple[int, int]:
    """Where to point: the spec's own node at ``path``, else its errors section, else extends."""
    for p in (path, ("errors",), ("extends",)):
        node: Any = spec.raw
        for part in p:
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            return spec.loaded.marks.at(p, key=isinstance(p[-1], str))
    return 1, 1


def error_table_diagnostics(specs: Iterable[Spec], *, strict: bool = False) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for spec in specs:
        r = spec.resolved
        errors = r.get("errors") or {}
        ways = list(errors.get("in_stream") or ())
        stream = r.get("stream") or {}
        own = "in_stream" in (spec.raw.get("errors") or {}) or "error_event" in (spec.raw.get("stream") or {})
        if own and "event" in ways and not stream.get("error_event"):
            line, col = _at(spec, ("errors", "in_stream"))
            out.append(
                Diagnostic(
                    spec.file,
                    line,
                    col,
                    "errors.in_stream says errors arrive as an SSE event, but stream.error_event names no "
                    "event, expected stream.error_event (the event's name, e.g. error) or another way",
                    pointer_str(("errors", "in_stream")),
                )
            )
        if own and "finish_reason" in ways and not (r.get("finish_reasons") or {}).get("errors"):
            line, col = _at(spec, ("errors", "in_stream"))
            out.append(
                Diagnostic(
                    spec.file,
                    line,
                    col,
                    "errors.in_stream says errors arrive as a finish_reason, but finish_reasons.errors lists "
                    "none, expected the error finish reasons there (e.g. {error: internal_server})",
                    pointer_str(("errors", "in_stream")),
                )
            )
        if not strict:
            continue
        have = classified(r)
        for name in ERROR_CLASSES:
            if name in have:
                continue
            line, col = _at(spec, ("errors",))
            if name == "stream_error":
                msg = (
                    "the error table does not say how an error inside a 200 stream arrives, expected "
                    "errors.in_stream (event, object or finish_reason) or stream_error in "
                    "errors.not_applicable, with a comment why"
                )
            else:
                kinds = " or ".join(sorted(ERROR_CLASSES[name]))
                msg = (
                    f"the error table (with what it inherits) classifies no {name} error, expected a "
                    f"messages, codes, types or status entry of kind {kinds} from the provider's docs "
                    f"(or {name} in errors.not_applicable, with a comment why)"
                )
            out.append(Diagnostic(spec.file, line, col, msg, pointer_str(("errors",))))
    return out
