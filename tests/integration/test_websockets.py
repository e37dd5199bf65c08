"""WebSockets through the server: session logs followed, preview links' upgrades, and what is refused.

The clients here are the `websockets` library, as a caller's would be; today's official SDKs follow
logs in tests/integration/test_current_sdk*.py.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import pytest
import websockets

from daytona_sdk import SessionExecuteRequest, Workspace

from ..support.server import RunningServer

pytestmark = pytest.mark.integration

# A WebSocket echo server with the standard library only (the default image has no websockets package).
ECHO_SERVER = r"""
import base64, hashlib, socket, struct, threading
def serve(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(4096)
    head = data.decode().split("\r\n")
    key = [l.split(":", 1)[1].strip() for l in head if l.lower().startswith("sec-websocket-key")][0]
    path = head[0].split()[1]
    accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
    conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
    f = conn.makefile("rb")
    while True:
        h = f.read(2)
        if len(h) < 2:
            return
        op, n = h[0] & 15, h[1] & 127
        if n == 126:
            n = struct.unpack("!H", f.read(2))[0]
        mask = f.read(4)
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(f.read(n)))
        if op == 8:
            conn.sendall(b"\x88\x02" + payload[:2])
            return
        out = path.encode() + b" " + payload
        conn.sendall(bytes([0x80 | op, len(out)]) + out)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 8765))
s.listen(8)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"""


def ws_url(server: RunningServer, path: str) -> str:
    return server.url.replace("http://", "ws://") + path


def auth(server: RunningServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.api_key}"}


async def refused(url: str, **kwargs: object) -> tuple[int, bytes]:
    with pytest.raises(websockets.InvalidStatus) as caught:
        async with websockets.connect(url, open_timeout=20, **kwargs):  # type: ignore[arg-type]
            pass
    return caught.value.response.status_code, bytes(caught.value.response.body or b"")


@pytest.fixture(scope="module")
def echo(shared_workspace: Workspace) -> Iterator[Workspace]:
    shared_workspace.fs.upload_file("/tmp/echo_ws.py", ECHO_SERVER.encode())
    shared_workspace.process.create_session("echo")
    shared_workspace.process.execute_session_command(
        "echo", SessionExecuteRequest(command="python3 /tmp/echo_ws.py", run_async=True)
    )
    deadline = time.monotonic() + 20
    probe = "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", 8765))'"
    while shared_workspace.process.exec(probe).exit_code:
        assert time.monotonic() < deadline, "the echo server did not start"
        time.sleep(0.2)
    yield shared_workspace
    shared_workspace.process.delete_session("echo")


def test_session_logs_follow_over_a_websocket_and_again_from_the_start(
    shared_workspace: Workspace, server: RunningServer
) -> None:
    workspace = shared_workspace
    workspace.process.create_session("ws-follow")
    started = workspace.process.execute_session_command(
        "ws-follow",
        SessionExecuteRequest(command="for i in 1 2 3; do echo out$i; echo err$i >&2; sleep 0.2; done", run_async=True),
    )
    url = ws_url(server, f"/toolbox/{workspace.id}/process/session/ws-follow/command/{started.cmd_id}/logs?follow=true")

    async def follow() -> tuple[list[bytes], int | None]:
        got: list[bytes] = []
        async with websockets.connect(url, additional_headers=auth(server)) as ws:
            async for message in ws:
                assert isinstance(message, bytes)
                got.append(message)
        return got, ws.close_code

    first, code = asyncio.run(follow())
    assert code == 1000
    joined = b"".join(first)
    assert joined.count(b"\x01\x01\x01") >= 3 and joined.count(b"\x02\x02\x02") >= 3
    stdout = b"".join(m[3:] for m in first if m.startswith(b"\x01\x01\x01"))
    assert stdout == b"out1\nout2\nout3\n"
    # A client that connects again, after the end, gets the whole log from the durable file.
    again, code = asyncio.run(follow())
    assert code == 1000 and b"".join(again) == joined
    workspace.process.delete_session("ws-follow")


def test_websocket_refusals_are_clear(shared_workspace: Workspace, server: RunningServer) -> None:
    base = f"/toolbox/{shared_workspace.id}/process/session/nope/command/nope/logs?follow=true"

    async def check() -> None:
        status, body = await refused(ws_url(server, base))
        assert status == 401 and b"missing API key" in body
        status, body = await refused(ws_url(server, base), additional_headers={"Authorization": "Bearer wrong"})
        assert status == 401
        status, body = await refused(ws_url(server, base), additional_headers=auth(server))
        assert status == 404 and b"not found" in body  # the agent's answer, passed on
        status, body = await refused(
            ws_url(server, "/toolbox/no-such-sandbox/process/session/a/command/b/logs"),
            additional_headers=auth(server),
        )
        assert status == 404
        # A dashboard session cookie from another site's page is not enough.
        status, body = await refused(
            ws_url(server, base),
            additional_headers={"Cookie": "daytona_session=whatever"},
            origin="http://evil.example",  # type: ignore[arg-type]
        )
        assert status == 403 and b"origin" in body

    asyncio.run(check())


def test_preview_links_relay_websockets_with_the_same_rules(echo: Workspace, server: RunningServer) -> None:
    link = echo.get_preview_url(8765)
    host = link.url.split("//", 1)[1]

    async def talk(headers: dict[str, str]) -> tuple[list[str | bytes], int | None]:
        sock = socket.create_connection(("127.0.0.1", server.port))  # the preview host resolves nowhere
        async with websockets.connect(f"ws://{host}/chat?x=1", sock=sock, additional_headers=headers) as ws:
            await ws.send("hello")
            text = await ws.recv()
            await ws.send(b"\x00\xff")
            binary = await ws.recv()
        return [text, binary], ws.close_code

    messages, code = asyncio.run(talk({"X-Daytona-Preview-Token": link.token}))
    assert messages == ["/chat?x=1 hello", b"/chat?x=1 \x00\xff"] and code == 1000
    assert asyncio.run(talk(auth(server)))[0][0] == "/chat?x=1 hello"

    async def without_token() -> tuple[int, bytes]:
        sock = socket.create_connection(("127.0.0.1", server.port))
        return await refused(f"ws://{host}/chat", sock=sock)

    status, body = asyncio.run(without_token())
    assert status == 401 and b"preview token" in body

    async def closed_port() -> tuple[int, bytes]:
        sock = socket.create_connection(("127.0.0.1", server.port))
        token = echo.get_preview_url(8766).token
        return await refused(
            f"ws://8766-{echo.id}.localhost:{server.port}/",
            sock=sock,
            additional_headers={"X-Daytona-Preview-Token": token},
        )

    status, body = asyncio.run(closed_port())
    assert status == 502 and b"nothing is listening" in body
