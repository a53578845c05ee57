"""Wheel build hook: put the top-level generated/, specs/ and schemas/ inside the router package.

Only for a real wheel: an editable install keeps reading them from the checkout (router/_checkout.py
for router.generated; router/compiler/_specs.py for the specs and schemas), so nothing goes stale.
"""

from __future__ import annotations

from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

INSIDE = {"generated": "router/generated", "specs": "router/_specs", "schemas": "router/_schemas"}


class CustomBuildHook(BuildHookInterface):  # type: ignore[misc]  # hatchling ships no type hints
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name == "wheel" and version == "standard":
            build_data["force_include"].update(INSIDE)
