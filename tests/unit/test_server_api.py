"""The API in-process (httpx ASGI transport) over a stand-in runtime: auth, error shape, bootstrap.

The runtime here is a fake because these tests are about the HTTP layer; the integration tests run
the same routes against real Docker.
"""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from daytona_server.api.app import create_app
from daytona_server.config import Settings
from daytona_server.main import bootstrap

from ..support.accounts import KEY
from ..support.api import PUBLIC_ROUTES, assert_error_shape
from ..support.stub_runtime import StubRuntime


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", bootstrap_api_key=KEY)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    bootstrap(settings)
    app = create_app(settings, StubRuntime())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test/api", headers={"Authorization": f"Bearer {KEY}"}
    ) as http:
        yield http


async def test_every_documented_route_refuses_a_missing_or_wrong_key(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    routes = [(method.upper(), path) for path, item in spec["paths"].items() for method in item]
    assert ("POST", "/api/workspace") in routes and (
        "POST",
        "/api/toolbox/{workspace_id}/toolbox/process/execute",
    ) in routes
    for method, path in routes:
        if path in PUBLIC_ROUTES:
            continue
        url = path.removeprefix("/api").replace("{workspace_id}", "w").replace("{interval}", "5").replace("{path}", "x")
        for headers in ({"Authorization": ""}, {"Authorization": "Bearer wrong"}):
            response = await client.request(method, url, headers=headers)
            assert_error_shape(response, 401)


async def test_create_get_list_stop_start_delete(client: httpx.AsyncClient) -> None:
    created = (await client.post("/workspace", json={"id": "w1", "labels": {"a": "b"}, "class": "medium"})).json()
    assert created["state"] == "started"
    assert (created["cpu"], created["memory"], created["disk"]) == (2, 4, 20)
    assert '"state": "started"' in created["info"]["providerMetadata"]
    assert [w["id"] for w in (await client.get("/workspace")).json()] == ["w1"]
    assert (await client.post("/workspace/w1/stop")).status_code == 200
    assert (await client.get("/workspace/w1")).json()["state"] == "stopped"
    message = assert_error_shape(await client.post("/workspace/w1/stop"), 409)
    assert message == "cannot stop sandbox w1: it is stopped; it is already stopped"
    assert_error_shape(await client.post("/toolbox/w1/toolbox/process/execute", json={"command": "id"}), 409)
    assert (await client.post("/workspace/w1/start")).status_code == 200
    assert (await client.delete("/workspace/w1")).status_code == 200
    assert_error_shape(await client.get("/workspace/w1"), 404)


async def test_bad_inputs_are_4xx_with_messages(client: httpx.AsyncClient) -> None:
    assert "target" in assert_error_shape(await client.post("/workspace", json={"target": "moon"}), 400)
    assert "JSON" in assert_error_shape(
        await client.post("/workspace", content=b"[", headers={"Content-Type": "application/json"}), 400
    )
    assert "labels" in assert_error_shape(await client.get("/workspace", params={"labels": "not-json"}), 400)
    await client.post("/workspace", json={"id": "w2"})
    assert_error_shape(await client.post("/workspace", json={"id": "w2"}), 409)
    assert_error_shape(await client.post("/workspace/w2/autostop/-1"), 400)
    assert_error_shape(await client.get("/no/such/route"), 404)


def test_first_start_makes_an_admin_key_stored_only_as_a_hash(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    key, password = bootstrap(settings)
    assert key and key.startswith("dtn_") and len(key) > 40
    assert password and settings.admin_password_file.read_text().strip() == password
    assert settings.api_key_file.read_text().strip() == key
    assert stat.S_IMODE(settings.api_key_file.stat().st_mode) == 0o600
    assert bootstrap(settings) == (None, None)  # only once
    assert stat.S_IMODE(settings.admin_password_file.stat().st_mode) == 0o600
    dump = "\n".join(sqlite3.connect(settings.data_dir / "daytona.db").iterdump())
    assert key not in dump and password not in dump
