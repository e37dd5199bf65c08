"""A real server in a subprocess (`daytona server`), for the integration, security and browser tests.

The fixture that starts the shared one is tests/conftest.py's `server`; these are the helpers it
shares with the tests and conftests that start servers of their own (tests/browser, restarts...).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from daytona_sdk import DaytonaConfig

ROOT = Path(__file__).resolve().parents[2]  # the repository
DAYTONA = Path(sys.executable).parent / "daytona"
OFFICIAL_PYTHON = ROOT / ".venv-official" / "bin" / "python"  # daytona-sdk 0.10.0, the seed's
CURRENT_PYTHON = ROOT / ".venv-current" / "bin" / "python"  # daytona 0.226.1, today's


def _run_sdk(python: Path, target: str, script: str, tmp_path: Path, args: tuple[str, ...]) -> list[str]:
    if not python.exists():
        pytest.fail(f"the official SDK venv {python.parents[1].name} is missing: run `make {target}` (make test does)")
    path = tmp_path / f"{target}_script.py"
    path.write_text(script)
    done = subprocess.run([str(python), str(path), *args], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.splitlines()


def run_official_sdk(script: str, tmp_path: Path, *args: str) -> list[str]:
    """Run `script` with the seed's published Daytona SDK (its own venv: it has our import name); return its lines."""
    return _run_sdk(OFFICIAL_PYTHON, "official-sdk", script, tmp_path, args)


def run_current_sdk(script: str, tmp_path: Path, *args: str) -> list[str]:
    """Run `script` with today's published Daytona SDK (`daytona` 0.226.1, a venv of its own); return its lines."""
    return _run_sdk(CURRENT_PYTHON, "current-sdk", script, tmp_path, args)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningServer:
    url: str
    api_key: str
    data_dir: Path
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] | None = None  # what start_server was given, to start it again the same way

    def config(self, api_key: str | None = None) -> DaytonaConfig:
        return DaytonaConfig(api_key=api_key or self.api_key, server_url=self.url, target="us")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_server(
    data_dir: Path, api_key: str, port: int | None = None, env: dict[str, str] | None = None
) -> RunningServer:
    port = port or free_port()
    log_path = data_dir.parent / f"server-{port}.log"
    extra = env
    env = {
        **os.environ,
        "DAYTONA_BOOTSTRAP_API_KEY": api_key,
        "DAYTONA_NETWORK": "off",  # test sandboxes have no network, unless a test gives them its own
        # No warm pool, unless a test asks for one: its members would be made beside every test's sandboxes.
        "DAYTONA_POOL_SIZE": "0",
        **(env or {}),
    }
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [str(DAYTONA), "server", "--port", str(port), "--data-dir", str(data_dir)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    server = RunningServer(f"http://127.0.0.1:{port}/api", api_key, data_dir, port, process, log_path, extra)
    deadline = time.monotonic() + 600  # the first start may build the default image
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.log()}")
        try:
            if httpx.get(f"{server.url}/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"server did not become healthy:\n{server.log()}")


def stop_server(server: RunningServer, sig: int = signal.SIGTERM) -> None:
    if server.process.poll() is None:
        server.process.send_signal(sig)
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
