"""Every operation of the published `daytona_api_client` 0.14.0 gets the success status it expects.

The generated client picks the response type by the exact status (`_response_types_map`): a 200
where it expects 201 makes `ApiKeysApi.create_api_key` return None. So for each of its operations
this test checks that our OpenAPI spec has the operation (method + path), that the one 2xx our route
declares is the client's, and that calling it (in-process, over a stand-in runtime and a real agent
for the toolbox) answers exactly that status. Then the official client itself creates a key.

The client is read as text from `.venv-official` (it has our SDK's import name, so our venv never
installs it). Without that venv the test skips, except under CI (env `CI` set, as `.ci/run` does),
where `make test` has installed it and its absence is a broken set-up: there it fails.
"""

from __future__ import annotations

import ast
import os
import re
import socket
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from daytona_server.api.app import create_app
from daytona_server.config import Settings
from daytona_server.main import bootstrap

from ..support.accounts import KEY
from ..support.api_runtime import ApiRuntime, serve_agent

ROOT = Path(__file__).resolve().parents[2]
OFFICIAL_VENV = ROOT / ".venv-official"

# Client operations we do not implement, and why. Any other missing operation fails the test, and so
# does one listed here that the server has gained (then take it off the list).
NOT_IMPLEMENTED: dict[tuple[str, str], str] = {
    ("POST", "/api/docker-registry"): "no registries: images are built or pushed to the runner (/api/images/*)",
    ("GET", "/api/docker-registry"): "no registries",
    ("GET", "/api/docker-registry/{}"): "no registries",
    ("PATCH", "/api/docker-registry/{}"): "no registries",
    ("DELETE", "/api/docker-registry/{}"): "no registries",
    ("POST", "/api/docker-registry/{}/set-default"): "no registries",
    ("GET", "/api/docker-registry/registry-push-access"): "no registries: `daytona image push` uploads a tarball",
    ("POST", "/api/nodes"): "runner nodes are not registered through the API",
    ("GET", "/api/nodes"): "runner nodes are not registered through the API",
    ("PATCH", "/api/nodes/{}/scheduling"): "runner nodes are not registered through the API",
    ("POST", "/api/users/{}/regenerate-key-pair"): "no per-user key pairs (no SSH gateway)",
    ("POST", "/api/workspace/{}/snapshot"): "sandbox snapshots are not implemented",
}
# Implemented client operations the in-process run does not call, and why.
NOT_CALLED: dict[str, str] = {
    name: "needs a language server in the sandbox: tests/integration/test_lsp.py calls it"
    for name in (
        "lsp_completions",
        "lsp_did_close",
        "lsp_did_open",
        "lsp_document_symbols",
        "lsp_start",
        "lsp_stop",
        "lsp_workspace_symbols",
    )
}


@dataclass(frozen=True)
class ClientOperation:
    module: str
    name: str
    method: str
    path: str  # ours: /api + the client's resource path
    success: int

    @property
    def key(self) -> tuple[str, str]:
        return self.method, template(self.path)


def template(path: str) -> str:
    """A path with its parameter names dropped: /api/workspace/{workspaceId} -> /api/workspace/{}."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def official_api_dir() -> Path:
    found = sorted(OFFICIAL_VENV.glob("lib/python*/site-packages/daytona_api_client/api"))
    if not found:
        message = f"the published daytona_api_client is not in {OFFICIAL_VENV}: run `make official-sdk`"
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail(message + " (make test does; under CI its absence is an error)")
        pytest.skip(message)
    return found[-1]


def client_operations(api_dir: Path) -> list[ClientOperation]:
    """Each public operation of the generated client: its method, path and the 2xx it expects."""
    operations = []
    for file in sorted(api_dir.glob("*_api.py")):
        tree = ast.parse(file.read_text())
        for cls in (node for node in tree.body if isinstance(node, ast.ClassDef)):
            methods = {m.name: m for m in cls.body if isinstance(m, ast.FunctionDef)}
            for name, method in methods.items():
                if name.startswith("_") or name.endswith(("_with_http_info", "_without_preload_content")):
                    continue
                serialize = methods[f"_{name}_serialize"]
                call = next(
                    n
                    for n in ast.walk(serialize)
                    if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "param_serialize"
                )
                args = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg in ("method", "resource_path")}
                types_map = next(
                    ast.literal_eval(n.value)
                    for n in ast.walk(method)
                    if isinstance(n, ast.AnnAssign)
                    and isinstance(n.target, ast.Name)
                    and n.target.id == "_response_types_map"
                    and n.value is not None
                )
                successes = [int(s) for s in types_map if s.startswith("2")]
                assert len(successes) == 1, (file.name, name, types_map)
                operations.append(
                    ClientOperation(file.name, name, args["method"], "/api" + args["resource_path"], successes[0])
                )
    return operations


@pytest.fixture(scope="module")
def operations() -> list[ClientOperation]:
    found = client_operations(official_api_dir())
    assert len(found) > 60 and any(op.name == "create_api_key" and op.success == 201 for op in found)
    return found


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(data_dir=tmp_path / "data", bootstrap_api_key=KEY)
    bootstrap(settings)
    return settings


def server_operations(settings: Settings) -> dict[tuple[str, str], dict[str, Any]]:
    spec = create_app(settings, ApiRuntime()).openapi()
    return {
        (method.upper(), template(path)): operation
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    }


def test_every_client_operation_is_served_with_the_status_it_expects(
    operations: list[ClientOperation], settings: Settings
) -> None:
    ours = server_operations(settings)
    missing = sorted(op.key for op in operations if op.key not in ours)
    assert set(missing) == set(NOT_IMPLEMENTED), (
        f"client operations we lack and do not list: {sorted(set(missing) - set(NOT_IMPLEMENTED))}; "
        f"listed as lacking but served: {sorted(set(NOT_IMPLEMENTED) - set(missing))}"
    )
    wrong = []
    for op in operations:
        if op.key in NOT_IMPLEMENTED:
            continue
        declared = sorted(int(s) for s in ours[op.key]["responses"] if s.startswith("2"))
        if declared != [op.success]:
            wrong.append(f"{op.method} {op.path} ({op.name}): client expects {op.success}, we declare {declared}")
    assert not wrong, "\n".join(wrong)


# -- what the routes answer -------------------------------------------------------------------------


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
async def http(settings: Settings, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    runtime = ApiRuntime()
    runtime.agent_sockets["box"] = tmp_path / "agent.sock"
    app = create_app(settings, runtime)
    with serve_agent(tmp_path / "agent.sock", tmp_path / "home"):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://test",
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=60,
        ) as client:
            yield client


async def test_every_client_operation_answers_the_status_it_expects(
    operations: list[ClientOperation], http: httpx.AsyncClient, tmp_path: Path
) -> None:
    by_name = {op.name: op for op in operations}
    called: set[str] = set()
    wrong: list[str] = []

    async def call(name: str, path: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        op = by_name[name]
        url = op.path
        for key, value in (path or {}).items():
            url = url.replace("{" + key + "}", value)
        assert "{" not in url, (name, url)
        response = await http.request(op.method, url, **kwargs)
        called.add(name)
        if response.status_code != op.success:
            wrong.append(
                f"{op.method} {url} ({name}): expected {op.success}, got {response.status_code} {response.text}"
            )
        return response

    box = {"workspaceId": "box"}
    home = tmp_path / "home"
    # Sandboxes.
    await call("create_workspace", json={"id": "box"})
    await call("list_workspaces")
    await call("get_workspace", box)
    await call("replace_labels", box, json={"labels": {"a": "b"}})
    await call("set_autostop_interval", {**box, "interval": "5"})
    await call("update_public_status", {**box, "isPublic": "true"})
    # The toolbox, relayed to a real agent: files, git, sessions, processes.
    await call("get_project_dir", box)
    await call("execute_command", box, json={"command": "echo hi"})
    await call("create_folder", box, params={"path": f"{home}/d", "mode": "755"})
    await call("upload_file", box, params={"path": f"{home}/d/a.txt"}, files={"file": ("a.txt", b"hello\n")})
    await call("list_files", box, params={"path": f"{home}/d"})
    await call("get_file_info", box, params={"path": f"{home}/d/a.txt"})
    await call("download_file", box, params={"path": f"{home}/d/a.txt"})
    await call("find_in_files", box, params={"path": f"{home}/d", "pattern": "hello"})
    await call("search_files", box, params={"path": f"{home}/d", "pattern": "*.txt"})
    await call("replace_in_files", box, json={"files": [f"{home}/d/a.txt"], "pattern": "hello", "newValue": "bye"})
    await call("set_file_permissions", box, params={"path": f"{home}/d/a.txt", "mode": "644"})
    await call("move_file", box, params={"source": f"{home}/d/a.txt", "destination": f"{home}/d/b.txt"})
    await call("delete_file", box, params={"path": f"{home}/d/b.txt"})
    origin = tmp_path / "origin.git"
    origin.mkdir()
    git("init", "--bare", "--quiet", cwd=origin)
    repo = f"{home}/repo"
    await call("git_clone_repository", box, json={"url": str(origin), "path": repo})
    (home / "repo" / "f.txt").write_text("x\n")
    await call("git_get_status", box, params={"path": repo})
    await call("git_add_files", box, json={"path": repo, "files": ["."]})
    await call("git_commit_changes", box, json={"path": repo, "message": "m", "author": "A", "email": "a@b.c"})
    await call("git_create_branch", box, json={"path": repo, "name": "feature"})
    await call("git_list_branches", box, params={"path": repo})
    await call("git_get_history", box, params={"path": repo})
    await call("git_push_changes", box, json={"path": repo})
    await call("git_pull_changes", box, json={"path": repo})
    session = {**box, "sessionId": "s1"}
    await call("create_session", box, json={"sessionId": "s1"})
    await call("list_sessions", box)
    await call("get_session", session)
    executed = (await call("execute_session_command", session, json={"command": "echo hi"})).json()
    command = {**session, "commandId": str(executed.get("cmdId"))}
    await call("get_session_command", command)
    await call("get_session_command_logs", command)
    await call("delete_session", session)
    # Back to the sandbox: stop, resize, start, archive; another one to delete.
    await call("stop_workspace", box)
    await call("workspace_controller_resize_workspace", box, json={"cpu": 2})
    await call("start_workspace", box)
    await http.post("/api/workspace/box/stop")
    await call("archive_workspace", box)
    await http.post("/api/workspace", json={"id": "gone"})
    await call("delete_workspace", {"workspaceId": "gone"})
    # API keys.
    await call("create_api_key", json={"name": "ci"})
    await call("list_api_keys")
    await call("get_api_key", {"name": "ci"})
    await call("delete_api_key", {"name": "ci"})
    # Users.
    await call("create_user", json={"id": "alice", "name": "Alice"})
    await call("list_users")
    await call("get_user_usage_overview")
    await call("update_user_quota", {"id": "alice"}, json={"maxConcurrentWorkspaces": 2})
    # Images (StubImages has every daytona-sandbox* image).
    image = (await call("create_image", json={"name": "daytona-sandbox-extra:1"})).json()
    await call("get_all_images")
    await call("toggle_image_state", {"id": str(image.get("id"))}, json={"enabled": False})
    await call("remove_image", {"id": str(image.get("id"))})

    assert not wrong, "\n".join(wrong)
    expected = {op.name for op in operations if op.key not in NOT_IMPLEMENTED} - set(NOT_CALLED)
    assert called == expected, (
        f"not called: {sorted(expected - called)}; called but listed: {sorted(called - expected)}"
    )


# -- the official client itself ---------------------------------------------------------------------

OFFICIAL_SCRIPT = """
import sys
from daytona_api_client import ApiClient, ApiKeysApi, Configuration, CreateApiKey

with ApiClient(Configuration(host=sys.argv[1], access_token=sys.argv[2])) as client:
    keys = ApiKeysApi(client)
    created = keys.create_api_key(CreateApiKey(name="from-official-client"))
    print(created.value)
    print(created.name)
    print(",".join(k.name for k in keys.list_api_keys()))
    keys.delete_api_key("from-official-client")
    print(",".join(k.name for k in keys.list_api_keys()))
"""


@contextmanager
def served(settings: Settings) -> Iterator[str]:
    """The app on a loopback port (uvicorn in a thread) for the length of the block; yields its /api URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, ApiRuntime()), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/api"
    finally:
        server.should_exit = True
        thread.join(30)


def test_the_official_client_creates_and_deletes_an_api_key(settings: Settings, tmp_path: Path) -> None:
    api_dir = official_api_dir()
    python = OFFICIAL_VENV / "bin" / "python"
    assert api_dir.is_dir() and python.exists()
    script = tmp_path / "official_client.py"
    script.write_text(OFFICIAL_SCRIPT)
    with served(settings) as url:
        done = subprocess.run(
            [str(python), str(script), url, KEY], capture_output=True, text=True, timeout=120, cwd=tmp_path
        )
        assert done.returncode == 0, done.stderr
        value, name, listed, after = done.stdout.splitlines()
        assert re.fullmatch(r"dtn_[A-Za-z0-9_-]{43}", value) and name == "from-official-client"
        assert "from-official-client" in listed.split(",") and "from-official-client" not in after.split(",")
        # The key it was shown worked while it existed, and is revoked now.
        assert httpx.get(f"{url}/workspace", headers={"Authorization": f"Bearer {value}"}).status_code == 401
