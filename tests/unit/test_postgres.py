"""The database layer on a real PostgreSQL server (started here, on loopback, in a temp dir)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from daytona_server.api.app import create_app
from daytona_server.config import Settings
from daytona_server.main import bootstrap

from ..support.accounts import KEY
from ..support.postgres import running_postgres
from ..support.stub_runtime import StubRuntime


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with running_postgres() as url:
        yield url


async def test_server_runs_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=postgres_url, bootstrap_api_key=KEY)
    bootstrap(settings)
    bootstrap(settings)  # a second start finds the schema and the key in place
    app = create_app(settings, StubRuntime())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test/api",
        headers={"Authorization": f"Bearer {KEY}"},
    ) as client:
        created = await client.post("/workspace", json={"id": "pg1", "env": {"A": "1"}, "labels": {"k": "v"}})
        assert created.status_code == 200, created.text
        listed = (await client.get("/workspace", params={"labels": '{"k": "v"}'})).json()
        assert [(w["id"], w["env"]) for w in listed] == [("pg1", {"A": "1"})]
        assert (await client.post("/workspace", json={"id": "pg1"})).status_code == 409
        assert (await client.post("/workspace/pg1/stop")).status_code == 200
        assert (await client.delete("/workspace/pg1")).status_code == 200
        assert (await client.get("/workspace/pg1")).status_code == 404
