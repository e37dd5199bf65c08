"""Exactly one API replica at a time runs the background work: the lifecycle loop (auto-stop,
auto-archive, auto-delete), the warm pool and the start-up reconcile.

The replica that holds the lock leads:
- on PostgreSQL, a session-level advisory lock (`pg_try_advisory_lock`) on a connection of its own.
  The server releases it the moment that connection ends, so a replica that dies or loses the
  database hands the role on by itself;
- on SQLite, an exclusive `flock` of `<data dir>/leader.lock`: replicas on one host that share the
  data directory. The kernel releases it when the process ends, `kill -9` included.

Every replica tries to take the lock every `check_s`; the leader checks every `check_s` that its
connection is alive, and stops leading at once if it is not.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

log = logging.getLogger("daytona.cluster")

CHECK_S = 2.0


def libpq_url(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL (`postgresql+psycopg://…`) as psycopg itself takes it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class Leadership:
    def __init__(
        self,
        database_url: str,
        data_dir: Path,
        name: str = "background-work",
        check_s: float = CHECK_S,
        on_gained: Callable[[], None] | None = None,
    ) -> None:
        """`on_gained`: called (in the leadership's thread) each time this replica takes the role over
        from another one, not at the first try (`acquire`)."""
        self.postgres = database_url.startswith("postgresql")
        self.database_url = database_url
        self.lock_path = data_dir / "leader.lock"
        self.key = zlib.crc32(f"daytona:{name}".encode())  # the advisory lock's id
        self.check_s = check_s
        self.on_gained = on_gained
        self._held = False
        self._handle: Any = None  # the psycopg connection or the lock file's descriptor
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def held(self) -> bool:
        return self._held

    def acquire(self) -> bool:
        """One try to take the role now; whether this replica leads."""
        with self._lock:
            if not self._held and not self._closed.is_set():
                self._held = self._try()
                if self._held:
                    log.info("this replica leads the background work")
            return self._held

    def start(self) -> None:
        """Keep trying in the background (and keep checking the role while held)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="leadership", daemon=True)
            self._thread.start()

    def close(self) -> None:
        self._closed.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._lock:
            self._release()

    def _run(self) -> None:
        while not self._closed.wait(self.check_s):
            if self._held:
                with self._lock:
                    if not self._alive():
                        log.warning("lost the lead of the background work (the database connection ended)")
                        self._release()
            elif self.acquire() and self.on_gained is not None:
                try:
                    self.on_gained()
                except Exception:
                    log.exception("taking over the background work")

    # -- the two kinds of lock ---------------------------------------------------------------------

    def _try(self) -> bool:
        if not self.postgres:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                return False
            self._handle = fd
            return True
        import psycopg

        try:
            connection = psycopg.connect(libpq_url(self.database_url), autocommit=True, connect_timeout=5)
        except psycopg.Error as exc:
            log.warning("cannot reach the database to lead the background work: %s", exc)
            return False
        try:
            row = connection.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        except psycopg.Error:
            connection.close()
            return False
        if not (row and row[0]):
            connection.close()
            return False
        self._handle = connection
        return True

    def _alive(self) -> bool:
        if not self.postgres:
            return True  # a lock of this process's own: only its end releases it
        try:
            self._handle.execute("SELECT 1")
            return True
        except Exception:
            return False

    def _release(self) -> None:
        handle, self._handle, self._held = self._handle, None, False
        if handle is None:
            return
        if self.postgres:
            try:
                handle.close()  # the server drops the advisory lock with the session
            except Exception:
                pass
        else:
            os.close(handle)  # releases the flock
