"""The unified request, checked once before any codec sees it and before any network call.

Every problem is a ``BadRequestError`` naming the field by its JSON path (``messages[2].content[0]``)
in ``param``; sync and async share this one pass. Ranges are the OpenAI API's (a provider's own,
narrower limits are the spec's ``params.limits``, applied later). Unknown parameter names are the
parameter policy's business (``UnsupportedParamsError`` with a suggestion), not this module's.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

from router._exceptions import BadRequestError

__all__ = ["check_call_limits", "check_request"]

_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})


class _Bad(Exception):
    def __init__(self, param: str, problem: str) -> None:
        self.param = param
        self.problem = problem


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _number(lo: float | None, hi: float | None, *, integer: bool = False) -> Callable[[str, Any], None]:
    def check(path: str, value: Any) -> None:
        ok_type = isinstance(value, int) if integer else isinstance(value, int | float)
        if isinstance(value, bool) or not ok_type:
            raise _Bad(path, f"must be {'an integer' if integer else 'a number'}, got {_kind(value)}")
        if not integer and not math.isfinite(value):
            raise _Bad(path, f"must be a finite number, got {value}")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            rng = f"at least {lo}" if hi is None else f"between {lo} and {hi}"
            raise _Bad(path, f"must be {rng}, got {value}")

    return check


def _of(*types: type, what: str) -> Callable[[str, Any], None]:
    def check(path: str, value: Any) -> None:
        if isinstance(value, bool) and bool not in types:
            raise _Bad(path, f"must be {what}, got bool")
        if not isinstance(value, types):
            raise _Bad(path, f"must be {what}, got {_kind(value)}")

    return check


def _stop(path: str, value: Any) -> None:
    if isinstance(value, str):
        return
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise _Bad(path, f"must be a string or a list of strings, got {_kind(value)}")


def _str_mapping(path: str, value: Any) -> None:
    if not (type(value) is dict or isinstance(value, Mapping)):
        raise _Bad(path, f"must be an object, got {_kind(value)}")
    for k in value:
        if not isinstance(k, str):
            raise _Bad(path, f"keys must be strings, got {_kind(k)}")


def _headers(path: str, value: Any) -> None:
    _str_mapping(path, value)
    for k, v in value.items():
        if not isinstance(v, str):
            raise _Bad(f"{path}.{k}", f"must be a string, got {_kind(v)}")
        if not (k.isascii() and v.isascii()) or any(c in k + v for c in "\r\n\x00"):
            raise _Bad(f"{path}.{k}", "header names and values must be ASCII without line breaks")


def _url(path: str, value: Any) -> None:
    # Which schemes and data URLs a provider can read is the codec's to say (it names them).
    if not isinstance(value, str) or not value:
        raise _Bad(path, f"must be a non-empty URL string, got {_kind(value)}")


def _part(path: str, part: Any) -> None:
    if not (type(part) is dict or isinstance(part, Mapping)):
        raise _Bad(path, f"a content part must be an object, got {_kind(part)}")
    kind = part.get("type")
    if not isinstance(kind, str):
        raise _Bad(f"{path}.type", f"must be a string, got {_kind(kind)}")
    if kind == "text" and not isinstance(part.get("text"), str):
        raise _Bad(f"{path}.text", f"must be a string, got {_kind(part.get('text'))}")
    if kind == "image_url":
        image = part.get("image_url")
        _url(
            f"{path}.image_url.url",
            image.get("url") if (type(image) is dict or isinstance(image, Mapping)) else image,
        )


def _content(path: str, content: Any) -> None:
    if content is None or isinstance(content, str):
        return
    if not isinstance(content, list):
        raise _Bad(path, f"must be a string or a list of content parts, got {_kind(content)}")
    for i, part in enumerate(content):
        _part(f"{path}[{i}]", part)


def _tool_call(path: str, tc: Any) -> None:
    if not (type(tc) is dict or isinstance(tc, Mapping)):
        raise _Bad(path, f"a tool call must be an object, got {_kind(tc)}")
    if tc.get("type") == "custom":  # a custom tool's call: {"custom": {"name", "input"}}, input is text
        custom = tc.get("custom")
        if not (type(custom) is dict or isinstance(custom, Mapping)):
            raise _Bad(f"{path}.custom", f"must be an object, got {_kind(custom)}")
        if not isinstance(custom.get("name"), str) or not custom["name"]:
            raise _Bad(f"{path}.custom.name", "must be a non-empty string")
        if custom.get("input") is not None and not isinstance(custom["input"], str):
            raise _Bad(f"{path}.custom.input", f"must be a string, got {_kind(custom['input'])}")
        return
    fn = tc.get("function")
    if not (type(fn) is dict or isinstance(fn, Mapping)):
        raise _Bad(f"{path}.function", f"must be an object, got {_kind(fn)}")
    if not isinstance(fn.get("name"), str) or not fn["name"]:
        raise _Bad(f"{path}.function.name", "must be a non-empty string")
    args = fn.get("arguments")
    if args is not None and not isinstance(args, str | Mapping):
        raise _Bad(f"{path}.function.arguments", f"must be a JSON string, got {_kind(args)}")


def _message(path: str, m: Any) -> None:
    if not (type(m) is dict or isinstance(m, Mapping)):
        to_dict = getattr(m, "to_dict", None)
        if to_dict is None:
            raise _Bad(path, f"a message must be an object, got {_kind(m)}")
        m = to_dict()
    role = m.get("role")
    if role not in _ROLES:
        raise _Bad(f"{path}.role", f"must be one of {', '.join(sorted(_ROLES))}, got {role!r}")
    _content(f"{path}.content", m.get("content"))
    if role == "tool" and not isinstance(m.get("tool_call_id"), str):
        raise _Bad(f"{path}.tool_call_id", "a tool message needs the id (a string) of the call it answers")
    name = m.get("name")
    if name is not None and not isinstance(name, str):
        raise _Bad(f"{path}.name", f"must be a string, got {_kind(name)}")
    calls = m.get("tool_calls")
    if calls is not None:
        if role != "assistant" or not isinstance(calls, list):
            raise _Bad(f"{path}.tool_calls", "must be a list, on an assistant message")
        for i, tc in enumerate(calls):
            _tool_call(f"{path}.tool_calls[{i}]", tc)


def _messages(path: str, value: Any) -> None:
    if not isinstance(value, list) or not value:
        raise _Bad(
            path,
            f"must be a non-empty list of messages, got {_kind(value) if value != [] else 'an empty list'}",
        )
    for i, m in enumerate(value):
        # The usual message, a dict of a role and text (or no content), is checked inline: its JSON
        # path is only written out for a message the full check below has something to say about.
        if type(m) is dict and m.keys() <= _PLAIN_KEYS:
            content = m.get("content")
            if m.get("role") in _PLAIN_ROLES and (content is None or type(content) is str):
                continue
        _message(f"{path}[{i}]", m)


# A message of only these keys, a role of these and str or no content, needs nothing more checked.
_PLAIN_KEYS = frozenset({"role", "content"})
_PLAIN_ROLES = frozenset({"system", "developer", "user", "assistant"})


def _tools(path: str, value: Any) -> None:
    if not isinstance(value, list):
        raise _Bad(path, f"must be a list of tools, got {_kind(value)}")
    for i, t in enumerate(value):
        if not (type(t) is dict or isinstance(t, Mapping)):
            raise _Bad(f"{path}[{i}]", f"a tool must be an object, got {_kind(t)}")
        if t.get("type", "function") != "function":
            continue  # other tool types (web_search, ...) are the codec's and the provider's to judge
        fn = t.get("function")
        if (
            not (type(fn) is dict or isinstance(fn, Mapping))
            or not isinstance(fn.get("name"), str)
            or not fn["name"]
        ):
            raise _Bad(f"{path}[{i}].function.name", "a function tool needs a non-empty name")
        params = fn.get("parameters")
        if params is not None and not (type(params) is dict or isinstance(params, Mapping)):
            raise _Bad(
                f"{path}[{i}].function.parameters", f"must be a JSON Schema object, got {_kind(params)}"
            )


def _tool_choice(path: str, value: Any) -> None:
    if isinstance(value, str):
        if value not in ("auto", "none", "required"):
            raise _Bad(path, f"{value!r} is not one OpenAI defines: auto, none, required or an object")
        return
    if not (type(value) is dict or isinstance(value, Mapping)):
        raise _Bad(path, f"must be a string or an object, got {_kind(value)}")


def _response_format(path: str, value: Any) -> None:
    if not (type(value) is dict or isinstance(value, Mapping)) or not isinstance(value.get("type"), str):
        raise _Bad(f"{path}.type", "response_format must be an object with a type")


def _seconds(path: str, value: Any) -> None:
    _number(None, None)(path, value)
    if value <= 0:
        raise _Bad(path, f"must be more than 0 seconds, got {value}")


def _timeout(path: str, value: Any) -> None:
    if hasattr(value, "connect") and hasattr(value, "read"):  # an httpx.Timeout
        return
    _seconds(path, value)


# Per-call time limits the caller's side consumes before the request is built (router/_client.py).
_LIMITS: dict[str, Callable[[str, Any], None]] = {
    "first_token_timeout": _seconds,
    "stall_timeout": _seconds,
}

_CHECKS: dict[str, Callable[[str, Any], None]] = {
    **_LIMITS,
    "model": _of(str, what="a string"),
    "messages": _messages,
    "stream": _of(bool, what="true or false"),
    "stream_options": _str_mapping,
    "temperature": _number(0, 2),
    "top_p": _number(0, 1),
    "top_k": _number(0, None, integer=True),
    "n": _number(1, None, integer=True),
    "max_tokens": _number(1, None, integer=True),
    "max_completion_tokens": _number(1, None, integer=True),
    "presence_penalty": _number(-2, 2),
    "frequency_penalty": _number(-2, 2),
    "seed": _number(None, None, integer=True),
    "logprobs": _of(bool, what="true or false"),
    "top_logprobs": _number(0, 20, integer=True),
    "logit_bias": _str_mapping,
    "stop": _stop,
    "user": _of(str, what="a string"),
    "tools": _tools,
    "functions": _of(list, what="a list"),
    "tool_choice": _tool_choice,
    "parallel_tool_calls": _of(bool, what="true or false"),
    "response_format": _response_format,
    "reasoning_effort": _of(str, what="a string"),
    "metadata": _str_mapping,
    "extra_body": _str_mapping,
    "extra_headers": _headers,
    "extra_query": _str_mapping,
    "timeout": _timeout,
    "max_retries": _number(0, None, integer=True),
    "api_key": _of(str, what="a string"),
    "base_url": _of(str, what="a URL string"),
    "strict": _of(bool, what="true or false"),
    "max_response_bytes": _number(1, None, integer=True),
    "max_event_bytes": _number(1, None, integer=True),
}


def check_request(request: Mapping[str, Any], provider: str | None = None) -> None:
    """Raise ``BadRequestError`` (``param`` = the field's JSON path) for the first malformed field."""
    try:
        if "messages" not in request:
            raise _Bad("messages", "is required (a non-empty list of messages)")
        for name, value in request.items():
            check = _CHECKS.get(name)
            if check is not None and value is not None:
                check(name, value)
    except _Bad as bad:
        raise BadRequestError(f"{bad.param} {bad.problem}", provider=provider, param=bad.param) from None


def check_call_limits(options: Mapping[str, Any], provider: str | None = None) -> None:
    """Raise ``BadRequestError`` naming the field when ``first_token_timeout`` or ``stall_timeout`` is
    not a positive number of seconds (None is "not given": the default applies)."""
    try:
        for name, check in _LIMITS.items():
            value = options.get(name)
            if value is not None:
                check(name, value)
    except _Bad as bad:
        raise BadRequestError(f"{bad.param} {bad.problem}", provider=provider, param=bad.param) from None
