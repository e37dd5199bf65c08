"""Archive and restore jobs: a stopped sandbox's changes to object storage and back.

Order of operations, so that a crash at any point loses nothing:
archive: export changes to a temp file → store it durably (fsync + rename, or S3 upload) → record
         the key and SHA-256 → only then remove the container → commit "archived".
restore: fetch the archive → verify its SHA-256 in full (a mismatch stops here: state error, nothing
         extracted) → create a fresh container → unpack the changes into it → start → commit
         "started" → delete the archive. On failure the new container is removed again.
"""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.orm import Session

from ..db.models import Sandbox, utcnow
from ..db.session import Database
from ..runner import changes
from ..runner.base import Runtime, SandboxSpec
from ..storage import ObjectStore
from .states import State

log = logging.getLogger("daytona.archive")


def human(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


class Updater(Protocol):
    """Sets fields of a sandbox in a short transaction of its own."""

    def __call__(self, sandbox_id: str, **fields: Any) -> None: ...


class Archiver:
    """Runs archive and restore jobs, each under the sandbox's lock; `scratch_dir` holds downloads."""

    def __init__(
        self,
        db: Database,
        runtime: Runtime,
        store: ObjectStore,
        update: Updater,
        lock: Callable[[str], threading.RLock],
        scratch_dir: Path,
        spec: Callable[[Sandbox, Session], SandboxSpec],
    ) -> None:
        self.spec = spec  # how the sandbox's container is made again (SandboxService.spec)
        self.db = db
        self.runtime = runtime
        self.store = store
        self.update = update
        self.lock = lock
        self.scratch_dir = scratch_dir

    def _progress(self, sandbox_id: str, phase: str, total: int | None = None) -> Callable[[int], None]:
        """A callback that records "<phase>: N MB (of M, P%)" at most twice a second."""
        last = [0.0]

        def report(done: int) -> None:
            now = time.monotonic()
            if now - last[0] < 0.5:
                return
            last[0] = now
            text = f"{phase}: {human(done)}"
            if total:
                text += f" of {human(total)} ({min(100, done * 100 // total)}%)"
            self.update(sandbox_id, progress=text)

        return report

    def _staging_dir(self) -> Path:
        staging = self.store.staging_dir()  # e.g. the local store's filesystem: storing is a rename
        if staging is not None:
            return staging
        self.scratch_dir.mkdir(parents=True, exist_ok=True)
        return self.scratch_dir

    def archive(self, sandbox_id: str) -> None:
        with self.lock(sandbox_id):
            try:
                self._archive(sandbox_id)
            except Exception as exc:
                log.exception("sandbox %s: archive failed", sandbox_id)
                # The container is untouched: the sandbox stays stopped, with the reason recorded.
                self.update(sandbox_id, state=State.STOPPED, progress=None, error_reason=f"archive failed: {exc}")

    def _archive(self, sandbox_id: str) -> None:
        with self.db.session() as session:
            sandbox = session.get(Sandbox, sandbox_id)
            if sandbox is None or sandbox.state != State.ARCHIVING:
                return
            previous_key = sandbox.archive_key
        key = f"{sandbox_id}/{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(4)}.tar.zst"
        fd, name = tempfile.mkstemp(prefix=f"{sandbox_id}-", suffix=".tar.zst.part", dir=self._staging_dir())
        tmp = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                sha256, size = self.runtime.export_changes(
                    sandbox_id, out, self._progress(sandbox_id, "archiving: compressed")
                )
                out.flush()
                os.fsync(out.fileno())
            self.update(sandbox_id, progress=f"archiving: storing {human(size)}")
            stored = self.store.put_file(key, tmp, sha256)
        finally:
            tmp.unlink(missing_ok=True)
        # Durable now: record it, free the container and its disk (seconds on btrfs with quotas),
        # then say "archived", so that an archived sandbox has no container left.
        self.update(
            sandbox_id,
            archive_key=stored.key,
            archive_sha256=sha256,
            archive_size=stored.size,
            archived_at=utcnow(),
            progress="archiving: removing the container",
        )
        try:
            self.runtime.remove(sandbox_id)
        except Exception:  # the archive is the truth: a leftover container goes at the next reconcile
            log.exception("sandbox %s: cannot remove the container after archiving", sandbox_id)
        self.update(sandbox_id, state=State.ARCHIVED, progress=None, error_reason=None)
        if previous_key and previous_key != stored.key:
            self.store.delete(previous_key)
        log.info("sandbox %s archived: %s (%s)", sandbox_id, stored.key, human(stored.size))

    def restore(self, sandbox_id: str) -> None:
        with self.lock(sandbox_id):
            try:
                self._restore(sandbox_id)
            except Exception as exc:
                log.exception("sandbox %s: restore failed", sandbox_id)
                try:
                    self.runtime.remove(sandbox_id)  # never leave a half-restored container
                except Exception:
                    log.exception("sandbox %s: cleanup after failed restore", sandbox_id)
                self.update(sandbox_id, state=State.ERROR, progress=None, error_reason=str(exc))

    def _restore(self, sandbox_id: str) -> None:
        with self.db.session() as session:
            sandbox = session.get(Sandbox, sandbox_id)
            if sandbox is None or sandbox.state != State.RESTORING:
                return
            key, expected, size, spec = (
                sandbox.archive_key,
                sandbox.archive_sha256,
                sandbox.archive_size,
                self.spec(sandbox, session),
            )
        if not key or not expected:
            raise RuntimeError("restore failed: the sandbox has no archive")
        local = self.store.local_path(key)
        downloaded: Path | None = None
        try:
            if local is None:
                fd, name = tempfile.mkstemp(prefix=f"{sandbox_id}-", suffix=".tar.zst", dir=self._staging_dir())
                downloaded = Path(name)
                self.update(sandbox_id, progress=f"restoring: downloading {human(size or 0)}")
                with os.fdopen(fd, "wb") as out:
                    self.store.get_file(key, out)
                local = downloaded
            elif not local.is_file():
                raise RuntimeError(f"restore failed: archive {key} is missing from {self.store.url}")
            actual = changes.sha256_of(local, self._progress(sandbox_id, "restoring: verifying", size))
            if actual != expected:
                raise RuntimeError(
                    f"archive corrupted: SHA-256 of {key} is {actual}, expected {expected};"
                    " nothing was restored and the archive is kept for inspection"
                )
            self.runtime.create(spec)
            self.update(sandbox_id, progress=f"restoring: unpacking {human(local.stat().st_size)}")
            self.runtime.import_changes(sandbox_id, local)
            self.update(sandbox_id, progress="restoring: starting")
            self.runtime.start(sandbox_id)
        finally:
            if downloaded is not None:
                downloaded.unlink(missing_ok=True)
        self.update(
            sandbox_id,
            state=State.STARTED,
            progress=None,
            error_reason=None,
            archive_key=None,
            archive_sha256=None,
            archive_size=None,
            archived_at=None,
            last_activity_at=utcnow(),
        )
        self.store.delete(key)
        log.info("sandbox %s restored from %s", sandbox_id, key)
