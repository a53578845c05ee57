"""Load, validate and resolve provider specs.

Every problem in every file is collected as a Diagnostic; nothing stops at the first one.

The ``extends`` rule (also in the README): the child starts from its parent's resolved spec and
overlays its own fields. Mappings merge key by key, recursively; lists and scalars replace the
parent's value whole; a ``null`` value removes the inherited key. ``id``, ``name``, ``docs`` and
``models`` are never inherited (a child is a different provider with its own catalogue).
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import difflib
import hashlib
import json
import re
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError
from jsonschema.exceptions import best_match

from router.compiler._diagnostics import Diagnostic
from router.compiler._diagnostics import pointer_str
from router.compiler._yaml import Loaded
from router.compiler._yaml import load_yaml
from router.protocols._params import OPENAI_PARAMS

__all__ = [
    "NOT_INHERITED",
    "Spec",
    "builtin_specs",
    "builtin_specs_dir",
    "load_specs",
    "schema_diagnostics",
    "schema_path",
]

NOT_INHERITED = ("id", "name", "docs", "models", "models_from", "extends")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


@dataclass
class Spec:
    file: str  # as shown in diagnostics and in generated headers
    loaded: Loaded
    raw: dict[str, Any]
    resolved: dict[str, Any] = field(default_factory=dict)
    sha256: str = ""  # of this file and every file it extends
    parent: Spec | None = None  # the spec ``extends`` resolved to (a built-in one for a user spec)
    builtin: bool = False  # one of the specs shipped with router, not one of the set being built
    path: Path | None = None  # the file it was read from

    @property
    def id(self) -> str:
        return str(self.raw["id"])


def _shipped(installed: str, checkout: str) -> list[Path]:
    """Where a folder shipped with router is: inside the installed package (the wheel puts it there,
    hatch_build.py) first, then a source checkout's top level. The installed place comes first: beside
    site-packages' router a ``schemas/`` or ``specs/`` folder may belong to anything."""
    here = Path(__file__).resolve()
    return [here.parents[1] / installed, here.parents[2] / checkout]


def schema_path(name: str = "provider.v1.schema.json") -> Path:
    for candidate in _shipped("_schemas", "schemas"):
        p = candidate / name
        if p.exists():
            return p
    raise FileNotFoundError(f"{name} not found next to the router package")


def builtin_specs_dir() -> Path | None:
    """The folder of the specs shipped with router (``router/_specs`` installed, ``specs/`` in a checkout)."""
    for candidate in _shipped("_specs", "specs"):
        if (candidate / "openai.yaml").is_file():
            return candidate
    return None


@cache
def builtin_specs() -> dict[str, Spec]:
    """The shipped specs, loaded and resolved once: what a user spec's ``extends`` or ``models_from``
    may name without having it in its own folder."""
    folder = builtin_specs_dir()
    if folder is None:
        return {}
    files = sorted(folder.glob("*.yaml"))
    specs, _ = load_specs(files, library=lambda: {})
    for spec in specs:
        spec.builtin = True
    return {spec.id: spec for spec in specs}


@cache
def _schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(schema_path().read_text())
    return data


def _where(path: Iterable[str | int]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "the top level"


def _type_name(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int | float):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "a mapping"
    return type(v).__name__


_TYPE_WORDS = {"string": "a string", "integer": "an integer", "number": "a number", "boolean": "a boolean",
               "object": "a mapping", "array": "a list", "null": "null"}  # fmt: skip


def _expected_type(t: Any) -> str:
    if isinstance(t, list):
        return " or ".join(_TYPE_WORDS.get(str(x), str(x)) for x in t)
    return _TYPE_WORDS.get(str(t), str(t))


def schema_diagnostics(loaded: Loaded, root_schema: dict[str, Any] | None = None) -> list[Diagnostic]:
    """Every JSON Schema violation in a loaded document, as diagnostics at the offending node."""
    root_schema = root_schema or _schema()
    validator = jsonschema.Draft202012Validator(root_schema)
    out: list[Diagnostic] = []

    def emit(err: ValidationError) -> None:
        path = tuple(err.absolute_path)
        where = _where(path)
        v = err.validator
        schema: dict[str, Any] = err.schema if isinstance(err.schema, dict) else {}
        instance: Any = err.instance
        expected: Any = err.validator_value
        desc = str(schema.get("description", "")).rstrip(".")
        if "propertyNames" in err.schema_path:
            # The offending value is a key of the mapping at `path`: point at the key.
            line, col = loaded.marks.at((*path, instance), key=True)
            msg = (
                f"key {json.dumps(instance)} in {where}, expected a name matching {schema.get('pattern', '')}"
            )
            out.append(Diagnostic(loaded.file, line, col, msg, pointer_str((*path, instance))))
            return
        if v == "additionalProperties" and isinstance(instance, dict):
            allowed = sorted((schema.get("properties") or {}).keys())
            for extra in sorted(set(instance) - set(allowed)):
                hint = difflib.get_close_matches(extra, allowed, n=1)
                tail = f"; did you mean {hint[0]!r}?" if hint else ""
                line, col = loaded.marks.at((*path, extra), key=True)
                inside = f" in {where}" if path else ""
                msg = f"unknown field {extra!r}{inside}, expected one of: {', '.join(allowed)}{tail}"
                out.append(Diagnostic(loaded.file, line, col, msg, pointer_str((*path, extra))))
            return
        if v == "required":
            props: dict[str, Any] = schema.get("properties") or root_schema["properties"]
            for name in [r for r in expected if r not in instance]:
                what = str(props.get(name, {}).get("description", "")).rstrip(".")
                place = f"in {where}" if path else "at the top level"
                why = (
                    " (a spec without `extends` must give it)"
                    if not path and "then" in err.schema_path
                    else ""
                )
                line, col = loaded.marks.at(path)
                msg = f"missing required field {name!r}{why}, expected it {place}" + (
                    f": {what}" if what else ""
                )
                out.append(Diagnostic(loaded.file, line, col, msg, pointer_str(path)))
            return
        if v == "type":
            msg = f"field {where} is {_type_name(instance)}, expected {_expected_type(expected)}"
        elif v == "enum":
            opts = ", ".join(json.dumps(o) for o in expected)
            msg = f"field {where} is {json.dumps(instance)}, expected one of: {opts}"
        elif v == "const":
            msg = f"field {where} is {json.dumps(instance)}, expected {json.dumps(expected)}"
        elif v == "pattern":
            about = f" ({where}: {desc[0].lower() + desc[1:]})" if desc else ""
            # A field that names where a secret lives (an env var) may hold the secret itself by
            # mistake: its value is never echoed.
            shown = "not a valid name" if _names_a_secret(err.absolute_path) else json.dumps(instance)
            msg = f"field {where} is {shown}, expected a string matching {expected}{about}"
        elif v == "oneOf" and err.context:
            # Report the branch that fits the value's type (e.g. the pattern of a string), not "no branch matched".
            same_type = [c for c in err.context if c.validator != "type"]
            emit(best_match(same_type) if same_type else best_match(err.context))
            return
        elif v == "oneOf":
            shape = (desc[0].lower() + desc[1:]) if desc else "another shape"
            msg = f"field {where} is {_type_name(instance)}, expected {shape}"
        elif v in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
            op = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}[str(v)]
            msg = f"field {where} is {json.dumps(instance)}, expected a number {op} {expected}"
        elif v == "minLength":
            msg = f"field {where} is an empty string, expected at least {expected} character(s)"
        elif v == "minItems":
            msg = f"field {where} has {len(instance)} item(s), expected at least {expected}"
        elif v == "uniqueItems":
            dup = next((x for i, x in enumerate(instance) if x in instance[:i]), None)
            msg = f"field {where} lists {json.dumps(dup)} more than once, expected each item once"
        else:
            msg = f"field {where}: {err.message}, expected {desc[0].lower() + desc[1:] if desc else 'a valid value'}"
        line, col = loaded.marks.at(path)
        out.append(Diagnostic(loaded.file, line, col, msg, pointer_str(path)))

    def walk(errors: Iterable[ValidationError]) -> None:
        for err in errors:
            if err.validator in ("if", "then"):
                walk(err.context or ())
            else:
                emit(err)

    data = loaded.data
    if isinstance(data, dict) and "extends" in data:
        data = _strip_nulls(data)  # null means "remove the inherited value": nothing to validate
    walk(validator.iter_errors(data))
    return out


def _names_a_secret(path: Iterable[Any]) -> bool:
    """Fields such as auth.env or api_key_env: their value is an env var's name, maybe a pasted key."""
    names = [p for p in path if isinstance(p, str)]
    return bool(names) and (names[-1].endswith("env") or (len(names) > 1 and names[-2] == "env"))


def _strip_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_nulls(v) for v in value]
    return value


def _deep_merge(parent: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(parent)
    for k, v in child.items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = _strip_nulls(copy.deepcopy(v))  # a null with nothing to remove is nothing
    return out


def _placeholders(spec: Spec, diags: list[Diagnostic]) -> None:
    r = spec.resolved
    known = {"model", *(r.get("variables") or {})}
    places: list[tuple[tuple[str | int, ...], Any]] = [(("base_url",), r.get("base_url"))]
    places += [(("headers", k), v) for k, v in (r.get("headers") or {}).items()]
    places += [(("query", k), v) for k, v in (r.get("query") or {}).items()]
    for name, ep in (r.get("endpoints") or {}).items():
        for key in ("path", "stream_path"):
            places.append((("endpoints", name, key), (ep or {}).get(key)))
    for path, value in places:
        if not isinstance(value, str):
            continue
        inherited = _raw_at(spec.raw, path) is None
        for m in _PLACEHOLDER.finditer(value):
            name = m.group(1)
            if name in known:
                continue
            own_vars = spec.raw.get("variables")
            if inherited and not (isinstance(own_vars, dict) and name in own_vars):
                continue  # inherited as written: reported in the spec that wrote it
            if inherited:  # the parent's placeholder is fine there: this spec removed its variable
                line, col = spec.loaded.marks.at(("variables", name), key=True)
                diags.append(
                    Diagnostic(
                        spec.file,
                        line,
                        col,
                        f"variable {name!r} is removed here, but the inherited {_where(path)} uses "
                        f"{{{name}}}, expected the variable kept (or {_where(path)} overridden too)",
                        pointer_str(("variables", name)),
                    )
                )
                continue
            hint = difflib.get_close_matches(name, sorted(known), n=1)
            tail = f"; did you mean {{{hint[0]}}}?" if hint else ""
            line, col = spec.loaded.marks.at(path)
            diags.append(
                Diagnostic(
                    spec.file,
                    line,
                    col,
                    f"placeholder {{{name}}} in {_where(path)} names no variable, expected one of: "
                    f"{', '.join('{' + k + '}' for k in sorted(known))}{tail}",
                    pointer_str(path),
                )
            )


# The protocols router serve has an inbound API for (router/gateway: Chat Completions, Messages,
# Responses): passthrough is a promise only these can keep.
_PASSTHROUGH_PROTOCOLS = ("anthropic-messages", "openai-chat", "openai-responses")


def _passthrough(spec: Spec, diags: list[Diagnostic]) -> None:
    protocol = spec.resolved.get("protocol")
    if spec.raw.get("passthrough_headers") and spec.raw.get("passthrough") is not True:
        line, col = spec.loaded.marks.at(("passthrough_headers",))
        diags.append(
            Diagnostic(
                spec.file,
                line,
                col,
                "passthrough_headers without passthrough: true, expected passthrough: true beside it"
                " (or no passthrough_headers)",
                "/passthrough_headers",
            )
        )
    if spec.raw.get("passthrough") is True and protocol not in _PASSTHROUGH_PROTOCOLS:
        line, col = spec.loaded.marks.at(("passthrough",))
        diags.append(
            Diagnostic(
                spec.file,
                line,
                col,
                f"passthrough: true with protocol {protocol!r}, which no inbound API of router serve"
                f" speaks, expected one of: {', '.join(_PASSTHROUGH_PROTOCOLS)} (or no passthrough)",
                "/passthrough",
            )
        )


def _dates(spec: Spec, diags: list[Diagnostic]) -> None:
    for i, m in enumerate(spec.raw.get("models") or []):
        for path, value in (
            (("models", i, "price", "as_of"), (m.get("price") or {}).get("as_of")),
            (("models", i, "deprecated"), m.get("deprecated")),
        ):
            if not isinstance(value, str):
                continue
            try:
                datetime.date.fromisoformat(value)
            except ValueError:
                line, col = spec.loaded.marks.at(path)
                diags.append(
                    Diagnostic(
                        spec.file,
                        line,
                        col,
                        f"{_where(path)} is {value!r}, which is no calendar date, expected YYYY-MM-DD",
                        pointer_str(path),
                    )
                )


def _raw_at(raw: Any, path: tuple[str | int, ...]) -> Any:
    for p in path:
        if not isinstance(raw, dict) or p not in raw:
            return None
        raw = raw[p]
    return raw


def _models_from(
    spec: Spec,
    by_id: dict[str, Spec],
    diags: list[Diagnostic],
    lib: Callable[[str], Spec | None] = lambda _id: None,
) -> None:
    """``models_from: <id>``: this provider's catalogue is that spec's own (copied into the resolved
    spec; the raw spec keeps none, so bare model ids still route to the spec that declares them).
    The id names a spec of the same set first, then a built-in one."""
    source_id = spec.raw.get("models_from")
    if source_id is None:
        return
    line, col = spec.loaded.marks.at(("models_from",))
    source = by_id.get(source_id)
    if source is None and isinstance(source_id, str):
        source = lib(source_id)
    problem = None
    if "models" in spec.raw:
        problem = "models_from and models together, expected one catalogue: its own or another spec's"
    elif source is None or source is spec:
        others = sorted(i for i in by_id if i != spec.id)
        hint = difflib.get_close_matches(str(source_id), others, n=1)
        tail = f"; did you mean {hint[0]!r}?" if hint else ""
        problem = f"models_from names {'itself' if source is spec else f'unknown spec {source_id!r}'}, expected the id of a spec with a catalogue{tail}"
    elif not source.raw.get("models"):
        problem = f"models_from names {source_id!r}, which declares no models of its own, expected a spec with a catalogue"
    if problem is not None:
        diags.append(Diagnostic(spec.file, line, col, problem, "/models_from"))
        return
    assert source is not None
    spec.resolved["models"] = copy.deepcopy(source.raw["models"])
    # The generated module holds the other spec's catalogue: its header hash follows that file too.
    spec.sha256 = hashlib.sha256((spec.sha256 + source.sha256).encode()).hexdigest()


def _param_names(spec: Spec, diags: list[Diagnostic]) -> None:
    """Parameter rules must name OpenAI parameters: a typo would otherwise be a rule that never fires."""
    raw = spec.raw
    blocks: list[tuple[tuple[str | int, ...], Any]] = [(("params",), raw.get("params"))]
    blocks += [
        (("overrides", i, "params"), (o or {}).get("params"))
        for i, o in enumerate(raw.get("overrides") or [])
    ]
    for base, params in blocks:
        if not isinstance(params, dict):
            continue
        names: list[tuple[tuple[str | int, ...], str]] = []
        for section in ("rename", "limits"):
            for k in params.get(section) or {}:
                names.append(((*base, section, k), k))
        for section in ("unsupported", "to_list"):
            for i, k in enumerate(params.get(section) or []):
                names.append(((*base, section, i), k))
        if base == ("params",):
            for i, k in enumerate((raw.get("reasoning") or {}).get("drops") or []):
                names.append((("reasoning", "drops", i), k))
        for i, group in enumerate(params.get("exclusive") or []):
            for j, k in enumerate(group):
                names.append(((*base, "exclusive", i, j), k))
        for i, k in enumerate(params.get("native") or []):
            if k in OPENAI_PARAMS:
                line, col = spec.loaded.marks.at((*base, "native", i), key=False)
                diags.append(
                    Diagnostic(
                        spec.file,
                        line,
                        col,
                        f"{k!r} is an OpenAI parameter, expected only the provider's own fields in params.native "
                        "(OpenAI parameters are sent, renamed or declared unsupported)",
                        pointer_str((*base, "native", i)),
                    )
                )
        for path, name in names:
            if not isinstance(name, str) or name in OPENAI_PARAMS:
                continue
            hint = difflib.get_close_matches(name, sorted(OPENAI_PARAMS), n=1)
            tail = f"; did you mean {hint[0]!r}?" if hint else ""
            line, col = spec.loaded.marks.at(path, key=isinstance(path[-1], str))
            diags.append(
                Diagnostic(
                    spec.file,
                    line,
                    col,
                    f"{name!r} in {_where(path[:-1])} is not an OpenAI request parameter, expected one of the Chat Completions parameters{tail}",
                    pointer_str(path),
                )
            )
        for k, lim in (params.get("limits") or {}).items():
            if (
                isinstance(lim, dict)
                and isinstance(lim.get("min"), int | float)
                and isinstance(lim.get("max"), int | float)
                and lim["min"] > lim["max"]
            ):
                line, col = spec.loaded.marks.at((*base, "limits", k))
                diags.append(
                    Diagnostic(
                        spec.file,
                        line,
                        col,
                        f"limit for {k!r} has min {lim['min']} > max {lim['max']}, expected min <= max",
                        pointer_str((*base, "limits", k)),
                    )
                )


def _unreadable(p: Path, e: Exception) -> str:
    if isinstance(e, FileNotFoundError):
        return "no such file or directory, expected a provider spec (YAML)"
    if isinstance(e, IsADirectoryError):
        return "is a folder, expected a provider spec file (YAML)"
    if isinstance(e, UnicodeDecodeError):
        return f"cannot read the file ({e}), expected a UTF-8 text file"
    reason = e.strerror if isinstance(e, OSError) and e.strerror else type(e).__name__
    return f"cannot read the file ({reason}), expected a readable UTF-8 text file"


def load_specs(
    paths: Iterable[Path],
    *,
    display_root: Path | None = None,
    library: Callable[[], dict[str, Spec]] | None = None,
) -> tuple[list[Spec], list[Diagnostic]]:
    """Load and check every spec file; resolve ``extends``. Returns the specs and every diagnostic.

    ``extends`` and ``models_from`` name a spec of ``paths`` first, then one of ``library()`` (by
    default the specs shipped with router): a user's ``acme.yaml`` may extend ``openai`` without a copy
    of it, and a user's ``openai.yaml`` may extend the built-in ``openai`` it overrides.

    A spec with schema errors still gets its semantic checks (file name, extends, placeholders,
    parameter names, dates, model ids), so one run reports every problem; it is not returned."""
    diags: list[Diagnostic] = []
    specs: list[Spec] = []
    partial: set[int] = set()  # id()s of specs with schema errors: checked, never returned or built
    broken: set[str] = set()  # ids of specs that exist but did not load; their own errors say why
    paths = sorted(paths)
    mine = {p.resolve() for p in paths}
    lib_cache: list[dict[str, Spec]] = []

    def lib(parent_id: str) -> Spec | None:
        if not lib_cache:
            lib_cache.append((library or builtin_specs)())
        found = lib_cache[0].get(parent_id)
        if found is None or (found.path is not None and found.path.resolve() in mine):
            return None  # a spec of this very set: it is its own parent, not a library one
        return found

    for p in paths:
        shown = _display(p, display_root)
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            diags.append(Diagnostic(shown, 1, 1, _unreadable(p, e)))
            broken.add(p.stem)
            continue
        loaded = load_yaml(shown, text)
        diags += loaded.diagnostics
        if loaded.data is None:
            broken.add(p.stem)
            continue
        schema_diags = schema_diagnostics(loaded)
        diags += schema_diags
        if not isinstance(loaded.data.get("id"), str):
            broken.add(p.stem)
            continue
        spec = Spec(shown, loaded, loaded.data, path=p)
        spec.sha256 = hashlib.sha256(text.encode()).hexdigest()
        if schema_diags or loaded.diagnostics:
            partial.add(id(spec))
            broken.add(spec.id)
        if spec.id != p.stem:
            line, col = loaded.marks.at(("id",))
            diags.append(
                Diagnostic(
                    shown,
                    line,
                    col,
                    f"id {spec.id!r} does not match the file name, expected {p.stem!r}",
                    "/id",
                )
            )
        specs.append(spec)

    # A semantic check may restate, on a spec the schema rejected, what the schema already said about
    # the same line (a malformed date, a repeated list item): the schema's diagnostic is kept alone.
    said = {(d.file, d.line) for d in diags}
    first_phase = len(diags)
    by_id: dict[str, Spec] = {}
    for spec in specs:
        if spec.id in by_id:
            line, col = spec.loaded.marks.at(("id",))
            diags.append(
                Diagnostic(
                    spec.file,
                    line,
                    col,
                    f"duplicate provider id {spec.id!r} (also in {by_id[spec.id].file}), expected each id once",
                    "/id",
                )
            )
        else:
            by_id[spec.id] = spec

    resolved_ok: dict[str, bool] = {}

    def resolve(spec: Spec, chain: tuple[str, ...]) -> bool:
        if spec.id in resolved_ok:
            return resolved_ok[spec.id]
        parent_id = spec.raw.get("extends")
        ok = True
        if parent_id is None or not isinstance(parent_id, str):
            spec.resolved = copy.deepcopy(spec.raw)
            spec.resolved.pop("extends", None)
        else:
            line, col = spec.loaded.marks.at(("extends",))
            parent = by_id.get(parent_id) if parent_id != spec.id else None
            if parent is None and parent_id not in chain:
                parent = lib(parent_id)
            if parent is not None and parent.builtin:
                _inherit(spec, parent)
            elif parent_id in chain or parent_id == spec.id:
                cycle = " -> ".join((*chain, spec.id, parent_id)[((*chain, spec.id)).index(parent_id) :])
                diags.append(
                    Diagnostic(
                        spec.file,
                        line,
                        col,
                        f"extends forms a cycle ({cycle}), expected a chain that ends in a spec without extends",
                        "/extends",
                    )
                )
                ok = False
            elif parent_id in broken:
                ok = False  # the parent's own diagnostics say what is wrong
            elif parent is None:
                others = sorted({i for i in by_id if i != spec.id} | set(lib_cache[0] if lib_cache else ()))
                hint = difflib.get_close_matches(parent_id, others, n=1)
                tail = f"; did you mean {hint[0]!r}?" if hint else ""
                diags.append(
                    Diagnostic(
                        spec.file,
                        line,
                        col,
                        f"extends names unknown spec {parent_id!r}, expected one of: {', '.join(others) or '(no other spec)'}{tail}",
                        "/extends",
                    )
                )
                ok = False
            elif not resolve(parent, (*chain, spec.id)):
                ok = False
            else:
                _inherit(spec, parent)
        resolved_ok[spec.id] = ok
        return ok

    for spec in by_id.values():
        if not resolve(spec, ()):
            continue
        r = spec.resolved
        r.setdefault("name", spec.id)
        for need in ("protocol", "base_url", "auth", "endpoints"):
            if need not in r and id(spec) not in partial:  # a schema error already says it
                line, col = spec.loaded.marks.at(("extends",) if "extends" in spec.raw else ())
                diags.append(
                    Diagnostic(
                        spec.file,
                        line,
                        col,
                        f"missing required field {need!r} after resolving extends, expected the spec or its parent to give it",
                        f"/{need}",
                    )
                )
        for check in (_placeholders, _param_names, _dates, _passthrough):
            _guarded(check, spec, diags, id(spec) in partial)
    for spec in by_id.values():  # after every extends chain is resolved (and hashed)
        if resolved_ok.get(spec.id):
            _guarded(lambda s, d: _models_from(s, by_id, d, lib), spec, diags, id(spec) in partial)

    # Model ids and aliases must route to exactly one model, within a spec and across specs.
    seen: dict[str, tuple[Spec, str, tuple[str | int, ...]]] = {}
    for spec in by_id.values():
        models = spec.raw.get("models")
        for i, m in enumerate(models if isinstance(models, list) else []):
            if not isinstance(m, dict) or not isinstance(m.get("id"), str):
                continue  # the schema error says what is wrong with it
            names: list[tuple[str, Any, tuple[str | int, ...]]] = [("id", m["id"], ("models", i, "id"))]
            names += [("alias", a, ("models", i, "aliases", j)) for j, a in enumerate(m.get("aliases") or [])]
            names += [
                ("API alias", a, ("models", i, "api_aliases", j))
                for j, a in enumerate(m.get("api_aliases") or [])
            ]
            for kind, name, path in names:
                if not isinstance(name, str):
                    continue
                if name in seen:
                    other, what, other_path = seen[name]
                    line, col = spec.loaded.marks.at(path)
                    first_line = other.loaded.marks.at(other_path)[0]
                    where = f"line {first_line}" if other is spec else f"{other.file}:{first_line}"
                    diags.append(
                        Diagnostic(
                            spec.file,
                            line,
                            col,
                            f"model {kind} {name!r} is already declared as a model {what} at {where}, expected each model id and alias once",
                            pointer_str(path),
                        )
                    )
                else:
                    seen[name] = (spec, kind, path)

    diags = diags[:first_phase] + [d for d in diags[first_phase:] if (d.file, d.line) not in said]
    ok_specs = [s for s in by_id.values() if resolved_ok.get(s.id) and id(s) not in partial]
    return ok_specs, sorted(set(diags), key=lambda d: (d.file, d.line, d.col, d.message))


def _inherit(spec: Spec, parent: Spec) -> None:
    base = {k: v for k, v in parent.resolved.items() if k not in NOT_INHERITED}
    own = {k: v for k, v in spec.raw.items() if k != "extends"}
    spec.resolved = _deep_merge(base, own)
    spec.parent = parent
    spec.sha256 = hashlib.sha256((parent.sha256 + spec.sha256).encode()).hexdigest()


def _guarded(
    check: Callable[[Spec, list[Diagnostic]], None], spec: Spec, diags: list[Diagnostic], partial: bool
) -> None:
    """Run a semantic check. On a spec the schema already rejected, a value of the wrong type may
    trip the check itself: then the schema's diagnostic is the one that stands."""
    if not partial:
        check(spec, diags)
        return
    with contextlib.suppress(TypeError, AttributeError, KeyError, ValueError, IndexError):
        check(spec, diags)


def _display(p: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return p.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    try:
        return p.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return p.as_posix()
