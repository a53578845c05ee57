"""Code written against the openai SDK, on any provider: router.OpenAI / router.AsyncOpenAI.

    .venv/bin/python examples/openai_dropin.py      # the fake provider: no key, no network

Swap ``openai.OpenAI()`` for ``router.OpenAI()`` and name any provider's model
(``model="anthropic/claude-sonnet-4-5"``); ``chat.completions.create`` keeps its shape and types.
"""

from __future__ import annotations

import asyncio

import router

with router.OpenAI() as client:  # its connections are closed on leaving the block
    resp = client.chat.completions.create(
        model="fake/echo",
        messages=[{"role": "user", "content": "Hello, drop-in"}],
        max_tokens=50,
    )
    print(resp.choices[0].message.content, "| usage:", resp.usage.total_tokens if resp.usage else None)

    stream = client.chat.completions.create(
        model="fake/lorem", messages=[{"role": "user", "content": "Go"}], stream=True, max_tokens=6
    )
    print("".join(c.choices[0].delta.content or "" for c in stream if c.choices))

    page = client.models.list()  # every model of every provider usable here, as provider/model
    print(
        "models:",
        [m.id for m in page][:3],
        "...",
        f"({len(page.data)} in all, owned_by {page.data[0].owned_by})",
    )


async def main() -> None:
    async with router.AsyncOpenAI(max_retries=1) as aclient:
        resp = await aclient.chat.completions.create(
            model="fake/echo", messages=[{"role": "user", "content": "Hello, async"}]
        )
        print(resp.choices[0].message.content)
        astream = await aclient.chat.completions.create(
            model="fake/echo", messages=[{"role": "user", "content": "streamed"}], stream=True
        )
        async for chunk in astream:
            if chunk.choices and chunk.choices[0].delta.content:
                print("async chunk:", chunk.choices[0].delta.content)


asyncio.run(main())
