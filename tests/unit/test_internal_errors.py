"""An unexpected error answers 500 with an id only; its text (paths, SQL, secrets) stays in the log."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import httpx
import pytest

from daytona_server.api.app import create_app
from daytona_server.config import Settings

from ..support.api_runtime import ApiRuntime


async def test_an_unexpected_error_answers_an_id_that_the_log_line_holds(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(Settings(data_dir=tmp_path / "data"), ApiRuntime())

    @app.get("/api/boom")
    async def boom() -> None:
        raise RuntimeError("password=hunter2 in /srv/secret.db")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        with caplog.at_level(logging.ERROR, logger="daytona.api"):
            response = await http.get("/api/boom")
    assert response.status_code == 500
    body = response.json()
    assert set(body) == {"statusCode", "message", "error"} and body["statusCode"] == 500
    found = re.fullmatch(r"internal error \(id ([0-9a-f]{12})\): see the server log", body["message"])
    assert found, body
    assert "hunter2" not in response.text and "secret" not in response.text
    (record,) = [r for r in caplog.records if found.group(1) in r.getMessage()]
    assert "GET /api/boom" in record.getMessage() and record.exc_info is not None
    assert "password=hunter2" in str(record.exc_info[1])
