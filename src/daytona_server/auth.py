"""API keys: generation, hashing, lookup, and the admin created on first start."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from .db.models import ApiKey, User, utcnow

KEY_PREFIX = "dtn_"
ADMIN_ID = "admin"
# last_used_at is written at most this often per key, so reads do not turn into writes.
LAST_USED_RESOLUTION = timedelta(seconds=30)


def generate_key() -> str:
    """A new random key: 256 bits, with a recognisable prefix."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def mask_key(key: str) -> str:
    return key[: len(KEY_PREFIX) + 4]


def add_key(session: Session, user: User, name: str, key: str) -> ApiKey:
    api_key = ApiKey(user_id=user.id, name=name, key_hash=hash_key(key), prefix=mask_key(key))
    session.add(api_key)
    return api_key


def authenticate(session: Session, key: str) -> User | None:
    """The user owning `key`, or None. The stored hash is compared in constant time."""
    digest = hash_key(key)
    api_key = session.scalars(select(ApiKey).where(ApiKey.key_hash == digest)).first()
    if api_key is None or not hmac.compare_digest(api_key.key_hash, digest):
        return None
    now = utcnow()
    last = api_key.last_used_at
    if last is None or now - last.replace(tzinfo=now.tzinfo) > LAST_USED_RESOLUTION:
        api_key.last_used_at = now
        session.commit()
    return api_key.user


def bootstrap_admin(session: Session, key_file: Path, explicit_key: str | None) -> str | None:
    """Create the admin and its key on first start. Returns the key when it was newly made here.

    With `explicit_key` (DAYTONA_BOOTSTRAP_API_KEY) that key is made valid for the admin, also on a
    database that already exists, so automation can rely on it.
    """
    admin = session.get(User, ADMIN_ID)
    created = admin is None
    if admin is None:
        admin = User(id=ADMIN_ID, name="admin", role="admin")
        session.add(admin)
        session.flush()
    new_key: str | None = None
    if explicit_key:
        if authenticate(session, explicit_key) is None:
            add_key(session, admin, "bootstrap", explicit_key)
    elif created:
        new_key = generate_key()
        add_key(session, admin, "admin", new_key)
        key_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(new_key + "\n")
    session.commit()
    return new_key
