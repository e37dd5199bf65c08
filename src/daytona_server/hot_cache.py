"""What every toolbox call would ask the database, kept in memory: the user of an API key, and a
sandbox's owner, state and last activity.

Entries go the moment this process changes one of those rows: a listener on the session factory's
flushes drops them (a revoked key, a stopped or deleted sandbox, a user's new role), before the
change is even committed. A generation counter keeps a lookup that raced with such a change from
putting the old answer back, and every entry expires after `ttl` seconds anyway. On PostgreSQL,
each flush also tells the other API replicas, which drop the same entries when it commits
(daytona_server.cluster.cache_bus: `publish`, `forget`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from .db.models import ApiKey, Sandbox, User

DEFAULT_TTL_S = 30.0


@dataclass(frozen=True)
class SandboxFacts:
    owner_id: str
    state: str
    last_activity_at: datetime


class HotCache:
    def __init__(self, sessions: sessionmaker[Session], ttl: float = DEFAULT_TTL_S) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._generation = 0
        self._keys: dict[str, tuple[User, datetime | None, float]] = {}  # key hash -> (user, last used, expiry)
        self._sandboxes: dict[str, tuple[SandboxFacts, float]] = {}
        # Tells other replicas which entries a flush changed ("s:<sandbox id>", "k:<key hash>", "u:<user id>").
        self.publish: Callable[[Session, list[str]], None] | None = None
        event.listen(sessions, "after_flush", self._flushed)

    @property
    def generation(self) -> int:
        """Read before a database lookup; pass to `put_*`, which ignores the answer if anything changed since."""
        return self._generation

    def _flushed(self, session: Session, _context: Any) -> None:
        changed = [*session.new, *session.dirty, *session.deleted]
        if not any(isinstance(obj, (ApiKey, Sandbox, User)) for obj in changed):
            return
        words = [
            f"s:{obj.id}"
            if isinstance(obj, Sandbox)
            else f"k:{obj.key_hash}"
            if isinstance(obj, ApiKey)
            else f"u:{obj.id}"
            for obj in changed
            if isinstance(obj, (ApiKey, Sandbox, User))
        ]
        for word in words:
            self.forget(*word.split(":", 1))
        if self.publish is not None:
            self.publish(session, words)

    def forget(self, kind: str, key: str) -> None:
        """Drop an entry (kind "s": a sandbox, "k": an API key by hash, "u": every key of a user)."""
        with self._lock:
            self._generation += 1
            if kind == "s":
                self._sandboxes.pop(key, None)
            elif kind == "k":
                self._keys.pop(key, None)
            elif kind == "u":  # a role or a deletion: every key of the user goes
                for digest in [d for d, (user, _, _) in self._keys.items() if user.id == key]:
                    del self._keys[digest]

    def forget_all(self) -> None:
        with self._lock:
            self._generation += 1
            self._keys.clear()
            self._sandboxes.clear()

    # -- API keys --------------------------------------------------------------------------------------

    def user_of(self, digest: str) -> tuple[User, datetime | None] | None:
        with self._lock:
            found = self._keys.get(digest)
            if found is None or found[2] < time.monotonic():
                return None
            return found[0], found[1]

    def put_key(self, generation: int, digest: str, user: User, last_used_at: datetime | None) -> None:
        with self._lock:
            if generation == self._generation:
                self._keys[digest] = (user, last_used_at, time.monotonic() + self.ttl)

    # -- sandboxes -------------------------------------------------------------------------------------

    def sandbox(self, sandbox_id: str) -> SandboxFacts | None:
        with self._lock:
            found = self._sandboxes.get(sandbox_id)
            if found is None or found[1] < time.monotonic():
                return None
            return found[0]

    def put_sandbox(self, generation: int, sandbox: Sandbox) -> None:
        facts = SandboxFacts(sandbox.owner_id, str(sandbox.state), sandbox.last_activity_at)
        with self._lock:
            if generation == self._generation:
                self._sandboxes[sandbox.id] = (facts, time.monotonic() + self.ttl)
