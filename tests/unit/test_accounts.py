"""Accounts in-process: API keys, users, dashboard sessions and quotas (two users: test_isolation.py)."""

from __future__ import annotations

import re

import httpx

from ..support.accounts import ADMIN_PASSWORD, KEY, bearer, make_user
from ..support.api import assert_error_shape


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
    assert (await http.delete("/api-keys/ci", headers=bearer(KEY))).status_code == 204
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
    assert (await http.post("/api-keys", json={"name": "x"}, headers={"X-Daytona-CSRF": "1"})).status_code == 201
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
