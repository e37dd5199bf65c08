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

from .db.models import ApiKey, User, WebSession, utcnow

KEY_PREFIX = "dtn_"
ADMIN_ID = "admin"
SESSION_LIFETIME = timedelta(days=7)
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
    if last is None or now - last > LAST_USED_RESOLUTION:
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
            names = {k.name for k in admin.api_keys}
            name = next(n for n in (f"bootstrap-{i}" if i else "bootstrap" for i in range(10**6)) if n not in names)
            add_key(session, admin, name, explicit_key)
    elif created:
        new_key = generate_key()
        add_key(session, admin, "admin", new_key)
        write_secret(key_file, new_key)
    session.commit()
    return new_key


def write_secret(path: Path, value: str) -> None:
    """Write a secret to a file only its owner can read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")


def bootstrap_admin_password(session: Session, password_file: Path, explicit: str | None) -> str | None:
    """Give the admin a dashboard password; return it when it was generated here (to print once)."""
    admin = session.get(User, ADMIN_ID)
    if admin is None:
        return None
    generated = None
    if explicit:
        if admin.password_hash is None or not verify_password(explicit, admin.password_hash):
            admin.password_hash = hash_password(explicit)
    elif admin.password_hash is None:
        generated = secrets.token_urlsafe(12)
        admin.password_hash = hash_password(generated)
        write_secret(password_file, generated)
    session.commit()
    return generated


# -- passwords (scrypt, standard library) --------------------------------------------------------


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt$16384$8$1${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        assert scheme == "scrypt"
        actual = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p))
    except (ValueError, AssertionError):
        return False
    return hmac.compare_digest(actual.hex(), digest)


def authenticate_password(session: Session, username: str, password: str) -> User | None:
    user = session.get(User, username)
    if user is None or user.password_hash is None:
        hash_password(password)  # spend the same time whether or not the user exists
        return None
    return user if verify_password(password, user.password_hash) else None


# -- dashboard sessions -----------------------------------------------------------------------------


def open_session(session: Session, user: User) -> str:
    token = secrets.token_urlsafe(32)
    session.add(WebSession(token_hash=hash_key(token), user_id=user.id, expires_at=utcnow() + SESSION_LIFETIME))
    session.commit()
    return token


def session_user(session: Session, token: str) -> User | None:
    web = session.get(WebSession, hash_key(token))
    if web is None:
        return None
    now = utcnow()
    if web.expires_at < now:
        session.delete(web)
        session.commit()
        return None
    return session.get(User, web.user_id)


def close_session(session: Session, token: str) -> None:
    web = session.get(WebSession, hash_key(token))
    if web is not None:
        session.delete(web)
        session.commit()
