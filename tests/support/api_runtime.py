"""A stand-in runtime for whole-API tests: StubRuntime plus a real agent.

`ApiRuntime` is StubRuntime (containers in a dict, images in StubImages, no Docker engine) that can
route one sandbox's toolbox to a real agent router (daytona_agent) served on a unix socket in a temp
dir, so that the statuses the toolbox relays are the agent's own. The agent runs as the test's user with
its home in the temp dir; only the fixed, well-formed requests of the tests reach it.
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from daytona_agent import code_run, fs, git, process, session_routes
from daytona_agent.http import Request, Response, Router
from daytona_agent.sessions import SessionManager
from daytona_agent.users import OsUser

from .agent_server import serving
from .stub_runtime import StubRuntime


class ApiRuntime(StubRuntime):
    """StubRuntime whose sandboxes in `agent_sockets` answer through a real agent (see serve_agent)."""

    def __init__(self) -> None:
        super().__init__()
        self.agent_sockets: dict[str, Path] = {}

    def agent_socket(self, sandbox_id: str) -> Path:
        return self.agent_sockets.get(sandbox_id, super().agent_socket(sandbox_id))

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

    process.register(router, user)
    code_run.register(router, user)
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
    try:
        with serving(router, socket_path):
            yield
    finally:
        manager.shutdown()
