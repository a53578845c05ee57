"""The typed call: what a type checker knows about router.completion, and the iterator streams.

Runs with no key and no network (the built-in ``fake`` provider, and LiteLLM's ``mock_response``):
    .venv/bin/python examples/typed_calls.py
and passes ``mypy --strict`` (tests/test_readme_types.py checks every example).
"""

from __future__ import annotations

import asyncio

import router

messages = [{"role": "user", "content": "Hello there"}]

# No stream=True: a ChatCompletion. mypy knows it, so no isinstance() is needed.
resp: router.ChatCompletion = router.completion(model="fake/echo", messages=messages, temperature=0.2)
print("answer:", resp.choices[0].message.content)

# stream=True: a Stream, an iterator of ChatCompletionChunk (next() works).
stream: router.Stream = router.completion(model="fake/lorem", messages=messages, stream=True, max_tokens=5)
first = next(stream)
print("first chunk's role:", first.choices[0].delta.role)
rest = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
print("the rest:", rest)
try:
    for _ in stream:  # a stream is read once
        pass
except router.StreamConsumedError as err:
    print("read again:", type(err).__name__)
print("whole answer:", stream.get_final_completion().choices[0].message.content)

# LiteLLM's spellings: api_base (= base_url), num_retries (= max_retries), drop_params, mock_response.
mocked = router.completion(
    model="anthropic/claude-sonnet-4-5",
    messages=messages,
    mock_response="Hi from a mock",  # no key, no network call; the request is still checked
    num_retries=0,
    frequency_penalty=0.5,  # Anthropic has no such parameter: dropped, and the receipt says so
)
print(
    "mocked:", mocked.choices[0].message.content, "| dropped:", mocked.router.dropped if mocked.router else []
)
try:
    router.completion(model="fake/echo", messages=messages, num_retries=1, max_retries=3)
except router.BadRequestError as err:
    print("two spellings, two values:", err.param)
try:
    router.completion(model="fake/echo", messages=messages, mock_response=router.RateLimitError("slow down"))
except router.RateLimitError as err:
    print("mocked error:", err.message)


async def main() -> None:
    astream: router.AsyncStream = await router.acompletion(model="fake/echo", messages=messages, stream=True)
    chunk = await anext(astream)
    print("async first chunk:", chunk.object)
    async for c in astream:
        if c.choices and c.choices[0].delta.content:
            print("async content:", c.choices[0].delta.content)


asyncio.run(main())
