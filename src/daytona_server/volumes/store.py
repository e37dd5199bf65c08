"""Where volumes keep their files: the `VolumeStore` seam, and its local implementation.

The service and the runtime need only three things of a store: make a volume, delete it, and a
directory on this host holding its files to bind-mount. So an object-storage backend (S3 through a
FUSE mount or a synced cache per runner) slots in behind the same protocol; `LocalVolumeStore` keeps
each volume as a directory `<data dir>/volumes/<id>`.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Protocol

from ..runner.base import RuntimeFailure
from .binds import DIR_MODE

_VOLUME_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class VolumeUnavailable(RuntimeFailure):
    """A volume's files are not on this host (deleted meanwhile, or its store cannot be reached)."""


class VolumeStore(Protocol):
    def create(self, volume_id: str) -> None:
        """Make the (empty) volume; an existing one is kept as it is."""
        ...

    def delete(self, volume_id: str) -> None:
        """Remove the volume and all its files; a missing one is not an error."""
        ...

    def host_path(self, volume_id: str) -> Path:
        """The directory on this host that holds the volume's files, ready to bind-mount into sandboxes."""
        ...


class LocalVolumeStore:
    """Each volume a directory under `root`, which only root may enter (0700).

    A volume's own directory is mode 0777: sandbox users are made by the agent in each image, so
    their uids differ (1000 in the default image, whatever `useradd` picks elsewhere, root for
    some), and one volume may be shared by sandboxes of different users. A chown to one uid would
    lock the others out; 0777 lets every one of them write, while the 0700 parent keeps the host's
    own users out.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(root, 0o700)

    def _path(self, volume_id: str) -> Path:
        if not _VOLUME_ID.match(volume_id):
            raise VolumeUnavailable(f"invalid volume id {volume_id!r}")
        return self.root / volume_id

    def create(self, volume_id: str) -> None:
        path = self._path(volume_id)
        path.mkdir(exist_ok=True)
        os.chmod(path, DIR_MODE)

    def delete(self, volume_id: str) -> None:
        path = self._path(volume_id)
        if not path.exists():
            return
        # Out of the way first (one rename), then the files: a failure halfway leaves no half volume.
        trash = self.root / f".deleting-{volume_id}-{uuid.uuid4().hex[:8]}"
        os.rename(path, trash)
        shutil.rmtree(trash)  # never follows a link a sandbox planted (fd-based on Linux)

    def host_path(self, volume_id: str) -> Path:
        path = self._path(volume_id)
        if not path.is_dir():
            raise VolumeUnavailable(f"the files of volume {volume_id} are missing from {self.root}")
        return path
