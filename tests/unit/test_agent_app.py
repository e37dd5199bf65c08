"""The agent's route table (app.py) and start-up (__main__.py): every route still there, loaded late.

An idle agent must stay small (about 11 MB, bare python3 is 8): it imports no feature, and none of
the heavy standard modules, until a request needs them (bench/agent_memory.py measures it).
"""

from __future__ import annotations

import functools
import os
import pwd
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from daytona_agent import __main__ as agent_main
from daytona_agent import app, env_store, pty_sessions, session_routes
from daytona_agent.http import Request, Router
from daytona_agent.http_protocol import Headers
from daytona_agent.sessions import SessionManager
from daytona_agent.users import OsUser

SRC = Path(__file__).resolve().parents[2] / "src"

ROUTES = {
    "/activity": "GET",
    "/env": "POST",
    "/files": "DELETE GET",
    "/files/bulk-download": "POST",
    "/files/bulk-upload": "POST",
    "/files/download": "GET",
    "/files/find": "GET",
    "/files/folder": "POST",
    "/files/info": "GET",
    "/files/move": "POST",
    "/files/permissions": "POST",
    "/files/replace": "POST",
    "/files/search": "GET",
    "/files/upload": "POST",
    "/files/upload-v2": "POST",
    "/git/add": "POST",
    "/git/branches": "DELETE GET POST",
    "/git/checkout": "POST",
    "/git/clone": "POST",
    "/git/commit": "POST",
    "/git/config": "GET POST",
    "/git/config/user": "POST",
    "/git/credentials": "POST",
    "/git/history": "GET",
    "/git/init": "POST",
    "/git/pull": "POST",
    "/git/push": "POST",
    "/git/remotes": "GET POST",
    "/git/reset": "POST",
    "/git/restore": "POST",
    "/git/status": "GET",
    "/health": "GET",
    "/lsp/completions": "POST",
    "/lsp/did-close": "POST",
    "/lsp/did-open": "POST",
    "/lsp/document-symbols": "GET",
    "/lsp/servers": "GET",
    "/lsp/start": "POST",
    "/lsp/stop": "POST",
    "/lsp/workspace-symbols": "GET",
    "/lsp/workspacesymbols": "GET",
    "/port": "GET",
    "/port/{port}/in-use": "GET",
    "/preview/{port}/{path:path}": "DELETE GET HEAD OPTIONS PATCH POST PUT",
    "/process/code-run": "POST",
    "/process/execute": "POST",
    "/process/interpreter/context": "GET POST",
    "/process/interpreter/context/{id}": "DELETE",
    "/process/interpreter/execute": "GET",
    "/process/pty": "GET POST",
    "/process/pty/create-connect": "GET",
    "/process/pty/{sessionId}": "DELETE GET",
    "/process/pty/{sessionId}/connect": "GET",
    "/process/pty/{sessionId}/resize": "POST",
    "/process/session": "GET POST",
    "/process/session/{sessionId}": "DELETE GET",
    "/process/session/{sessionId}/command/{commandId}": "GET",
    "/process/session/{sessionId}/command/{commandId}/input": "POST",
    "/process/session/{sessionId}/command/{commandId}/logs": "GET",
    "/process/session/{sessionId}/exec": "POST",
    "/project-dir": "GET",
    "/system/metrics": "GET",
    "/user-home-dir": "GET",
    "/version": "GET",
    "/work-dir": "GET",
}


def table(router: Router) -> dict[str, str]:
    """The router's routes as they were declared: path -> its methods."""
    found: dict[str, list[str]] = {}
    for method, path in router.routes:
        found.setdefault(path, []).append(method)
    for method, pattern, _ in router.patterns:
        path = re.sub(r"\(\?P<(\w+)>\.\*\)", r"{\1:path}", pattern.pattern[1:-1])
        found.setdefault(re.sub(r"\(\?P<(\w+)>\[\^/\]\+\)", r"{\1}", path), []).append(method)
    return {path: " ".join(sorted(methods)) for path, methods in found.items()}


@pytest.fixture
def me(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> OsUser:
    """The test's user, with every file the features keep under tmp_path."""
    monkeypatch.setattr(session_routes, "SessionManager", functools.partial(SessionManager, root=str(tmp_path / "s")))
    monkeypatch.setattr(env_store, "_store", env_store.EnvOverrides(str(tmp_path / "env.json")))
    entry = pwd.getpwuid(os.getuid())
    return OsUser(entry.pw_name, entry.pw_uid, entry.pw_gid, str(tmp_path), "/bin/sh", [])


def get(router: Router, path: str) -> object:
    return router.dispatch(Request("GET", path, {}, Headers([]), None)).body


def test_the_whole_toolbox_is_routed(me: OsUser) -> None:
    router = app.build_router(me)
    assert table(router) == {"/health": "GET", "/project-dir": "GET"}
    router.load_all()
    assert table(router) == ROUTES


@pytest.mark.parametrize(("prefixes", "functions"), [*app.FEATURES, app.SESSIONS])
def test_each_feature_routes_only_under_its_prefixes(
    me: OsUser, prefixes: tuple[str, ...], functions: tuple[str]
) -> None:
    router = Router()
    app.loader(me, functions)(router)
    assert table(router) and all(path.startswith(prefixes) for path in table(router))


def test_activity_counts_the_terminals_and_starts_at_the_start(me: OsUser, monkeypatch: pytest.MonkeyPatch) -> None:
    before = time.time()
    router = app.build_router(me)
    idle = get(router, "/activity")
    assert isinstance(idle, dict) and (idle["busy"], idle["openTerminals"]) == (False, 0)
    assert before <= idle["lastActivity"] <= time.time()
    monkeypatch.setattr(pty_sessions.PtyManager, "alive", lambda self: 1)
    assert get(router, "/process/pty") == {"sessions": []}  # loads the PTY feature
    busy = get(router, "/activity")
    assert isinstance(busy, dict) and (busy["busy"], busy["openTerminals"]) == (True, 1)


IDLE_AGENT = """
import os, socket, sys, threading, time
sys.path.insert(0, sys.argv[1])
path = sys.argv[2]

def probe():
    deadline = time.monotonic() + 30
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.01)
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(path)
        sock.sendall(b"GET /health HTTP/1.1\\r\\n\\r\\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 200 OK")
    print(" ".join(sorted(sys.modules)), flush=True)
    os._exit(0)

threading.Thread(target=probe, daemon=True).start()
from daytona_agent.__main__ import main
main(["--socket", path, "--user", sys.argv[3]])
"""
HEAVY = {"typing", "subprocess", "hashlib", "_hashlib", "datetime", "argparse", "urllib.parse", "http.server", "email"}
AT_START = {"__main__", "app", "children", "http", "http_protocol", "users"}


def test_an_idle_agent_imports_no_feature_and_nothing_heavy(tmp_path: Path) -> None:
    user = pwd.getpwuid(os.getuid()).pw_name
    argv = [sys.executable, "-I", "-S", "-B", "-c", IDLE_AGENT, str(SRC), str(tmp_path / "agent.sock"), user]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    modules = set(done.stdout.split())
    assert not modules & HEAVY
    assert {m.split(".", 1)[1] for m in modules if m.startswith("daytona_agent.")} == AT_START


@pytest.mark.parametrize(
    "argv",
    [
        ["--socket", "/run/a.sock", "--user", "daytona"],
        ["--socket", "/run/a.sock", "--user", "u", "--entrypoint", "nginx -g 'daemon off;'"],
        ["--await-identity", "--socket", "/run/a.sock", "--user", "u"],
        ["--socket=/run/a.sock", "--user", "u"],
        ["--sock", "/run/a.sock"],
    ],
)
def test_arguments_read_by_hand_are_what_argparse_reads(argv: list[str]) -> None:
    assert agent_main.parse_args(argv) == agent_main._argparse(argv)


@pytest.mark.parametrize(
    ("argv", "code"),
    [(["--help"], 0), (["--user", "u"], 2), (["--bogus"], 2), (["--socket", "/run/a.sock", "--entrypoint", "-x"], 2)],
)
def test_anything_unusual_goes_to_argparse(argv: list[str], code: int, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        agent_main.parse_args(argv)
    printed = capsys.readouterr()
    assert caught.value.code == code and "daytona-agent" in printed.out + printed.err
