"""The runtime import path stays small: no build tools, no network, no file reads beyond modules."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT

HEAVY = ("yaml", "jsonschema", "jinja2", "click")


@pytest.mark.parametrize(
    "stmt",
    [
        "import router",
        "import router.generated.openai",
        "import router.generated.anthropic, router.generated.fake",
    ],
)
def test_import_does_not_load_build_tools(stmt: str) -> None:
    r = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", stmt], cwd=ROOT, capture_output=True, text=True, check=True
    )
    modules = {line.split("|")[-1].strip().split(".")[0] for line in r.stderr.splitlines() if "|" in line}
    loaded = sorted(m for m in HEAVY if m in modules)
    assert loaded == [], f"{stmt} imports {loaded}"


def test_import_and_call_touch_no_files_or_sockets() -> None:
    code = (
        "import sys\n"
        "events = []\n"
        "sys.addaudithook(lambda e, a: events.append((e, str(a[0]))) if e in ('open', 'socket.connect') else None)\n"
        "import router\n"
        "r = router.completion('fake/echo', [{'role': 'user', 'content': 'hi'}])\n"
        "assert r.choices[0].message.content == 'hi'\n"
        "import re\n"
        # httpx2 and httpcore2 read their own version from their installed METADATA when first
        # imported (importlib.metadata.version), which also looks along sys.path (the stdlib zip):
        # the client library's own files, nothing of the app's or the network's.
        "own = re.compile(r'.*/(httpx2|httpcore2)-[^/]*\\.dist-info/METADATA$|.*/python3\\d+\\.zip$')\n"
        "bad = [a for e, a in events if e == 'socket.connect' or not (a.endswith(('.py', '.pyc', '.so')) or '__pycache__' in a or a.endswith('/') or own.match(a))]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True)
