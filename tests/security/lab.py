"""Sandboxes for the escape matrix, made the same way by the tests and by the report."""

from __future__ import annotations

import secrets

import docker

from daytona_sdk import CreateWorkspaceParams, Daytona, Workspace, WorkspaceResources

from .probes import SETUP_AS_ROOT, socket_dir_name

NEIGHBOUR_DIRS = ("/tmp", "/workspace", "/home/daytona")


def create_matrix_sandbox(daytona: Daytona, docker_client: docker.DockerClient, user: str) -> Workspace:
    """A sandbox whose toolbox user is `user`, with the probes' root-made fixtures in place."""
    workspace = daytona.create(CreateWorkspaceParams(os_user=None if user == "daytona" else user))
    (container,) = docker_client.containers.list(filters={"label": f"io.daytona.sandbox={workspace.id}"})
    code, output = container.exec_run(["sh", "-c", SETUP_AS_ROOT], user="0")
    if code != 0:
        text = output.decode(errors="replace") if isinstance(output, bytes) else ""
        raise RuntimeError(f"probe set-up failed in {workspace.id}: {text}")
    return workspace


def create_resource_sandbox(daytona: Daytona, user: str) -> Workspace:
    resources = WorkspaceResources(cpu=1, memory=1, disk=1)
    return daytona.create(CreateWorkspaceParams(os_user=None if user == "daytona" else user, resources=resources))


def create_neighbour(daytona: Daytona) -> tuple[Workspace, dict[str, str]]:
    """The second sandbox: it holds a secret file the others must not see; returns it and the probe env."""
    workspace = daytona.create()
    token = "probe-secret-" + secrets.token_hex(8)
    for directory in NEIGHBOUR_DIRS:
        workspace.process.exec(f"echo {token} > {directory}/{token}", check=True)
    env = {
        "PROBE_TOKEN": token,
        "PROBE_NEIGHBOUR_ID": workspace.id,
        "PROBE_NEIGHBOUR_DIR": socket_dir_name(workspace.id),
    }
    return workspace, env
