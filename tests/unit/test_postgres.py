"""The database layer on a real PostgreSQL server (started here, on loopback, in a temp dir)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from daytona_server.api.app import create_app
from daytona_server.config import Settings
from daytona_server.main import bootstrap

from ..support.accounts import KEY
from ..support.server import free_port
from ..support.stub_runtime import StubRuntime


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.fail("PostgreSQL is not installed: `make test` installs it (Debian package postgresql)")
    return Path(found[-1]).parent


def _as_postgres(args: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root.
    return ["runuser", "-u", "postgres", "--", *args] if os.getuid() == 0 else args


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    bin_dir = _pg_bin()
    # Not under pytest's tmp dir: the postgres user must be able to reach it.
    base = Path(tempfile.mkdtemp(prefix="daytona-pg-"))
    data = base / "data"
    if os.getuid() == 0:
        shutil.chown(base, "postgres")
    subprocess.run(
        _as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-U", "daytona", "--auth=trust"]),
        check=True,
        capture_output=True,
        cwd=base,
    )
    port = free_port()
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1"
    start = [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "start", "-o", options]
    subprocess.run(_as_postgres(start), check=True, capture_output=True, cwd=base)
    try:
        deadline = time.monotonic() + 30
        while subprocess.run([str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)]).returncode != 0:
            assert time.monotonic() < deadline, "PostgreSQL did not start"
            time.sleep(0.2)
        yield f"postgresql+psycopg://daytona@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]), cwd=base)
        shutil.rmtree(base, ignore_errors=True)


async def test_server_runs_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=postgres_url, bootstrap_api_key=KEY)
    bootstrap(settings)
    bootstrap(settings)  # a second start finds the schema and the key in place
    app = create_app(settings, StubRuntime())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test/api",
        headers={"Authorization": f"Bearer {KEY}"},
    ) as client:
        created = await client.post("/workspace", json={"id": "pg1", "env": {"A": "1"}, "labels": {"k": "v"}})
        assert created.status_code == 200, created.text
        listed = (await client.get("/workspace", params={"labels": '{"k": "v"}'})).json()
        assert [(w["id"], w["env"]) for w in listed] == [("pg1", {"A": "1"})]
        assert (await client.post("/workspace", json={"id": "pg1"})).status_code == 409
        assert (await client.post("/workspace/pg1/stop")).status_code == 200
        assert (await client.delete("/workspace/pg1")).status_code == 200
        assert (await client.get("/workspace/pg1")).status_code == 404
