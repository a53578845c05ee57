# Sourced by tests/check.sh: redis-server for tests/test_gateway_redis.py (the tests start their own
# server on a free 127.0.0.1 port and stop it; this only installs the binary when it is missing).
ensure_redis() {
  if command -v redis-server >/dev/null 2>&1; then
    return 0
  fi
  echo "== redis-server (Debian package redis-server) for tests/test_gateway_redis.py"
  local sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo apt-get install -y -q redis-server >/dev/null 2>&1 \
    || { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q redis-server >/dev/null; }
  # A package install may start the system service; the tests use their own server only.
  $sudo service redis-server stop >/dev/null 2>&1 || true
  command -v redis-server >/dev/null 2>&1
}
