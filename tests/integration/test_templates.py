"""Our SDK under today's names: snapshots (declarative builds), volumes shared by sandboxes, fork, sandbox snapshot."""

from __future__ import annotations

import pytest

from daytona_sdk import (
    CreateWorkspaceParams,
    Daytona,
    DaytonaConflictError,
    DaytonaError,
    DaytonaNotFoundError,
    VolumeMount,
    Workspace,
)

from ..support.server import RunningServer


def test_snapshot_volume_and_fork(server: RunningServer) -> None:
    made: list[Workspace] = []
    with Daytona(server.config()) as daytona:
        try:
            recipe = "FROM daytona-sandbox:0.1.0\nRUN echo ours > /ours.txt\n"
            logs: list[str] = []
            snapshot = daytona.snapshot.create("our-template", dockerfile=recipe, on_logs=logs.append)
            assert snapshot.state == "active" and any("Built" in line for line in logs)
            assert "our-template" in [s.name for s in daytona.snapshot.list()]
            one = daytona.create(CreateWorkspaceParams(snapshot="our-template"))
            made.append(one)
            assert one.process.exec("cat /ours.txt").result.strip() == "ours"

            volume = daytona.volume.get("our-volume", create=True)
            assert daytona.volume.get("our-volume").id == volume.id
            mounts = [VolumeMount(volume_id=volume.id, mount_path="/data")]
            writer = daytona.create(CreateWorkspaceParams(volumes=mounts))
            reader = daytona.create(
                CreateWorkspaceParams(volumes=[VolumeMount(volume_id="our-volume", mount_path="/v")])
            )
            made += [writer, reader]
            writer.process.exec("echo shared > /data/note.txt")
            assert reader.process.exec("cat /v/note.txt").result.strip() == "shared"
            with pytest.raises(DaytonaConflictError):
                daytona.volume.delete(volume)

            one.process.exec("echo before > /home/daytona/f.txt")
            fork = one.fork()
            made.append(fork)
            one.process.exec("echo after > /home/daytona/f.txt")
            assert fork.process.exec("cat /home/daytona/f.txt /ours.txt").result.split() == ["before", "ours"]
            one.create_snapshot("our-copy")
            assert daytona.snapshot.get("our-copy").source_sandbox_id == one.id
            with pytest.raises(DaytonaConflictError):
                daytona.snapshot.delete("our-template")

            one.stop()
            with pytest.raises(DaytonaConflictError):
                one.fork()
            with pytest.raises(DaytonaError):
                daytona.create(CreateWorkspaceParams(snapshot="no-such-snapshot"))
            with pytest.raises(DaytonaError):
                daytona.snapshot.create("bad", dockerfile="FROM daytona-sandbox:0.1.0\nRUN exit 3\n")
        finally:
            for workspace in made:
                daytona.remove(workspace)
        daytona.volume.delete(volume)
        with pytest.raises(DaytonaNotFoundError):
            daytona.volume.get("our-volume")
        daytona.snapshot.delete("our-copy")
        daytona.snapshot.delete("our-template")
