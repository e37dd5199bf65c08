"""Preview links: `http://{port}-{sandbox id}.{preview domain}/...` is relayed to that port inside the sandbox.

The server recognises preview requests by their Host header, so it needs a wildcard DNS name (or
`*.localhost`, which browsers resolve to loopback) pointing at it. Private sandboxes need the owner's
API key (`Authorization: Bearer`) or the sandbox's preview token (`X-Daytona-Preview-Token` header,
or a `DAYTONA_SANDBOX_AUTH_KEY` query parameter); public ones need nothing. A signed link
(`{port}-{token}.{domain}`, see daytona_server.previews) needs nothing until it expires.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from .. import auth
from ..db.models import Sandbox
from ..errors import ApiError, BadRequest, Conflict, NotFound, Unauthorized
from .errors import error_response

TOKEN_HEADER = "x-daytona-preview-token"
TOKEN_QUERY = "DAYTONA_SANDBOX_AUTH_KEY"
# What a preview WebSocket passes on to the app (besides its own handshake headers).
_WS_FORWARD = {"origin", "cookie", "user-agent", "accept-language"}
_LABEL = re.compile(r"^(?P<port>\d{1,5})-(?P<id>[A-Za-z0-9][A-Za-z0-9_.-]{0,62})$")


def load_secret(data_dir: Path) -> bytes:
    """The server's key for preview tokens, made once and kept 0600 in the data dir."""
    path = data_dir / "preview-secret"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return bytes.fromhex(path.read_text().strip())


def preview_token(secret: bytes, sandbox_id: str) -> str:
    return hmac.new(secret, f"preview:{sandbox_id}".encode(), hashlib.sha256).hexdigest()[:40]


def parse_host(host: str, domain: str) -> tuple[int, str] | None:
    """(port, sandbox id) when `host` is `{port}-{id}.{domain}`."""
    host, domain = host.lower(), domain.lower()
    suffix = "." + domain
    if not host.endswith(suffix):
        # Accept the domain with or without the server's port.
        bare = domain.split(":")[0]
        if not host.split(":")[0].endswith("." + bare):
            return None
        label = host.split(":")[0][: -len(bare) - 1]
    else:
        label = host[: -len(suffix)]
    match = _LABEL.match(label)
    if not match:
        return None
    return int(match["port"]), match["id"]


class PreviewMiddleware:
    """Routes requests whose Host names a sandbox port to that port; lets everything else through."""

    def __init__(self, app: ASGIApp, fastapi_app: FastAPI) -> None:
        self.app = app
        self.fastapi_app = fastapi_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            state = self.fastapi_app.state.server
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
            target = parse_host(host, state.settings.node_domain) if host else None
            if target is not None and scope["type"] == "websocket":
                await self._preview_websocket(WebSocket(scope, receive, send), *target)
                return
            if target is not None:
                response = await self._preview(Request(scope, receive), *target)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _preview_websocket(self, websocket: WebSocket, port: int, sandbox_id: str) -> None:
        """A WebSocket to the port (dev servers' reload, Jupyter kernels), with the same rules as HTTP."""
        from .toolbox_ws import deny, open_agent, relay

        state = self.fastapi_app.state.server
        outcome = (
            await run_in_threadpool(self._check, websocket, port, sandbox_id)
            if 1 <= port <= 65535
            else BadRequest("preview port must be between 1 and 65535")
        )
        if isinstance(outcome, ApiError):
            await deny(websocket, outcome)
            return
        raw_path = (websocket.scope.get("raw_path") or websocket.url.path.encode()).decode("latin-1")
        query = websocket.scope.get("query_string", b"").decode("latin-1")
        target = f"/preview/{port}{raw_path}" + (f"?{query}" if query else "")
        forwarded = {k: v for k, v in websocket.headers.items() if k.lower() in _WS_FORWARD}
        agent = await open_agent(state, outcome, target, websocket, headers=forwarded)
        if agent is None:
            return
        await websocket.accept(subprotocol=agent.subprotocol)
        await relay(websocket, agent)

    async def _preview(self, request: Request, port: int, sandbox_id: str) -> Response:
        from .toolbox import relay_to_agent

        state = self.fastapi_app.state.server
        if not 1 <= port <= 65535:
            return error_response(400, "preview port must be between 1 and 65535")
        outcome = await run_in_threadpool(self._check, request, port, sandbox_id)
        if isinstance(outcome, ApiError):
            return error_response(outcome.status, outcome.message)
        sandbox_id = outcome
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        try:
            return await relay_to_agent(
                state, sandbox_id, f"preview/{port}{raw_path.decode('latin-1')}", request, track=False, raw=True
            )
        except ApiError as exc:
            return error_response(exc.status, exc.message)

    def _check(self, request: HTTPConnection, port: int, sandbox_id: str) -> ApiError | str:
        """Who may pass, asked before anything about the sandbox is told: a stranger learns nothing.

        Returns the problem, or the id of the sandbox to relay to.
        """
        state = self.fastapi_app.state.server
        with state.db.session() as session:
            sandbox = session.get(Sandbox, sandbox_id)
            signed = state.previews.sandbox_of(sandbox_id, port) if sandbox is None else None
            if signed is not None:  # a signed link: the host names a live token, no header needed
                sandbox = session.get(Sandbox, signed)
                if sandbox is None:
                    return NotFound(f"sandbox {signed} not found")
                if sandbox.state != "started":
                    return Conflict(f"sandbox {signed} is {sandbox.state}: start it to use its preview links")
                return signed
            token = request.headers.get(TOKEN_HEADER) or request.query_params.get(TOKEN_QUERY)
            bearer = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            user = auth.authenticate(session, bearer) if bearer else None
            # The token is made for this id: it proves nothing for a missing sandbox.
            expected = preview_token(state.preview_secret, sandbox_id)
            token_ok = token is not None and hmac.compare_digest(token, expected)
            owner_ok = (
                sandbox is not None and user is not None and (user.role == "admin" or user.id == sandbox.owner_id)
            )
            if not ((sandbox is not None and sandbox.public) or token_ok or owner_ok):
                if user is not None:
                    return NotFound(f"sandbox {sandbox_id} not found")
                return Unauthorized(
                    f"sandbox {sandbox_id} is private: send its preview token ({TOKEN_HEADER}) or an API key"
                )
            if sandbox is None:
                return NotFound(f"sandbox {sandbox_id} not found")
            if sandbox.state != "started":
                return Conflict(f"sandbox {sandbox_id} is {sandbox.state}: start it to use its preview links")
            return str(sandbox.id)
