"""What the server does on its own: auto-stop idle sandboxes (never busy ones), reconcile after kill -9."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from daytona_sdk import CreateWorkspaceParams, Daytona, SessionExecuteRequest, Workspace, WorkspaceState

from ..support.server import RunningServer, start_server, stop_server


@pytest.fixture
def fast_loop_server(tmp_path: Path) -> Iterator[RunningServer]:
    """A server whose lifecycle loop looks every second."""
    running = start_server(tmp_path / "data", "dtn_policies", env={"DAYTONA_LIFECYCLE_INTERVAL": "1"})
    yield running
    with Daytona(running.config()) as daytona:
        for workspace in daytona.list():
            daytona.remove(workspace)
    stop_server(running)


def wait_for_state(workspace: Workspace, wanted: WorkspaceState, deadline_s: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < deadline_s:
        if workspace.info().state == wanted:
            return time.monotonic() - started
        time.sleep(1)
    raise AssertionError(f"{workspace.id} did not become {wanted} within {deadline_s}s: {workspace.info().state}")


def test_auto_stop_fires_when_idle_and_not_during_a_long_command(fast_loop_server: RunningServer) -> None:
    with Daytona(fast_loop_server.config()) as daytona:
        idle = daytona.create(CreateWorkspaceParams(auto_stop_interval=1))
        idle_since = time.monotonic()
        busy = daytona.create(CreateWorkspaceParams(auto_stop_interval=1))
        never = daytona.create(CreateWorkspaceParams(auto_stop_interval=0))
        background = daytona.create(CreateWorkspaceParams(auto_stop_interval=1))
        # A "build" longer than the interval, with no other API call meanwhile.
        build = threading.Thread(target=busy.process.exec, args=("sleep 85",), kwargs={"timeout": 120})
        build.start()
        # And one left running in a session with no client connected at all.
        background.process.create_session("bg")
        background.process.execute_session_command("bg", SessionExecuteRequest(command="sleep 80", run_async=True))
        wait_for_state(idle, WorkspaceState.STOPPED, 120)
        assert time.monotonic() - idle_since >= 55  # not before its minute of idleness
        assert busy.info().state == WorkspaceState.STARTED
        assert background.info().state == WorkspaceState.STARTED
        build.join()
        assert busy.info().state == WorkspaceState.STARTED  # the build finished in a live sandbox
        assert never.info().state == WorkspaceState.STARTED
        # Setting the interval counts as activity, and 0 turns auto-stop off.
        busy.set_autostop_interval(0)
        time.sleep(3)
        assert busy.info().state == WorkspaceState.STARTED


def test_kill_9_then_reconcile(tmp_path: Path, docker_client: docker.DockerClient) -> None:
    data_dir = tmp_path / "data"
    server = start_server(data_dir, "dtn_reconcile")
    foreign = None
    try:
        with Daytona(server.config()) as daytona:
            daytona.create(CreateWorkspaceParams(id="keeps-running"))
            diverged = daytona.create(CreateWorkspaceParams(id="stopped-behind-our-back"))
            diverged.process.exec("echo precious > /workspace/data")
            stopped = daytona.create(CreateWorkspaceParams(id="was-stopped"))
            stopped.stop()
        server.process.send_signal(signal.SIGKILL)
        server.process.wait()
        labels = {"io.daytona.managed": "true", "io.daytona.server": server_label(docker_client, "keeps-running")}
        (container,) = docker_client.containers.list(filters={"label": "io.daytona.sandbox=stopped-behind-our-back"})
        container.stop(timeout=1)
        # A container of ours that the database never heard of, and one of another server.
        orphan = docker_client.containers.run(
            "daytona-sandbox:0.1.0", "sleep 300", detach=True, network_mode="none",
            labels={**labels, "io.daytona.sandbox": "orphan"},
        )  # fmt: skip
        foreign = docker_client.containers.run(
            "daytona-sandbox:0.1.0", "sleep 300", detach=True, network_mode="none",
            labels={"io.daytona.managed": "true", "io.daytona.server": "another", "io.daytona.sandbox": "x"},
        )  # fmt: skip
        server = start_server(data_dir, "dtn_reconcile")
        with Daytona(server.config()) as daytona:
            states = {w.id: w.instance.state for w in daytona.list()}
            assert states == {
                "keeps-running": WorkspaceState.STARTED,
                "stopped-behind-our-back": WorkspaceState.STOPPED,
                "was-stopped": WorkspaceState.STOPPED,
            }
            assert daytona.get("keeps-running").process.exec("echo alive").result == "alive\n"
            again = daytona.get("stopped-behind-our-back")
            again.start()
            assert again.process.exec("cat /workspace/data").result == "precious\n"
        with pytest.raises(docker.errors.NotFound):
            orphan.reload()
        foreign.reload()  # not ours: left alone
        assert "unknown to the database" in server.log()
    finally:
        if foreign is not None:
            foreign.remove(force=True)
        with Daytona(server.config()) as daytona:
            for workspace in daytona.list():
                daytona.remove(workspace)
        stop_server(server)


def server_label(docker_client: docker.DockerClient, sandbox_id: str) -> str:
    (container,) = docker_client.containers.list(filters={"label": f"io.daytona.sandbox={sandbox_id}"})
    return str(container.labels["io.daytona.server"])
