#!/usr/bin/env bash
# Installs what Rampart needs on a Debian machine: nats-server (Debian package) and the
# Python workspace (uv, then `uv sync --frozen`). Safe to run again; quiet when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v nats-server >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing nats-server (Debian package)…"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null
  else
    echo "nats-server is missing. Install it with:  sudo apt-get install -y nats-server" >&2
    echo "(or put a nats-server 2.9+ binary on PATH)" >&2
    exit 1
  fi
fi

if ! command -v uv >/dev/null 2>&1; then
  echo "installing uv (PyPI)…"
  python3 -m pip install --quiet --user uv 2>/dev/null || python3 -m pip install --quiet uv
  export PATH="$HOME/.local/bin:$PATH"
fi

uv sync --frozen --quiet
