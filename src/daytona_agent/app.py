"""The agent's routes: what the host server's toolbox proxy forwards to (0.14's and today's paths)."""

from __future__ import annotations

import os

from . import (
    __version__,
    bulk_files,
    code_run,
    env_store,
    fs,
    git,
    git_current,
    interpreter_routes,
    lsp,
    preview,
    process,
    pty_routes,
    session_routes,
    system_info,
)
from .http import Request, Response, Router
from .users import OsUser


def build_router(user: OsUser) -> Router:
    router = Router()

    @router.route("GET", "/health")
    def health(request: Request) -> Response:
        return Response(200, {"status": "ok", "version": __version__, "pid": os.getpid(), "user": user.name})

    @router.route("GET", "/project-dir")
    def project_dir(request: Request) -> Response:
        return Response(200, {"dir": user.home})

    router.route("POST", "/process/execute")(process.execute_handler(user))
    router.route("POST", "/process/code-run")(code_run.handler(user))
    sessions = session_routes.install(router, user)
    sessions.busy_sources.append(pty_routes.install(router, user).alive)
    interpreter_routes.register(router, user)
    preview.register(router)
    lsp.register(router, user)
    fs.register(router, user)
    bulk_files.register(router, user)
    git.register(router, user)
    git_current.register(router, user)
    system_info.register(router, user)
    env_store.register(router, lambda: process.base_env(user))
    return router
