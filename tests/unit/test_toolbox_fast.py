"""The toolbox's hot path (api.toolbox_fast): it sends the agent what the app's routes would, and only when
nothing is to be checked or written; changes still take effect at once."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from daytona_agent.http import Request, Response, Router
from daytona_server.api import toolbox_fast
from daytona_server.api.app import create_app
from daytona_server.api.current import toolbox_routes as current_routes
from daytona_server.api.toolbox import PREFIX
from daytona_server.api.toolbox_fast import ToolboxTable, _Matcher
from daytona_server.api.v014 import toolbox_routes as v014_routes
from daytona_server.config import Settings
from daytona_server.main import bootstrap

from ..support.accounts import KEY, bearer, make_user
from ..support.agent_server import serving
from ..support.api import assert_error_shape
from ..support.api_runtime import ApiRuntime

SEED = _Matcher(ToolboxTable(PREFIX, v014_routes.ROUTES, "v014"))
TODAY = _Matcher(ToolboxTable(current_routes.PREFIX, current_routes.ROUTES, "current"))


@pytest.mark.parametrize(
    ("matcher", "method", "path", "expected"),
    [
        (SEED, "POST", "/api/toolbox/b/toolbox/process/execute", ("b", "process/execute")),
        (SEED, "GET", "/api/toolbox/b/toolbox/process/session/s 1", ("b", "process/session/s 1")),
        (SEED, "GET", "/api/toolbox/b/toolbox/files", ("b", None)),  # validates its query: the app's
        (SEED, "PUT", "/api/toolbox/b/toolbox/process/execute", ("b", "process/execute")),  # the catch-all
        (SEED, "GET", "/api/toolbox/b/toolbox/any/other", ("b", "any/other")),
        (SEED, "HEAD", "/api/toolbox/b/toolbox/project-dir", ("b", None)),
        (SEED, "GET", "/api/toolbox/b/toolbox/", ("b", None)),
        (SEED, "GET", "/api/toolbox/b/project-dir", None),
        (SEED, "GET", "/api/workspace", None),
        (TODAY, "GET", "/api/toolbox/b/user-home-dir", ("b", "user-home-dir")),
        (TODAY, "GET", "/api/toolbox/b/lsp/workspacesymbols", ("b", None)),
    ],
)
def test_paths_go_where_the_routes_send_them(
    matcher: _Matcher, method: str, path: str, expected: tuple[str, str | None] | None
) -> None:
    assert matcher.match(method, path) == expected


def test_only_toolbox_routes_live_under_the_toolbox_prefix(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", bootstrap_api_key=KEY)
    bootstrap(settings)
    spec = create_app(settings, ApiRuntime()).openapi()
    others = [
        f"{method.upper()} {path}"
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if path.startswith("/api/toolbox/") and "toolbox" not in operation.get("tags", ())
    ]
    assert not others  # the fast path would take their calls


def echo_router() -> Router:
    """An agent that answers every request with what it received."""
    router = Router()

    def echo(request: Request) -> Response:
        headers = {k.lower(): v for k, v in request.headers.items() if k.lower() not in ("content-length",)}
        seen = {"method": request.method, "path": request.path, "query": request.raw_query, "headers": headers}
        return Response(200, {**seen, "body": request.read().decode()}, headers={"X-Echo": "1"})

    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        router.route(method, "/{rest:path}")(echo)
    return router


@pytest.fixture
def agent_socket(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "agent.sock"
    with serving(echo_router(), path):
        yield path


@pytest.fixture
async def http(tmp_path: Path, agent_socket: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(data_dir=tmp_path / "data", bootstrap_api_key=KEY)
    bootstrap(settings)
    runtime = ApiRuntime()
    runtime.agent_sockets["box"] = agent_socket
    app = create_app(settings, runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test/api") as client:
        client.app = app  # type: ignore[attr-defined]
        assert (await client.post("/workspace", json={"id": "box"}, headers=bearer(KEY))).status_code == 200
        yield client


@pytest.fixture
def hot(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths the fast path relayed."""
    relayed: list[str] = []
    relay = toolbox_fast.relay_to_agent

    async def spy(*args: Any, **kwargs: Any) -> Any:
        relayed.append(args[2])
        return await relay(*args, **kwargs)

    monkeypatch.setattr(toolbox_fast, "relay_to_agent", spy)
    return relayed


def forget_everything(http: httpx.AsyncClient) -> None:
    cache = http.app.state.server.db.cache  # type: ignore[attr-defined]
    cache._keys.clear()
    cache._sandboxes.clear()


CALLS = [
    ("POST", "/toolbox/box/toolbox/process/execute", {"json": {"command": "true"}}),
    ("PUT", "/toolbox/box/toolbox/some/where?a=1&b=%20x+y&c", {"content": b"put body"}),
    ("GET", "/toolbox/box/process/session/s%201", {}),
    ("DELETE", "/toolbox/box/toolbox/process/session/abc", {"headers": {"Cookie": "daytona_session=s; app=1"}}),
]


@pytest.mark.parametrize(("method", "url", "options"), CALLS)
async def test_a_hot_call_reaches_the_agent_as_a_routed_one(
    http: httpx.AsyncClient, hot: list[str], method: str, url: str, options: dict[str, Any]
) -> None:
    headers = {**bearer(KEY), "X-Caller": "c", **options.pop("headers", {})}

    async def call() -> tuple[int, dict[str, str], Any]:
        response = await http.request(method, url, headers=headers, **options)
        kept = {k: v for k, v in response.headers.items() if k not in ("date", "content-length")}
        return response.status_code, kept, response.json()

    forget_everything(http)
    routed = await call()
    assert not hot
    for _ in range(3):  # the key and the sandbox are cached, the activity recorded: hot from here on
        answer = await call()
    assert hot, "never took the fast path"
    assert answer == routed
    assert routed[0] == 200 and routed[1]["x-echo"] == "1"
    seen = routed[2]
    assert "authorization" not in seen["headers"] and seen["headers"]["x-caller"] == "c"
    if "cookie" in seen["headers"]:
        assert seen["headers"]["cookie"].strip() == "app=1"


async def test_a_call_that_validates_its_query_is_never_hot(http: httpx.AsyncClient, hot: list[str]) -> None:
    for _ in range(4):
        listed = await http.get("/toolbox/box/toolbox/files", params={"path": "/x"}, headers=bearer(KEY))
        assert listed.json()["query"] == "path=%2Fx"
    assert not hot
    logs = "/toolbox/box/toolbox/process/session/s/command/c/logs"
    assert_error_shape(await http.get(logs, params={"offset": -1}, headers=bearer(KEY)), 400)
    assert not hot


async def test_revoking_a_hot_key_and_stopping_a_hot_sandbox_take_effect_at_once(
    http: httpx.AsyncClient, hot: list[str]
) -> None:
    key = await make_user(http, "bob")
    assert (await http.post("/workspace", json={"id": "bobs"}, headers=bearer(key))).status_code == 200
    runtime = http.app.state.server.sandboxes.runtime  # type: ignore[attr-defined]
    runtime.agent_sockets["bobs"] = runtime.agent_sockets["box"]
    for _ in range(4):
        assert (await http.get("/toolbox/bobs/toolbox/project-dir", headers=bearer(key))).status_code == 200
    assert hot
    # Somebody else's sandbox is refused, by the app.
    assert_error_shape(await http.get("/toolbox/box/toolbox/project-dir", headers=bearer(key)), 404)
    names = [k["name"] for k in (await http.get("/api-keys", headers=bearer(key))).json()]
    assert (await http.delete(f"/api-keys/{names[0]}", headers=bearer(key))).status_code == 204
    assert_error_shape(await http.get("/toolbox/bobs/toolbox/project-dir", headers=bearer(key)), 401)

    for _ in range(4):
        assert (await http.get("/toolbox/box/toolbox/project-dir", headers=bearer(KEY))).status_code == 200
    assert (await http.post("/workspace/box/stop", headers=bearer(KEY))).status_code in (200, 204)
    assert_error_shape(await http.get("/toolbox/box/toolbox/project-dir", headers=bearer(KEY)), 409)


async def test_an_agent_that_went_away_is_a_502_on_the_hot_path(
    http: httpx.AsyncClient, hot: list[str], agent_socket: Path
) -> None:
    for _ in range(4):
        assert (await http.get("/toolbox/box/toolbox/project-dir", headers=bearer(KEY))).status_code == 200
    runtime = http.app.state.server.sandboxes.runtime  # type: ignore[attr-defined]
    runtime.agent_sockets["box"] = agent_socket.parent / "gone.sock"
    await http.app.state.server.agents.forget("box")  # type: ignore[attr-defined]
    hot.clear()
    gone = await http.get("/toolbox/box/toolbox/project-dir", headers=bearer(KEY))
    assert hot
    assert_error_shape(gone, 502)
    assert "did not answer" in json.loads(gone.content)["message"]
