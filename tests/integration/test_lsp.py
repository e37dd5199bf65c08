"""Language servers in sandboxes, through our SDK: real pylsp and typescript-language-server."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from daytona_sdk import (
    CompletionList,
    CreateWorkspaceParams,
    Daytona,
    DaytonaBadRequestError,
    DaytonaConflictError,
    DaytonaNotFoundError,
    DaytonaServerError,
    LspLanguageId,
    LspServer,
    Position,
    Workspace,
)

from ..support.server import RunningServer

PY_PROJECT = "/workspace/pyproj"
TS_PROJECT = "/workspace/tsproj"

MAIN_PY = '''import os


def helper_func(x):
    """Doubles its argument."""
    return x * 2


class Greeter:
    def greet(self, name):
        return "hi " + name


os.pa
helper_
'''

UTIL_PY = """def alpha_tool():
    return 1


class AlphaThing:
    pass
"""

INDEX_TS = """import { formatName } from "./util";

export function projectHelper(n: number): number {
  return n * 2;
}

export class Shape {
  area(): number {
    return 0;
  }
}

const s: string = "hello";
s.toUpp
projectHel
formatN
"""

UTIL_TS = """export function formatName(first: string, last: string): string {
  return first + " " + last;
}

export interface Person {
  name: string;
}
"""


def write_files(workspace: Workspace, files: dict[str, str]) -> None:
    """Write files in the sandbox as its user (through code_run)."""
    code = (
        "import json, pathlib\n"
        f"for path, text in json.loads({json.dumps(json.dumps(files))}).items():\n"
        "    p = pathlib.Path(path)\n"
        "    p.parent.mkdir(parents=True, exist_ok=True)\n"
        "    p.write_text(text)\n"
    )
    response = workspace.process.code_run(code)
    assert response.exit_code == 0, response.result


def labels(completions: CompletionList) -> list[str]:
    return [item.label for item in completions.items]


def wait_for_state(lsp: LspServer, state: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while (current := lsp.status().state) != state:
        assert time.monotonic() < deadline, f"server stayed {current}, expected {state}"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def sandbox(server: RunningServer) -> Iterator[Workspace]:
    """One sandbox with a Python and a TypeScript project, shared by the tests of this module."""
    with Daytona(server.config()) as daytona:
        workspace = daytona.create()
        write_files(
            workspace,
            {
                f"{PY_PROJECT}/main.py": MAIN_PY,
                f"{PY_PROJECT}/pkg/util.py": UTIL_PY,
                f"{TS_PROJECT}/tsconfig.json": '{"compilerOptions": {"strict": true, "target": "es2020"}}',
                f"{TS_PROJECT}/src/index.ts": INDEX_TS,
                f"{TS_PROJECT}/src/util.ts": UTIL_TS,
                f"{TS_PROJECT}/src/app.js": "const xs = [1, 2, 3];\nxs.ma\n",
            },
        )
        yield workspace
        daytona.remove(workspace)


@pytest.fixture
def python_lsp(sandbox: Workspace) -> Iterator[LspServer]:
    lsp = sandbox.create_lsp_server(LspLanguageId.PYTHON, PY_PROJECT)
    lsp.start()
    yield lsp
    if lsp.status().state != "stopped":
        lsp.stop()


@pytest.fixture
def ts_lsp(sandbox: Workspace) -> Iterator[LspServer]:
    lsp = sandbox.create_lsp_server(LspLanguageId.TYPESCRIPT, TS_PROJECT)
    lsp.start()
    yield lsp
    if lsp.status().state != "stopped":
        lsp.stop()


def test_python_completes_stdlib_attribute_and_function_of_the_file(python_lsp: LspServer) -> None:
    python_lsp.did_open(f"{PY_PROJECT}/main.py")
    attribute = python_lsp.completions(f"{PY_PROJECT}/main.py", Position(line=13, character=5))
    assert "path" in labels(attribute)
    path = next(item for item in attribute.items if item.label == "path")
    assert path.kind == 9  # CompletionItemKind.Module
    assert path.insert_text == "path"
    assert path.sort_text
    assert path.detail == "os"  # resolved through completionItem/resolve
    assert path.documentation and "pathname" in path.documentation["value"]

    local = python_lsp.completions(f"{PY_PROJECT}/main.py", {"line": 14, "character": 7})
    helper = next(item for item in local.items if item.insert_text == "helper_func")
    assert helper.label.startswith("helper_func")
    assert helper.kind == 3  # CompletionItemKind.Function
    assert helper.documentation and "Doubles its argument." in helper.documentation["value"]


def test_python_document_symbols_list_functions_classes_and_methods(python_lsp: LspServer) -> None:
    symbols = python_lsp.document_symbols(f"{PY_PROJECT}/main.py")
    by_name = {s.name: s for s in symbols}
    assert by_name["helper_func"].kind == 12  # SymbolKind.Function
    assert by_name["Greeter"].kind == 5  # SymbolKind.Class
    assert by_name["greet"].container_name == "Greeter"
    assert by_name["helper_func"].location.uri == f"file://{PY_PROJECT}/main.py"
    assert by_name["helper_func"].location.range.start.line == 3
    assert by_name["Greeter"].location.range.start.line == 8


def test_python_workspace_symbols_span_files_of_the_project(python_lsp: LspServer) -> None:
    python_lsp.did_open(f"{PY_PROJECT}/main.py")
    found = {(s.name, s.location.uri.rsplit("/", 1)[-1]) for s in python_lsp.workspace_symbols("alpha")}
    assert found == {("alpha_tool", "util.py"), ("AlphaThing", "util.py")}
    both = {(s.name, s.location.uri.rsplit("/", 1)[-1]) for s in python_lsp.sandbox_symbols("")}
    assert {("helper_func", "main.py"), ("Greeter", "main.py"), ("AlphaThing", "util.py")} <= both


def test_python_sees_files_changed_on_disk(sandbox: Workspace, python_lsp: LspServer) -> None:
    path = f"{PY_PROJECT}/changing.py"
    write_files(sandbox, {path: "def first_version():\n    pass\n\nfirst_\n"})
    python_lsp.did_open(path)
    assert [s.name for s in python_lsp.document_symbols(path)] == ["first_version"]
    write_files(sandbox, {path: "def second_version_longer():\n    pass\n\nsecond_\n"})
    assert [s.name for s in python_lsp.document_symbols(path)] == ["second_version_longer"]
    completions = python_lsp.completions(path, Position(3, 7))
    assert any(item.insert_text == "second_version_longer" for item in completions.items)
    python_lsp.did_close(path)


def test_typescript_completes_string_method_and_project_functions(ts_lsp: LspServer) -> None:
    index = f"{TS_PROJECT}/src/index.ts"
    ts_lsp.did_open(index)
    method = ts_lsp.completions(index, Position(line=13, character=7))
    assert "toUpperCase" in labels(method)
    upper = next(item for item in method.items if item.label == "toUpperCase")
    assert upper.kind == 2  # CompletionItemKind.Method
    assert upper.detail and "String.toUpperCase" in upper.detail
    assert upper.documentation and "uppercase" in upper.documentation["value"]

    same_file = ts_lsp.completions(index, Position(line=14, character=10))
    helper = next(item for item in same_file.items if item.label == "projectHelper")
    assert helper.detail and "projectHelper(n: number): number" in helper.detail
    imported = ts_lsp.completions(index, Position(line=15, character=7))
    assert "formatName" in labels(imported)


def test_typescript_document_and_workspace_symbols(ts_lsp: LspServer) -> None:
    symbols = ts_lsp.document_symbols(f"{TS_PROJECT}/src/index.ts")
    kinds = {s.name: s.kind for s in symbols}
    assert kinds["projectHelper"] == 12  # Function
    assert kinds["Shape"] == 5  # Class
    assert kinds["area"] == 6  # Method
    found = {(s.name, s.location.uri.rsplit("/", 1)[-1]) for s in ts_lsp.workspace_symbols("formatName")}
    assert ("formatName", "util.ts") in found


def test_javascript_server(sandbox: Workspace) -> None:
    lsp = sandbox.create_lsp_server("javascript", TS_PROJECT)
    lsp.start()
    try:
        completions = lsp.completions("src/app.js", {"line": 1, "character": 5})  # relative to the project
        assert "map" in labels(completions)
    finally:
        lsp.stop()


def test_start_and_stop_twice(sandbox: Workspace) -> None:
    lsp = sandbox.create_lsp_server(LspLanguageId.PYTHON, PY_PROJECT)
    for _ in range(2):
        lsp.start()
        lsp.start()  # already running: a no-op
        assert lsp.status().state == "running"
        assert "path" in labels(lsp.completions(f"{PY_PROJECT}/main.py", Position(13, 5)))
        lsp.stop()
        assert lsp.status().state == "stopped"
        with pytest.raises(DaytonaConflictError, match="call start\\(\\) first"):
            lsp.completions(f"{PY_PROJECT}/main.py", Position(13, 5))
        with pytest.raises(DaytonaConflictError, match="call start\\(\\) first"):
            lsp.stop()


def test_several_servers_in_one_sandbox(sandbox: Workspace) -> None:
    servers = [
        sandbox.create_lsp_server(LspLanguageId.PYTHON, PY_PROJECT),
        sandbox.create_lsp_server(LspLanguageId.PYTHON, f"{PY_PROJECT}/pkg"),
        sandbox.create_lsp_server(LspLanguageId.TYPESCRIPT, TS_PROJECT),
    ]
    for lsp in servers:
        lsp.start()
    pids = {lsp.status().pid for lsp in servers}
    assert len(pids) == 3
    servers[0].stop()
    assert servers[0].status().state == "stopped"
    assert [s.name for s in servers[1].document_symbols("util.py")] == ["alpha_tool", "AlphaThing"]
    assert "toUpperCase" in labels(servers[2].completions(f"{TS_PROJECT}/src/index.ts", Position(13, 7)))
    assert len(leftover_servers(sandbox)) >= 2  # the check below sees running servers
    for lsp in servers[1:]:
        lsp.stop()
    # Nothing is left behind: no server, no tsserver child, no zombie (the agent reaps as PID 1).
    deadline = time.monotonic() + 30
    while (left := leftover_servers(sandbox)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert left == []


def leftover_servers(sandbox: Workspace) -> list[str]:
    ps = sandbox.process.exec("ps -eo stat=,args=", check=True).stdout.splitlines()
    return [line for line in ps if line.startswith("Z") or "pylsp" in line or "node" in line]


def test_bad_inputs_get_4xx_with_a_message(sandbox: Workspace, python_lsp: LspServer) -> None:
    main = f"{PY_PROJECT}/main.py"
    idle = sandbox.create_lsp_server(LspLanguageId.PYTHON, "/workspace")
    for call in (
        lambda: idle.did_open("/workspace/pyproj/main.py"),
        lambda: idle.completions("/workspace/pyproj/main.py", Position(0, 0)),
        lambda: idle.document_symbols("/workspace/pyproj/main.py"),
        lambda: idle.workspace_symbols("x"),
        lambda: idle.did_close("/workspace/pyproj/main.py"),
    ):
        with pytest.raises(DaytonaConflictError, match="no python language server is running for /workspace"):
            call()
    with pytest.raises(DaytonaBadRequestError, match="unsupported languageId 'rust'"):
        sandbox.create_lsp_server("rust", PY_PROJECT).start()
    with pytest.raises(DaytonaNotFoundError, match="project directory not found: /workspace/nowhere"):
        sandbox.create_lsp_server(LspLanguageId.PYTHON, "/workspace/nowhere").start()
    with pytest.raises(DaytonaBadRequestError, match="is not a directory"):
        sandbox.create_lsp_server(LspLanguageId.PYTHON, main).start()
    with pytest.raises(DaytonaBadRequestError, match="/etc/passwd is outside the project /workspace/pyproj"):
        python_lsp.did_open("/etc/passwd")
    with pytest.raises(DaytonaBadRequestError, match="outside the project"):
        python_lsp.completions("../tsproj/src/index.ts", Position(0, 0))
    with pytest.raises(DaytonaNotFoundError, match=r"file not found: /workspace/pyproj/missing\.py"):
        python_lsp.did_open(f"{PY_PROJECT}/missing.py")
    with pytest.raises(DaytonaNotFoundError, match="file not found"):
        python_lsp.completions(f"{PY_PROJECT}/missing.py", Position(0, 0))
    with pytest.raises(DaytonaNotFoundError, match="file not found"):
        python_lsp.document_symbols(f"{PY_PROJECT}/missing.py")
    with pytest.raises(DaytonaBadRequestError, match="is a directory"):
        python_lsp.did_open(f"{PY_PROJECT}/pkg")
    with pytest.raises(DaytonaBadRequestError, match="position line 500 is past the end"):
        python_lsp.completions(main, Position(500, 0))
    with pytest.raises(DaytonaBadRequestError, match=r"position\.character must be a non-negative integer"):
        python_lsp.completions(main, {"line": 0, "character": -1})
    # The server is unharmed by all of the above.
    assert "path" in labels(python_lsp.completions(main, Position(13, 5)))


def test_malformed_requests_get_4xx_json_errors(server: RunningServer, sandbox: Workspace) -> None:
    base = f"{server.url}/toolbox/{sandbox.id}/toolbox/lsp"
    headers = {"Authorization": f"Bearer {server.api_key}"}
    server_fields = {"languageId": "python", "pathToProject": PY_PROJECT}
    cases = [
        ("POST", "start", {"content": b"{not json"}, "not valid JSON"),
        ("POST", "start", {"json": {"pathToProject": PY_PROJECT}}, "languageId is required"),
        ("POST", "start", {"json": {"languageId": "python"}}, "pathToProject is required"),
        ("POST", "start", {"json": {"languageId": 3, "pathToProject": PY_PROJECT}}, "languageId must be a string"),
        ("POST", "did-open", {"json": {**server_fields, "uri": "http://x/y.py"}}, "file:// URI"),
        ("POST", "completions", {"json": {**server_fields, "uri": "file:///workspace/pyproj/main.py"}}, "position"),
        ("GET", "document-symbols", {"params": server_fields}, "uri"),
    ]
    lsp = sandbox.create_lsp_server(LspLanguageId.PYTHON, PY_PROJECT)
    lsp.start()
    try:
        for method, path, kwargs, message in cases:
            response = httpx.request(method, f"{base}/{path}", headers=headers, timeout=30, **kwargs)
            assert response.status_code == 400, (path, response.text)
            body = response.json()
            assert body["statusCode"] == 400 and body["error"] == "Bad Request"
            assert message in body["message"], (path, body)
    finally:
        lsp.stop()


def test_crashed_server_is_reported_and_starts_again(sandbox: Workspace, python_lsp: LspServer) -> None:
    pid = python_lsp.status().pid
    sandbox.process.exec(f"kill -9 {pid}", check=True)
    wait_for_state(python_lsp, "crashed")
    status = python_lsp.status()
    assert status.exit_code == -9
    assert status.error and "exited unexpectedly with code -9" in status.error
    with pytest.raises(DaytonaConflictError, match=r"crashed .*exited unexpectedly with code -9.*start it again"):
        python_lsp.completions(f"{PY_PROJECT}/main.py", Position(13, 5))
    python_lsp.start()
    assert python_lsp.status().state == "running"
    assert python_lsp.status().pid != pid
    assert "path" in labels(python_lsp.completions(f"{PY_PROJECT}/main.py", Position(13, 5)))


def test_a_hung_server_gets_a_deadline_not_a_hang(daytona: Daytona) -> None:
    workspace = daytona.create(CreateWorkspaceParams(env_vars={"DAYTONA_AGENT_LSP_TIMEOUT": "2"}))
    try:
        write_files(workspace, {"/workspace/p/a.py": "import os\nos.pa\n"})
        lsp = workspace.create_lsp_server(LspLanguageId.PYTHON, "/workspace/p")
        lsp.start()
        workspace.process.exec(f"kill -STOP {lsp.status().pid}", check=True)
        with pytest.raises(DaytonaServerError, match="did not answer textDocument/completion within 2s") as caught:
            lsp.completions("a.py", Position(1, 5))
        assert caught.value.status_code == 504
        lsp.stop()  # shutdown goes unanswered: the server is killed after the deadline
        assert lsp.status().state == "stopped"
        lsp.start()
        # The fresh server's first completion loads jedi, which may take more than the 2 s deadline
        # on a loaded machine: each try warms it further (a few, bounded).
        for attempt in range(5):
            try:
                assert "path" in labels(lsp.completions("a.py", Position(1, 5)))
                break
            except DaytonaServerError as exc:
                assert exc.status_code == 504 and attempt < 4, exc
        lsp.stop()
    finally:
        daytona.remove(workspace)


def test_servers_are_gone_after_the_sandbox_restarts(daytona: Daytona) -> None:
    workspace = daytona.create()
    try:
        write_files(workspace, {"/workspace/p/a.py": "import os\nos.pa\n"})
        lsp = workspace.create_lsp_server(LspLanguageId.PYTHON, "/workspace/p")
        lsp.start()
        workspace.stop()
        workspace.start()
        assert lsp.status().state == "stopped"
        with pytest.raises(DaytonaConflictError, match="call start\\(\\) first"):
            lsp.completions("a.py", Position(1, 5))
        lsp.start()
        assert "path" in labels(lsp.completions("a.py", Position(1, 5)))
    finally:
        daytona.remove(workspace)
