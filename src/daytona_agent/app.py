"""The agent's routes: what the host server's toolbox proxy forwards to."""

from __future__ import annotations

import os

from . import __version__, fs, git, lsp, preview, process, session_routes
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
    router.route("POST", "/process/code-run")(process.code_run_handler(user))
    session_routes.install(router, user)
    preview.register(router)
    lsp.register(router, user)
    fs.register(router, user)
    git.register(router, user)
    return router
