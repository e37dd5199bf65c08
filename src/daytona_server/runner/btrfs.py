"""What kind of quotas a btrfs file system keeps: full qgroups, simple quotas (squota), or none.

Simple quotas (Linux 6.7+) charge each extent to the subvolume that wrote it, so a container's limit
counts only its own writes, and snapshots and deletions stay cheap. Full qgroups also charge the
image's shared extents to every container and make deleting snapshots of a large image slow.
"""

from __future__ import annotations

import fcntl
import os
import uuid
from pathlib import Path

_IOC_FS_INFO = (2 << 30) | (1024 << 16) | (0x94 << 8) | 31  # _IOR(BTRFS_IOCTL_MAGIC, 31, fs_info_args)


def quota_mode(path: Path) -> str | None:
    """ "squota", "qgroup" or "disabled" for the btrfs file system holding `path`; None when it cannot tell."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return None
    try:
        info = bytearray(1024)
        fcntl.ioctl(fd, _IOC_FS_INFO, info)
    except OSError:
        return None  # not btrfs, or not allowed to ask
    finally:
        os.close(fd)
    fsid = uuid.UUID(bytes=bytes(info[16:32]))
    try:
        return (Path("/sys/fs/btrfs") / str(fsid) / "qgroups" / "mode").read_text().strip()
    except OSError:
        return "disabled" if not (Path("/sys/fs/btrfs") / str(fsid) / "qgroups").exists() else None
