"""A stand-in runtime for whole-API tests: StubRuntime plus a fake Docker image store and a real agent.

`ApiRuntime` answers the image calls of the API from a dict (no Docker engine), and can route one
sandbox's toolbox to a real agent router (daytona_agent) served on a unix socket in a temp dir, so
that the statuses the toolbox relays are the agent's own. The agent runs as the test's user with
its home in the temp dir; only the fixed, well-formed requests of the tests reach it.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import docker.errors

from daytona_agent import fs, git, process, session_routes
from daytona_agent.http import Request, Response, Router, UnixHTTPServer, _make_handler
from daytona_agent.sessions import SessionManager
from daytona_agent.users import OsUser

from .test_server_api import StubRuntime


class _FakeImage:
    def __init__(self, name: str) -> None:
        self.tags = [name]
        self.attrs = {"Size": 512 * 1024**2, "Config": {}}

    def tag(self, repository: str, tag: str) -> None:
        pass


class _FakeImages:
    def __init__(self) -> None:
        self.names = {"daytona-sandbox:latest", "daytona-sandbox-extra:1"}

    def get(self, name: str) -> _FakeImage:
        if name not in self.names:
            raise docker.errors.ImageNotFound(f"No such image: {name}")
        return _FakeImage(name)

    def load(self, tarball: Any) -> list[_FakeImage]:
        raise docker.errors.APIError("not a docker save tarball (the fake engine loads none)")

    def remove(self, name: str, **_: Any) -> None:
        self.names.discard(name)


class _FakeContainers:
    def run(self, *_: Any, **__: Any) -> bytes:
        return b""


class _FakeApi:
    def build(self, **_: Any) -> Iterator[dict[str, Any]]:
        yield {"error": "the fake engine builds nothing"}


class FakeDocker:
    """The few calls the image routes make of a docker.DockerClient."""

    def __init__(self) -> None:
        self.images = _FakeImages()
        self.containers = _FakeContainers()
        self.api = _FakeApi()


class ApiRuntime(StubRuntime):
    network = "none"

    def __init__(self) -> None:
        super().__init__()
        self.client = FakeDocker()
        self.agent_sockets: dict[str, Path] = {}

    def agent_socket(self, sandbox_id: str) -> Path:
        return self.agent_sockets.get(sandbox_id, super().agent_socket(sandbox_id))

    def update_resources(self, sandbox_id: str, cpu: int, memory_gb: int) -> None:
        pass

    def export_changes(self, sandbox_id: str, out: BinaryIO, progress: Any = None) -> tuple[str, int]:
        data = b"changes of " + sandbox_id.encode()
        out.write(data)
        return hashlib.sha256(data).hexdigest(), len(data)

    def import_changes(self, sandbox_id: str, archive: Path, progress: Any = None) -> None:
        pass

    def supports_gpu(self) -> bool:
        return False

    def disk_quota(self) -> tuple[bool, str]:
        return False, "the stand-in runtime has no disks"


def agent_router(home: Path) -> tuple[Router, SessionManager]:
    """The agent's toolbox routes (no language servers, no preview) as the current user, home at `home`."""
    entry = pwd.getpwuid(os.getuid())
    user = OsUser(entry.pw_name, entry.pw_uid, entry.pw_gid, str(home), "/bin/sh", [])
    router = Router()

    @router.route("GET", "/project-dir")
    def project_dir(request: Request) -> Response:
        return Response(200, {"dir": user.home})

    router.route("POST", "/process/execute")(process.execute_handler(user))
    router.route("POST", "/process/code-run")(process.code_run_handler(user))
    manager = SessionManager(user, root=str(home / ".sessions"), log_cap=1 << 20)
    session_routes.register(router, manager)
    fs.register(router, user)
    git.register(router, user)
    return router, manager


@contextmanager
def serve_agent(socket_path: Path, home: Path) -> Iterator[None]:
    """Serve the agent's routes on `socket_path` for the duration of the block."""
    home.mkdir(parents=True, exist_ok=True)
    router, manager = agent_router(home)
    server = UnixHTTPServer(str(socket_path), _make_handler(router))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        manager.shutdown()
        thread.join(5)
