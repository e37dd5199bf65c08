"""Stop, archive and restore keep a sandbox's filesystem whole; corruption is detected, never half-restored."""

from __future__ import annotations

import hashlib
from pathlib import Path

import docker
import pytest

from daytona_sdk import (
    Daytona,
    DaytonaConflictError,
    DaytonaError,
    Workspace,
    WorkspaceResources,
    WorkspaceState,
)

from ..support.server import RunningServer

# Builds a tree with every kind of change an archive must carry.
MAKE_TREE = """
set -e
mkdir -p /workspace/tree/deep/er /workspace/tree/empty
echo hello > /workspace/tree/a.txt
chmod 640 /workspace/tree/a.txt
chmod 700 /workspace/tree/deep
ln -s a.txt /workspace/tree/link
ln -s /no/where /workspace/tree/dangling
head -c 3000000 /dev/urandom > /workspace/tree/deep/er/random.bin
printf 'x%.0s' $(seq 1 1000) > /workspace/tree/deep/er/text
touch -d '2001-02-03 04:05:06' /workspace/tree/a.txt
rm /home/daytona/.bashrc          # a file of the image, deleted
echo changed >> /home/daytona/.profile   # a file of the image, changed
"""

# A fingerprint of everything that must survive: paths, types, modes, owners, sizes, mtimes,
# symlink targets and contents, over the whole root filesystem - less what Docker itself makes anew
# for each container: /etc/hostname, /etc/hosts, /etc/resolv.conf at every start, and its init layer
# (/.dockerenv, /etc/mtab, hence the mtime of /etc) for the new container of a restore.
FINGERPRINT = (
    "cd / && find / -xdev \\( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp"
    " -o -path /etc/hostname -o -path /etc/hosts -o -path /etc/resolv.conf \\) -prune"
    " -o -printf '%p %y %m %u %g %s %T@ %l\\n' 2>/dev/null | grep -v -E '^(/\\.dockerenv|/etc|/etc/mtab) '"
    " | sort | sha256sum"
    " && find /workspace /home/daytona -type f -exec sha256sum {} + | sort | sha256sum"
)


def fingerprint(workspace: Workspace) -> str:
    result = workspace.process.exec(FINGERPRINT)
    assert result.exit_code == 0, result.result
    return result.stdout


def test_archive_and_restore_keep_every_file(daytona: Daytona, docker_client: docker.DockerClient) -> None:
    workspace = daytona.create()
    try:
        assert workspace.process.exec(MAKE_TREE).exit_code == 0
        before = fingerprint(workspace)
        with pytest.raises(DaytonaConflictError, match="stop it first"):
            workspace.archive()
        workspace.stop()
        assert fingerprint_after_start(workspace) == before  # plain stop/start first
        workspace.stop()
        workspace.archive(wait=True)
        info = workspace.info()
        assert info.state == WorkspaceState.ARCHIVED
        archive = json_metadata(info.provider_metadata)["archive"]
        # Only the sandbox's own changes are stored (a few MB), not the ~900 MB image.
        assert 3_000_000 < archive["size"] < 20_000_000
        assert docker_client.containers.list(all=True, filters={"label": f"io.daytona.sandbox={workspace.id}"}) == []
        with pytest.raises(DaytonaConflictError, match="archived: start it first"):
            workspace.process.exec("true")
        with pytest.raises(DaytonaConflictError, match="already stopped"):
            workspace.stop()
        workspace.start(timeout=120)
        assert workspace.info().state == WorkspaceState.STARTED
        assert fingerprint(workspace) == before
        listing = workspace.process.exec("ls -l /home/daytona/.bashrc; readlink /workspace/tree/link").result
        assert "No such file" in listing and listing.endswith("a.txt\n")
    finally:
        daytona.remove(workspace)


def fingerprint_after_start(workspace: Workspace) -> str:
    workspace.start()
    return fingerprint(workspace)


def json_metadata(raw: str | None) -> dict[str, object]:
    import json

    assert raw
    return dict(json.loads(raw))


def test_flipped_byte_in_the_archive_is_detected(daytona: Daytona, server: RunningServer) -> None:
    workspace = daytona.create()
    try:
        workspace.process.exec("head -c 200000 /dev/urandom > /workspace/data")
        workspace.stop()
        workspace.archive(wait=True)
        (archive,) = (server.data_dir / "archives").glob(f"{workspace.id}/*.tar.zst")
        original = archive.read_bytes()
        corrupted = bytearray(original)
        corrupted[len(corrupted) // 2] ^= 0x01
        archive.write_bytes(bytes(corrupted))
        with pytest.raises(DaytonaError, match="archive corrupted: SHA-256"):
            workspace.start(timeout=60)
        info = workspace.info()
        assert info.state == WorkspaceState.ERROR
        assert "nothing was restored" in (info.error_reason or "")
        # Repaired, the same archive restores on the next start.
        archive.write_bytes(original)
        workspace.start(timeout=60)
        assert workspace.process.exec("wc -c < /workspace/data").result.strip() == "200000"
    finally:
        daytona.remove(workspace)


def test_resize_a_stopped_sandbox(daytona: Daytona, docker_client: docker.DockerClient) -> None:
    workspace = daytona.create()
    try:
        (container,) = docker_client.containers.list(filters={"label": f"io.daytona.sandbox={workspace.id}"})
        assert container.attrs["HostConfig"]["PidsLimit"] == 2048  # 1024 processes per GiB of memory
        with pytest.raises(DaytonaConflictError, match="stop it first"):
            workspace.resize(WorkspaceResources(cpu=2))
        workspace.stop()
        with pytest.raises(DaytonaError, match="disk cannot be changed"):
            workspace.resize(WorkspaceResources(disk=50))
        info = workspace.resize(WorkspaceResources(cpu=2, memory=1))
        assert (info.resources.cpu, info.resources.memory, info.state) == ("2", "1Gi", WorkspaceState.STOPPED)
        workspace.start()
        (container,) = docker_client.containers.list(filters={"label": f"io.daytona.sandbox={workspace.id}"})
        host = container.attrs["HostConfig"]
        assert (host["NanoCpus"], host["Memory"], host["PidsLimit"]) == (2_000_000_000, 1024**3, 1024)
        assert workspace.process.exec(
            "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max"
        ).result.strip() == str(1024**3)
    finally:
        daytona.remove(workspace)


def test_archive_files_are_written_crash_safely(daytona: Daytona, server: RunningServer) -> None:
    workspace = daytona.create()
    try:
        workspace.stop()
        workspace.archive(wait=True)
        archives = Path(server.data_dir / "archives")
        assert list(archives.glob("**/*.part")) == []  # no temp file left behind
        (stored,) = archives.glob(f"{workspace.id}/*.tar.zst")
        metadata = json_metadata(workspace.info().provider_metadata)["archive"]
        assert isinstance(metadata, dict)
        assert hashlib.sha256(stored.read_bytes()).hexdigest() == metadata["sha256"]
        daytona.remove(workspace)
        assert not stored.exists()  # deleting the sandbox deletes its archive
    finally:
        try:
            daytona.remove(workspace)
        except DaytonaError:
            pass
