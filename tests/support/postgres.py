"""A real PostgreSQL server for a test module: initdb in a temp dir, on loopback, stopped afterwards."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from .server import free_port


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.fail("PostgreSQL is not installed: `make test` installs it (Debian package postgresql)")
    return Path(found[-1]).parent


def _as_postgres(args: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root.
    return ["runuser", "-u", "postgres", "--", *args] if os.getuid() == 0 else args


@contextmanager
def running_postgres() -> Iterator[str]:
    """Yield its SQLAlchemy URL."""
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
