"""``python -m router`` and the ``router`` console script: the ``router`` command.

The command needs the ``cli`` extra; without it, one line names the missing packages and the install
command (``pip install 'spec-router[cli]'``), and the exit status is 1. This module imports only the
standard library and router's own stdlib-only modules before that check.
"""

from __future__ import annotations

import sys

from router._extras import CLI_MODULES
from router._extras import missing
from router._extras import needs

__all__ = ["run"]


def run() -> None:
    """The ``router`` command, or one line on stderr and exit 1 when a package of the cli extra is missing."""
    if missing(CLI_MODULES):
        print(f"error: {needs('the router command', CLI_MODULES)}", file=sys.stderr)
        sys.exit(1)
    try:
        # click and the commands: only once the check above found them (a broken install still fails here)
        from router.cli import main
    except ImportError as err:
        print(f"error: {needs('the router command', CLI_MODULES, err)}", file=sys.stderr)
        sys.exit(1)
    main(prog_name="router")


if __name__ == "__main__":
    run()
