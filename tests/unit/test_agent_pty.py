"""Agent PTY terminals: the pure pieces, then real shells on the host (as the current user) through the routes."""

from __future__ import annotations

import base64
import json
import os
import pwd
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, unix_connect

from daytona_agent import pty_routes
from daytona_agent.http import HttpError, Router
from daytona_agent.pty_protocol import (
    EXIT_CONTROL_PROTOCOL,
    Attachment,
    Ring,
    check_size,
    envs_from_protocols,
    exit_reason,
    select_protocol,
)
from daytona_agent.pty_sessions import PtyManager
from daytona_agent.users import OsUser

from ..support.agent_server import serving


def envs_token(value: object) -> str:
    return "X-Daytona-Pty-Envs~" + base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


# -- pure pieces ----------------------------------------------------------------------------------


def test_ring_keeps_the_last_bytes() -> None:
    ring = Ring(10)
    ring.append(b"abc")
    ring.append(b"def")
    assert ring.snapshot() == b"abcdef" and not ring.wrapped
    ring.append(b"ghijkl")
    assert ring.total == 12 and ring.wrapped
    assert ring.snapshot() == b"cdefghijkl"
    ring.append(b"0123456789ABCDEF")
    assert ring.snapshot() == b"6789ABCDEF"


def test_ring_replay_starts_at_a_line_once_it_wrapped() -> None:
    ring = Ring(16)
    ring.append(b"first line\nsecond\n")  # 18 bytes: the start of "first line" is gone
    assert ring.snapshot() == b"second\n"
    whole = Ring(64)
    whole.append(b"no newline cut\nbefore wrapping")
    assert whole.snapshot() == b"no newline cut\nbefore wrapping"


def test_envs_come_from_the_subprotocol() -> None:
    assert envs_from_protocols([EXIT_CONTROL_PROTOCOL]) == {}
    assert envs_from_protocols([EXIT_CONTROL_PROTOCOL, envs_token({"A": "1", "B": "ü ="})]) == {"A": "1", "B": "ü ="}
    padded = "X-Daytona-Pty-Envs~" + base64.urlsafe_b64encode(b'{"K":"v"}').decode()
    assert envs_from_protocols([padded]) == {"K": "v"}


@pytest.mark.parametrize(
    "token",
    [
        "X-Daytona-Pty-Envs~not base64!",
        "X-Daytona-Pty-Envs~" + base64.urlsafe_b64encode(b"not json").decode(),
        envs_token(["a"]),
        envs_token({"A": 1}),
        envs_token({"A=B": "x"}),
        envs_token({"": "x"}),
    ],
)
def test_malformed_envs_are_refused(token: str) -> None:
    with pytest.raises(ValueError):
        envs_from_protocols([token])


def test_subprotocol_selection() -> None:
    assert select_protocol([envs_token({}), EXIT_CONTROL_PROTOCOL]) == EXIT_CONTROL_PROTOCOL
    assert select_protocol(["other"]) == "other"
    assert select_protocol([]) is None


def test_sizes_and_exit_reasons() -> None:
    assert check_size("120", "cols") == 120 and check_size(None, "rows", 24) == 24 and check_size(1000, "rows") == 1000
    for bad in ("0", "1001", "-3", "x", 1.5, True):
        with pytest.raises(HttpError):
            check_size(bad, "cols")
    assert [exit_reason(c) for c in (0, 1, 130, 137, 143, 129)] == [
        None, "non-zero exit", "Ctrl+C", "SIGKILL", "SIGTERM", "signal 1",
    ]  # fmt: skip


def test_attachment_is_bounded_and_drops_what_it_queued() -> None:
    dropped: list[bool] = []
    client = Attachment(exit_control=True, queue_limit=10)
    client.on_drop = lambda: dropped.append(True)
    assert client.data(b"x" * 100, replay=True)  # the scrollback replay always fits
    assert client.next(0) == ("data", b"x" * 100)
    assert client.data(b"12345") and client.data(b"67890")
    assert not client.data(b"!")
    client.drop(1008, "slow")
    assert dropped == [True]
    assert client.next(0) == ("close", (1008, "slow"))
    client.data(b"late")
    assert client.next(0) is None


# -- real shells on the host ------------------------------------------------------------------------


@pytest.fixture
def me() -> OsUser:
    entry = pwd.getpwuid(os.getuid())
    return OsUser(entry.pw_name, entry.pw_uid, entry.pw_gid, entry.pw_dir, "/bin/bash", [])


@pytest.fixture
def manager(me: OsUser) -> Iterator[PtyManager]:
    m = PtyManager(me, scrollback_bytes=64 * 1024)
    yield m
    m.shutdown()


@pytest.fixture
def socket_path(manager: PtyManager, tmp_path: Path) -> Iterator[str]:
    router = Router()
    pty_routes.register(router, manager)
    path = str(tmp_path / "agent.sock")
    with serving(router, path):
        yield path


@pytest.fixture
def agent(socket_path: str) -> Iterator[httpx.Client]:
    with httpx.Client(transport=httpx.HTTPTransport(uds=socket_path), base_url="http://agent", timeout=30) as client:
        yield client


Connect = Callable[..., ClientConnection]


@pytest.fixture
def connect(socket_path: str) -> Iterator[Connect]:
    opened: list[ClientConnection] = []

    def open_(path: str, protocols: list[str] | None = None) -> ClientConnection:
        ws = unix_connect(
            socket_path,
            "ws://agent" + path,
            subprotocols=protocols if protocols is not None else [EXIT_CONTROL_PROTOCOL],  # type: ignore[misc]
            compression=None,
            open_timeout=10,
            max_size=None,
        )
        opened.append(ws)
        return ws

    yield open_
    for ws in opened:
        ws.close()


def read_until(ws: ClientConnection, needle: bytes, timeout: float = 10.0) -> bytes:
    """Output (binary messages) until `needle` shows up; control messages are skipped."""
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            pytest.fail(f"no {needle!r} in the output: {seen[-500:]!r}")
        message = ws.recv(timeout=left)
        if isinstance(message, bytes):
            seen += message
    return seen


def controls_until_close(ws: ClientConnection) -> list[dict[str, object]]:
    found = []
    try:
        while True:
            message = ws.recv(timeout=10)
            if isinstance(message, str):
                found.append(json.loads(message))
    except ConnectionClosed:
        return found


def test_create_connect_echo_resize_and_exit_code(agent: httpx.Client, connect: Connect) -> None:
    protocols = [envs_token({"PTY_GREETING": "hello-env"}), EXIT_CONTROL_PROTOCOL]
    ws = connect("/process/pty/create-connect?id=t1&cols=100&rows=30&cwd=/tmp", protocols)
    assert ws.subprotocol == EXIT_CONTROL_PROTOCOL
    assert json.loads(ws.recv(timeout=10)) == {"type": "control", "status": "connected"}
    ws.send(b"echo $PTY_GREETING $TERM $(pwd) $(stty size)\n")
    read_until(ws, b"hello-env xterm-256color /tmp 30 100")
    info = agent.get("/process/pty/t1").json()
    assert {k: info[k] for k in ("id", "cwd", "cols", "rows", "active", "lazyStart")} == {
        "id": "t1", "cwd": "/tmp", "cols": 100, "rows": 30, "active": True, "lazyStart": False,
    }  # fmt: skip
    assert info["envs"]["PTY_GREETING"] == "hello-env"
    # The shell hears SIGWINCH and sees the new size.
    ws.send(b"trap 'echo WINCH $(stty size)' WINCH\n")
    time.sleep(0.2)
    resized = agent.post("/process/pty/t1/resize", json={"cols": 120, "rows": 40})
    assert resized.status_code == 200 and (resized.json()["cols"], resized.json()["rows"]) == (120, 40)
    ws.send(b"\n")
    read_until(ws, b"WINCH 40 120")
    ws.send(b"exit 3\n")
    assert controls_until_close(ws)[-1] == {
        "type": "control",
        "status": "exited",
        "exitCode": 3,
        "exitReason": "non-zero exit",
    }
    assert ws.close_code == 1000 and json.loads(ws.close_reason) == {"exitCode": 3, "exitReason": "non-zero exit"}
    ended = agent.get("/process/pty/t1").json()
    assert ended["active"] is False
    assert agent.post("/process/pty/t1/resize", json={"cols": 10, "rows": 10}).status_code == 410


def test_scrollback_on_reconnect_and_one_client_at_a_time(agent: httpx.Client, connect: Connect) -> None:
    assert agent.post("/process/pty", json={"id": "t2"}).json() == {"sessionId": "t2"}
    first = connect("/process/pty/t2/connect")
    assert json.loads(first.recv(timeout=10))["status"] == "connected"
    first.send(b"echo marker-$((6*7))\n")
    read_until(first, b"marker-42")
    with pytest.raises(InvalidStatus) as refused:
        connect("/process/pty/t2/connect")
    assert refused.value.response.status_code == 409
    assert b"already has a client" in refused.value.response.body
    first.close()
    again = connect("/process/pty/t2/connect")  # the old connection's close may still be in flight
    assert json.loads(again.recv(timeout=10))["status"] == "connected"
    read_until(again, b"marker-42")  # the scrollback
    again.send(b"echo still-$((1+1))\n")
    read_until(again, b"still-2")
    assert [s["id"] for s in agent.get("/process/pty").json()["sessions"]] == ["t2"]
    assert agent.delete("/process/pty/t2").json() == {"message": "PTY session deleted"}
    assert controls_until_close(again)[-1]["exitCode"] == 137
    assert agent.get("/process/pty").json() == {"sessions": []}


def test_clear_errors(agent: httpx.Client, connect: Connect) -> None:
    with pytest.raises(InvalidStatus) as missing:
        connect("/process/pty/nope/connect")
    assert missing.value.response.status_code == 404
    assert agent.get("/process/pty/nope").status_code == 404
    assert agent.delete("/process/pty/nope").status_code == 404
    assert agent.post("/process/pty/nope/resize", json={"cols": 1, "rows": 1}).status_code == 404
    assert agent.get("/process/pty/create-connect").status_code == 426
    assert agent.post("/process/pty", json={"id": "bad id"}).status_code == 400
    assert agent.post("/process/pty", json={"id": "x", "cwd": "/no/such/dir"}).status_code == 400
    assert agent.post("/process/pty", json={"id": "x", "cols": 5000}).status_code == 400
    with pytest.raises(InvalidStatus) as malformed:
        connect("/process/pty/create-connect?id=e1", ["X-Daytona-Pty-Envs~not.base64"])
    assert malformed.value.response.status_code == 400
    assert agent.post("/process/pty", json={"id": "dup"}).status_code == 201
    assert agent.post("/process/pty", json={"id": "dup"}).status_code == 409
    agent.delete("/process/pty/dup")


def test_huge_paste_and_garbage_input(agent: httpx.Client, connect: Connect, tmp_path: Path) -> None:
    ws = connect("/process/pty/create-connect?id=t3")
    ws.recv(timeout=10)
    target = tmp_path / "paste.txt"
    ws.send(f"stty -echo; echo READY; cat > {target}; echo DONE $(wc -c < {target})\n".encode())
    read_until(ws, b"READY\r\n")
    line = b"0123456789abcdef" * 7 + b"\n"  # 113 bytes a line, well under the terminal's line limit
    paste = line * (3 * 1024 * 1024 // len(line))
    for offset in range(0, len(paste), 1024 * 1024):
        ws.send(paste[offset : offset + 1024 * 1024])
    ws.send(b"\x04")
    read_until(ws, f"DONE {len(paste)}".encode(), timeout=60)
    ws.send(bytes(range(256)) + b"\x03\n")  # binary garbage, then Ctrl-C: just bytes for the terminal
    ws.send(b"stty echo; echo alive-$((2+3))\n")
    read_until(ws, b"alive-5")


def test_a_client_that_never_reads_is_dropped_and_the_terminal_keeps_going(
    manager: PtyManager, agent: httpx.Client, connect: Connect, socket_path: str
) -> None:
    stalled = unix_connect(
        socket_path,
        "ws://agent/process/pty/create-connect?id=t4",
        subprotocols=[EXIT_CONTROL_PROTOCOL],  # type: ignore[list-item]
        compression=None,
        max_queue=1,
        max_size=None,
        close_timeout=1,  # it reads nothing: not even the agent's close
    )
    try:
        stalled.send(b"head -c 20000000 /dev/zero | tr '\\0' x; echo; echo FLOOD-DONE\n")
        session = manager.get("t4")
        deadline = time.monotonic() + 60
        while session.client is not None or b"FLOOD-DONE" not in session.scrollback.snapshot():
            assert time.monotonic() < deadline, "the stalled client was never dropped"
            time.sleep(0.1)
        assert session.active
        fresh = connect("/process/pty/t4/connect")
        assert json.loads(fresh.recv(timeout=10))["status"] == "connected"
        read_until(fresh, b"FLOOD-DONE")
        fresh.send(b"echo after-$((3*3))\n")
        read_until(fresh, b"after-9")
    finally:
        stalled.close()


def test_lazy_start_and_activity(manager: PtyManager, agent: httpx.Client, connect: Connect) -> None:
    assert agent.post("/process/pty", json={"id": "t5", "lazyStart": True}).status_code == 201
    assert agent.get("/process/pty/t5").json()["active"] is False
    assert manager.alive() == 0
    ws = connect("/process/pty/t5/connect")
    ws.recv(timeout=10)
    ws.send(b"echo lazy-ok\n")
    read_until(ws, b"lazy-ok")
    assert manager.alive() == 1 and agent.get("/process/pty/t5").json()["active"] is True
    ws.send(b"exit\n")
    assert controls_until_close(ws)[-1] == {"type": "control", "status": "exited", "exitCode": 0}
    assert manager.alive() == 0


def test_without_exit_control_only_the_close_tells(connect: Connect) -> None:
    ws = connect("/process/pty/create-connect?id=t6", [])
    assert ws.subprotocol is None
    ws.recv(timeout=10)
    ws.send(b"exit 5\n")
    assert [m["status"] for m in controls_until_close(ws)] == []
    assert ws.close_code == 1000 and json.loads(ws.close_reason)["exitCode"] == 5
