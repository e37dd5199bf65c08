"""The warm pool's bookkeeping over a stand-in runtime: who gets a member, what it is given, sizing, draining.

End to end (real containers, the agent's claim, restarts and archives) in tests/integration/test_warm_pool.py.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from daytona_server.config import Settings
from daytona_server.db.models import User
from daytona_server.db.session import Database, migrate
from daytona_server.errors import ApiError
from daytona_server.images.service import ImageService
from daytona_server.lifecycle.policies import reconcile
from daytona_server.lifecycle.pool import Demand, PoolKey
from daytona_server.lifecycle.requests import SandboxRequest
from daytona_server.lifecycle.service import SandboxService
from daytona_server.storage import open_store

from ..support.stub_runtime import StubRuntime


class ResizingRuntime(StubRuntime):
    def __init__(self) -> None:
        super().__init__()
        self.resized: dict[str, tuple[int, int]] = {}

    def update_resources(self, sandbox_id: str, cpu: int, memory_gb: int) -> None:
        self.resized[sandbox_id] = (cpu, memory_gb)


@pytest.fixture
def service(tmp_path: Path) -> SandboxService:
    settings = Settings(data_dir=tmp_path, pool_size=2, pool_max=4)
    db = Database(settings.db_url)
    migrate(db.engine)
    with db.session() as session:
        session.add(User(id="u", name="u", role="user"))
        session.commit()
    runtime = ResizingRuntime()
    images = ImageService(db, runtime.images, settings.default_image)
    images.ensure_default("u")
    return SandboxService(settings, db, runtime, open_store(settings.archive_store_url), images)


def user(service: SandboxService) -> User:
    with service.db.session() as session:
        found = session.get(User, "u")
        assert found is not None
        return found


def fill(service: SandboxService) -> list[str]:
    """Step the pool until it has nothing more to do (bounded); the ids of its ready members."""
    service.pool._quiet_from = 0.0  # no waiting for creates to have stopped a while
    for _ in range(20):
        if not service.pool.step():
            break
    return sorted(m.sandbox_id for members in service.pool._ready.values() for m in members)


def runtime_of(service: SandboxService) -> ResizingRuntime:
    assert isinstance(service.runtime, ResizingRuntime)
    return service.runtime


def test_the_pool_fills_to_its_size_with_members_that_wait_for_an_identity(service: SandboxService) -> None:
    members = fill(service)
    assert len(members) == 2
    runtime = runtime_of(service)
    assert all(runtime.specs[m].pool and runtime.containers[m] for m in members)  # started, awaiting
    assert runtime.claims == {}
    assert service.pool.stats() == {"size": 2, "ready": 2, "starting": 0, "hits": 0, "misses": 0}
    assert service.list(user(service)) == []  # in nobody's list, nobody's quota


def test_a_create_takes_a_member_and_gives_it_the_sandbox_s_identity(service: SandboxService) -> None:
    members = fill(service)
    sandbox = service.create(user(service), SandboxRequest(env={"TOKEN": "abc"}, os_user="alice", labels={"a": "b"}))
    assert sandbox.id in members and sandbox.state == "started"
    claim = runtime_of(service).claims[sandbox.id]
    assert (claim.os_user, claim.env, claim.pool) == ("alice", {"TOKEN": "abc"}, False)
    assert sandbox.container_id == f"c-{sandbox.id}"
    assert runtime_of(service).resized == {}  # the defaults: nothing to change
    assert service.pool.stats()["hits"] == 1 and service.pool.stats()["ready"] == 1
    assert len(fill(service)) == 2  # refilled


def test_different_resources_are_applied_at_the_claim(service: SandboxService) -> None:
    fill(service)
    sandbox = service.create(user(service), SandboxRequest(cpu=2, memory=3))
    assert runtime_of(service).specs[sandbox.id].pool
    assert runtime_of(service).resized == {sandbox.id: (2, 3)}


@pytest.mark.parametrize(
    "request_",
    [
        SandboxRequest(disk=20),  # another disk size: another key
        SandboxRequest(sandbox_class="medium"),
        SandboxRequest(gpu=1),
    ],
    ids=["disk", "class", "gpu"],
)
def test_creates_a_member_cannot_serve_are_cold(service: SandboxService, request_: SandboxRequest) -> None:
    members = fill(service)
    sandbox = service.create(user(service), request_)
    assert sandbox.id not in members
    assert not runtime_of(service).specs[sandbox.id].pool
    assert len(fill(service)) == 2


def test_a_create_with_an_id_has_a_member_renamed_to_it(service: SandboxService) -> None:
    members = fill(service)
    sandbox = service.create(user(service), SandboxRequest(id="my-own-id", env={"A": "1"}))
    runtime = runtime_of(service)
    assert (
        sandbox.id == "my-own-id" and runtime.specs["my-own-id"].pool and runtime.claims["my-own-id"].env == {"A": "1"}
    )
    assert len(set(members) - set(runtime.containers)) == 1  # the member it was, under its new id
    assert service.pool.stats()["hits"] == 1


def test_an_explicit_id_of_a_member_is_taken(service: SandboxService) -> None:
    member = fill(service)[0]
    with pytest.raises(ApiError, match="already exists"):
        service.create(user(service), SandboxRequest(id=member))


def test_a_refused_create_gives_its_member_back(service: SandboxService) -> None:
    members = fill(service)
    with pytest.raises(ApiError):
        service.create(user(service), SandboxRequest(cpu=10_000))  # over any quota
    assert fill(service) == members
    assert service.pool.stats()["hits"] == 0


def test_demand_sizes_the_pool_within_its_maximum(service: SandboxService) -> None:
    demand = Demand(window_s=600, span_s=10)
    key, other = PoolKey("img", 10), PoolKey("other", 10)
    demand.note(other, 0.0)
    for t in (100.0, 101.0, 102.0, 150.0, 151.0):
        demand.note(key, t)
    assert demand.wanted(152.0) == {key: 3}  # one create of `other`: no demand yet
    assert demand.wanted(800.0) == {}  # the window passed
    fill(service)
    for _ in range(6):  # a burst of the default image beyond the pool's size
        service.create(user(service), SandboxRequest())
    assert service.pool.targets(time.monotonic())[service.pool.default_key] == 4  # pool_max
    assert len(fill(service)) == 4


def test_a_member_of_a_moved_or_removed_image_is_dropped(service: SandboxService) -> None:
    runtime = runtime_of(service)
    members = fill(service)
    service.images.listeners[0](service.settings.default_image)  # as a push over its tag does
    assert not any(m in runtime.containers for m in members)
    refilled = fill(service)
    assert len(refilled) == 2 and not set(refilled) & set(members)
    stale = service.pool._ready[service.pool.default_key][0]
    service.pool._ready[service.pool.default_key][0] = replace(stale, image_id="sha256:old")
    service.pool._images_checked = 0.0
    assert len(fill(service)) == 2 and stale.sandbox_id not in runtime.containers


def test_reconcile_removes_members_a_previous_run_left(service: SandboxService) -> None:
    members = fill(service)
    reconcile(service)  # at start-up, before the pool runs: members are unknown to the database
    assert not any(m in runtime_of(service).containers for m in members)


def test_close_removes_the_members(service: SandboxService) -> None:
    members = fill(service)
    service.close()
    assert not any(m in runtime_of(service).containers for m in members)


def test_no_member_is_made_while_creates_are_in_flight_or_just_ended(service: SandboxService) -> None:
    fill(service)
    service.create(user(service), SandboxRequest())  # took a member
    assert not service.pool.step()  # the burst may go on: not yet
    with service.pool._creation():
        service.pool._quiet_from = 0.0
        assert not service.pool.step()  # a create in flight
    service.pool._quiet_from = 0.0
    assert service.pool.step() and service.pool.stats()["ready"] == 2


def test_no_pool_when_its_size_is_zero(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, pool_size=0)
    db = Database(settings.db_url)
    migrate(db.engine)
    runtime = StubRuntime()
    service = SandboxService(
        settings, db, runtime, open_store(settings.archive_store_url), ImageService(db, runtime.images, "x")
    )
    assert service.pool.take(service.pool.default_key) is None
    service.pool.start()
    assert service.pool._thread is None


def test_a_create_marks_its_image_used_and_a_missing_image_is_refused(service: SandboxService) -> None:
    from daytona_server.db.models import Image

    service.create(user(service), SandboxRequest())  # cold: the pool is empty
    with service.db.session() as session:
        image = session.scalars(select(Image).where(Image.engine_ref == service.settings.default_image)).one()
        assert image.last_used_at is not None
    runtime_of(service).images.exists = lambda name: False  # type: ignore[method-assign]
    runtime_of(service).image_exists = lambda name: False  # type: ignore[method-assign]
    with pytest.raises(ApiError, match="gone from the runner"):
        service.create(user(service), SandboxRequest())
    fill(service)  # a member of the image shows it is there
    assert service.create(user(service), SandboxRequest()).state == "started"
