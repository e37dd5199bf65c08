# Generated from ../_async by scripts/gen_sync_sdk.py: edit the async code, then run `make sdk-sync`.
"""`workspace.fs`: files and directories in a sandbox, as its user.

Uploads and downloads are streamed: `upload_file` takes bytes, text, a local path or a binary file
object; `download_file` returns bytes, or writes to a local path or file object chunk by chunk.
"""

from __future__ import annotations

import io
import os
import stat
import tempfile
from collections.abc import Callable
from typing import IO, Any, overload

from .._errors import DaytonaError
from .._fs_git_models import FileInfo, Match, ReplaceResult, SearchFilesResponse
from ._http import SyncHttp

UploadSource = bytes | bytearray | memoryview | str | os.PathLike[str] | IO[bytes]
Destination = str | os.PathLike[str] | IO[bytes]


def _mode_text(mode: str | int) -> str:
    """Permissions as the API takes them: "755"; an int such as 0o755 is accepted too."""
    return format(mode, "o") if isinstance(mode, int) and not isinstance(mode, bool) else str(mode)


def _upload_source(file: UploadSource) -> tuple[Any, Callable[[], None]]:
    """What httpx sends for `file`, and how to release it afterwards."""
    if isinstance(file, bytes | bytearray | memoryview):
        return bytes(file), lambda: None
    if isinstance(file, str):
        return file.encode("utf-8"), lambda: None
    if isinstance(file, os.PathLike):
        handle = open(os.fspath(file), "rb")  # noqa: SIM115 - closed by the returned callable
        return handle, handle.close
    if isinstance(file, io.TextIOBase):
        raise DaytonaError("upload_file needs a file opened in binary mode ('rb'), not text mode")
    if hasattr(file, "read"):
        return (_Unsized(file) if _is_stream(file) else file), lambda: None
    raise DaytonaError(
        f"upload_file takes bytes, str (text), a local path (pathlib.Path) or a binary file object, not {type(file)}"
    )


def _is_stream(file: Any) -> bool:
    """A pipe, socket or device: httpx would take its size from fstat (0) and send a wrong length."""
    try:
        return not stat.S_ISREG(os.fstat(file.fileno()).st_mode)
    except (AttributeError, OSError, ValueError):
        return False


class _Unsized:
    """A readable without fileno/seek/tell, so that httpx sends it chunked, as it comes."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw

    def read(self, size: int = -1) -> bytes:
        return self._raw.read(size)


class FileSystem:
    """File operations in one sandbox. Paths are absolute, or relative to the user's home directory."""

    def __init__(self, http: SyncHttp, workspace_id: str) -> None:
        self._http = http
        self._workspace_id = workspace_id
        self._base = f"/toolbox/{workspace_id}/toolbox/files"

    def create_folder(self, path: str, mode: str | int = "755") -> None:
        """Create a directory (and missing parents) with `mode`, e.g. "755"; an existing directory is kept."""
        self._http.request("POST", f"{self._base}/folder", params={"path": path, "mode": _mode_text(mode)})

    def delete_file(self, path: str, recursive: bool = False) -> None:
        """Delete a file; a directory only with `recursive=True` (then with everything in it)."""
        params: dict[str, Any] = {"path": path}
        if recursive:
            params["recursive"] = "true"
        self._http.request("DELETE", self._base, params=params)

    @overload
    def download_file(self, path: str) -> bytes: ...

    @overload
    def download_file(self, path: str, destination: Destination, *, timeout: float | None = 60.0) -> None: ...

    def download_file(
        self, path: str, destination: Destination | None = None, *, timeout: float | None = 60.0
    ) -> bytes | None:
        """Return the file's bytes, or stream them to `destination` (a local path or a binary file object).

        A local path is written through a temporary file and renamed at the end, so an interrupted
        download never leaves a partial file in its place. `timeout` bounds each wait for data.
        """
        params = {"path": path}
        with self._http.stream("GET", f"{self._base}/download", params=params, timeout=timeout) as response:
            if destination is None:
                chunks = []
                for chunk in response.iter_bytes():
                    chunks.append(chunk)
                return b"".join(chunks)
            if not isinstance(destination, str | os.PathLike):
                for chunk in response.iter_bytes():
                    destination.write(chunk)
                return None
            target = os.path.abspath(os.fspath(destination))
            fd, tmp = tempfile.mkstemp(prefix=".download-", dir=os.path.dirname(target))
            try:
                with os.fdopen(fd, "wb") as out:
                    for chunk in response.iter_bytes():
                        out.write(chunk)
                os.replace(tmp, target)
            except BaseException:
                os.unlink(tmp)
                raise
        return None

    def find_files(self, path: str, pattern: str) -> list[Match]:
        """Lines containing `pattern` (plain text) in the files under `path`, like `grep -rn`."""
        data = self._http.request("GET", f"{self._base}/find", params={"path": path, "pattern": pattern})
        return [Match.from_api(m) for m in data]

    def get_file_info(self, path: str) -> FileInfo:
        """Size, mode, owner, modification time, ... of a file or directory."""
        return FileInfo.from_api(self._http.request("GET", f"{self._base}/info", params={"path": path}))

    def list_files(self, path: str) -> list[FileInfo]:
        """The entries of a directory, sorted by name."""
        data = self._http.request("GET", self._base, params={"path": path})
        return [FileInfo.from_api(f) for f in data]

    def move_files(self, source: str, destination: str) -> None:
        """Move or rename a file or directory; the destination must not exist, its parent must."""
        params = {"source": source, "destination": destination}
        self._http.request("POST", f"{self._base}/move", params=params)

    def replace_in_files(self, files: list[str], pattern: str, new_value: str) -> list[ReplaceResult]:
        """Replace every occurrence of `pattern` (plain text) with `new_value` in each file; one result per file."""
        body = {"files": files, "pattern": pattern, "newValue": new_value}
        data = self._http.request("POST", f"{self._base}/replace", json=body, timeout=None)
        return [ReplaceResult.from_api(r) for r in data]

    def search_files(self, path: str, pattern: str) -> SearchFilesResponse:
        """Files and directories under `path` whose name matches the glob `pattern` (e.g. "*.py")."""
        params = {"path": path, "pattern": pattern}
        data = self._http.request("GET", f"{self._base}/search", params=params, timeout=None)
        return SearchFilesResponse(files=list(data.get("files") or []))

    def set_file_permissions(
        self, path: str, mode: str | int | None = None, owner: str | None = None, group: str | None = None
    ) -> None:
        """Change mode (e.g. "755"), owner and/or group; what is None is left as it is."""
        params: dict[str, Any] = {"path": path}
        if mode is not None:
            params["mode"] = _mode_text(mode)
        if owner is not None:
            params["owner"] = owner
        if group is not None:
            params["group"] = group
        self._http.request("POST", f"{self._base}/permissions", params=params)

    def upload_file(self, path: str, file: UploadSource, *, timeout: float | None = 60.0) -> None:
        """Write `file` to `path` in the sandbox, replacing what is there; the parent directory must exist.

        `file` is bytes, a str (uploaded as UTF-8 text), a local path (`pathlib.Path`, streamed) or a
        binary file object (streamed from its start; a pipe or socket is read to its end). The sandbox
        sees the new content all at once, never half of it.
        """
        source, release = _upload_source(file)
        try:
            name = os.path.basename(path) or "file"
            files = {"file": (name, source, "application/octet-stream")}
            self._http.upload(f"{self._base}/upload", params={"path": path}, files=files, timeout=timeout)
        finally:
            release()
