"""A sandbox's `disk` is a hard limit: writing past it fails with EDQUOT, and nothing else suffers."""

from __future__ import annotations

import httpx

from daytona_sdk import CreateWorkspaceParams, Daytona, WorkspaceResources

from ..support.server import RunningServer

GiB = 1024**3
# 3 GB at most, whatever happens; dd's own error line, then how much it got to write.
FILL = "dd if=/dev/zero of=/workspace/fill bs=1M count=3072 status=none; echo rc=$?; stat -c %s /workspace/fill"


def test_writing_past_the_disk_size_fails_and_others_keep_working(daytona: Daytona, server: RunningServer) -> None:
    health = httpx.get(f"{server.url}/health").json()
    assert health["diskQuota"]["enforced"] is True, health  # the project's engine: btrfs with quotas
    small = daytona.create(CreateWorkspaceParams(resources=WorkspaceResources(disk=1)))
    other = None
    try:
        result = small.process.exec(FILL, timeout=300)
        *messages, rc, size = result.result.strip().splitlines()
        # btrfs qgroups answer EDQUOT, not ENOSPC.
        assert rc == "rc=1" and any("Disk quota exceeded" in line for line in messages), result.result
        assert 0.75 * GiB < int(size) < 1.2 * GiB, size  # about its disk size, never the 3 GB asked for
        other = daytona.create()
        assert other.process.exec("echo fine").result == "fine\n"
        assert httpx.get(f"{server.url}/health").status_code == 200
        # Space freed is space usable again.
        assert small.process.exec(
            "rm /workspace/fill && echo ok > /workspace/after && cat /workspace/after"
        ).result == ("ok\n")
    finally:
        daytona.remove(small)
        if other is not None:
            daytona.remove(other)
