"""Sandboxes are hardened containers: few capabilities, limits, no host paths beyond the agent's."""

from __future__ import annotations

import docker

from daytona_sdk import CreateWorkspaceParams, Daytona, Workspace, WorkspaceResources


def _container(docker_client: docker.DockerClient, workspace: Workspace) -> docker.models.containers.Container:
    (container,) = docker_client.containers.list(filters={"label": f"io.daytona.sandbox={workspace.id}"})
    return container


def test_container_configuration(shared_workspace: Workspace, docker_client: docker.DockerClient) -> None:
    host = _container(docker_client, shared_workspace).attrs["HostConfig"]
    assert host["CapDrop"] == ["ALL"]
    assert "SYS_ADMIN" not in host["CapAdd"] and "NET_RAW" not in host["CapAdd"]
    assert "no-new-privileges:true" in host["SecurityOpt"]
    assert host["PidsLimit"] > 0
    assert host["Memory"] == 2 * 1024**3
    assert host["NanoCpus"] == 1_000_000_000
    assert host["NetworkMode"] == "none"
    assert host["Privileged"] is False
    binds = host["Binds"]
    assert len(binds) == 2
    assert any(b.endswith(":/opt/daytona/daytona_agent:ro") for b in binds)
    assert not any("docker.sock" in b for b in binds)


def test_user_processes_have_no_capabilities(shared_workspace: Workspace) -> None:
    status = shared_workspace.process.exec("grep -E '^Cap(Eff|Prm)' /proc/self/status").result
    assert status.split() == ["CapPrm:", "0000000000000000", "CapEff:", "0000000000000000"]
    assert shared_workspace.process.exec("ls /var/run/docker.sock").exit_code != 0
    assert shared_workspace.process.exec("touch /opt/daytona/daytona_agent/x").exit_code != 0


def test_resources_from_the_request_are_enforced(daytona: Daytona, docker_client: docker.DockerClient) -> None:
    workspace = daytona.create(CreateWorkspaceParams(resources=WorkspaceResources(cpu=2, memory=1)))
    try:
        host = _container(docker_client, workspace).attrs["HostConfig"]
        assert host["Memory"] == 1024**3
        assert host["NanoCpus"] == 2_000_000_000
        info = workspace.info()
        assert (info.resources.cpu, info.resources.memory) == ("2", "1Gi")
    finally:
        daytona.remove(workspace)
