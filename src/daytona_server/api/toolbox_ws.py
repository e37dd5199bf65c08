"""WebSockets through the toolbox proxy: the caller's WebSocket relayed to the agent's, message by message.

Today's SDKs stream session logs, PTY terminals and the interpreter over WebSockets under the
toolbox paths (`{toolboxProxyUrl}/{id}/process/...`). The server authenticates the upgrade (API key,
or the dashboard's session cookie from its own origin), checks the sandbox as for any toolbox call,
opens a WebSocket to the agent over its socket with the caller's subprotocols, and only then
accepts the caller's, with the subprotocol the agent chose. An agent that refuses (unknown PTY,
a second attach) gets its HTTP answer passed back. Close codes travel both ways; while the
connection is open it counts as activity, so an attached terminal keeps its sandbox up.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable
from urllib.parse import quote, urlsplit

import websockets
from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection

from ..db.models import User
from ..errors import ApiError, BadGateway, Forbidden, Unauthorized
from .deps import SESSION_COOKIE, ServerState, user_by
from .errors import error_response

MAX_MESSAGE = 4 * 1024 * 1024  # as the agent (daytona_agent.websocket)
WIRE_HEADER = "x-daytona-toolbox-wire"
# Codes a close frame may not carry: the relay reports "went away" as an error end instead.
_UNSENDABLE = {1005, 1006, 1015}


async def websocket_user(websocket: WebSocket, state: ServerState) -> User:
    """The caller of an upgrade: by API key, or by the dashboard's cookie when the page is this server's."""
    header = websocket.headers.get("authorization", "")
    key = header[7:].strip() if header.lower().startswith("bearer ") else ""
    cookie = websocket.cookies.get(SESSION_COOKIE, "")
    if not key and not cookie:
        raise Unauthorized("missing API key: send `Authorization: Bearer <api key>`")
    if not key:
        # Browsers send cookies on cross-site WebSockets too: only this server's own pages may use them.
        origin = urlsplit(websocket.headers.get("origin", ""))
        if origin.netloc != websocket.headers.get("host"):
            raise Forbidden("a WebSocket with the dashboard's session must come from the dashboard's origin")

    return await user_by(state, key, cookie)


async def _refuse(websocket: WebSocket, response: Response) -> None:
    """Refuse the upgrade with an HTTP answer (where the ASGI server can), else a close before accept."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(response)
    else:
        status = response.status_code
        await websocket.close(code=4000 + status if 400 <= status < 600 else 1011)


async def deny(websocket: WebSocket, error: ApiError) -> None:
    """Refuse the upgrade with the API's JSON error."""
    await _refuse(websocket, error_response(error.status, error.message))


async def open_agent(
    state: ServerState, sandbox_id: str, target: str, websocket: WebSocket, headers: dict[str, str]
) -> ClientConnection | None:
    """The agent's WebSocket at `target` (path and query), with the caller's subprotocols; None when it
    refused or could not be reached, the caller's upgrade then refused with the reason."""
    try:
        sock: socket.socket = await run_in_threadpool(state.agents.connect, sandbox_id)
        sock.setblocking(False)
        return await websockets.connect(
            "ws://agent" + target,
            sock=sock,
            subprotocols=websocket.scope.get("subprotocols") or None,
            additional_headers=headers,
            max_size=MAX_MESSAGE,
            ping_interval=None,  # the agent is on this host; the caller's side keeps its own pings
            compression=None,
            open_timeout=15,
            close_timeout=5,
        )
    except websockets.InvalidStatus as exc:  # the agent (or the app behind a preview) said no: pass it on
        answer = exc.response
        content_type = answer.headers.get("Content-Type", "")
        await _refuse(websocket, Response(bytes(answer.body or b""), answer.status_code, media_type=content_type))
    except (TimeoutError, OSError, websockets.InvalidHandshake) as exc:
        name = exc.__class__.__name__
        await deny(websocket, BadGateway(f"the agent of sandbox {sandbox_id} did not answer ({name}); try again"))
    return None


async def relay(websocket: WebSocket, agent: ClientConnection) -> None:
    """Messages both ways until one side closes; its close code goes to the other."""

    async def upstream() -> None:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                code = message.get("code") or 1000
                await agent.close(code=1000 if code in _UNSENDABLE else code)
                return
            data = message.get("bytes")
            await agent.send(data if data is not None else message.get("text") or "")

    async def downstream() -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for data in agent:
                if isinstance(data, bytes):
                    await websocket.send_bytes(data)
                else:
                    await websocket.send_text(data)
        code = agent.close_code if agent.close_code is not None else 1011
        reason = agent.close_reason or ("" if code not in _UNSENDABLE else "the sandbox agent went away")
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(code=1011 if code in _UNSENDABLE else code, reason=reason)

    tasks = [asyncio.create_task(upstream()), asyncio.create_task(downstream())]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            with contextlib.suppress(WebSocketDisconnect, websockets.ConnectionClosed, RuntimeError):
                task.result()
        if tasks[0] in done:  # the caller left: let the agent's close finish, then stop
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(tasks[1]), 5)
    finally:
        for task in tasks:
            task.cancel()
        await agent.close()


def websocket_endpoint(wire: str) -> Callable[[WebSocket, str, str], object]:
    async def relay_websocket(websocket: WebSocket, workspace_id: str, path: str) -> None:
        state: ServerState = websocket.app.state.server
        try:
            user = await websocket_user(websocket, state)
            if not state.sandboxes.toolbox_allowed(user, workspace_id):  # from memory, else the database
                await run_in_threadpool(state.sandboxes.for_toolbox, user, workspace_id)
        except ApiError as exc:
            await deny(websocket, exc)
            return
        query = websocket.scope.get("query_string", b"").decode("latin-1")
        target = "/" + quote(path, safe="/") + (f"?{query}" if query else "")
        agent = await open_agent(state, workspace_id, target, websocket, {WIRE_HEADER: wire})
        if agent is None:
            return
        await websocket.accept(subprotocol=agent.subprotocol)
        end = state.sandboxes.activity.begin(workspace_id)
        try:
            await relay(websocket, agent)
        finally:
            end()

    return relay_websocket


def add_websocket_route(router: APIRouter, wire: str) -> None:
    """Every WebSocket under the router's toolbox prefix goes to the agent's same path."""
    router.add_api_websocket_route("/{path:path}", websocket_endpoint(wire), name=f"toolbox_websocket_{wire}")
