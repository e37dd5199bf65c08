"""How the Docker runtime decides whether disk sizes are enforced, and what it asks Docker for.

The engine is a stand-in here (its answers are Docker's documented ones); the integration test
test_disk_quota.py writes past a real limit on the project's btrfs engine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import docker.errors
import pytest

from daytona_server.runner.base import RuntimeFailure, SandboxSpec
from daytona_server.runner.docker_runtime import DockerRuntime


class FakeImage:
    id = "sha256:feed"
    attrs = {"Size": 900 * 1024**2}


class FakeCollection:
    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine

    def get(self, name: str) -> FakeImage:
        return FakeImage()

    def list(self, **kwargs: Any) -> list[Any]:
        return [FakeImage()]

    def create(self, *args: Any, **kwargs: Any) -> Any:
        self.engine.created.append(kwargs)
        if self.engine.refuse:
            raise docker.errors.APIError("refused", explanation=self.engine.refuse)
        return self  # the "container": only remove() is used

    def remove(self, **kwargs: Any) -> None:
        self.engine.removed += 1


class FakeEngine:
    def __init__(self, driver: str, backing: str = "extfs", refuse: str = "") -> None:
        self.driver, self.backing, self.refuse = driver, backing, refuse
        self.created: list[dict[str, Any]] = []
        self.removed = 0
        self.images = self.containers = FakeCollection(self)

    def ping(self) -> bool:
        return True

    def info(self) -> dict[str, Any]:
        return {
            "Driver": self.driver,
            "DockerRootDir": "/var/lib/engine",
            "DriverStatus": [["Backing Filesystem", self.backing]],
        }


def runtime(engine: FakeEngine, tmp_path: Path) -> DockerRuntime:
    return DockerRuntime("unit", tmp_path, client=engine)  # type: ignore[arg-type]


def test_btrfs_enforces_image_size_plus_disk(tmp_path: Path) -> None:
    engine = FakeEngine("btrfs")
    rt = runtime(engine, tmp_path)
    assert rt.disk_quota()[0] is True
    with pytest.raises(RuntimeFailure, match="cannot create the container: no space"):
        engine.refuse = "no space"
        rt.create(SandboxSpec(sandbox_id="s1", image="img", os_user="daytona", disk_gb=1))
    assert len(engine.created) == 1  # a failure is an error, never a retry without the limit
    assert engine.created[0]["storage_opt"] == {"size": f"{900 + 1024}M"}


def test_overlay2_elsewhere_than_xfs_is_not_enforced(tmp_path: Path) -> None:
    engine = FakeEngine("overlay2", "extfs")
    enforced, reason = runtime(engine, tmp_path).disk_quota()
    assert not enforced and "overlay2 on extfs" in reason and "make docker" in reason
    assert engine.created == []


def test_overlay2_on_xfs_is_probed(tmp_path: Path) -> None:
    refused = FakeEngine("overlay2", "xfs", refuse="--storage-opt is supported only for overlay over xfs with 'pquota'")
    enforced, reason = runtime(refused, tmp_path).disk_quota()
    assert not enforced and "pquota" in reason and "make docker" in reason
    accepted = FakeEngine("overlay2", "xfs")
    assert runtime(accepted, tmp_path).disk_quota()[0] is True
    assert accepted.created[0]["storage_opt"] == {"size": "1G"} and accepted.removed == 1
