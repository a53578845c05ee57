"""httpx, imported without its command-line module.

``httpx/__init__.py`` tries ``from ._main import main`` (its CLI), which imports click whenever click
is installed -- and it is, for our own CLI -- then fails on pygments/rich and leaves click loaded:
~13 ms and a build-time tool on the runtime import path. The runtime never needs httpx's CLI, so
while httpx is first imported a finder refuses ``httpx._main``; httpx falls back to its stub
``main`` exactly as when its CLI extras are missing. The finder is removed right after, so an
explicit ``import httpx._main`` later still works.
"""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

__all__ = ["httpx"]


class _SkipHttpxCLI(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname == "httpx._main":
            raise ImportError("httpx's CLI is not needed by router")
        return None


if "httpx" not in sys.modules:
    _finder = _SkipHttpxCLI()
    sys.meta_path.insert(0, _finder)
    try:
        import httpx
    finally:
        sys.meta_path.remove(_finder)
else:
    import httpx
