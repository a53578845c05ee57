"""Prometheus text metrics of one gateway process (``GET /metrics``) and the spend log sink.

Metrics are per process: with ``--workers N`` each worker answers its own scrape (label them by
instance, or scrape one worker per port). The spend log is shared: each record is one ``write()`` on a
file opened with ``O_APPEND``, so lines from several processes never interleave.
"""

from __future__ import annotations

import json
import os
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

__all__ = ["JsonlSink", "Metrics"]

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def _labels(pairs: tuple[tuple[str, str], ...]) -> str:
    if not pairs:
        return ""
    inner = ",".join(
        f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34)).replace(chr(10), " ")}"'
        for k, v in pairs
    )
    return "{" + inner + "}"


class Metrics:
    def __init__(self) -> None:
        self.counters: dict[str, dict[tuple[tuple[str, str], ...], float]] = defaultdict(dict)
        self.gauges: dict[str, dict[tuple[tuple[str, str], ...], float]] = defaultdict(dict)
        self.hist: dict[tuple[tuple[str, str], ...], list[float]] = {}
        self.help = {
            "router_requests_total": "Requests answered, by model and HTTP status.",
            "router_errors_total": "Error answers, by model and error kind.",
            "router_tokens_total": "Tokens used, by model and type (prompt, completion).",
            "router_cost_usd_total": "Dollars spent, by model.",
            "router_breaker_open": "1 while a deployment's circuit breaker is open.",
            "router_streams_active": "Streams being served now.",
            "router_rejected_total": "Requests refused before any call (key, body, model, limits), by kind.",
            "router_state_errors_total": "State store operations that failed (Redis unreachable).",
        }

    def inc(self, name: str, value: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        series = self.counters[name]
        series[key] = series.get(key, 0.0) + value

    def set(self, name: str, value: float, **labels: str) -> None:
        self.gauges[name][tuple(sorted(labels.items()))] = value

    def observe(self, seconds: float, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        h = self.hist.get(key)
        if h is None:
            h = self.hist[key] = [0.0] * (len(_BUCKETS) + 2)  # buckets, +Inf count, sum
        for i, bound in enumerate(_BUCKETS):
            if seconds <= bound:
                h[i] += 1
        h[len(_BUCKETS)] += 1
        h[len(_BUCKETS) + 1] += seconds

    def render(self) -> str:
        out: list[str] = []
        for name, series in sorted(self.counters.items()):
            out.append(f"# HELP {name} {self.help.get(name, name)}")
            out.append(f"# TYPE {name} counter")
            out += [f"{name}{_labels(k)} {v:g}" for k, v in sorted(series.items())]
        for name, series in sorted(self.gauges.items()):
            out.append(f"# HELP {name} {self.help.get(name, name)}")
            out.append(f"# TYPE {name} gauge")
            out += [f"{name}{_labels(k)} {v:g}" for k, v in sorted(series.items())]
        name = "router_request_duration_seconds"
        out.append(f"# HELP {name} Time from request to the answer's end, by model.")
        out.append(f"# TYPE {name} histogram")
        for key, h in sorted(self.hist.items()):
            for i, bound in enumerate(_BUCKETS):
                out.append(f"{name}_bucket{_labels((*key, ('le', f'{bound:g}')))} {h[i]:g}")
            out.append(f"{name}_bucket{_labels((*key, ('le', '+Inf')))} {h[len(_BUCKETS)]:g}")
            out.append(f"{name}_sum{_labels(key)} {h[len(_BUCKETS) + 1]:.6f}")
            out.append(f"{name}_count{_labels(key)} {h[len(_BUCKETS)]:g}")
        return "\n".join(out) + "\n"


class JsonlSink:
    """One JSON line per call, appended to ``path`` (one atomic write per record)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._lock = threading.Lock()

    def write(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, separators=(",", ":"), ensure_ascii=False, default=str) + "\n").encode()
        with self._lock:
            os.write(self._fd, line)

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
