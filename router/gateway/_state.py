"""Per-key limits shared by every gateway process: requests and tokens per minute, and a USD budget.

Every limit is **reserve-then-reconcile**. Before a call, one atomic step checks all of a key's
limits and reserves the request, its estimated tokens and its estimated cost; after the call the
real usage replaces the estimate (the difference is charged or given back). Two stores hold it:

- ``MemoryState``: one process (the default when no ``redis_url`` is configured);
- ``RedisState``: every replica on one Redis or Valkey, each step one Lua script (atomic on the
  server, so two processes can never both take the last request of a window).

Windows slide: a key with ``rpm: N`` gets at most N requests in any 60 seconds (a sorted set of
request times per key), not N per clock minute. A request whose estimate alone is larger than the
whole ``tpm`` passes only into an empty window, so it is not refused forever. The budget never
expires; ``spent`` counts reserved and reconciled dollars.

When the store cannot be reached, each limit does what the config declares for it (``on_error``:
``open`` lets the call through unmetered, ``closed`` refuses it with 503); nothing waits longer than
the store's socket timeout.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Literal
from typing import Protocol

__all__ = [
    "Denied",
    "KeyLimits",
    "MemoryState",
    "RedisState",
    "State",
    "StateUnavailable",
    "Ticket",
]

WINDOW = 60.0  # seconds: "per minute"


@dataclass(frozen=True)
class KeyLimits:
    rpm: int | None = None
    tpm: int | None = None
    budget_usd: float | None = None


@dataclass
class Ticket:
    """What a reserve took: given back to ``reconcile`` with the real usage."""

    key: str
    id: str
    at: float  # the reservation's time (its place in the windows)
    tokens: int
    cost: float


@dataclass(frozen=True)
class Denied:
    """A limit refused the call: ``limit`` is "rpm", "tpm" or "budget"."""

    limit: Literal["rpm", "tpm", "budget"]
    retry_after: float | None  # seconds until the window has room again; None for a spent budget


class StateUnavailable(Exception):
    """The shared store could not be reached (the gateway applies each limit's ``on_error``)."""


class State(Protocol):
    async def reserve(self, key: str, limits: KeyLimits, tokens: int, cost: float) -> Ticket | Denied: ...
    async def reconcile(self, ticket: Ticket, tokens: int | None, cost: float | None) -> None: ...
    async def spent(self, key: str) -> float: ...
    async def ping(self) -> bool: ...
    async def close(self) -> None: ...

    # Deployment health shared by replicas (breakers, 429 cooldowns): ``shared`` says whether there
    # is anyone to share with; a label's "open"/"cooling" holds for ``seconds`` from now.
    shared: bool

    async def publish_health(self, label: str, change: str, seconds: float) -> None: ...
    async def read_health(self) -> tuple[dict[str, float], dict[str, float]]: ...


@dataclass
class _KeyState:
    requests: deque[float] = field(default_factory=deque)
    tokens: dict[str, tuple[float, int]] = field(default_factory=dict)
    spent: float = 0.0


class MemoryState:
    """The limits of one process (one event loop; no locks needed between awaits)."""

    shared = False  # one process: its Router's breakers are the whole truth

    def __init__(self, clock: Any = time.time) -> None:
        self._keys: dict[str, _KeyState] = {}
        self._clock = clock

    async def reserve(self, key: str, limits: KeyLimits, tokens: int, cost: float) -> Ticket | Denied:
        now = self._clock()
        st = self._keys.setdefault(key, _KeyState())
        start = now - WINDOW
        while st.requests and st.requests[0] <= start:
            st.requests.popleft()
        for rid in [r for r, (t, _) in st.tokens.items() if t <= start]:
            del st.tokens[rid]
        if limits.rpm is not None and len(st.requests) >= limits.rpm:
            return Denied("rpm", max(st.requests[0] + WINDOW - now, 0.0) if st.requests else WINDOW)
        if limits.tpm is not None:
            used = sum(n for _, n in st.tokens.values())
            if used and used + tokens > limits.tpm:
                oldest = min(t for t, _ in st.tokens.values())
                return Denied("tpm", max(oldest + WINDOW - now, 0.0))
        if limits.budget_usd is not None and st.spent + cost > limits.budget_usd:
            return Denied("budget", None)
        rid = uuid.uuid4().hex
        st.requests.append(now)
        st.tokens[rid] = (now, tokens)
        st.spent += cost
        return Ticket(key, rid, now, tokens, cost)

    async def reconcile(self, ticket: Ticket, tokens: int | None, cost: float | None) -> None:
        st = self._keys.setdefault(ticket.key, _KeyState())
        if tokens is not None and ticket.id in st.tokens:
            st.tokens[ticket.id] = (ticket.at, tokens)
        if cost is not None:
            st.spent += cost - ticket.cost

    async def spent(self, key: str) -> float:
        st = self._keys.get(key)
        return st.spent if st else 0.0

    async def ping(self) -> bool:
        return True

    async def publish_health(self, label: str, change: str, seconds: float) -> None:
        return None

    async def read_health(self) -> tuple[dict[str, float], dict[str, float]]:
        return {}, {}

    async def close(self) -> None:
        return None


# KEYS: requests zset, tokens zset, spent (a float string). ARGV: now (ms), window (ms), id, rpm, tpm,
# tokens, budget, cost (0 or a negative number: no such limit). Returns {"ok", now} or {limit, retry ms}.
_RESERVE = """
local now = tonumber(ARGV[1])
local win = tonumber(ARGV[2])
local rpm = tonumber(ARGV[4])
local tpm = tonumber(ARGV[5])
local tokens = tonumber(ARGV[6])
local budget = tonumber(ARGV[7])
local cost = tonumber(ARGV[8])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - win)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - win)
if rpm >= 0 and redis.call('ZCARD', KEYS[1]) >= rpm then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  local wait = win
  if oldest[2] then wait = tonumber(oldest[2]) + win - now end
  return {'rpm', tostring(wait)}
end
if tpm >= 0 then
  local used = 0
  local oldest = nil
  local members = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
  for i = 1, #members, 2 do
    used = used + tonumber(string.match(members[i], ':(%d+)$'))
    if not oldest then oldest = tonumber(members[i + 1]) end
  end
  if used > 0 and used + tokens > tpm then
    return {'tpm', tostring(oldest + win - now)}
  end
end
local spent = tonumber(redis.call('GET', KEYS[3]) or '0')
if budget >= 0 and spent + cost > budget then
  return {'budget', '-1'}
end
redis.call('INCRBYFLOAT', KEYS[3], ARGV[8])
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('ZADD', KEYS[2], now, ARGV[3] .. ':' .. ARGV[6])
redis.call('PEXPIRE', KEYS[1], win)
redis.call('PEXPIRE', KEYS[2], win)
return {'ok', tostring(now)}
"""

# KEYS: tokens zset, spent. ARGV: id, reserved tokens, real tokens (-1: keep), cost difference, at (ms).
_RECONCILE = """
if tonumber(ARGV[3]) >= 0 and redis.call('ZREM', KEYS[1], ARGV[1] .. ':' .. ARGV[2]) == 1 then
  redis.call('ZADD', KEYS[1], ARGV[5], ARGV[1] .. ':' .. ARGV[3])
end
if tonumber(ARGV[4]) ~= 0 then
  redis.call('INCRBYFLOAT', KEYS[2], ARGV[4])
end
return 1
"""


def _usd(x: float) -> str:
    return f"{x:.12f}"


class RedisState:
    """The limits of every replica, on one Redis or Valkey (redis-py's asyncio client).

    Deployment health is two sorted sets, ``{prefix}{health}:open`` and ``...:cool``: a member per
    deployment label, scored with the wall-clock millisecond its breaker or cooldown ends. A replica
    whose breaker opens adds it; a probe that closes it removes it; every replica reads both sets a
    few times a second (Gateway._sync_health) and drops what has ended.
    """

    shared = True

    def __init__(self, url: str, *, prefix: str = "router:", timeout: float = 0.5) -> None:
        try:
            # redis-py loads only when a redis_url is configured (in-memory state needs nothing)
            import redis.asyncio as aredis
        except ImportError:  # the gateway extra brings it
            raise ImportError(
                "a redis_url needs the redis client: pip install 'spec-router[gateway]'"
            ) from None
        from redis import exceptions  # as above

        self._errors: tuple[type[BaseException], ...] = (
            exceptions.ConnectionError,
            exceptions.TimeoutError,
            exceptions.BusyLoadingError,
            OSError,
            asyncio.TimeoutError,
        )
        self._redis = aredis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry_on_timeout=False,
            decode_responses=True,
        )
        self._timeout = timeout
        self._prefix = prefix
        self._reserve = self._redis.register_script(_RESERVE)
        self._reconcile = self._redis.register_script(_RECONCILE)

    def _keys(self, key: str) -> list[str]:
        p = f"{self._prefix}key:{{{key}}}:"  # one hash slot per key (Redis Cluster)
        return [p + "req", p + "tok", p + "spent"]

    async def _run(self, coro: Any) -> Any:
        try:
            return await asyncio.wait_for(coro, self._timeout * 2)
        except self._errors as e:
            raise StateUnavailable(f"the state store is unreachable ({type(e).__name__})") from None

    async def reserve(self, key: str, limits: KeyLimits, tokens: int, cost: float) -> Ticket | Denied:
        rid = uuid.uuid4().hex
        now = int(time.time() * 1000)
        res = await self._run(
            self._reserve(
                keys=self._keys(key),
                args=[
                    now,
                    int(WINDOW * 1000),
                    rid,
                    -1 if limits.rpm is None else limits.rpm,
                    -1 if limits.tpm is None else limits.tpm,
                    tokens,
                    -1 if limits.budget_usd is None else _usd(limits.budget_usd),
                    _usd(cost),
                ],
            )
        )
        kind, value = res[0], float(res[1])
        if kind == "ok":
            return Ticket(key, rid, value / 1000, tokens, cost)
        if kind == "budget":
            return Denied("budget", None)
        return Denied(kind, max(value / 1000, 0.0))

    async def reconcile(self, ticket: Ticket, tokens: int | None, cost: float | None) -> None:
        keys = self._keys(ticket.key)
        await self._run(
            self._reconcile(
                keys=[keys[1], keys[2]],
                args=[
                    ticket.id,
                    ticket.tokens,
                    -1 if tokens is None else tokens,
                    _usd(0.0 if cost is None else cost - ticket.cost),
                    int(ticket.at * 1000),
                ],
            )
        )

    async def spent(self, key: str) -> float:
        value = await self._run(self._redis.get(self._keys(key)[2]))
        return float(value or 0.0)

    async def ping(self) -> bool:
        try:
            await self._run(self._redis.ping())
        except StateUnavailable:
            return False
        return True

    def _health_keys(self) -> tuple[str, str]:
        p = f"{self._prefix}{{health}}:"  # one hash slot for both sets
        return p + "open", p + "cool"

    async def publish_health(self, label: str, change: str, seconds: float) -> None:
        opened, cool = self._health_keys()
        until = int((time.time() + seconds) * 1000)
        if change == "open":
            await self._run(self._redis.zadd(opened, {label: until}))
        elif change == "closed":
            await self._run(self._redis.zrem(opened, label))
        else:  # cooling: the later end wins
            await self._run(self._redis.zadd(cool, {label: until}, gt=True))

    async def read_health(self) -> tuple[dict[str, float], dict[str, float]]:
        """Seconds left per label: (open breakers, cooling deployments)."""
        now = int(time.time() * 1000)
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in self._health_keys():
                pipe.zremrangebyscore(key, "-inf", now)
                pipe.zrangebyscore(key, f"({now}", "+inf", withscores=True)
            res = await self._run(pipe.execute())
        return (
            {label: (score - now) / 1000 for label, score in res[1]},
            {label: (score - now) / 1000 for label, score in res[3]},
        )

    async def close(self) -> None:
        await self._redis.aclose()
