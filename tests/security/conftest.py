"""The escape matrix runs against the same real server as the integration tests (tests/conftest.py `server`)."""

from __future__ import annotations

from collections.abc import Iterator

import docker
import pytest

from daytona_sdk import Daytona, Workspace

from ..support.sandboxes import SandboxCache
from ..support.server import RunningServer
from .lab import create_matrix_sandbox, create_neighbour, create_resource_sandbox


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/security/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="package")
def sec_daytona(server: RunningServer) -> Iterator[Daytona]:
    with Daytona(server.config()) as client:
        yield client


@pytest.fixture(scope="package")
def neighbour(sec_daytona: Daytona) -> Iterator[tuple[Workspace, dict[str, str]]]:
    """The second sandbox: holds a secret file, and must keep answering whatever the others do."""
    workspace, env = create_neighbour(sec_daytona)
    yield workspace, env
    sec_daytona.remove(workspace)


@pytest.fixture(scope="module")
def matrix_sandbox(sec_daytona: Daytona, docker_client: docker.DockerClient) -> Iterator[SandboxCache]:
    """The shared sandboxes of the read-only probes: one as `daytona`, one with os_user="root"."""
    cache = SandboxCache(lambda user: create_matrix_sandbox(sec_daytona, docker_client, user))
    yield cache
    for workspace in cache.all():
        sec_daytona.remove(workspace)


@pytest.fixture(scope="module")
def resource_sandbox(sec_daytona: Daytona) -> Iterator[SandboxCache]:
    """A small sandbox per user (1 CPU, 1 GB memory, 1 GB disk) for the resource probes."""
    cache = SandboxCache(lambda user: create_resource_sandbox(sec_daytona, user))
    yield cache
    for workspace in cache.all():
        sec_daytona.remove(workspace)
