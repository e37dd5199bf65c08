"""PTY terminals through the real server: today's official SDK, a raw WebSocket that never reads, our SDK,
and a terminal that outlives a server restart.

Terminals belong to the sandbox's agent: a client that goes away only detaches, and the next one gets
the scrollback first. The official SDK runs in its own venv (run_current_sdk); each script prints one
line per step, which the test compares.
"""

from __future__ import annotations

import json
import textwrap
import time
import uuid
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from daytona_sdk import (
    AsyncDaytona,
    AsyncPtyHandle,
    CreateWorkspaceParams,
    Daytona,
    DaytonaConflictError,
    DaytonaNotFoundError,
    PtyHandle,
    PtySize,
    Workspace,
)

from ..support.server import RunningServer, run_current_sdk, start_server, stop_server

EXIT_CONTROL = "X-Daytona-Pty-Exit-Control"

CURRENT_SDK = textwrap.dedent(
    """
    import asyncio, sys, time
    from daytona import AsyncDaytona, Daytona, DaytonaConfig, DaytonaError, DaytonaNotFoundError
    from daytona.common.pty import PtySize

    daytona = Daytona(DaytonaConfig(api_key=sys.argv[1], api_url=sys.argv[2]))
    sandbox = daytona.get(sys.argv[3])
    run = sys.argv[4]

    def read_until(pty, needle, limit=30.0):
        seen = []
        deadline = time.monotonic() + limit
        while needle not in "".join(seen):
            if time.monotonic() > deadline:
                raise SystemExit(f"no {needle!r} in {''.join(seen)[-400:]!r}")
            pty.wait(on_data=lambda data: seen.append(data.decode("utf-8", "replace")), timeout=0.3)
        return "".join(seen)

    pty = sandbox.process.create_pty_session(
        id=f"main-{run}", cwd="/tmp", envs={"GREETING": "hello-env"}, pty_size=PtySize(rows=30, cols=100)
    )
    pty.send_input("echo hi $GREETING $(pwd) $(stty size)\\n")
    read_until(pty, "hi hello-env /tmp 30 100")
    print("echo ok")
    info = pty.resize(PtySize(rows=40, cols=120))
    print("resize", info.cols, info.rows)
    pty.send_input("echo size $(stty size)\\n")
    read_until(pty, "size 40 120")
    got = sandbox.process.get_pty_session_info(f"main-{run}")
    print("info", got.id == f"main-{run}", got.active, got.cwd, got.cols, got.rows, got.envs.get("GREETING"))
    print("listed", f"main-{run}" in [s.id for s in sandbox.process.list_pty_sessions()])

    try:
        sandbox.process.connect_pty_session(f"main-{run}")
        print("second connection accepted")
    except DaytonaError as exc:
        print("second refused", "409" in str(exc) or getattr(exc, "status_code", None) == 409)

    # Much output, then a reconnect: the scrollback (its last 256 KiB) comes first, in pieces.
    pty.send_input("head -c 300000 /dev/zero | tr '\\\\0' y; echo; echo BIG-$((5*5))\\n")
    read_until(pty, "BIG-25")
    pty.disconnect()
    again = sandbox.process.connect_pty_session(f"main-{run}")
    scrollback = read_until(again, "BIG-25")
    print("scrollback", scrollback.count("y") > 200000)
    again.send_input("echo back $((40+2))\\n")
    read_until(again, "back 42")
    print("reattached ok")
    again.send_input("exit 7\\n")
    result = again.wait(timeout=30)
    print("exit", result.exit_code, again.exit_code)
    again.disconnect()

    victim = sandbox.process.create_pty_session(id=f"victim-{run}")
    victim.send_input("sleep 600\\n")
    sandbox.process.kill_pty_session(f"victim-{run}")
    print("killed", victim.wait(timeout=30).exit_code)
    print("gone", f"victim-{run}" not in [s.id for s in sandbox.process.list_pty_sessions()])
    victim.disconnect()

    try:
        sandbox.process.get_pty_session_info("no-such-pty")
    except DaytonaNotFoundError as exc:
        print("unknown info", type(exc).__name__)
    try:
        sandbox.process.connect_pty_session("no-such-pty")
        print("unknown connect accepted")
    except DaytonaError as exc:
        print("unknown connect refused")

    paste = sandbox.process.create_pty_session(id=f"paste-{run}")
    target = f"/tmp/paste-{run}"
    paste.send_input(f"stty -echo; echo READY; cat > {target}; echo DONE $(wc -c < {target})\\n")
    read_until(paste, "READY")
    line = "0123456789abcdef" * 7 + "\\n"
    data = (line * (3 * 1024 * 1024 // len(line))).encode()
    for offset in range(0, len(data), 1024 * 1024):
        paste.send_input(data[offset : offset + 1024 * 1024])
    paste.send_input("\\x04")
    read_until(paste, f"DONE {len(data)}", limit=120)
    paste.send_input(bytes(range(256)) + b"\\x03\\n")
    paste.send_input("stty echo; echo alive $((2+3))\\n")
    read_until(paste, "alive 5")
    print("paste ok")
    paste.kill()
    paste.disconnect()

    async def with_async_sdk():
        async with AsyncDaytona(DaytonaConfig(api_key=sys.argv[1], api_url=sys.argv[2])) as adaytona:
            asandbox = await adaytona.get(sys.argv[3])
            seen = []
            apty = await asandbox.process.create_pty_session(
                id=f"async-{run}", on_data=lambda data: seen.append(data), envs={"WHO": "aiohttp"}
            )
            await apty.send_input("echo from-$WHO; exit 3\\n")
            result = await asyncio.wait_for(apty.wait(), 30)
            print("async", result.exit_code, b"from-aiohttp" in b"".join(seen))
            await apty.disconnect()

    asyncio.run(with_async_sdk())
    """
)


def test_official_sdk_pty(server: RunningServer, shared_workspace: Workspace, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:8]
    lines = run_current_sdk(CURRENT_SDK, tmp_path, server.api_key, server.url, shared_workspace.id, run)
    assert lines == [
        "echo ok",
        "resize 120 40",
        "info True True /tmp 120 40 hello-env",
        "listed True",
        "second refused True",
        "scrollback True",
        "reattached ok",
        "exit 7 7",
        "killed 137",
        "gone True",
        "unknown info DaytonaNotFoundError",
        "unknown connect refused",
        "paste ok",
        "async 3 True",
    ]


def ws_url(server: RunningServer, workspace_id: str, tail: str) -> str:
    """Today's toolbox path for a PTY WebSocket (as the official SDK builds it)."""
    return f"{server.url.replace('http', 'ws', 1)}/toolbox/{workspace_id}/process/pty/{tail}"


def raw_connect(server: RunningServer, workspace_id: str, tail: str, **kwargs: object) -> ClientConnection:
    return connect(
        ws_url(server, workspace_id, tail),
        additional_headers={"Authorization": f"Bearer {server.api_key}"},
        subprotocols=[EXIT_CONTROL],  # type: ignore[list-item]
        compression=None,
        open_timeout=30,
        max_size=None,
        **kwargs,  # type: ignore[arg-type]
    )


def read_until(ws: ClientConnection, needle: bytes, timeout: float = 30.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            pytest.fail(f"no {needle!r} in the output: {seen[-400:]!r}")
        message = ws.recv(timeout=left)
        if isinstance(message, bytes):
            seen += message
    return seen


def rss_kib(status: str) -> int:
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))


def activity(server: RunningServer, workspace_id: str) -> dict[str, object]:
    response = httpx.get(
        f"{server.url}/toolbox/{workspace_id}/toolbox/activity",
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=30,
    )
    response.raise_for_status()
    result: dict[str, object] = response.json()
    return result


def test_a_client_that_never_reads_is_dropped_not_buffered(server: RunningServer, shared_workspace: Workspace) -> None:
    pty_id = f"flood-{uuid.uuid4().hex[:8]}"
    server_rss = rss_kib(Path(f"/proc/{server.process.pid}/status").read_text())
    agent_rss = rss_kib(shared_workspace.process.exec("cat /proc/1/status").result)
    # max_queue=1: the client library stops reading from the socket as soon as one message waits.
    stalled = raw_connect(server, shared_workspace.id, f"create-connect?id={pty_id}", max_queue=1, close_timeout=1)
    try:
        stalled.send(b"head -c 60000000 /dev/zero | tr '\\0' x; echo; echo FLOOD-$((6*7))\n")
        # The agent drops the stalled client once its queue is full; the terminal goes on printing.
        deadline = time.monotonic() + 120
        while True:
            try:
                fresh = raw_connect(server, shared_workspace.id, f"{pty_id}/connect")
                break
            except InvalidStatus as exc:
                assert exc.response.status_code == 409, exc.response.body
                assert time.monotonic() < deadline, "the stalled client was never dropped"
        with fresh:
            assert json.loads(fresh.recv(timeout=30)) == {"type": "control", "status": "connected"}
            read_until(fresh, b"FLOOD-42", timeout=120)
            fresh.send(b"echo after-$((3*3))\n")
            read_until(fresh, b"after-9")
            grown_server = rss_kib(Path(f"/proc/{server.process.pid}/status").read_text()) - server_rss
            grown_agent = rss_kib(shared_workspace.process.exec("cat /proc/1/status").result) - agent_rss
            # 60 MB went through the terminal; neither side kept more than its bounded buffers.
            assert grown_server < 40 * 1024, f"server grew {grown_server} KiB"
            assert grown_agent < 40 * 1024, f"agent grew {grown_agent} KiB"
            fresh.send(b"exit\n")
            fresh.recv(timeout=30)
    finally:
        stalled.close()


def test_an_open_terminal_keeps_the_sandbox_busy(server: RunningServer, shared_workspace: Workspace) -> None:
    pty_id = f"busy-{uuid.uuid4().hex[:8]}"
    with raw_connect(server, shared_workspace.id, f"create-connect?id={pty_id}") as ws:
        assert json.loads(ws.recv(timeout=30))["status"] == "connected"
    # Detached, the shell still runs: the sandbox is in use.
    state = activity(server, shared_workspace.id)
    assert state["busy"] is True, state
    response = httpx.delete(
        f"{server.url}/toolbox/{shared_workspace.id}/process/pty/{pty_id}",
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=30,
    )
    assert response.status_code == 200 and response.json() == {"message": "PTY session deleted"}
    deadline = time.monotonic() + 30
    while activity(server, shared_workspace.id)["busy"]:
        assert time.monotonic() < deadline, "still busy after the terminal was killed"
        time.sleep(0.2)


# -- our SDK ----------------------------------------------------------------------------------------


def sdk_read_until(pty: PtyHandle, needle: str, timeout: float = 30.0) -> str:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while needle not in "".join(seen):
        if time.monotonic() > deadline:
            pytest.fail(f"no {needle!r} in the output: {''.join(seen)[-400:]!r}")
        pty.wait(on_data=lambda data: seen.append(data.decode("utf-8", "replace")), timeout=0.3)
    return "".join(seen)


def test_our_sdk_pty(shared_workspace: Workspace) -> None:
    process = shared_workspace.process
    pty_id = f"ours-{uuid.uuid4().hex[:8]}"
    pty = process.create_pty_session(pty_id, cwd="/tmp", envs={"GREETING": "ours"}, pty_size=PtySize(rows=30, cols=100))
    try:
        assert pty.is_connected() and pty.session_id == pty_id
        pty.send_input("echo hi $GREETING $(pwd) $(stty size)\n")
        sdk_read_until(pty, "hi ours /tmp 30 100")
        resized = pty.resize(PtySize(rows=40, cols=120))
        assert (resized.cols, resized.rows) == (120, 40)
        info = process.get_pty_session_info(pty_id)
        assert (info.active, info.cwd, info.envs["GREETING"], info.envs["TERM"]) == (
            True,
            "/tmp",
            "ours",
            "xterm-256color",
        )
        assert pty_id in [s.id for s in process.list_pty_sessions()]
        with pytest.raises(DaytonaConflictError):
            process.connect_pty_session(pty_id)
    finally:
        pty.disconnect()
    with process.connect_pty_session(pty_id) as again:
        sdk_read_until(again, "hi ours /tmp 30 100")  # the scrollback
        again.send_input(b"echo size $(stty size)\nexit 4\n")
        output = b"".join(again)  # iterating ends with the shell
        assert b"size 40 120" in output
        assert again.exit_code == 4 and not again.is_connected()
    assert not process.get_pty_session_info(pty_id).active

    victim = process.create_pty_session(f"victim-{pty_id}")
    victim.send_input("sleep 600\n")
    victim.kill()
    assert victim.wait(timeout=30).exit_code == 137
    assert f"victim-{pty_id}" not in [s.id for s in process.list_pty_sessions()]
    with pytest.raises(DaytonaNotFoundError):
        process.connect_pty_session("no-such-pty")
    with pytest.raises(DaytonaNotFoundError):
        process.get_pty_session_info("no-such-pty")
    with pytest.raises(DaytonaNotFoundError):
        process.kill_pty_session("no-such-pty")


async def test_async_sdk_pty(server: RunningServer, shared_workspace: Workspace) -> None:
    async with AsyncDaytona(server.config()) as daytona:
        workspace = await daytona.get_current_workspace(shared_workspace.id)
        pty: AsyncPtyHandle = await workspace.process.create_pty_session(f"async-{uuid.uuid4().hex[:8]}")
        async with pty:
            await pty.send_input("echo async-$((20+3)); exit 2\n")
            output = b"".join([data async for data in pty])
            assert b"async-23" in output
            assert pty.exit_code == 2


def test_a_terminal_outlives_a_server_restart(tmp_path_factory: pytest.TempPathFactory) -> None:
    data_dir = tmp_path_factory.mktemp("pty-restart") / "data"
    first = start_server(data_dir, "dtn_pty_restart")
    second: RunningServer | None = None
    try:
        with Daytona(first.config()) as daytona:
            workspace = daytona.create(CreateWorkspaceParams(id=f"pty-{uuid.uuid4().hex[:6]}"))
            pty = workspace.process.create_pty_session("keeper")
            pty.send_input("export KEPT=yes; echo before-$((1+1))\n")
            sdk_read_until(pty, "before-2")
        # The connection is still open: the server goes away under it; the sandbox keeps running.
        stop_server(first)
        second = start_server(data_dir, "dtn_pty_restart", port=first.port)
        with Daytona(second.config()) as daytona:
            workspace = daytona.get_current_workspace(workspace.id)
            with workspace.process.connect_pty_session("keeper") as again:
                sdk_read_until(again, "before-2")  # the scrollback
                again.send_input("echo after-$KEPT\n")
                sdk_read_until(again, "after-yes")
            daytona.remove(workspace)
    finally:
        if second is not None:
            stop_server(second)
        stop_server(first)
