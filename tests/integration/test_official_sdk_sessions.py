"""The published Daytona SDK's sessions (daytona-sdk 0.10.0, daytona_api_client 0.14.0) against our server."""

from __future__ import annotations

import textwrap
from pathlib import Path

from ..support.server import RunningServer, run_official_sdk

SCRIPT = textwrap.dedent(
    """
    import sys, time
    from daytona_api_client import SessionExecuteRequest
    from daytona_sdk import Daytona, DaytonaConfig

    daytona = Daytona(DaytonaConfig(api_key=sys.argv[1], server_url=sys.argv[2], target="us"))
    workspace = daytona.create()
    p = workspace.process
    try:
        p.create_session("my-session")
        p.execute_session_command("my-session", SessionExecuteRequest(command="cd /workspace", var_async=False))
        r = p.execute_session_command("my-session", SessionExecuteRequest(command="pwd; echo e >&2; sh -c 'exit 2'"))
        print("sync", r.exit_code, repr(r.output), bool(r.cmd_id))
        a = p.execute_session_command(
            "my-session", SessionExecuteRequest(command="sleep 1; echo Done", var_async=True)
        )
        print("async", a.exit_code, a.output)
        deadline = time.time() + 60
        while p.get_session_command("my-session", a.cmd_id).exit_code is None and time.time() < deadline:
            time.sleep(0.2)
        cmd = p.get_session_command("my-session", a.cmd_id)
        print("command", cmd.id == a.cmd_id, cmd.command, cmd.exit_code)
        print("logs", repr(p.get_session_command_logs("my-session", a.cmd_id)))
        session = p.get_session("my-session")
        print("session", session.session_id, [c.exit_code for c in session.commands])
        print("list", [(s.session_id, len(s.commands)) for s in p.list_sessions()])
        try:
            p.create_session("my-session")
        except Exception as exc:
            print("duplicate", type(exc).__name__, exc)
        p.delete_session("my-session")
        try:
            p.get_session("my-session")
        except Exception as exc:
            print("deleted", type(exc).__name__, exc)
        try:
            p.get_session_command_logs("nope", "nope")
        except Exception as exc:
            print("unknown", type(exc).__name__, exc)
    finally:
        daytona.remove(workspace)
    """
)


def test_official_sdk_sessions(server: RunningServer, tmp_path: Path) -> None:
    lines = run_official_sdk(SCRIPT, tmp_path, server.api_key, server.url)
    assert lines == [
        "sync 2 '/workspace\\ne\\n' True",
        "async None None",
        "command True sleep 1; echo Done 0",
        "logs 'Done\\n'",
        "session my-session [0, 2, 0]",
        "list [('my-session', 3)]",
        "duplicate DaytonaError Failed to create session: session my-session already exists",
        "deleted DaytonaError Failed to get session: session my-session not found",
        "unknown DaytonaError Failed to get session command logs: session nope not found",
    ]
