"""An opt-in, in-memory LRU cache of whole answers, keyed by the translated request.

>>> cache = ResponseCache(max_entries=1024, ttl=600)
>>> k = cache.key("openai", http_request)        # http_request: what the adapter would send
>>> resp = cache.get(k)                          # a fresh copy marked as a hit, or None
>>> if resp is None:
...     resp = send(http_request)
...     cache.put(k, resp)

The key is the sha256 of the provider id, the method, the URL and the JSON body re-dumped with
sorted keys and compact separators: the request as translated for the provider, so two calls that
translate alike share an answer whatever their dicts' order. Headers are left out (API keys live
there), and every value in ``http_request.secrets`` is masked before hashing (a key in a URL's
query), so no secret enters the key and answers are shared across credentials: give each tenant
who must not see another's answers a cache of its own.

Only ``ChatCompletion`` answers are stored (never an error). A key of a streamed request starts
with ``stream:``; ``put`` stores an answer under it only when told ``streamed=True`` (the answer
accumulated from the stream; replaying it as a stream is the caller's work).

``get`` returns a deep copy (no caller can change the stored answer), and sets ``cache_hit = True``
on the copy's receipt when the receipt has that attribute (``Receipt.cache_hit``). Entries leave
least recently used first past ``max_entries``, and ``ttl`` seconds after they were stored (by
``clock``). One ``threading.Lock`` guards the table for a few dict operations (copies are made
outside it), so a cache may be shared by threads and asyncio tasks alike.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from router._types import ChatCompletion
from router._types import HttpRequest

__all__ = ["CacheStats", "ResponseCache"]

STREAM_PREFIX = "stream:"
# The Receipt attribute a hit is marked by (set only where the Receipt has it).
CACHE_HIT_ATTR = "cache_hit"
_MASK = "****"


@dataclass(frozen=True, slots=True)
class CacheStats:
    hits: int = 0
    misses: int = 0  # get() found nothing, or only an expired entry
    evictions: int = 0  # entries pushed out by max_entries (least recently used first)
    expired: int = 0  # entries dropped because their ttl had passed
    size: int = 0  # entries held now


@dataclass(slots=True)
class _Entry:
    resp: ChatCompletion
    expires: float | None


class ResponseCache:
    """An LRU of ``ChatCompletion`` answers, bounded by ``max_entries`` and, if given, ``ttl``
    seconds (measured with ``clock``)."""

    def __init__(
        self, max_entries: int = 1024, ttl: float | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, not {max_entries}")
        if ttl is not None and not ttl > 0:
            raise ValueError(f"ttl must be a positive number of seconds or None, not {ttl}")
        self.max_entries = max_entries
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._hits = self._misses = self._evictions = self._expired = 0

    def key(self, provider: str, http_request: HttpRequest) -> str:
        """The cache key of a translated request: ``sha256:<hex>``, or ``stream:sha256:<hex>`` for a
        streamed one. Equal for equal requests whatever the order of their dicts' keys; headers are
        not part of it, and the request's secrets are masked before hashing."""
        body = json.dumps(http_request.json, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        text = json.dumps(
            [provider, http_request.method.upper(), http_request.url, body], separators=(",", ":")
        )
        for secret in http_request.secrets:
            if secret:
                text = text.replace(secret, _MASK)
        digest = "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
        return STREAM_PREFIX + digest if http_request.stream else digest

    def get(self, key: str) -> ChatCompletion | None:
        """A copy of the answer stored under ``key``, its receipt marked as a cache hit; else None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.expires is not None and self._clock() >= entry.expires:
                del self._entries[key]
                self._expired += 1
                entry = None
            if entry is None:
                self._misses += 1
                return None
            self._entries.move_to_end(key)
            self._hits += 1
            stored = entry.resp
        out = copy.deepcopy(stored)  # the stored answer is never changed: copying it unlocked is safe
        if out.router is not None and hasattr(out.router, CACHE_HIT_ATTR):
            setattr(out.router, CACHE_HIT_ATTR, True)
        return out

    def put(self, key: str, resp: ChatCompletion, *, streamed: bool = False) -> bool:
        """Store a copy of ``resp`` under ``key``; True when stored. A streamed request's key takes an
        answer only with ``streamed=True``; anything but a ``ChatCompletion`` is a TypeError."""
        if not isinstance(resp, ChatCompletion):
            raise TypeError(f"ResponseCache stores ChatCompletion answers only, not {type(resp).__name__}")
        if key.startswith(STREAM_PREFIX) and not streamed:
            return False
        stored = copy.deepcopy(resp)
        if stored.router is not None and hasattr(stored.router, CACHE_HIT_ATTR):
            setattr(stored.router, CACHE_HIT_ATTR, False)
        expires = None if self.ttl is None else self._clock() + self.ttl
        with self._lock:
            self._entries[key] = _Entry(stored, expires)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
                self._evictions += 1
        return True

    def clear(self) -> None:
        """Drop every entry (the counters in ``stats`` go on)."""
        with self._lock:
            self._entries.clear()

    @property
    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(self._hits, self._misses, self._evictions, self._expired, len(self._entries))

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` holds an entry (expired or not; counts neither a hit nor a miss)."""
        with self._lock:
            return key in self._entries
