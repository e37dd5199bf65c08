"""Users and API keys for in-process API tests."""

from __future__ import annotations

import httpx

KEY = "dtn_unit_test_key"  # the admin's key in in-process tests
ADMIN_PASSWORD = "admin-password-123"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def make_user(http: httpx.AsyncClient, user_id: str, **quota: float) -> str:
    """Create a user (as admin) and return an API key of theirs, made by signing in with a password."""
    body = {"id": user_id, "name": user_id.title(), "password": f"{user_id}-secret-pw", **quota}
    assert (await http.post("/users", json=body, headers=bearer(KEY))).status_code == 201
    async with httpx.AsyncClient(transport=http._transport, base_url="http://test/api") as browser:
        signed_in = await browser.post("/auth/login", json={"username": user_id, "password": f"{user_id}-secret-pw"})
        assert signed_in.status_code == 200
        created = await browser.post("/api-keys", json={"name": f"{user_id}-key"}, headers={"X-Daytona-CSRF": "1"})
        assert created.status_code == 201, created.text
        return str(created.json()["value"])
