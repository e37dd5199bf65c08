"""The FastAPI application: routes under /api, error handlers, start-up and shutdown."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import APIRouter, FastAPI
from fastapi.concurrency import run_in_threadpool

from .. import __version__
from ..auth import ADMIN_ID
from ..cluster.cache_bus import CacheBus
from ..cluster.leadership import Leadership
from ..config import Settings
from ..dashboard import mount_dashboard
from ..db.session import Database, migrate
from ..images.service import ImageService
from ..lifecycle.policies import LifecycleLoop, reconcile
from ..lifecycle.service import SandboxService
from ..network.manager import SandboxNetworks
from ..runner.agent_client import AgentPool, agent_busy
from ..runner.base import Runtime
from ..storage import open_store
from ..volumes.service import VolumeService
from ..volumes.store import LocalVolumeStore
from . import accounts, errors, images, preview, v014
from .current import sandboxes as current_sandboxes
from .current import snapshots as current_snapshots
from .current import toolbox_routes as current_toolbox
from .current import volumes as current_volumes
from .deps import ServerState
from .schemas import DiskQuota, Health, NetworkHealth, PoolHealth
from .toolbox import PREFIX, toolbox_router
from .toolbox_fast import ToolboxFastPath, ToolboxTable
from .v014 import toolbox_routes as v014_toolbox

log = logging.getLogger("daytona.server")


def create_app(settings: Settings, runtime: Runtime) -> FastAPI:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.db_url)
    migrate(db.engine)
    image_service = ImageService(db, runtime.images, settings.default_image)
    image_service.ensure_default(ADMIN_ID)
    volumes = VolumeService(db, LocalVolumeStore(settings.data_dir / "volumes"))
    networks = SandboxNetworks(settings, db, runtime.networks)
    sandboxes = SandboxService(
        settings, db, runtime, open_store(settings.archive_store_url), image_service, volumes, networks
    )
    state = ServerState(
        settings=settings,
        db=db,
        sandboxes=sandboxes,
        images=image_service,
        agents=AgentPool(runtime.agent_transport, runtime.agent_connect),
        volumes=volumes,
        preview_secret=preview.load_secret(settings.data_dir),
    )
    # With several replicas on one database, one runs the background work (daytona_server.cluster).
    leadership = Leadership(settings.db_url, settings.data_dir)
    sandboxes.pool.leading = lambda: leadership.held
    bus = CacheBus(settings.db_url, db.cache) if settings.db_url.startswith("postgresql") else None
    loop = LifecycleLoop(
        sandboxes,
        settings.lifecycle_interval_s,
        lambda sandbox_id: agent_busy(runtime.agent_blocking_transport(sandbox_id)),
        leading=lambda: leadership.held,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        status = await run_in_threadpool(networks.start)
        if status.enabled:
            runtime.images.build_network = networks.network_name  # builds get the default policy
        print(f"Sandbox network: {'on' if status.enabled else 'off'} ({status.reason})", file=sys.stderr, flush=True)
        if bus is not None:
            bus.start()
        if await run_in_threadpool(leadership.acquire):
            await run_in_threadpool(reconcile, sandboxes)  # it removes members an earlier run left, too
        else:
            print("Background work: another replica leads it", file=sys.stderr, flush=True)
        leadership.start()
        await warm_routes(app)
        loop.start()
        sandboxes.pool.start()
        yield
        loop.stop()
        await run_in_threadpool(sandboxes.close)  # removes the pool's members
        await run_in_threadpool(leadership.close)
        if bus is not None:
            await run_in_threadpool(bus.close)
        networks.close()
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
    seed_toolbox = ToolboxTable(PREFIX, v014_toolbox.ROUTES, "v014")
    today_toolbox = ToolboxTable(current_toolbox.PREFIX, current_toolbox.ROUTES, "current")
    # Hot toolbox calls skip routing (inside: preview hosts come first); in the order of the routes below.
    app.add_middleware(ToolboxFastPath, fastapi_app=app, tables=(seed_toolbox, today_toolbox))
    app.add_middleware(preview.PreviewMiddleware, fastapi_app=app)

    api = APIRouter(prefix="/api")

    @api.get("/health", response_model=Health, tags=["health"], summary="Liveness; needs no API key")
    async def health() -> Health:
        enforced, reason = await run_in_threadpool(runtime.disk_quota)
        net = networks.status
        return Health(
            status="ok",
            version=__version__,
            diskQuota=DiskQuota(enforced=enforced, reason=reason),
            network=NetworkHealth(enabled=net.enabled, reason=net.reason, subnet=net.subnet),
            pool=PoolHealth(**sandboxes.pool.stats()),
            leader=leadership.held,
        )

    api.include_router(v014.router)
    api.include_router(toolbox_router(seed_toolbox.routes, seed_toolbox.prefix, wire=seed_toolbox.wire))
    api.include_router(current_sandboxes.router)
    api.include_router(current_snapshots.router)
    api.include_router(current_volumes.router)
    # After the seed's: its paths all start with /toolbox/{id}/toolbox/, which this catch-all would take.
    api.include_router(toolbox_router(today_toolbox.routes, today_toolbox.prefix, "current_", today_toolbox.wire))
    api.include_router(images.router)
    api.include_router(accounts.router)
    app.include_router(api)
    mount_dashboard(app)  # last: it serves every path outside /api
    return app


async def warm_routes(app: FastAPI) -> None:
    """Walk every route once before serving: FastAPI prepares an included router's routes (their
    dependencies and models) at the first request that reaches them, about a tenth of a second of
    the event loop that the first creates of a burst would otherwise wait for. A path no route takes
    visits them all."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://warm-up") as client:
        await client.get("/api/.warm-up")
