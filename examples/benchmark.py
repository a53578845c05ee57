"""Hot-path figures: import time, request translation, stream framing and chunk decoding.

    .venv/bin/python examples/benchmark.py

Prints medians of repeated timings on this machine; nothing here asserts a number (figures are
measured, never held by timed tests). The recorded streams come from ../shared/fixtures/real.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import timeit
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "fixtures" / "real"
MSGS = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello there"}]
PROVIDERS = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-haiku-4-5",
    "gemini": "gemini-2.5-flash",
    "ollama": "llama3.2",
    "groq": "llama-3.1-8b-instant",
}
STREAMS = {
    "openai": "openai/stream_text_after_tool_result.json",
    "anthropic": "anthropic/stream_text_langchaingo.json",
    "gemini": "gemini/stream_sse_gemini3_thinking.json",
    "ollama": "ollama/stream_format_json.json",
}


def median_us(fn: Any, number: int, repeat: int = 7, per: int = 1) -> float:
    runs = timeit.repeat(fn, number=number, repeat=repeat)
    return statistics.median(runs) / number / per * 1e6


def import_ms() -> float:
    code = "import time; t = time.perf_counter(); import router; print((time.perf_counter() - t) * 1000)"
    runs = [
        float(subprocess.check_output([sys.executable, "-c", code], cwd=ROOT, text=True)) for _ in range(5)
    ]
    return statistics.median(runs)


def main() -> None:
    from router._registry import adapter
    from router._streaming import make_parser

    print(f"import router: {import_ms():.1f} ms (median of 5 fresh interpreters)")
    print("\nbuild_request, plain two-message request (µs per request):")
    for provider, model in PROVIDERS.items():
        mod = adapter(provider)
        req = {"model": model, "messages": MSGS, "temperature": 0.3, "max_tokens": 100}
        print(
            f"  {provider:<10} {median_us(lambda m=mod, r=req: m.build_request(r, api_key='k'), 5000):6.2f}"
        )
    from router.protocols._validate import check_request

    req = {"model": "gpt-4o", "messages": MSGS, "temperature": 0.3, "max_tokens": 100}
    print(
        f"\nrequest validation (part of build_request above), plain request: {median_us(lambda: check_request(req), 20000):.2f} µs"
    )
    print("\nstreams (µs per event): framing = bytes -> events; decode = events -> unified chunks")
    for provider, name in STREAMS.items():
        mod = adapter(provider)
        case = json.loads((REAL / name).read_text())
        raw = case["response"]["raw_stream"].encode()
        framing = mod.config.stream.framing
        parser = make_parser(framing)
        events = parser.feed(raw) + parser.close()
        n = len(events)

        def frame(raw: bytes = raw, framing: str = framing) -> None:
            p = make_parser(framing)
            p.feed(raw)
            p.close()

        def decode(mod: Any = mod, events: list[Any] = events) -> None:
            d = mod.stream_decoder()
            for e in events:
                d.feed(e)
                if d.done:
                    break

        print(
            f"  {provider:<10} {n:>3} events  framing {median_us(frame, 200, per=n):5.2f}"
            f"  decode {median_us(decode, 200, per=n):5.2f}"
        )


if __name__ == "__main__":
    main()
