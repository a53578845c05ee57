"""JSON text to Python objects, exactly as ``json.loads`` makes them, at msgspec's speed.

msgspec's decoder (a C parser, a runtime dependency on CPython) reads a provider's stream frame in a
third of ``json.loads``' time: on frames shaped as OpenAI and Gemini send them, ``json.loads`` alone
took 2.7-3.0 µs of the 3 µs that framing + decoding a chunk may cost (examples/bench.py). It makes
the same objects (dict, list, str, int of any size, float, bool, None; the last of repeated keys
wins; the same nesting limit). Text it refuses and ``json.loads`` takes (NaN, Infinity, numbers
beyond a double, lone surrogates) goes to ``json.loads``, and so does every refused text, so the
result and the error are always ``json.loads``' own: ``loads`` raises ``ValueError`` (or
``RecursionError``, nested too deep) where ``json.loads`` does, and nowhere else
(tests/test_json.py compares the two on recorded frames and on generated text).

Without msgspec (another Python, or an install without it) ``loads`` is ``json.loads`` itself, and
``fast`` reads bytes as strict UTF-8 as msgspec does (a BOM or UTF-16 is refused, for the caller's
general path).
Hot paths inline the same two steps: ``try: fast(text) except (ValueError, RecursionError):
json.loads(text)``.
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
