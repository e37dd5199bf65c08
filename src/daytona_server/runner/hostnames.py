"""A running container's hostname, changed from the host: how a warm-pool member takes the id a create names.

The sandbox's processes cannot do it (they have no CAP_SYS_ADMIN); the host enters the container's
UTS namespace instead, and rewrites the /etc/hostname and /etc/hosts that Docker bind-mounts into
it (in place: the container sees the same inodes). Docker gives the container its original
hostname again at every start, so the runtime does this after each start of a claimed member.
"""

from __future__ import annotations

import ctypes
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .base import RuntimeFailure


def can_rename() -> bool:
    """Entering another process's namespaces needs root on the host."""
    return os.geteuid() == 0


def set_hostname(attrs: dict[str, Any], hostname: str) -> None:
    """Make `hostname` the running container's hostname, live and in its /etc files; `attrs`: its
    inspection since it last started (they name its PID and those files)."""
    original = str(attrs["Config"]["Hostname"])
    pid = int(attrs["State"].get("Pid") or 0)
    if not pid:
        raise RuntimeFailure(f"container {attrs.get('Name', '?')} is not running: cannot set its hostname")
    _set_uts_hostname(pid, hostname)
    _rewrite(Path(attrs["HostnamePath"]), lambda _: hostname + "\n")
    own = re.compile(rf"(?<![\w.-]){re.escape(original)}(?![\w.-])")
    _rewrite(Path(attrs["HostsPath"]), lambda text: own.sub(hostname, text))


CLONE_NEWUTS = 0x04000000
_libc = ctypes.CDLL(None, use_errno=True)


def _set_uts_hostname(pid: int, hostname: str) -> None:
    """sethostname(2) inside the UTS namespace of `pid`, from a thread of its own: a thread may join
    another UTS namespace alone (setns(2)), and this one ends right after, so no other code of the
    server ever runs in the container's namespace. No nsenter process to start (a burst of claims
    would pay a fork and two execs each)."""
    failure: list[str] = []

    def inside() -> None:
        try:
            fd = os.open(f"/proc/{pid}/ns/uts", os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            failure.append(f"cannot open its UTS namespace: {exc.strerror}")
            return
        try:
            if _libc.setns(fd, CLONE_NEWUTS) != 0:
                failure.append(f"setns: {os.strerror(ctypes.get_errno())}")
                return
            name = hostname.encode()
            if _libc.sethostname(name, len(name)) != 0:
                failure.append(f"sethostname: {os.strerror(ctypes.get_errno())}")
        finally:
            os.close(fd)

    thread = threading.Thread(target=inside, name="set-hostname")
    thread.start()
    thread.join()
    if failure:
        raise RuntimeFailure(f"cannot set the hostname {hostname!r}: {failure[0]}")


def _rewrite(path: Path, change: Callable[[str], str]) -> None:
    try:
        with path.open("r+") as fh:  # the same inode: the container's bind mount shows it
            text = change(fh.read())
            fh.seek(0)
            fh.write(text)
            fh.truncate()
    except OSError as exc:
        raise RuntimeFailure(f"cannot rewrite {path}: {exc}") from None
