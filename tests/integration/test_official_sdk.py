"""The published Daytona SDK (0.10.0 with daytona_api_client 0.14.0) works against our server unchanged.

It shares our import name, so it lives in a venv of its own (`make official-sdk`) and runs in a
subprocess.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from ..support.server import RunningServer, run_official_sdk

SCRIPT = textwrap.dedent(
    """
    import sys
    from daytona_sdk import Daytona, DaytonaConfig, CreateWorkspaceParams
    daytona = Daytona(DaytonaConfig(api_key=sys.argv[1], server_url=sys.argv[2], target="us"))
    workspace = daytona.create()
    response = workspace.process.code_run('print("Hello World from code!")')
    print("python", response.exit_code, response.result.strip())
    print("root", workspace.get_workspace_root_dir())
    print("exec", workspace.process.exec("echo hi; exit 3").exit_code)
    info = workspace.info()
    print("info", info.state, info.resources.cpu, info.resources.memory)
    workspace.stop()
    print("stopped", workspace.info().state)
    workspace.start()
    print("started", workspace.info().state)
    print("labels", workspace.set_labels({"a": "b"}).labels)
    ts = daytona.create(CreateWorkspaceParams(language="typescript"))
    print("typescript", ts.process.code_run('const s: string = "ts"; console.log(s.toUpperCase())').result.strip())
    print("listed", sorted(w.id for w in daytona.list()) == sorted([workspace.id, ts.id]))
    daytona.remove(workspace)
    daytona.remove(ts)
    try:
        daytona.get_current_workspace(workspace.id)
    except Exception as exc:
        print("gone", type(exc).__name__, exc)
    """
)


def test_official_sdk_quickstart(server: RunningServer, tmp_path: Path) -> None:
    lines = run_official_sdk(SCRIPT, tmp_path, server.api_key, server.url)
    assert lines[:9] == [
        "python 0 Hello World from code!",
        "root /home/daytona",
        "exec 3",
        "info started 1 2Gi",
        "stopped stopped",
        "started started",
        "labels {'a': 'b'}",
        "typescript TS",
        "listed True",
    ]
    assert lines[9].startswith("gone DaytonaError Failed to get workspace: sandbox ")
    assert lines[9].endswith(" not found")
