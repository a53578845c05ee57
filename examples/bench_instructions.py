"""The router against raw httpx2 in CPU instructions (valgrind's callgrind): a figure that repeats.

    .venv/bin/python examples/bench_instructions.py                  # every protocol (~4-6 minutes)
    .venv/bin/python examples/bench_instructions.py --protocols openai --json out.json
    .venv/bin/python examples/bench_instructions.py --smoke          # the workloads once, no valgrind

On a shared 2-core VM the wall-clock and CPU-time figures of examples/bench.py move 10-30% from round
to round (the min-max columns show it), so a few µs of the router's own cost per request cannot be
told from the machine's noise. Instructions retired by the client process can: callgrind counts them
the same, within a fraction of a percent, whatever else the machine does. Each figure here is
``(I(N) - I(0)) / N``: the instructions of a process that made N calls (after the same warm-up), less
those of one that made none, so start-up and imports cancel out.

Per protocol, on the loopback upstream of examples/bench_http.py (a separate, uncounted process):
- ``plain``: one non-streamed call, router.completion against a raw httpx2 post (build the dict,
  ``json.dumps``, post, ``json.loads``, pick the text), per request;
- ``stream``: one streamed call of ``--chunks`` chunks, router.completion(stream=True) against raw
  httpx2 ``iter_lines`` + ``json.loads`` per event, per chunk;
- ``framing + decode``: the frames of that stream framed and decoded into typed chunks, without a
  network, against a raw split into lines + ``json.loads`` (the ≤ 3 µs budget of issue 12), per chunk.
Nothing here asserts a number.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_http

HERE = Path(__file__).resolve()
WORKLOADS = ("raw_plain", "router_plain", "raw_stream", "router_stream", "raw_frames", "router_frames")
_COLLECTED = re.compile(rb"Collected : (\d+)")


# --------------------------------------------------------------------------------------------------
# The worker: one process, one workload, N times after a warm-up
# --------------------------------------------------------------------------------------------------


def _workload(name: str, protocol: str, port: int, chunks: int) -> Any:
    base = f"http://127.0.0.1:{port}"
    if name in ("raw_frames", "router_frames"):
        from router import _registry

        frames = bench_http._frames(protocol, chunks)
        adapter = _registry.adapter(protocol)
        framing = adapter.config.stream.framing
        if name == "raw_frames":
            import bench

            ndjson = framing == "ndjson"
            return lambda: bench._raw_events(frames, ndjson)
        from router._streaming import make_parser
        from router._types import Receipt

        def both() -> None:
            parser = make_parser(framing)
            decoder = adapter.stream_decoder(receipt=Receipt(provider=protocol, model="m"))
            for f in frames:
                for ev in parser.feed(f):
                    decoder.feed(ev)

        return both
    if name.startswith("raw"):
        import httpx2

        client = httpx2.Client(limits=bench_http._limits(httpx2))
        if name == "raw_plain":
            return lambda: bench_http.raw_plain(client, protocol, base)
        return lambda: bench_http.raw_stream(client, protocol, base)
    if name == "router_plain":
        return lambda: bench_http.router_plain(None, protocol, base)
    return lambda: bench_http.router_stream(None, protocol, base)


def worker(name: str, protocol: str, port: int, chunks: int, n: int) -> None:
    fn = _workload(name, protocol, port, chunks)
    for _ in range(10):  # warm: the pool's connection, caches, first-use imports
        fn()
    for _ in range(n):
        fn()


# --------------------------------------------------------------------------------------------------
# The driver
# --------------------------------------------------------------------------------------------------


def _count(name: str, protocol: str, port: int, chunks: int, n: int) -> int:
    cmd = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        str(HERE),
        "--worker",
        name,
        protocol,
        str(port),
        str(chunks),
        str(n),
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}  # the same dict layouts, run to run
    r = subprocess.run(cmd, capture_output=True, env=env, timeout=1800, check=False)
    found = _COLLECTED.search(r.stderr)
    if r.returncode != 0 or found is None:
        raise RuntimeError(f"{name} {protocol}: valgrind failed: {r.stderr[-2000:].decode(errors='replace')}")
    return int(found.group(1))


def _per_unit(name: str, protocol: str, port: int, chunks: int, n: int) -> float:
    """Instructions per call (plain) or per chunk (stream, frames)."""
    zero = _count(name, protocol, port, chunks, 0)
    many = _count(name, protocol, port, chunks, n)
    per_call = (many - zero) / n
    frames = len(bench_http._frames(protocol, chunks))
    return per_call if name.endswith("plain") else per_call / frames


def run(protocols: list[str], requests: int, streams: int, chunks: int, jobs: int) -> dict[str, Any]:
    parent, child = mp.Pipe()
    upstream = mp.get_context("spawn").Process(target=bench_http.serve, args=(chunks, child), daemon=True)
    upstream.start()
    try:
        port = parent.recv()
        counts = {"raw_plain": requests, "router_plain": requests, "raw_stream": streams}
        counts |= {"router_stream": streams, "raw_frames": streams * 2, "router_frames": streams * 2}
        tasks = [(w, p) for p in protocols for w in WORKLOADS]
        with ThreadPoolExecutor(jobs) as pool:  # callgrind's counts do not depend on the machine's load
            figures = list(pool.map(lambda t: _per_unit(t[0], t[1], port, chunks, counts[t[0]]), tasks))
    finally:
        upstream.terminate()
        upstream.join(5)
    out: dict[str, Any] = {p: {} for p in protocols}
    for (w, p), f in zip(tasks, figures, strict=True):
        out[p][w] = round(f)
    for p in protocols:
        r = out[p]
        for kind in ("plain", "stream", "frames"):
            r[f"ratio_{kind}"] = round(r[f"router_{kind}"] / r[f"raw_{kind}"], 3)
    return {
        "settings": {"requests": requests, "streams": streams, "chunks": chunks},
        "protocols": out,
    }


def print_table(result: dict[str, Any]) -> None:
    s = result["settings"]
    print(
        f"instructions (callgrind) of the client process: {s['requests']} plain calls, {s['streams']} "
        f"streams of {s['chunks']} chunks; router / raw httpx2"
    )
    head = f"  {'protocol':<10} {'per request':>24} {'per stream chunk':>26} {'framing+decode per chunk':>30}"
    print(head)
    print("  " + "-" * (len(head) - 2))
    for p, r in result["protocols"].items():
        cells = []
        for kind, width in (("plain", 24), ("stream", 26), ("frames", 30)):
            cell = f"{r[f'router_{kind}']:,} / {r[f'raw_{kind}']:,} = {r[f'ratio_{kind}']:.2f}"
            cells.append(f"{cell:>{width}}")
        print(f"  {p:<10} {' '.join(cells)}")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--worker"]:
        name, protocol, port, chunks, n = args[1:6]
        worker(name, protocol, int(port), int(chunks), int(n))
        return 0
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--protocols", default=",".join(bench_http.PROTOCOLS))
    ap.add_argument("--requests", type=int, default=200, help="plain calls per count (default 200)")
    ap.add_argument("--streams", type=int, default=20, help="streams per count (default 20)")
    ap.add_argument("--chunks", type=int, default=100, help="chunks per stream (default 100)")
    ap.add_argument("--jobs", type=int, default=2, help="valgrind processes at once (default 2)")
    ap.add_argument("--json", dest="json_out", default=None)
    ap.add_argument("--smoke", action="store_true", help="run every workload twice, without valgrind")
    a = ap.parse_args(args)
    protocols = [p.strip() for p in a.protocols.split(",") if p.strip()]
    unknown = [p for p in protocols if p not in bench_http.PROTOCOLS]
    if unknown:
        ap.error(f"unknown protocol(s): {', '.join(unknown)}")
    if a.smoke:
        parent, child = mp.Pipe()
        upstream = mp.get_context("spawn").Process(target=bench_http.serve, args=(5, child), daemon=True)
        upstream.start()
        try:
            port = parent.recv()
            for p in protocols:
                for w in WORKLOADS:
                    fn = _workload(w, p, port, 5)
                    fn()
                    fn()
                    print(f"ok {p} {w}")
        finally:
            upstream.terminate()
            upstream.join(5)
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 1
    started = time.perf_counter()
    result = run(protocols, a.requests, a.streams, a.chunks, a.jobs)
    print_table(result)
    result["total_s"] = round(time.perf_counter() - started, 1)
    print(f"\nwhole run: {result['total_s']:.0f} s")
    if a.json_out:
        Path(a.json_out).write_text(json.dumps(result, indent=2))
        print(f"wrote {a.json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
