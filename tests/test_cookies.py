"""No cookie crosses between calls: the pooled clients (one per process, one per event loop, a
Router's own) serve every call of every key, so a cookie one answer set must never go out with a
later request. Held for every client the router makes itself, sync and async; a client the caller
gives (``http_client=``) is the caller's, cookies and all."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from loopback import Loopback
from loopback import Reply

import router

ANSWER = {
    "id": "c1",
    "object": "chat.completion",
    "created": 1,
    "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
}
MSGS = [{"role": "user", "content": "hi"}]


@pytest.fixture
def upstream() -> Iterator[Loopback]:
    with Loopback() as server:
        yield server


def _script(upstream: Loopback) -> None:
    first = Reply.json(ANSWER, headers={"set-cookie": "__cf_bm=SECRET-of-caller-1; Path=/; HttpOnly"})
    upstream.replies.extend([first, Reply.json(ANSWER)])


@pytest.mark.parametrize("how", ["sync", "async", "router-sync", "router-async"])
def test_a_cookie_from_one_answer_never_goes_out_again(upstream: Loopback, how: str) -> None:
    _script(upstream)
    kw = {"base_url": upstream.url, "max_retries": 0}
    if how == "sync":
        for key in ("k1", "k2"):
            router.completion("openai-compatible/m", MSGS, api_key=key, **kw)
    elif how == "async":

        async def main() -> None:
            for key in ("k1", "k2"):
                await router.acompletion("openai-compatible/m", MSGS, api_key=key, **kw)

        asyncio.run(main())
    else:
        r = router.Router(
            [router.Deployment("m", "openai-compatible/m", base_url=upstream.url, max_retries=0)]
        )
        with r:
            if how == "router-sync":
                r.completion("m", MSGS)
                r.completion("m", MSGS)
            else:

                async def both() -> None:
                    await r.acompletion("m", MSGS)
                    await r.acompletion("m", MSGS)
                    await r.aclose()

                asyncio.run(both())
    assert len(upstream.seen) == 2
    assert "cookie" not in upstream.seen[1].headers
