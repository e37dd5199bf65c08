#!/usr/bin/env bash
# Make sure what the server needs on the host is there: Docker's engine (Debian's docker.io),
# debootstrap (to build the default image without a registry), zstd (archives), btrfs-progs (disk
# quotas) and a running engine that enforces each sandbox's disk size.
#
# The engine is the project's own dockerd, on the socket $DOCKER_HOST (default
# unix:///run/daytona/docker.sock), so a Docker the host already runs is never reconfigured. Its data
# root is a btrfs file system with (simple) quotas on a sparse file ($DAYTONA_ENGINE_DIR.img, sized by
# DAYTONA_ENGINE_DISK_GB, default 75% of the free space, at most 200): that is what makes
# `--storage-opt size` (a sandbox's `disk`) work on a kernel without XFS project quotas. Point
# DOCKER_HOST at another engine to use that one as it is; the server then says at start-up and in
# GET /api/health whether it can enforce disk sizes there.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

DEFAULT_HOST="unix:///run/daytona/docker.sock"
DOCKER_HOST="${DOCKER_HOST:-$DEFAULT_HOST}"
export DOCKER_HOST
ENGINE_DIR="${DAYTONA_ENGINE_DIR:-/var/lib/daytona/engine}"

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
command -v zstd >/dev/null 2>&1 || missing+=(zstd)
command -v mkfs.btrfs >/dev/null 2>&1 || missing+=(btrfs-progs)
# The server's sandbox firewall (iptables), and `ip` for its view of the host's addresses.
command -v iptables-restore >/dev/null 2>&1 || missing+=(iptables)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
# The test suite also runs the database layer against a real PostgreSQL server it starts itself.
if [ "${WITH_TEST_DEPS:-0}" = 1 ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi
# ... and the web dashboard in Debian's Chromium, driven by Playwright (never `playwright install`).
if [ "${WITH_TEST_DEPS:-0}" = 1 ] && ! [ -x /usr/bin/chromium ]; then
  missing+=(chromium)
fi
# ... and `daytona sandbox ssh` in a real terminal, tmux's.
if [ "${WITH_TEST_DEPS:-0}" = 1 ] && ! command -v tmux >/dev/null 2>&1; then
  missing+=(tmux)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo ">> installing ${missing[*]} (Debian packages)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# io_uring is a large kernel attack surface that the engine's seccomp profile (Docker 20.10) lets
# sandboxes use: keep it for privileged host processes only.
if [ -w /proc/sys/kernel/io_uring_disabled ] && [ "$(cat /proc/sys/kernel/io_uring_disabled)" = 0 ]; then
  echo ">> kernel.io_uring_disabled=1 (io_uring for privileged processes only: sandboxes cannot use it)"
  $SUDO sh -c 'echo 1 > /proc/sys/kernel/io_uring_disabled'
fi

if docker info >/dev/null 2>&1; then
  echo ">> sandbox networking: the server makes its own bridge and firewall on this engine at start-up"
  exit 0
fi
if [ "$DOCKER_HOST" != "$DEFAULT_HOST" ]; then
  echo "error: no Docker engine answers at DOCKER_HOST=$DOCKER_HOST; start it, or unset DOCKER_HOST" >&2
  echo "       to let this script run the project's own engine" >&2
  exit 1
fi

# The engine's data root: btrfs with quotas on a sparse file, made once, mounted again after a reboot.
if ! mountpoint -q "$ENGINE_DIR"; then
  image="$ENGINE_DIR.img"
  $SUDO mkdir -p "$ENGINE_DIR"
  if [ ! -f "$image" ]; then
    free_gb=$(( $(df --output=avail -k "$(dirname "$ENGINE_DIR")" | tail -1) / 1024 / 1024 ))
    size_gb="${DAYTONA_ENGINE_DISK_GB:-$(( free_gb * 3 / 4 < 200 ? free_gb * 3 / 4 : 200 ))}"
    if [ "$size_gb" -lt 8 ]; then
      echo "error: only ${free_gb} GB free next to $ENGINE_DIR; the engine's disk needs 8 GB or more" >&2
      echo "       (free some space, or set DAYTONA_ENGINE_DIR to a bigger file system)" >&2
      exit 1
    fi
    echo ">> creating the engine's disk: ${size_gb} GB btrfs with quotas (sparse file $image)"
    $SUDO truncate -s "${size_gb}G" "$image"
    $SUDO mkfs.btrfs -q "$image" >/dev/null
  fi
  $SUDO mount -o loop "$image" "$ENGINE_DIR"
  if ! $SUDO btrfs qgroup show "$ENGINE_DIR" >/dev/null 2>&1; then
    # Simple quotas (Linux 6.7+: each extent charged to the subvolume that wrote it) keep snapshots
    # and deletions cheap; Debian 12's btrfs-progs cannot enable them yet, so ask the kernel directly
    # (BTRFS_IOC_QUOTA_CTL, command 4). Full qgroups work too, but make every create and delete slow.
    if ! $SUDO python3 -c 'import fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
fcntl.ioctl(fd, (3 << 30) | (16 << 16) | (0x94 << 8) | 40, bytearray(struct.pack("QQ", 4, 0)))' "$ENGINE_DIR" 2>/dev/null; then
      echo ">> this kernel has no btrfs simple quotas: using full qgroups (slower creates and deletes)"
      $SUDO btrfs quota enable "$ENGINE_DIR"
    fi
  fi
fi

echo ">> starting the engine at $DOCKER_HOST (log: /var/log/daytona-dockerd.log)"
$SUDO mkdir -p /run/daytona
# Docker's own bridge and iptables rules are off: the server makes the sandboxes' bridge itself and
# owns every firewall rule around it (daytona_server.network), so nothing of Docker's opens a path.
$SUDO sh -c "nohup dockerd -H '$DOCKER_HOST' --data-root '$ENGINE_DIR' --exec-root /run/daytona/engine \
  --pidfile /run/daytona/dockerd.pid --storage-driver btrfs --bridge=none --iptables=false --ip-masq=false \
  >/var/log/daytona-dockerd.log 2>&1 &"
for _ in $(seq 1 120); do
  if docker info >/dev/null 2>&1; then
    echo ">> the engine is up (storage: btrfs with quotas, so sandbox disk sizes are enforced)"
    echo ">> sandbox networking: the server makes its own bridge and firewall on this engine at start-up"
    exit 0
  fi
  sleep 0.5
done
echo "error: dockerd did not start; see /var/log/daytona-dockerd.log" >&2
tail -20 /var/log/daytona-dockerd.log >&2 || true
exit 1
