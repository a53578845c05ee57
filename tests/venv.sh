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
    "$py" -m venv .venv
  fi
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
}
