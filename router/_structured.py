"""``response_format=<model class>``: structured output the way the openai SDK's ``.parse`` helpers do it.

The class gives the JSON schema (``model_json_schema()``), made strict as openai's
``to_strict_json_schema`` makes it (every object ``additionalProperties: false``, every property
required, ``$ref`` with siblings inlined, ``None`` defaults dropped); it is sent as
``{"type": "json_schema", "json_schema": {"name": <class name>, "schema": ..., "strict": true}}``
and the answer's text is read back with ``model_validate_json`` onto ``message.parsed``.

Duck-typed: anything with those two class methods (a pydantic ``BaseModel`` subclass) works, and
pydantic is never imported here.
"""

from __future__ import annotations

import copy
from typing import Any

from router._types import ChatCompletion

__all__ = ["is_model_class", "parse_completion", "response_format_for", "strict_schema"]


def is_model_class(value: Any) -> bool:
    """Whether ``response_format`` is a class to take the schema from (rather than an OpenAI
    response_format object)."""
    return (
        isinstance(value, type)
        and callable(getattr(value, "model_json_schema", None))
        and callable(getattr(value, "model_validate_json", None))
    )


def response_format_for(model: Any) -> dict[str, Any]:
    """The OpenAI ``response_format`` object for a model class."""
    return {
        "type": "json_schema",
        "json_schema": {
            "name": model.__name__,
            "schema": strict_schema(model.model_json_schema()),
            "strict": True,
        },
    }


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``schema`` in OpenAI's strict form (as the openai SDK's ``to_strict_json_schema``)."""
    root = copy.deepcopy(schema)
    return _strict(root, root)


def _strict(node: Any, root: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(node, dict):
        raise TypeError(f"a JSON schema node must be an object, got {type(node).__name__}")
    for key in ("$defs", "definitions"):
        defs = node.get(key)
        if isinstance(defs, dict):
            for name, sub in defs.items():
                defs[name] = _strict(sub, root)
    if node.get("type") == "object" and "additionalProperties" not in node:
        node["additionalProperties"] = False
    props = node.get("properties")
    if isinstance(props, dict):
        node["required"] = list(props)
        node["properties"] = {k: _strict(v, root) for k, v in props.items()}
    items = node.get("items")
    if isinstance(items, dict):
        node["items"] = _strict(items, root)
    any_of = node.get("anyOf")
    if isinstance(any_of, list):
        node["anyOf"] = [_strict(v, root) for v in any_of]
    all_of = node.get("allOf")
    if isinstance(all_of, list):
        if len(all_of) == 1:
            node.update(_strict(all_of[0], root))
            node.pop("allOf")
        else:
            node["allOf"] = [_strict(v, root) for v in all_of]
    if "default" in node and node["default"] is None:
        del node["default"]
    ref = node.get("$ref")
    if isinstance(ref, str) and len(node) > 1:  # a $ref beside other keys: inline what it names
        target = _resolve(root, ref)
        node.update({**target, **node})
        node.pop("$ref")
        return _strict(node, root)
    return node


def _resolve(root: dict[str, Any], ref: str) -> dict[str, Any]:
    if not ref.startswith("#/"):
        raise ValueError(f"unexpected $ref {ref!r}: only local references (#/...) are supported")
    node: Any = root
    for part in ref[2:].split("/"):
        node = node[part]
        if not isinstance(node, dict):
            raise ValueError(f"$ref {ref!r} does not name an object")
    return copy.deepcopy(node)


def parse_completion(result: ChatCompletion, model: Any) -> ChatCompletion:
    """Fill ``message.parsed`` of every choice: ``model.model_validate_json(content)`` for an answer
    with text and no refusal (the model's own validation error is raised as it is, as the openai
    SDK does), else None. Returns ``result``, changed in place."""
    for choice in result.choices:
        m = choice.message
        value = model.model_validate_json(m.content) if m.content and not m.refusal else None
        m.parsed = value
    return result
