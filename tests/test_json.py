"""router/_json.py reads JSON exactly as json.loads does, with msgspec or without it.

Every text below is read both ways: the same value (types included: 1 is not 1.0, True is not 1,
key order, -0.0, NaN) or an error both ways. Then the readers built on it: a response body through
``load_json`` as the general path (strip a BOM, replace invalid UTF-8, json.loads) reads it, and a
stream frame through ``StreamDriver.feed``. The last test runs this file and the stream and spec
suites again in a Python where msgspec cannot be imported, so the fallback is tested too.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import CASES

from router import _json
from router._exceptions import InvalidResponseError
from router.protocols._normalise import load_json

ROOT = Path(__file__).resolve().parents[1]


def _outcome(fn: Any, text: str | bytes) -> tuple[str, str]:
    try:
        value = fn(text)
    except RecursionError:
        return ("error", "RecursionError")
    except ValueError:
        return ("error", "ValueError")
    # repr tells 1 from 1.0 and True, -0.0 from 0.0, shows key order and keeps nan; a type name per
    # level would add nothing repr does not show for these types.
    return ("ok", repr(value))


def _same(text: str | bytes) -> None:
    want = _outcome(json.loads, text)
    assert _outcome(_json.loads, text) == want, text[:200]


EDGE = [
    "NaN", "[Infinity]", "-Infinity", "1e400", "-1e400", "1e-400", "0.1e-400", "5e-324",
    "1.7976931348623157e308", "1.7976931348623159e308", "123456789012345678901234567890",
    "18446744073709551615", "18446744073709551616", "-9223372036854775808", "-9223372036854775809",
    "0.30000000000000004", "2.2250738585072011e-308", "-0", "-0.0", "1E2", "1e+2", "01", "1.", ".5",
    "+1", '{"a":1,"a":2}', '{"b":1,"a":2}', '"\\ud800"', '"\\udc00\\ud800"', '"\\ud83d\\ude00"',
    '"\\u0000"', '"a\x00b"', '"a\tb"', '"\x7f"', '"\u2028"', "\ufeff{}", " {} ", "{}\n", "[1,]",
    '{"a":1,}', "'a'", "", " ", "true ", "tru", "null", "[] []", '"\\x41"', '"\\/"', '{"a":[1,{"b":null}]}',
]  # fmt: skip


@pytest.mark.parametrize("text", EDGE)
def test_edge_cases_read_as_json_loads(text: str) -> None:
    _same(text)
    _same(text.encode("utf-8", "surrogatepass"))


@pytest.mark.parametrize("depth", [10, 500, 980, 1000, 2000, 50_000])
def test_nesting_limit_is_json_loads_own(depth: int) -> None:
    for text in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth, "[" * depth):
        _same(text)


def test_generated_texts_read_as_json_loads() -> None:
    rng = random.Random(12)
    tokens = [
        *'{}[]",:0123456789.eE+- \n\t\r\\/',
        "\\u", "\\ud800", "\\udc00", "é", "\x00", "\x1f", "\x7f", "NaN", "Infinity", "true", "false",
        "null", '"a"', '"k":', "1e999", "\ufeff", "\u2028", "😀",
    ]  # fmt: skip
    for _ in range(30_000):
        _same("".join(rng.choice(tokens) for _ in range(rng.randint(0, 14))))
    digits = "0123456789"
    for _ in range(20_000):
        number = "".join(rng.choice(digits) for _ in range(rng.randint(1, 30)))
        if rng.random() < 0.5:
            number += "." + "".join(rng.choice(digits) for _ in range(rng.randint(1, 25)))
        if rng.random() < 0.5:
            number += rng.choice("eE") + rng.choice(["", "-", "+"]) + str(rng.randint(0, 400))
        if rng.random() < 0.3:
            number = "-" + number
        _same(number)
        _same("[" + number + "]")
        _same(repr(rng.uniform(-1, 1) * 10 ** rng.randint(-320, 308)))
        _same(str(rng.randint(-(2**70), 2**70)))
    for _ in range(10_000):
        s = "".join(
            chr(rng.choice([rng.randint(0, 0x7F), rng.randint(0x80, 0xFFFF), rng.randint(0x10000, 0x10FFFF)]))
            for _ in range(rng.randint(0, 8))
        )
        _same(json.dumps({s: s}, ensure_ascii=rng.random() < 0.5))
        _same('"' + s + '"')


def _texts_in(value: Any, out: list[str]) -> None:
    """The JSON texts a recording holds as strings: whole bodies, SSE data lines, NDJSON lines."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and ("{" in item or "[" in item):
            if item.lstrip()[:1] in ("{", "["):
                out.append(item)
            for line in item.splitlines():
                line = line[5:].strip() if line.startswith("data:") else line
                if line[:1] in ("{", "["):
                    out.append(line)


def _recorded_texts() -> list[str]:
    """Every recording of tests/fixtures (real traffic and harvested cassettes), and every JSON text
    held inside one."""
    texts: list[str] = []
    for path in sorted((ROOT / "tests" / "fixtures").rglob("*.json")) + sorted(CASES.rglob("*.json")):
        text = path.read_text(encoding="utf-8")
        texts.append(text)
        _texts_in(json.loads(text), texts)
    return texts


def test_recorded_bodies_and_frames_read_as_json_loads() -> None:
    texts = _recorded_texts()
    assert len(texts) > 1000  # the recordings are there (tests/fixtures)
    for text in texts:
        _same(text)
        _same(text.encode())
        # Each value inside as a text of its own: the recordings' numbers, strings and objects.
        try:
            value = json.loads(text)
        except ValueError:
            continue
        stack = [value]
        while stack:
            item = stack.pop()
            _same(json.dumps(item, ensure_ascii=False))
            if isinstance(item, dict):
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)


def _load_json_as_before(body: bytes) -> tuple[str, str]:
    """What load_json made of a body before msgspec: BOM dropped, invalid UTF-8 replaced, json.loads."""
    raw = body[3:] if body[:3] == b"\xef\xbb\xbf" else body
    try:
        return ("ok", repr(json.loads(raw.decode("utf-8", "replace"))))
    except (ValueError, RecursionError):
        return ("error", "InvalidResponseError")


def _load_json_now(body: bytes) -> tuple[str, str]:
    try:
        return ("ok", repr(load_json(body, provider="p", status=200)))
    except InvalidResponseError:
        return ("error", "InvalidResponseError")


def test_response_bodies_read_as_the_general_path() -> None:
    rng = random.Random(7)
    bodies = [t.encode() for t in EDGE] + [
        b"\xef\xbb\xbf{}", b'\xef\xbb\xbf{"a":1}', b'{"a":"\xff"}', b'{"a":"\xc3"}', b'{"a":"\xed\xa0\x80"}',
        b'{"a":"\xf4\x90\x80\x80"}', b'"\xc0\xaf"', '{"a":"é"}'.encode("utf-16"), b"\xff\xfe{\x00}\x00",
        '{"a":"é"}'.encode("latin-1"), b"<html>502</html>", b'{"a":1}\x00',
    ]  # fmt: skip
    for _ in range(20_000):
        pieces = [
            b'{"a":"',
            b'"}',
            b"\xff",
            b"\xc3\xa9",
            b"\xe2\x82",
            b"\xef\xbb\xbf",
            b"1",
            b"[",
            b"]",
            b",",
            b"\x00",
        ]
        bodies.append(b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 8))))
    bodies += [t.encode() for t in _recorded_texts()]
    for body in bodies:
        assert _load_json_now(body) == _load_json_as_before(body), body[:200]


def test_backend_is_msgspec_where_installed() -> None:
    """The dependency is declared for CPython (pyproject.toml): the test venv must have it, or every
    figure in the benchmark is of the fallback."""
    if os.environ.get("ROUTER_TEST_NO_MSGSPEC"):
        assert _json.BACKEND == "json"
        assert _json.loads is json.loads
    else:
        assert _json.BACKEND == "msgspec"


def test_everything_reads_the_same_without_msgspec() -> None:
    """This file, the stream fast-path suite and the recorded-spec snapshots, in a Python where
    ``import msgspec`` fails (tests/conftest.py blocks it): the same values, chunks and snapshots."""
    files = ["tests/test_json.py", "tests/test_stream_fast_paths.py", "tests/test_provider_specs.py"]
    env = {**os.environ, "ROUTER_TEST_NO_MSGSPEC": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *files, "-k", "not without_msgspec"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    tail = (proc.stdout + proc.stderr)[-4000:]
    assert proc.returncode == 0, tail
    assert " passed" in tail and "failed" not in tail, tail
