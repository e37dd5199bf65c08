"""Volume mounts on the host, made so that no sandbox can redirect one (used by runner.docker_runtime).

A sandbox's root owns everything inside a volume, symbolic links included, and a volume may be
mounted into several sandboxes. So a subpath is never handed to Docker as a path (Docker, like any
path lookup, would follow a link planted there, e.g. to the host's /etc). Instead it is walked from
the volume root one component at a time with O_NOFOLLOW (a link is refused, never followed), and
the directory reached is bind-mounted by its file descriptor (`/proc/self/fd/N`, through mount(2):
mount(8) would turn that back into a path) onto a root-only staging directory,
`<mounts dir>/<sandbox id>/<n>`. Docker binds that staging path, which no sandbox can reach or swap.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import json
import os
import re
import stat
from collections.abc import Sequence
from pathlib import Path

from ..runner.base import RuntimeFailure, VolumeMount

MS_BIND = 0x1000
MNT_DETACH = 2
# Every sandbox user, whatever its uid, may write in a volume (see daytona_server.volumes.store).
DIR_MODE = 0o777
MAX_COMPONENT_BYTES = 255
_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_SANDBOX_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


class MountError(RuntimeFailure):
    """A volume could not be mounted safely; the message says why."""


def subpath_parts(subpath: str) -> list[str]:
    """The components of a relative subpath ('.' and empty ones dropped); ValueError for anything unsafe."""
    if "\0" in subpath:
        raise ValueError("must not contain a NUL character")
    if subpath.startswith("/"):
        raise ValueError("must be relative to the volume's root (no leading '/')")
    parts = [part for part in subpath.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise ValueError("must not contain '..'")
    for part in parts:
        if len(part.encode()) > MAX_COMPONENT_BYTES:
            raise ValueError(f"a path component is longer than {MAX_COMPONENT_BYTES} bytes")
    return parts


def _step(parent: int, name: str, create: bool, where: str) -> int:
    """Open directory `name` in the directory `parent` (made when missing), refusing a link."""
    made = False
    try:
        try:
            child = os.open(name, _OPEN_DIR, dir_fd=parent)
        except FileNotFoundError:
            if not create:
                raise
            try:
                os.mkdir(name, DIR_MODE, dir_fd=parent)
                made = True
            except FileExistsError:
                pass  # made meanwhile (by a sandbox, maybe as a link): the open below decides
            child = os.open(name, _OPEN_DIR, dir_fd=parent)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            try:
                is_link = stat.S_ISLNK(os.lstat(name, dir_fd=parent).st_mode)
            except OSError:
                is_link = False
            what = "a symbolic link (volume mounts never follow links)" if is_link else "not a directory"
            raise MountError(f"{where} is {what}") from None
        raise MountError(f"cannot open {where}: {exc.strerror}") from None
    if made:
        os.fchmod(child, DIR_MODE)  # mkdir's mode is cut by the umask
    return child


def open_subpath(root: Path, subpath: str | None, create: bool = True) -> int:
    """A file descriptor of directory `root/subpath`, reached without following any link; the caller closes it."""
    try:
        parts = subpath_parts(subpath or "")
    except ValueError as exc:
        raise MountError(f"volume subpath {subpath!r} {exc}") from None
    try:
        fd = os.open(root, _OPEN_DIR)
    except OSError as exc:
        raise MountError(f"cannot open the volume directory {root}: {exc.strerror}") from None
    try:
        for n, part in enumerate(parts):
            where = f"{'/'.join(parts[: n + 1])!r} in volume subpath {subpath!r}"
            child = _step(fd, part, create, where)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


# -- mounts ---------------------------------------------------------------------------------------


@functools.cache
def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]
    libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
    return libc


def _unescape(field: str) -> str:
    """A path as /proc/self/mountinfo writes it (space, tab, newline and backslash as octal escapes)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def is_mount_point(path: Path) -> bool:
    """Whether something is mounted at `path` (os.path.ismount misses a bind mount from the same file system)."""
    wanted = os.path.realpath(path)
    with open("/proc/self/mountinfo") as info:
        return any(_unescape(line.split(" ")[4]) == wanted for line in info if line.count(" ") >= 4)


def bind_subpath(root: Path, subpath: str, staging: Path) -> None:
    """Bind-mount directory `root/subpath` (walked safely, see open_subpath) onto the directory `staging`."""
    source = open_subpath(root, subpath)
    try:
        target = os.open(staging, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            done = _libc().mount(
                f"/proc/self/fd/{source}".encode(), f"/proc/self/fd/{target}".encode(), None, MS_BIND, None
            )
            if done != 0:
                raise MountError(
                    f"cannot bind volume subpath {subpath!r} onto {staging}: {os.strerror(ctypes.get_errno())}"
                )
        finally:
            os.close(target)
    finally:
        os.close(source)


def _root_only(mounts_dir: Path) -> Path:
    """`mounts_dir`, made root-only; refused when it (or its parent) could be changed by anyone else."""
    mounts_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    me = os.geteuid()
    info = os.lstat(mounts_dir)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != me:
        raise MountError(f"{mounts_dir} must be a directory owned by the server's user, not a link")
    if info.st_mode & 0o077:
        os.chmod(mounts_dir, 0o700)
    parent = os.stat(mounts_dir.parent)
    if parent.st_uid not in (0, me) or parent.st_mode & 0o022:
        raise MountError(
            f"{mounts_dir.parent} must be owned by root (or the server's user) and writable by no one else"
        )
    return mounts_dir


def _sandbox_dir(mounts_dir: Path, sandbox_id: str) -> Path:
    if not _SANDBOX_ID.match(sandbox_id):
        raise MountError(f"invalid sandbox id {sandbox_id!r}")
    return mounts_dir / sandbox_id


def stage(mounts_dir: Path, sandbox_id: str, mounts: Sequence[VolumeMount], fresh: bool) -> list[VolumeMount]:
    """What Docker binds for `mounts`: each subpath bound safely onto its staging dir first (see the module).

    `fresh` (a new container): whatever an earlier sandbox of that id left is released first.
    Otherwise (a start) only the binds that are gone, after a reboot, are made again.
    """
    if fresh:
        unstage(mounts_dir, sandbox_id)
    if not any(m.subpath for m in mounts):
        return list(mounts)
    if os.geteuid() != 0:
        raise MountError(
            "mounting a volume's subpath needs a server running as root (it bind-mounts the subpath safely):"
            " mount the whole volume, or run the server as root"
        )
    base = _sandbox_dir(_root_only(mounts_dir), sandbox_id)
    staged: list[VolumeMount] = []
    try:
        base.mkdir(mode=0o700, exist_ok=True)
        for n, mount in enumerate(mounts):
            if not mount.subpath:
                staged.append(mount)
                continue
            staging = base / str(n)
            staging.mkdir(mode=0o700, exist_ok=True)
            if fresh or not is_mount_point(staging):
                bind_subpath(mount.source, mount.subpath, staging)
            staged.append(VolumeMount(source=staging, target=mount.target, read_only=mount.read_only))
    except BaseException:
        if fresh:
            unstage(mounts_dir, sandbox_id)
        raise
    return staged


def unstage(mounts_dir: Path, sandbox_id: str) -> None:
    """Release the staging binds of a sandbox and remove their directories; nothing there is not an error.

    Only empty directories are removed (never a tree): a bind that would not go keeps its volume's files safe.
    """
    if not _SANDBOX_ID.match(sandbox_id):
        return  # stage never made a staging dir for such an id
    base = mounts_dir / sandbox_id
    try:
        if not stat.S_ISDIR(os.lstat(base).st_mode):
            raise MountError(f"{base} is not a directory")
    except FileNotFoundError:
        return
    for name in os.listdir(base):
        staging = base / name
        for _ in range(8):  # a bind made twice over (a crash between two starts) is stacked
            if not is_mount_point(staging):
                break
            if _libc().umount2(str(staging).encode(), MNT_DETACH) != 0:
                raise MountError(f"cannot release the volume mount {staging}: {os.strerror(ctypes.get_errno())}")
        try:
            os.rmdir(staging)
        except OSError as exc:
            raise MountError(f"cannot remove the volume mount point {staging}: {exc.strerror}") from None
    os.rmdir(base)


# -- what a container remembers of its mounts (to make them again after a reboot) ---------------------


def to_label(mounts: Sequence[VolumeMount]) -> str:
    """The mounts as a container label's JSON (what `start` needs to stage them again)."""
    return json.dumps(
        [{"source": str(m.source), "target": m.target, "subpath": m.subpath, "readOnly": m.read_only} for m in mounts]
    )


def from_label(text: str | None) -> list[VolumeMount]:
    """The mounts a container was created with (none for a container without the label)."""
    if not text:
        return []
    return [
        VolumeMount(source=Path(m["source"]), target=m["target"], subpath=m.get("subpath"), read_only=m["readOnly"])
        for m in json.loads(text)
    ]
