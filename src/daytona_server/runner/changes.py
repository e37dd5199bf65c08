"""A sandbox's archive: its changes against its image, as one zstd file that any storage driver reads.

Format (version 1): a zstd *skippable frame* holding a JSON manifest, then the zstd-compressed GNU
tarball of the changed entries, named relative to the root file system (`./etc/passwd`), with
xattrs, numeric owners, modes, mtimes, hard links and sparse files. The manifest lists the paths
of the image that the sandbox deleted (topmost only):

    {"format": "daytona-changes", "version": 1, "deleted": ["home/daytona/.bashrc"]}

Decoders skip skippable frames, so `zstd -dc X.tar.zst | tar -tv` lists the entries as usual.
Archives of older versions are that tarball alone, an overlay2 upper directory with its whiteouts
and opaque directories; they restore onto overlay2 as they are.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Literal

from .base import RuntimeFailure
from .treediff import Changes, apply_deletions, apply_whiteouts

TAR_OPTIONS = ["--xattrs", "--xattrs-include=*", "--numeric-owner", "--sparse"]
# Exactly the listed names, NUL-separated, none of them read as an option.
LIST_OPTIONS = ["--no-recursion", "--null", "--verbatim-files-from"]
CHUNK = 1 << 20
SKIPPABLE_MAGIC = 0x184D2A5E  # one of zstd's skippable-frame magics (0x184D2A50 to 0x184D2A5F)
FORMAT = "daytona-changes"
VERSION = 1

Progress = Callable[[int], None]
# How the target of a restore holds changes: a full root file system (btrfs snapshot) or an
# overlay2 upper directory.
Layout = Literal["rootfs", "upper"]


def _require_tools() -> None:
    for tool in ("tar", "zstd"):
        if shutil.which(tool) is None:
            raise RuntimeFailure(f"{tool} is required for archives: install it (apt-get install {tool})")


def _manifest_frame(deleted: list[str]) -> bytes:
    body = json.dumps({"format": FORMAT, "version": VERSION, "deleted": deleted}).encode()
    return struct.pack("<II", SKIPPABLE_MAGIC, len(body)) + body


def read_manifest(archive: Path) -> dict[str, Any] | None:
    """The manifest of a version-1 archive; None for an archive of the older, tarball-only format."""
    with archive.open("rb") as fh:
        head = fh.read(8)
        if len(head) < 8 or struct.unpack("<I", head[:4])[0] != SKIPPABLE_MAGIC:
            return None
        body = fh.read(struct.unpack("<I", head[4:])[0])
    try:
        manifest = json.loads(body)
    except ValueError:
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise RuntimeFailure("the archive's manifest is unreadable or of an unknown version")
    return manifest


def export_changes(
    root: Path,
    changes: Changes,
    out: BinaryIO,
    progress: Progress | None = None,
    exclude_xattrs: Sequence[str] = (),
) -> tuple[str, int]:
    """Write `changes` of the tree at `root` as an archive to `out`; return (sha256, size)."""
    _require_tools()
    digest = hashlib.sha256()
    frame = _manifest_frame(changes.deleted)
    digest.update(frame)
    out.write(frame)
    size = len(frame)
    names = b"".join((b"." if p == "." else b"./" + os.fsencode(p)) + b"\0" for p in changes.entries)
    excludes = [f"--xattrs-exclude={pattern}" for pattern in exclude_xattrs]
    # The name list and diagnostics go through files, not pipes: a full stderr pipe would stall tar.
    with tempfile.NamedTemporaryFile() as listing, tempfile.TemporaryFile() as tar_err:
        listing.write(names)
        listing.flush()
        with tempfile.TemporaryFile() as zstd_err:
            tar = subprocess.Popen(
                ["tar", "-C", str(root), *TAR_OPTIONS, *excludes, *LIST_OPTIONS, "-T", listing.name, "-cf", "-"],
                stdout=subprocess.PIPE,
                stderr=tar_err,
            )
            zstd = subprocess.Popen(
                ["zstd", "-q", "-T0", "-3", "-c"], stdin=tar.stdout, stdout=subprocess.PIPE, stderr=zstd_err
            )
            assert tar.stdout is not None and zstd.stdout is not None
            tar.stdout.close()  # zstd owns the pipe now
            while chunk := zstd.stdout.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
                if progress:
                    progress(size)
            zstd_rc, tar_rc = zstd.wait(), tar.wait()
            if tar_rc not in (0, 1):  # 1: a file changed while being read - the sandbox is stopped, so benign
                raise RuntimeFailure(f"tar failed ({tar_rc}): {_text(tar_err)}")
            if zstd_rc != 0:
                raise RuntimeFailure(f"zstd failed ({zstd_rc}): {_text(zstd_err)}")
    return digest.hexdigest(), size


def import_changes(archive: Path, target: Path, layout: Layout, progress: Progress | None = None) -> None:
    """Apply an archive to a freshly created container's root file system or upper directory."""
    _require_tools()
    manifest = read_manifest(archive)
    deleted = [str(p) for p in manifest["deleted"]] if manifest else []
    if layout == "rootfs":
        if manifest is None:
            raise RuntimeFailure(
                "this archive was made by an older version on Docker's overlay2 driver: restore it on an"
                " engine with overlay2 (its whiteouts mean nothing on btrfs)"
            )
        apply_deletions(target, deleted)
        _untar(archive, target)
    else:
        _untar(archive, target)
        apply_whiteouts(target, deleted)
    if progress:
        progress(archive.stat().st_size)


def _untar(archive: Path, target: Path) -> None:
    with tempfile.TemporaryFile() as tar_err, tempfile.TemporaryFile() as zstd_err:
        zstd = subprocess.Popen(["zstd", "-q", "-d", "-c", str(archive)], stdout=subprocess.PIPE, stderr=zstd_err)
        assert zstd.stdout is not None
        tar = subprocess.Popen(["tar", "-C", str(target), *TAR_OPTIONS, "-xpf", "-"], stdin=zstd.stdout, stderr=tar_err)
        zstd.stdout.close()
        tar_rc, zstd_rc = tar.wait(), zstd.wait()
        if zstd_rc != 0:
            raise RuntimeFailure(f"cannot decompress the archive: {_text(zstd_err)}")
        if tar_rc != 0:
            raise RuntimeFailure(f"cannot unpack the archive: {_text(tar_err)}")


def sha256_of(path: Path, progress: Progress | None = None) -> str:
    digest = hashlib.sha256()
    done = 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            done += len(chunk)
            if progress:
                progress(done)
    return digest.hexdigest()


def _text(log: BinaryIO) -> str:
    log.seek(0)
    return log.read().decode(errors="replace").strip()[-500:]
