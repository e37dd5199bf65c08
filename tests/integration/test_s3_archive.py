"""Archives in an S3-compatible store: a real S3 server (moto's standalone server) on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from daytona_sdk import Daytona, WorkspaceState

from ..support.server import free_port, start_server, stop_server

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "daytona-test", "AWS_SECRET_ACCESS_KEY": "daytona-test-secret"}


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    yield f"http://127.0.0.1:{port}"
    moto.stop()


def test_archive_and_restore_through_s3(s3_endpoint: str, tmp_path: Path) -> None:
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="sandboxes")
    env = {**CREDENTIALS, "DAYTONA_ARCHIVE_URL": f"s3://sandboxes/archives?endpoint={s3_endpoint}"}
    server = start_server(tmp_path / "data", "dtn_s3", env=env)
    try:
        with Daytona(server.config()) as daytona:
            workspace = daytona.create()
            workspace.process.exec(
                "head -c 2000000 /dev/urandom > /workspace/blob && sha256sum /workspace/blob > /workspace/sum"
            )
            workspace.stop()
            workspace.archive(wait=True)
            objects = s3.list_objects_v2(Bucket="sandboxes", Prefix=f"archives/{workspace.id}/")["Contents"]
            assert len(objects) == 1 and objects[0]["Size"] > 2_000_000
            assert not (tmp_path / "data" / "archives").exists()  # nothing kept locally
            workspace.start(timeout=120)
            assert workspace.info().state == WorkspaceState.STARTED
            assert workspace.process.exec("sha256sum -c /workspace/sum").exit_code == 0
            # Restored: the archive is no longer needed.
            assert s3.list_objects_v2(Bucket="sandboxes", Prefix=f"archives/{workspace.id}/").get("KeyCount") == 0
            daytona.remove(workspace)
    finally:
        stop_server(server)
