"""The escape matrix runs against the same real server as the integration tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import docker
import pytest

from daytona_sdk import Daytona, Workspace
from tests.integration.conftest import RunningServer, docker_client, server

from .lab import create_matrix_sandbox, create_neighbour, create_resource_sandbox

__all__ = ["docker_client", "server"]  # the integration suite's fixtures, reused as they are


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


class SandboxCache:
    """One sandbox per user, made on first use and removed at the end of the module."""

    def __init__(self, make: Callable[[str], Workspace]) -> None:
        self._make = make
        self._made: dict[str, Workspace] = {}

    def __call__(self, user: str) -> Workspace:
        if user not in self._made:
            self._made[user] = self._make(user)
        return self._made[user]

    def all(self) -> list[Workspace]:
        return list(self._made.values())


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
