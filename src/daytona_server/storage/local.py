"""Archives as files in a local directory, written crash-safely (temp file, fsync, rename, fsync dir)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import BinaryIO

from .base import StorageError, StoredObject


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = f"file://{root}"
        root.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise StorageError(f"invalid object key {key!r}")
        return path

    def put_file(self, key: str, path: Path, sha256: str) -> StoredObject:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        if path.stat().st_dev == target.parent.stat().st_dev:
            os.replace(path, tmp)  # same filesystem: a rename, no copy
        else:
            shutil.copyfile(path, tmp)
        with tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        fsync_dir(target.parent)
        return StoredObject(key=key, size=target.stat().st_size, sha256=sha256)

    def staging_dir(self) -> Path:
        """Where to write an archive before `put_file`, so that storing it is a rename."""
        path = self.root / ".staging"
        path.mkdir(exist_ok=True)
        return path

    def get_file(self, key: str, dest: BinaryIO) -> None:
        try:
            with self._path(key).open("rb") as fh:
                shutil.copyfileobj(fh, dest, 1 << 20)
        except FileNotFoundError:
            raise StorageError(f"archive {key} is missing from {self.url}") from None

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()
