#!/usr/bin/env bash
# Installs what Rampart needs on a Debian machine: nats-server (Debian package), the Python
# workspace (uv, then `uv sync --frozen`) and, with --test, the real servers the engine's
# tests detect. Safe to run again; quiet when everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=()
command -v nats-server >/dev/null 2>&1 || packages+=(nats-server)
# report-service renders PDF exports with WeasyPrint, which loads Pango (and HarfBuzz, fontconfig)
# at run time; fonts-dejavu-core gives it a font on a bare machine.
for package in libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 fontconfig fonts-dejavu-core; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || packages+=("$package")
done
if [ "${1:-}" = "--test" ]; then
  # stunnel4 … dante-server: the protocol and TLS-wrapping tests (about 9 s of apt-get install);
  # nftables: firewalled hosts in a network namespace; snmpd: a UDP service; vsftpd: FTP with AUTH TLS (facts)
  for package in redis-server memcached nginx-light openssh-server mosquitto postgresql vsftpd \
    stunnel4 bind9 unbound dnsmasq-base slapd dante-server nftables snmpd; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || packages+=("$package")
  done
fi

if [ ${#packages[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian packages: ${packages[*]}"
    # Never start them as system services: the tests run their own on free ports.
    created_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && created_policy=1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
    if [ "$created_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  else
    echo "missing Debian packages: ${packages[*]}. Install them with:" >&2
    echo "  sudo apt-get install -y --no-install-recommends ${packages[*]}" >&2
    [ "${1:-}" = "--test" ] && echo "(engine tests skip servers that are missing, except in CI)" >&2
    command -v nats-server >/dev/null 2>&1 || exit 1
  fi
fi

if ! command -v uv >/dev/null 2>&1; then
  echo "installing uv (PyPI)…"
  python3 -m pip install --quiet --user uv 2>/dev/null || python3 -m pip install --quiet uv
  export PATH="$HOME/.local/bin:$PATH"
fi

uv sync --frozen --quiet

# buf (proto lint and breaking-change check) for `make check-protos`: the npm package carries
# the binary; pinned, installed under .tools/ (not committed).
if [ "${1:-}" = "--test" ]; then
  buf_version=1.75.0
  if [ "$(.tools/node_modules/.bin/buf --version 2>/dev/null)" != "$buf_version" ]; then
    if ! command -v npm >/dev/null 2>&1; then
      if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
      else
        echo "npm is missing (needed for buf): apt-get install npm" >&2; exit 1
      fi
    fi
    echo "installing buf $buf_version (npm)…"
    mkdir -p .tools
    npm install --silent --no-save --no-audit --no-fund --prefix .tools "@bufbuild/buf@$buf_version" >/dev/null
  fi
fi
