#!/usr/bin/env bash
# Every check and test, as CI runs them: lint, format, types (strict), generated/ in step, pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/venv.sh
source tests/litellm_env.sh
source tests/redis_env.sh
ensure_venv "[dev]"
echo "== LiteLLM proxy for tests/test_litellm_proxy.py (.venv-litellm)"
ensure_litellm
ensure_redis
echo "== ruff check"
.venv/bin/ruff check .
echo "== ruff format --check"
.venv/bin/ruff format --check router tests examples
echo "== mypy --strict (router/, generated/)"
.venv/bin/mypy
echo "== router build --check"
.venv/bin/router build --check
echo "== router docs --check"
.venv/bin/router docs --check
echo "== pytest"
.venv/bin/pytest "$@"
