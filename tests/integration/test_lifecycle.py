"""Start, stop and delete through the state machine; files survive a stop."""

from __future__ import annotations

import docker
import pytest

from daytona_sdk import CreateWorkspaceParams, Daytona, DaytonaConflictError, DaytonaNotFoundError, WorkspaceState

from ..support.server import start_server, stop_server


def test_stop_keeps_files_and_start_brings_them_back(daytona: Daytona) -> None:
    workspace = daytona.create()
    try:
        workspace.process.exec("echo persisted > /workspace/data.txt && chmod 640 /workspace/data.txt")
        daytona.stop(workspace)
        assert workspace.info().state == WorkspaceState.STOPPED
        with pytest.raises(DaytonaConflictError, match="is stopped: start it first"):
            workspace.process.exec("true")
        with pytest.raises(DaytonaConflictError, match="already stopped"):
            daytona.stop(workspace)
        daytona.start(workspace)
        assert workspace.info().state == WorkspaceState.STARTED
        assert workspace.process.exec("cat /workspace/data.txt; stat -c %a /workspace/data.txt").result == (
            "persisted\n640\n"
        )
        with pytest.raises(DaytonaConflictError, match="already running"):
            daytona.start(workspace)
    finally:
        daytona.remove(workspace)


def test_delete_removes_the_container(daytona: Daytona, docker_client: docker.DockerClient) -> None:
    workspace = daytona.create()
    containers = docker_client.containers.list(filters={"label": f"io.daytona.sandbox={workspace.id}"})
    assert len(containers) == 1
    daytona.remove(workspace)
    assert docker_client.containers.list(all=True, filters={"label": f"io.daytona.sandbox={workspace.id}"}) == []
    with pytest.raises(DaytonaNotFoundError):
        workspace.info()
    # The id can be used again.
    again = daytona.create(CreateWorkspaceParams(id=workspace.id))
    daytona.remove(again)


def test_labels_replace_and_filter(daytona: Daytona) -> None:
    workspace = daytona.create(CreateWorkspaceParams(labels={"project": "alpha"}))
    try:
        assert workspace.set_labels({"project": "beta", "debug": True}) == {"project": "beta", "debug": "true"}
        assert [w.id for w in daytona.list(labels={"project": "beta"})] == [workspace.id]
        assert daytona.list(labels={"project": "alpha"}) == []
        workspace.set_autostop_interval(0)
        assert workspace.info().auto_stop_interval == 0
    finally:
        daytona.remove(workspace)


def test_server_restart_keeps_sandboxes(tmp_path_factory: pytest.TempPathFactory) -> None:
    data_dir = tmp_path_factory.mktemp("restart") / "data"
    first = start_server(data_dir, "dtn_restart_key")
    try:
        with Daytona(first.config()) as daytona:
            workspace = daytona.create(CreateWorkspaceParams(id="survivor"))
            workspace.process.exec("echo still here > /workspace/f")
        stop_server(first)
        second = start_server(data_dir, "dtn_restart_key")
        try:
            with Daytona(second.config()) as daytona:
                again = daytona.get_current_workspace("survivor")
                assert again.process.exec("cat /workspace/f").result == "still here\n"
                daytona.remove(again)
        finally:
            stop_server(second)
    finally:
        stop_server(first)
