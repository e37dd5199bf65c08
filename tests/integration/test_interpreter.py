"""The stateful code interpreter in real sandboxes: through today's official Python SDK (`daytona`
0.226.1, unchanged), through ours, and through raw WebSockets for what no SDK would send."""

from __future__ import annotations

import json
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from daytona_sdk import (
    DaytonaBadRequestError,
    DaytonaNotFoundError,
    DaytonaTimeoutError,
    ExecutionError,
    Workspace,
)

from ..support.server import RunningServer, run_current_sdk

CURRENT_SDK = textwrap.dedent(
    """
    import sys, time
    from daytona import *
    daytona = Daytona(DaytonaConfig(api_key=sys.argv[1], api_url=sys.argv[2]))
    sandbox = daytona.create()
    ci = sandbox.code_interpreter
    try:
        seen, started = [], time.monotonic()
        r = ci.run_code(
            "import time\\nprint('a', flush=True)\\ntime.sleep(1)\\nprint('b')",
            on_stdout=lambda m: seen.append((time.monotonic() - started, m.output)),
        )
        print("stream", [text for _, text in seen], r.stdout == "a\\nb\\n", seen[1][0] - seen[0][0] > 0.6)
        ci.run_code("x = 40")
        print("persist", repr(ci.run_code("print(x + 2)").stdout))
        errors = []
        r = ci.run_code("def f():\\n    raise ValueError('bad')\\nf()", on_error=errors.append)
        print("error", r.error.name, r.error.value, "raise ValueError('bad')" in r.error.traceback, len(errors))
        r = ci.run_code("import sys; print('e', file=sys.stderr)")
        print("stderr", repr(r.stderr), repr(r.stdout))
        r = ci.run_code("import os, sys; print(os.getuid() != 0, sys.executable, os.getcwd())")
        print("who", r.stdout.strip())
        print("envs", ci.run_code("import os; print(os.environ['ITEST'])", envs={"ITEST": "1"}).stdout.strip())
        try:
            ci.run_code("import time; time.sleep(30)", timeout=1)
        except DaytonaTimeoutError:
            print("timeout", repr(ci.run_code("print(x)").stdout))
        one, two = ci.create_context(), ci.create_context(cwd="/tmp")
        ci.run_code("x = 'one'", context=one)
        print("isolated", ci.run_code("print(x)", context=one).stdout.strip(),
              ci.run_code("print('x' in globals())", context=two).stdout.strip(),
              ci.run_code("import os; print(os.getcwd())", context=two).stdout.strip(),
              ci.run_code("print(x)").stdout.strip())
        listed = {c.id: c for c in ci.list_contexts()}
        print("list", sorted(listed) == sorted([one.id, two.id]), listed[two.id].cwd, listed[two.id].language,
              listed[two.id].active)
        r = ci.run_code("import matplotlib.pyplot as plt\\nplt.plot([1, 2], [3, 4])\\nplt.show()\\nprint('shown')")
        print("chart", repr(r.stdout), repr(r.stderr), r.error)
        ci.delete_context(one)
        try:
            ci.run_code("print(1)", context=one)
        except DaytonaError as exc:
            left = [c.id for c in ci.list_contexts()]
            print("deleted", type(exc).__name__, "not found" in str(exc), left == [two.id])
        try:
            ci.delete_context(two.model_copy(update={"id": "default"}))
        except DaytonaError as exc:
            print("default", type(exc).__name__)
    finally:
        daytona.delete(sandbox)
    """
)


def test_todays_official_python_sdk(server: RunningServer, tmp_path: Path) -> None:
    lines = run_current_sdk(CURRENT_SDK, tmp_path, server.api_key, server.url)
    assert lines == [
        "stream ['a\\n', 'b\\n'] True True",
        "persist '42\\n'",
        "error ValueError bad True 1",
        "stderr 'e\\n' ''",
        "who True /opt/venv/bin/python3 /home/daytona",
        "envs 1",
        "timeout '40\\n'",
        "isolated one False /tmp 40",
        "list True /tmp python True",
        "chart 'shown\\n' '' None",
        "deleted DaytonaConnectionError True True",
        "default DaytonaBadRequestError",
    ]


def test_our_sdk(shared_workspace: Workspace) -> None:
    ci = shared_workspace.code_interpreter
    seen: list[tuple[float, str]] = []
    started = time.monotonic()
    result = ci.run_code(
        "import time\nprint('a')\ntime.sleep(0.8)\nprint('b')",
        on_stdout=lambda m: seen.append((time.monotonic() - started, m.output)),
    )
    assert [text for _, text in seen] == ["a\n", "b\n"] and result.stdout == "a\nb\n"
    assert seen[1][0] - seen[0][0] > 0.5  # "a" came while the code slept
    ci.run_code("ours = 1")
    assert ci.run_code("print(ours)").stdout == "1\n"

    errors: list[ExecutionError] = []
    result = ci.run_code("1/0", on_error=errors.append)
    assert result.error is not None and result.error.name == "ZeroDivisionError" and errors == [result.error]
    assert "1/0" in result.error.traceback

    with pytest.raises(DaytonaTimeoutError, match="interrupted"):
        ci.run_code("import time; time.sleep(30)", timeout=1)
    assert ci.run_code("print(ours)").stdout == "1\n"

    context = ci.create_context("/tmp")
    try:
        assert ci.run_code("print('ours' in globals())", context=context).stdout == "False\n"
        assert [c.id for c in ci.list_contexts()] == [context.id]
    finally:
        ci.delete_context(context)
    with pytest.raises(DaytonaNotFoundError):
        ci.run_code("1", context=context)
    with pytest.raises(DaytonaNotFoundError):
        ci.delete_context(context)
    with pytest.raises(DaytonaBadRequestError):
        ci.create_context("/no/such/dir")

    result = ci.run_code(
        "import matplotlib.pyplot as plt\nplt.bar(['a', 'b'], [3, 4])\nplt.title('T')\nplt.show()\nprint('done')"
    )
    [chart] = result.charts
    assert (result.stdout, chart["type"], chart["title"]) == ("done\n", "bar", "T")
    assert [float(e["value"]) for e in chart["elements"]] == [3, 4] and chart["png"]


# -- raw WebSockets: what the SDKs cannot send ---------------------------------------------------------


def _url(server: RunningServer, workspace: Workspace) -> str:
    return server.url.replace("http", "ws", 1) + f"/toolbox/{workspace.id}/process/interpreter/execute"


def _open(server: RunningServer, workspace: Workspace) -> ClientConnection:
    headers = {"Authorization": f"Bearer {server.api_key}"}
    return connect(_url(server, workspace), additional_headers=headers, max_size=None, open_timeout=30)


def _close_of(server: RunningServer, workspace: Workspace, first: str | bytes) -> tuple[int | None, str]:
    with _open(server, workspace) as ws:
        ws.send(first)
        try:
            while True:
                ws.recv(timeout=30)
        except ConnectionClosed:
            pass
        return ws.close_code, ws.close_reason or ""


def _messages(ws: ClientConnection) -> list[dict[str, object]]:
    found = []
    try:
        while True:
            found.append(json.loads(ws.recv(timeout=60)))
    except ConnectionClosed:
        return found


@pytest.mark.parametrize(
    ("first", "code", "reason"),
    [
        (b"\xff\xfe\x00 garbage", 1007, "JSON"),
        ("not json", 1007, "JSON"),
        ("[1]", 4400, "object"),
        ("{}", 4400, "code is required"),
        ('{"code": "1", "timeout": -1}', 4400, "timeout"),
        ('{"code": "1", "envs": {"A": 1}}', 4400, "envs"),
        ('{"code": "1", "contextId": "no-such-context"}', 4404, "not found"),
    ],
)
def test_bad_first_messages_close_with_a_reason(
    server: RunningServer, shared_workspace: Workspace, first: str | bytes, code: int, reason: str
) -> None:
    assert _close_of(server, shared_workspace, first)[0] == code
    assert reason in _close_of(server, shared_workspace, first)[1]


def test_a_huge_message_is_refused(server: RunningServer, shared_workspace: Workspace) -> None:
    code, _ = _close_of(server, shared_workspace, json.dumps({"code": "#" * (5 * 1024 * 1024)}))
    assert code == 1009
    assert shared_workspace.code_interpreter.run_code("print('still fine')").stdout == "still fine\n"


def test_messages_have_the_daemons_shape_and_a_control_end(server: RunningServer, shared_workspace: Workspace) -> None:
    with _open(server, shared_workspace) as ws:
        ws.send(json.dumps({"code": "print('x' * 200000)"}))
        messages = _messages(ws)
        assert ws.close_code == 1000
    assert all(set(m) >= {"type", "text", "name", "value", "traceback"} for m in messages)
    assert messages[-1] == {"type": "control", "text": "completed", "name": "", "value": "", "traceback": ""}
    assert "".join(str(m["text"]) for m in messages[:-1]) == "x" * 200000 + "\n"
    # today's Python SDK (httpx-ws) takes messages of 64 KiB at most
    assert max(len(json.dumps(m).encode()) for m in messages) < 64 * 1024


def test_a_caller_that_disconnects_interrupts_the_run(server: RunningServer, shared_workspace: Workspace) -> None:
    ci = shared_workspace.code_interpreter
    context = ci.create_context()
    try:
        code = "import time\nprint('started')\ntry:\n    time.sleep(60)\nexcept KeyboardInterrupt:\n    stopped = 1\n"
        with _open(server, shared_workspace) as ws:
            ws.send(json.dumps({"code": code, "contextId": context.id}))
            assert json.loads(ws.recv(timeout=30))["text"] == "started\n"
        started = time.monotonic()
        assert ci.run_code("print(stopped)", context=context).stdout == "1\n"  # waited for its turn, not 60 s
        assert time.monotonic() - started < 20
    finally:
        ci.delete_context(context)


def test_runs_on_one_context_take_turns(shared_workspace: Workspace) -> None:
    ci = shared_workspace.code_interpreter
    context = ci.create_context()
    try:
        ci.run_code("order = []", context=context)
        running = threading.Event()
        code = "import time\norder.append(1)\nprint('go')\ntime.sleep(1)\norder.append(2)"
        first = threading.Thread(target=lambda: ci.run_code(code, context=context, on_stdout=lambda _: running.set()))
        first.start()
        assert running.wait(30)
        ci.run_code("order.append(3)", context=context)  # waits for the first run to end
        first.join(30)
        assert ci.run_code("print(order)", context=context).stdout == "[1, 2, 3]\n"
    finally:
        ci.delete_context(context)


def test_code_that_ignores_the_interrupt_is_killed(shared_workspace: Workspace) -> None:
    ci = shared_workspace.code_interpreter
    context = ci.create_context()
    try:
        ci.run_code("lost = 1", context=context)
        errors: list[ExecutionError] = []
        code = "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    time.sleep(0.1)"
        with pytest.raises(DaytonaTimeoutError, match="killed"):
            ci.run_code(code, context=context, timeout=1, on_error=errors.append)
        assert [e.name for e in errors] == ["TimeoutError"] and "variables are lost" in errors[0].value
        assert ci.run_code("print('lost' in globals())", context=context).stdout == "False\n"
    finally:
        ci.delete_context(context)


def test_deleting_a_context_kills_its_processes(shared_workspace: Workspace) -> None:
    ci = shared_workspace.code_interpreter
    context = ci.create_context()
    out = ci.run_code(
        "import os, subprocess\nchild = subprocess.Popen(['sleep', '1000'])\nprint(os.getpid(), child.pid)",
        context=context,
    ).stdout
    pids = out.split()
    ci.delete_context(context)
    check = " || ".join(f"test -e /proc/{pid}" for pid in pids)
    _until(lambda: shared_workspace.process.exec(check).exit_code != 0 or None, "the context's processes to go")


def test_rest_refusals(server: RunningServer, shared_workspace: Workspace) -> None:
    base = f"{server.url}/toolbox/{shared_workspace.id}/process/interpreter"
    headers = {"Authorization": f"Bearer {server.api_key}", "X-Daytona-Source": "sdk-python"}
    with httpx.Client(headers=headers, timeout=30) as http:
        refused = http.post(f"{base}/context", json={"language": "javascript"})
        assert refused.status_code == 400 and "language" in refused.json()["message"]
        assert http.delete(f"{base}/context/no-such-context").status_code == 404
        assert http.delete(f"{base}/context/default").status_code == 400
        assert http.get(f"{base}/execute").status_code == 426  # a WebSocket, not a plain GET


def _until(check: Callable[[], object], what: str, limit: float = 30.0) -> object:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
