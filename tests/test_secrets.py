"""A key never leaves: not in any exception (str, repr, args, attributes, chained causes and
contexts), not in a provider's echo of it, not in log records of any logger at DEBUG, not in
``HttpRequest.redacted()``; keys that cannot be sent as they are get an error that does not show them.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from matrix import PROTOCOL_MODELS

import router

CANARY = "sk-canary-7f3a9c1e5b2d"
MSGS = [{"role": "user", "content": "Hi"}]
MODELS = PROTOCOL_MODELS
ENV = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "ollama": "OLLAMA_API_KEY",
    "cohere": "CO_API_KEY",
    "openai-responses": "OPENAI_API_KEY",
}


def _reachable(obj: Any, seen: set[int] | None = None, depth: int = 0) -> list[str]:
    """Every string reachable from ``obj``: attributes, args, containers, causes and contexts."""
    seen = set() if seen is None else seen
    if id(obj) in seen or depth > 40:
        return []
    seen.add(id(obj))
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, bytes):
        return [obj.decode("utf-8", "replace")]
    out: list[str] = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _reachable(k, seen, depth + 1) + _reachable(v, seen, depth + 1)
        return out
    if isinstance(obj, list | tuple | set | frozenset):
        for v in obj:
            out += _reachable(v, seen, depth + 1)
        return out
    if isinstance(obj, BaseException):
        out += [str(obj), repr(obj)]
        out += _reachable(obj.args, seen, depth + 1)
        out += _reachable(obj.__cause__, seen, depth + 1) + _reachable(obj.__context__, seen, depth + 1)
    if isinstance(obj, httpx.Request | httpx.Response):
        out += [repr(dict(obj.headers)), str(obj.url)]
    for value in getattr(obj, "__dict__", {}).values():
        out += _reachable(value, seen, depth + 1)
    for name in getattr(type(obj), "__slots__", ()):
        out += _reachable(getattr(obj, name, None), seen, depth + 1)
    return out


def _assert_clean(err: BaseException) -> None:
    leaks = [s for s in _reachable(err) if CANARY in s]
    assert not leaks, leaks[:3]


def _error_echo(request: httpx.Request) -> httpx.Response:
    message = f"Incorrect API key provided: {CANARY}"
    if request.url.path.endswith(
        "/v2/chat"
    ):  # cohere: {"id", "message"} (tests/fixtures/real/cohere/error_401.json)
        return httpx.Response(401, json={"id": "2d4609a6", "message": message})
    return httpx.Response(401, json={"error": {"message": message, "type": "invalid_request_error"}})


def _html_echo(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        502, headers={"content-type": "text/html"}, content=f"<html>{CANARY}</html>".encode()
    )


def _connect_error(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def _read_error(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("stalled", request=request)


def _stream_error_frame(request: httpx.Request) -> httpx.Response:
    """A failure inside a 200 stream, in each protocol's own form, its message echoing the key."""
    path = request.url.path
    message = f"bad key {CANARY}"
    frame = json.dumps({"error": {"message": message, "type": "server_error"}, "type": "error"})
    body = f"event: error\ndata: {frame}\n\n".encode()
    if path.endswith("/api/chat"):  # ollama: NDJSON
        body = json.dumps({"error": message}).encode() + b"\n"
    elif path.endswith("/v2/chat"):  # cohere: message-end with finish_reason ERROR and delta.error
        end = {"type": "message-end", "delta": {"finish_reason": "ERROR", "usage": {}, "error": message}}
        body = f"event: message-end\ndata: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode()
    elif path.endswith("/responses"):  # an error event, then response.failed with the error again
        error = {
            "type": "error",
            "sequence_number": 0,
            "code": "server_error",
            "message": message,
            "param": None,
        }
        failed = {"type": "response.failed", "sequence_number": 1,
                  "response": {"id": "resp_1", "object": "response", "status": "failed", "output": [],
                               "error": {"code": "server_error", "message": message}}}  # fmt: skip
        body = b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in (error, failed))
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)


FAULTS: dict[str, Callable[[httpx.Request], httpx.Response]] = {
    "error_echo": _error_echo,
    "html_echo": _html_echo,
    "connect_error": _connect_error,
    "read_timeout": _read_error,
    "stream_error_frame": _stream_error_frame,
}
SOURCES = ["api_key", "env", "extra_headers"]


def _kwargs(provider: str, source: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    if source == "api_key":
        return {"api_key": CANARY}
    if source == "env":
        monkeypatch.setenv(ENV[provider], CANARY)
        return {}
    return {
        "api_key": "sk-other",
        "extra_headers": {"Authorization": f"Bearer {CANARY}", "X-Api-Key": CANARY},
    }


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("provider", sorted(MODELS))
def test_no_exception_reaches_the_key(
    provider: str, fault: str, source: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    kwargs = _kwargs(provider, source, monkeypatch)
    stream = fault == "stream_error_frame"
    handler = FAULTS[fault]
    with (
        httpx.Client(transport=httpx.MockTransport(handler)) as client,
        pytest.raises(router.RouterError) as info,
    ):
        result = router.completion(
            MODELS[provider], MSGS, max_retries=0, stream=stream, http_client=client, **kwargs
        )
        list(result)  # type: ignore[arg-type]
    _assert_clean(info.value)

    async def handle(request: httpx.Request) -> httpx.Response:
        return handler(request)

    async def main() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as aclient:
            result = await router.acompletion(
                MODELS[provider], MSGS, max_retries=0, stream=stream, http_client=aclient, **kwargs
            )
            if stream:
                [c async for c in result]  # type: ignore[union-attr]

    with pytest.raises(router.RouterError) as ainfo:
        asyncio.run(main())
    _assert_clean(ainfo.value)
    logged = [r.getMessage() for r in caplog.records] + [repr(r.args) for r in caplog.records]
    assert not [m for m in logged if CANARY in m]


def test_router_key_from_env_var_never_leaks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_CANARY_KEY", CANARY)
    with httpx.Client(transport=httpx.MockTransport(_error_echo)) as client:
        r = router.Router(
            [router.Deployment("m", "openai/gpt-4o-mini", api_key_env="MY_CANARY_KEY")], http_client=client
        )
        with pytest.raises(router.APIError) as info:
            r.completion("m", MSGS, max_retries=0)
    _assert_clean(info.value)


def test_a_literal_key_where_an_env_var_name_belongs_is_not_echoed() -> None:
    r = router.Router([router.Deployment("m", "openai/gpt-4o-mini", api_key_env=CANARY)])
    with pytest.raises(router.ConfigError) as info:
        r.completion("m", MSGS)
    _assert_clean(info.value)
    assert "api_key_env" in str(info.value)


@pytest.mark.parametrize("bad", [CANARY + "\n", " " + CANARY, CANARY + "é", CANARY + "\x00"])
def test_keys_that_cannot_be_sent_are_refused_without_showing_them(
    bad: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(router.ConfigError) as info:
        router.completion("openai/gpt-4o-mini", MSGS, api_key=bad)
    _assert_clean(info.value)
    if "\x00" in bad:
        return  # no environment variable can hold a NUL
    monkeypatch.setenv("OPENAI_API_KEY", bad)
    with pytest.raises(router.ConfigError, match="OPENAI_API_KEY") as env_info:
        router.completion("openai/gpt-4o-mini", MSGS)
    _assert_clean(env_info.value)


def test_credential_headers_from_extra_headers_are_masked() -> None:
    from router._registry import adapter

    http = adapter("openai").build_request(
        {
            "model": "gpt-4o",
            "messages": MSGS,
            "extra_headers": {
                "Authorization": f"Bearer {CANARY}",
                "Cookie": f"s={CANARY}",
                "x-session-token": "t0k3n",
            },
        },
        api_key="sk-other",
    )
    shown = json.dumps(http.redacted()) + repr(http)
    assert CANARY not in shown and "t0k3n" not in shown and "sk-other" not in shown
    assert http.redacted()["headers"]["Authorization"] == "Bearer ****"


def test_a_literal_key_in_a_config_file_is_not_echoed(tmp_path: Any) -> None:
    path = tmp_path / "router.yaml"
    path.write_text(
        f"config_version: 1\nmodels:\n  - name: m\n    model: openai/gpt-4o-mini\n    api_key_env: {CANARY}\n"
    )
    with pytest.raises(router.ConfigError) as info:
        router.Router.from_config(path)
    _assert_clean(info.value)
    assert "api_key_env" in str(info.value) and ":5:" in str(info.value)
