"""Two ``router serve`` processes sharing one real ``redis-server`` (tests/check.sh installs it; each
test module starts its own on a free 127.0.0.1 port and stops it).

- a key limited to N requests a minute gets exactly N successes across both processes;
- a budget of B dollars: sequential calls alternating between the processes stop at exactly B;
  concurrent ones overshoot by no more than the calls in flight when it ran out;
- a circuit breaker opened by one process, and a cooldown a 429 set there, are seen by the other:
  it passes the deployment over without sending anything;
- Redis killed mid-run: a limit declared fail-open lets calls through, one declared fail-closed
  refuses them with 503, none hangs; Redis back, both work again.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import redis
from gateway_env import RedisServer
from gateway_env import gateway
from gateway_env import gateway_process
from loopback import Loopback
from loopback import Reply

from router.gateway import hash_key

RPM_KEY = "sk-redis-rpm-SECRET-1"
BUDGET_KEY = "sk-redis-budget-SECRET-2"
CROWD_KEY = "sk-redis-crowd-SECRET-3"
OPEN_KEY = "sk-redis-open-SECRET-4"
CLOSED_KEY = "sk-redis-closed-SECRET-5"
N = 6
PROMPT, COMPLETION = 1000, 1000
PER_CALL = (PROMPT * 0.15 + COMPLETION * 0.6) / 1_000_000  # gpt-4o-mini's catalogue price
BUDGET = 4 * PER_CALL + PER_CALL / 2  # room for exactly four calls and a half
MSGS = [{"role": "user", "content": "hi"}]


def _answer() -> Reply:
    return Reply.json(
        {
            "id": "chatcmpl-redis",
            "object": "chat.completion",
            "created": 1,
            "model": "gpt-4o-mini",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
            ],
            "usage": {
                "prompt_tokens": PROMPT,
                "completion_tokens": COMPLETION,
                "total_tokens": PROMPT + COMPLETION,
            },
        }
    )


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="module")
def upstream() -> Iterator[Loopback]:
    with Loopback() as server:
        yield server


@pytest.fixture(scope="module")
def pair(
    redis_server: RedisServer, upstream: Loopback, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    folder = tmp_path_factory.mktemp("gateways")
    config = folder / "router.yaml"
    config.write_text(
        "\n".join(
            [
                "config_version: 1",
                "defaults: {max_retries: 0, breaker_threshold: 1000}",
                "providers:",
                f"  openai: {{base_url: '{upstream.url}', api_key_env: GW_UPSTREAM_KEY}}",
                "models:",
                "  - {name: echo, model: fake/echo}",
                "  - {name: mini, model: openai/gpt-4o-mini}",
                "gateway:",
                f"  state: {{redis_url: '{redis_server.url}', timeout: 0.3}}",
                "  keys:",
                f"    - {{name: rpm, hash: '{hash_key(RPM_KEY)}', rpm: {N}}}",
                f"    - {{name: budget, hash: '{hash_key(BUDGET_KEY)}', budget_usd: {BUDGET!r}}}",
                f"    - {{name: crowd, hash: '{hash_key(CROWD_KEY)}', budget_usd: {BUDGET!r}}}",
                f"    - {{name: open, hash: '{hash_key(OPEN_KEY)}', rpm: 1000}}",
                f"    - {{name: closed, hash: '{hash_key(CLOSED_KEY)}', rpm: 1000, budget_usd: 100}}",
            ]
        )
        + "\n"
    )
    env = {"GW_UPSTREAM_KEY": "sk-upstream-SECRET"}
    with gateway(config, env=env) as a, gateway(config, env=env) as b:
        yield a, b


def _call(url: str, key: str, model: str = "echo", **extra: object) -> httpx.Response:
    return httpx.post(
        url + "/v1/chat/completions",
        json={"model": model, "messages": MSGS, **extra},
        headers={"authorization": f"Bearer {key}"},
        timeout=20,
    )


def _spent(server: RedisServer, name: str) -> float:
    client = redis.Redis.from_url(server.url)
    try:
        return float(client.get(f"router:key:{{{name}}}:spent") or 0)
    finally:
        client.close()


def test_rpm_is_exact_across_two_processes(pair: tuple[str, str]) -> None:
    urls = [pair[i % 2] for i in range(3 * N)]
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda u: _call(u, RPM_KEY).status_code, urls))
    assert statuses.count(200) == N
    assert statuses.count(429) == 2 * N
    # each process alone would have let N through: together they let N through
    assert all(s in (200, 429) for s in statuses)


def test_budget_is_never_exceeded_sequentially(
    pair: tuple[str, str], upstream: Loopback, redis_server: RedisServer
) -> None:
    # With max_tokens the reservation covers the whole answer: the fifth call cannot fit in what
    # is left (half a call), so it is refused before it is sent.
    results = []
    for i in range(8):
        upstream.replies.append(_answer())
        resp = _call(pair[i % 2], BUDGET_KEY, "mini", max_tokens=COMPLETION)
        results.append(resp.status_code)
        if resp.status_code == 429:
            body = resp.json()["error"]
            assert body["code"] == "quota_exceeded"
            assert resp.headers["x-should-retry"] == "false"
    assert results == [200, 200, 200, 200, 429, 429, 429, 429]
    assert _spent(redis_server, "budget") == pytest.approx(4 * PER_CALL)
    assert _spent(redis_server, "budget") <= BUDGET
    upstream.replies.clear()


def test_budget_overshoot_is_bounded_by_calls_in_flight(
    pair: tuple[str, str], upstream: Loopback, redis_server: RedisServer
) -> None:
    in_flight = 8
    for _ in range(3 * in_flight):
        upstream.replies.append(_answer())
    urls = [pair[i % 2] for i in range(3 * in_flight)]
    # No max_tokens: each reservation holds only the prompt's estimate, so calls in flight when the
    # budget runs out may all finish; never more than those.
    with ThreadPoolExecutor(in_flight) as pool:
        statuses = list(pool.map(lambda u: _call(u, CROWD_KEY, "mini").status_code, urls))
    spent = _spent(redis_server, "crowd")
    assert statuses.count(200) >= 4  # at least what the budget allows went through
    assert spent == pytest.approx(statuses.count(200) * PER_CALL)
    assert spent <= BUDGET + in_flight * PER_CALL
    upstream.replies.clear()


def test_metrics_and_health_name_redis(pair: tuple[str, str]) -> None:
    for url in pair:
        assert httpx.get(url + "/health").json()["state"] == "redis"


@pytest.fixture(scope="module")
def flaky_upstream() -> Iterator[Loopback]:
    with Loopback() as server:
        yield server


@pytest.fixture(scope="module")
def health_pair(
    redis_server: RedisServer, flaky_upstream: Loopback, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    folder = tmp_path_factory.mktemp("health")
    config = folder / "router.yaml"
    config.write_text(
        "\n".join(
            [
                "config_version: 1",
                "defaults: {max_retries: 0, breaker_threshold: 2, breaker_cooldown: 60}",
                "providers:",
                f"  openai: {{base_url: '{flaky_upstream.url}', api_key_env: GW_UPSTREAM_KEY}}",
                "models:",
                "  - {name: flaky, model: openai/gpt-4o-mini}",
                "  - {name: limited, model: openai/gpt-4o}",
                "gateway:",
                f"  state: {{redis_url: '{redis_server.url}', timeout: 0.3, prefix: 'health-test:',"
                " health_sync: 0.1}",
            ]
        )
        + "\n"
    )
    env = {"GW_UPSTREAM_KEY": "sk-upstream-SECRET"}
    with gateway(config, env=env) as a, gateway(config, env=env) as b:
        yield a, b


def _members(server: RedisServer, key: str) -> list[str]:
    client = redis.Redis.from_url(server.url, decode_responses=True)
    try:
        return list(client.zrange(key, 0, -1))
    finally:
        client.close()


def _wait_for_member(server: RedisServer, key: str, label: str) -> None:
    deadline = time.monotonic() + 5
    while label not in _members(server, key):
        assert time.monotonic() < deadline, f"{label} never reached {key}"
        time.sleep(0.05)
    time.sleep(0.5)  # several health_sync periods: the other process has read it


def test_a_breaker_opened_by_one_process_is_seen_by_the_other(
    health_pair: tuple[str, str], flaky_upstream: Loopback, redis_server: RedisServer
) -> None:
    a, b = health_pair
    boom = {"error": {"message": "upstream boom", "type": "server_error"}}
    for _ in range(2):  # breaker_threshold: 2 failures in a row open it, in process A
        flaky_upstream.replies.append(Reply.json(boom, status=500))
        assert _call(a, "unused", "flaky").status_code == 500
    _wait_for_member(redis_server, "health-test:{health}:open", "flaky")
    sent = len(flaky_upstream.seen)
    flaky_upstream.replies.append(_answer())  # would succeed, if B sent it
    resp = _call(b, "unused", "flaky")
    assert resp.status_code == 503
    assert "circuit open" in resp.json()["error"]["message"]
    assert len(flaky_upstream.seen) == sent  # B sent nothing: it knew
    metrics = httpx.get(b + "/metrics").text
    assert 'router_breaker_open{deployment="flaky"} 1' in metrics
    flaky_upstream.replies.clear()


def test_a_429_cooldown_set_by_one_process_is_seen_by_the_other(
    health_pair: tuple[str, str], flaky_upstream: Loopback, redis_server: RedisServer
) -> None:
    a, b = health_pair
    slow_down = {"error": {"message": "slow down", "type": "rate_limit_error"}}
    flaky_upstream.replies.append(Reply.json(slow_down, status=429, headers={"retry-after": "30"}))
    resp = _call(b, "unused", "limited")
    assert resp.status_code == 429
    _wait_for_member(redis_server, "health-test:{health}:cool", "limited")
    sent = len(flaky_upstream.seen)
    flaky_upstream.replies.append(_answer())
    resp = _call(a, "unused", "limited")
    assert resp.status_code == 503
    assert "cooling down" in resp.json()["error"]["message"]
    assert float(resp.headers["retry-after"]) > 20  # what is left of B's 30 s
    assert len(flaky_upstream.seen) == sent
    flaky_upstream.replies.clear()


def test_workers_of_one_process_share_the_limits(
    redis_server: RedisServer, upstream: Loopback, tmp_path: Path
) -> None:
    config = tmp_path / "router.yaml"
    config.write_text(
        "config_version: 1\n"
        "models:\n  - {name: echo, model: fake/echo}\n"
        "gateway:\n"
        f"  state: {{redis_url: '{redis_server.url}', prefix: 'workers-test:'}}\n"
        f"  keys:\n    - {{name: rpm, hash: '{hash_key(RPM_KEY)}', rpm: {N}}}\n"
    )
    with gateway_process(config, workers=2) as (url, proc):
        kids = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True)
        assert len(kids.stdout.split()) >= 2  # granian's two worker processes
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda _: _call(url, RPM_KEY).status_code, range(4 * N)))
    assert statuses.count(200) == N and statuses.count(429) == 3 * N


def test_redis_killed_fail_open_and_closed(pair: tuple[str, str], redis_server: RedisServer) -> None:
    assert _call(pair[0], OPEN_KEY).status_code == 200
    assert _call(pair[1], CLOSED_KEY).status_code == 200
    redis_server.kill()
    try:
        for url in pair:
            start = time.monotonic()
            assert _call(url, OPEN_KEY).status_code == 200  # rpm: open by default
            closed = _call(url, CLOSED_KEY)  # budget: closed by default
            assert time.monotonic() - start < 5  # bounded by the state timeout, no hang
            assert closed.status_code == 503
            assert "fails closed" in closed.json()["error"]["message"]
            assert json.loads(closed.content)["error"]["code"] == "unavailable"
            health = httpx.get(url + "/health").json()
            assert health["state"] == "redis (unreachable)"
    finally:
        redis_server.start()
    deadline = time.monotonic() + 10
    while _call(pair[0], CLOSED_KEY).status_code != 200:  # the client reconnects by itself
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert _call(pair[1], CLOSED_KEY).status_code == 200
