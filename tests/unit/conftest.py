"""Fixtures of the in-process API tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from daytona_server.api.app import create_app
from daytona_server.config import Settings
from daytona_server.main import bootstrap

from ..support.accounts import ADMIN_PASSWORD, KEY
from ..support.stub_runtime import StubRuntime


@pytest.fixture
async def app_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The whole API in-process over the stub runtime, with an admin (KEY, ADMIN_PASSWORD); no default auth."""
    settings = Settings(data_dir=tmp_path / "data", bootstrap_api_key=KEY, bootstrap_admin_password=ADMIN_PASSWORD)
    bootstrap(settings)
    app = create_app(settings, StubRuntime())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test/api") as http:
        http.app = app  # type: ignore[attr-defined]
        yield http
