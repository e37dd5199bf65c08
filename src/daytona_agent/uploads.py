"""Writing uploaded files atomically as the sandbox user: a temp file beside the target, renamed over it.

An interrupted or malformed upload leaves the previous file untouched, and readers never see half a
file. The data is written as it arrives (never held whole in memory), so a 1 GiB upload is flat.
"""

from __future__ import annotations

import os
import stat

from .http import HttpError, Request
from .multipart import MultipartReader, boundary_of
from .userfs import as_user, os_error
from .users import OsUser

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

CHUNK = 1 << 20


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


class PendingFile:
    """An upload in progress; every method must run as the user (inside `as_user`)."""

    def __init__(self, path: str, target: str, tmp: str, fd: int, mode: int) -> None:
        self.path = path  # as requested
        self.target = target  # where it lands (a symbolic link's destination)
        self.tmp = tmp
        self.fd: Optional[int] = fd
        self.mode = mode
        self.size = 0

    @classmethod
    def create(cls, path: str, make_parents: bool = False) -> "PendingFile":
        """Check the target and open the temp file; missing parents are a 404 unless `make_parents`."""
        target = os.path.realpath(path) if os.path.islink(path) else path
        directory, name = os.path.split(target)
        if not name:
            raise HttpError(400, "path must name a file, not a directory: %s" % path)
        mode = 0o644
        try:
            existing = os.stat(target)
            if stat.S_ISDIR(existing.st_mode):
                raise HttpError(400, "is a directory: %s" % path)
            if stat.S_ISREG(existing.st_mode):
                mode = stat.S_IMODE(existing.st_mode) & 0o777  # keep e.g. the executable bit
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise os_error(exc, path) from None
        directory = directory or "/"
        if not os.path.isdir(directory):
            if os.path.lexists(directory):
                raise HttpError(400, "not a directory: %s" % directory)
            if not make_parents:
                raise HttpError(404, "directory does not exist: %s (create it first)" % directory)
            try:
                os.makedirs(directory, mode=0o755, exist_ok=True)
            except OSError as exc:
                raise os_error(exc, directory) from None
        tmp = os.path.join(directory, ".%s.daytona-upload-%s" % (name[:100], os.urandom(4).hex()))
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise os_error(exc, path) from None
        return cls(path, target, tmp, fd, mode)

    def write(self, data: bytes) -> None:
        assert self.fd is not None
        try:
            write_all(self.fd, data)
        except OSError as exc:
            raise os_error(exc, self.path) from None
        self.size += len(data)

    def commit(self) -> None:
        """Give the file its mode and move it over the target."""
        fd, self.fd = self.fd, None
        assert fd is not None
        try:
            try:
                os.fchmod(fd, self.mode)
            finally:
                os.close(fd)
            os.rename(self.tmp, self.target)
        except OSError as exc:
            unlink_quietly(self.tmp)
            raise os_error(exc, self.path) from None

    def abort(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        unlink_quietly(self.tmp)


def upload(user: OsUser, path: str, request: Request) -> None:
    """Write the body (multipart `file` part, or the raw body) to `path`, atomically.

    The directory must exist (the 0.14 toolbox's `POST /files/upload`).
    """
    boundary = boundary_of(request.headers.get("Content-Type") or "")
    with as_user(user):
        pending = PendingFile.create(path)
        try:
            if boundary is not None:
                _write_multipart(pending, request, boundary)
            else:
                write_raw(pending, request)
            pending.commit()
        except BaseException:
            pending.abort()
            raise


def _write_multipart(pending: PendingFile, request: Request, boundary: str) -> None:
    reader = MultipartReader(request.read, boundary)
    written = False
    for part in reader.parts():
        if part.name == "file" and not written:
            for data in part.chunks():
                pending.write(data)
            written = True
    if not written:
        raise HttpError(400, "the multipart body has no 'file' part")


def write_raw(pending: PendingFile, request: Request) -> None:
    """The whole request body is the file."""
    while True:
        data = request.read(CHUNK)
        if not data:
            break
        pending.write(data)
    if not request.complete:
        raise HttpError(400, "the upload ended before the whole body arrived")
