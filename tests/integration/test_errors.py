"""Bad input gets a clear error with a message and loses nothing."""

from __future__ import annotations

import httpx
import pytest

from daytona_sdk import (
    CreateWorkspaceParams,
    Daytona,
    DaytonaAuthenticationError,
    DaytonaBadRequestError,
    DaytonaConfig,
    DaytonaConflictError,
    DaytonaConnectionError,
    DaytonaError,
    DaytonaNotFoundError,
    WorkspaceResources,
)

from .conftest import RunningServer, free_port


def test_health_needs_no_key_and_everything_else_does(server: RunningServer) -> None:
    assert httpx.get(f"{server.url}/health").json()["status"] == "ok"
    response = httpx.get(f"{server.url}/workspace")
    assert response.status_code == 401
    assert response.json() == {
        "statusCode": 401,
        "message": "missing API key: send `Authorization: Bearer <api key>`",
        "error": "Unauthorized",
    }
    toolbox = httpx.post(f"{server.url}/toolbox/x/toolbox/process/execute", json={"command": "id"})
    assert toolbox.status_code == 401


def test_wrong_api_key_is_refused(server: RunningServer) -> None:
    with Daytona(server.config(api_key="dtn_wrong")) as daytona, pytest.raises(DaytonaAuthenticationError) as caught:
        daytona.create()
    assert caught.value.status_code == 401
    assert "invalid API key" in caught.value.message


def test_unknown_sandbox_is_404(daytona: Daytona, server: RunningServer) -> None:
    with pytest.raises(DaytonaNotFoundError, match="sandbox no-such-sandbox not found"):
        daytona.get_current_workspace("no-such-sandbox")
    headers = {"Authorization": f"Bearer {server.api_key}"}
    for method, path in [
        ("DELETE", "/workspace/nope"),
        ("POST", "/workspace/nope/start"),
        ("POST", "/workspace/nope/stop"),
        ("GET", "/toolbox/nope/toolbox/project-dir"),
        ("POST", "/toolbox/nope/toolbox/process/execute"),
    ]:
        response = httpx.request(method, f"{server.url}{path}", headers=headers, json={"command": "id"})
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["message"] == "sandbox nope not found"


def test_duplicate_id_is_409_and_keeps_the_first(daytona: Daytona) -> None:
    first = daytona.create(CreateWorkspaceParams(id="dup-test"))
    try:
        first.process.exec("echo kept > /workspace/mark")
        with pytest.raises(DaytonaConflictError, match="already exists"):
            daytona.create(CreateWorkspaceParams(id="dup-test"))
        # The failed create must not have removed the existing sandbox.
        assert first.process.exec("cat /workspace/mark").result == "kept\n"
    finally:
        daytona.remove(first)


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
def test_invalid_create_input_is_400(server: RunningServer, body: dict[str, object], message: str) -> None:
    response = httpx.post(f"{server.url}/workspace", json=body, headers={"Authorization": f"Bearer {server.api_key}"})
    assert response.status_code == 400, response.text
    assert message in response.json()["message"]


def test_malformed_json_is_400(server: RunningServer) -> None:
    response = httpx.post(
        f"{server.url}/workspace",
        content=b"{not json",
        headers={"Authorization": f"Bearer {server.api_key}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "Bad Request"


def test_sdk_validates_before_sending(daytona: Daytona) -> None:
    with pytest.raises(DaytonaError, match="auto_stop_interval"):
        daytona.create(CreateWorkspaceParams(auto_stop_interval=-1))
    with pytest.raises(DaytonaBadRequestError, match="cpu"):
        daytona.create(CreateWorkspaceParams(resources=WorkspaceResources(cpu=0)))


def test_unreachable_server_is_a_connection_error() -> None:
    config = DaytonaConfig(api_key="k", server_url=f"http://127.0.0.1:{free_port()}/api")
    with Daytona(config) as daytona, pytest.raises(DaytonaConnectionError, match="cannot reach the Daytona server"):
        daytona.list()
