"""Request dependencies: the server's shared state and the authenticated user."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .. import auth
from ..config import Settings
from ..db.models import User
from ..db.session import Database
from ..errors import ApiError
from ..lifecycle.service import SandboxService
from ..runner.agent_client import AgentPool


@dataclass
class ServerState:
    settings: Settings
    db: Database
    sandboxes: SandboxService
    agents: AgentPool
    preview_secret: bytes = b""


def get_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.server
    return state


_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer <key>`")


async def current_user(
    state: Annotated[ServerState, Depends(get_state)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    if credentials is None or not credentials.credentials:
        raise ApiError(401, "missing API key: send `Authorization: Bearer <api key>`")

    def lookup() -> User | None:
        with state.db.session() as session:
            user = auth.authenticate(session, credentials.credentials)
            if user is not None:
                session.expunge(user)
            return user

    user = await run_in_threadpool(lookup)
    if user is None:
        raise ApiError(401, "invalid API key: check DAYTONA_API_KEY or create a new key")
    return user


CurrentUser = Annotated[User, Depends(current_user)]
State = Annotated[ServerState, Depends(get_state)]
