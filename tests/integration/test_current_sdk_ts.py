"""Today's published TypeScript SDK (`@daytonaio/sdk` 0.218.0) against our server, unchanged.

tests/compat/typescript/flows.mjs runs the documented flows one by one and prints `ok <flow>` or
`fail <flow> …` for each (`make current-sdk` installs the SDK there); session logs are followed over
a WebSocket.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ..support.server import ROOT, RunningServer

HARNESS = ROOT / "tests" / "compat" / "typescript"
FLOWS = (
    "dirs,code-run,execute-command,upload-download-file,upload-download-files,download-missing,git,sessions,"
    "session-logs-follow,pty,interpreter,"
    "stop-start,archive-start,labels-list,preview,lsp,snapshot,create-from-image,volume,fork,error-not-found,error-authentication"
)


def test_typescript_sdk_flows(server: RunningServer, tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None or not (HARNESS / "node_modules" / "@daytonaio" / "sdk").exists():
        pytest.fail("the TypeScript SDK harness is not installed: run `make current-sdk` (make test does)")
    env = {**os.environ, "DAYTONA_API_KEY": server.api_key, "DAYTONA_API_URL": server.url, "COMPAT_FLOWS": FLOWS}
    done = subprocess.run(
        [node, "flows.mjs"], cwd=HARNESS, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    lines = done.stdout.splitlines()
    failed = [line for line in lines if line.startswith("fail")]
    assert not failed and done.returncode == 0, done.stdout + done.stderr
    passed = {line.split()[1] for line in lines if line.startswith("ok")}
    assert set(FLOWS.split(",")) <= passed, done.stdout
