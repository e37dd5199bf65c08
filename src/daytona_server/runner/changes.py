"""A sandbox's own changes against its image, as a compressed tarball, and back.

With the overlay2 storage driver a container's changes are exactly its upper directory: new and
changed files, whiteouts (character devices 0:0) for deletions, and `trusted.overlay.opaque` xattrs
for directories replaced whole. GNU tar with xattrs and numeric owners carries all of that, so a
container created afresh from the same image and given the same upper directory is the same
sandbox: every file, mode, owner, symlink and deletion.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from .base import RuntimeFailure

TAR_OPTIONS = ["--xattrs", "--xattrs-include=*", "--numeric-owner", "--sparse"]
CHUNK = 1 << 20

Progress = Callable[[int], None]


def _require_tools() -> None:
    for tool in ("tar", "zstd"):
        if shutil.which(tool) is None:
            raise RuntimeFailure(f"{tool} is required for archives: install it (apt-get install {tool})")


def export_changes(upper_dir: Path, out: BinaryIO, progress: Progress | None = None) -> tuple[str, int]:
    """Write the zstd-compressed tarball of `upper_dir` to `out`; return (sha256, size)."""
    _require_tools()
    digest = hashlib.sha256()
    size = 0
    # Diagnostics go to files, not pipes: a full stderr pipe would stall tar.
    with tempfile.TemporaryFile() as tar_err, tempfile.TemporaryFile() as zstd_err:
        tar = subprocess.Popen(
            ["tar", "-C", str(upper_dir), *TAR_OPTIONS, "-cf", "-", "."], stdout=subprocess.PIPE, stderr=tar_err
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


def import_changes(archive: Path, upper_dir: Path, progress: Progress | None = None) -> None:
    """Unpack an archive made by `export_changes` into an (empty) upper directory."""
    _require_tools()
    with tempfile.TemporaryFile() as tar_err, tempfile.TemporaryFile() as zstd_err:
        zstd = subprocess.Popen(["zstd", "-q", "-d", "-c", str(archive)], stdout=subprocess.PIPE, stderr=zstd_err)
        assert zstd.stdout is not None
        tar = subprocess.Popen(
            ["tar", "-C", str(upper_dir), *TAR_OPTIONS, "-xpf", "-"], stdin=zstd.stdout, stderr=tar_err
        )
        zstd.stdout.close()
        tar_rc, zstd_rc = tar.wait(), zstd.wait()
        if zstd_rc != 0:
            raise RuntimeFailure(f"cannot decompress the archive: {_text(zstd_err)}")
        if tar_rc != 0:
            raise RuntimeFailure(f"cannot unpack the archive: {_text(tar_err)}")
    if progress:
        progress(archive.stat().st_size)


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
