"""Sessions through the SDK against a real server: state, stdin, timeouts, live logs, durability."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import httpx
import pytest

from daytona_sdk import (
    AsyncDaytona,
    CreateWorkspaceParams,
    Daytona,
    DaytonaBadRequestError,
    DaytonaConflictError,
    DaytonaError,
    DaytonaNotFoundError,
    ProcessExecutionError,
    SessionExecuteRequest,
    Workspace,
)

from ..support.server import RunningServer, start_server, stop_server


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def finished(workspace: Workspace, session: str, cmd_id: str) -> bool:
    return workspace.process.get_session_command(session, cmd_id).exit_code is not None


def test_session_keeps_shell_state_and_records_its_commands(shared_workspace: Workspace) -> None:
    p = shared_workspace.process
    p.create_session("state")
    first = p.execute_session_command("state", SessionExecuteRequest(command="cd /workspace && export COLOR=blue"))
    assert first.exit_code == 0
    r = p.execute_session_command("state", SessionExecuteRequest(command="pwd; echo $COLOR; echo warn >&2; exit_"))
    assert r.exit_code == 127  # `exit_` is no command
    assert r.stdout == "/workspace\nblue\n" and "warn" in (r.stderr or "")
    assert r.output == r.result and r.output.startswith("/workspace\nblue\nwarn\n")
    assert r.command_id == r.cmd_id
    session = p.get_session("state")
    assert session.session_id == "state"
    assert [(c.id, c.exit_code) for c in session.commands] == [(first.cmd_id, 0), (r.cmd_id, 127)]
    assert session.commands[1].command.startswith("pwd; echo $COLOR")
    assert "state" in [s.session_id for s in p.list_sessions()]
    with pytest.raises(ProcessExecutionError) as caught:
        p.execute_session_command("state", "echo out; false", check=True)
    assert caught.value.exit_code == 1 and caught.value.stdout == "out\n"
    p.delete_session("state")
    with pytest.raises(DaytonaNotFoundError):
        p.get_session("state")


def test_unknown_duplicate_and_bad_input(shared_workspace: Workspace) -> None:
    p = shared_workspace.process
    p.create_session("dup")
    with pytest.raises(DaytonaConflictError, match="already exists"):
        p.create_session("dup")
    for call in (
        lambda: p.get_session("missing"),
        lambda: p.delete_session("missing"),
        lambda: p.execute_session_command("missing", "true"),
        lambda: p.get_session_command("dup", "no-such-command"),
        lambda: p.get_session_command_logs("dup", "no-such-command"),
        lambda: p.send_session_command_input("dup", "no-such-command", "x"),
    ):
        with pytest.raises(DaytonaNotFoundError):
            call()
    with pytest.raises(DaytonaBadRequestError, match="sessionId may only contain"):
        p.create_session("has space")
    with pytest.raises(DaytonaBadRequestError, match="command must not be empty"):
        p.execute_session_command("dup", " ")
    done = p.execute_session_command("dup", "echo 1")
    with pytest.raises(DaytonaConflictError, match="already finished"):
        p.send_session_command_input("dup", done.cmd_id, "late\n")
    with pytest.raises(DaytonaError, match="past the end of the log"):
        p.read_session_command_logs("dup", done.cmd_id, offset=100)
    with pytest.raises(ValueError, match="disagree"):
        SessionExecuteRequest(command="x", run_async=True, var_async=False)


def test_a_command_reading_stdin_gets_the_input_sent_to_it(shared_workspace: Workspace) -> None:
    p = shared_workspace.process
    p.create_session("input")
    code = 'name = input("name? "); print("hello", name); import sys; print(sys.stdin.read().upper(), end="")'
    started = p.execute_session_command("input", SessionExecuteRequest(command=f"python3 -c '{code}'", run_async=True))
    assert started.exit_code is None  # async: returned at once, the command waits for its input
    p.send_session_command_input("input", started.cmd_id, "Ada\n")
    p.send_session_command_input("input", started.cmd_id, "rest of\nthe input\n", eof=True)
    command = p.follow_session_command_logs("input", started.cmd_id, on_stdout=lambda _: None)
    assert command.exit_code == 0
    assert p.get_session_command_logs("input", started.cmd_id) == "name? hello Ada\nREST OF\nTHE INPUT\n"


def test_commands_waiting_on_stdin_never_hang_the_api(shared_workspace: Workspace) -> None:
    p = shared_workspace.process
    p.create_session("waits")
    p.execute_session_command("waits", "cd /tmp")
    background = p.execute_session_command("waits", SessionExecuteRequest(command="cat", var_async=True))
    assert background.exit_code is None
    with pytest.raises(ProcessExecutionError) as caught:
        p.execute_session_command("waits", "echo asking; read answer", timeout=2)
    assert caught.value.timed_out and caught.value.exit_code == 124 and caught.value.stdout == "asking\n"
    # The session answers again (`read` is a shell builtin: its shell was replaced).
    assert p.execute_session_command("waits", "echo still here").output == "still here\n"
    with pytest.raises(ProcessExecutionError) as caught:
        p.execute_session_command("waits", "sleep 600", timeout=1)
    assert caught.value.timed_out
    assert p.get_session_command("waits", background.cmd_id).exit_code is None  # untouched
    p.send_session_command_input("waits", background.cmd_id, "bye\n", eof=True)
    wait_for(lambda: finished(shared_workspace, "waits", background.cmd_id), "cat to end")
    assert p.get_session_command_logs("waits", background.cmd_id) == "bye\n"


def test_a_60_second_command_followed_live(shared_workspace: Workspace) -> None:
    p = shared_workspace.process
    p.create_session("live")
    script = 'for i in $(seq 1 60); do echo "line $i"; [ $((i % 20)) = 0 ] && echo "tick $i" >&2; sleep 1; done'
    started = p.execute_session_command("live", SessionExecuteRequest(command=script, run_async=True))
    received: list[tuple[str, str, bool]] = []

    def on(stream: str) -> Callable[[str], None]:
        def callback(text: str) -> None:
            running = not received and p.get_session_command("live", started.cmd_id).exit_code is None
            received.append((stream, text, running))

        return callback

    command = p.follow_session_command_logs("live", started.cmd_id, on("stdout"), on("stderr"))
    assert command.exit_code == 0
    assert received[0][2], "the first output arrived only after the command had ended"
    assert len(received) >= 30, "the output came in a few big pieces, not live"
    stdout = "".join(text for stream, text, _ in received if stream == "stdout")
    stderr = "".join(text for stream, text, _ in received if stream == "stderr")
    assert stdout == "".join(f"line {i}\n" for i in range(1, 61))
    assert stderr == "tick 20\ntick 40\ntick 60\n"


def test_logs_resume_from_an_offset(shared_workspace: Workspace) -> None:
    p = shared_workspace.process
    p.create_session("resume")
    started = p.execute_session_command(
        "resume", SessionExecuteRequest(command="echo first; echo oops >&2; read go; echo second", run_async=True)
    )
    wait_for(lambda: "oops" in p.get_session_command_logs("resume", started.cmd_id), "the first lines")
    part = p.read_session_command_logs("resume", started.cmd_id)
    assert (part.output, part.stdout, part.stderr) == ("first\noops\n", "first\n", "oops\n")
    assert part.offset == len(b"first\noops\n") and not part.done and part.exit_code is None
    p.send_session_command_input("resume", started.cmd_id, "\n")
    wait_for(lambda: finished(shared_workspace, "resume", started.cmd_id), "the command to end")
    rest = p.read_session_command_logs("resume", started.cmd_id, offset=part.offset)
    assert (rest.output, rest.done, rest.exit_code) == ("second\n", True, 0)
    chunks = list(p.stream_session_command_logs("resume", started.cmd_id, offset=part.offset))
    assert [(c.stream, c.data) for c in chunks] == [("stdout", "second\n")]


def test_output_is_kept_when_the_client_disconnects(shared_workspace: Workspace, server: RunningServer) -> None:
    p = shared_workspace.process
    p.create_session("gone")
    url = f"{server.url}/toolbox/{shared_workspace.id}/toolbox/process/session/gone/exec"
    headers = {"Authorization": f"Bearer {server.api_key}"}
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(url, json={"command": "sleep 2; echo finished anyway"}, headers=headers, timeout=0.5)
    session = p.get_session("gone")
    assert len(session.commands) == 1
    cmd_id = session.commands[0].id
    wait_for(lambda: finished(shared_workspace, "gone", cmd_id), "the abandoned command to end")
    assert p.get_session_command("gone", cmd_id).exit_code == 0
    assert p.get_session_command_logs("gone", cmd_id) == "finished anyway\n"


def test_delete_session_kills_what_runs_in_it(shared_workspace: Workspace) -> None:
    p = shared_workspace.process
    p.create_session("doomed")
    p.execute_session_command("doomed", SessionExecuteRequest(command="sleep 1001", run_async=True))
    p.execute_session_command("doomed", SessionExecuteRequest(command="setsid sleep 1002 & sleep 1003", run_async=True))
    wait_for(lambda: shared_workspace.process.exec("pgrep -c -f 'sleep 100[123]'").result.strip() == "3", "the sleeps")
    p.delete_session("doomed")
    wait_for(lambda: shared_workspace.process.exec("pgrep -c -f 'sleep 100[123]'").result.strip() == "0", "the kill")
    assert "doomed" not in [s.session_id for s in p.list_sessions()]


def test_activity_tells_whether_session_commands_run(workspace: Workspace, server: RunningServer) -> None:
    url = f"{server.url}/toolbox/{workspace.id}/toolbox/activity"
    headers = {"Authorization": f"Bearer {server.api_key}"}
    idle = httpx.get(url, headers=headers).json()
    assert (idle["busy"], idle["runningCommands"]) == (False, 0)
    workspace.process.create_session("busy")
    workspace.process.execute_session_command("busy", SessionExecuteRequest(command="sleep 600", run_async=True))
    busy = httpx.get(url, headers=headers).json()
    assert (busy["busy"], busy["runningCommands"]) == (True, 1) and busy["lastActivity"] >= idle["lastActivity"]
    workspace.process.delete_session("busy")
    assert httpx.get(url, headers=headers).json()["busy"] is False


def test_output_caps_in_memory_and_in_the_log(daytona: Daytona) -> None:
    # DAYTONA_AGENT_* variables configure the sandbox's agent (they do not reach user processes).
    env = {"DAYTONA_AGENT_SESSION_LOG_CAP": "100000", "DAYTONA_AGENT_MAX_OUTPUT": "200000"}
    workspace = daytona.create(CreateWorkspaceParams(env_vars=env))
    try:
        p = workspace.process
        gigabyte = "head -c 1073741824 /dev/zero | tr '\\0' x"
        r = p.exec(gigabyte)
        assert r.exit_code == 0
        assert r.stdout.startswith("x" * 200000) and "[output truncated: more than 200000 bytes]" in r.stdout
        assert len(r.stdout) < 200100
        p.create_session("big")
        s = p.execute_session_command("big", gigabyte + "; echo the end")
        assert s.exit_code == 0
        command = p.get_session_command("big", s.cmd_id)
        assert command.truncated and 100000 < command.log_size < 100200
        log = p.get_session_command_logs("big", s.cmd_id)
        assert log.startswith("x" * 100000) and "log keeps the first 100000 bytes" in log
        assert p.exec("echo ${DAYTONA_AGENT_MAX_OUTPUT:-unset}").result == "unset\n"
    finally:
        daytona.remove(workspace)


def test_logs_and_exit_codes_survive_stop_and_start(workspace: Workspace) -> None:
    p = workspace.process
    p.create_session("durable")
    p.execute_session_command("durable", "cd /workspace")
    done = p.execute_session_command("durable", "echo kept; echo also >&2; sh -c 'exit 3'")
    running = p.execute_session_command(
        "durable", SessionExecuteRequest(command="echo before stop; sleep 600", run_async=True)
    )
    wait_for(lambda: "before stop" in p.get_session_command_logs("durable", running.cmd_id), "output")
    assert p.execute_session_command("durable", "pwd").output == "/workspace\n"
    workspace.stop()
    workspace.start()
    session = p.get_session("durable")
    codes = {c.id: c.exit_code for c in session.commands}
    assert codes[done.cmd_id] == 3 and codes[running.cmd_id] == 137
    assert p.get_session_command_logs("durable", done.cmd_id) == "kept\nalso\n"
    logs = p.read_session_command_logs("durable", running.cmd_id)
    assert logs.stdout == "before stop\n" and "interrupted: the sandbox stopped" in logs.stderr
    # The session goes on with a fresh shell: the earlier `cd` is gone.
    assert p.execute_session_command("durable", "pwd").output == "/home/daytona\n"
    assert workspace.process.exec("pgrep -c -f 'sleep 60[0]'").result.strip() == "0"


def test_server_restart_in_the_middle_of_an_async_command(tmp_path_factory: pytest.TempPathFactory) -> None:
    data_dir = tmp_path_factory.mktemp("session-restart") / "data"
    first = start_server(data_dir, "dtn_session_restart")
    second: RunningServer | None = None
    try:
        with Daytona(first.config()) as daytona:
            workspace = daytona.create()
            p = workspace.process
            p.create_session("through")
            script = "for i in $(seq 1 30); do echo step $i; sleep 0.3; done; echo done >&2; exit 5"
            started = p.execute_session_command("through", SessionExecuteRequest(command=script, run_async=True))
            wait_for(lambda: "step 3\n" in p.get_session_command_logs("through", started.cmd_id), "first steps")
            before = p.read_session_command_logs("through", started.cmd_id)
        stop_server(first)
        second = start_server(data_dir, "dtn_session_restart", port=first.port)
        with Daytona(second.config()) as daytona:
            workspace = daytona.get_current_workspace(workspace.id)
            p = workspace.process
            rest = "".join(c.data for c in p.stream_session_command_logs("through", started.cmd_id, before.offset))
            assert before.output + rest == "".join(f"step {i}\n" for i in range(1, 31)) + "done\n"
            assert p.get_session_command("through", started.cmd_id).exit_code == 5
            assert p.get_session_command_logs("through", started.cmd_id) == before.output + rest
            daytona.remove(workspace)
    finally:
        if second is not None:
            stop_server(second)
        stop_server(first)


async def test_async_sdk_streams_session_logs_and_exec_output(server: RunningServer) -> None:
    async with AsyncDaytona(server.config()) as daytona:
        workspace = await daytona.create()
        try:
            p = workspace.process
            await p.create_session("aio")
            started = await p.execute_session_command(
                "aio", SessionExecuteRequest(command="echo a; sleep 0.5; echo b >&2; sleep 0.5; echo c", run_async=True)
            )
            chunks = [(c.stream, c.data) async for c in p.stream_session_command_logs("aio", started.cmd_id)]
            assert "".join(d for s, d in chunks if s == "stdout") == "a\nc\n"
            assert [d for s, d in chunks if s == "stderr"] == ["b\n"]
            seen: list[str] = []
            result = await p.exec("echo x; sleep 0.3; echo y", on_stdout=seen.append)
            assert "".join(seen) == result.stdout == "x\ny\n"
            sessions = await asyncio.gather(p.get_session("aio"), p.list_sessions())
            assert sessions[0].commands[0].exit_code == 0 and len(sessions[1]) == 1
        finally:
            await daytona.remove(workspace)


def test_two_commands_of_one_session_in_parallel_threads(shared_workspace: Workspace) -> None:
    """Sync commands of one session queue; a second client never gets mixed output."""
    p = shared_workspace.process
    p.create_session("queue")
    results: dict[int, str] = {}

    def run(i: int) -> None:
        results[i] = p.execute_session_command("queue", f"echo start {i}; sleep 0.5; echo end {i}").output or ""

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {i: f"start {i}\nend {i}\n" for i in range(3)}
