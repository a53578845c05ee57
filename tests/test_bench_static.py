"""examples/bench_static.py runs end to end (--quick --json): every section's figures are in the JSON
and positive. It asserts no speed: the figures are measured, never held by a timed test."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PROTOCOLS = ("openai", "anthropic", "gemini", "ollama", "openai_responses", "cohere_chat_v2")
SHAPES = ("plain", "tools5", "conv20")
REQUEST = ("validate_us", "build_request_us", "call_us", "raw_us", "body_bytes")
PARSE = ("parse_response_us", "finish_us", "raw_json_us", "body_bytes")
STREAM = (
    "events",
    "bytes",
    "chunks_out",
    "framing_us_per_event",
    "decode_us_per_event",
    "router_us_per_event",
    "raw_us_per_event",
    "ratio_router_raw",
)
VARIANTS = (
    "python -c pass",
    "import httpx",
    "import httpx2",
    "import router",
    "import router + all adapters",
)
COLD = ("wall_ms", "wall_ms_min", "rss_mib", "peak_rss_mib")
DEP_SETS = ("runtime_install_with_router", "runtime_only", "build_tools_only", "httpx_own", "httpx2_own")
PARTS = (
    "router (top-level modules)",
    "router/protocols",
    "router/generated",
    "router/compiler",
    "router/cli",
)
BUILD = ("specs", "modules_written", "cli_startup_ms", "build_ms", "validate_ms")


def _positive(where: str, entry: dict[str, Any], keys: tuple[str, ...]) -> None:
    for key in keys:
        assert key in entry, f"{where}: {key} missing ({sorted(entry)})"
        value = entry[key]
        assert isinstance(value, int | float) and value > 0, f"{where}.{key} = {value!r}"


def test_bench_static_quick(tmp_path: Path) -> None:
    out = tmp_path / "static.json"
    r = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "bench_static.py"), "--quick", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr[-4000:]
    for title in (
        "requests, µs per request",
        "plain answer",
        "streams, µs per event",
        "cold start",
        "router CLI",
    ):
        assert title in r.stdout, r.stdout
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["settings"]["quick"] is True
    assert "codecs_not_measured" not in result["environment"], result["environment"]
    for p in PROTOCOLS:
        entry = result["pure"][p]
        for shape in SHAPES:
            _positive(f"pure.{p}.requests.{shape}", entry["requests"][shape], REQUEST)
        _positive(f"pure.{p}.parse", entry["parse"], PARSE)
        _positive(f"pure.{p}.stream", entry["stream"], STREAM)
    cold = result["cold_start"]["variants"]
    for v in VARIANTS:
        _positive(f"cold_start.{v}", cold[v], COLD)
        if v != "python -c pass":
            _positive(f"cold_start.{v}", cold[v], ("import_ms_in_process",))
    fp = result["footprint"]
    assert "error" not in fp, fp
    _positive("footprint.wheel", fp["wheel"], ("bytes", "kib"))
    _positive(
        "footprint.installed", fp["installed"], ("source_kib", "with_pyc_kib", "files", "runtime_source_kib")
    )
    for part in PARTS:
        _positive(
            f"footprint.installed.parts[{part}]", fp["installed"]["parts"][part], ("source_kib", "files")
        )
    for s in DEP_SETS:
        _positive(f"footprint.dependencies.{s}", fp["dependencies"][s], ("source_kib", "with_pyc_kib"))
    _positive("build", result["build"], BUILD)
