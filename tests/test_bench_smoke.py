"""examples/bench_http.py runs end to end (--quick): a table and a JSON file with a router/raw ratio
per protocol and measure. It times nothing itself and never asserts a speed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROTOCOLS = ("openai", "anthropic", "gemini", "ollama")
MEASURES = ("sync_req_s", "async_req_s", "stream_chunks_s", "cpu_us_req", "cpu_us_req_async", "cpu_us_chunk")


def test_bench_http_quick(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    r = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "bench_http.py"), "--quick", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr[-4000:]
    assert "ratio router/httpx" in r.stdout
    for p in PROTOCOLS:
        assert any(line.startswith(p) for line in r.stdout.splitlines()), r.stdout
    result = json.loads(out.read_text())
    assert "raw_httpx" in result["raw_clients"]
    for p in PROTOCOLS:
        for m in MEASURES:
            entry = result["protocols"][p][m]
            for raw in result["raw_clients"]:
                ratio = entry[f"ratio_router_{raw}"]
                assert ratio["median"] > 0, (p, m, raw)
                assert len(ratio["values"]) == result["settings"]["rounds"]


def test_bench_whole_quick(tmp_path: Path) -> None:
    """examples/bench.py (the one benchmark command) runs end to end and reports every budget."""
    out = tmp_path / "all.json"
    r = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "bench.py"),
            "--quick",
            "--no-footprint",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert r.returncode == 0, r.stderr[-4000:]
    assert "budgets (issue 12)" in r.stdout
    result = json.loads(out.read_text())
    names = [row["budget"] for row in result["budgets"]]
    for p in PROTOCOLS:
        for part in ("sync_req_s", "async_req_s", "stream_chunks_s", "cpu_us_req over", "framing + decode"):
            assert any(n.startswith(p) and part in n for n in names), (p, part, names)
    assert any("import router + all adapters" in n for n in names)
    assert any("router build" in n for n in names)
    assert all(isinstance(row["holds"], bool) for row in result["budgets"])


def test_bench_peers_quick() -> None:
    """examples/bench.py --compare litellm,openai: the peers (in .venv-litellm, which tests/check.sh
    installs) and the router, each a fresh process against the loopback upstream, report every figure."""
    if not (ROOT / ".venv-litellm" / "bin" / "python").exists():
        raise AssertionError(
            "no .venv-litellm: tests/check.sh did not run (it installs LiteLLM and the openai SDK)"
        )
    sys.path.insert(0, str(ROOT / "examples"))  # kept while it runs: its upstream process imports bench_http
    try:
        import bench_peers

        result = bench_peers.run(["openai", "litellm"], 1, 10, 1, 20)
    finally:
        sys.path.remove(str(ROOT / "examples"))
    assert "error" not in result, result
    for sdk in ("router", "openai", "litellm"):
        figures = result["clients"][sdk]
        assert "error" not in figures, (sdk, figures)
        for name in bench_peers.FIGURES:
            assert figures[name] > 0, (sdk, name)


def test_bench_gateway_quick(tmp_path: Path) -> None:
    """examples/bench_gateway.py --quick --litellm: router serve and the LiteLLM proxy (from
    .venv-litellm) in front of one loopback upstream, every figure printed and written."""
    if not (ROOT / ".venv-litellm" / "bin" / "litellm").exists():
        raise AssertionError("no .venv-litellm: tests/check.sh did not run (it installs the LiteLLM proxy)")
    out = tmp_path / "gateway.json"
    script = str(ROOT / "examples" / "bench_gateway.py")
    proc = subprocess.run(
        [sys.executable, script, "--quick", "--litellm", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for line in ("added latency, concurrency 1", "req/s per gateway core", "concurrent streams", "soak"):
        assert line in proc.stdout, (line, proc.stdout)
    assert "router serve / LiteLLM, req/s per core" in proc.stdout
    result = json.loads(out.read_text())
    for side in ("router", "litellm"):
        figures = result[side]
        assert figures["latency_c1"]["gateway_p99_ms"] > 0
        assert figures["throughput_20ms"]["req_s"] > 0
        assert figures["streams"][0]["failed"] == 0
    assert result["router"]["streams"][0]["lost_frames"] == 0
    assert result["router"]["soak"]["requests"] > 0


def test_bench_instructions_smoke() -> None:
    """examples/bench_instructions.py's workloads run (without valgrind, which makes them ~50x slower)."""
    r = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "bench_instructions.py"), "--smoke"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr[-4000:]
    for p in PROTOCOLS:
        for w in ("raw_plain", "router_plain", "raw_stream", "router_stream", "raw_frames", "router_frames"):
            assert f"ok {p} {w}" in r.stdout, r.stdout
