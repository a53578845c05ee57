# Sourced by tests/check.sh: a separate virtualenv (.venv-litellm) holding a real LiteLLM proxy for
# tests/test_litellm_proxy.py. It never shares packages with .venv. If the install fails, the reason is
# left in .venv-litellm.log and that test fails saying so; the rest of the suite still runs.
LITELLM_SPEC='litellm[proxy]==1.*'
ensure_litellm() {
  local py=".venv/bin/python"
  if [ ! -x .venv-litellm/bin/litellm ]; then
    rm -rf .venv-litellm
    if ! { "$py" -m venv .venv-litellm &&
      .venv-litellm/bin/python -m pip install --quiet --disable-pip-version-check "$LITELLM_SPEC"; } > .venv-litellm.log 2>&1; then
      echo "warning: could not install $LITELLM_SPEC into .venv-litellm (see .venv-litellm.log)" >&2
      return 0
    fi
  fi
  rm -f .venv-litellm.log
}
