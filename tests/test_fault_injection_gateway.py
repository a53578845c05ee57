"""The fault matrix of tests/test_fault_injection.py, async, through the gateway's upstream client
(router/gateway/_pool.py: httpx2 on aiohttp's pool), which ``router serve`` gives its Router: every
fault x six protocols x plain/stream x max_retries 0 and 2, all on one event loop as in the gateway.
The same rules hold: nothing but a ``RouterError`` escapes, no call outlives its timeout by more than
0.5 s, retries as documented, no partial answer as a success; the connections are closed after."""

from __future__ import annotations

import asyncio
import gc
import itertools
import os
import time
from typing import Any

from faultserver import FaultServer
from test_fault_injection import FAST
from test_fault_injection import MODELS
from test_fault_injection import SLOW
from test_fault_injection import TIMEOUT
from test_fault_injection import Outcome
from test_fault_injection import _check
from test_fault_injection import _text

import router
from router.gateway._pool import gateway_client


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def _one(
    client: Any, server: FaultServer, fault: str, provider: str, stream: bool, retries: int, n: int
) -> Outcome:
    call = f"gw-{fault}-{provider}-{int(stream)}-{retries}-{n}"
    messages = [{"role": "user", "content": "Hi"}]
    start = time.monotonic()
    error: BaseException | None = None
    text: str | None = None
    try:
        result: Any = await router.acompletion(
            MODELS[provider],
            messages,
            base_url=f"{server.url}/{fault}/{call}",
            api_key="k",
            timeout=TIMEOUT,
            max_retries=retries,
            stream=stream,
            max_response_bytes=4 << 20,
            max_event_bytes=1 << 20,
            http_client=client,
        )
        text = _text([c async for c in result] if stream else result)
    except BaseException as exc:
        error = exc
    return Outcome(
        fault, provider, "async", stream, retries, time.monotonic() - start, server.hits[call], error, text
    )


def test_fault_matrix_through_the_gateway_client() -> None:
    combos = [
        (fault, provider, stream, retries, n)
        for fault in sorted(FAST | SLOW)
        for provider, stream, retries in itertools.product(MODELS, (False, True), (0, 2))
        for n in range(2 if fault in FAST else 1)
    ]
    assert len(combos) >= 500
    fds_before = _fds()

    async def main(server: FaultServer) -> list[Outcome]:
        client = gateway_client()
        assert client is not None  # aiohttp: the gateway extra, in the dev install
        gate = asyncio.Semaphore(32)

        async def bounded(args: tuple[Any, ...]) -> Outcome:
            async with gate:
                return await _one(client, server, *args)

        lag = 0.0

        async def watch_loop() -> None:  # how late the loop wakes a sleeper: a stall of the machine's
            nonlocal lag
            while True:
                t = time.monotonic()
                await asyncio.sleep(0.05)
                lag = max(lag, time.monotonic() - t - 0.05)

        watcher = asyncio.create_task(watch_loop())
        try:
            outcomes = list(await asyncio.gather(*(bounded(c) for c in combos)))
            watcher.cancel()
            # A call over the time bound while 32 share the loop is run again alone, once, and every
            # rule is checked on that run: a deadline the router misses misses again alone (it is in
            # the code); a stall of the loop's (a full collection late in the suite) does not.
            for i, o in enumerate(outcomes):
                # A loop stalled past the deadline also fails calls before they are sent (0 requests):
                # those are run again alone too when the loop was seen stalling.
                if o.seconds > TIMEOUT + 0.5 or (lag > 0.25 and _check(o)):
                    fault, provider, stream, retries, n = combos[i]
                    again = await _one(client, server, fault, provider, stream, retries, 1000 + n)
                    print(
                        f"  run again alone: {fault} {provider} {o.seconds:.2f} s, {o.hits} requests; alone {again.seconds:.2f} s, {again.hits}"
                    )
                    outcomes[i] = again
            print(f"  the loop woke a sleeper at most {lag:.2f} s late")
            return outcomes
        finally:
            watcher.cancel()
            await client.aclose()

    # Objects the earlier tests left are moved out of the collector's reach for the run: a full
    # collection of a large heap stalled the loop past the calls' 1 s deadline (CI, late in the suite).
    gc.collect()
    gc.freeze()
    try:
        with FaultServer() as server:
            outcomes = asyncio.run(main(server))
    finally:
        gc.unfreeze()
    problems = [p for o in outcomes for p in _check(o)]
    slowest = max(outcomes, key=lambda o: o.seconds)
    print(
        f"\ngateway-client fault matrix: {len(outcomes)} calls, max {slowest.seconds:.2f} s "
        f"({slowest.fault}); fds {fds_before} -> {_fds()}"
    )
    assert not problems, "\n".join(problems[:300]) + f"\n({len(problems)} problems)"
    assert _fds() <= fds_before + 2, f"file descriptors {fds_before} -> {_fds()}"
