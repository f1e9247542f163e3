#!/usr/bin/env bash
# Idempotent setup: Debian packages (espeak-ng, sox) and the Python venv pinned by requirements.lock.
# The venv lives in a cache outside the clone, keyed by the lock file's hash, and .venv links to it,
# so a second clone or a second run costs nothing. Override the cache with CROSSPROBE_CACHE.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v espeak-ng >/dev/null 2>&1 || need_apt+=(espeak-ng)
command -v sox >/dev/null 2>&1 || need_apt+=(sox)
ldconfig -p 2>/dev/null | grep -q libespeak-ng.so.1 || need_apt+=(libespeak-ng1)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
cache=${CROSSPROBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/crossprobe}
key=$( (cat requirements.lock; "$PYTHON" -c 'import sys; print(sys.version_info[:2])') | sha256sum | cut -c1-16)
venv="$cache/venv-$key"
if [ ! -f "$venv/.complete" ]; then
  echo "setup: building the venv $venv from requirements.lock (a few minutes, about 6 GB)"
  rm -rf "$venv"
  mkdir -p "$cache"
  "$PYTHON" -m venv "$venv"
  if ! "$venv/bin/pip" install --no-input -r requirements.lock >"$cache/pip-$key.log" 2>&1; then
    tail -n 30 "$cache/pip-$key.log"
    echo "setup: pip install failed; full log in $cache/pip-$key.log" >&2
    exit 1
  fi
  touch "$venv/.complete"
fi
ln -sfn "$venv" .venv
echo "setup: ready (.venv -> $venv)"
