"""What in-process API tests check of every answer: the error shape, and the routes that need no key."""

from __future__ import annotations

import httpx

# Routes that need no key: liveness, and signing in to / out of the dashboard.
PUBLIC_ROUTES = {"/api/health", "/api/auth/login", "/api/auth/logout"}


def assert_error_shape(response: httpx.Response, status: int) -> str:
    """The answer has `status` and the Daytona error body ({statusCode, message, error}); return its message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"statusCode", "message", "error"}
    assert body["statusCode"] == status and body["message"]
    return str(body["message"])
