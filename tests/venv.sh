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
  # --upgrade-strategy only-if-needed keeps a warm venv fast; pip is quiet unless something fails.
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras}"
}
