"""The agent's interpreter contexts on the host (the current user, this machine's python3): state,
isolation, streaming, interrupts, the kill escalation, and the first message's validation."""

from __future__ import annotations

import json
import os
import pwd
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from daytona_agent import interpreter
from daytona_agent.http import HttpError
from daytona_agent.interpreter import Registry, Run
from daytona_agent.interpreter_routes import INVALID_JSON, Refused, parse_request
from daytona_agent.users import OsUser


@pytest.fixture
def registry(tmp_path: Any) -> Iterator[Registry]:
    entry = pwd.getpwuid(os.getuid())
    found = Registry(OsUser(entry.pw_name, entry.pw_uid, entry.pw_gid, str(tmp_path), "/bin/sh", []))
    yield found
    for info in found.list():
        found.delete(info["id"])
    found.get(None).stop()


class Recorder:
    def __init__(self) -> None:
        self.messages: list[tuple[float, dict[str, Any]]] = []
        self.started = time.monotonic()

    def __call__(self, message: dict[str, Any]) -> None:
        self.messages.append((time.monotonic() - self.started, message))

    def text(self, kind: str = "stdout") -> str:
        return "".join(m.get("text", "") for _, m in self.messages if m["type"] == kind)

    def errors(self) -> list[dict[str, Any]]:
        return [m for _, m in self.messages if m["type"] == "error"]


def run(
    registry: Registry, code: str, context: str | None = None, timeout: float | None = None, **kw: Any
) -> tuple[interpreter.Outcome, Recorder]:
    recorder = Recorder()
    ctx = registry.get(context)
    gone = kw.pop("gone", threading.Event())
    assert ctx.wait_turn(gone)
    try:
        outcome = ctx.execute(Run(recorder, charts=kw.pop("charts", False)), code, kw.pop("envs", None), timeout, gone)
    finally:
        ctx.end_turn()
    return outcome, recorder


def test_state_persists_and_contexts_are_isolated(registry: Registry) -> None:
    run(registry, "x = 41")
    outcome, out = run(registry, "print(x + 1)")
    assert (outcome.status, out.text()) == ("completed", "42\n")
    other = registry.create()
    _, out = run(registry, "print('x' in globals())", other.id)
    assert out.text() == "False\n"
    assert [c["id"] for c in registry.list()] == [other.id]  # the default context is not listed


def test_output_streams_as_it_is_written(registry: Registry) -> None:
    _, out = run(registry, "import time, os\nprint('a')\ntime.sleep(0.4)\nos.system('echo b >&2')")
    (t_a, a), (t_b, b) = out.messages
    assert (a, b) == ({"type": "stdout", "text": "a\n"}, {"type": "stderr", "text": "b\n"})
    assert t_b - t_a > 0.3


def test_errors_carry_name_value_and_a_traceback_of_the_code(registry: Registry) -> None:
    outcome, out = run(registry, "def f():\n    raise ValueError('bad')\nf()")
    [error] = out.errors()
    assert (outcome.status, error["name"], error["value"]) == ("completed", "ValueError", "bad")
    assert "raise ValueError('bad')" in error["traceback"] and "interpreter_worker" not in error["traceback"]
    _, out = run(registry, "if x")
    assert out.errors()[0]["name"] == "SyntaxError"


def test_timeout_interrupts_and_keeps_the_state(registry: Registry) -> None:
    run(registry, "kept = 7")
    started = time.monotonic()
    outcome, _ = run(registry, "import time\ntime.sleep(30)", timeout=0.3)
    assert outcome.timed_out and not outcome.killed and outcome.status == "interrupted"
    assert time.monotonic() - started < 5
    assert run(registry, "print(kept)")[1].text() == "7\n"


def test_code_that_ignores_interrupts_is_killed_and_the_context_restarts(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(interpreter, "INTERRUPT_GRACE_S", 0.2)
    run(registry, "lost = 1")
    code = "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    time.sleep(0.05)"
    outcome, _ = run(registry, code, timeout=0.2)
    assert outcome.timed_out and outcome.killed
    assert run(registry, "print('lost' in globals())")[1].text() == "False\n"


def test_a_caller_that_leaves_interrupts_the_run(registry: Registry) -> None:
    gone = threading.Event()
    threading.Timer(0.3, gone.set).start()
    code = "import time\ntry:\n    time.sleep(30)\nexcept KeyboardInterrupt:\n    stopped = True\n    raise"
    outcome, _ = run(registry, code, gone=gone)
    assert outcome.status == "interrupted" and not outcome.timed_out
    assert run(registry, "print(stopped)")[1].text() == "True\n"


def test_a_process_that_exits_reports_it_and_the_next_run_starts_afresh(registry: Registry) -> None:
    run(registry, "y = 1")
    outcome, _ = run(registry, "import os; os._exit(3)")
    assert outcome.status == "exited" and "exited with code 3" in outcome.detail
    assert run(registry, "print('y' in globals())")[1].text() == "False\n"


def test_envs_last_one_run_and_input_is_closed(registry: Registry) -> None:
    assert run(registry, "import os; print(os.environ['ITEST'])", envs={"ITEST": "1"})[1].text() == "1\n"
    assert run(registry, "print(os.environ.get('ITEST'))")[1].text() == "None\n"
    assert run(registry, "input()")[1].errors()[0]["name"] == "EOFError"


def test_big_output_comes_in_bounded_messages(registry: Registry) -> None:
    _, out = run(registry, "print('\\x01' * 100000)")
    pieces = [m for _, m in out.messages if m["type"] == "stdout"]
    assert out.text() == "\x01" * 100000 + "\n"
    assert max(len(json.dumps(m).encode()) for m in pieces) < interpreter.MAX_MESSAGE_BYTES


def test_deleting_a_context_kills_its_process(registry: Registry) -> None:
    ctx = registry.create()
    _, out = run(registry, "import os; print(os.getpid())", ctx.id)
    pid = int(out.text())
    registry.delete(ctx.id)
    assert not os.path.exists(f"/proc/{pid}")
    with pytest.raises(HttpError) as caught:
        registry.get(ctx.id)
    assert caught.value.status == 404


def test_context_requests_are_checked(registry: Registry) -> None:
    with pytest.raises(HttpError, match="unsupported language"):
        registry.create(language="javascript")
    with pytest.raises(HttpError, match="does not exist"):
        registry.create(cwd="/no/such/dir")
    with pytest.raises(HttpError, match="cannot be deleted"):
        registry.delete("default")
    assert registry.list() == []


def test_error_messages_fit_one_message_of_todays_sdk() -> None:
    message = interpreter.error_message("E", "\x00" * 50000, "\x01" * 100000)
    assert len(json.dumps(message, ensure_ascii=False).encode()) <= interpreter.MAX_MESSAGE_BYTES
    assert message["name"] == "E"


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"\xff\xfe garbage", INVALID_JSON),
        (b"not json", INVALID_JSON),
        (b"[1, 2]", 4400),
        (b"{}", 4400),
        (b'{"code": 5}', 4400),
        (b'{"code": "1", "timeout": -1}', 4400),
        (b'{"code": "1", "timeout": "soon"}', 4400),
        (b'{"code": "1", "envs": {"A": 1}}', 4400),
        (b'{"code": "1", "contextId": 3}', 4400),
        (b'{"code": "1", "charts": "yes"}', 4400),
    ],
)
def test_bad_first_messages_are_refused(payload: bytes, code: int) -> None:
    with pytest.raises(Refused) as caught:
        parse_request(payload)
    assert caught.value.code == code and caught.value.reason


def test_first_message_defaults() -> None:
    request = parse_request(b'{"code": "x", "timeout": 0, "envs": {"A": "b"}}')
    assert (request.code, request.context_id, request.timeout, request.envs) == ("x", None, None, {"A": "b"})
    assert parse_request(b'{"code": "x"}').timeout == 600
