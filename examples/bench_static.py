"""The router's own costs without a network: request translation, answer parsing, stream framing and
decoding per protocol; cold start and RSS; wheel and installed size; ``router build`` time.

    .venv/bin/python examples/bench_static.py                    # everything (~40-60 s)
    .venv/bin/python examples/bench_static.py --quick --json out.json
    .venv/bin/python examples/bench_static.py --no-footprint     # skip the wheel and the installs

Importable: ``run(quick=False) -> dict`` (JSON-able), ``print_table(result)``, ``main(argv)``.

Sections (every time a median of repeated ``timeit`` runs on this machine, in µs; nothing here
asserts a number):

- ``pure``: per protocol (each codec in router/protocols, through its built-in provider) and per
  request shape (a plain system + user request, a request with 5 tools, a 20-message conversation
  with one tool call and its result):
  ``validate`` (the request checks alone), ``build_request`` (the adapter: checks + translation +
  URL/headers), ``call`` (``router.completion(...)`` up to the moment it hands the request to the
  HTTP client: option normalisation, model resolution, receipt, build_request, the retry/timeout
  set-up and the client's own ``build_request``, i.e. the JSON encoding; the client's ``send`` is
  replaced by one that raises) and ``raw`` (the same body posted by hand: ``client.build_request``
  + the same ``send``), so ``call - raw`` is the router's cost before a request leaves.
  ``parse_response`` of a recorded plain answer (bytes in; ``finish`` adds the cost lookup the call
  path does) against a bare ``json.loads``. Streams: a recording cut into one byte chunk per event
  (as a server flushes them), framed by router/_streaming.py (``framing``), decoded into chunks
  (``decode``), both as the call path chains them (``router``), against the raw approach (split the
  bytes into lines, ``json.loads`` every data line), in µs per event.
- ``cold_start``: fresh ``python -c`` processes (interleaved variants, median wall time), the
  in-process import time and the RSS (VmRSS, and VmHWM: the peak) after the import.
- ``footprint``: the wheel, the installed ``router`` package by folder (file sizes; source files
  alone and with the ``__pycache__`` pip compiles), and the dependency set: runtime-only against
  build-time tools against httpx's own (installed from the package index with ``pip --target``, or
  read from this venv's installed distributions under ``--quick`` or when no index answers).
- ``build``: ``router build --out TMP`` of every spec and ``router validate specs``, wall time of
  the CLI process, against ``router --help`` (the CLI's start-up).

The recordings come from tests/fixtures/real/ (the providers' own traffic) and, for the protocols
with no plain or stream recording there, tests/fixtures/harvested/.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
import zipfile
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

import httpx2

import router

if TYPE_CHECKING:
    from router._adapter import Adapter

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
PYTHON = sys.executable
BIN = Path(PYTHON).parent


@dataclass(frozen=True)
class Case:
    name: str  # the protocol's name in the report
    codec: str  # its module in router/protocols
    provider: str  # the built-in provider it is measured through
    model: str
    plain: str  # a recorded plain answer, under tests/fixtures
    stream: str  # a recorded stream, under tests/fixtures


CASES = (
    Case("openai", "openai_chat", "openai", "gpt-4o-mini",
         "real/openai/json_object_response_format.json", "real/openai/stream_text_after_tool_result.json"),
    Case("anthropic", "anthropic_messages", "anthropic", "claude-haiku-4-5",
         "real/anthropic/max_tokens_stop.json", "real/anthropic/stream_text_langchaingo.json"),
    Case("gemini", "gemini", "gemini", "gemini-2.5-flash",
         "real/gemini/gemini3_thinking.json", "real/gemini/stream_sse_gemini3_thinking.json"),
    Case("ollama", "ollama_chat", "ollama", "llama3.2",
         "real/ollama/chat_tool_result_followup.json", "real/ollama/stream_format_json.json"),
    Case("openai_responses", "openai_responses", "openai-responses", "gpt-4o-mini",
         "harvested/azure-openai/text.json", "harvested/openai/stream_json_object.json"),
    Case("cohere_chat_v2", "cohere_chat_v2", "cohere", "command-a-03-2025",
         "harvested/cohere/text.json", "harvested/cohere/stream_text.json"),
)  # fmt: skip

# --------------------------------------------------------------------------------------------------
# The requests
# --------------------------------------------------------------------------------------------------

SYSTEM = {"role": "system", "content": "You are a concise assistant. Answer in one or two sentences."}
PLAIN: list[dict[str, Any]] = [SYSTEM, {"role": "user", "content": "What is the capital of Australia?"}]


def _fn(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": required, "additionalProperties": False}
    return {"type": "function", "function": {"name": name, "description": description, "parameters": schema}}


TOOLS: list[dict[str, Any]] = [
    _fn("get_weather", "Current weather and a 3-day forecast for a place.", {
        "location": {"type": "string", "description": "City and country, e.g. 'Paris, France'"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"},
        "days": {"type": "integer", "minimum": 1, "maximum": 3},
    }, ["location"]),
    _fn("search_web", "Search the web and return the top results with titles, URLs and snippets.", {
        "query": {"type": "string", "minLength": 1},
        "num_results": {"type": "integer", "minimum": 1, "maximum": 20, "default": 5},
        "site": {"type": ["string", "null"], "description": "Restrict to one domain"},
        "freshness": {"type": "string", "enum": ["day", "week", "month", "any"]},
    }, ["query"]),
    _fn("create_event", "Create a calendar event and invite people.", {
        "title": {"type": "string"},
        "start": {"type": "string", "format": "date-time"},
        "end": {"type": "string", "format": "date-time"},
        "attendees": {"type": "array", "items": {"type": "object", "properties": {
            "email": {"type": "string", "format": "email"},
            "optional": {"type": "boolean"},
        }, "required": ["email"]}},
        "reminders": {"type": "array", "items": {"type": "integer", "minimum": 0}, "maxItems": 5},
    }, ["title", "start", "end"]),
    _fn("send_email", "Send an email on the user's behalf.", {
        "to": {"type": "array", "items": {"type": "string", "format": "email"}, "minItems": 1},
        "cc": {"type": "array", "items": {"type": "string", "format": "email"}},
        "subject": {"type": "string", "maxLength": 200},
        "body": {"type": "string"},
        "priority": {"type": "string", "enum": ["low", "normal", "high"]},
    }, ["to", "subject", "body"]),
    _fn("lookup_order", "Look up an order by id and return its status, items and shipping address.", {
        "order_id": {"type": "string", "pattern": "^ORD-[0-9]{8}$"},
        "include": {"type": "object", "properties": {
            "items": {"type": "boolean"},
            "shipping": {"type": "boolean"},
            "history": {"type": "boolean"},
        }},
    }, ["order_id"]),
]  # fmt: skip
TOOLS_MESSAGES: list[dict[str, Any]] = [
    SYSTEM,
    {
        "role": "user",
        "content": "Is it going to rain in Lyon this weekend? If so, email Sam to move the picnic.",
    },
]


def conversation() -> list[dict[str, Any]]:
    """20 messages: a system prompt, then user and assistant turns, one assistant turn calling a tool
    followed by the tool's result and the assistant's answer; it ends on the user's turn."""
    out: list[dict[str, Any]] = [SYSTEM]
    for k in range(8):
        out.append({"role": "user", "content": f"Question {k}: tell me one fact about the number {k * 7}."})
        if k == 2:
            call = {"id": "call_w1", "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"location": "Lyon, France", "days": 2}'}}  # fmt: skip
            out.append({"role": "assistant", "content": None, "tool_calls": [call]})
            out.append(
                {
                    "role": "tool",
                    "tool_call_id": "call_w1",
                    "content": '{"rain_mm": [0.0, 4.2], "temp_c": 17}',
                }
            )
        out.append(
            {"role": "assistant", "content": f"{k * 7} is {'even' if k % 2 == 0 else 'odd'}; here is a fact."}
        )
    out.append({"role": "user", "content": "Thanks. Summarise what we discussed in one line."})
    assert len(out) == 20, len(out)
    return out


SHAPES: dict[str, tuple[list[dict[str, Any]], dict[str, Any]]] = {
    "plain": (PLAIN, {"temperature": 0.3, "max_tokens": 200}),
    "tools5": (TOOLS_MESSAGES, {"tools": TOOLS, "tool_choice": "auto", "max_tokens": 500}),
    "conv20": (conversation(), {"tools": TOOLS[:1], "temperature": 0.5, "max_tokens": 300}),
}
API_KEY = "sk-bench-0000000000000000"

# --------------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    target: float  # seconds one repeat should take
    repeat: int  # repeats; the median is reported
    cold_runs: int  # fresh processes per import variant
    build_runs: int  # runs of each CLI command


QUICK = Budget(target=0.004, repeat=3, cold_runs=3, build_runs=1)
FULL = Budget(target=0.025, repeat=7, cold_runs=12, build_runs=3)


def median_us(fn: Callable[[], object], budget: Budget, per: int = 1) -> float:
    """Median µs of one call (divided by ``per``), over ``budget.repeat`` runs of ~``budget.target`` s."""
    fn()  # warm: caches, first-use imports
    t = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t, 1e-7)
    number = max(1, int(budget.target / once))
    runs = timeit.repeat(fn, number=number, repeat=budget.repeat)
    return round(statistics.median(runs) / number / per * 1e6, 3)


class _Sent(BaseException):
    """Raised by the client instead of sending: the request is complete and would leave now."""


class NoSendClient(httpx2.Client):
    """An httpx2 client whose ``send`` stops the call instead of sending anything."""

    def send(self, request: httpx2.Request, **kwargs: Any) -> httpx2.Response:
        raise _Sent


def _stopped(fn: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        try:
            fn()
        except _Sent:
            return
        raise RuntimeError("the call returned without reaching the client's send()")

    return run


def _load(rel: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / rel).read_text(encoding="utf-8"))
    return data


def _private(module: str, name: str) -> Any:
    """A private function of the router, looked up at run time: the hot paths move under this file,
    and a moved name is reported as n/a, not a crash."""
    return getattr(importlib.import_module(module), name, None)


def _event_chunks(raw: bytes, framing: str) -> list[bytes]:
    """The stream cut as a server flushes it: one chunk per event (per line for NDJSON)."""
    if framing == "sse":
        parts = re.split(rb"(?<=\n\n)|(?<=\r\n\r\n)", raw)
    elif framing == "ndjson":
        parts = re.split(rb"(?<=\n)", raw)
    else:
        parts = [raw[i : i + 512] for i in range(0, len(raw), 512)]
    return [p for p in parts if p]


def _raw_sse(chunks: list[bytes], done: bytes | None) -> int:
    """The raw approach: split bytes into lines (carrying a partial line), ``json.loads`` each data line."""
    n = 0
    rest = b""
    for chunk in chunks:
        *lines, rest = (rest + chunk).split(b"\n")
        for line in lines:
            if line.startswith(b"data:"):
                payload = line[5:].strip()
                if payload != done:
                    json.loads(payload)
                    n += 1
    return n


def _raw_ndjson(chunks: list[bytes]) -> int:
    n = 0
    rest = b""
    for chunk in chunks:
        *lines, rest = (rest + chunk).split(b"\n")
        for line in lines:
            if line.strip():
                json.loads(line)
                n += 1
    if rest.strip():
        json.loads(rest)
        n += 1
    return n


def _codecs() -> list[str]:
    folder = Path(importlib.import_module("router.protocols").__file__ or "").parent
    return sorted(p.stem for p in folder.glob("*.py") if not p.stem.startswith("_"))


def _request_cost(
    case: Case, adapter: Adapter, client: NoSendClient, budget: Budget, shape: str
) -> dict[str, Any]:
    check_request = _private("router.protocols._validate", "check_request")
    messages, options = SHAPES[shape]
    model = f"{case.provider}/{case.model}"
    request = {"model": case.model, "messages": messages, **options}
    http = adapter.build_request(request, api_key=API_KEY)

    def validate() -> None:
        check_request(request, case.provider)

    def build() -> None:
        adapter.build_request(request, api_key=API_KEY)

    def call() -> None:
        router.completion(model, messages, api_key=API_KEY, http_client=client, **options)

    def raw() -> None:
        client.send(client.build_request(http.method, http.url, headers=http.headers, json=http.json))

    row: dict[str, Any] = {}
    if check_request is not None:
        row["validate_us"] = median_us(validate, budget)
    row["build_request_us"] = median_us(build, budget)
    row["call_us"] = median_us(_stopped(call), budget)
    row["raw_us"] = median_us(_stopped(raw), budget)
    row["body_bytes"] = len(json.dumps(http.json))
    return row


def _parse_costs(case: Case, adapter: Adapter, budget: Budget) -> dict[str, Any]:
    from router._types import Receipt

    finish = _private("router._client", "_finish")
    resp = _load(case.plain)["response"]
    body = json.dumps(resp["body"]).encode() if resp.get("body") is not None else resp["raw_body"].encode()
    headers = httpx2.Headers(dict(resp.get("headers") or {"content-type": "application/json"}))
    answer = _Answer(200, headers)

    def parse() -> None:
        adapter.parse_response(200, headers, body, receipt=Receipt(provider=adapter.id, model=case.model))

    def finished() -> None:
        finish(adapter, answer, body, Receipt(provider=adapter.id, model=case.model))

    def raw() -> None:
        json.loads(body)

    out: dict[str, Any] = {"recording": case.plain, "body_bytes": len(body)}
    out["parse_response_us"] = median_us(parse, budget)
    if finish is not None:
        try:
            out["finish_us"] = median_us(finished, budget)
        except Exception as exc:  # the private signature moved
            out["finish_note"] = f"router._client._finish: {type(exc).__name__}: {exc}"
    out["raw_json_us"] = median_us(raw, budget)
    return out


def _stream_costs(case: Case, adapter: Adapter, budget: Budget) -> dict[str, Any]:
    from router._streaming import make_parser
    from router._types import Receipt

    raw_stream = _load(case.stream)["response"]["raw_stream"].encode()
    framing = adapter.config.stream.framing
    chunks = _event_chunks(raw_stream, framing)
    parser = make_parser(framing)
    events = [e for c in chunks for e in parser.feed(c)] + parser.close()
    n = len(events)
    done = adapter.config.stream.done
    sentinel = done.encode() if done else None

    def frame() -> None:
        p = make_parser(framing)
        for c in chunks:
            p.feed(c)
        p.close()

    def decode() -> None:
        d = adapter.stream_decoder(receipt=Receipt(provider=adapter.id, model=case.model))
        for e in events:
            d.feed(e)
            if d.done:
                return
        d.close()

    def both() -> None:
        for _ in adapter.parse_stream_bytes(chunks, receipt=Receipt(provider=adapter.id, model=case.model)):
            pass

    def raw() -> None:
        if framing == "ndjson":
            _raw_ndjson(chunks)
        else:
            _raw_sse(chunks, sentinel)

    out: dict[str, Any] = {
        "recording": case.stream,
        "framing": framing,
        "bytes": len(raw_stream),
        "events": n,
        "chunks_out": sum(1 for _ in adapter.parse_stream_bytes(chunks)),
        "framing_us_per_event": median_us(frame, budget, per=n),
        "decode_us_per_event": median_us(decode, budget, per=n),
        "router_us_per_event": median_us(both, budget, per=n),
        "raw_us_per_event": median_us(raw, budget, per=n),
    }
    out["ratio_router_raw"] = round(out["router_us_per_event"] / out["raw_us_per_event"], 2)
    return out


def pure_costs(budget: Budget) -> dict[str, Any]:
    from router._registry import adapter as adapter_for

    out: dict[str, Any] = {}
    with NoSendClient() as client:
        for case in CASES:
            adapter = adapter_for(case.provider)
            out[case.name] = {
                "provider": case.provider,
                "model": case.model,
                "codec": str(getattr(adapter.codec, "__name__", "")).rpartition(".")[2],
                "requests": {shape: _request_cost(case, adapter, client, budget, shape) for shape in SHAPES},
                "parse": _parse_costs(case, adapter, budget),
                "stream": _stream_costs(case, adapter, budget),
            }
    return out


@dataclass
class _Answer:
    """What the call path reads of a response after the body is in: the status and the headers."""

    status_code: int
    headers: httpx2.Headers


# --------------------------------------------------------------------------------------------------
# Cold start
# --------------------------------------------------------------------------------------------------

_PROBE = (
    "import time as _t\n_s = _t.perf_counter()\n{stmt}\n_e = _t.perf_counter()\n"
    "_m = {{l.split(':')[0]: l.split()[1] for l in open('/proc/self/status') if l.startswith(('VmRSS', 'VmHWM'))}}\n"
    "print((_e - _s) * 1000, _m['VmRSS'], _m['VmHWM'])\n"
)
_ALL_ADAPTERS = (
    "import router\nfrom router import _registry\n"
    "for _p in _registry.provider_ids():\n    _registry.adapter(_p)\n"
)
_ALL_ADAPTERS_FALLBACK = (
    "import router, importlib\nimport router.generated as _g\n"
    "for _m in _g.PROVIDERS.values():\n    importlib.import_module('router.generated.' + _m)\n"
)


# Imports are timed as an installed package runs them: from .pyc files (pip compiles them at
# install). With PYTHONDONTWRITEBYTECODE set (as on some machines and CI), a checkout would compile
# every router module from source on every import while httpx loads its .pyc: the warm-up round
# writes them.
_PYC_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _probe(stmt: str, cwd: str) -> tuple[float, float, float, float]:
    """(wall ms of the process, in-process import ms, VmRSS MiB, VmHWM MiB) of one fresh interpreter."""
    t = time.perf_counter()
    r = subprocess.run(
        [PYTHON, "-c", _PROBE.format(stmt=stmt)], cwd=cwd, capture_output=True, text=True, env=_PYC_ENV
    )
    wall = (time.perf_counter() - t) * 1000
    if r.returncode != 0:
        raise RuntimeError(f"{stmt!r} failed: {r.stderr[-1000:]}")
    ms, rss, hwm = r.stdout.split()
    return wall, float(ms), int(rss) / 1024, int(hwm) / 1024


def cold_start(budget: Budget) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as cwd:  # an app's folder, not the checkout
        variants = {
            "python -c pass": "pass",
            "import httpx": "import httpx",
            "import httpx2": "import httpx2",
        }
        variants["import router"] = "import router"
        try:
            _probe(_ALL_ADAPTERS, cwd)
            variants["import router + all adapters"] = _ALL_ADAPTERS
        except RuntimeError:
            variants["import router + all adapters"] = _ALL_ADAPTERS_FALLBACK
        names = list(variants)
        runs: dict[str, list[tuple[float, float, float, float]]] = {n: [] for n in names}
        for name in names:  # one unrecorded round: the file cache and the .pyc files
            _probe(variants[name], cwd)
        for rep in range(budget.cold_runs):
            order = names[rep % len(names) :] + names[: rep % len(names)]  # rotate: no fixed position
            for name in order:
                runs[name].append(_probe(variants[name], cwd))
    out: dict[str, Any] = {}
    base = statistics.median(r[0] for r in runs[names[0]])
    base_rss = statistics.median(r[2] for r in runs[names[0]])
    for name in names:
        walls = [r[0] for r in runs[name]]
        wall = statistics.median(walls)
        rss = statistics.median(r[2] for r in runs[name])
        out[name] = {
            "wall_ms": round(wall, 2),
            "wall_ms_min": round(min(walls), 2),
            "wall_ms_max": round(max(walls), 2),
            "over_bare_python_ms": round(wall - base, 2),
            "import_ms_in_process": round(statistics.median(r[1] for r in runs[name]), 3),
            "rss_mib": round(rss, 2),
            "rss_over_bare_python_mib": round(rss - base_rss, 2),
            "peak_rss_mib": round(statistics.median(r[3] for r in runs[name]), 2),
        }
    return {"runs": budget.cold_runs, "variants": out}


# --------------------------------------------------------------------------------------------------
# Footprint
# --------------------------------------------------------------------------------------------------


def _sizes(folder: Path) -> tuple[int, int, int]:
    """(bytes of source files, bytes with __pycache__, files) under ``folder``: apparent sizes."""
    src = total = files = 0
    for p in folder.rglob("*"):
        if p.is_file():
            size = p.stat().st_size
            total += size
            files += 1
            if "__pycache__" not in p.parts:
                src += size
    return src, total, files


def _kib(n: int) -> float:
    return round(n / 1024, 1)


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class _Dist:
    name: str
    requires: list[str]
    source: int  # bytes of its installed files, .pyc excluded
    total: int  # with .pyc


def _dists(site: Path) -> dict[str, _Dist]:
    """The distributions installed in ``site``: their requirements (no extras) and installed sizes."""
    out: dict[str, _Dist] = {}
    for info in site.glob("*.dist-info"):
        meta = (
            (info / "METADATA").read_text(encoding="utf-8", errors="replace")
            if (info / "METADATA").exists()
            else ""
        )
        m = re.search(r"^Name: *(.+)$", meta, re.MULTILINE)
        if m is None:
            continue
        requires = []
        for line in re.findall(r"^Requires-Dist: *(.+)$", meta, re.MULTILINE):
            spec, _, marker = line.partition(";")
            if "extra" in marker:
                continue
            found = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", spec.strip())
            if found:
                requires.append(_norm(found.group(0)))
        src = total = 0
        record = info / "RECORD"
        lines = record.read_text(encoding="utf-8").splitlines() if record.exists() else []
        for row in lines:
            rel = row.rsplit(",", 2)[0]
            path = (site / rel).resolve()
            if path.is_file():
                size = path.stat().st_size
                total += size
                if "__pycache__" not in rel and not rel.endswith(".pyc"):
                    src += size
        out[_norm(m.group(1).strip())] = _Dist(m.group(1).strip(), requires, src, total)
    return out


def _closure(roots: Iterable[str], dists: Mapping[str, _Dist]) -> set[str]:
    """The roots and everything they need that is installed (a requirement whose marker excluded it
    on this Python is simply absent)."""
    seen: set[str] = set()
    todo = [_norm(r) for r in roots]
    while todo:
        name = todo.pop()
        if name in seen or name not in dists:
            continue
        seen.add(name)
        todo.extend(dists[name].requires)
    return seen


BUILD_TIME = ("click", "jinja2", "jsonschema", "pyyaml")  # the tools of `router build` / `validate`
PIP_TIMEOUT = 45  # seconds for the install from the index, then the venv's figures stand in
BUILD_EXTRA = "cli"  # the extra that holds them, where the wheel has one


def _wheel_requires(wheel: Path) -> tuple[list[str], dict[str, list[str]]]:
    """The wheel's runtime requirements and each extra's, from its METADATA (names only)."""
    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        meta = z.read(name).decode("utf-8", "replace")
    runtime: list[str] = []
    extras: dict[str, list[str]] = {}
    for line in re.findall(r"^Requires-Dist: *(.+)$", meta, re.MULTILINE):
        spec, _, marker = line.partition(";")
        found = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", spec.strip())
        if not found:
            continue
        extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
        if extra is None:
            runtime.append(_norm(found.group(0)))
        else:
            extras.setdefault(extra.group(1), []).append(_norm(found.group(0)))
    return runtime, extras


def _dependency_sets(
    site: Path, direct: list[str], build: list[str], source: str, note: str
) -> dict[str, Any]:
    """``direct``: the wheel's runtime requirements; ``build``: the build-time tools' (an extra's
    requirements, or those of the runtime ones that are build-time tools)."""
    dists = _dists(site)
    runtime = _closure([d for d in direct if d not in BUILD_TIME], dists)
    build_only = _closure(build, dists) - runtime
    everything = runtime | build_only
    httpx_own = _closure(["httpx"], dists)
    httpx2_own = _closure(["httpx2"], dists)

    def total(names: set[str], key: str) -> float:
        return _kib(sum(getattr(dists[n], key) for n in names))

    def row(names: set[str]) -> dict[str, Any]:
        return {
            "source_kib": total(names, "source"),
            "with_pyc_kib": total(names, "total"),
            "dists": sorted(names),
        }

    return {
        "source": source,
        "note": note,
        "requires": direct,
        "build_tools": build,
        "runtime_plus_build_tools": row(everything),
        "runtime_only": row(runtime),
        "build_tools_only": row(build_only),
        "httpx_own": row(httpx_own),
        "httpx2_own": row(httpx2_own),
        "by_dist_kib": {dists[n].name: _kib(dists[n].total) for n in sorted(everything)},
    }


def _pip(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "pip", "--disable-pip-version-check", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def footprint(quick: bool, index: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        t = time.perf_counter()
        r = _pip(
            "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(where / "wheel"), ".", timeout=300
        )
        if r.returncode != 0:
            return {"error": f"pip wheel failed: {r.stderr[-1500:]}"}
        wheel = next((where / "wheel").glob("*.whl"))
        out["wheel"] = {"file": wheel.name, "bytes": wheel.stat().st_size, "kib": _kib(wheel.stat().st_size),
                        "build_s": round(time.perf_counter() - t, 2)}  # fmt: skip
        direct, extras = _wheel_requires(wheel)
        in_extra = BUILD_EXTRA in extras
        build = extras[BUILD_EXTRA] if in_extra else [d for d in direct if d in BUILD_TIME]
        out["wheel"]["requires"] = direct
        out["wheel"]["build_tools"] = f"extra [{BUILD_EXTRA}]" if in_extra else "runtime requirements"
        target = where / "pkg"
        r = _pip("install", "--no-deps", "--no-index", "-q", "--target", str(target), str(wheel), timeout=300)
        if r.returncode != 0:
            return {**out, "error": f"pip install --no-deps failed: {r.stderr[-1500:]}"}
        pkg = target / "router"
        src, total, files = _sizes(pkg)
        parts: dict[str, Any] = {}
        core_src = core_total = core_files = 0
        for p in sorted(pkg.iterdir()):
            if p.is_dir() and p.name != "__pycache__":
                s, tt, f = _sizes(p)
                parts[f"router/{p.name}"] = {"source_kib": _kib(s), "with_pyc_kib": _kib(tt), "files": f}
            elif p.is_file():
                core_src += p.stat().st_size
                core_total += p.stat().st_size
                core_files += 1
        if (pkg / "__pycache__").is_dir():
            core_total += sum(q.stat().st_size for q in (pkg / "__pycache__").iterdir())
        parts = {"router (top-level modules)": {"source_kib": _kib(core_src), "with_pyc_kib": _kib(core_total),
                                                "files": core_files}, **parts}  # fmt: skip
        build_only = ("router/compiler", "router/cli", "router/templates", "router/_specs", "router/_schemas")
        shipped_runtime = src - sum(int(parts[k]["source_kib"] * 1024) for k in build_only if k in parts)
        out["installed"] = {
            "how": "pip install --no-deps --target (pip compiles .pyc); apparent file sizes, KiB = 1024 bytes",
            "source_kib": _kib(src),
            "with_pyc_kib": _kib(total),
            "files": files,
            "runtime_source_kib": _kib(shipped_runtime),
            "parts": dict(sorted(parts.items(), key=lambda kv: -kv[1]["source_kib"])),
        }
        deps: dict[str, Any] | None = None
        if index and not quick:
            target = where / "deps"
            t = time.perf_counter()
            what = f"{wheel}[{BUILD_EXTRA}]" if in_extra else str(wheel)
            try:
                r = _pip("install", "-q", "--only-binary", ":all:", "--timeout", "10", "--retries", "1",
                         "--target", str(target), what, "httpx", "httpx2", timeout=PIP_TIMEOUT)  # fmt: skip
            except subprocess.TimeoutExpired:
                note = f"pip install from the index took over {PIP_TIMEOUT} s: read from this venv instead"
            else:
                if r.returncode == 0:
                    source = f"the package index: pip install --target {Path(what).name} httpx httpx2"
                    took = f"installed in {time.perf_counter() - t:.1f} s"
                    deps = _dependency_sets(target, direct, build, source, took)
                else:
                    last = (r.stderr.strip().splitlines() or ["?"])[-1]
                    note = f"pip could not install from the index ({last}): read from this venv instead"
        else:
            note = "--quick or --no-index: read from this venv's installed distributions, no index asked"
        if deps is None:
            site = Path(next(p for p in sys.path if p.endswith("site-packages")))
            deps = _dependency_sets(site, direct, build, f"this venv ({site})", note)
        runtime = deps["runtime_only"]
        deps["runtime_install_with_router"] = {
            "source_kib": round(runtime["source_kib"] + out["installed"]["source_kib"], 1),
            "with_pyc_kib": round(runtime["with_pyc_kib"] + out["installed"]["with_pyc_kib"], 1),
            "dists": ["spec-router", *runtime["dists"]],
        }
        out["dependencies"] = deps
    return out


# --------------------------------------------------------------------------------------------------
# router build / validate
# --------------------------------------------------------------------------------------------------


def _router_cmd() -> list[str]:
    exe = BIN / "router"
    return [str(exe)] if exe.exists() else [PYTHON, "-m", "router"]


def _wall(cmd: list[str], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
        out.append(round((time.perf_counter() - t) * 1000, 1))
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stdout[-800:]}{r.stderr[-800:]}")
    return out


def build_times(budget: Budget) -> dict[str, Any]:
    cmd = _router_cmd()
    specs = sorted((ROOT / "specs").glob("*.yaml"))
    with tempfile.TemporaryDirectory() as tmp:
        _wall([*cmd, "--help"], 1)  # warm the file cache
        startup = _wall([*cmd, "--help"], budget.build_runs)
        build = _wall([*cmd, "build", "--out", tmp], budget.build_runs)
        modules = len(list(Path(tmp).glob("*.py")))
    validate = _wall([*cmd, "validate", "specs"], budget.build_runs)
    return {
        "specs": len(specs),
        "modules_written": modules,
        "cli_startup_ms": statistics.median(startup),
        "build_ms": statistics.median(build),
        "build_runs_ms": build,
        "validate_ms": statistics.median(validate),
        "validate_runs_ms": validate,
    }


# --------------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------------


def _ancestors() -> set[int]:
    out, pid = set(), os.getpid()
    while pid > 1:
        out.add(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat.rpartition(")")[2].split()[1])
    return out


def foreign_load() -> list[str]:
    """Test runs on this machine that are not this process or its parents (they skew every figure)."""
    try:
        r = subprocess.run(
            ["pgrep", "-af", "tests/check.sh|pytest"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    mine = _ancestors()
    return [line for line in r.stdout.splitlines() if line and int(line.split()[0]) not in mine]


def run(quick: bool = False, *, footprint_run: bool = True, index: bool = True) -> dict[str, Any]:
    """Every figure of this benchmark as a JSON-able dict (``quick``: fewer repeats, no index)."""
    budget = QUICK if quick else FULL
    started = time.perf_counter()
    load_before = foreign_load()
    result: dict[str, Any] = {
        "settings": {
            "quick": quick,
            "repeat": budget.repeat,
            "target_s_per_repeat": budget.target,
            "cold_runs": budget.cold_runs,
            "build_runs": budget.build_runs,
        },
        "environment": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "httpx2": httpx2.__version__,
            "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        },
    }
    codecs = _codecs()
    missing = sorted(set(codecs) - {c.codec for c in CASES})
    result["environment"]["codecs"] = codecs
    if missing:
        result["environment"]["codecs_not_measured"] = missing  # a new codec: give it a Case
    timings: dict[str, float] = {}
    t = time.perf_counter()
    result["pure"] = pure_costs(budget)
    timings["pure"] = time.perf_counter() - t
    t = time.perf_counter()
    result["cold_start"] = cold_start(budget)
    timings["cold_start"] = time.perf_counter() - t
    if footprint_run:
        t = time.perf_counter()
        result["footprint"] = footprint(quick, index)
        timings["footprint"] = time.perf_counter() - t
    t = time.perf_counter()
    result["build"] = build_times(budget)
    timings["build"] = time.perf_counter() - t
    load_after = foreign_load()
    result["environment"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    result["environment"]["foreign_test_runs"] = sorted(set(load_before) | set(load_after))
    result["environment"]["section_s"] = {k: round(v, 1) for k, v in timings.items()}
    result["environment"]["total_s"] = round(time.perf_counter() - started, 1)
    return result


# --------------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------------


def _f(value: Any, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _table(title: str, head: list[str], rows: list[list[Any]]) -> None:
    cells = [head, *[[_f(v) for v in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(head))]
    print(f"\n{title}")
    for k, r in enumerate(cells):
        print(
            "  "
            + "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
        if k == 0:
            print("  " + "  ".join("-" * w for w in widths))


def print_table(result: Mapping[str, Any]) -> None:
    env = result["environment"]
    s = result["settings"]
    print(f"bench_static: Python {env['python']}, {env['cpus']} CPUs, httpx2 {env['httpx2']}, "
          f"{'quick' if s['quick'] else 'full'} run ({s['repeat']} repeats), {env['total_s']} s")  # fmt: skip
    if env.get("foreign_test_runs"):
        print(
            f"  NOTE: test runs were going on this machine during the run (figures skewed): {env['foreign_test_runs']}"
        )
    if env.get("codecs_not_measured"):
        print(f"  NOTE: codecs with no case here: {env['codecs_not_measured']}")
    pure = result["pure"]
    rows = []
    for name, e in pure.items():
        for shape, r in e["requests"].items():
            over = r["call_us"] - r["raw_us"]
            rows.append([f"{name} {shape}", r.get("validate_us"), r["build_request_us"], r["call_us"], r["raw_us"], over, r["body_bytes"]])  # fmt: skip
    _table("requests, µs per request (call: router.completion up to client.send; raw: client.build_request "
           "+ send of the same body)", ["protocol / request", "validate", "build_request", "call", "raw", "call-raw", "body B"], rows)  # fmt: skip
    rows = [[n, e["parse"]["parse_response_us"], e["parse"].get("finish_us"), e["parse"]["raw_json_us"],
             e["parse"]["body_bytes"], e["parse"]["recording"]] for n, e in pure.items()]  # fmt: skip
    _table("plain answer, µs per answer (finish: + the cost lookup of the call path)",
           ["protocol", "parse_response", "finish", "raw json.loads", "body B", "recording"], rows)  # fmt: skip
    rows = [[n, e["stream"]["events"], e["stream"]["framing"], e["stream"]["framing_us_per_event"],
             e["stream"]["decode_us_per_event"], e["stream"]["router_us_per_event"], e["stream"]["raw_us_per_event"],
             e["stream"]["ratio_router_raw"], e["stream"]["recording"]] for n, e in pure.items()]  # fmt: skip
    _table("streams, µs per event (router = framing + decode chained as the call path does; raw = split "
           "lines + json.loads per data line)",
           ["protocol", "events", "framing", "frame", "decode", "router", "raw", "router/raw", "recording"], rows)  # fmt: skip
    cold = result["cold_start"]
    rows = [[n, v["wall_ms"], v["wall_ms_min"], v["over_bare_python_ms"], v["import_ms_in_process"], v["rss_mib"],
             v["rss_over_bare_python_mib"], v["peak_rss_mib"]] for n, v in cold["variants"].items()]  # fmt: skip
    _table(f"cold start, median of {cold['runs']} fresh processes each (interleaved)",
           ["variant", "wall ms", "min", "- bare", "import ms", "RSS MiB", "- bare", "peak MiB"], rows)  # fmt: skip
    fp = result.get("footprint")
    if fp:
        if "error" in fp:
            print(f"\nfootprint: {fp['error']}")
        else:
            inst = fp["installed"]
            print(f"\nfootprint: wheel {fp['wheel']['file']} {fp['wheel']['kib']} KiB; installed router/ "
                  f"{inst['source_kib']} KiB of source files ({inst['with_pyc_kib']} KiB with __pycache__, "
                  f"{inst['files']} files); without compiler/cli/templates/_specs/_schemas: {inst['runtime_source_kib']} KiB")  # fmt: skip
            rows = [[k, v["source_kib"], v["with_pyc_kib"], v["files"]] for k, v in inst["parts"].items()]
            _table("installed router/ by part, KiB", ["part", "source", "with pyc", "files"], rows)
            deps = fp["dependencies"]
            rows = [[k, deps[k]["source_kib"], deps[k]["with_pyc_kib"], ", ".join(deps[k]["dists"])]
                    for k in ("runtime_install_with_router", "runtime_only", "build_tools_only", "runtime_plus_build_tools", "httpx_own", "httpx2_own")]  # fmt: skip
            _table(f"dependencies, KiB installed (from {deps['source']}; {deps['note']})",
                   ["set", "source", "with pyc", "distributions"], rows)  # fmt: skip
    b = result["build"]
    _table(f"router CLI, wall ms (median of {s['build_runs']}; {b['specs']} specs)",
           ["command", "ms"], [["router --help (start-up)", b["cli_startup_ms"]], ["router build --out TMP", b["build_ms"]],
                               ["router validate specs", b["validate_ms"]]])  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument(
        "--quick", action="store_true", help="fewer repeats and processes, no package index (<20 s)"
    )
    ap.add_argument("--json", metavar="PATH", help="also write every figure as JSON")
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--footprint", dest="footprint", action="store_true", default=True,
                       help="build the wheel and measure the installs (the default)")  # fmt: skip
    group.add_argument("--no-footprint", dest="footprint", action="store_false", help="skip the footprint")
    ap.add_argument(
        "--no-index",
        action="store_true",
        help="never ask the package index (dependency sizes from this venv)",
    )
    args = ap.parse_args(argv)
    result = run(args.quick, footprint_run=args.footprint, index=not args.no_index)
    print_table(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
