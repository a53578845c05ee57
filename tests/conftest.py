from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from matrix import PROVIDER_ENV
from syrupy.extensions.json import JSONSnapshotExtension

# tests/test_json.py runs some suites again where msgspec cannot be imported (router/_json.py's
# fallback): None in sys.modules makes `import msgspec` raise ImportError.
if os.environ.get("ROUTER_TEST_NO_MSGSPEC"):
    sys.modules["msgspec"] = None  # type: ignore[assignment]

ROOT = Path(__file__).resolve().parents[1]
REAL = (
    ROOT / "tests" / "fixtures" / "real"
)  # a copy of ../shared/fixtures/real: tests read nothing outside the repo
CASES = ROOT / "tests" / "cases"
FIXED_NOW = 1_767_225_600  # 2026-01-01T00:00:00Z: snapshots must not depend on the clock

# Environment variables that would change what an adapter sends: every one any spec reads.
_ENV = PROVIDER_ENV


@pytest.fixture
def snapshot_json(snapshot: Any) -> Any:
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> int:
    from router.protocols import _normalise

    monkeypatch.setattr(_normalise, "now", lambda: FIXED_NOW)
    return FIXED_NOW


def real_cases(*providers: str) -> list[Path]:
    if not REAL.is_dir():
        raise RuntimeError(f"{REAL} is missing: the recorded traffic (tests/fixtures/real) is missing")
    out: list[Path] = []
    for p in providers:
        out += sorted((REAL / p).glob("*.json"))
    return out


def load_case(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def canonical_cases() -> list[Path]:
    return sorted(CASES.glob("*.json"))


def error_record(err: Any, *, request_id: bool = True) -> dict[str, Any]:
    """What the error snapshots hold of a typed error."""
    out = {
        "class": type(err).__name__,
        "retryable": err.retryable,
        "status": err.status,
        "native_type": err.native_type,
        "retry_after": err.retry_after,
        "str": str(err),
    }
    if request_id:
        out["request_id"] = err.request_id
    return out
