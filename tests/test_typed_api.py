"""The typed API: completion()'s overloads and typed keywords (checked by mypy on a snippet), streams
as iterators read once, response_format=<model class>, LiteLLM's spellings and mock_response, and the
probes' body-less GET."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import typing
from typing import Any

import httpx
import openai.types.chat.completion_create_params as sdk_params
import pydantic
import pytest
from conftest import ROOT

import router
import router.fake
from router._params_types import AsyncCompletionParams
from router._params_types import CompletionParams
from router._structured import strict_schema
from router.protocols._params import OPENAI_PARAMS
from router.protocols._params import ROUTER_KWARGS

MSGS = [{"role": "user", "content": "Hi"}]
LITELLM = {"api_base", "num_retries", "drop_params", "mock_response"}
NAMED = {"model", "messages", "stream"}  # parameters of the signature itself, not of **kwargs


def _openai_answer(content: str | None = "Hi", **message: Any) -> dict[str, Any]:
    return {
        "id": "c",
        "object": "chat.completion",
        "created": 0,
        "model": "gpt-4o",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, **message},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


class Recorder:
    """A MockTransport handler that records each request and answers with ``answer``."""

    def __init__(self, answer: Any = None, status: int = 200) -> None:
        self.requests: list[httpx.Request] = []
        self.answer = _openai_answer() if answer is None else answer
        self.status = status

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if isinstance(self.answer, bytes):
            return httpx.Response(
                self.status, content=self.answer, headers={"content-type": "text/event-stream"}
            )
        return httpx.Response(self.status, json=self.answer)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self))

    def body(self, i: int = -1) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.requests[i].content)
        return data


# ----------------------------------------------------------------------------- the TypedDict


def test_completion_params_cover_every_accepted_name() -> None:
    assert CompletionParams.__required_keys__ == frozenset()  # total=False: every key optional
    want = (OPENAI_PARAMS - NAMED) | ROUTER_KWARGS | LITELLM | {"http_client"}
    assert set(CompletionParams.__optional_keys__) == want
    assert set(AsyncCompletionParams.__optional_keys__) == want


def test_completion_params_cover_the_openai_sdk_request() -> None:
    sdk = set(sdk_params.CompletionCreateParamsBase.__annotations__) - NAMED
    assert sdk <= set(CompletionParams.__optional_keys__)


def test_http_client_types_differ_sync_and_async() -> None:
    import types

    import httpx2

    # router._httpx's aliases exist for type checkers only: either library's client is accepted.
    aliases = types.SimpleNamespace(
        Client=httpx2.Client | httpx.Client,
        AsyncClient=httpx2.AsyncClient | httpx.AsyncClient,
        Timeout=httpx2.Timeout | httpx.Timeout,
    )
    names = {"_h": aliases}
    sync = typing.get_type_hints(CompletionParams, localns=names)["http_client"]
    asyn = typing.get_type_hints(AsyncCompletionParams, localns=names)["http_client"]
    assert {httpx.Client, httpx2.Client} <= set(typing.get_args(sync))
    assert {httpx.AsyncClient, httpx2.AsyncClient} <= set(typing.get_args(asyn))
    assert not {httpx.AsyncClient, httpx2.AsyncClient} & set(typing.get_args(sync))


# ----------------------------------------------------------------------------- what mypy sees

TYPED = """
from __future__ import annotations

from typing import Any, assert_type

import httpx
import pydantic

import router


class Answer(pydantic.BaseModel):
    x: int


msgs = [{"role": "user", "content": "Hi"}]
flag: bool = bool(len(msgs))

assert_type(router.completion("fake/echo", msgs), router.ChatCompletion)
assert_type(router.completion(model="fake/echo", messages=msgs, stream=False), router.ChatCompletion)
assert_type(router.completion("fake/echo", msgs, stream=True), router.Stream)
assert_type(router.completion("fake/echo", msgs, stream=flag), router.ChatCompletion | router.Stream)
assert_type(
    router.completion(
        "fake/echo",
        msgs,
        temperature=0.2,
        max_tokens=10,
        stop=["x"],
        tools=[{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        tool_choice="auto",
        response_format=Answer,
        reasoning_effort="low",
        timeout=httpx.Timeout(5.0),
        extra_body={"a": 1},
        api_base="http://x",
        num_retries=1,
        drop_params=True,
        mock_response="hi",
        http_client=httpx.Client(),
    ),
    router.ChatCompletion,
)
assert_type(router.completion("fake/echo", msgs, mock_response=ValueError("x")), router.ChatCompletion)
stream = router.completion("fake/echo", msgs, stream=True)
assert_type(next(stream), router.ChatCompletionChunk)
assert_type(stream.get_final_completion(), router.ChatCompletion)
for chunk in stream:
    assert_type(chunk, router.ChatCompletionChunk)

params: router.CompletionParams = {"temperature": 0.5, "max_tokens": 3}
assert_type(router.completion("fake/echo", msgs, **params), router.ChatCompletion)
assert_type(router.completion("fake/echo", msgs, stream=True, **params), router.Stream)
anys: list[dict[str, Any]] = [{"role": "user", "content": "Hi"}]
assert_type(router.completion("fake/echo", anys, tools=anys, stream=True), router.Stream)


async def main() -> None:
    assert_type(await router.acompletion("fake/echo", msgs), router.ChatCompletion)
    s = await router.acompletion("fake/echo", msgs, stream=True)
    assert_type(s, router.AsyncStream)
    assert_type(await anext(s), router.ChatCompletionChunk)
    async for c in s:
        assert_type(c, router.ChatCompletionChunk)
    assert_type(await s.get_final_completion(), router.ChatCompletion)
    await router.acompletion("fake/echo", msgs, http_client=httpx.AsyncClient())
    aclient = router.AsyncOpenAI()
    assert_type(await aclient.chat.completions.create(model="m", messages=msgs), router.ChatCompletion)
    assert_type(
        await aclient.chat.completions.create(model="m", messages=msgs, stream=True), router.AsyncStream
    )


r = router.Router()
assert_type(r.completion("fake/echo", msgs), router.ChatCompletion)
assert_type(r.completion("fake/echo", msgs, stream=True), router.RouterStream)

client = router.OpenAI(api_key="k", base_url="http://x/v1", timeout=10, max_retries=1)
assert_type(client.chat.completions.create(model="gpt-4o", messages=msgs), router.ChatCompletion)
assert_type(client.chat.completions.create(model="gpt-4o", messages=msgs, stream=True), router.Stream)
assert_type(client.chat.completions.parse(model="gpt-4o", messages=msgs, response_format=Answer), router.ChatCompletion)
for m in client.models.list():
    assert_type(m.id, str)
    assert_type(m.owned_by, str)
with router.OpenAI() as c2:
    c2.close()
"""

# Each line must be a mypy error, naming what is in the comment.
WRONG = """
import httpx

import router

msgs = [{"role": "user", "content": "Hi"}]
router.completion("fake/echo", msgs, temprature=0.2)  # temprature
router.completion("fake/echo", msgs, temperature="hot")  # temperature
router.completion("fake/echo", msgs, tool_choice="sometimes")  # tool_choice
router.completion("fake/echo", msgs, reasoning_effort="extreme")  # reasoning_effort
router.completion("fake/echo", msgs, mock_response=3)  # mock_response
router.completion("fake/echo", msgs, http_client=httpx.AsyncClient())  # http_client
router.completion("fake/echo", msgs, response_format=dict)  # response_format
router.completion("fake/echo", msgs, stream=True).choices  # choices
router.completion("fake/echo", msgs).close()  # close
router.OpenAI().chat.completions.create(model="m", messages=msgs, num_retrys=2)  # num_retrys
router.Router().completion("x", msgs, api_bse="http://x")  # api_bse
"""


@pytest.fixture(scope="module")
def mypy_output(tmp_path_factory: pytest.TempPathFactory) -> str:
    where = tmp_path_factory.mktemp("typed_api")
    (where / "typed_ok.py").write_text(TYPED, encoding="utf-8")
    (where / "typed_wrong.py").write_text(WRONG, encoding="utf-8")
    r = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "mypy"),
            "--strict",
            "--python-version",
            "3.11",
            "--no-error-summary",
            "--cache-dir",
            str(ROOT / ".mypy_cache" / "typed_api"),
            "typed_ok.py",
            "typed_wrong.py",
        ],
        cwd=where,
        env={**os.environ, "MYPYPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode in (0, 1), r.stdout + r.stderr
    return r.stdout


def test_overloads_and_typed_keywords_pass_mypy_strict(mypy_output: str) -> None:
    errors = [line for line in mypy_output.splitlines() if line.startswith("typed_ok.py")]
    assert errors == [], "\n".join(errors)


@pytest.mark.parametrize(
    "lineno",
    [i for i, line in enumerate(WRONG.splitlines(), 1) if "  # " in line and line.startswith("router")],
)
def test_wrong_call_is_a_mypy_error(mypy_output: str, lineno: int) -> None:
    line = WRONG.splitlines()[lineno - 1]
    errors = [e for e in mypy_output.splitlines() if e.startswith(f"typed_wrong.py:{lineno}: error")]
    assert errors, f"mypy accepted: {line}\n{mypy_output}"
    named = line.rpartition("# ")[2]
    assert any(named in e for e in mypy_output.splitlines() if e.startswith(f"typed_wrong.py:{lineno}:")), (
        errors
    )


# ----------------------------------------------------------------------------- runtime checks unchanged


def test_unknown_keyword_still_raises_at_run_time() -> None:
    bad: dict[str, Any] = {"temprature": 0.2}
    with pytest.raises(router.UnsupportedParamsError) as e:
        router.completion("fake/echo", MSGS, **bad)
    assert e.value.param == "temprature"
    assert "temperature" in str(e.value)


def test_messages_may_be_a_tuple() -> None:
    resp = router.completion("fake/echo", ({"role": "user", "content": "tuple"},))
    assert resp.choices[0].message.content == "tuple"


def test_stream_none_is_not_given() -> None:
    rec = Recorder()
    with rec.client() as c:
        router.completion("openai/gpt-4o", MSGS, stream=None, api_key="k", http_client=c)
    assert "stream" not in rec.body()


# ----------------------------------------------------------------------------- streams


def test_stream_is_an_iterator_read_once() -> None:
    stream = router.completion("fake/lorem", MSGS, stream=True, max_tokens=3)
    assert iter(stream) is stream
    first = next(stream)
    assert first.choices[0].delta.role == "assistant"
    rest = list(stream)
    assert rest, "the rest of the stream"
    with pytest.raises(StopIteration):
        next(stream)  # an ended iterator stays ended
    with pytest.raises(router.StreamConsumedError) as e:
        for _ in stream:
            pass
    assert "already read" in str(e.value)
    assert e.value.provider == "fake"
    with pytest.raises(router.StreamConsumedError):
        router.accumulate(stream)


def test_stream_broken_off_continues_where_it_stopped() -> None:
    stream = router.completion("fake/lorem", MSGS, stream=True, max_tokens=4)
    seen = []
    for chunk in stream:
        seen.append(chunk)
        if len(seen) == 2:
            break
    seen.extend(stream)
    text = "".join(c.choices[0].delta.content or "" for c in seen if c.choices)
    assert text == "Lorem ipsum dolor sit"


def test_stream_closed_before_reading_is_consumed() -> None:
    stream = router.completion("fake/echo", MSGS, stream=True)
    stream.close()
    with pytest.raises(router.StreamConsumedError):
        next(stream)
    with pytest.raises(router.StreamConsumedError):
        list(stream)


def test_stream_closed_half_read_releases_the_response() -> None:
    stream = router.completion("fake/lorem", MSGS, stream=True)
    next(stream)
    stream.close()
    assert stream.response.is_closed
    with pytest.raises(router.StreamConsumedError):
        list(stream)


def test_stream_with_statement_and_accumulate() -> None:
    with router.completion("fake/echo", MSGS, stream=True) as stream:
        whole = router.accumulate(stream)
    assert whole.choices[0].message.content == "Hi"
    assert whole.router is stream.receipt


def test_get_final_completion_reads_the_rest() -> None:
    stream = router.completion("fake/lorem", MSGS, stream=True, max_tokens=3)
    next(stream)
    final = stream.get_final_completion()
    assert final.choices[0].message.content == "Lorem ipsum dolor"
    assert final.choices[0].finish_reason == "length"
    assert final.router is stream.receipt
    assert stream.get_final_completion().choices[0].message.content == "Lorem ipsum dolor"


def test_stream_error_ends_the_stream() -> None:
    body = b'data: {"id":"c","object":"chat.completion.chunk","created":0,"model":"m","choices":[{"index":0,"delta":{"content":"a"}}]}\n\n'
    rec = Recorder(body)  # cut off: no finish reason, no [DONE]
    with rec.client() as c:
        stream = router.completion("openai/gpt-4o", MSGS, stream=True, api_key="k", http_client=c)
        with pytest.raises(router.APIConnectionError):
            list(stream)
        with pytest.raises(router.StreamConsumedError):
            list(stream)


def test_async_stream_anext_and_read_once() -> None:
    async def main() -> None:
        stream = await router.acompletion("fake/lorem", MSGS, stream=True, max_tokens=2)
        assert stream.__aiter__() is stream
        first = await anext(stream)
        assert first.choices[0].delta.role == "assistant"
        rest = [c async for c in stream]
        assert "".join(c.choices[0].delta.content or "" for c in rest if c.choices) == "Lorem ipsum"
        with pytest.raises(StopAsyncIteration):
            await anext(stream)
        with pytest.raises(router.StreamConsumedError):
            async for _ in stream:
                pass
        assert (await stream.get_final_completion()).choices[0].message.content == "Lorem ipsum"
        closed = await router.acompletion("fake/echo", MSGS, stream=True)
        await closed.aclose()
        with pytest.raises(router.StreamConsumedError):
            await anext(closed)
        async with await router.acompletion("fake/echo", MSGS, stream=True) as s:
            assert (await s.get_final_completion()).choices[0].message.content == "Hi"

    asyncio.run(main())


# ----------------------------------------------------------------------------- structured output


class Item(pydantic.BaseModel):
    name: str
    qty: int = 1


class Order(pydantic.BaseModel):
    """An order."""

    id: str
    items: list[Item]
    note: str | None = None
    main: Item = pydantic.Field(description="the main item")


class Duck:
    """Not pydantic: anything with the two class methods works."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    @classmethod
    def model_json_schema(cls) -> dict[str, Any]:
        return {"type": "object", "properties": {"a": {"type": "integer"}}}

    @classmethod
    def model_validate_json(cls, text: str) -> Duck:
        return cls(json.loads(text))


@pytest.mark.parametrize("model", [Item, Order])
def test_strict_schema_is_the_openai_sdks(model: type[pydantic.BaseModel]) -> None:
    from openai.lib._pydantic import to_strict_json_schema

    assert strict_schema(model.model_json_schema()) == to_strict_json_schema(model)


def test_response_format_model_is_sent_as_strict_json_schema_and_parsed() -> None:
    from openai.lib._parsing._completions import type_to_response_format_param

    order = {
        "id": "o1",
        "items": [{"name": "tea", "qty": 2}],
        "note": None,
        "main": {"name": "tea", "qty": 2},
    }
    rec = Recorder(_openai_answer(json.dumps(order)))
    with rec.client() as c:
        resp = router.completion("openai/gpt-4o", MSGS, response_format=Order, api_key="k", http_client=c)
    assert rec.body()["response_format"] == type_to_response_format_param(Order)
    assert rec.body()["response_format"]["json_schema"]["strict"] is True
    parsed = resp.choices[0].message.parsed
    assert isinstance(parsed, Order)
    assert parsed.items[0].qty == 2
    assert resp.choices[0].message.content == json.dumps(order)
    dumped = resp.to_dict()["choices"][0]["message"]
    assert dumped["parsed"] == order
    json.dumps(resp.model_dump())


def test_response_format_model_refusal_parses_to_none() -> None:
    rec = Recorder(_openai_answer(None, refusal="no"))
    with rec.client() as c:
        resp = router.completion("openai/gpt-4o", MSGS, response_format=Item, api_key="k", http_client=c)
    assert resp.choices[0].message.parsed is None
    assert resp.choices[0].message.refusal == "no"


def test_response_format_model_invalid_answer_raises_the_models_error() -> None:
    rec = Recorder(_openai_answer('{"name": 3}'))
    with rec.client() as c, pytest.raises(pydantic.ValidationError):
        router.completion("openai/gpt-4o", MSGS, response_format=Item, api_key="k", http_client=c)


def test_response_format_object_is_left_as_it_is() -> None:
    rec = Recorder()
    fmt = {"type": "json_object"}
    with rec.client() as c:
        resp = router.completion("openai/gpt-4o", MSGS, response_format=fmt, api_key="k", http_client=c)
    assert rec.body()["response_format"] == fmt
    assert not hasattr(resp.choices[0].message, "parsed") or resp.choices[0].message.parsed is None


def test_response_format_model_streamed_and_mocked() -> None:
    router.fake.script("typed-json", '{"name": "x", "qty": 5}')
    try:
        stream = router.completion("fake/typed-json", MSGS, response_format=Item, stream=True)
        assert stream.response_format is Item
        chunks = list(stream)
        assert chunks
        final = stream.get_final_completion().choices[0].message
        assert final.parsed == Item(name="x", qty=5)
    finally:
        router.fake.reset()
    mocked = router.completion("openai/gpt-4o", MSGS, response_format=Item, mock_response='{"name": "m"}')
    assert mocked.choices[0].message.parsed == Item(name="m")


def test_response_format_duck_typed_class_and_no_pydantic_import() -> None:
    resp = router.completion("openai/gpt-4o", MSGS, response_format=Duck, mock_response='{"a": 1}')
    parsed = resp.choices[0].message.parsed
    assert isinstance(parsed, Duck) and parsed.data == {"a": 1}
    code = (
        "import sys, router\n"
        "class D:\n"
        "    @classmethod\n"
        "    def model_json_schema(cls): return {'type': 'object', 'properties': {}}\n"
        "    @classmethod\n"
        "    def model_validate_json(cls, t): return t\n"
        "r = router.completion('fake/echo', [{'role': 'user', 'content': '{}'}], response_format=D)\n"
        "assert r.choices[0].message.parsed == '{}', r\n"
        "assert 'pydantic' not in sys.modules, 'router imported pydantic'\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True)


def test_router_never_imports_pydantic() -> None:
    for path in (ROOT / "router").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "import pydantic" not in text and "from pydantic" not in text, path


# ----------------------------------------------------------------------------- LiteLLM's spellings


def test_api_base_is_base_url() -> None:
    rec = Recorder()
    with rec.client() as c:
        router.completion("openai/gpt-4o", MSGS, api_base="http://proxy.test/v1", api_key="k", http_client=c)
        router.completion(
            "openai/gpt-4o",
            MSGS,
            api_base="http://same.test/v1",
            base_url="http://same.test/v1",
            api_key="k",
            http_client=c,
        )
    assert str(rec.requests[0].url) == "http://proxy.test/v1/chat/completions"
    assert str(rec.requests[1].url) == "http://same.test/v1/chat/completions"


def test_num_retries_is_max_retries() -> None:
    rec = Recorder({"error": {"message": "down"}}, status=500)
    with rec.client() as c, pytest.raises(router.InternalServerError):
        router.completion("openai/gpt-4o", MSGS, num_retries=0, api_key="k", http_client=c)
    assert len(rec.requests) == 1


@pytest.mark.parametrize(
    ("given", "param"),
    [
        ({"api_base": "http://a", "base_url": "http://b"}, "api_base"),
        ({"num_retries": 1, "max_retries": 3}, "num_retries"),
        ({"drop_params": True, "strict": True}, "drop_params"),
        ({"drop_params": False, "strict": False}, "drop_params"),
    ],
)
def test_both_spellings_with_different_values_are_a_bad_request(given: dict[str, Any], param: str) -> None:
    with pytest.raises(router.BadRequestError) as e:
        router.completion("fake/echo", MSGS, **given)
    assert e.value.param == param
    assert param in str(e.value)


def test_drop_params() -> None:
    dropped = router.completion(
        "anthropic/claude-sonnet-4-5", MSGS, frequency_penalty=0.5, drop_params=True, mock_response="x"
    )
    assert dropped.router is not None and dropped.router.dropped == ["frequency_penalty"]
    with pytest.raises(router.UnsupportedParamsError):
        router.completion(
            "anthropic/claude-sonnet-4-5", MSGS, frequency_penalty=0.5, drop_params=False, mock_response="x"
        )
    with pytest.raises(router.UnsupportedParamsError):  # the same as strict=True
        router.completion(
            "anthropic/claude-sonnet-4-5", MSGS, frequency_penalty=0.5, strict=True, mock_response="x"
        )
    consistent = router.completion("fake/echo", MSGS, drop_params=False, strict=True)
    assert consistent.choices[0].message.content == "Hi"
    with pytest.raises(router.BadRequestError) as e:
        router.completion("fake/echo", MSGS, drop_params="yes")
    assert e.value.param == "drop_params"


def test_mock_response_needs_no_key_and_no_network() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"a mocked call was sent: {request.url}")

    with httpx.Client(transport=httpx.MockTransport(refuse)) as c:
        resp = router.completion(
            "anthropic/claude-sonnet-4-5", MSGS, mock_response="Hello there", http_client=c
        )
        stream = router.completion(
            "gemini/gemini-2.5-flash",
            MSGS,
            mock_response="a b c",
            stream=True,
            stream_options={"include_usage": True},
            http_client=c,
        )
        chunks = list(stream)
    assert resp.choices[0].message.content == "Hello there"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.model == "claude-sonnet-4-5"
    assert resp.router is not None and resp.router.provider == "anthropic"
    assert (
        resp.usage is not None
        and resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "a b c"
    assert chunks[-1].usage is not None and chunks[-1].choices == []
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert stream.get_final_completion().choices[0].message.content == "a b c"
    with pytest.raises(router.StreamConsumedError):
        list(stream)


def test_mock_response_answers_validate_against_the_openai_sdk() -> None:
    from openai.types.chat import ChatCompletion as SDKCompletion
    from openai.types.chat import ChatCompletionChunk as SDKChunk

    SDKCompletion.model_validate(router.completion("openai/gpt-4o", MSGS, mock_response="x").to_dict())
    for chunk in router.completion("openai/gpt-4o", MSGS, mock_response="x y", stream=True):
        SDKChunk.model_validate(chunk.to_dict())


def test_mock_response_still_checks_the_request() -> None:
    with pytest.raises(router.BadRequestError) as e:
        router.completion("openai/gpt-4o", MSGS, temperature=5, mock_response="x")
    assert e.value.param == "temperature"
    with pytest.raises(router.ConfigError):
        router.completion("nosuchprovider/m", MSGS, mock_response="x")
    with pytest.raises(router.BadRequestError) as e2:
        router.completion("openai/gpt-4o", MSGS, mock_response=3)
    assert e2.value.param == "mock_response"


def test_mock_response_exception_is_raised() -> None:
    err = router.RateLimitError("slow down", status=429)
    with pytest.raises(router.RateLimitError) as e:
        router.completion("openai/gpt-4o", MSGS, mock_response=err)
    assert e.value is err

    async def main() -> None:
        with pytest.raises(ValueError, match="boom"):
            await router.acompletion("openai/gpt-4o", MSGS, mock_response=ValueError("boom"))
        resp = await router.acompletion("openai/gpt-4o", MSGS, mock_response="async")
        assert resp.choices[0].message.content == "async"
        stream = await router.acompletion("openai/gpt-4o", MSGS, mock_response="async stream", stream=True)
        assert (
            "".join([c.choices[0].delta.content or "" async for c in stream if c.choices]) == "async stream"
        )

    asyncio.run(main())


def test_router_call_spellings_win_over_the_deployment() -> None:
    rec = Recorder()
    dep = router.Deployment("smart", "openai/gpt-4o", base_url="http://deployment.test/v1")
    with rec.client() as c:
        r = router.Router([dep], http_client=c, strict=True)
        r.completion("smart", MSGS, api_key="k")
        r.completion("smart", MSGS, api_key="k", api_base="http://call.test/v1")
        resp = r.completion("smart", MSGS, api_key="k", frequency_penalty=0.1, drop_params=True)
    assert str(rec.requests[0].url).startswith("http://deployment.test/v1")
    assert str(rec.requests[1].url).startswith("http://call.test/v1")
    assert resp.choices[0].message.content == "Hi"
    with rec.client() as c:
        stream = router.Router([dep], http_client=c).completion("smart", MSGS, mock_response="m", stream=True)
        assert isinstance(stream, router.RouterStream)
        assert stream.get_final_completion().choices[0].message.content == "m"


# ----------------------------------------------------------------------------- probes: a GET with no body


def _assert_bodyless_get(request: httpx.Request) -> None:
    assert request.method == "GET"
    assert request.content == b""
    assert "content-length" not in request.headers
    assert "content-type" not in request.headers


def test_list_models_and_health_send_a_get_without_a_body() -> None:
    rec = Recorder({"object": "list", "data": [{"id": "gpt-4o"}, {"id": "o3"}]})
    with rec.client() as c:
        assert router.list_models("openai", api_key="sk-t", http_client=c) == ["gpt-4o", "o3"]
        health = router.health("openai", api_key="sk-t", http_client=c)
    assert health.status == "ok"
    assert len(rec.requests) == 2
    for request in rec.requests:
        _assert_bodyless_get(request)
        assert str(request.url) == "https://api.openai.com/v1/models"
        assert request.headers["authorization"] == "Bearer sk-t"


def test_list_models_errors_are_typed_and_scrubbed() -> None:
    rec = Recorder({"error": {"message": "bad key sk-secret-1", "type": "invalid_request_error"}}, status=401)
    with rec.client() as c:
        with pytest.raises(router.AuthenticationError) as e:
            router.list_models("openai", api_key="sk-secret-1", http_client=c)
        assert "sk-secret-1" not in str(e.value) and "sk-secret-1" not in repr(e.value.body)
        assert router.health("openai", api_key="sk-secret-1", http_client=c).status == "auth_failed"

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    with httpx.Client(transport=httpx.MockTransport(down)) as c:
        assert router.health("openai", api_key="k", http_client=c).status == "down"


def test_async_list_models_sends_a_get_without_a_body() -> None:
    from router._probe import alist_models

    rec = Recorder({"object": "list", "data": [{"id": "m1"}]})

    async def main() -> list[str]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(rec)) as c:
            return await alist_models("openai", api_key="k", http_client=c)

    assert asyncio.run(main()) == ["m1"]
    _assert_bodyless_get(rec.requests[0])
