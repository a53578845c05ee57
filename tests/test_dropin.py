"""router.OpenAI / router.AsyncOpenAI: code written against the openai SDK, routed through every
provider (client.chat.completions.create, parse, models.list/retrieve, with-blocks and close())."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any

import httpx
import pydantic
import pytest
from conftest import ROOT
from openai.types import Model as SDKModel
from openai.types.chat import ChatCompletion as SDKCompletion
from openai.types.chat import ChatCompletionChunk as SDKChunk

import router
import router.fake

MSGS = [{"role": "user", "content": "Hi"}]

ANTHROPIC_ANSWER = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5",
    "content": [{"type": "text", "text": "Hello from Claude"}],
    "stop_reason": "end_turn",
    "usage": {"input_tokens": 3, "output_tokens": 4},
}


def openai_answer(content: str = "Hi", model: str = "gpt-4o") -> dict[str, Any]:
    return {
        "id": "c",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
    }


class Server:
    """A MockTransport handler: records requests, answers chat calls and GET /models."""

    def __init__(self, chat: dict[str, Any] | None = None, models: tuple[str, ...] | list[str] = ()) -> None:
        self.requests: list[httpx.Request] = []
        self.chat = chat
        self.models = list(models)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.method == "GET" and request.url.path.endswith("/models"):
            return httpx.Response(
                200, json={"object": "list", "data": [{"id": m, "object": "model"} for m in self.models]}
            )
        if self.chat is not None:
            return httpx.Response(200, json=self.chat)
        body = json.loads(request.content)
        return httpx.Response(200, json=openai_answer(f"echo {body['model']}", body["model"]))


def test_create_on_the_fake_provider() -> None:
    client = router.OpenAI()
    resp = client.chat.completions.create(model="fake/echo", messages=MSGS)
    assert resp.choices[0].message.content == "Hi"
    SDKCompletion.model_validate(resp.to_dict())
    stream = client.chat.completions.create(model="fake/lorem", messages=MSGS, stream=True, max_tokens=2)
    assert isinstance(stream, router.Stream)
    chunks = list(stream)
    for chunk in chunks:
        SDKChunk.model_validate(chunk.to_dict())
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Lorem ipsum"
    client.close()


def test_an_anthropic_model_just_works() -> None:
    server = Server(ANTHROPIC_ANSWER)
    with httpx.Client(transport=httpx.MockTransport(server)) as http:
        client = router.OpenAI(api_key="sk-ant-test", http_client=http)
        resp = client.chat.completions.create(
            model="anthropic/claude-sonnet-4-5", messages=MSGS, max_tokens=100, temperature=0.1
        )
    request = server.requests[0]
    assert str(request.url) == "https://api.anthropic.com/v1/messages"
    assert request.headers["x-api-key"] == "sk-ant-test"
    assert json.loads(request.content)["model"] == "claude-sonnet-4-5"
    assert resp.choices[0].message.content == "Hello from Claude"
    assert resp.object == "chat.completion"
    assert resp.usage is not None and resp.usage.total_tokens == 7
    SDKCompletion.model_validate(resp.to_dict())


def test_client_settings_are_defaults_a_call_overrides() -> None:
    server = Server()
    with httpx.Client(transport=httpx.MockTransport(server)) as http:
        client = router.OpenAI(
            api_key="sk-client",
            organization="org-1",
            project="proj-1",
            max_retries=0,
            timeout=30,
            default_headers={"X-App": "demo", "X-Both": "client"},
            default_query={"tenant": "t1"},
            http_client=http,
        )
        client.chat.completions.create(model="openai/gpt-4o", messages=MSGS, extra_headers={"X-Both": "call"})
        client.chat.completions.create(model="openai/gpt-4o", messages=MSGS, api_key="sk-call")
        client.chat.completions.create(model="groq/llama-3.1-8b-instant", messages=MSGS)
    first, second, groq = server.requests
    assert first.headers["authorization"] == "Bearer sk-client"
    assert first.headers["x-app"] == "demo" and first.headers["x-both"] == "call"
    assert first.headers["openai-organization"] == "org-1" and first.headers["openai-project"] == "proj-1"
    assert first.url.params["tenant"] == "t1"
    assert second.headers["authorization"] == "Bearer sk-call"
    assert "openai-organization" not in groq.headers  # OpenAI's account headers go to OpenAI only
    assert groq.headers["x-app"] == "demo"
    assert client.api_key == "sk-client" and client.max_retries == 0 and client.timeout == 30


def test_base_url_sends_unknown_models_to_that_openai_compatible_server() -> None:
    server = Server(models=["llama3", "qwen"])
    with httpx.Client(transport=httpx.MockTransport(server)) as http:
        client = router.OpenAI(base_url="http://localhost:8000/v1", api_key="local", http_client=http)
        resp = client.chat.completions.create(model="llama3", messages=MSGS)
        page = client.models.list()
    assert str(server.requests[0].url) == "http://localhost:8000/v1/chat/completions"
    assert json.loads(server.requests[0].content)["model"] == "llama3"
    assert server.requests[0].headers["authorization"] == "Bearer local"
    assert resp.choices[0].message.content == "echo llama3"
    assert [m.id for m in page] == ["llama3", "qwen"]
    models_request = server.requests[1]
    assert models_request.method == "GET" and str(models_request.url) == "http://localhost:8000/v1/models"
    assert models_request.content == b"" and "content-length" not in models_request.headers


def test_litellm_spellings_on_create() -> None:
    server = Server()
    with httpx.Client(transport=httpx.MockTransport(server)) as http:
        client = router.OpenAI(base_url="http://client.test/v1", api_key="k", http_client=http)
        client.chat.completions.create(model="openai/gpt-4o", messages=MSGS, api_base="http://call.test/v1")
        mocked = client.chat.completions.create(model="openai/gpt-4o", messages=MSGS, mock_response="canned")
    assert str(server.requests[0].url) == "http://call.test/v1/chat/completions"
    assert len(server.requests) == 1  # the mocked call sent nothing
    assert mocked.choices[0].message.content == "canned"


def test_models_list_is_a_page_of_the_catalogue() -> None:
    client = router.OpenAI()
    page = client.models.list()
    assert page.object == "list"
    assert page.data and len(page) == len(page.data)
    assert list(page) == page.data and page[0] is page.data[0]
    assert not page.has_next_page()
    ids = [m.id for m in page]
    assert "fake/echo" in ids and len(ids) == len(set(ids))
    for m in page:
        assert m.object == "model"
        assert m.id.startswith(m.owned_by + "/")
        SDKModel.model_validate(m.to_dict())
    enabled = {p.id for p in router.providers() if p.enabled}
    assert {m.owned_by for m in page} <= enabled
    assert client.models.retrieve("gpt-4o").id == "openai/gpt-4o"
    with pytest.raises(router.NotFoundError) as e:
        client.models.retrieve("no-such-model-anywhere")
    assert e.value.param == "model"


def test_with_block_closes_the_clients_own_pool_and_leaves_a_given_one_open() -> None:
    with router.OpenAI() as client:
        client.chat.completions.create(model="fake/echo", messages=MSGS)
        own = client._own
        assert own is not None and not own.is_closed
    assert own.is_closed and client.is_closed
    with pytest.raises(router.APIConnectionError):
        client.chat.completions.create(model="fake/echo", messages=MSGS)
    with pytest.raises(router.APIConnectionError):
        client.models.list()

    given = httpx.Client(mounts={"fake://": router.fake.FakeTransport()})
    with router.OpenAI(http_client=given) as client2:
        client2.chat.completions.create(model="fake/echo", messages=MSGS)
        assert client2._own is None
    assert not given.is_closed
    given.close()


def test_a_client_never_used_closes_cleanly() -> None:
    client = router.OpenAI()
    client.close()
    assert client.is_closed


class Answer(pydantic.BaseModel):
    city: str
    temperature: float


def test_parse_puts_the_model_on_message_parsed() -> None:
    server = Server(openai_answer('{"city": "Oslo", "temperature": -3.5}'))
    with httpx.Client(transport=httpx.MockTransport(server)) as http:
        client = router.OpenAI(api_key="k", http_client=http)
        resp = client.chat.completions.parse(model="gpt-4o", messages=MSGS, response_format=Answer)
        beta = client.beta.chat.completions.parse(model="gpt-4o", messages=MSGS, response_format=Answer)
    body = json.loads(server.requests[0].content)
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["name"] == "Answer"
    assert body["response_format"]["json_schema"]["schema"]["additionalProperties"] is False
    assert "stream" not in body or body["stream"] is False
    for r in (resp, beta):
        parsed = r.choices[0].message.parsed
        assert parsed == Answer(city="Oslo", temperature=-3.5)


def test_async_client() -> None:
    async def main() -> None:
        async with router.AsyncOpenAI(max_retries=1) as client:
            resp = await client.chat.completions.create(model="fake/echo", messages=MSGS)
            assert resp.choices[0].message.content == "Hi"
            stream = await client.chat.completions.create(model="fake/echo", messages=MSGS, stream=True)
            assert isinstance(stream, router.AsyncStream)
            first = await anext(stream)
            assert first.choices[0].delta.role == "assistant"
            rest = [c async for c in stream]
            assert "".join(c.choices[0].delta.content or "" for c in rest if c.choices) == "Hi"
            page = await client.models.list()
            assert "fake/echo" in [m.id for m in page]
            assert [m.id async for m in client.models.list()] == [m.id for m in page]
            assert (await client.models.retrieve("fake/echo")).owned_by == "fake"
            parsed = await client.chat.completions.parse(
                model="fake/echo",
                messages=[{"role": "user", "content": '{"city": "Rome", "temperature": 30}'}],
                response_format=Answer,
            )
            assert parsed.choices[0].message.parsed == Answer(city="Rome", temperature=30)
            own = client._own
        assert own is not None and own.is_closed
        with pytest.raises(router.APIConnectionError):
            await client.chat.completions.create(model="fake/echo", messages=MSGS)

    asyncio.run(main())


def test_async_client_with_base_url_lists_the_servers_models() -> None:
    server = Server(models=["m1"])

    async def main() -> list[str]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(server)) as http:
            client = router.AsyncOpenAI(base_url="http://srv.test/v1", http_client=http)
            resp = await client.chat.completions.create(model="some-local-model", messages=MSGS)
            assert resp.choices[0].message.content == "echo some-local-model"
            await client.close()
            assert not http.is_closed
            client2 = router.AsyncOpenAI(base_url="http://srv.test/v1", http_client=http)
            return [m.id for m in await client2.models.list()]

    assert asyncio.run(main()) == ["m1"]
    assert server.requests[-1].method == "GET" and server.requests[-1].content == b""


def test_openai_sdk_code_runs_with_the_import_swapped() -> None:
    """A program written for the openai SDK, with `from openai import OpenAI` replaced."""
    program = """
from router import OpenAI

client = OpenAI()
completion = client.chat.completions.create(
    model="fake/echo",
    messages=[
        {"role": "developer", "content": "Talk like a pirate."},
        {"role": "user", "content": "How do I check if a Python object is an instance of a class?"},
    ],
)
print(completion.choices[0].message.content)
stream = client.chat.completions.create(
    model="fake/lorem", messages=[{"role": "user", "content": "Say this is a test"}], stream=True, max_tokens=3
)
for chunk in stream:
    if chunk.choices:
        print(chunk.choices[0].delta.content or "", end="")
print()
print(sorted(m.id for m in client.models.list())[:1])
"""
    r = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, check=True)
    lines = r.stdout.splitlines()
    assert lines[0] == "How do I check if a Python object is an instance of a class?"
    assert lines[1] == "Lorem ipsum dolor"
    assert lines[2].startswith("['")


def test_import_router_does_not_load_the_client_module() -> None:
    code = "import sys, router; assert 'router._openai_client' not in sys.modules; router.OpenAI; assert 'router._openai_client' in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True)
