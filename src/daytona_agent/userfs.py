"""Acting on the file system as the sandbox user, and turning OS errors into HTTP answers.

The agent runs as root; file operations switch the calling thread's file-system identity (fsuid,
fsgid: per thread on Linux) to the sandbox user, so the kernel itself applies that user's
permissions and new files belong to the user. Supplementary groups are process-wide: they are set
once, to the user's, when the routes are registered (root keeps its capabilities regardless).
"""

from __future__ import annotations

import contextlib
import errno
import grp
import os
import pwd
import stat
import threading

from .http import HttpError
from .users import OsUser

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, Iterator, Optional, Tuple

_lock = threading.Lock()
_libc: Any = None


def _load_libc() -> Any:
    global _libc
    with _lock:
        if _libc is None:
            try:
                import ctypes
            except ImportError:  # a python3 built without ctypes
                raise HttpError(
                    501, "file operations as the sandbox user need python3's ctypes module, missing in this image"
                ) from None
            _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def prepare(user: OsUser) -> None:
    """Make the process's supplementary groups the user's, so that per-thread switches are complete."""
    if os.geteuid() == 0 and user.uid != 0:
        try:
            os.setgroups([user.gid, *user.groups])
        except OSError:
            pass


@contextlib.contextmanager
def as_user(user: OsUser) -> Iterator[None]:
    """Run the block with the user's fsuid/fsgid on this thread (nothing to do unless root acts for another)."""
    euid, egid = os.geteuid(), os.getegid()
    if euid != 0 or user.uid == euid:
        yield
        return
    libc = _load_libc()
    libc.setfsgid(user.gid)
    libc.setfsuid(user.uid)
    try:
        # setfsuid(-1) changes nothing and returns the current value: check the switch took effect.
        if libc.setfsuid(-1) != user.uid or libc.setfsgid(-1) != user.gid:
            raise HttpError(500, "cannot switch the file-system identity to user %s" % user.name)
        yield
    finally:
        libc.setfsuid(euid)
        libc.setfsgid(egid)


# errno -> (HTTP status, what to say)
_STATUS = {
    errno.ENOENT: (404, "no such file or directory"),
    errno.EACCES: (403, "permission denied"),
    errno.EPERM: (403, "operation not permitted"),
    errno.EROFS: (403, "read-only file system"),
    errno.EEXIST: (409, "already exists"),
    errno.ENOTEMPTY: (409, "directory not empty"),
    errno.EBUSY: (409, "resource busy"),
    errno.ENOTDIR: (400, "not a directory"),
    errno.EISDIR: (400, "is a directory"),
    errno.EINVAL: (400, "invalid argument"),
    errno.ENAMETOOLONG: (400, "file name too long"),
    errno.ELOOP: (400, "too many levels of symbolic links"),
    errno.EXDEV: (400, "cross-device link"),
    errno.ENOSPC: (507, "no space left on device"),
    errno.EDQUOT: (507, "disk quota exceeded"),
    errno.EFBIG: (413, "file too large"),
}


def os_error(exc: OSError, path: Optional[str] = None) -> HttpError:
    """An HTTP error for an OS error (404 missing, 403 denied, 409 exists, 400 wrong kind), naming `path`."""
    status, reason = _STATUS.get(exc.errno or 0, (400, exc.strerror or str(exc)))
    where = path if path is not None else exc.filename
    code = {404: "FILE_NOT_FOUND", 403: "FILE_ACCESS_DENIED"}.get(status)
    return HttpError(status, "%s: %s" % (reason, where) if where else reason, code=code)


def open_regular(user: OsUser, path: str) -> Tuple[int, int]:
    """(fd, size) of the regular file at `path`, opened as the user; HttpError otherwise."""
    with as_user(user):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)  # a FIFO must not block
        except OSError as exc:
            raise os_error(exc, path) from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        kind = "is a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise HttpError(400, "%s: %s" % (kind, path))
    os.set_blocking(fd, True)
    return fd, st.st_size


def resolve(user: OsUser, raw: Optional[str], name: str = "path") -> str:
    """A path from a request: required, relative paths start at the user's home directory."""
    if raw is None or raw == "":
        raise HttpError(400, "%s is required" % name)
    if "\0" in raw:
        raise HttpError(400, "%s must not contain NUL bytes" % name)
    return raw if raw.startswith("/") else os.path.join(user.home, raw)


def parse_mode(raw: Optional[str], name: str = "mode") -> Optional[int]:
    """An octal permission string such as "755" or "0644"."""
    if raw is None or raw == "":
        return None
    text = raw.strip()
    if not (1 <= len(text) <= 5) or any(c not in "01234567" for c in text) or int(text, 8) > 0o7777:
        raise HttpError(400, "%s must be octal permissions such as 755 or 0644, got %r" % (name, raw))
    return int(text, 8)


def uid_of(owner: str) -> int:
    if owner.isdigit():
        return int(owner)
    try:
        return pwd.getpwnam(owner).pw_uid
    except KeyError:
        raise HttpError(400, "no such user: %s" % owner) from None


def gid_of(group: str) -> int:
    if group.isdigit():
        return int(group)
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise HttpError(400, "no such group: %s" % group) from None


class Names:
    """uid/gid -> name lookups, cached for one request."""

    def __init__(self) -> None:
        self._users: Dict[int, str] = {}
        self._groups: Dict[int, str] = {}

    def user(self, uid: int) -> str:
        if uid not in self._users:
            try:
                self._users[uid] = pwd.getpwuid(uid).pw_name
            except KeyError:
                self._users[uid] = str(uid)
        return self._users[uid]

    def group(self, gid: int) -> str:
        if gid not in self._groups:
            try:
                self._groups[gid] = grp.getgrgid(gid).gr_name
            except KeyError:
                self._groups[gid] = str(gid)
        return self._groups[gid]
