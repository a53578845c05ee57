"""The gateway's benchmark: ``router serve`` in front of a loopback upstream, against that upstream
called directly, in one run.

    .venv/bin/python examples/bench_gateway.py                 # every figure (about 1-2 minutes)
    .venv/bin/python examples/bench_gateway.py --quick         # tiny, for the smoke test
    .venv/bin/python examples/bench_gateway.py --soak 600      # and memory after a 10-minute soak

Figures:
- added latency p50/p99 at concurrency 1 (sequential plain calls, gateway minus direct, same client);
- sustained req/s at 20 ms upstream latency with 64 connections, and req/s per core of the gateway
  process (requests / its CPU seconds, read from /proc);
- concurrent streams of 64 frames 20 ms apart: how many run at once with no lost frame, and the
  longest gap between two frames of a stream (a stall);
- RSS of the gateway before and after a soak of plain calls.
The load generator is an async httpx2 client in this process (wrk when installed, for the req/s).
Nothing here asserts a number; tests/test_bench_smoke.py runs ``--quick``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx


@contextlib.contextmanager
def gateway(config: Path, env: dict[str, str]) -> Iterator[str]:
    """``router serve --config config`` on a free 127.0.0.1 port, until it answers /health."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = config.with_name(f"serve-{port}.log")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "router", "serve", "--config", str(config), "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
            cwd=config.parent,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"router serve did not start:\n{log.read_text()[-2000:]}")
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


ANSWER = {
    "id": "chatcmpl-bench",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-4o-mini",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
}


def _frame(i: int) -> bytes:
    d = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": {"content": f"t{i} "}, "finish_reason": None}],
    }
    return b"data: " + json.dumps(d).encode() + b"\n\n"


async def _upstream(delay: float, frames: int, frame_delay: float, ready: Any) -> None:
    body = json.dumps(ANSWER).encode()
    plain = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (
        len(body),
        body,
    )
    chunks = [_frame(i) for i in range(frames)] + [b"data: [DONE]\n\n"]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body_in = await reader.readexactly(length) if length else b""
                if b'"stream":true' in body_in.replace(b" ", b""):
                    writer.write(
                        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
                    )
                    for c in chunks:
                        writer.write(b"%x\r\n%s\r\n" % (len(c), c))
                        await writer.drain()
                        await asyncio.sleep(frame_delay)
                    writer.write(b"0\r\n\r\n")
                else:
                    if delay and b"-slow" in body_in:
                        await asyncio.sleep(delay)
                    writer.write(plain)
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
    ready.send(server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


def _serve_upstream(delay: float, frames: int, frame_delay: float, ready: Any) -> None:
    asyncio.run(_upstream(delay, frames, frame_delay, ready))


class Upstream:
    def __init__(self, delay: float = 0.0, frames: int = 64, frame_delay: float = 0.02) -> None:
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve_upstream, args=(delay, frames, frame_delay, child), daemon=True)
        self.proc.start()
        self.url = f"http://127.0.0.1:{parent.recv()}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.join(5)


# The callers' key, on both gateways: a virtual key of router serve, LiteLLM's master key.
CALLER_KEY = "sk-bench-caller-0123456789abcdef"
AUTH = {"authorization": f"Bearer {CALLER_KEY}"}


def _config(folder: Path, upstream: str) -> Path:
    from router.gateway import hash_key  # the gateway extra: the benchmark runs in .venv

    path = folder / "router.yaml"
    path.write_text(
        "config_version: 1\n"
        "defaults: {max_retries: 0}\n"
        f"providers:\n  openai: {{base_url: '{upstream}/v1', api_key_env: BENCH_KEY}}\n"
        f"  openai-compatible: {{base_url: '{upstream}/v1', api_key_env: BENCH_KEY}}\n"
        "models:\n"
        "  - {name: mini, model: openai/gpt-4o-mini}\n"  # OpenAI's own API: passed through
        "  - {name: mini-slow, model: openai/gpt-4o-mini-slow}\n"  # the upstream waits 20 ms
        # an OpenAI-compatible server: translated both ways through the spec
        "  - {name: compat-slow, model: openai-compatible/gpt-4o-mini-slow}\n"
        f"gateway:\n  keys:\n    - {{name: bench, hash: '{hash_key(CALLER_KEY)}'}}\n"
    )
    return path


LITELLM = Path(__file__).resolve().parent.parent / ".venv-litellm" / "bin" / "litellm"


class LiteLLMProxy:
    """The LiteLLM proxy (from .venv-litellm, which tests/check.sh installs) on the same upstream,
    the same two models, one process, its defaults otherwise."""

    def __init__(self, folder: Path, upstream: str) -> None:
        cfg = folder / "litellm.yaml"
        cfg.write_text(
            "model_list:\n"
            + "".join(
                f"  - model_name: {name}\n    litellm_params:\n      model: openai/{model}\n"
                f"      api_base: {upstream}/v1\n      api_key: sk-bench\n"
                for name, model in (("mini", "gpt-4o-mini"), ("mini-slow", "gpt-4o-mini-slow"))
            )
            + f"general_settings:\n  master_key: {CALLER_KEY}\n"
        )
        with socket.socket() as sock:  # a free port
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        env = {
            **os.environ,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LITELLM_TELEMETRY": "False",
            "DISABLE_SCHEMA_UPDATE": "True",
        }
        self.log = folder / "litellm.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [str(LITELLM), "--config", str(cfg), "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=folder,
            )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 180
        while True:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the LiteLLM proxy did not start:\n{self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/health/liveliness", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        kids = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True)
        self.pids = [self.proc.pid, *(int(k) for k in kids.stdout.split())]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def _pid_of(port: int) -> list[int]:
    """The gateway's processes (granian's main and its workers) by the port in their command line."""
    out = subprocess.run(
        ["pgrep", "-f", "--", f"--port {port}"], capture_output=True, text=True
    ).stdout.split()
    pids = [int(p) for p in out]
    for p in list(pids):
        kids = subprocess.run(["pgrep", "-P", str(p)], capture_output=True, text=True).stdout.split()
        pids += [int(k) for k in kids]
    return sorted(set(pids))


def _cpu_s(pids: list[int]) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError):
            continue
    return total


def _rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


BODY = {"model": "mini", "messages": [{"role": "user", "content": "hi"}]}
SLOW_BODY = {"model": "mini-slow", "messages": [{"role": "user", "content": "hi"}]}
COMPAT_BODY = {"model": "compat-slow", "messages": [{"role": "user", "content": "hi"}]}
DIRECT_BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def latency(gw: str, up: str, n: int) -> dict[str, float]:
    """Sequential plain calls, alternating gateway and direct, one keep-alive client each."""
    g, d = [], []
    with httpx.Client(timeout=10, headers=AUTH) as cg, httpx.Client(timeout=10) as cd:
        for _ in range(20):
            cg.post(gw + "/v1/chat/completions", json=BODY)
            cd.post(up + "/v1/chat/completions", json=DIRECT_BODY)
        for _ in range(n):
            t = time.perf_counter()
            cg.post(gw + "/v1/chat/completions", json=BODY).raise_for_status()
            g.append(time.perf_counter() - t)
            t = time.perf_counter()
            cd.post(up + "/v1/chat/completions", json=DIRECT_BODY).raise_for_status()
            d.append(time.perf_counter() - t)

    def pct(xs: list[float], q: float) -> float:
        xs = sorted(xs)
        return xs[min(int(q * len(xs)), len(xs) - 1)] * 1000

    return {
        "gateway_p50_ms": pct(g, 0.5),
        "gateway_p99_ms": pct(g, 0.99),
        "direct_p50_ms": pct(d, 0.5),
        "direct_p99_ms": pct(d, 0.99),
        "added_p50_ms": pct(g, 0.5) - pct(d, 0.5),
        "added_p99_ms": pct(g, 0.99) - pct(d, 0.99),
    }


async def _load(url: str, body: dict[str, Any], seconds: float, conns: int) -> int:
    done = 0
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=conns, max_keepalive_connections=conns)
    async with httpx.AsyncClient(timeout=30, limits=limits, headers=AUTH) as client:

        async def worker() -> None:
            nonlocal done
            while time.monotonic() < stop:
                r = await client.post(url + "/v1/chat/completions", json=body)
                if r.status_code == 200:
                    done += 1

        await asyncio.gather(*(worker() for _ in range(conns)))
    return done


def throughput(
    gw: str, pids: list[int], seconds: float, conns: int, body: dict[str, Any] | None = None
) -> dict[str, float]:
    """Sustained plain req/s through the gateway (20 ms upstream), and per core of gateway CPU.
    Each connection is busy on one request at a time: at most conns / 20 ms (3,200 at 64)."""
    body = SLOW_BODY if body is None else body
    wrk = shutil.which("wrk")
    cpu0, t0 = _cpu_s(pids), time.monotonic()
    if wrk:
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
            f.write(
                'wrk.method = "POST"\nwrk.headers["content-type"] = "application/json"\n'
                f'wrk.headers["authorization"] = "Bearer {CALLER_KEY}"\n'
                f"wrk.body = {json.dumps(json.dumps(body))}\n"
            )
        out = subprocess.run(
            [
                wrk,
                "-t1",
                f"-c{conns}",
                f"-d{max(int(seconds), 1)}s",
                "-s",
                f.name,
                gw + "/v1/chat/completions",
            ],
            capture_output=True,
            text=True,
        ).stdout
        os.unlink(f.name)
        total = 0
        for line in out.splitlines():
            if "requests in" in line:
                total = int(line.split()[0])
            if "Non-2xx" in line:
                total -= int(line.split()[-1])
        tool = "wrk"
    else:
        total = asyncio.run(_load(gw, body, seconds, conns))
        tool = "httpx2"
    wall, cpu = time.monotonic() - t0, _cpu_s(pids) - cpu0
    return {
        "req_s": total / wall,
        "gateway_cpu_s": cpu,
        "req_s_per_core": total / cpu if cpu > 0 else 0.0,
        "connections": conns,
        "load_tool": tool,  # type: ignore[dict-item]
    }


async def _streams(url: str, count: int, frames: int) -> dict[str, float]:
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    body = {**BODY, "stream": True}
    lost = 0
    gaps: list[float] = []
    failed = 0
    async with httpx.AsyncClient(timeout=60, limits=limits, headers=AUTH) as client:

        async def one() -> None:
            nonlocal lost, failed
            got, last, worst = 0, time.monotonic(), 0.0
            try:
                async with client.stream("POST", url + "/v1/chat/completions", json=body) as r:
                    if r.status_code != 200:
                        failed += 1
                        return
                    async for line in r.aiter_lines():
                        if line.startswith("data: {"):
                            now = time.monotonic()
                            worst = max(worst, now - last)
                            last = now
                            got += 1
            except httpx.HTTPError:
                failed += 1
                return
            lost += max(frames - got, 0)
            gaps.append(worst)

        t = time.monotonic()
        await asyncio.gather(*(one() for _ in range(count)))
        wall = time.monotonic() - t
    return {
        "streams": count,
        "failed": failed,
        "lost_frames": lost,
        "worst_gap_ms": max(gaps) * 1000 if gaps else 0.0,
        "median_worst_gap_ms": statistics.median(gaps) * 1000 if gaps else 0.0,
        "wall_s": wall,
    }


def soak(gw: str, pids: list[int], seconds: float) -> dict[str, float]:
    before = _rss_mib(pids)
    n = asyncio.run(_load(gw, BODY, seconds, 16)) if seconds > 0 else 0
    return {"seconds": seconds, "requests": n, "rss_before_mib": before, "rss_after_mib": _rss_mib(pids)}


def _figures(
    url: str, up: str, pids: list[int], quick: bool, stream_counts: list[int], frames: int
) -> dict[str, Any]:
    return {
        "latency_c1": latency(url, up, 50 if quick else 1000),
        "throughput_20ms": throughput(url, pids, 2 if quick else 10, 16 if quick else 64),
        "streams": [_streams_cpu(url, pids, n, frames) for n in ([4] if quick else stream_counts)],
    }


def _streams_cpu(url: str, pids: list[int], count: int, frames: int) -> dict[str, float]:
    """``_streams``, and the gateway's CPU over it: frames relayed per gateway core second (the
    load generator and the upstream share this machine's other cores, so a stall may be theirs)."""
    cpu0 = _cpu_s(pids)
    out = asyncio.run(_streams(url, count, frames))
    cpu = _cpu_s(pids) - cpu0
    relayed = count * frames - out["lost_frames"]
    out["gateway_cpu_s"] = cpu
    out["frames_per_core_s"] = relayed / cpu if cpu > 0 else 0.0
    return out


def run(quick: bool, soak_s: float, stream_counts: list[int], litellm: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    env = {"BENCH_KEY": "sk-bench"}
    frames = 8 if quick else 64
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        up = Upstream(0.02, frames, 0.02)  # 20 ms only for the "-slow" model
        try:
            with gateway(_config(folder, up.url), env=env) as gw:
                pids = _pid_of(int(gw.rsplit(":", 1)[1]))
                out["router"] = _figures(gw, up.url, pids, quick, stream_counts, frames)
                out["router"]["throughput_20ms_translated"] = throughput(
                    gw, pids, 2 if quick else 10, 16 if quick else 64, COMPAT_BODY
                )
                out["router"]["soak"] = soak(gw, pids, soak_s if not quick else 1)
            if litellm:
                if not LITELLM.exists():
                    out["litellm"] = {"skipped": f"{LITELLM} is not installed (tests/check.sh installs it)"}
                else:
                    proxy = LiteLLMProxy(folder, up.url)
                    try:
                        out["litellm"] = _figures(proxy.url, up.url, proxy.pids, quick, stream_counts, frames)
                    finally:
                        proxy.stop()
        finally:
            up.stop()
    return out


def print_report(result: dict[str, Any]) -> None:
    for name, r in result.items():
        if "skipped" in r:
            print(f"{name}: skipped ({r['skipped']})")
            continue
        _print_one(name, r, result.get("router"))


def _print_one(name: str, r: dict[str, Any], ours: dict[str, Any] | None) -> None:
    lat = r["latency_c1"]
    title = "router serve" if name == "router" else "the LiteLLM proxy"
    print(f"{title} against the upstream directly (loopback, one process)")
    print(
        f"  added latency, concurrency 1: p50 {lat['added_p50_ms']:.3f} ms, p99 {lat['added_p99_ms']:.3f} ms"
        f"  (gateway p50 {lat['gateway_p50_ms']:.3f} / p99 {lat['gateway_p99_ms']:.3f};"
        f" direct {lat['direct_p50_ms']:.3f} / {lat['direct_p99_ms']:.3f}); goal p99 <= 1 ms:"
        f" {'ok' if lat['added_p99_ms'] <= 1 else 'MISS'}"
    )
    t = r["throughput_20ms"]
    print(
        f"  sustained at 20 ms upstream latency, {t['connections']} connections ({t['load_tool']})"
        + (" (an OpenAI deployment: passed through)" if name == "router" else "")
        + ":"
        f" {t['req_s']:.0f} req/s, {t['req_s_per_core']:.0f} req/s per gateway core;"
        f" goal >= 1,500 per core: {'ok' if t['req_s_per_core'] >= 1500 else 'MISS'}"
    )
    for s in r["streams"]:
        ok = s["failed"] == 0 and s["lost_frames"] == 0
        print(
            f"  {s['streams']} concurrent streams of 64 frames 20 ms apart: failed {s['failed']},"
            f" lost frames {s['lost_frames']}, worst gap {s['worst_gap_ms']:.0f} ms"
            f" (median of worst {s['median_worst_gap_ms']:.0f} ms), {s['wall_s']:.1f} s,"
            f" {s.get('frames_per_core_s', 0):,.0f} frames per gateway core-second: {'ok' if ok else 'MISS'}"
        )
    if "throughput_20ms_translated" in r:
        tt = r["throughput_20ms_translated"]
        print(
            f"  the same, translated (an openai-compatible deployment: parsed and re-encoded):"
            f" {tt['req_s']:.0f} req/s, {tt['req_s_per_core']:.0f} req/s per gateway core"
        )
    if name != "router" and ours is not None:
        mine = ours["throughput_20ms"]["req_s_per_core"]
        theirs = t["req_s_per_core"]
        print(f"  router serve / LiteLLM, req/s per core: {mine / theirs if theirs else float('inf'):.1f}x")
        return
    k = r["soak"]
    print(
        f"  soak {k['seconds']:.0f} s ({k['requests']} requests): RSS {k['rss_before_mib']:.1f} ->"
        f" {k['rss_after_mib']:.1f} MiB"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="tiny sizes (the smoke test)")
    ap.add_argument("--soak", type=float, default=30.0, help="seconds of the memory soak (600: ten minutes)")
    ap.add_argument("--streams", default="64,256,512", help="concurrent stream counts to try")
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument(
        "--no-litellm",
        action="store_true",
        help="skip the LiteLLM proxy (from .venv-litellm) run the same way",
    )
    ap.add_argument("--litellm", action="store_true", help="run the LiteLLM proxy even with --quick")
    args = ap.parse_args(argv)
    streams = [int(x) for x in args.streams.split(",")]
    litellm = args.litellm or not (args.no_litellm or args.quick)
    result = run(args.quick, args.soak, streams, litellm=litellm)
    print_report(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
