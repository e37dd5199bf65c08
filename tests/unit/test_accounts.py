"""Accounts in-process: API keys, users, dashboard sessions, quotas, and two users never crossing."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from daytona_server.api.app import create_app
from daytona_server.config import Settings
from daytona_server.db.models import Image
from daytona_server.main import bootstrap

from .test_server_api import KEY, PUBLIC_ROUTES, StubRuntime, assert_error_shape

ADMIN_PASSWORD = "admin-password-123"
# Routes about the caller only: nothing of anyone else can be reached through them.
SELF_ROUTES = {"/api/users/me", "/api/users/overview"}


@pytest.fixture
async def app_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(data_dir=tmp_path / "data", bootstrap_api_key=KEY, bootstrap_admin_password=ADMIN_PASSWORD)
    bootstrap(settings)
    app = create_app(settings, StubRuntime())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test/api") as http:
        http.app = app  # type: ignore[attr-defined]
        yield http


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def make_user(http: httpx.AsyncClient, user_id: str, **quota: float) -> str:
    """Create a user (as admin) and return an API key of theirs, made by signing in with a password."""
    body = {"id": user_id, "name": user_id.title(), "password": f"{user_id}-secret-pw", **quota}
    assert (await http.post("/users", json=body, headers=bearer(KEY))).status_code == 200
    async with httpx.AsyncClient(transport=http._transport, base_url="http://test/api") as browser:
        signed_in = await browser.post("/auth/login", json={"username": user_id, "password": f"{user_id}-secret-pw"})
        assert signed_in.status_code == 200
        created = await browser.post("/api-keys", json={"name": f"{user_id}-key"}, headers={"X-Daytona-CSRF": "1"})
        assert created.status_code == 200, created.text
        return str(created.json()["value"])


async def test_api_keys_shown_once_masked_and_revoked_at_once(app_client: httpx.AsyncClient) -> None:
    http = app_client
    created = (await http.post("/api-keys", json={"name": "ci"}, headers=bearer(KEY))).json()
    value = created["value"]
    assert re.fullmatch(r"dtn_[A-Za-z0-9_-]{43}", value)  # 256 random bits
    listed = (await http.get("/api-keys", headers=bearer(KEY))).json()
    ci = next(k for k in listed if k["name"] == "ci")
    assert value not in str(listed) and ci["value"].startswith(value[:8]) and "*" in ci["value"]
    assert ci["createdAt"] and "lastUsedAt" in ci
    assert (await http.get("/workspace", headers=bearer(value))).status_code == 200
    assert (await http.get("/api-keys/ci", headers=bearer(KEY))).json()["lastUsedAt"] is not None
    assert_error_shape(await http.post("/api-keys", json={"name": "ci"}, headers=bearer(KEY)), 409)
    assert_error_shape(await http.post("/api-keys", json={"name": "  "}, headers=bearer(KEY)), 400)
    assert (await http.delete("/api-keys/ci", headers=bearer(KEY))).status_code == 200
    assert_error_shape(await http.get("/workspace", headers=bearer(value)), 401)  # at once
    assert_error_shape(await http.delete("/api-keys/ci", headers=bearer(KEY)), 404)


async def test_dashboard_session_cookie_csrf_and_logout(app_client: httpx.AsyncClient) -> None:
    http = app_client
    assert_error_shape(await http.post("/auth/login", json={"username": "admin", "password": "nope"}), 401)
    assert_error_shape(await http.post("/auth/login", json={"apiKey": "dtn_wrong"}), 401)
    assert_error_shape(await http.post("/auth/login", json={}), 400)
    signed_in = await http.post("/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert signed_in.status_code == 200 and signed_in.json()["user"]["role"] == "admin"
    cookie = signed_in.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert (await http.get("/users/me")).json()["id"] == "admin"
    # Changes through the cookie need the CSRF header (a cross-site form cannot send it).
    assert_error_shape(await http.post("/api-keys", json={"name": "x"}), 403)
    assert (await http.post("/api-keys", json={"name": "x"}, headers={"X-Daytona-CSRF": "1"})).status_code == 200
    assert (await http.post("/auth/logout")).status_code == 200
    http.cookies.clear()
    http.cookies.set("daytona_session", signed_in.cookies["daytona_session"])
    assert_error_shape(await http.get("/users/me"), 401)  # the session itself is gone
    by_key = await http.post("/auth/login", json={"apiKey": KEY})
    assert by_key.status_code == 200 and by_key.json()["user"]["id"] == "admin"


async def test_only_admins_manage_users(app_client: httpx.AsyncClient) -> None:
    http = app_client
    key = await make_user(http, "alice")
    assert_error_shape(await http.get("/users", headers=bearer(key)), 403)
    assert_error_shape(await http.post("/users", json={"id": "x", "name": "x"}, headers=bearer(key)), 403)
    assert_error_shape(await http.put("/users/alice/quota", json={}, headers=bearer(key)), 403)
    assert [u["id"] for u in (await http.get("/users", headers=bearer(KEY))).json()] == ["admin", "alice"]
    assert_error_shape(await http.post("/users", json={"id": "alice", "name": "A"}, headers=bearer(KEY)), 409)
    assert_error_shape(await http.post("/users", json={"id": "bad id", "name": "B"}, headers=bearer(KEY)), 400)
    assert_error_shape(
        await http.post("/users", json={"id": "short", "name": "S", "password": "123"}, headers=bearer(KEY)), 400
    )
    me = (await http.get("/users/me", headers=bearer(key))).json()
    assert me["role"] == "user" and me["quota"]["maxConcurrentWorkspaces"] == 10


async def test_quotas_answer_403_and_429(app_client: httpx.AsyncClient) -> None:
    http = app_client
    key = await make_user(http, "bob", maxConcurrentWorkspaces=1, maxCpuPerWorkspace=2, totalMemoryQuota=3)
    too_big = assert_error_shape(await http.post("/workspace", json={"cpu": 4}, headers=bearer(key)), 403)
    assert "per-sandbox limit of 2" in too_big
    assert (await http.post("/workspace", json={"id": "b1"}, headers=bearer(key))).status_code == 200
    second = assert_error_shape(await http.post("/workspace", json={"id": "b2"}, headers=bearer(key)), 429)
    assert "running sandboxes" in second and "stop or delete" in second
    assert (await http.post("/workspace/b1/stop", headers=bearer(key))).status_code == 200
    assert (await http.post("/workspace", json={"id": "b2"}, headers=bearer(key))).status_code == 200
    assert_error_shape(await http.post("/workspace/b1/start", headers=bearer(key)), 429)  # b2 runs now
    overview = (await http.get("/users/overview", headers=bearer(key))).json()
    assert (overview["concurrentWorkspaces"], overview["currentWorkspaces"]) == (1, 2)
    # Raised by an admin, it fits.
    await http.put("/users/bob/quota", json={"maxConcurrentWorkspaces": 2, "totalMemoryQuota": 8}, headers=bearer(KEY))
    assert (await http.post("/workspace/b1/start", headers=bearer(key))).status_code == 200


def example(spec: dict[str, Any], media: dict[str, Any]) -> Any:
    """A valid body for a request schema: required fields filled by type, so only ownership can fail."""

    def build(schema: dict[str, Any]) -> Any:
        if "$ref" in schema:
            return build(spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]])
        for key in ("anyOf", "oneOf", "allOf"):
            if key in schema:
                return build(next(s for s in schema[key] if s.get("type") != "null"))
        kind = schema.get("type")
        if kind == "object":
            return {name: build(schema["properties"][name]) for name in schema.get("required", [])}
        if "enum" in schema:
            return schema["enum"][0]
        return {"string": "x", "integer": 1, "number": 1, "boolean": False, "array": []}.get(str(kind), "x")

    return build(media["schema"]) if "schema" in media else None


async def test_two_users_never_see_each_other(app_client: httpx.AsyncClient) -> None:
    """Walk every route of the OpenAPI spec as user B against user A's things: always 403 or 404."""
    http = app_client
    key_a = await make_user(http, "alice")
    key_b = await make_user(http, "bob")
    assert (await http.post("/workspace", json={"id": "alice-box"}, headers=bearer(key_a))).status_code == 200
    state = http.app.state.server  # type: ignore[attr-defined]
    image_id = str(uuid.uuid4())
    with state.db.session() as session:
        session.add(Image(id=image_id, owner_id="alice", name="alice-image:1", enabled=True, state="active"))
        session.commit()
    values = {
        "workspace_id": "alice-box", "image_id": image_id, "name": "alice-key", "user_id": "alice", "interval": "5",
        "port": "8080", "is_public": "true", "path": "files", "sessionId": "s1", "session_id": "s1",
        "commandId": "c1", "command_id": "c1",
    }  # fmt: skip
    spec = (await http.get("/openapi.json")).json()
    checked = 0
    for path, item in spec["paths"].items():
        if path in PUBLIC_ROUTES or path in SELF_ROUTES or ("{" not in path and not path.startswith("/api/users")):
            continue
        url = path.removeprefix("/api")
        for name, value in values.items():
            url = url.replace("{" + name + "}", value)
        assert "{" not in url, f"no value for a parameter of {path}"
        for method, operation in item.items():
            body = example(spec, operation.get("requestBody", {}).get("content", {}).get("application/json", {}))
            query = {
                p["name"]: example(spec, p)
                for p in operation.get("parameters", [])
                if p["in"] == "query" and p.get("required")
            }
            response = await http.request(method.upper(), url, headers=bearer(key_b), json=body, params=query)
            assert response.status_code in (403, 404), (method, path, response.status_code, response.text)
            assert "alice-box" not in response.text or "not found" in response.text
            checked += 1
    assert checked > 40
    # Another user's image cannot be used either.
    taken = await http.post("/workspace", json={"image": "alice-image:1"}, headers=bearer(key_b))
    assert "image 'alice-image:1' not found" in assert_error_shape(taken, 400)
    # Lists only hold one's own things.
    assert [w["id"] for w in (await http.get("/workspace", headers=bearer(key_b))).json()] == []
    assert (await http.get("/images", headers=bearer(key_b))).json()["items"] == []
    assert [k["name"] for k in (await http.get("/api-keys", headers=bearer(key_b))).json()] == ["bob-key"]
    assert (await http.get("/users/me", headers=bearer(key_b))).json()["id"] == "bob"
    assert (await http.get("/users/overview", headers=bearer(key_b))).json()["currentWorkspaces"] == 0
    # Alice still has everything, and admins see all.
    assert [w["id"] for w in (await http.get("/workspace", headers=bearer(key_a))).json()] == ["alice-box"]
    assert [w["id"] for w in (await http.get("/workspace", headers=bearer(KEY))).json()] == ["alice-box"]
