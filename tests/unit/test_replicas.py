"""Several API replicas on one database (daytona_server.cluster): exactly one leads the background
work and another takes over when it goes; a key revoked on one replica stops working on every
other at once. Real PostgreSQL (started here), real flock; sandboxes on the stub runtime."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi import FastAPI

from daytona_server.api.app import create_app
from daytona_server.auth import ADMIN_ID, hash_key
from daytona_server.cluster.leadership import Leadership, libpq_url
from daytona_server.config import Settings
from daytona_server.db.models import User
from daytona_server.main import bootstrap

from ..support.accounts import KEY
from ..support.postgres import running_postgres
from ..support.stub_runtime import StubRuntime


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with running_postgres() as url:
        yield url


def wait_until(condition: Callable[[], bool], deadline_s: float = 10.0) -> None:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < deadline_s, "not within the deadline"
        time.sleep(0.05)


def test_one_replica_leads_on_postgres_and_another_takes_over_when_its_connection_ends(
    postgres_url: str, tmp_path: Path
) -> None:
    gained: list[str] = []
    first = Leadership(postgres_url, tmp_path / "a", check_s=0.1, on_gained=lambda: gained.append("first"))
    second = Leadership(postgres_url, tmp_path / "b", check_s=0.1, on_gained=lambda: gained.append("second"))
    try:
        assert first.acquire() is True
        assert second.acquire() is False
        second.start()
        first.start()
        time.sleep(0.5)
        assert (first.held, second.held) == (True, False)  # the lock is held, not re-taken
        # The database ends the leader's session (a replica that died or lost its network).
        with psycopg.connect(libpq_url(postgres_url), autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s",
                (first.key,),
            )
        wait_until(lambda: second.held and not first.held)
        assert gained == ["second"]
        second.close()
        wait_until(lambda: first.held)  # and back, once the second replica stops
    finally:
        first.close()
        second.close()


def test_one_replica_leads_on_sqlite_through_a_lock_file_that_a_killed_process_releases(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'daytona.db'}"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from daytona_server.cluster.leadership import Leadership;"
            f"assert Leadership({url!r}, Path({str(tmp_path)!r})).acquire(); print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    ours = Leadership(url, tmp_path, check_s=0.1)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert ours.acquire() is False
        holder.kill()  # kill -9: the kernel releases the flock
        holder.wait()
        ours.start()
        wait_until(lambda: ours.held)
    finally:
        holder.kill()
        ours.close()


@asynccontextmanager
async def replica(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings, StubRuntime())
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://replica/api")
        yield app, await stack.enter_async_context(client)


async def test_replicas_share_one_leader_and_hear_each_others_revocations(postgres_url: str, tmp_path: Path) -> None:
    def settings(name: str) -> Settings:
        return Settings(
            data_dir=tmp_path / name, database_url=postgres_url, bootstrap_api_key=KEY, pool_size=0, network="off"
        )

    bootstrap(settings("a"))
    admin = {"Authorization": f"Bearer {KEY}"}
    async with replica(settings("a")) as (_, a), replica(settings("b")) as (app_b, b):
        health = [(await c.get("/health")).json()["leader"] for c in (a, b)]
        assert sorted(health) == [False, True]  # exactly one leads
        created = await a.post("/api-keys", json={"name": "shared"}, headers=admin)
        assert created.status_code == 201, created.text
        key = {"Authorization": f"Bearer {created.json()['value']}"}
        for _ in range(2):  # the first use records it; the second finds it in replica b's hot cache
            assert (await b.get("/workspace", headers=key)).status_code == 200
        assert app_b.state.server.db.cache.user_of(hash_key(created.json()["value"])) is not None
        assert (await a.delete("/api-keys/shared", headers=admin)).status_code == 204
        # Replica b drops it when a's deletion commits, long before its cache's 30 s TTL.
        started = time.monotonic()
        while (await b.get("/workspace", headers=key)).status_code != 401:
            assert time.monotonic() - started < 3, "replica b still accepts the revoked key"
            await asyncio.sleep(0.05)
        # A sandbox stopped through one replica leaves the other's hot path at once.
        assert (await a.post("/workspace", json={"id": "shared-box"}, headers=admin)).status_code == 200
        service_b = app_b.state.server.sandboxes
        with service_b.db.session() as session:
            owner = session.get(User, ADMIN_ID)
        await asyncio.to_thread(service_b.for_toolbox, owner, "shared-box", False)  # b caches it
        assert service_b.db.cache.sandbox("shared-box") is not None
        assert (await a.post("/workspace/shared-box/stop", headers=admin)).status_code == 200
        started = time.monotonic()
        while service_b.db.cache.sandbox("shared-box") is not None:
            assert time.monotonic() - started < 3, "replica b still caches the sandbox as it was"
            await asyncio.sleep(0.05)
        assert not service_b.toolbox_allowed(owner, "shared-box", record=False)
        assert (await a.delete("/workspace/shared-box", headers=admin)).status_code == 200
