"""Tarballs users send: build contexts and `docker save` output, rewritten before the engine sees them.

A build context gets its Dockerfile replaced by the resolved one; a `docker save` tarball keeps only
the image that was asked for, tagged with a staging tag, so `docker load` cannot put any other tag
(another user's, or the default image's) on the engine.
"""

from __future__ import annotations

import io
import json
import posixpath
import tarfile
import tempfile
from collections.abc import Callable
from typing import IO, Any, BinaryIO

from ..errors import BadRequest

MAX_DOCKERFILE_BYTES = 1024**2
# Files of a `docker save` tarball that name images; they are rewritten or left out.
_INDEX_FILES = {"manifest.json", "repositories", "index.json", "oci-layout"}


def _spool() -> BinaryIO:
    return tempfile.SpooledTemporaryFile(max_size=8 * 1024**2)  # type: ignore[return-value]


def _open(fileobj: IO[bytes], what: str) -> tarfile.TarFile:
    try:
        return tarfile.open(fileobj=fileobj, mode="r:*")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BadRequest(f"the {what} is not a tar archive ({exc})") from None


def _clean(name: str) -> str:
    return posixpath.normpath(name.lstrip("/")).removeprefix("./")


def _add_bytes(out: tarfile.TarFile, like: tarfile.TarInfo | None, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    if like is not None:
        info.mode, info.mtime, info.uid, info.gid = like.mode, like.mtime, like.uid, like.gid
    info.size = len(data)
    out.addfile(info, io.BytesIO(data))


def rewrite_dockerfile(context: BinaryIO, dockerfile: str, rewrite: Callable[[str], str]) -> BinaryIO:
    """A copy of the build context (an uncompressed tar) with its Dockerfile passed through `rewrite`."""
    wanted = _clean(dockerfile)
    out_file = _spool()
    found = False
    try:
        with _open(context, "build context") as source, tarfile.open(fileobj=out_file, mode="w") as out:
            for member in source:
                if _clean(member.name) != wanted:
                    out.addfile(member, source.extractfile(member) if member.isfile() else None)
                    continue
                if not member.isfile():
                    raise BadRequest(f"{dockerfile} in the build context must be a regular file")
                if member.size > MAX_DOCKERFILE_BYTES:
                    raise BadRequest(f"{dockerfile} is larger than 1 MB")
                extracted = source.extractfile(member)
                assert extracted is not None
                text = extracted.read().decode("utf-8", errors="replace")
                _add_bytes(out, member, member.name, rewrite(text).encode())
                found = True
    except BaseException:
        out_file.close()
        raise
    if not found:
        out_file.close()
        raise BadRequest(f"no {dockerfile} in the build context")
    out_file.seek(0)
    return out_file


def _read_json(source: tarfile.TarFile, name: str) -> Any:
    try:
        member = source.getmember(name)
    except KeyError:
        return None
    extracted = source.extractfile(member)
    if extracted is None:
        return None
    try:
        return json.loads(extracted.read(16 * 1024**2))
    except ValueError:
        raise BadRequest(f"{name} in the tarball is not valid JSON") from None


def retag_saved_image(tarball: BinaryIO, wanted: str, staging: str) -> BinaryIO:
    """A copy of a `docker save` tarball holding only image `wanted`, tagged `staging` and nothing else."""
    with _open(tarball, "upload") as source:
        manifest = _read_json(source, "manifest.json")
        if not isinstance(manifest, list):
            raise BadRequest("the tarball has no manifest.json: send the output of `docker save`")
        entries = [e for e in manifest if isinstance(e, dict) and wanted in (e.get("RepoTags") or [])]
        if not entries:
            tags = sorted({t for e in manifest if isinstance(e, dict) for t in (e.get("RepoTags") or [])})
            raise BadRequest(f"the tarball holds {', '.join(tags) or 'no tagged image'}, not {wanted}")
        entry = {**entries[0], "RepoTags": [staging]}
        config = _read_json(source, str(entry.get("Config", "")))
        triggers = ((config or {}).get("config") or {}).get("OnBuild") or []
        if any("--from" in str(t).lower() for t in triggers):
            raise BadRequest("the image has ONBUILD triggers with --from, which could copy from other images")
        out_file = _spool()
        try:
            with tarfile.open(fileobj=out_file, mode="w") as out:
                for member in source:
                    if _clean(member.name) in _INDEX_FILES:
                        continue
                    out.addfile(member, source.extractfile(member) if member.isfile() else None)
                _add_bytes(out, None, "manifest.json", json.dumps([entry]).encode())
        except BaseException:
            out_file.close()
            raise
    out_file.seek(0)
    return out_file
