"""Wheel build hook: put the top-level generated/, specs/ and schemas/ inside the router package.

Only for a real wheel: an editable install keeps reading them from the checkout (router/_checkout.py
for router.generated; router/compiler/_specs.py for the specs and schemas), so nothing goes stale.

The wheel's copies of the data files are compact and mean the same (issue 12: the installed package
within 1 MiB): the JSON Schemas without indentation, the specs without their comment lines. The
commented specs, with the documentation each value comes from, are specs/ in the repository;
tests/test_wheel_data.py checks, for every spec and schema, that the compact copy loads to the same
data and that the specs compile to the same modules.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

INSIDE = {"generated": "router/generated", "specs": "router/_specs", "schemas": "router/_schemas"}

# A key whose value is a block scalar (``note: >-``, ``text: |2``): the lines indented deeper than
# the key's are the scalar's text, kept as written even where one starts with "#".
_BLOCK = re.compile(r"""^(\s*)(?:-\s+)?[^#'"\s][^#]*:\s*[|>][-+0-9]*\s*(?:#.*)?$""")


def compact_yaml(text: str) -> str:
    """``text`` without its full-line comments and runs of blank lines (the first line, a
    ``yaml-language-server`` schema link, is kept)."""
    lines = text.splitlines(keepends=True)
    out = lines[:1] if lines and lines[0].startswith("# yaml-language-server:") else []
    block: int | None = None
    for line in lines[len(out) :]:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip(" "))
        if block is not None:
            if not stripped or indent > block:
                out.append(line)
                continue
            block = None
        if stripped.startswith("#"):
            continue
        if not stripped and (not out or not out[-1].strip()):
            continue
        m = _BLOCK.match(line)
        if m is not None:
            block = len(m.group(1))
        out.append(line)
    return "".join(out)


def compact_json(text: str) -> str:
    return json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":")) + "\n"


class CustomBuildHook(BuildHookInterface):  # type: ignore[misc]  # hatchling ships no type hints
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version != "standard":
            return
        root = Path(self.root)
        self._tmp = Path(tempfile.mkdtemp(prefix="router-wheel-"))
        include = build_data["force_include"]
        include["generated"] = INSIDE["generated"]
        for folder, suffix, compact in (("specs", ".yaml", compact_yaml), ("schemas", ".json", compact_json)):
            for src in sorted((root / folder).iterdir()):
                if not src.is_file():
                    continue
                dest = self._tmp / folder / src.name
                dest.parent.mkdir(parents=True, exist_ok=True)
                text = src.read_text(encoding="utf-8")
                if src.suffix == suffix:
                    text = compact(text)
                if folder == "specs":  # the schema link of the first line, to where the wheel puts it
                    text = text.replace("$schema=../schemas/", "$schema=../_schemas/", 1)
                dest.write_text(text, encoding="utf-8")
                include[str(dest)] = f"{INSIDE[folder]}/{src.name}"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        tmp = getattr(self, "_tmp", None)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
