#!/usr/bin/env bash
# Makes sure the system tools the project needs are present on Debian 12 (bookworm):
# valkey-server + valkey-tools (bookworm-backports), redis-server (main, for migration tests),
# chromium (browser tests), unzip (the binaries tests check our zip archives with it), python3-msgpack and
# python3-zmq (a Python vLLM-style KV event publisher in the kvcache-index tests). Nothing happens when
# they are already installed.
set -euo pipefail

say() { printf '[setup] %s\n' "$*" >&2; }

need=()
command -v valkey-server >/dev/null 2>&1 || need+=(valkey)
command -v redis-server >/dev/null 2>&1 || need+=(redis)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v unzip >/dev/null 2>&1 || need+=(unzip)
# Debian's python3-* modules live in /usr/bin/python3's path (a pyenv/venv python3 first on PATH does not see them).
/usr/bin/python3 -c 'import msgpack, zmq' >/dev/null 2>&1 || need+=(python)
if [ "${#need[@]}" -eq 0 ]; then
  say "valkey-server, redis-server, chromium, unzip and python3-msgpack/python3-zmq are already installed"
  exit 0
fi
say "missing: ${need[*]} — installing from Debian's package archive"

if ! command -v apt-get >/dev/null 2>&1; then
  say "apt-get not found: install valkey-server (8.x), redis-server, chromium, unzip and python3 with the msgpack and zmq modules with your OS package manager"
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# Add bookworm-backports with the same archive URI as the existing Debian entry.
if [[ " ${need[*]} " == *" valkey "* ]]; then
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null; then
    uri=""
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
      uri=$(awk '/^URIs:/ && $2 ~ /debian\/?$/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
    fi
    if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
      uri=$(awk '$1=="deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list)
    fi
    uri=${uri:-http://deb.debian.org/debian}
    say "adding bookworm-backports from $uri"
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" \
      | $SUDO tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null
  fi
fi

export DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes
$SUDO apt-get update -qq

# The packaged services are not needed (tests start their own servers on free ports), so they must
# not start: a policy-rc.d that answers 101 ("action forbidden") keeps invoke-rc.d and
# deb-systemd-invoke from starting them during the install. Ours is removed afterwards; one that
# was already there is left alone (it already decides). No process is ever ended by name: other
# valkey-server / redis-server processes on this machine are none of our business.
policy=/usr/sbin/policy-rc.d
added_policy=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# added by valkey-tools scripts/setup-system.sh for the duration of an apt install\nexit 101\n' \
    | $SUDO tee "$policy" >/dev/null
  $SUDO chmod 755 "$policy"
  added_policy=1
  trap '$SUDO rm -f "$policy"' EXIT
fi
pkgs=()
for n in "${need[@]}"; do
  case "$n" in
    valkey) $SUDO apt-get install -y -qq -t bookworm-backports valkey-server valkey-tools >/dev/null ;;
    redis) pkgs+=(redis-server redis-tools) ;;
    chromium) pkgs+=(chromium) ;;
    unzip) pkgs+=(unzip) ;;
    python) pkgs+=(python3 python3-msgpack python3-zmq) ;;
  esac
done
if [ "${#pkgs[@]}" -gt 0 ]; then $SUDO apt-get install -y -qq "${pkgs[@]}" >/dev/null; fi

if [ -n "$added_policy" ]; then $SUDO rm -f "$policy"; trap - EXIT; fi

# Where the services were started anyway (a policy-rc.d of the machine's allowed it), stop and
# disable exactly the services these packages installed, through the service manager.
for n in "${need[@]}"; do
  case "$n" in
    valkey) svc=valkey-server ;;
    redis) svc=redis-server ;;
    *) continue ;;
  esac
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now "$svc.service" >/dev/null 2>&1 || true
  elif [ -x "/etc/init.d/$svc" ]; then
    $SUDO service "$svc" stop >/dev/null 2>&1 || true
  fi
done
version() { "$1" --version | sed -n 's/.* v=\([^ ]*\).*/\1/p'; }
say "installed: valkey-server $(version valkey-server), redis-server $(version redis-server)"
