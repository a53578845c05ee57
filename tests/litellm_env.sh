# Sourced by tests/check.sh: a separate virtualenv (.venv-litellm) holding a real LiteLLM proxy for
# tests/test_litellm_proxy.py. It never shares packages with .venv. If the install fails, the reason is
# left in .venv-litellm.log and that test fails saying so; the rest of the suite still runs.
LITELLM_SPEC='litellm[proxy]==1.*'
ensure_litellm() {
  local py=".venv/bin/python"
  if [ ! -x .venv-litellm/bin/litellm ]; then
    rm -rf .venv-litellm
    echo "   installing $LITELLM_SPEC into .venv-litellm (once; 1 to 4 minutes, a dot every 15 s)"
    local started=$SECONDS
    { "$py" -m venv .venv-litellm &&
      .venv-litellm/bin/python -m pip install --quiet --disable-pip-version-check "$LITELLM_SPEC"; } > .venv-litellm.log 2>&1 &
    local pid=$!
    while kill -0 "$pid" 2>/dev/null; do
      sleep 15
      kill -0 "$pid" 2>/dev/null && printf '.'
    done
    if ! wait "$pid"; then
      echo
      echo "warning: could not install $LITELLM_SPEC into .venv-litellm (see .venv-litellm.log)" >&2
      return 0
    fi
    echo
    echo "   done in $((SECONDS - started)) s"
  else
    echo "   .venv-litellm is already installed"
  fi
  rm -f .venv-litellm.log
}
