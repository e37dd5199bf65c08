"""Commands run in the sandbox as its user, with cwd, env, timeouts and separate streams."""

from __future__ import annotations

import pytest

from daytona_sdk import (
    CodeRunParams,
    CreateWorkspaceParams,
    Daytona,
    DaytonaBadRequestError,
    ProcessExecutionError,
    Workspace,
)


def test_commands_run_as_the_sandbox_user_with_a_writable_workspace(shared_workspace: Workspace) -> None:
    response = shared_workspace.process.exec("id -un; echo $HOME; touch /workspace/x && stat -c %U /workspace/x")
    assert response.result.split() == ["daytona", "/home/daytona", "daytona"]


def test_exec_with_cwd_env_and_separate_streams(shared_workspace: Workspace) -> None:
    response = shared_workspace.process.exec(
        "pwd; echo $A-$B; echo oops >&2; exit 3", cwd="/tmp", env={"A": "1", "B": "two"}
    )
    assert response.exit_code == 3
    assert response.stdout == "/tmp\n1-two\n"
    assert response.stderr == "oops\n"
    assert response.output == response.result == "/tmp\n1-two\noops\n"


def test_exec_check_raises_process_execution_error(shared_workspace: Workspace) -> None:
    with pytest.raises(ProcessExecutionError) as caught:
        shared_workspace.process.exec("echo out; echo bad thing >&2; exit 4", check=True)
    assert caught.value.exit_code == 4
    assert caught.value.stdout == "out\n"
    assert "bad thing" in str(caught.value)


def test_timeout_kills_the_whole_process_tree(workspace: Workspace) -> None:
    with pytest.raises(ProcessExecutionError) as caught:
        # A child in its own session must die too.
        workspace.process.exec("setsid sleep 300 & sleep 300", timeout=1)
    assert caught.value.timed_out
    # Killed processes may linger as zombies for up to a second until the agent (PID 1) reaps them.
    left = workspace.process.exec("ps -eo stat=,comm= | awk '$1 !~ /^Z/ && $2 == \"sleep\"' | wc -l")
    assert left.result.strip() == "0"


def test_code_run_params_and_stdin(shared_workspace: Workspace) -> None:
    code = "import os, sys\nprint(sys.argv[1:], os.environ['MODE'], input())"
    response = shared_workspace.process.code_run(
        code, params=CodeRunParams(argv=["a", "b c"], env={"MODE": "x"}), input="fed\n"
    )
    assert response.result == "['a', 'b c'] x fed\n"


def test_stdin_is_closed_so_reads_do_not_hang(shared_workspace: Workspace) -> None:
    response = shared_workspace.process.exec("cat; echo done", timeout=10)
    assert response.result == "done\n"


def test_background_processes_do_not_hold_the_response(shared_workspace: Workspace) -> None:
    response = shared_workspace.process.exec("sleep 60 & echo started", timeout=10)
    assert response.result == "started\n"


def test_bad_exec_input(shared_workspace: Workspace) -> None:
    with pytest.raises(DaytonaBadRequestError, match="working directory does not exist"):
        shared_workspace.process.exec("ls", cwd="/no/such/dir")
    with pytest.raises(DaytonaBadRequestError, match="command must not be empty"):
        shared_workspace.process.exec("  ")


def test_large_output_is_returned_whole(shared_workspace: Workspace) -> None:
    response = shared_workspace.process.exec("head -c 3000000 /dev/zero | tr '\\0' a")
    assert len(response.stdout) == 3_000_000


def test_exec_and_code_run_stream_output_to_callbacks(shared_workspace: Workspace) -> None:
    out: list[str] = []
    err: list[str] = []
    r = shared_workspace.process.exec(
        "echo one; sleep 1; echo two >&2; sleep 1; echo three", on_stdout=out.append, on_stderr=err.append
    )
    assert (r.exit_code, r.stdout, r.stderr, r.result) == (0, "one\nthree\n", "two\n", "one\ntwo\nthree\n")
    assert out == ["one\n", "three\n"] and err == ["two\n"]
    with pytest.raises(ProcessExecutionError) as caught:
        shared_workspace.process.exec("echo begun; sleep 60", timeout=1, on_stdout=out.append)
    assert caught.value.timed_out and caught.value.stdout == "begun\n"
    seen: list[str] = []
    code = shared_workspace.process.code_run("print(input()[::-1])", input="olleh\n", on_stdout=seen.append)
    # python3 -u may write "hello" and "\n" separately: chunk boundaries are the program's, not ours.
    assert "".join(seen) == "hello\n" and code.result == "hello\n"
    with pytest.raises(DaytonaBadRequestError, match="working directory does not exist"):
        shared_workspace.process.exec("ls", cwd="/no/such/dir", on_stdout=print)


NODE_CODE = {
    "javascript": "const input = require('fs').readFileSync(0, 'utf8');",
    "typescript": "import * as fs from 'fs'; const input: string = fs.readFileSync(0, 'utf8');",
}


@pytest.mark.parametrize("language", ["javascript", "typescript"])
def test_code_run_javascript_and_typescript(daytona: Daytona, language: str) -> None:
    workspace = daytona.create(CreateWorkspaceParams(language=language))
    try:
        code = NODE_CODE[language] + (
            " console.log(process.argv.slice(2).join(','), process.env.MODE, input.trim());"
            " console.error('warned'); process.exit(3)"
        )
        r = workspace.process.code_run(code, params=CodeRunParams(argv=["a", "b c"], env={"MODE": "m"}), input="fed\n")
        assert (r.exit_code, r.stdout, r.stderr) == (3, "a,b c m fed\n", "warned\n")
        with pytest.raises(ProcessExecutionError) as caught:
            workspace.process.code_run("console.log('waiting'); setTimeout(() => {}, 60000)", timeout=2)
        assert caught.value.timed_out and caught.value.stdout == "waiting\n"
    finally:
        daytona.remove(workspace)


@pytest.mark.parametrize(("os_user", "home"), [("alice", "/home/alice"), ("root", "/root")])
def test_os_user_picks_who_runs_commands(daytona: Daytona, os_user: str, home: str) -> None:
    workspace = daytona.create(CreateWorkspaceParams(os_user=os_user))
    try:
        assert workspace.get_workspace_root_dir() == home
        result = workspace.process.exec("id -un; echo $HOME; touch /workspace/f && stat -c %U /workspace/f")
        assert result.result.split() == [os_user, home, os_user]
    finally:
        daytona.remove(workspace)
