"""The web dashboard: static HTML, CSS and ES modules served at `/`, talking to the REST API under /api.

No build step and no CDN: everything the browser loads comes from `static/`; the one third-party library,
xterm.js for the terminal, is copied from npm into `static/vendor/` by `make dashboard-assets`.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.responses import Response
from starlette.routing import Match, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).parent / "static"

# The dashboard loads only its own files and talks only to its own origin. Inline styles are allowed
# because xterm.js writes its theme into <style> elements and style attributes; scripts stay 'self'
# only, and every directive that could load a URL (a style's too) stays on this origin.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}


class DashboardFiles(StaticFiles):
    """StaticFiles that adds the dashboard's security headers to every answer."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(SECURITY_HEADERS)
        return response


class DashboardMount(Mount):
    """A mount at `/` that never claims `/api` paths.

    So an API path with the wrong method still answers 405 and an unknown one the JSON 404 of the
    API router, instead of being swallowed by the static files.
    """

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = scope.get("path", "")
        if path == "/api" or path.startswith("/api/"):
            return Match.NONE, {}
        return super().matches(scope)


def mount_dashboard(app: FastAPI) -> None:
    """Serve the dashboard at `/`; call after every API router is included."""
    app.router.routes.append(DashboardMount("/", app=DashboardFiles(directory=STATIC_DIR, html=True), name="dashboard"))
