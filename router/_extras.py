"""The build-time tools live in an extra: ``pip install 'spec-router[cli]'``.

``pip install spec-router`` installs the runtime only (``import router``, every generated adapter,
``router.completion``): the HTTP client and nothing else. The ``router`` command (click) and the
compiler behind ``router build`` / ``validate`` / ``docs`` and ``Router.from_config`` (pyyaml,
jsonschema, jinja2) come with the ``cli`` extra. Without them they say so in one line, naming the
missing packages and the install command, instead of an ImportError from deep inside.

Stdlib only: this module runs before any of the tools is imported.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable

from router._exceptions import ConfigError

__all__ = ["CLI_MODULES", "COMPILER_MODULES", "INSTALL_CLI", "MissingDependencyError", "missing", "needs"]

INSTALL_CLI = "pip install 'spec-router[cli]'"
# import name -> distribution name (what pip installs)
_DISTRIBUTIONS = {"click": "click", "jinja2": "jinja2", "jsonschema": "jsonschema", "yaml": "pyyaml"}
COMPILER_MODULES = ("jinja2", "jsonschema", "yaml")
CLI_MODULES = ("click", *COMPILER_MODULES)


class MissingDependencyError(ConfigError, ImportError):
    """A feature of the ``cli`` extra used without it. A ConfigError (every router error is a
    RouterError) and an ImportError too, so ``except ImportError`` around an optional import still works."""


def missing(modules: Iterable[str]) -> list[str]:
    """The distributions of ``modules`` that cannot be imported here, sorted; found without importing them."""
    out = set()
    for name in modules:
        try:
            found = importlib.util.find_spec(name) is not None  # None too when sys.modules[name] is None
        except (ImportError, ValueError):  # a finder that refuses it, or a module without a __spec__
            found = False
        if not found:
            out.add(_DISTRIBUTIONS.get(name, name))
    return sorted(out)


def needs(what: str, modules: Iterable[str], err: ImportError | None = None) -> MissingDependencyError:
    """``<what> needs <packages>: pip install 'spec-router[cli]'``, naming every missing package. ``err``
    (the ImportError that brought us here) names the package when each one is found but one fails to import
    (a broken install: jsonschema present, one of its own dependencies not)."""
    modules = tuple(modules)
    absent = missing(modules)
    if not absent and err is not None:
        top = (err.name or "").partition(".")[0]
        absent = [_DISTRIBUTIONS.get(top, top or "its dependencies")]
    return MissingDependencyError(f"{what} needs {', '.join(absent)}: {INSTALL_CLI}")
