"""The fault matrix: a misbehaving server on 127.0.0.1 (tests/faultserver.py), every fault x six
protocols x sync/async x plain/stream x max_retries 0 and 2, through the pooled clients.

Asserted per call: nothing but a ``RouterError`` escapes; no call outlives its ``timeout`` by more
than 0.5 s (one that does while the matrix loads both cores is run again alone, once, and must hold
then); retries are as documented (a retryable answer with a wait the spec reads is retried
exactly ``max_retries`` times; a wait past the deadline is not waited for; a bad answer is not
retried); no partial answer is returned as a success. At the end the file descriptors are back to
where they started. The figures are printed (``pytest -s``) for the closing note.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import os
import resource
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from faultserver import FaultServer
from matrix import PROTOCOL_MODELS

import router
from router import _registry
from router import _transport

TIMEOUT = 1.0
MODELS = PROTOCOL_MODELS
OK = {"ok", "gzip_ok"}
# retryable answers whose wait (0 s) the header names; the header each uses
EXACT_RETRY = {
    "retry_429_seconds": "retry-after",
    "retry_429_fraction": "retry-after",
    "retry_429_ms": "retry-after-ms",
    "retry_429_date": "retry-after",
    "retry_503_seconds": "retry-after",
    "retry_529_seconds": "retry-after",
}
RETRYABLE = {"reset_before", "reset_after_headers", "status_500", "html_500", "retry_429_long", *EXACT_RETRY}
SLOW = {
    "stall_headers",
    "stall_body",
    "trickle",
    "trickle_then_stall",
    "keepalive",
    "huge_body",
    "error_then_stall",
    "status_500",
    "html_500",
}
FAST = {
    "ok", "gzip_ok", "reset_before", "reset_after_headers", "truncated", "invalid_json", "deep_json", "wrong_shape",
    "retry_429_long", "gzip_garbage", "error_then_reset", "huge_error", *EXACT_RETRY,
}  # fmt: skip
ROUNDS = 4  # fast faults run this many times per combination
# slow faults that hold a call until its deadline with no bytes for the client to read (stalls). The
# ones that trickle bytes or keep-alives stay in the main pool: with more threads than that on two
# cores, the GIL delays the deadline watch itself and the test measures the machine, not the router.
WAITING = {"stall_headers", "stall_body", "error_then_stall"}


@dataclass
class Outcome:
    fault: str
    provider: str
    mode: str
    stream: bool
    retries: int
    seconds: float
    hits: int
    error: BaseException | None
    text: str | None


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _one(
    server: FaultServer, fault: str, provider: str, mode: str, stream: bool, retries: int, n: int
) -> Outcome:
    call = f"{fault}-{provider}-{mode}-{int(stream)}-{retries}-{n}"
    kwargs: dict[str, Any] = {
        "base_url": f"{server.url}/{fault}/{call}",
        "api_key": "k",
        "timeout": TIMEOUT,
        "max_retries": retries,
        "stream": stream,
        "max_response_bytes": 4 << 20,  # the caps, lowered so 16 calls at once stay small
        "max_event_bytes": 1 << 20,
    }
    messages = [{"role": "user", "content": "Hi"}]
    start = time.monotonic()
    error: BaseException | None = None
    text: str | None = None
    try:
        if mode == "sync":
            result = router.completion(MODELS[provider], messages, **kwargs)
            text = _text(list(result) if stream else result)  # type: ignore[arg-type]
        else:

            async def main() -> str | None:
                result = await router.acompletion(MODELS[provider], messages, **kwargs)
                return _text([c async for c in result] if stream else result)  # type: ignore[union-attr]

            text = asyncio.run(main())
    except BaseException as exc:
        error = exc
    return Outcome(
        fault, provider, mode, stream, retries, time.monotonic() - start, server.hits[call], error, text
    )


def _text(result: Any) -> str | None:
    if isinstance(result, list):
        return router.accumulate(result).choices[0].message.content
    return result.choices[0].message.content


def _matrix() -> list[tuple[str, str, str, bool, int, int]]:
    out = []
    for fault in sorted(FAST | SLOW):
        rounds = ROUNDS if fault in FAST else 1
        for provider, mode, stream, retries, n in itertools.product(
            MODELS, ("sync", "async"), (False, True), (0, 2), range(rounds)
        ):
            out.append((fault, provider, mode, stream, retries, n))
    return out


def _where(o: Outcome) -> str:
    return f"{o.fault} {o.provider} {o.mode} {'stream' if o.stream else 'plain'} retries={o.retries}"


def _check(o: Outcome) -> list[str]:
    where = _where(o)
    bad: list[str] = []
    if o.error is not None and not isinstance(o.error, router.RouterError):
        bad.append(f"{where}: {type(o.error).__name__} escaped: {o.error}")
    if o.seconds > TIMEOUT + 0.5:
        bad.append(f"{where}: took {o.seconds:.2f} s")
    if o.fault in OK:
        if o.error is not None or o.text not in ("ok", "tok .", "tok "):
            bad.append(f"{where}: a good answer failed ({o.error!r}, {o.text!r})")
    elif o.error is None:
        bad.append(f"{where}: a faulty answer was returned as a success ({o.text!r})")
    if o.hits > o.retries + 1:
        bad.append(f"{where}: {o.hits} requests for max_retries={o.retries}")
    if o.fault not in RETRYABLE and o.fault not in SLOW and o.hits != 1:
        bad.append(f"{where}: a bad answer was retried ({o.hits} requests)")
    header = EXACT_RETRY.get(o.fault)
    names = _registry.adapter(o.provider).config.errors.retry_after
    if header is not None and header in names and o.hits != o.retries + 1:
        bad.append(f"{where}: {o.hits} requests, expected exactly {o.retries + 1} (the spec reads {header})")
    if o.fault == "retry_429_long" and "retry-after" in names:
        if o.hits != 1:
            bad.append(f"{where}: waited for a Retry-After longer than the deadline ({o.hits} requests)")
        if isinstance(o.error, router.APIError) and "retry-after" in names and o.error.retry_after != 3600:
            bad.append(f"{where}: retry_after={o.error.retry_after}, expected 3600")
    return bad


def test_fault_matrix() -> None:
    matrix = _matrix()
    assert len(matrix) >= 2000
    fds_before = _fds()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # The slow faults mostly wait (each call runs to its deadline), so they get a pool of their own,
    # beside the fast ones', rather than holding the fast calls' workers for a second each.
    waiting = [m for m in matrix if m[0] in WAITING]
    busy = [m for m in matrix if m[0] not in WAITING]
    with FaultServer() as server, ThreadPoolExecutor(8) as pool, ThreadPoolExecutor(8) as wait_pool:
        waited = wait_pool.map(lambda args: _one(server, *args), waiting)
        outcomes = list(pool.map(lambda args: _one(server, *args), busy)) + list(waited)
        # A call over the time bound while 16 threads share two cores is run again alone, once: a
        # deadline the router misses misses again (it is in the code), a pause of the machine's
        # (the GIL, a full collection over a 1 GB heap) does not. Every other rule holds as it ran.
        loaded = {i for i, o in enumerate(outcomes) if o.seconds > TIMEOUT + 0.5}
        combos = busy + waiting
        for i in sorted(loaded):
            again = _one(server, *combos[i][:5], 1000 + combos[i][5])
            print(
                f"  over the bound under load: {_where(outcomes[i])} {outcomes[i].seconds:.2f} s; alone {again.seconds:.2f} s"
            )
            if again.seconds <= TIMEOUT + 0.5:
                outcomes[i] = dataclasses.replace(outcomes[i], seconds=again.seconds)
    client = _transport._sync_client
    if client is not None:
        client.close()
        _transport._sync_client = None
    problems = [p for o in outcomes for p in _check(o)]
    escapes = sum(1 for o in outcomes if o.error is not None and not isinstance(o.error, router.RouterError))
    slowest = max(outcomes, key=lambda o: o.seconds)
    by_fault: dict[str, list[int]] = {}
    for o in outcomes:
        by_fault.setdefault(o.fault, []).append(o.hits - 1)
    print(
        f"\nfault matrix: {len(outcomes)} calls, {escapes} escapes, max {slowest.seconds:.2f} s "
        f"({slowest.fault}) for timeout {TIMEOUT} s; fds {fds_before} -> {_fds()}; "
        f"max RSS {rss_before // 1024} -> {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MiB"
    )
    for fault, retried in sorted(by_fault.items()):
        print(
            f"  {fault:<22} retries made: {dict(sorted(__import__('collections').Counter(retried).items()))}"
        )
    assert not problems, "\n".join(problems[:400]) + f"\n({len(problems)} problems)"
    assert _fds() <= fds_before + 2, f"file descriptors {fds_before} -> {_fds()}"


def test_dropped_streams_release_their_connections() -> None:
    msgs = [{"role": "user", "content": "Hi"}]
    with FaultServer() as server:
        router.completion(MODELS["openai"], msgs, base_url=f"{server.url}/ok/warm", api_key="k")
        before = _fds()
        for i in range(1000):  # answered streams, dropped: never iterated, closed or entered
            router.completion(
                MODELS["openai"], msgs, base_url=f"{server.url}/ok/d{i}", api_key="k", stream=True
            )
        for i in range(100):  # streams that would never end, dropped
            router.completion(
                MODELS["openai"],
                msgs,
                base_url=f"{server.url}/keepalive/k{i}",
                api_key="k",
                stream=True,
                timeout=5,
            )
        resp = router.completion(MODELS["openai"], msgs, base_url=f"{server.url}/ok/after", api_key="k")
        assert isinstance(resp, router.ChatCompletion)
        time.sleep(1.0)  # the in-process server's own ends of the dropped connections notice and close
        assert _fds() <= before + 2, f"{before} -> {_fds()}"


def test_asyncio_run_per_call_leaks_nothing() -> None:
    pools: list[Any] = []

    async def once(url: str) -> Any:
        resp = await router.acompletion(
            MODELS["openai"], [{"role": "user", "content": "Hi"}], base_url=url, api_key="k"
        )
        pools.append(_transport._async_clients[asyncio.get_running_loop()])
        return resp

    with FaultServer() as server:
        asyncio.run(once(f"{server.url}/ok/warm"))
        before = _fds()
        for i in range(100):
            asyncio.run(once(f"{server.url}/ok/a{i}"))
        assert _fds() <= before + 2, f"{before} -> {_fds()}"
    # each loop's pool was closed by that loop's shutdown, not left to the garbage collector
    assert all(pool.is_closed for pool in pools)
    assert not _transport._async_clients


@pytest.mark.parametrize("stream", [False, True])
def test_a_trickle_ends_at_the_deadline(stream: bool) -> None:
    with FaultServer() as server:
        start = time.monotonic()
        with pytest.raises(router.APITimeoutError):
            result = router.completion(
                MODELS["openai"],
                [{"role": "user", "content": "Hi"}],
                base_url=f"{server.url}/trickle/t{stream}",
                api_key="k",
                stream=stream,
                timeout=0.6,
                max_retries=2,
            )
            list(result)  # type: ignore[arg-type]
        assert time.monotonic() - start < 1.1
