"""What every toolbox call would ask the database, kept in memory: the user of an API key, and a
sandbox's owner, state and last activity.

Entries go the moment this process changes one of those rows: a listener on the session factory's
flushes drops them (a revoked key, a stopped or deleted sandbox, a user's new role), before the
change is even committed. A generation counter keeps a lookup that raced with such a change from
putting the old answer back, and every entry expires after `ttl` seconds anyway. A change made by
another process (another API replica) is seen within `ttl`; replicas will need a notification for
that (issue 17).
"""

from __future__ import annotations

import threading
import time
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
        event.listen(sessions, "after_flush", self._flushed)

    @property
    def generation(self) -> int:
        """Read before a database lookup; pass to `put_*`, which ignores the answer if anything changed since."""
        return self._generation

    def _flushed(self, session: Session, _context: Any) -> None:
        changed = [*session.new, *session.dirty, *session.deleted]
        if not any(isinstance(obj, (ApiKey, Sandbox, User)) for obj in changed):
            return
        with self._lock:
            self._generation += 1
            for obj in changed:
                if isinstance(obj, Sandbox):
                    self._sandboxes.pop(obj.id, None)
                elif isinstance(obj, ApiKey):
                    self._keys.pop(obj.key_hash, None)
                elif isinstance(obj, User):  # a role or a deletion: every key of the user goes
                    for digest in [d for d, (user, _, _) in self._keys.items() if user.id == obj.id]:
                        del self._keys[digest]

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
