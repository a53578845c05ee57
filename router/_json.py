"""JSON text to Python objects exactly as ``json.loads`` makes them, at msgspec's speed.

msgspec's C decoder reads a stream frame in a third of ``json.loads``' time (examples/bench.py) and
makes the same objects. What it refuses (NaN, Infinity, 1e400, lone surrogates, any error) goes to
``json.loads``, so values and errors are always ``json.loads``' own (tests/test_json.py). Without
msgspec, ``loads`` is ``json.loads`` and ``fast`` reads bytes as strict UTF-8, as msgspec does.
Hot paths inline ``try: fast(text) except (ValueError, RecursionError): json.loads(text)``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["BACKEND", "fast", "loads"]

fast: Callable[[str | bytes], Any]
loads: Callable[[str | bytes], Any]
try:
    from msgspec.json import Decoder as _Decoder
except ImportError:  # pragma: no cover - exercised by tests/test_json.py in a subprocess
    BACKEND = "json"

    def fast(text: str | bytes) -> Any:  # as msgspec: bytes are UTF-8, a BOM or UTF-16 is refused
        return json.loads(text.decode() if type(text) is bytes else text)

    loads = json.loads
else:
    BACKEND = "msgspec"
    fast = _Decoder().decode

    def _loads(text: str | bytes) -> Any:
        """``json.loads(text)``: the same value, the same errors."""
        try:
            return fast(text)
        except (ValueError, RecursionError):  # refused: json.loads decides (NaN, 1e400, "\\ud800")
            return json.loads(text)

    loads = _loads
