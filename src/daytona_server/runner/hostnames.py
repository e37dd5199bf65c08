"""A running container's hostname, changed from the host: how a warm-pool member takes the id a create names.

The sandbox's processes cannot do it (they have no CAP_SYS_ADMIN); the host enters the container's
UTS namespace instead, and rewrites the /etc/hostname and /etc/hosts that Docker bind-mounts into
it (in place: the container sees the same inodes). Docker gives the container its original
hostname again at every start, so the runtime does this after each start of a claimed member.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

from docker.models.containers import Container

from .base import RuntimeFailure


def can_rename() -> bool:
    """Entering another process's namespaces needs root on the host."""
    return os.geteuid() == 0


def set_hostname(container: Container, hostname: str) -> None:
    """Make `hostname` the running container's hostname, live and in its /etc files."""
    attrs = container.attrs
    original = str(attrs["Config"]["Hostname"])
    pid = int(attrs["State"].get("Pid") or 0)
    if not pid:
        raise RuntimeFailure(f"container {container.name} is not running: cannot set its hostname")
    done = subprocess.run(
        ["nsenter", "--target", str(pid), "--uts", "hostname", hostname], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeFailure(f"cannot set the hostname {hostname!r}: {done.stderr.strip() or done.returncode}")
    _rewrite(Path(attrs["HostnamePath"]), lambda _: hostname + "\n")
    own = re.compile(rf"(?<![\w.-]){re.escape(original)}(?![\w.-])")
    _rewrite(Path(attrs["HostsPath"]), lambda text: own.sub(hostname, text))


def _rewrite(path: Path, change: Callable[[str], str]) -> None:
    try:
        with path.open("r+") as fh:  # the same inode: the container's bind mount shows it
            text = change(fh.read())
            fh.seek(0)
            fh.write(text)
            fh.truncate()
    except OSError as exc:
        raise RuntimeFailure(f"cannot rewrite {path}: {exc}") from None
