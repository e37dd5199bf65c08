"""The warm pool end to end: a create takes a started member, which becomes the user's sandbox and
nothing else (its environment, user, hostname and resources), through restarts and archives; the
pool refills; the seed's official SDK works unchanged with it. Bookkeeping: tests/unit/test_warm_pool.py.
"""

from __future__ import annotations

import secrets
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest

from daytona_sdk import CreateWorkspaceParams, Daytona, DaytonaConflictError, Workspace, WorkspaceResources
from daytona_server.config import Settings
from daytona_server.runner.member_names import MemberNames

from ..support.server import RunningServer, start_server, stop_server
from . import test_current_sdk, test_official_sdk  # modules, not their tests: pytest would collect those here

POOL_SIZE = 2


def pool_health(server: RunningServer) -> dict[str, Any]:
    pool: dict[str, Any] = httpx.get(f"{server.url}/health", timeout=10).json()["pool"]
    return pool


def wait_for_ready(server: RunningServer, count: int = POOL_SIZE, deadline_s: float = 180) -> dict[str, Any]:
    started = time.monotonic()
    while time.monotonic() - started < deadline_s:
        pool = pool_health(server)
        if pool["ready"] >= count:
            return pool
        time.sleep(0.2)
    raise AssertionError(f"the pool did not refill to {count} within {deadline_s}s: {pool_health(server)}")


@pytest.fixture(scope="module")
def pool_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp("pool") / "data"
    running = start_server(data_dir, "dtn_pool_" + secrets.token_hex(8), env={"DAYTONA_POOL_SIZE": str(POOL_SIZE)})
    try:
        wait_for_ready(running)
        yield running
    finally:
        with Daytona(running.config()) as daytona:
            for workspace in daytona.list():
                daytona.remove(workspace)
        stop_server(running)


@pytest.fixture
def pooled(pool_server: RunningServer) -> Iterator[Daytona]:
    wait_for_ready(pool_server)  # each test starts with a full pool
    with Daytona(pool_server.config()) as daytona:
        yield daytona


def container_of(docker_client: docker.DockerClient, server: RunningServer, workspace: Workspace) -> Any:
    """By name: a pool member has no io.daytona.sandbox label, and keeps the name it was made under
    (the runner maps a create's own id to it: runner.member_names)."""
    made_as = MemberNames(server.data_dir / "member-names").member_of(workspace.id)
    return docker_client.containers.get(f"daytona-{Settings(data_dir=server.data_dir).server_id}-{made_as}")


def out(workspace: Workspace, command: str) -> str:
    result = workspace.process.exec(command)
    assert result.exit_code == 0, result.result
    return result.result.strip()


def test_a_create_becomes_a_pool_member_with_its_own_identity_only(
    pooled: Daytona, pool_server: RunningServer, docker_client: docker.DockerClient
) -> None:
    hits = pool_health(pool_server)["hits"]
    first = pooled.create(CreateWorkspaceParams(env_vars={"FIRST_SECRET": "one"}))
    second = pooled.create(CreateWorkspaceParams(env_vars={"SECOND_SECRET": "two"}, os_user="agent7"))
    try:
        assert pool_health(pool_server)["hits"] == hits + 2
        for workspace in (first, second):
            assert container_of(docker_client, pool_server, workspace).labels.get("io.daytona.pool") == "true"
            assert out(workspace, "hostname") == workspace.id
            assert out(workspace, "echo $DAYTONA_SANDBOX_ID $HOSTNAME") == f"{workspace.id} {workspace.id}"
        assert out(first, "whoami; echo ${FIRST_SECRET:-none} ${SECOND_SECRET:-none}") == "daytona\none none"
        assert out(second, "whoami; echo ${FIRST_SECRET:-none} ${SECOND_SECRET:-none}") == "agent7\nnone two"
        # Its language runs too (the toolbox is whole), and nothing else of a user runs inside.
        assert second.process.code_run("print(6 * 7)").result.strip() == "42"
        processes = out(first, "ps -eo user=,args= | grep -v -e 'ps -eo' -e grep")
        assert "awaiting" not in processes and "agent7" not in processes
    finally:
        pooled.remove(first)
        pooled.remove(second)
    wait_for_ready(pool_server)  # refilled in the background


def test_a_pool_sandbox_keeps_its_identity_through_stop_start_and_archive(
    pooled: Daytona, pool_server: RunningServer, docker_client: docker.DockerClient
) -> None:
    workspace = pooled.create(CreateWorkspaceParams(env_vars={"KEEP": "kept"}))
    try:
        assert container_of(docker_client, pool_server, workspace).labels.get("io.daytona.pool") == "true"
        out(workspace, "echo precious > /home/daytona/data")
        workspace.stop()
        workspace.start()
        assert out(workspace, "whoami; echo $KEEP; hostname; cat /home/daytona/data") == (
            f"daytona\nkept\n{workspace.id}\nprecious"
        )
        workspace.stop()
        workspace.archive(wait=True)
        workspace.start(timeout=120)  # a new container, made cold from the archive
        assert out(workspace, "whoami; echo $KEEP; hostname; cat /home/daytona/data") == (
            f"daytona\nkept\n{workspace.id}\nprecious"
        )
    finally:
        pooled.remove(workspace)


def test_a_pool_sandbox_gets_the_resources_it_asked_for(
    pooled: Daytona, pool_server: RunningServer, docker_client: docker.DockerClient
) -> None:
    workspace = pooled.create(CreateWorkspaceParams(resources=WorkspaceResources(cpu=2, memory=3)))
    try:
        container = container_of(docker_client, pool_server, workspace)
        assert container.labels.get("io.daytona.pool") == "true"
        host = container.attrs["HostConfig"]
        assert (host["NanoCpus"], host["Memory"]) == (2 * 10**9, 3 * 1024**3)
        limit = "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes"
        assert out(workspace, limit) == str(3 * 1024**3)  # cgroup v2, or v1
    finally:
        pooled.remove(workspace)


def test_the_official_sdks_with_the_pool(pool_server: RunningServer, tmp_path: Path) -> None:
    """The seed's quickstart (its creates carry ids: renamed members) and today's toolbox flows (no id:
    members under their own), with every assertion of their own tests, on sandboxes from the pool."""
    wait_for_ready(pool_server)
    hits = pool_health(pool_server)["hits"]
    for name in ("seed", "current"):
        (tmp_path / name).mkdir()
    test_official_sdk.test_official_sdk_quickstart(pool_server, tmp_path / "seed")
    wait_for_ready(pool_server)
    test_current_sdk.test_toolbox_flows(pool_server, tmp_path / "current")
    assert pool_health(pool_server)["hits"] >= hits + 2


def test_server_stop_removes_its_members(tmp_path: Path, docker_client: docker.DockerClient) -> None:
    data_dir = tmp_path / "data"
    label = {"label": ["io.daytona.pool=true", f"io.daytona.server={Settings(data_dir=data_dir).server_id}"]}
    server = start_server(data_dir, "dtn_pool_stop", env={"DAYTONA_POOL_SIZE": "1"})
    try:
        wait_for_ready(server, 1)
        assert len(docker_client.containers.list(filters=label)) == 1
    finally:
        stop_server(server)
    assert docker_client.containers.list(all=True, filters=label) == []


def test_members_a_killed_server_left_are_removed_at_its_next_start(
    tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    data_dir = tmp_path / "data"
    label = {"label": ["io.daytona.pool=true", f"io.daytona.server={Settings(data_dir=data_dir).server_id}"]}
    server = start_server(data_dir, "dtn_pool_kill", env={"DAYTONA_POOL_SIZE": "1"})
    try:
        wait_for_ready(server, 1)
    finally:
        stop_server(server, signal.SIGKILL)
    assert len(docker_client.containers.list(all=True, filters=label)) == 1  # nobody removed it
    server = start_server(data_dir, "dtn_pool_kill", env={"DAYTONA_POOL_SIZE": "0"})
    try:
        assert docker_client.containers.list(all=True, filters=label) == []  # reconcile did, before serving
    finally:
        stop_server(server)


def test_a_claimed_member_keeps_its_container_name_and_its_sandbox_id_across_a_restart(
    tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    """A create that names an id takes a member without a Docker rename; the map from its id to the
    member's container is on disk, so a restarted server finds the sandbox, and the member's own id
    stays taken until the sandbox is deleted."""
    data_dir = tmp_path / "data"
    server_id = Settings(data_dir=data_dir).server_id
    sandbox_id = "claimed-" + secrets.token_hex(4)
    server = start_server(data_dir, "dtn_pool_names", env={"DAYTONA_POOL_SIZE": "1"})
    try:
        wait_for_ready(server, 1)
        with Daytona(server.config()) as daytona:
            workspace = daytona.create(CreateWorkspaceParams(id=sandbox_id, env_vars={"MINE": "yes"}))
            assert pool_health(server)["hits"] == 1
            made_as = MemberNames(data_dir / "member-names").member_of(sandbox_id)
            assert made_as != sandbox_id
            container = docker_client.containers.get(f"daytona-{server_id}-{made_as}")
            assert container.labels["io.daytona.pool"] == "true"
            assert out(workspace, "hostname; echo $DAYTONA_SANDBOX_ID $MINE") == f"{sandbox_id}\n{sandbox_id} yes"
    finally:
        stop_server(server, signal.SIGKILL)
    server = start_server(data_dir, "dtn_pool_names", env={"DAYTONA_POOL_SIZE": "0"})
    try:
        with Daytona(server.config()) as daytona:
            workspace = daytona.get_current_workspace(sandbox_id)
            assert workspace.info().state == "started"
            assert out(workspace, "hostname; echo $MINE") == f"{sandbox_id}\nyes"
            workspace.stop()
            workspace.start()
            assert out(workspace, "hostname; echo $MINE") == f"{sandbox_id}\nyes"
            with pytest.raises(DaytonaConflictError, match="choose another id"):
                daytona.create(CreateWorkspaceParams(id=made_as))
            daytona.remove(workspace)
        assert docker_client.containers.list(all=True, filters={"name": f"daytona-{server_id}-{made_as}"}) == []
        assert list((data_dir / "member-names").iterdir()) == []
    finally:
        stop_server(server)
