# Shared by examples/demo.sh and tests/check.sh: create or update .venv with a Python >= 3.11.
ensure_venv() {
  local extras="$1"
  local py=""
  for candidate in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
    if [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      py="$candidate"
      break
    fi
  done
  if [ -z "$py" ]; then
    echo "error: Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)" >&2
    exit 1
  fi
  if [ ! -x .venv/bin/python ]; then
    echo "== creating .venv with $("$py" --version 2>&1)"
    "$py" -m venv .venv
  fi
  # Nothing to do when the install is already what pyproject.toml asks for (the project is installed
  # editable, so code changes need no reinstall): the stamp records what the last install was for.
  local stamp=".venv/.router-install-stamp"
  local hash have=""
  hash=$(cat pyproject.toml hatch_build.py | "$py" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')
  [ -f "$stamp" ] && have=$(cat "$stamp")
  # A [dev] install also satisfies a [cli] one ([dev] holds [cli]: the demo after the tests reinstalls
  # nothing), and any install the runtime one.
  local satisfied=""
  if [ "${have%% *}" = "$hash" ]; then
    case "${have#* }|$extras" in
      "$extras|$extras" | "[dev]|[cli]" | *"|") satisfied=1 ;;
    esac
  fi
  if [ -x .venv/bin/router ] && [ -n "$satisfied" ]; then
    echo "== .venv is up to date (${extras:-runtime} install unchanged)"
    return 0
  fi
  echo "== installing the project into .venv (${extras:-runtime}; about a minute the first time)"
  local started=$SECONDS
  # pip's output is kept out of the way unless the install fails (this machine's pip config also
  # prints a warning line per package it looks up).
  local log
  log=$(mktemp)
  if ! .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras}" > "$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "error: installing the project into .venv failed (output above)" >&2
    exit 1
  fi
  rm -f "$log"
  echo "$hash $extras" > "$stamp"
  echo "   done in $((SECONDS - started)) s"
}
