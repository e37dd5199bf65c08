"""Word of changed rows between API replicas on one PostgreSQL: what each one caches
(daytona_server.hot_cache) goes on every replica when any one changes it.

A flush that changes an API key, a user or a sandbox sends `NOTIFY daytona_cache, '<kind>:<id>'` in
its own transaction, so the word goes out exactly when the change commits (and never for a change
rolled back). Each replica LISTENs on a connection of its own and drops those entries. A replica
whose listening connection broke may have missed words: it drops its whole cache and listens again.
Entries expire after the cache's TTL anyway.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from .leadership import libpq_url

if TYPE_CHECKING:
    from ..hot_cache import HotCache

log = logging.getLogger("daytona.cluster")

CHANNEL = "daytona_cache"
RETRY_S = 1.0


def publish(session: Session, words: list[str]) -> None:
    """Tell every replica, at this transaction's commit, that these entries changed."""
    connection = session.connection()
    for word in words:
        connection.exec_driver_sql("SELECT pg_notify(%s, %s)", (CHANNEL, word))


class CacheBus:
    def __init__(self, database_url: str, cache: HotCache) -> None:
        self.url = libpq_url(database_url)
        self.cache = cache
        self.listening = threading.Event()  # set while this replica hears every word
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cache-bus", daemon=True)

    def start(self) -> None:
        self.cache.publish = publish
        self._thread.start()

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        import psycopg

        while not self._closed.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    self.cache.forget_all()  # what changed while nobody listened
                    self.listening.set()
                    while not self._closed.is_set():
                        for note in connection.notifies(timeout=RETRY_S):
                            kind, _, key = note.payload.partition(":")
                            self.cache.forget(kind, key)
            except psycopg.Error as exc:
                if self.listening.is_set():
                    log.warning("stopped hearing other replicas' changes (%s): reconnecting", exc)
                self.listening.clear()
                self.cache.forget_all()
                self._closed.wait(RETRY_S)
        self.listening.clear()
