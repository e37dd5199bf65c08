"""Real sandboxes on the real server: the fixtures every integration test uses.

The server itself (`server`, `docker_client`) is tests/conftest.py's, shared with tests/security;
the helpers (RunningServer, start_server, run_official_sdk, ...) live in tests/support/server.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from daytona_sdk import Daytona, Workspace

from ..support.server import RunningServer


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def daytona(server: RunningServer) -> Iterator[Daytona]:
    with Daytona(server.config()) as client:
        yield client


@pytest.fixture
def workspace(daytona: Daytona) -> Iterator[Workspace]:
    """A fresh python sandbox, removed after the test: for tests that stop, archive or break it, or
    that need one nobody else has touched."""
    created = daytona.create()
    yield created
    daytona.remove(created)


@pytest.fixture(scope="module")
def shared_workspace(server: RunningServer) -> Iterator[Workspace]:
    """One python sandbox for the whole module, removed after its last test.

    Only for tests that read, or write under paths of their own (a tmp dir, a unique name) and
    undo what a neighbour would see (sessions, processes, servers): never stop, archive, resize or
    break it, change its user's files in place, or count what is in it.
    """
    with Daytona(server.config()) as client:
        created = client.create()
        yield created
        client.remove(created)
