"""The router beside its peers (``examples/bench.py --compare litellm,openai``): the official openai SDK
and LiteLLM, installed in their own virtual environment (``.venv-litellm``, the one tests/check.sh
installs for the LiteLLM proxy test: ``litellm[proxy]``, which brings the openai SDK with it; made here
when missing), against the same loopback upstream as examples/bench_http.py, OpenAI protocol.

Each round runs every client once as a fresh process (examples/bench_peer_client.py), in a rotating
order: import time, sequential plain req/s and client CPU per request, 500-chunk stream chunks/s and
CPU per chunk. Figures are medians over rounds; ratios are the router's figure over the peer's (> 1:
the router does more per second, or costs more CPU).
"""

from __future__ import annotations

import json
import multiprocessing
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import bench_http

ROOT = Path(__file__).resolve().parent.parent
CLIENT = Path(__file__).with_name("bench_peer_client.py")
PEER_VENV = ROOT / ".venv-litellm"
PEERS = ("openai", "litellm")
FIGURES = ("import_ms", "sync_req_s", "cpu_us_req", "stream_chunks_s", "cpu_us_chunk")


def peer_python() -> tuple[Path | None, str]:
    """The peers' interpreter, installing them (1-4 minutes, once) when missing; (None, why) if not."""
    py = PEER_VENV / "bin" / "python"
    if not (PEER_VENV / "bin" / "litellm").exists():
        print("installing the peers into .venv-litellm (once; 1 to 4 minutes)", file=sys.stderr)
        done = subprocess.run(
            ["bash", "-c", "source tests/litellm_env.sh && ensure_litellm"], cwd=ROOT, check=False
        )
        if done.returncode != 0 or not py.exists():
            return None, "could not install litellm[proxy] into .venv-litellm (see .venv-litellm.log)"
    return py, ""


def _one(python: Path, sdk: str, base: str, requests: int, streams: int, chunks: int) -> dict[str, Any]:
    args = [str(python), str(CLIENT), sdk, base, str(requests), str(streams), str(chunks)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1][:300]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run(peers: list[str], rounds: int, requests: int, streams: int, chunks: int) -> dict[str, Any]:
    unknown = [p for p in peers if p not in PEERS]
    if unknown:
        raise SystemExit(f"unknown peer(s) {', '.join(unknown)}; known: {', '.join(PEERS)}")
    python, why = peer_python()
    if python is None:
        return {"error": why}
    pythons = {"router": Path(sys.executable), **dict.fromkeys(peers, python)}
    ctx = multiprocessing.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    upstream = ctx.Process(target=bench_http.serve, args=(chunks, send), daemon=True)
    upstream.start()
    send.close()
    runs: dict[str, list[dict[str, Any]]] = {sdk: [] for sdk in pythons}
    try:
        if not recv.poll(30):
            return {"error": "the upstream did not start"}
        base = f"http://127.0.0.1:{recv.recv()}"
        order = list(pythons)
        for r in range(rounds):
            for sdk in order[r % len(order) :] + order[: r % len(order)]:
                runs[sdk].append(_one(pythons[sdk], sdk, base, requests, streams, chunks))
    finally:
        upstream.terminate()
        upstream.join(5)
    out: dict[str, Any] = {"settings": {"rounds": rounds, "requests": requests, "streams": streams,
                                        "chunks": chunks}, "clients": {}}  # fmt: skip
    for sdk, got in runs.items():
        ok = [g for g in got if "error" not in g]
        if not ok:
            out["clients"][sdk] = {"error": got[0]["error"] if got else "not run"}
            continue
        out["clients"][sdk] = {f: statistics.median(g[f] for g in ok) for f in FIGURES}
    return out


def print_table(result: dict[str, Any]) -> None:
    if "error" in result:
        print(f"peers: not measured: {result['error']}")
        return
    s = result["settings"]
    print(
        f"router vs peers, OpenAI protocol on the loopback upstream: {s['rounds']} rounds, fresh process "
        f"each, {s['requests']} plain requests, {s['streams']} streams of {s['chunks']} chunks"
    )
    clients = result["clients"]
    mine = clients.get("router", {})
    print(f"  {'client':<8} " + " ".join(f"{f:>16}" for f in FIGURES))
    for sdk, figures in clients.items():
        if "error" in figures:
            print(f"  {sdk:<8} failed: {figures['error']}")
            continue
        print(f"  {sdk:<8} " + " ".join(f"{figures[f]:>16,.1f}" for f in FIGURES))
    for sdk, figures in clients.items():
        if sdk == "router" or "error" in figures or "error" in mine:
            continue
        ratios = ", ".join(f"{f} {mine[f] / figures[f]:.2f}x" for f in FIGURES if figures[f])
        print(f"  router / {sdk}: {ratios}")
