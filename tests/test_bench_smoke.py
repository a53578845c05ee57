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
