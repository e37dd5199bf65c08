"""Reconcile and the auto-stop/auto-archive loop over a stand-in runtime (pure bookkeeping)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from daytona_server.config import Settings
from daytona_server.db.models import Sandbox, User, utcnow
from daytona_server.db.session import Database, migrate
from daytona_server.images.service import ImageService
from daytona_server.lifecycle.policies import LifecycleLoop, reconcile
from daytona_server.lifecycle.service import SandboxService
from daytona_server.storage import open_store

from ..support.stub_runtime import StubRuntime


@pytest.fixture
def service(tmp_path: Path) -> SandboxService:
    settings = Settings(data_dir=tmp_path)
    db = Database(settings.db_url)
    migrate(db.engine)
    with db.session() as session:
        session.add(User(id="u", name="u", role="user"))
        session.commit()
    runtime = StubRuntime()
    images = ImageService(db, runtime.images, settings.default_image)
    return SandboxService(settings, db, runtime, open_store(settings.archive_store_url), images)


def add(service: SandboxService, sandbox_id: str, state: str, **fields: object) -> None:
    with service.db.session() as session:
        session.add(
            Sandbox(
                id=sandbox_id, owner_id="u", name=sandbox_id, image="daytona-sandbox:x", os_user="daytona",
                env={}, labels={}, public=False, target="us", sandbox_class="small", cpu=1, gpu=0, memory=1,
                disk=1, auto_stop_interval=1, auto_archive_interval=0, state=state, **fields,
            )
        )  # fmt: skip
        session.commit()


def state_of(service: SandboxService, sandbox_id: str) -> str | None:
    with service.db.session() as session:
        sandbox = session.get(Sandbox, sandbox_id)
        return sandbox.state if sandbox else None


def test_reconcile_matches_the_runtime(service: SandboxService) -> None:
    runtime: StubRuntime = service.runtime  # type: ignore[assignment]
    cases = {
        # id: (state in the database, container: None = missing, True = running, False = stopped)
        "running-but-db-stopped": ("stopped", True),
        "stopped-but-db-started": ("started", False),
        "interrupted-create": ("creating", False),
        "interrupted-stop": ("stopping", True),
        "interrupted-archive": ("archiving", False),
        "interrupted-restore": ("restoring", False),
        "archived-with-leftover": ("archived", False),
        "vanished": ("started", None),
        "half-destroyed": ("destroying", False),
    }
    for sandbox_id, (state, container) in cases.items():
        add(service, sandbox_id, state)
        if container is not None:
            runtime.containers[sandbox_id] = container
    runtime.containers["orphan"] = True
    reconcile(service)
    assert {sid: state_of(service, sid) for sid in cases} == {
        "running-but-db-stopped": "started",
        "stopped-but-db-started": "stopped",
        "interrupted-create": "stopped",
        "interrupted-stop": "started",
        "interrupted-archive": "stopped",
        "interrupted-restore": "archived",
        "archived-with-leftover": "archived",
        "vanished": "error",
        "half-destroyed": None,
    }
    # Containers that must go: the orphan, the leftovers of archive/restore, the destroyed one.
    assert set(runtime.containers) == {
        "running-but-db-stopped", "stopped-but-db-started", "interrupted-create", "interrupted-stop",
        "interrupted-archive",
    }  # fmt: skip


def test_loop_stops_idle_sandboxes_unless_busy(service: SandboxService) -> None:
    runtime: StubRuntime = service.runtime  # type: ignore[assignment]
    old = utcnow() - timedelta(minutes=2)
    for sandbox_id in ("idle", "busy-inside", "busy-request", "fresh"):
        add(service, sandbox_id, "started", last_activity_at=old if sandbox_id != "fresh" else utcnow())
        runtime.containers[sandbox_id] = True
    service.activity.begin("busy-request")
    loop = LifecycleLoop(service, 1, busy=lambda sandbox_id: sandbox_id == "busy-inside")
    loop.tick()
    assert [state_of(service, s) for s in ("idle", "busy-inside", "busy-request", "fresh")] == [
        "stopped", "started", "started", "started",
    ]  # fmt: skip
