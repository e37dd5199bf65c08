"""Shared test set-up: tests never read the developer's own Daytona configuration; one real server.

`server` (a `daytona server` subprocess on the real Docker engine) is session-scoped and shared by
tests/integration and tests/security; nothing starts it unless a test asks for it.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from daytona_sdk import Daytona

from .support.server import RunningServer, start_server, stop_server


@pytest.fixture(autouse=True)
def isolated_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in ("DAYTONA_API_KEY", "DAYTONA_SERVER_URL", "DAYTONA_TARGET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DAYTONA_CONFIG_DIR", str(tmp_path / "daytona-config"))
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture(scope="session")
def docker_client() -> docker.DockerClient:
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        pytest.fail(f"integration tests need a running Docker engine (`make docker`): {exc}")
    return client


@pytest.fixture(scope="session")
def server(docker_client: docker.DockerClient) -> Iterator[RunningServer]:
    tmp = Path(tempfile.mkdtemp(prefix="daytona-it-"))
    running = start_server(tmp / "data", "dtn_test_" + secrets.token_hex(16))
    yield running
    try:
        with Daytona(running.config()) as daytona:
            for workspace in daytona.list():
                daytona.remove(workspace)
    finally:
        stop_server(running)
        shutil.rmtree(tmp, ignore_errors=True)
