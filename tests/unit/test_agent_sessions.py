"""Agent sessions on the host (as the current user): shell state, stdin, timeouts, caps, restarts, routes."""

from __future__ import annotations

import json
import os
import pwd
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from daytona_agent import children, session_routes
from daytona_agent.http import HttpError, Router
from daytona_agent.session_log import STDERR, STDOUT, CommandLog, Framer, split_streams
from daytona_agent.sessions import Command, SessionManager
from daytona_agent.users import OsUser

from ..support.agent_server import serving


@pytest.fixture
def me() -> OsUser:
    entry = pwd.getpwuid(os.getuid())
    return OsUser(entry.pw_name, entry.pw_uid, entry.pw_gid, entry.pw_dir, "/bin/sh", [])


@pytest.fixture
def manager(me: OsUser, tmp_path: Path) -> Iterator[SessionManager]:
    m = SessionManager(me, root=str(tmp_path / "sessions"), log_cap=1 << 20)
    yield m
    m.shutdown()


def run(m: SessionManager, session: str, command: str, timeout: float | None = None) -> tuple[int | None, dict]:
    cmd = m.execute(session, command, False, timeout)
    m.wait(cmd)
    return cmd.exit_code, output(cmd)


def output(cmd: Command) -> dict[str, str]:
    return split_streams(cmd.log.log_path, cmd.log.segments(0, cmd.log.size), 1 << 20)


def wait_until(predicate, what: str, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_shell_state_persists_and_streams_are_apart(manager: SessionManager, tmp_path: Path) -> None:
    manager.create("s")
    code, out = run(manager, "s", f"cd {tmp_path}; export GREETING=hello; echo out; echo err >&2; (exit 3)")
    assert code == 3
    assert (out["stdout"], out["stderr"], out["combined"]) == ("out\n", "err\n", "out\nerr\n")
    code, out = run(manager, "s", "pwd; echo $GREETING")
    assert (code, out["stdout"]) == (0, f"{tmp_path}\nhello\n")


def test_syntax_error_fails_only_that_command(manager: SessionManager) -> None:
    manager.create("s")
    run(manager, "s", "export KEEP=1")
    code, out = run(manager, "s", 'echo "unterminated')
    assert code == 2 and "unexpected EOF" in out["stderr"]
    assert run(manager, "s", "echo $KEEP")[1]["stdout"] == "1\n"


def test_async_returns_at_once_and_reads_sent_input(manager: SessionManager) -> None:
    manager.create("s")
    cmd = manager.execute("s", "read name; echo hello $name; cat; echo end", True, None)
    assert cmd.exit_code is None
    manager.send_input("s", cmd.id, b"world\n", False)
    manager.send_input("s", cmd.id, b"via cat\n", True)  # then EOF: cat ends
    manager.wait(cmd)
    assert (cmd.exit_code, output(cmd)["stdout"]) == (0, "hello world\nvia cat\nend\n")
    with pytest.raises(HttpError) as caught:
        manager.send_input("s", cmd.id, b"late", False)
    assert caught.value.status == 409


def test_async_commands_do_not_block_sync_ones(manager: SessionManager) -> None:
    manager.create("s")
    background = manager.execute("s", "sleep 30", True, None)
    assert run(manager, "s", "echo quick")[1]["stdout"] == "quick\n"
    assert background.exit_code is None
    assert manager.activity()["runningCommands"] == 1 and manager.activity()["busy"]


def test_fast_async_commands_never_wedge_the_session(manager: SessionManager) -> None:
    """An async command may end before its shell reports its pid: that must not block the shell."""
    manager.create("s")
    for i in range(400):
        fast = manager.execute("s", "true", True, None)
        code, out = run(manager, "s", f"echo {i}")
        assert (code, out["stdout"]) == (0, f"{i}\n")
        manager.wait(fast)
        assert fast.exit_code == 0


def test_exit_and_set_e_in_async_commands_report_their_code(manager: SessionManager) -> None:
    manager.create("s")
    first = manager.execute("s", "exit 5", True, None)
    second = manager.execute("s", "set -e; false; echo not reached", True, None)
    manager.wait(first)
    manager.wait(second)
    assert (first.exit_code, second.exit_code) == (5, 1)
    assert run(manager, "s", "echo shell alive")[1]["stdout"] == "shell alive\n"


def test_sync_timeout_kills_the_command_but_keeps_the_shell(manager: SessionManager, tmp_path: Path) -> None:
    manager.create("s")
    run(manager, "s", f"cd {tmp_path}")
    code, out = run(manager, "s", "echo started; sleep 60", timeout=0.5)
    assert code == 124 and "started" in out["stdout"] and "timed out after 0.5s" in out["stderr"]
    assert run(manager, "s", "pwd")[1]["stdout"] == f"{tmp_path}\n"


def test_sync_command_waiting_on_stdin_obeys_its_timeout(manager: SessionManager) -> None:
    manager.create("s")
    # `read` is a shell builtin: only killing the shell ends it; the next command gets a new shell.
    code, _ = run(manager, "s", "read line", timeout=0.5)
    assert code == 124
    assert run(manager, "s", "echo next")[1]["stdout"] == "next\n"


def test_queued_command_times_out_while_waiting(manager: SessionManager) -> None:
    manager.create("s")
    blocker = manager.execute("s", "sleep 2", False, None)
    code, out = run(manager, "s", "echo never", timeout=0.3)
    assert code == 124 and "waiting for the session's running command" in out["stderr"]
    manager.wait(blocker)
    assert blocker.exit_code == 0


def test_async_timeout_kills_the_background_command(manager: SessionManager) -> None:
    manager.create("s")
    cmd = manager.execute("s", "echo begun; sleep 60", True, 0.5)
    manager.wait(cmd)
    assert cmd.exit_code == 124 and cmd.timed_out and output(cmd)["stdout"] == "begun\n"


def test_delete_answers_a_waiting_sync_command(manager: SessionManager) -> None:
    manager.create("s")
    cmd = manager.execute("s", "echo partial; sleep 60", False, None)
    wait_until(lambda: cmd.log.size > 0, "partial output")
    manager.delete("s")
    manager.wait(cmd)
    assert cmd.exit_code == 137


def test_exit_in_a_sync_command_restarts_the_shell(manager: SessionManager) -> None:
    manager.create("s")
    code, out = run(manager, "s", "exit 7")
    assert code == 7 and "next command starts a new shell" in out["stderr"]
    assert run(manager, "s", "echo again")[1]["stdout"] == "again\n"


def test_log_cap_keeps_the_start_and_marks_the_truncation(me: OsUser, tmp_path: Path) -> None:
    small = SessionManager(me, root=str(tmp_path / "small"), log_cap=1000)
    try:
        small.create("s")
        cmd = small.execute("s", "head -c 100000 /dev/zero | tr '\\0' a; echo tail >&2", False, None)
        small.wait(cmd)
        out = output(cmd)
        assert cmd.exit_code == 0 and cmd.log.truncated
        assert out["stdout"] == "a" * 1000
        assert "output truncated: the log keeps the first 1000 bytes" in out["stderr"]
        assert json.loads(Path(cmd.path("json")).read_text())["truncated"] is True
    finally:
        small.shutdown()


def test_delete_kills_everything_in_the_session(manager: SessionManager) -> None:
    manager.create("s")
    cmd = manager.execute("s", "setsid sleep 300 & echo $! ; sleep 300", True, None)
    wait_until(lambda: cmd.log.size > 0, "the pid")
    pid = int(Path(cmd.log.log_path).read_text())
    manager.delete("s")
    assert cmd.exit_code == 137 and cmd.done
    wait_until(lambda: not _alive(pid), "the background sleep to die")
    with pytest.raises(HttpError) as caught:
        manager.get("s")
    assert caught.value.status == 404


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_a_new_agent_run_lists_old_sessions_and_marks_running_commands_killed(me: OsUser, tmp_path: Path) -> None:
    root = str(tmp_path / "sessions")
    first = SessionManager(me, root=root)
    first.create("keep")
    done = first.execute("keep", "echo finished; echo oops >&2", False, None)
    first.wait(done)
    running = first.execute("keep", "echo partial; sleep 300", True, None)
    wait_until(lambda: running.log.size > 0, "partial output")
    first.shutdown()  # as when the sandbox stops: everything is killed, nothing is recorded

    second = SessionManager(me, root=root)
    try:
        session = second.get("keep")
        again = {c.id: c for c in session.commands.values()}
        assert again[done.id].exit_code == 0 and again[running.id].exit_code == 137
        assert output(again[done.id])["combined"] == "finished\noops\n"
        assert output(again[done.id])["stderr"] == "oops\n"
        assert output(again[running.id])["stdout"] == "partial\n"
        assert "interrupted: the sandbox stopped" in output(again[running.id])["stderr"]
        assert run(second, "keep", "echo new shell")[1]["stdout"] == "new shell\n"
        assert [c.seq for c in second.get("keep").commands.values()] == [0, 1, 2]
    finally:
        second.shutdown()


def test_children_of_the_agent_get_a_high_oom_score(me: OsUser) -> None:
    import subprocess

    proc = children.spawn(["sleep", "5"], stdout=subprocess.DEVNULL)
    try:
        assert Path(f"/proc/{proc.pid}/oom_score_adj").read_text().strip() == "1000"
    finally:
        children.kill_tree(proc.pid)
        proc.wait()
        children.release(proc)


# -- the log and its framing --------------------------------------------------------------------


def test_log_segments_split_streams_and_survive_a_reload(tmp_path: Path) -> None:
    log = CommandLog(str(tmp_path / "c.log"), str(tmp_path / "c.idx"), 1 << 20)
    log.create()
    for stream, data in [(STDOUT, b"ab"), (STDOUT, b"c"), (STDERR, b"XY"), (STDOUT, b"d")]:
        log.append(stream, data)
    log.close()
    assert log.segments(0, log.size) == [(STDOUT, 0, 3), (STDERR, 3, 5), (STDOUT, 5, 6)]
    again = CommandLog(log.log_path, log.idx_path, 0)
    assert again.segments(1, 4) == [(STDOUT, 1, 3), (STDERR, 3, 4)]
    assert split_streams(again.log_path, again.segments(0, 6), 100) == {
        "stdout": "abcd",
        "stderr": "XY",
        "combined": "abcXYd",
    }


def test_framer_keeps_characters_split_across_writes_whole(tmp_path: Path) -> None:
    log = CommandLog(str(tmp_path / "c.log"), str(tmp_path / "c.idx"), 1 << 20)
    log.create()
    snowman = "☃".encode()
    log.append(STDOUT, b"a" + snowman[:1])
    log.append(STDERR, b"e")
    log.append(STDOUT, snowman[1:] + b"b")
    framer = Framer()
    frames = [json.loads(f) for f in framer.frames(log.log_path, log.segments(0, log.size))]
    frames += [json.loads(f) for f in framer.flush(log.size)]
    assert [(f["type"], f["data"]) for f in frames] == [("stdout", "a"), ("stderr", "e"), ("stdout", "☃b")]
    # Offsets to resume from never skip the pending first byte of the snowman (at offset 1).
    assert [f["offset"] for f in frames] == [1, 1, log.size]


# -- the HTTP routes --------------------------------------------------------------------------------


@pytest.fixture
def agent(manager: SessionManager, tmp_path: Path) -> Iterator[httpx.Client]:
    router = Router()
    session_routes.register(router, manager)
    path = str(tmp_path / "agent.sock")
    with (
        serving(router, path),
        httpx.Client(transport=httpx.HTTPTransport(uds=path), base_url="http://agent", timeout=30) as client,
    ):
        yield client


def test_routes_answer_the_official_shapes(agent: httpx.Client) -> None:
    created = agent.post("/process/session", json={"sessionId": "s1"})
    assert created.status_code == 200 and created.json() == {**created.json(), "sessionId": "s1", "commands": []}
    r = agent.post("/process/session/s1/exec", json={"command": "echo hi", "async": False})
    assert r.status_code == 200
    body = r.json()
    assert (body["output"], body["exitCode"], body["stdout"], body["stderr"]) == ("hi\n", 0, "hi\n", "")
    cid = body["cmdId"]
    command = agent.get(f"/process/session/s1/command/{cid}").json()
    assert (command["id"], command["command"], command["exitCode"]) == (cid, "echo hi", 0)
    logs = agent.get(f"/process/session/s1/command/{cid}/logs")
    assert logs.text == "hi\n" and logs.headers["content-type"].startswith("text/plain")
    assert logs.headers["x-daytona-log-offset"] == "3"
    assert agent.get(f"/process/session/s1/command/{cid}/logs", params={"offset": 1}).text == "i\n"
    session = agent.get("/process/session/s1").json()
    assert session["sessionId"] == "s1" and [c["id"] for c in session["commands"]] == [cid]
    assert [s["sessionId"] for s in agent.get("/process/session").json()] == ["s1"]
    a = agent.post("/process/session/s1/exec", json={"command": "sleep 30", "runAsync": True}).json()
    assert a["exitCode"] is None and a["output"] is None
    assert agent.get("/activity").json()["busy"] is True
    assert agent.delete("/process/session/s1").status_code == 200
    assert agent.get("/process/session/s1").status_code == 404
    assert agent.get("/activity").json()["busy"] is False


def test_follow_streams_ndjson_until_the_end(agent: httpx.Client) -> None:
    agent.post("/process/session", json={"sessionId": "f"})
    cid = agent.post(
        "/process/session/f/exec", json={"command": "echo one; sleep 0.3; echo two >&2; exit 4", "runAsync": True}
    ).json()["cmdId"]
    params = {"follow": "true", "format": "ndjson"}
    with agent.stream("GET", f"/process/session/f/command/{cid}/logs", params=params) as response:
        frames = [json.loads(line) for line in response.iter_lines() if line]
    assert [(f["type"], f.get("data")) for f in frames] == [("stdout", "one\n"), ("stderr", "two\n"), ("end", None)]
    assert frames[-1]["exitCode"] == 4 and frames[-1]["done"] is True and frames[-1]["offset"] == 8
    # Plain text follow of a finished command: the whole log, then the end of the stream.
    text = agent.get(f"/process/session/f/command/{cid}/logs", params={"follow": "true"})
    assert text.text == "one\ntwo\n"


def test_bad_input_gets_clear_4xx(agent: httpx.Client) -> None:
    def status(method: str, path: str, **kwargs) -> int:  # type: ignore[no-untyped-def]
        return agent.request(method, path, **kwargs).status_code

    assert status("POST", "/process/session", json={}) == 400
    assert status("POST", "/process/session", json={"sessionId": "a/b"}) == 400
    assert status("POST", "/process/session", json={"sessionId": "x" * 300}) == 400
    assert status("POST", "/process/session", json={"sessionId": "ok"}) == 200
    assert status("POST", "/process/session", json={"sessionId": "ok"}) == 409
    assert status("GET", "/process/session/nope") == 404
    assert status("DELETE", "/process/session/nope") == 404
    assert status("POST", "/process/session/nope/exec", json={"command": "true"}) == 404
    assert status("POST", "/process/session/ok/exec", json={}) == 400
    assert status("POST", "/process/session/ok/exec", json={"command": "  "}) == 400
    assert status("POST", "/process/session/ok/exec", json={"command": "true", "async": "yes"}) == 400
    assert status("POST", "/process/session/ok/exec", json={"command": "true", "async": True, "runAsync": False}) == 400
    assert status("POST", "/process/session/ok/exec", json={"command": "true", "timeout": -1}) == 400
    assert status("POST", "/process/session/ok/exec", content=b"{not json") == 400
    assert status("GET", "/process/session/ok/command/nope") == 404
    assert status("GET", "/process/session/ok/command/nope/logs") == 404
    cid = agent.post("/process/session/ok/exec", json={"command": "echo 12345"}).json()["cmdId"]
    logs = f"/process/session/ok/command/{cid}/logs"
    assert status("GET", logs, params={"offset": "x"}) == 400
    assert status("GET", logs, params={"offset": "-1"}) == 400
    assert status("GET", logs, params={"offset": "99"}) == 416
    assert status("GET", logs, params={"follow": "maybe"}) == 400
    assert status("GET", logs, params={"format": "xml"}) == 400
    assert status("POST", f"/process/session/ok/command/{cid}/input", json={"data": "x"}) == 409
    assert status("POST", f"/process/session/ok/command/{cid}/input", json={"data": 5}) == 400
    assert status("POST", "/process/session/ok/command/nope/input", json={"data": "x"}) == 404
