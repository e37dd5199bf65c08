"""The FastAPI application: routes under /api, error handlers, start-up and shutdown."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from .. import __version__
from ..config import Settings
from ..db.session import Database, migrate
from ..lifecycle.service import SandboxService
from ..runner.agent_client import AgentPool
from ..runner.base import Runtime
from . import errors, toolbox, workspaces
from .deps import ServerState
from .schemas import Health

log = logging.getLogger("daytona.server")


def create_app(settings: Settings, runtime: Runtime) -> FastAPI:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.db_url)
    migrate(db.engine)
    state = ServerState(
        settings=settings,
        db=db,
        sandboxes=SandboxService(settings, db, runtime),
        agents=AgentPool(runtime.agent_socket),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await state.agents.close()
        db.engine.dispose()

    app = FastAPI(
        title="Daytona-compatible sandbox server",
        version=__version__,
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.server = state
    errors.install(app)

    api = APIRouter(prefix="/api")

    @api.get("/health", response_model=Health, tags=["health"], summary="Liveness; needs no API key")
    async def health() -> Health:
        return Health(status="ok", version=__version__)

    api.include_router(workspaces.router)
    api.include_router(toolbox.router)
    app.include_router(api)
    return app
