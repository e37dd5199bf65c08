"""Today's file transfer routes: `POST /files/bulk-upload`, `/files/upload-v2` and `/files/bulk-download`.

The current SDK uploads every file (one or many) as a multipart body of `files[i].path` fields and
`files[i].file` parts, and downloads as a multipart answer with one `file` (or `error`) part per
requested path. Both directions are streamed; each upload is written atomically as the sandbox user
(see uploads.py), its parent directories created.
"""

from __future__ import annotations

import json
import os
import re
from urllib.parse import quote

from . import wire
from .http import HttpError, Request, Response, Router
from .multipart import MultipartReader, Part, boundary_of
from .uploads import CHUNK, PendingFile, write_raw
from .userfs import as_user, open_regular, resolve
from .users import OsUser

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, Iterator, List, Optional, Tuple

MAX_FIELD_BYTES = 64 * 1024
MAX_DOWNLOAD_PATHS = 10000
_FIELD = re.compile(r"^files\[(\d{1,9})\]\.(path|file)$")


class BulkUpload:
    """The outcome of one bulk upload: files written, errors met (the first error decides the status)."""

    def __init__(self) -> None:
        self.files: List[Dict[str, Any]] = []
        self.errors: List[str] = []
        self.status: Optional[int] = None
        self.code: Optional[str] = None

    def fail(self, raw: str, exc: HttpError) -> None:
        self.errors.append(exc.message if raw and raw in exc.message else "%s: %s" % (raw, exc.message))
        if self.status is None:
            self.status, self.code = exc.status, exc.code

    def response(self, request: Request) -> Response:
        body: Dict[str, Any] = {"files": self.files, "errors": self.errors}
        if not self.errors:
            return Response(200, body)
        status = self.status or 400
        body.update(statusCode=status, message="; ".join(self.errors))
        if wire.is_current(request.headers):
            body.update(wire.error_fields(status, self.code, request.method, request.path))
        return Response(status, body)


def _field_value(part: Part, name: str) -> str:
    data = b""
    for chunk in part.chunks():
        data += chunk
        if len(data) > MAX_FIELD_BYTES:
            part.drain()
            raise HttpError(400, "%s is longer than %d bytes" % (name, MAX_FIELD_BYTES))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise HttpError(400, "%s is not valid UTF-8" % name) from None


def bulk_upload(user: OsUser, request: Request) -> Response:
    """Write every `files[i].file` part to its `files[i].path` (or, failing that, the part's file name)."""
    boundary = boundary_of(request.headers.get("Content-Type") or "")
    if boundary is None:
        raise HttpError(400, "bulk-upload needs a multipart/form-data body of files[i].path and files[i].file parts")
    outcome = BulkUpload()
    paths: Dict[str, str] = {}
    seen_file = False
    try:
        with as_user(user):
            for part in MultipartReader(request.read, boundary).parts():
                match = _FIELD.match(part.name or "")
                if match is None:
                    continue  # other fields are ignored (the reader skips their data)
                index, kind = match.groups()
                if kind == "path":
                    try:
                        paths[index] = _field_value(part, "files[%s].path" % index)
                    except HttpError as exc:
                        outcome.fail("files[%s].path" % index, exc)
                    continue
                seen_file = True
                _upload_part(user, part, paths.get(index) or part.filename or "", index, outcome)
    except HttpError as exc:  # the body itself is broken: what was complete before stays written
        outcome.fail("", exc)
        return outcome.response(request)
    if not seen_file and not outcome.errors:
        outcome.fail("", HttpError(400, "the multipart body has no files[i].file part"))
    return outcome.response(request)


def _upload_part(user: OsUser, part: Part, raw: str, index: str, outcome: BulkUpload) -> None:
    """Stream one file part to its target (as the user, already switched to by the caller)."""
    if not raw:
        outcome.fail("files[%s]" % index, HttpError(400, "files[%s].path is required (before its file)" % index))
        return
    try:
        pending = PendingFile.create(resolve(user, raw, "files[%s].path" % index), make_parents=True)
    except HttpError as exc:
        outcome.fail(raw, exc)
        return
    failed: Optional[HttpError] = None
    try:
        for data in part.chunks():
            if failed is None:
                try:
                    pending.write(data)
                except HttpError as exc:  # e.g. the disk is full: the rest of the part is skipped
                    failed = exc
                    pending.abort()
        if failed is None:
            pending.commit()
    except BaseException:
        pending.abort()
        raise
    if failed is not None:
        outcome.fail(raw, failed)
        return
    outcome.files.append({"path": pending.path, "bytes": pending.size})


def upload_v2(user: OsUser, path: str, request: Request) -> Dict[str, str]:
    """`POST /files/upload-v2?path=`: the multipart `file` part (or the raw body), parents created."""
    boundary = boundary_of(request.headers.get("Content-Type") or "")
    kind = request.headers.get("Content-Type") or "application/octet-stream"
    with as_user(user):
        pending = PendingFile.create(path, make_parents=True)
        try:
            if boundary is None:
                write_raw(pending, request)
            else:
                kind = _write_file_part(pending, request, boundary)
            pending.commit()
        except BaseException:
            pending.abort()
            raise
    return {"name": os.path.basename(path), "path": path, "type": kind}


def _write_file_part(pending: PendingFile, request: Request, boundary: str) -> str:
    kind: Optional[str] = None
    for part in MultipartReader(request.read, boundary).parts():
        if part.name == "file" and kind is None:
            kind = part.headers.get("content-type") or "application/octet-stream"
            for data in part.chunks():
                pending.write(data)
    if kind is None:
        raise HttpError(400, "the multipart body has no 'file' part")
    return kind


# -- bulk download ---------------------------------------------------------------------------------


def _disposition(name: str, path: str) -> str:
    """`form-data; name=...; filename="<path>"`, with `filename*` when the path is not plain ASCII."""
    plain = "".join(c if " " <= c < "\x7f" else "_" for c in path).replace("\\", "\\\\").replace('"', '\\"')
    value = 'form-data; name="%s"; filename="%s"' % (name, plain)
    if any(not (" " <= c < "\x7f") for c in path):
        value += "; filename*=UTF-8''%s" % quote(path, safe="")  # busboy refuses a raw /
    return value


def _part_head(boundary: str, name: str, path: str, headers: List[Tuple[str, str]]) -> bytes:
    lines = ["--" + boundary, "Content-Disposition: " + _disposition(name, path)]
    lines += ["%s: %s" % pair for pair in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def _error_part(boundary: str, path: str, exc: HttpError) -> bytes:
    payload = {
        "message": exc.message,
        "statusCode": exc.status,
        "code": wire.code_for(exc.status, exc.code),
        "source": wire.SOURCE,
    }
    data = json.dumps(payload).encode()
    head = _part_head(
        boundary, "error", path, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return head + data + b"\r\n"


def _download_parts(user: OsUser, paths: List[str], boundary: str) -> Iterator[bytes]:
    for raw in paths:
        try:
            fd, size = open_regular(user, resolve(user, raw))
        except HttpError as exc:
            yield _error_part(boundary, raw, exc)
            continue
        try:
            yield _part_head(
                boundary, "file", raw, [("Content-Type", "application/octet-stream"), ("Content-Length", str(size))]
            )
            while True:
                data = os.read(fd, CHUNK)
                if not data:
                    break
                yield data
            yield b"\r\n"
        finally:
            os.close(fd)
    yield ("--%s--\r\n" % boundary).encode()


def bulk_download(user: OsUser, request: Request) -> Response:
    """`POST /files/bulk-download {paths}`: a streamed multipart answer, one part per distinct path."""
    paths = request.json().get("paths")
    if not isinstance(paths, list) or not paths or not all(isinstance(p, str) and p for p in paths):
        raise HttpError(400, "paths must be a non-empty list of file paths")
    if len(paths) > MAX_DOWNLOAD_PATHS:
        raise HttpError(400, "at most %d paths per download" % MAX_DOWNLOAD_PATHS)
    unique = list(dict.fromkeys(paths))
    for raw in unique:
        resolve(user, raw)  # a NUL byte is the request's fault: 400 before anything is sent
    boundary = "daytona-" + os.urandom(16).hex()
    return Response(
        200, content_type="multipart/form-data; boundary=%s" % boundary, stream=_download_parts(user, unique, boundary)
    )


def register(router: Router, user: OsUser) -> None:
    """Add today's transfer routes, acting as `user`."""

    @router.route("POST", "/files/bulk-upload")
    def bulk_upload_route(request: Request) -> Response:
        return bulk_upload(user, request)

    @router.route("POST", "/files/upload-v2")
    def upload_v2_route(request: Request) -> Response:
        return Response(200, upload_v2(user, resolve(user, request.arg("path")), request))

    @router.route("POST", "/files/bulk-download")
    def bulk_download_route(request: Request) -> Response:
        return bulk_download(user, request)
