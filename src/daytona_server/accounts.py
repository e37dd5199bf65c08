"""Accounts under one set of rules, whatever the wire format: sign-in, API keys, users and their quotas.

A key's value is returned once, at creation; it is stored only as a SHA-256 (see auth), and a
deleted key stops working at once. Users are managed by admins only; the first admin stays.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select

from . import auth, quotas
from .db.models import ApiKey, Sandbox, User
from .db.session import Database
from .errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized

USER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


@dataclass
class Profile:
    """A user with their quota (defaults filled in) and what they use of it now."""

    user: User
    quota: dict[str, float]
    usage: dict[str, float]


@dataclass
class NewKey:
    """A key just made: its record and its value, which is never shown again."""

    key: ApiKey
    value: str


def require_admin(user: User) -> None:
    if user.role != "admin":
        raise Forbidden("only admins may do this")


def known_limits(quota: dict[str, float]) -> dict[str, float]:
    """Only the limits quotas knows: nothing else is stored in a user's quota."""
    return {k: float(v) for k, v in quota.items() if k in quotas.DEFAULT_QUOTA}


def masked(key: ApiKey) -> str:
    """What a listing shows of a key: its first characters, then stars."""
    return f"{key.prefix}{'*' * 8}"


class AccountService:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- sign-in ---------------------------------------------------------------------------------

    def sign_in(self, username: str | None, password: str | None, api_key: str | None) -> tuple[User, str]:
        """Check a password or an API key; open a dashboard session and return (user, its token)."""
        with self.db.session() as session:
            if api_key:
                user = auth.authenticate(session, api_key)
            elif username and password:
                user = auth.authenticate_password(session, username, password)
            else:
                raise BadRequest("send username and password, or apiKey")
            if user is None:
                raise Unauthorized("wrong username, password or API key")
            return user, auth.open_session(session, user)

    def sign_out(self, token: str) -> None:
        with self.db.session() as session:
            auth.close_session(session, token)

    def profile(self, user: User) -> Profile:
        with self.db.session() as session:
            usage = quotas.usage_of(session, user.id)
        return Profile(user=user, quota=quotas.quota_of(user), usage=usage)

    # -- API keys --------------------------------------------------------------------------------

    def create_key(self, user: User, name: str) -> NewKey:
        name = name.strip()
        if not name:
            raise BadRequest("name must not be blank")
        with self.db.session() as session:
            taken = session.scalars(select(ApiKey).where(ApiKey.user_id == user.id, ApiKey.name == name)).first()
            if taken is not None:
                raise Conflict(f"you already have an API key named {name!r}: pick another name or delete it")
            value = auth.generate_key()
            owner = session.get(User, user.id)
            assert owner is not None
            key = auth.add_key(session, owner, name, value)
            session.commit()
            return NewKey(key=key, value=value)

    def list_keys(self, user: User) -> list[ApiKey]:
        with self.db.session() as session:
            return list(session.scalars(select(ApiKey).where(ApiKey.user_id == user.id).order_by(ApiKey.created_at)))

    def get_key(self, user: User, name: str) -> ApiKey:
        with self.db.session() as session:
            key = session.scalars(select(ApiKey).where(ApiKey.user_id == user.id, ApiKey.name == name)).first()
            if key is None:
                raise NotFound(f"API key {name!r} not found")
            return key

    def delete_key(self, user: User, name: str) -> None:
        """Revoke the key: it stops working at once."""
        key = self.get_key(user, name)
        with self.db.session() as session:
            row = session.get(ApiKey, key.id)
            if row is not None:
                session.delete(row)
                session.commit()

    # -- users (admins) --------------------------------------------------------------------------

    def create_user(
        self, admin: User, user_id: str, name: str, role: str, password: str | None, quota: dict[str, float]
    ) -> User:
        require_admin(admin)
        if not USER_ID.match(user_id):
            raise BadRequest("id must be 1-64 characters: letters, digits, '.', '_', '@' or '-'")
        with self.db.session() as session:
            if session.get(User, user_id) is not None:
                raise Conflict(f"user {user_id} already exists")
            new = User(
                id=user_id,
                name=name,
                role=role,
                password_hash=auth.hash_password(password) if password else None,
                quota=known_limits(quota),
            )
            session.add(new)
            session.commit()
            return new

    def list_users(self, admin: User) -> list[User]:
        require_admin(admin)
        with self.db.session() as session:
            return list(session.scalars(select(User).order_by(User.created_at)))

    def set_quota(self, admin: User, user_id: str, quota: dict[str, float]) -> User:
        """Change the given limits of a user; the others stay as they are."""
        require_admin(admin)
        with self.db.session() as session:
            target = session.get(User, user_id)
            if target is None:
                raise NotFound(f"user {user_id} not found")
            target.quota = {**(target.quota or {}), **known_limits(quota)}
            session.commit()
            return target

    def delete_user(self, admin: User, user_id: str) -> None:
        """Delete a user without sandboxes (their keys and sessions go with them)."""
        require_admin(admin)
        with self.db.session() as session:
            target = session.get(User, user_id)
            if target is None:
                raise NotFound(f"user {user_id} not found")
            if target.id == auth.ADMIN_ID:
                raise Conflict("the first admin cannot be deleted")
            if session.scalars(select(Sandbox.id).where(Sandbox.owner_id == user_id)).first():
                raise Conflict(f"user {user_id} still has sandboxes: delete them first")
            session.delete(target)
            session.commit()
