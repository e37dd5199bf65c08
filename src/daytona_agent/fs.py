"""File-system toolbox routes (`/files...`), wire-compatible with Daytona's toolbox API.

Every operation runs as the sandbox user (see userfs.py): the kernel decides what is allowed, and
what is created belongs to the user. Paths are resolved inside the container, so `..` and symbolic
links end at the container's root, never on the host. Uploads and downloads are streamed.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import shutil
import stat
from datetime import datetime, timezone
from urllib.parse import quote

from .http import HttpError, Request, Response, Router
from .uploads import unlink_quietly, upload
from .userfs import Names, as_user, gid_of, open_regular, os_error, parse_mode, prepare, resolve, uid_of
from .users import OsUser

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, Iterator, List, Optional

CHUNK = 1 << 20
MAX_DEPTH = 64
BINARY_SNIFF = 512  # files with a NUL byte in their first bytes are skipped by content search


def file_info(name: str, st: os.stat_result, names: Names, path: Optional[str] = None) -> Dict[str, Any]:
    """The `FileInfo` of the wire format (`path` and `modifiedAt` are today's additions)."""
    modified = datetime.fromtimestamp(st.st_mtime, timezone.utc).isoformat()
    info = {
        "name": name,
        "isDir": stat.S_ISDIR(st.st_mode),
        "size": st.st_size,
        "modTime": modified,
        "modifiedAt": modified,
        "mode": stat.filemode(st.st_mode),
        "permissions": "%04o" % stat.S_IMODE(st.st_mode),
        "owner": names.user(st.st_uid),
        "group": names.group(st.st_gid),
    }
    if path is not None:
        info["path"] = path
    return info


def _stat(path: str, follow: bool = True) -> os.stat_result:
    try:
        return os.stat(path) if follow else os.lstat(path)
    except OSError as exc:
        raise os_error(exc, path) from None


def _depth(raw: Optional[str]) -> int:
    """`depth` of a listing: 1 (the default) lists the directory's entries, 2 their children too..."""
    if raw is None or raw == "":
        return 1
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_DEPTH:
        raise HttpError(400, "depth must be an integer from 1 to %d, got %r" % (MAX_DEPTH, raw))
    return int(raw)


def _flag(request: Request, name: str) -> bool:
    return (request.arg(name) or "").lower() in ("1", "true", "yes")


def list_files(user: OsUser, path: str, depth: int = 1) -> List[Dict[str, Any]]:
    """Entries of a directory (symbolic links described as themselves), sorted by name; with `depth`
    above 1 each subdirectory's entries follow it, down to that many levels (unreadable ones skipped)."""
    with as_user(user):
        if not stat.S_ISDIR(_stat(path).st_mode):
            raise HttpError(400, "not a directory: %s" % path)
        found: List[Dict[str, Any]] = []
        try:
            _list_into(path, depth, Names(), found)
        except OSError as exc:
            raise os_error(exc, path) from None
    return found


def _list_into(path: str, depth: int, names: Names, found: List[Dict[str, Any]]) -> None:
    entries = []
    with os.scandir(path) as listing:
        for entry in listing:
            try:
                entries.append(file_info(entry.name, entry.stat(follow_symlinks=False), names, entry.path))
            except FileNotFoundError:
                continue  # removed while listing
    for info in sorted(entries, key=lambda e: e["name"]):
        found.append(info)
        if depth > 1 and info["isDir"]:
            try:
                _list_into(info["path"], depth - 1, names, found)
            except OSError:
                continue


def get_file_info(user: OsUser, path: str) -> Dict[str, Any]:
    with as_user(user):
        try:
            st = os.stat(path)
        except FileNotFoundError:
            st = _stat(path, follow=False)  # a dangling symbolic link is still something
        except OSError as exc:
            raise os_error(exc, path) from None
        return file_info(os.path.basename(path.rstrip("/")) or "/", st, Names(), path)


def create_folder(user: OsUser, path: str, mode: int) -> None:
    """mkdir -p: parents are created too; an existing directory is fine, anything else there is 409."""
    with as_user(user):
        try:
            os.makedirs(path, mode=mode)
            os.chmod(path, mode)  # the umask must not narrow what was asked for
        except FileExistsError:
            if not os.path.isdir(path):
                raise HttpError(409, "already exists and is not a directory: %s" % path) from None
        except OSError as exc:
            raise os_error(exc, path) from None


def delete(user: OsUser, path: str, recursive: bool) -> None:
    with as_user(user):
        st = _stat(path, follow=False)
        try:
            if not stat.S_ISDIR(st.st_mode):
                os.unlink(path)
                return
            if not recursive:
                raise HttpError(400, "is a directory: %s (pass recursive=true to delete it with its contents)" % path)
            failures: List[OSError] = []

            def on_error(func: Any, failed: str, info: Any) -> None:
                if isinstance(info[1], OSError) and not isinstance(info[1], FileNotFoundError):
                    failures.append(info[1])

            shutil.rmtree(path, onerror=on_error)
            if failures:
                raise os_error(failures[0])
        except OSError as exc:
            raise os_error(exc, path) from None


def move(user: OsUser, source: str, destination: str) -> None:
    """Rename; an existing destination is never replaced (409), so nothing is lost."""
    with as_user(user):
        _stat(source, follow=False)
        if os.path.lexists(destination):
            raise HttpError(409, "destination already exists: %s" % destination)
        parent = os.path.dirname(destination.rstrip("/")) or "/"
        if not os.path.isdir(parent):
            if os.path.lexists(parent):
                raise HttpError(400, "not a directory: %s" % parent)
            raise HttpError(404, "destination directory does not exist: %s" % parent)
        try:
            os.rename(source, destination)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise os_error(exc) from None
            _move_across(source, destination)


def _move_across(source: str, destination: str) -> None:
    """Move between file systems: copy, then delete the source; a file that cannot be deleted is not copied."""
    try:
        if os.path.isdir(source) and not os.path.islink(source):
            shutil.copytree(source, destination, symlinks=True)
            shutil.rmtree(source)  # on failure both copies remain: nothing is lost
            return
        shutil.copy2(source, destination, follow_symlinks=False)
    except OSError as exc:
        raise os_error(exc) from None
    try:
        os.unlink(source)
    except OSError as exc:
        unlink_quietly(destination)
        raise os_error(exc, source) from None


def set_permissions(user: OsUser, path: str, mode: Optional[int], owner: Optional[str], group: Optional[str]) -> None:
    if mode is None and not owner and not group:
        raise HttpError(400, "nothing to change: give mode, owner or group")
    uid = uid_of(owner) if owner else -1
    gid = gid_of(group) if group else -1
    with as_user(user):
        _stat(path)
        try:
            if uid != -1 or gid != -1:
                os.chown(path, uid, gid)  # before chmod: chown clears set-user-ID bits
            if mode is not None:
                os.chmod(path, mode)
        except OSError as exc:
            raise os_error(exc, path) from None


def _walk_errors(exc: OSError) -> None:
    """Unreadable directories are skipped by searches, as `grep -r` and `find` do."""


def find_in_files(user: OsUser, path: str, pattern: str) -> List[Dict[str, Any]]:
    """Lines containing `pattern` (plain text) in the text files under `path`, like `grep -rn`."""
    matches: List[Dict[str, Any]] = []
    needle = pattern.encode("utf-8")
    with as_user(user):
        files = _files_under(path) if stat.S_ISDIR(_stat(path).st_mode) else iter([path])
        for file_path in files:
            _search_file(file_path, needle, matches)
    return matches


def _files_under(path: str) -> Iterator[str]:
    """Every file below `path`, in name order, without following symbolic links to directories."""
    for root, dirs, names in os.walk(path, onerror=_walk_errors):
        dirs.sort()
        for name in sorted(names):
            yield os.path.join(root, name)


def _search_file(file_path: str, needle: bytes, matches: List[Dict[str, Any]]) -> None:
    try:
        if not stat.S_ISREG(os.lstat(file_path).st_mode):
            return
        with open(file_path, "rb") as fh:
            if b"\0" in fh.read(BINARY_SNIFF):
                return
            fh.seek(0)
            for number, line in enumerate(fh, start=1):
                if needle in line:
                    text = line.rstrip(b"\r\n").decode("utf-8", errors="replace")
                    matches.append({"file": file_path, "line": number, "content": text})
    except OSError:
        return


def search_files(user: OsUser, path: str, pattern: str) -> List[str]:
    """Paths under `path` whose name matches the glob `pattern` (files and directories)."""
    found: List[str] = []
    with as_user(user):
        if not stat.S_ISDIR(_stat(path).st_mode):
            raise HttpError(400, "not a directory: %s" % path)
        for root, dirs, names in os.walk(path, onerror=_walk_errors):
            dirs.sort()
            for name in sorted(dirs + names):
                if fnmatch.fnmatchcase(name, pattern):
                    found.append(os.path.join(root, name))
    return sorted(found)


def replace_in_file(user: OsUser, path: str, old: bytes, new: bytes) -> Dict[str, Any]:
    """Replace every `old` by `new` in one file, streamed; the file is swapped in only when it changed."""
    try:
        with as_user(user):
            _replace_streamed(path, old, new)
    except HttpError as exc:
        return {"file": path, "success": False, "error": exc.message}
    return {"file": path, "success": True}


def _replace_streamed(path: str, old: bytes, new: bytes) -> None:
    st = _stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise HttpError(400, "not a regular file: %s" % path)
    directory, name = os.path.split(path)
    tmp = os.path.join(directory, ".%s.daytona-replace-%s" % (name[:100], os.urandom(4).hex()))
    try:
        with open(path, "rb") as src, open(tmp, "xb") as out:
            count = _copy_replacing(src, out, old, new)
            if count:
                os.fchmod(out.fileno(), stat.S_IMODE(st.st_mode))
        if count:
            os.rename(tmp, path)
    except OSError as exc:
        raise os_error(exc, path) from None
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def _copy_replacing(src: Any, out: Any, old: bytes, new: bytes) -> int:
    """Copy `src` to `out` chunk by chunk with every `old` replaced by `new`; return how many."""
    count, carry = 0, b""
    while True:
        chunk = src.read(CHUNK)
        buf = carry + chunk
        # Occurrences starting before `cut` lie wholly in `buf`; later ones may go on in the next chunk.
        cut = len(buf) if not chunk else len(buf) - len(old) + 1
        pos = 0
        while True:
            index = buf.find(old, pos)
            if index < 0 or index >= cut:
                break
            out.write(buf[pos:index] + new)
            pos = index + len(old)
            count += 1
        keep_from = max(pos, cut)
        out.write(buf[pos:keep_from])
        carry = buf[keep_from:]
        if not chunk:
            return count


def download(user: OsUser, path: str) -> Response:
    """Stream a regular file; it is opened as the user, then read in chunks."""
    fd, size = open_regular(user, path)

    def chunks() -> Iterator[bytes]:
        try:
            while True:
                data = os.read(fd, CHUNK)
                if not data:
                    return
                yield data
        finally:
            os.close(fd)

    name = os.path.basename(path) or "download"
    headers = {
        "Content-Disposition": "attachment; filename*=UTF-8''%s" % quote(name, safe=""),
        "X-File-Size": "%d" % size,
    }
    return Response(200, content_type="application/octet-stream", stream=chunks(), headers=headers)


def register(router: Router, user: OsUser) -> None:
    """Add the `/files...` routes, acting as `user`."""
    prepare(user)

    def path_arg(request: Request, name: str = "path") -> str:
        return resolve(user, request.arg(name), name)

    def done() -> Response:
        return Response(200, b"")

    @router.route("GET", "/files")
    def list_route(request: Request) -> Response:
        depth = _depth(request.arg("depth"))
        return Response(200, list_files(user, resolve(user, request.arg("path") or user.home), depth))

    @router.route("DELETE", "/files")
    def delete_route(request: Request) -> Response:
        delete(user, path_arg(request), _flag(request, "recursive"))
        return done()

    @router.route("POST", "/files/folder")
    def folder_route(request: Request) -> Response:
        create_folder(user, path_arg(request), parse_mode(request.arg("mode")) or 0o755)
        return done()

    @router.route("GET", "/files/info")
    def info_route(request: Request) -> Response:
        return Response(200, get_file_info(user, path_arg(request)))

    @router.route("GET", "/files/download")
    def download_route(request: Request) -> Response:
        return download(user, path_arg(request))

    @router.route("POST", "/files/upload")
    def upload_route(request: Request) -> Response:
        upload(user, path_arg(request), request)
        return done()

    @router.route("POST", "/files/move")
    def move_route(request: Request) -> Response:
        move(user, path_arg(request, "source"), path_arg(request, "destination"))
        return done()

    @router.route("POST", "/files/permissions")
    def permissions_route(request: Request) -> Response:
        mode = parse_mode(request.arg("mode"))
        set_permissions(user, path_arg(request), mode, request.arg("owner"), request.arg("group"))
        return done()

    @router.route("GET", "/files/find")
    def find_route(request: Request) -> Response:
        pattern = request.arg("pattern")
        if not pattern:
            raise HttpError(400, "pattern is required")
        return Response(200, find_in_files(user, path_arg(request), pattern))

    @router.route("GET", "/files/search")
    def search_route(request: Request) -> Response:
        pattern = request.arg("pattern")
        if not pattern:
            raise HttpError(400, "pattern is required")
        return Response(200, {"files": search_files(user, path_arg(request), pattern)})

    @router.route("POST", "/files/replace")
    def replace_route(request: Request) -> Response:
        body = request.json()
        files, pattern, new_value = body.get("files"), body.get("pattern"), body.get("newValue")
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            raise HttpError(400, "files must be a list of paths")
        if not isinstance(pattern, str) or not pattern:
            raise HttpError(400, "pattern must be a non-empty string")
        if not isinstance(new_value, str):
            raise HttpError(400, "newValue must be a string")
        old, new = pattern.encode("utf-8"), new_value.encode("utf-8")
        results = []
        for raw in files:
            try:
                target = resolve(user, raw, "file")
            except HttpError as exc:
                results.append({"file": raw, "success": False, "error": exc.message})
                continue
            results.append(replace_in_file(user, target, old, new))
        return Response(200, results)
