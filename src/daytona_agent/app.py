"""The agent's routes: what the host server's toolbox proxy forwards to (0.14's and today's paths).

Each feature's modules are imported at the first request for a path under one of its prefixes
(`Router.lazy`): an idle agent holds the HTTP server and the two routes below, nothing more.
"""

from __future__ import annotations

import importlib
import os
import time

from . import __version__
from .http import Request, Response, Router

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Tuple

    from .users import OsUser

# (path prefixes, functions): each function, "module.name" in this package, takes (router, user) and
# adds its routes, all under the prefixes (a test checks).
FEATURES = (
    (("/process/execute",), ("process.register",)),
    (("/process/code-run",), ("code_run.register",)),
    (("/process/pty",), ("pty_routes.install",)),
    (("/process/interpreter",), ("interpreter_routes.register",)),
    (("/preview/",), ("preview.register",)),
    (("/lsp/",), ("lsp.register",)),
    (("/files",), ("fs.register", "bulk_files.register")),
    (("/git/",), ("git.register", "git_current.register")),
    (("/user-home-dir", "/work-dir", "/version", "/system/", "/port"), ("system_info.register",)),
    (("/env",), ("env_store.register",)),
)
# Sessions also count the terminals of the PTY feature as activity (see build_router).
SESSIONS = (("/process/session", "/activity"), ("session_routes.install",))


def loader(user: OsUser, functions: Tuple[str, ...]) -> Callable[[Router], Any]:
    """A feature's `load`: import each function's module and call it; the last one's result (its state)."""

    def load(router: Router) -> Any:
        result = None
        for function in functions:
            module, _, name = function.partition(".")
            result = getattr(importlib.import_module("." + module, __package__), name)(router, user)
        return result

    return load


def build_router(user: OsUser) -> Router:
    router = Router()
    started = time.time()

    @router.route("GET", "/health")
    def health(request: Request) -> Response:
        return Response(200, {"status": "ok", "version": __version__, "pid": os.getpid(), "user": user.name})

    @router.route("GET", "/project-dir")
    def project_dir(request: Request) -> Response:
        return Response(200, {"dir": user.home})

    features = {}
    for prefixes, functions in FEATURES:
        features[functions] = router.lazy(prefixes, loader(user, functions))
    pty = features[("pty_routes.install",)]

    def sessions(router: Router) -> Any:
        manager = loader(user, SESSIONS[1])(router)
        manager.last_activity = started  # as if made at start, as it was before it was loaded late
        manager.busy_sources.append(lambda: pty.value.alive() if pty.loaded else 0)
        return manager

    router.lazy(SESSIONS[0], sessions)
    return router
