"""The dashboard's files as the server serves them: at `/`, self-contained, never in the way of /api."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from daytona_server.api.app import create_app
from daytona_server.config import Settings
from daytona_server.dashboard import STATIC_DIR
from daytona_server.main import bootstrap

from ..support.accounts import KEY
from ..support.api import assert_error_shape
from ..support.stub_runtime import StubRuntime

IMPORT = re.compile(r"""(?:^|\s)(?:import|from)\s*(?:[\w{}\s,*]+from\s*)?["']([^"']+)["']""", re.MULTILINE)
ASSET = re.compile(r"""(?:src|href)="([^"#]+)\"""")


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(data_dir=tmp_path / "data", bootstrap_api_key=KEY)
    bootstrap(settings)
    app = create_app(settings, StubRuntime())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:3000") as http:
        yield http


async def test_index_is_served_at_the_root_with_security_headers(site: httpx.AsyncClient) -> None:
    for path in ("/", "/index.html"):
        response = await site.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert "<title>Daytona dashboard</title>" in response.text
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_every_file_the_dashboard_loads_is_served_by_the_server(site: httpx.AsyncClient) -> None:
    """Walk index.html's assets and the ES module graph from app.js: every one answers, as the right type."""
    index = (await site.get("/")).text
    pending = [f"/{name}" for name in ASSET.findall(index)]
    assert {"/app.css", "/app.js"} <= set(pending)
    seen: set[str] = set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        response = await site.get(path)
        assert response.status_code == 200, path
        if path.endswith(".js"):
            assert "javascript" in response.headers["content-type"], path
            base = path.rsplit("/", 1)[0]
            for target in IMPORT.findall(response.text):
                assert target.startswith("./") or target.startswith("../"), f"{path} imports {target}"
                parts = (base + "/" + target).split("/")
                resolved: list[str] = []
                for part in parts:
                    if part == "..":
                        resolved.pop()
                    elif part not in (".", ""):
                        resolved.append(part)
                pending.append("/" + "/".join(resolved))
    assert {"/views/signin.js", "/views/keys.js", "/views/sandboxes.js", "/views/sandbox.js"} <= seen
    # Nothing on disk is left out of the graph (a stale file would be dead code); vendor/ holds the
    # copied xterm.js, loaded on demand by the terminal.
    on_disk = {"/" + str(p.relative_to(STATIC_DIR)) for p in STATIC_DIR.rglob("*") if p.is_file()}
    assert {p for p in on_disk - seen if not p.startswith("/vendor/")} == {"/index.html"}


def test_no_asset_comes_from_another_host() -> None:
    """The machines have no internet: no CDN, no web fonts, no absolute URLs in any asset (vendor/ is xterm.js
    as npm ships it: its licence names web sites); the SVG namespace is a name, never loaded."""
    for path in STATIC_DIR.rglob("*"):
        if (
            path.is_file()
            and path.suffix in {".html", ".js", ".css"}
            and path.relative_to(STATIC_DIR).parts[0] != "vendor"
        ):
            text = path.read_text().replace('"http://www.w3.org/2000/svg"', "")
            assert not re.search(r"""(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}/""", text, re.IGNORECASE), path
            assert "@import" not in text and "url(http" not in text, path


async def test_api_paths_keep_their_json_errors(site: httpx.AsyncClient) -> None:
    """The mount at `/` never answers for /api: unknown paths are the API's JSON 404, wrong methods 405."""
    assert_error_shape(await site.get("/api/no-such-route"), 404)
    assert_error_shape(await site.get("/api"), 404)
    assert_error_shape(await site.get("/api/"), 404)
    assert_error_shape(await site.get("/api/no/such/route.html"), 404)
    assert_error_shape(await site.get("/api/workspace/x/start", headers={"Authorization": f"Bearer {KEY}"}), 405)
    assert (await site.get("/api/health")).json()["status"] == "ok"


async def test_dashboard_paths_outside_the_files_answer_json_errors(site: httpx.AsyncClient) -> None:
    assert_error_shape(await site.get("/no-such-page.html"), 404)
    assert_error_shape(await site.post("/", json={}), 405)
    assert_error_shape(await site.get("/../pyproject.toml"), 404)
    assert_error_shape(await site.get("/%2e%2e/pyproject.toml"), 404)
