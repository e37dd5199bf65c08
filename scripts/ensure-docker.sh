#!/usr/bin/env bash
# Make sure what the server needs on the host is there: Docker's engine (Debian's docker.io),
# debootstrap (to build the default image without a registry), zstd (archives) and a running dockerd.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
command -v zstd >/dev/null 2>&1 || missing+=(zstd)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
# The test suite also runs the database layer against a real PostgreSQL server it starts itself.
if [ "${WITH_TEST_DEPS:-0}" = 1 ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi
# ... and the web dashboard in Debian's Chromium, driven by Playwright (never `playwright install`).
if [ "${WITH_TEST_DEPS:-0}" = 1 ] && ! [ -x /usr/bin/chromium ]; then
  missing+=(chromium)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo ">> installing ${missing[*]} (Debian packages)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if docker info >/dev/null 2>&1; then
  exit 0
fi

echo ">> starting dockerd (log: /var/log/daytona-dockerd.log)"
# No bridge and no iptables: sandboxes run with networking off unless the host provides a network.
$SUDO sh -c 'nohup dockerd --bridge=none --iptables=false >/var/log/daytona-dockerd.log 2>&1 &'
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    echo ">> dockerd is up"
    exit 0
  fi
  sleep 0.5
done
echo "error: dockerd did not start; see /var/log/daytona-dockerd.log" >&2
tail -20 /var/log/daytona-dockerd.log >&2 || true
exit 1
