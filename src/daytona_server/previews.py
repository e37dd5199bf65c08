"""Signed preview links: `{port}-{token}.{domain}` reaches one port of one sandbox until it expires or is revoked.

The token is random and stored (a DNS label has no room for a sandbox id, an expiry and a signature),
so revoking is deleting its row.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import delete

from .db.models import PreviewLink, utcnow
from .db.session import Database


class PreviewLinks:
    def __init__(self, db: Database) -> None:
        self.db = db

    def sign(self, sandbox_id: str, port: int, ttl_s: int) -> str:
        token = "s" + secrets.token_hex(16)  # a DNS label: lowercase letters and digits
        with self.db.session() as session:
            session.execute(delete(PreviewLink).where(PreviewLink.expires_at < utcnow()))
            session.add(
                PreviewLink(
                    token=token, sandbox_id=sandbox_id, port=port, expires_at=utcnow() + timedelta(seconds=ttl_s)
                )
            )
            session.commit()
        return token

    def revoke(self, sandbox_id: str, port: int, token: str) -> bool:
        with self.db.session() as session:
            link = session.get(PreviewLink, token)
            if link is None or link.sandbox_id != sandbox_id or link.port != port:
                return False
            session.delete(link)
            session.commit()
            return True

    def sandbox_of(self, token: str, port: int) -> str | None:
        """The sandbox a live signed link `token` opens for `port`, or None."""
        with self.db.session() as session:
            link = session.get(PreviewLink, token)
            if link is None or link.port != port or link.expires_at <= utcnow():
                return None
            return link.sandbox_id
