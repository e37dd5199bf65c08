"""The agent's socket lives in a host directory that is bind-mounted into the sandbox."""

from __future__ import annotations

from collections.abc import Iterator

import docker
import pytest

from daytona_sdk import Daytona, Workspace
from tests.support.server import RunningServer

from .lab import create_matrix_sandbox
from .probes import SYMLINK_EXPECTED, agent_socket_symlink


@pytest.fixture
def victim(sec_daytona: Daytona, docker_client: docker.DockerClient) -> Iterator[Workspace]:
    """A root sandbox of its own: the probe leaves its agent unreachable."""
    workspace = create_matrix_sandbox(sec_daytona, docker_client, "root")
    yield workspace
    sec_daytona.remove(workspace)


def test_sandbox_root_cannot_redirect_the_server_to_a_host_socket(victim: Workspace, server: RunningServer) -> None:
    # A listener the test owns on the host stands in for any host socket (the Docker engine's).
    assert agent_socket_symlink(victim, server.url, server.api_key) == SYMLINK_EXPECTED
