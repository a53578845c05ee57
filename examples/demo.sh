#!/usr/bin/env bash
# The demo: set up .venv (created or updated), compile the adapters, run examples/quickstart.py.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/venv.sh
ensure_venv ""
.venv/bin/router build
.venv/bin/python examples/quickstart.py
