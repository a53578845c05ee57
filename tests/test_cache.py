"""ResponseCache: stable keys with no secret in them, LRU and TTL bounds, deep copies, stats, threads."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import pytest

from router._cache import CacheStats
from router._cache import ResponseCache
from router._registry import adapter
from router._types import ChatCompletion
from router._types import Choice
from router._types import HttpRequest
from router._types import Message
from router._types import Receipt
from router._types import Usage

URL = "https://api.openai.com/v1/chat/completions"


def req(body: dict[str, Any], *, key: str = "sk-one", url: str = URL, stream: bool = False) -> HttpRequest:
    return HttpRequest(
        "POST",
        url,
        {"authorization": f"Bearer {key}", "content-type": "application/json"},
        body,
        stream=stream,
        secrets=(key,),
    )


def answer(text: str = "Hi", receipt: Receipt | None = None) -> ChatCompletion:
    return ChatCompletion(
        id="c1",
        created=0,
        model="gpt-4o",
        choices=[Choice(0, Message(content=text), "stop")],
        usage=Usage(3, 1, 4),
        router=receipt if receipt is not None else Receipt("openai", "gpt-4o"),
    )


@dataclass
class HitReceipt(Receipt):
    """A Receipt with the ``cache_hit`` flag the cache sets where the Receipt has it."""

    cache_hit: bool = False


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}], "temperature": 0.2}


# -- keys ---------------------------------------------------------------------------------------------------


def test_key_is_stable_whatever_the_dict_order() -> None:
    cache = ResponseCache()
    reordered = {"temperature": 0.2, "messages": [{"content": "Hi", "role": "user"}], "model": "gpt-4o"}
    k = cache.key("openai", req(BODY))
    assert k == cache.key("openai", req(reordered))
    assert k == ResponseCache().key("openai", req(dict(BODY)))  # no per-instance salt
    assert k.startswith("sha256:") and len(k) == len("sha256:") + 64


@pytest.mark.parametrize(
    "change",
    [
        {"temperature": 0.3},
        {"messages": [{"role": "user", "content": "Hi!"}]},
        {"max_tokens": 10},
        {"model": "gpt-4o-mini"},
    ],
)
def test_key_changes_with_the_body(change: dict[str, Any]) -> None:
    cache = ResponseCache()
    assert cache.key("openai", req(BODY)) != cache.key("openai", req({**BODY, **change}))


def test_key_changes_with_provider_method_and_url() -> None:
    cache = ResponseCache()
    k = cache.key("openai", req(BODY))
    assert k != cache.key("groq", req(BODY))
    assert k != cache.key("openai", req(BODY, url="https://api.groq.com/openai/v1/chat/completions"))
    other = req(BODY)
    other.method = "PUT"
    assert k != cache.key("openai", other)


def test_key_leaves_out_headers_and_secrets() -> None:
    cache = ResponseCache()
    one = req(BODY, key="sk-one-secret")
    two = req(BODY, key="sk-two-secret")
    two.headers["x-request-id"] = "abc"
    assert cache.key("openai", one) == cache.key("openai", two)
    assert "sk-one-secret" not in cache.key("openai", one)
    # A key in the URL (Gemini's ?key=): masked before hashing, so equal across keys too.
    g1 = req(BODY, key="AIzaONE", url="https://generativelanguage.googleapis.com/v1beta/m:gen?key=AIzaONE")
    g2 = req(BODY, key="AIzaTWO", url="https://generativelanguage.googleapis.com/v1beta/m:gen?key=AIzaTWO")
    assert cache.key("gemini", g1) == cache.key("gemini", g2)


def test_key_of_a_real_adapter_request() -> None:
    a = adapter("anthropic")
    body = {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 100}
    r1 = a.build_request(body, api_key="sk-ant-one", receipt=Receipt("anthropic", "claude-sonnet-4-5"))
    r2 = a.build_request(
        dict(reversed(body.items())), api_key="sk-ant-two", receipt=Receipt("anthropic", "claude-sonnet-4-5")
    )
    cache = ResponseCache()
    assert cache.key("anthropic", r1) == cache.key("anthropic", r2)


def test_stream_keys_take_an_answer_only_when_told() -> None:
    cache = ResponseCache()
    k = cache.key("openai", req({**BODY, "stream": True}, stream=True))
    assert k.startswith("stream:sha256:")
    assert cache.put(k, answer()) is False
    assert cache.get(k) is None
    assert cache.put(k, answer("accumulated"), streamed=True) is True
    got = cache.get(k)
    assert got is not None and got.choices[0].message.content == "accumulated"


def test_put_takes_answers_only() -> None:
    cache = ResponseCache()
    with pytest.raises(TypeError, match="ChatCompletion"):
        cache.put("k", RuntimeError("boom"))  # type: ignore[arg-type]
    assert len(cache) == 0


# -- bounds -------------------------------------------------------------------------------------------------


def test_lru_eviction_order() -> None:
    cache = ResponseCache(max_entries=3)
    for k in "abc":
        cache.put(k, answer(k))
    assert cache.get("a") is not None  # a is now the most recently used: b goes first
    cache.put("d", answer("d"))
    assert "b" not in cache
    assert [k for k in "acd" if k in cache] == ["a", "c", "d"]
    cache.put("c", answer("c2"))  # a put refreshes too: a goes next
    cache.put("e", answer("e"))
    assert "a" not in cache
    assert sorted(k for k in "abcde" if k in cache) == ["c", "d", "e"]
    c = cache.get("c")
    assert c is not None and c.choices[0].message.content == "c2"
    assert cache.stats.evictions == 2
    assert len(cache) == 3


def test_ttl_with_an_injected_clock() -> None:
    clock = Clock()
    cache = ResponseCache(ttl=10.0, clock=clock)
    cache.put("a", answer())
    clock.now += 9.99
    assert cache.get("a") is not None
    cache.put("b", answer())
    clock.now += 0.01  # a: 10 s old, expired; b: 0.01 s
    assert cache.get("a") is None
    assert cache.get("b") is not None
    assert "a" not in cache
    clock.now += 10
    assert cache.get("b") is None
    assert cache.stats == CacheStats(hits=2, misses=2, evictions=0, expired=2, size=0)


def test_no_ttl_keeps_entries() -> None:
    clock = Clock()
    cache = ResponseCache(clock=clock)
    cache.put("a", answer())
    clock.now += 10**9
    assert cache.get("a") is not None


@pytest.mark.parametrize("kwargs", [{"max_entries": 0}, {"ttl": 0}, {"ttl": -1.0}])
def test_bad_bounds(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        ResponseCache(**kwargs)


# -- copies and stats -----------------------------------------------------------------------------------------


def test_get_returns_deep_copies() -> None:
    cache = ResponseCache()
    original = answer("Hi")
    cache.put("k", original)
    original.choices[0].message.content = "changed after put"
    first = cache.get("k")
    assert first is not None and first.choices[0].message.content == "Hi"
    first.choices[0].message.content = "changed by a caller"
    assert first.router is not None
    first.router.dropped.append("x")
    assert first.usage is not None
    first.usage.prompt_tokens = 99
    second = cache.get("k")
    assert second is not None and second is not first
    assert second.choices[0].message.content == "Hi"
    assert second.router is not None and second.router.dropped == []
    assert second.usage is not None and second.usage.prompt_tokens == 3
    fresh = answer("Hi").to_dict()
    assert {k: v for k, v in second.to_dict().items() if k != "router"} == {
        k: v for k, v in fresh.items() if k != "router"
    }


def test_a_hit_is_marked_on_the_copy_only() -> None:
    cache = ResponseCache()
    original = answer(receipt=HitReceipt("openai", "gpt-4o"))
    cache.put("k", original)
    got = cache.get("k")
    assert got is not None and isinstance(got.router, HitReceipt)
    assert got.router.cache_hit is True
    assert isinstance(original.router, HitReceipt) and original.router.cache_hit is False
    again = cache.get("k")
    assert again is not None and isinstance(again.router, HitReceipt) and again.router.cache_hit is True
    # router's own Receipt has the flag: marked on the hit, not on the stored answer.
    stored = answer()
    cache.put("plain", stored)
    plain = cache.get("plain")
    assert plain is not None and plain.router is not None
    assert plain.router.cache_hit is True
    assert stored.router is not None and stored.router.cache_hit is False
    assert plain.router.to_dict()["cache_hit"] is True
    # No receipt: nothing to mark.
    bare = answer()
    bare.router = None
    cache.put("bare", bare)
    got_bare = cache.get("bare")
    assert got_bare is not None and got_bare.router is None


def test_stats_and_clear() -> None:
    cache = ResponseCache(max_entries=2)
    assert cache.stats == CacheStats()
    assert cache.get("missing") is None
    cache.put("a", answer())
    cache.put("b", answer())
    cache.put("c", answer())
    assert cache.get("c") is not None
    assert cache.get("a") is None
    assert cache.stats == CacheStats(hits=1, misses=2, evictions=1, expired=0, size=2)
    cache.clear()
    assert len(cache) == 0
    assert cache.get("c") is None
    assert cache.stats == CacheStats(hits=1, misses=3, evictions=1, expired=0, size=0)


def test_threads_share_one_cache() -> None:
    cache = ResponseCache(max_entries=64)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(worker: int) -> None:
        try:
            start.wait()
            for n in range(300):
                k = f"k{(worker * 7 + n) % 100}"
                got = cache.get(k)
                if got is None:
                    cache.put(k, answer(k))
                else:
                    assert got.choices[0].message.content == k
                    got.choices[0].message.content = "mine"  # never seen by another thread
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    s = cache.stats
    assert s.hits + s.misses == 8 * 300
    assert s.size == len(cache) <= 64
    assert s.evictions >= 100 - 64
