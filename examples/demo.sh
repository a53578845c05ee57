#!/usr/bin/env bash
# The demo: set up .venv (created or updated), compile the adapters, run examples/quickstart.py.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/venv.sh
# The runtime and the cli extra (pip install 'spec-router[cli]'): the demo runs `router build`.
ensure_venv "[cli]"
.venv/bin/router build
.venv/bin/python examples/quickstart.py
