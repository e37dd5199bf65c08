"""Request dependencies: the server's shared state and the authenticated user."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .. import auth
from ..accounts import AccountService
from ..config import Settings
from ..db.models import User, utcnow
from ..db.session import Database
from ..errors import Forbidden, Unauthorized
from ..images.service import ImageService
from ..images.snapshots import SnapshotService
from ..lifecycle.service import SandboxService
from ..previews import PreviewLinks
from ..runner.agent_client import AgentPool
from ..volumes.service import VolumeService


@dataclass
class ServerState:
    settings: Settings
    db: Database
    sandboxes: SandboxService
    images: ImageService
    agents: AgentPool
    volumes: VolumeService
    preview_secret: bytes = b""

    @cached_property
    def snapshots(self) -> SnapshotService:
        return SnapshotService(self.images, self.sandboxes.builder)

    @cached_property
    def previews(self) -> PreviewLinks:
        return PreviewLinks(self.db)

    @cached_property
    def accounts(self) -> AccountService:
        return AccountService(self.db)


async def get_state(request: Request) -> ServerState:
    """The server's state (async: FastAPI runs a plain `def` dependency on a worker thread)."""
    state: ServerState = request.app.state.server
    return state


_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer <key>`")


SESSION_COOKIE = "daytona_session"
CSRF_HEADER = "x-daytona-csrf"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


async def current_user(
    request: Request,
    state: Annotated[ServerState, Depends(get_state)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """The caller: by API key (`Authorization: Bearer`), or by the dashboard's session cookie."""
    key = credentials.credentials if credentials is not None else ""
    cookie = request.cookies.get(SESSION_COOKIE, "")
    if not key and not cookie:
        raise Unauthorized("missing API key: send `Authorization: Bearer <api key>`")
    if not key and request.method not in SAFE_METHODS and request.headers.get(CSRF_HEADER) != "1":
        raise Forbidden("missing X-Daytona-CSRF header: the dashboard session needs it on changes")

    return await user_by(state, key, cookie)


async def user_by(state: ServerState, key: str, cookie: str) -> User:
    """The user of an API key (from memory when it was seen lately), else of a dashboard session."""
    digest = auth.hash_key(key) if key else ""
    if key:
        known = known_user(state, digest)
        if known is not None:
            return known

    def lookup() -> User | None:
        generation = state.db.cache.generation
        with state.db.session() as session:
            user = auth.authenticate(session, key) if key else auth.session_user(session, cookie)
            if user is not None:
                session.expunge(user)
        if user is not None and key:  # not if the lookup itself wrote (generation moved): next time
            state.db.cache.put_key(generation, digest, user, utcnow())
        return user

    user = await run_in_threadpool(lookup)
    if user is None:
        if key:
            raise Unauthorized("invalid API key: check DAYTONA_API_KEY or create a new key")
        raise Unauthorized("your dashboard session has ended: sign in again")
    return user


def known_user(state: ServerState, digest: str) -> User | None:
    """The hot path: the user of a key (by its hash) seen in the last seconds, its last use recorded
    recently enough that this use needs no write; None: ask the database."""
    known = state.db.cache.user_of(digest)
    if known is not None and known[1] is not None and utcnow() - known[1] <= auth.LAST_USED_RESOLUTION:
        return known[0]
    return None


CurrentUser = Annotated[User, Depends(current_user)]
State = Annotated[ServerState, Depends(get_state)]
