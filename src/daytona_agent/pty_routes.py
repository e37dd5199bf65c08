"""PTY endpoints, as today's SDKs use them (the terminals are pty_sessions.py's, the wire pieces pty_protocol.py's).

    GET    /process/pty/create-connect?id=&cols=&rows=&cwd=    WebSocket: create a terminal and attach
    GET    /process/pty/{sessionId}/connect                    WebSocket: attach (the scrollback first)
    POST   /process/pty            {id, cwd?, envs?, cols?, rows?, lazyStart?}  -> 201 {sessionId}
    GET    /process/pty            -> {sessions: [PtySessionInfo]}
    GET    /process/pty/{sessionId}                            -> PtySessionInfo
    POST   /process/pty/{sessionId}/resize  {cols, rows}       -> PtySessionInfo (410 once ended)
    DELETE /process/pty/{sessionId}                            kills its whole session -> {message}

On a WebSocket the first message is text `{"type":"control","status":"connected"}`; output follows as
binary messages, input is every message the client sends (binary or text). When the shell exits, a
client that offered the `X-Daytona-Pty-Exit-Control` subprotocol gets
`{"type":"control","status":"exited","exitCode":N}`; every client then gets close 1000 with
`{"exitCode":N}` as its reason. Variables come in an `X-Daytona-Pty-Envs~<base64url JSON>`
subprotocol. A second client while one is attached gets 409 (the upgrade is refused).
"""

from __future__ import annotations

import json
import socket
import threading

from . import websocket
from .http import HttpError, Request, Response, Router
from .pty_protocol import (
    EXIT_CONTROL_PROTOCOL,
    Attachment,
    check_envs,
    check_size,
    envs_from_protocols,
    select_protocol,
)
from .pty_sessions import PtyManager, PtySession
from .users import OsUser

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import List

PING_INTERVAL_S = 20.0
CLOSE_WAIT_S = 5.0  # after our close frame, the peer's answer is awaited this long
DROP_GRACE_S = 2.0  # a dropped client's sender stuck on a full socket is cut off after this


def install(router: Router, user: OsUser) -> PtyManager:
    manager = PtyManager(user)
    register(router, manager)
    return manager


def register(router: Router, manager: PtyManager) -> None:
    @router.route("GET", "/process/pty/create-connect")
    def create_connect(request: Request) -> Response:
        _require_upgrade(request)
        protocols = websocket.requested_protocols(request)
        try:
            envs = envs_from_protocols(protocols)
        except ValueError as exc:
            raise HttpError(400, str(exc)) from None
        session = manager.create(
            request.arg("id"),
            cwd=request.arg("cwd") or None,
            envs=envs,
            cols=check_size(request.arg("cols"), "cols", 80),
            rows=check_size(request.arg("rows"), "rows", 24),
        )
        return _connect(request, session, protocols)

    @router.route("GET", "/process/pty/{sessionId}/connect")
    def connect(request: Request) -> Response:
        session = manager.get(request.params["sessionId"])
        _require_upgrade(request)
        return _connect(request, session, websocket.requested_protocols(request))

    @router.route("POST", "/process/pty")
    def create(request: Request) -> Response:
        body = request.json()
        try:
            envs = check_envs(body.get("envs"))
        except ValueError as exc:
            raise HttpError(400, str(exc)) from None
        cwd = body.get("cwd")
        if cwd is not None and not isinstance(cwd, str):
            raise HttpError(400, "cwd must be a string")
        lazy = body.get("lazyStart", False)
        if not isinstance(lazy, bool):
            raise HttpError(400, "lazyStart must be true or false")
        session = manager.create(
            body.get("id"),
            cwd=cwd or None,
            envs=envs,
            cols=check_size(body.get("cols"), "cols", 80),
            rows=check_size(body.get("rows"), "rows", 24),
            lazy=lazy,
        )
        return Response(201, {"sessionId": session.id})

    @router.route("GET", "/process/pty")
    def list_sessions(request: Request) -> Response:
        return Response(200, {"sessions": [s.info() for s in manager.list()]})

    @router.route("GET", "/process/pty/{sessionId}")
    def get(request: Request) -> Response:
        return Response(200, manager.get(request.params["sessionId"]).info())

    @router.route("POST", "/process/pty/{sessionId}/resize")
    def resize(request: Request) -> Response:
        session = manager.get(request.params["sessionId"])
        body = request.json()
        session.resize(check_size(body.get("cols"), "cols"), check_size(body.get("rows"), "rows"))
        return Response(200, session.info())

    @router.route("DELETE", "/process/pty/{sessionId}")
    def kill(request: Request) -> Response:
        manager.kill(request.params["sessionId"])
        return Response(200, {"message": "PTY session deleted"})


def _require_upgrade(request: Request) -> None:
    if not websocket.is_upgrade(request) or not request.headers.get("Sec-WebSocket-Key"):
        raise HttpError(426, "this endpoint is a WebSocket: connect with Upgrade: websocket")


def _connect(request: Request, session: PtySession, protocols: List[str]) -> Response:
    token = session.reserve()  # 409 while another client is attached
    exit_control = EXIT_CONTROL_PROTOCOL in protocols
    return websocket.websocket(
        request, lambda ws: _serve(session, token, exit_control, ws), protocol=select_protocol(protocols)
    )


def _serve(session: PtySession, token: object, exit_control: bool, ws: websocket.WebSocket) -> None:
    """The connection's thread reads input; a sender thread writes what the terminal queues."""
    client = session.attach(token, exit_control)
    reader_done = threading.Event()
    sender = threading.Thread(target=_send, args=(client, ws, reader_done), name="pty-send-%s" % session.id)
    sender.daemon = True
    client.on_drop = lambda: _cut_off_later(ws, sender)
    sender.start()
    try:
        while True:
            message = ws.recv()
            if message is None:
                break
            # Once the terminal cannot take input (it ended, or dropped this client) the sender is
            # closing: keep reading until the peer answers the close.
            session.write(client, message[1])
    finally:
        reader_done.set()
        session.detach(client)
        sender.join(CLOSE_WAIT_S)


def _send(client: Attachment, ws: websocket.WebSocket, reader_done: threading.Event) -> None:
    try:
        while True:
            item = client.next(PING_INTERVAL_S)
            if item is None:
                if client.detached:
                    return
                ws.ping()
                continue
            kind, payload = item
            if kind == "data":
                ws.send(payload)
            elif kind == "control":
                ws.send(json.dumps(payload, separators=(",", ":")))
            else:
                code, reason = payload
                ws.close(code, reason)
                if not reader_done.wait(CLOSE_WAIT_S):
                    _cut_off(ws)
                return
    except websocket.Closed:
        _cut_off(ws)


def _cut_off_later(ws: websocket.WebSocket, sender: threading.Thread) -> None:
    def cut() -> None:
        if sender.is_alive():
            _cut_off(ws)

    timer = threading.Timer(DROP_GRACE_S, cut)
    timer.daemon = True
    timer.start()


def _cut_off(ws: websocket.WebSocket) -> None:
    """End the connection both ways at once: unblocks a send on a full socket and the reader."""
    try:
        ws.sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
