"""Bad input gets a clear error with a message and loses nothing (in-process, over the stub runtime).

tests/integration/test_errors.py keeps what needs a real sandbox.
"""

from __future__ import annotations

import httpx
import pytest

from daytona_sdk import (
    AsyncDaytona,
    CreateWorkspaceParams,
    DaytonaAuthenticationError,
    DaytonaBadRequestError,
    DaytonaConfig,
    DaytonaConnectionError,
    DaytonaError,
    DaytonaNotFoundError,
    WorkspaceResources,
)

from ..support.accounts import KEY, bearer
from ..support.server import free_port


def sdk(app_client: httpx.AsyncClient, api_key: str = KEY) -> AsyncDaytona:
    """Our SDK, talking to the in-process app of `app_client`."""
    config = DaytonaConfig(api_key=api_key, server_url="http://test/api", target="us")
    return AsyncDaytona(config, transport=httpx.ASGITransport(app=app_client.app))  # type: ignore[attr-defined]


async def test_health_needs_no_key_and_everything_else_does(app_client: httpx.AsyncClient) -> None:
    assert (await app_client.get("/health")).json()["status"] == "ok"
    response = await app_client.get("/workspace")
    assert response.status_code == 401
    assert response.json() == {
        "statusCode": 401,
        "message": "missing API key: send `Authorization: Bearer <api key>`",
        "error": "Unauthorized",
    }
    toolbox = await app_client.post("/toolbox/x/toolbox/process/execute", json={"command": "id"})
    assert toolbox.status_code == 401


async def test_wrong_api_key_is_refused(app_client: httpx.AsyncClient) -> None:
    async with sdk(app_client, api_key="dtn_wrong") as daytona:
        with pytest.raises(DaytonaAuthenticationError) as caught:
            await daytona.create()
    assert caught.value.status_code == 401
    assert "invalid API key" in caught.value.message


async def test_unknown_sandbox_is_404(app_client: httpx.AsyncClient) -> None:
    async with sdk(app_client) as daytona:
        with pytest.raises(DaytonaNotFoundError, match="sandbox no-such-sandbox not found"):
            await daytona.get_current_workspace("no-such-sandbox")
    for method, path in [
        ("DELETE", "/workspace/nope"),
        ("POST", "/workspace/nope/start"),
        ("POST", "/workspace/nope/stop"),
        ("GET", "/toolbox/nope/toolbox/project-dir"),
        ("POST", "/toolbox/nope/toolbox/process/execute"),
    ]:
        response = await app_client.request(method, path, headers=bearer(KEY), json={"command": "id"})
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["message"] == "sandbox nope not found"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"target": "mars"}, "target: Input should be 'eu', 'us' or 'asia'"),
        ({"cpu": 0}, "cpu: Input should be greater than or equal to 1"),
        ({"memory": 100000}, "memory: Input should be less than or equal to 256"),
        ({"id": "bad id!"}, "id: must be 1-63 characters"),
        ({"user": "Root User"}, "user: must be a valid Linux user name"),
        ({"env": {"A=B": "x"}}, "invalid environment variable name"),
        ({"class": "huge"}, "class: Input should be 'small', 'medium' or 'large'"),
        ({"image": "no-such-image:1"}, "image 'no-such-image:1' not found"),
    ],
)
async def test_invalid_create_input_is_400(
    app_client: httpx.AsyncClient, body: dict[str, object], message: str
) -> None:
    response = await app_client.post("/workspace", json=body, headers=bearer(KEY))
    assert response.status_code == 400, response.text
    assert message in response.json()["message"]


async def test_malformed_json_is_400(app_client: httpx.AsyncClient) -> None:
    response = await app_client.post(
        "/workspace", content=b"{not json", headers={**bearer(KEY), "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "Bad Request"


async def test_sdk_validates_before_sending(app_client: httpx.AsyncClient) -> None:
    async with sdk(app_client) as daytona:
        with pytest.raises(DaytonaError, match="auto_stop_interval"):
            await daytona.create(CreateWorkspaceParams(auto_stop_interval=-1))
        with pytest.raises(DaytonaBadRequestError, match="cpu"):
            await daytona.create(CreateWorkspaceParams(resources=WorkspaceResources(cpu=0)))


async def test_unreachable_server_is_a_connection_error() -> None:
    config = DaytonaConfig(api_key="k", server_url=f"http://127.0.0.1:{free_port()}/api")
    async with AsyncDaytona(config) as daytona:
        with pytest.raises(DaytonaConnectionError, match="cannot reach the Daytona server"):
            await daytona.list()
