"""Volumes on the real server: `/api/volumes` over HTTP, as today's published SDK (`daytona` 0.226.1) uses it,
and the directory each volume is on the host."""

from __future__ import annotations

import os
import stat
import textwrap
import uuid
from pathlib import Path

import httpx

from ..support.server import RunningServer, run_current_sdk

SDK_SCRIPT = textwrap.dedent(
    """
    import sys
    from daytona import Daytona, DaytonaConfig, DaytonaNotFoundError
    daytona = Daytona(DaytonaConfig(api_key=sys.argv[1], api_url=sys.argv[2]))
    name = sys.argv[3]
    try:
        daytona.volume.get(name)
    except DaytonaNotFoundError:
        print("missing")
    volume = daytona.volume.get(name, create=True)
    print("created", volume.name, volume.state.value)
    print("again", daytona.volume.get(name).id == volume.id)
    print("listed", volume.id in [v.id for v in daytona.volume.list()])
    daytona.volume.delete(volume)
    print("deleted", name not in [v.name for v in daytona.volume.list()])
    """
)


def test_volume_crud_over_http_keeps_a_root_only_directory(server: RunningServer) -> None:
    headers = {"Authorization": f"Bearer {server.api_key}"}
    name = f"it-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
        created = http.post("/volumes", json={"name": name})
        assert created.status_code == 200, created.text
        volume = created.json()
        assert volume["name"] == name and volume["state"] == "ready" and volume["errorReason"] is None
        assert http.post("/volumes", json={"name": name}).status_code == 409
        assert http.get(f"/volumes/by-name/{name}").json()["id"] == volume["id"]
        assert volume["id"] in [v["id"] for v in http.get("/volumes").json()]
        path = Path(server.data_dir) / "volumes" / volume["id"]
        assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o777
        deleted = http.delete(f"/volumes/{volume['id']}")
        assert deleted.status_code == 200 and deleted.content == b""
        assert http.get(f"/volumes/{volume['id']}").status_code == 404
        assert not path.exists()


def test_todays_sdk_gets_creates_lists_and_deletes_volumes(server: RunningServer, tmp_path: Path) -> None:
    name = f"sdk-{uuid.uuid4().hex[:8]}"
    lines = run_current_sdk(SDK_SCRIPT, tmp_path, server.api_key, server.url, name)
    assert lines == ["missing", f"created {name} ready", "again True", "listed True", "deleted True"]
