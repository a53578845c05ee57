"""One client of the peer comparison (examples/bench_peers.py), run as its own process in its own
virtual environment: ``python bench_peer_client.py SDK BASE REQUESTS STREAMS CHUNKS`` prints one JSON
object (import ms, sequential plain req/s and client CPU µs per request, stream chunks/s and CPU µs
per chunk) for SDK = router, openai or litellm calling the OpenAI protocol at BASE.

It imports nothing of this repository but the SDK it measures, so it runs in a peer's venv as is.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from collections.abc import Callable
from typing import Any

MESSAGES = [{"role": "user", "content": "Hi"}]


def _clients(sdk: str, base: str) -> tuple[Callable[[], str], Callable[[], int]]:
    """(a plain call returning its text, a streamed call returning its content chunks)."""
    if sdk == "router":
        import router

        def plain() -> str:
            r = router.completion(model="openai/m", messages=MESSAGES, base_url=f"{base}/v1", api_key="k")
            return r.choices[0].message.content or ""

        def stream() -> int:
            s = router.completion(
                model="openai/m", messages=MESSAGES, base_url=f"{base}/v1", api_key="k", stream=True
            )
            return sum(1 for c in s if c.choices and c.choices[0].delta.content)

        return plain, stream
    if sdk == "openai":
        openai: Any = importlib.import_module("openai")  # the peer's venv has it, maybe not this one

        client = openai.OpenAI(base_url=f"{base}/v1", api_key="k", max_retries=0)

        def oplain() -> str:
            r: Any = client.chat.completions.create(model="m", messages=MESSAGES)
            return str(r.choices[0].message.content or "")

        def ostream() -> int:
            s = client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
            return sum(1 for c in s if c.choices and c.choices[0].delta.content)

        return oplain, ostream
    if sdk == "litellm":
        litellm: Any = importlib.import_module("litellm")

        kwargs: dict[str, Any] = {"model": "openai/m", "api_base": f"{base}/v1", "api_key": "k"}

        def lplain() -> str:
            r = litellm.completion(messages=MESSAGES, **kwargs)
            return str(r.choices[0].message.content or "")

        def lstream() -> int:
            s = litellm.completion(messages=MESSAGES, stream=True, **kwargs)
            return sum(1 for c in s if c.choices and c.choices[0].delta.content)

        return lplain, lstream
    raise SystemExit(f"unknown sdk {sdk!r}")


def main(argv: list[str]) -> int:
    sdk, base = argv[0], argv[1]
    requests, streams, chunks = int(argv[2]), int(argv[3]), int(argv[4])
    t0 = time.perf_counter()
    plain, stream = _clients(sdk, base)
    import_ms = (time.perf_counter() - t0) * 1e3
    for _ in range(max(3, requests // 20)):  # warm: connections, lazy imports, caches
        plain()
    stream()
    c0, w0 = time.process_time(), time.perf_counter()
    for _ in range(requests):
        if not plain():
            raise SystemExit("a plain answer with no text")
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    c1, w1 = time.process_time(), time.perf_counter()
    got = 0
    for _ in range(streams):
        got += stream()
    swall, scpu = time.perf_counter() - w1, time.process_time() - c1
    if got != streams * chunks:
        raise SystemExit(f"streams gave {got} content chunks, expected {streams * chunks}")
    out = {
        "sdk": sdk,
        "import_ms": round(import_ms, 1),
        "sync_req_s": round(requests / wall, 1),
        "cpu_us_req": round(cpu / requests * 1e6, 1),
        "stream_chunks_s": round(got / swall, 1),
        "cpu_us_chunk": round(scpu / got * 1e6, 2),
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
