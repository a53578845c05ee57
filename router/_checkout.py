"""In a source checkout, the compiled adapters are the repo's top-level ``generated/`` folder; the
wheel installs the same files as ``router/generated/`` (pyproject.toml's force-include). This finder
lets ``router.generated`` name the checkout's folder, so the code imports one name either way and no
top-level ``generated`` package (an app may have its own) is ever imported.

Installed from a wheel, ``router/generated/`` exists and nothing is registered.
"""

from __future__ import annotations

import sys
from importlib.machinery import ModuleSpec
from importlib.util import spec_from_file_location
from os import path
from types import ModuleType

__all__ = ["install"]

_NAME = "router.generated"


class _CheckoutAdapters:
    """A ``sys.meta_path`` finder for ``router.generated`` only (PEP 451)."""

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def find_spec(
        self, name: str, search: object = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if name != _NAME:
            return None
        return spec_from_file_location(
            name, path.join(self.folder, "__init__.py"), submodule_search_locations=[self.folder]
        )


def install(package_dir: str) -> None:
    """Register the finder when ``package_dir`` (router's own folder) is a checkout's."""
    if path.isdir(path.join(package_dir, "generated")):
        return  # an installed wheel: router/generated/ is a real subpackage
    folder = path.join(path.dirname(package_dir), "generated")
    if not path.isfile(path.join(folder, "__init__.py")):
        return
    if not any(isinstance(f, _CheckoutAdapters) for f in sys.meta_path):
        sys.meta_path.append(_CheckoutAdapters(folder))


install(path.dirname(path.abspath(__file__)))
