"""The router's whole benchmark in one command, with the budgets it is held to.

    .venv/bin/python examples/bench.py                   # every figure (about 3 minutes here)
    .venv/bin/python examples/bench.py --quick --json out.json

It runs, in one process and one run:
- examples/bench_http.py: the router against raw httpx and raw httpx2 on a loopback upstream (sync
  and async req/s, stream chunks/s, client CPU per request and per chunk; interleaved A/B rounds,
  ratios paired per round, disturbed rounds dropped);
- examples/bench_static.py: the pure costs (translation, parsing, recorded streams), cold start and
  RSS against ``import httpx``, wheel and installed size, ``router build`` time;
- here: the steady-state cost of framing + decoding one stream chunk (a 500-chunk stream of each
  protocol, the same frames the upstream serves), against a raw split + ``json.loads``;
then prints every budget of issue 12 with its figure and whether it holds, and writes everything as
JSON with ``--json``. Nothing here asserts a number; tests/test_bench_smoke.py runs ``--quick``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_http
import bench_peers
import bench_static

from router import _registry
from router._streaming import make_parser
from router._types import Receipt

# --------------------------------------------------------------------------------------------------
# Steady-state stream cost per chunk
# --------------------------------------------------------------------------------------------------


def _best_us(fn: Callable[[], object], per: int, repeat: int) -> float:
    fn()
    number = 5
    runs = timeit.repeat(fn, number=number, repeat=repeat)
    return min(runs) / number / per * 1e6


def _raw_events(frames: list[bytes], ndjson: bool) -> int:
    n = 0
    for f in frames:
        for line in f.decode().splitlines():
            if ndjson:
                if line:
                    json.loads(line)
                    n += 1
            elif line.startswith("data: ") and line != "data: [DONE]":
                json.loads(line[6:])
                n += 1
    return n


def steady_stream(chunks: int, repeat: int, shape: str = "recorded") -> dict[str, Any]:
    """µs per chunk of framing, decoding and both, on a ``chunks``-chunk stream of each protocol, its
    frames of the given shape (bench_http._frames)."""
    out: dict[str, Any] = {}
    for protocol in bench_http.PROTOCOLS:
        frames = bench_http._frames(protocol, chunks, shape)
        adapter = _registry.adapter(protocol)
        framing = adapter.config.stream.framing
        n = len(frames)

        def frame(framing: str = framing, frames: list[bytes] = frames) -> list[Any]:
            parser = make_parser(framing)
            events: list[Any] = []
            for f in frames:
                events += parser.feed(f)
            return events + parser.close()

        events = frame()

        def decode(events: list[Any] = events, adapter: Any = adapter, protocol: str = protocol) -> None:
            decoder = adapter.stream_decoder(receipt=Receipt(provider=protocol, model="m"))
            for ev in events:
                decoder.feed(ev)

        def both(
            framing: str = framing,
            frames: list[bytes] = frames,
            adapter: Any = adapter,
            protocol: str = protocol,
        ) -> None:
            parser = make_parser(framing)
            decoder = adapter.stream_decoder(receipt=Receipt(provider=protocol, model="m"))
            for f in frames:
                for ev in parser.feed(f):
                    decoder.feed(ev)

        ndjson = framing == "ndjson"

        def raw(frames: list[bytes] = frames, ndjson: bool = ndjson) -> int:
            return _raw_events(frames, ndjson)

        out[protocol] = {
            "chunks": n,
            "framing_us": round(_best_us(frame, n, repeat), 3),
            "decode_us": round(_best_us(decode, n, repeat), 3),
            "framing_decode_us": round(_best_us(both, n, repeat), 3),
            "raw_split_loads_us": round(_best_us(raw, n, repeat), 3),
        }
    return out


# --------------------------------------------------------------------------------------------------
# Budgets
# --------------------------------------------------------------------------------------------------


def _best_raw(entry: dict[str, Any], raws: list[str], higher: bool) -> str:
    """The raw client with the best median of this measure (the fastest, or the least CPU)."""
    pick = max if higher else min
    return pick(raws, key=lambda r: entry[r]["median"])


def budgets(http: dict[str, Any], static: dict[str, Any], steady: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def add(what: str, figure: float, limit: float, unit: str, ok: bool, detail: str = "") -> None:
        rows.append(
            {
                "budget": what,
                "figure": round(figure, 2),
                "limit": limit,
                "unit": unit,
                "holds": ok,
                "detail": detail,
            }
        )

    raws: list[str] = http["raw_clients"]
    for protocol, res in http["protocols"].items():
        for measure, floor in (("sync_req_s", 0.90), ("async_req_s", 0.90), ("stream_chunks_s", 0.85)):
            best = _best_raw(res[measure], raws, higher=True)
            ratio = res[measure][f"ratio_router_{best}"]["median"]
            add(f"{protocol} {measure} / best raw", ratio, floor, "x", ratio >= floor, best)
        for measure in ("cpu_us_req", "cpu_us_req_async"):
            best = _best_raw(res[measure], raws, higher=False)
            extra = res[measure]["router"]["median"] - res[measure][best]["median"]
            add(f"{protocol} {measure} over best raw", extra, 40.0, "µs", extra <= 40.0, best)
    for codec, res in static["pure"].items():
        reqs = res.get("requests") or {}
        for case, limit in (("plain", 15.0), ("tools5", 60.0)):
            r = reqs.get(case)
            if r and r.get("build_request_us") is not None:
                us = float(r["build_request_us"])
                add(f"{codec} validation + translation, {case}", us, limit, "µs", us <= limit)
    for shape, figures in steady.items():  # frames as the APIs send them, and minimal ones
        for protocol, res in figures.items():
            us = res["framing_decode_us"]
            raw = f"raw split+loads {res['raw_split_loads_us']:.2f}"
            add(f"{protocol} framing + decode per stream chunk ({shape})", us, 3.0, "µs", us <= 3.0, raw)
    variants = static["cold_start"]["variants"]
    httpx_ms = variants["import httpx"]["wall_ms"]
    all_ms = variants["import router + all adapters"]["wall_ms"]
    add(
        "import router + all adapters over import httpx",
        all_ms - httpx_ms,
        25.0,
        "ms",
        all_ms - httpx_ms <= 25.0,
    )
    rss = variants["import router + all adapters"]["rss_mib"] - variants["import httpx"]["rss_mib"]
    add("RSS after import router + all adapters over httpx's", rss, 6.0, "MiB", rss <= 6.0)
    fp = static.get("footprint") or {}
    inst = fp.get("installed") or {}
    if inst.get("source_kib") is not None:
        kib = float(inst["source_kib"])
        add("installed package (source files)", kib, 1024.0, "KiB", kib <= 1024.0)
    build_ms = static["build"]["build_ms"]
    add("router build of every spec", build_ms / 1000, 2.0, "s", build_ms <= 2000)
    return rows


def print_budgets(rows: list[dict[str, Any]]) -> None:
    print("\nbudgets (issue 12)")
    head = f"  {'budget':<58} {'figure':>10} {'limit':>8}  {'':4}  against"
    print(head)
    print("  " + "-" * (len(head) - 2))
    for r in rows:
        mark = "ok" if r["holds"] else "MISS"
        cmp = ">=" if r["unit"] == "x" else "<="
        print(
            f"  {r['budget']:<58} {r['figure']:>8.2f}{r['unit']:<2} {cmp}{r['limit']:>6g}  {mark:4}  {r['detail']}"
        )
    missed = [r for r in rows if not r["holds"]]
    print(f"  {len(rows) - len(missed)} of {len(rows)} hold")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny runs: a smoke test, not figures (~40 s)")
    ap.add_argument("--rounds", type=int, default=None, help="A/B rounds of the HTTP part (default 4)")
    ap.add_argument("--json", dest="json_out", default=None, help="write every figure to this JSON file")
    ap.add_argument("--no-footprint", action="store_true", help="skip building and installing the wheel")
    ap.add_argument(
        "--compare",
        default="",
        metavar="PEERS",
        help="also measure peers, comma-separated: litellm,openai (installed into .venv-litellm when missing)",
    )
    a = ap.parse_args(argv)
    started = time.perf_counter()
    quick = a.quick
    rounds = a.rounds or (2 if quick else 4)
    chunks = 20 if quick else 500
    http = bench_http.run(
        list(bench_http.PROTOCOLS), rounds, chunks, 40 if quick else 800, 3 if quick else 16
    )
    if http is None:
        print("the upstream did not start", file=sys.stderr)
        return 1
    bench_http.print_table(http, http["settings"])
    print()
    static = bench_static.run(quick, footprint_run=not a.no_footprint, index=not quick)
    bench_static.print_table(static)
    steady = {
        shape: steady_stream(50 if quick else 500, 3 if quick else 7, shape) for shape in bench_http.SHAPES
    }
    print("\nstream chunk, steady state (µs per chunk, best of repeats; frames as recorded, and minimal)")
    print(
        f"  {'protocol':<10} {'frames':<9} {'chunks':>6} {'framing':>8} {'decode':>8} {'both':>8}"
        f" {'raw split+loads':>16}"
    )
    for shape, figures in steady.items():
        for p, r in figures.items():
            print(
                f"  {p:<10} {shape:<9} {r['chunks']:>6} {r['framing_us']:>8.2f} {r['decode_us']:>8.2f}"
                f" {r['framing_decode_us']:>8.2f} {r['raw_split_loads_us']:>16.2f}"
            )
    peers = None
    if a.compare:
        wanted = [p.strip() for p in a.compare.split(",") if p.strip()]
        print()
        peers = bench_peers.run(wanted, 2 if quick else 3, 40 if quick else 400, 2 if quick else 8, chunks)
        bench_peers.print_table(peers)
    rows = budgets(http, static, steady)
    print_budgets(rows)
    total = time.perf_counter() - started
    print(f"\nwhole run: {total:.0f} s")
    if a.json_out:
        result = {"http": http, "static": static, "stream_steady": steady, "budgets": rows, "total_s": total}
        if peers is not None:
            result["peers"] = peers
        Path(a.json_out).write_text(json.dumps(result, indent=2))
        print(f"wrote {a.json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
