"""The SDK's interpreter pieces without a server: the first message, the messages, the close codes."""

from __future__ import annotations

import json

import pytest

from daytona_sdk import (
    DaytonaBadRequestError,
    DaytonaConnectionError,
    DaytonaError,
    DaytonaNotFoundError,
    DaytonaRateLimitError,
    DaytonaTimeoutError,
    ExecutionError,
    ExecutionResult,
    InterpreterContext,
    OutputMessage,
)
from daytona_sdk._interpreter_base import apply_message, close_error, execute_request


def test_first_message_names_context_envs_and_timeout() -> None:
    ctx = InterpreterContext.from_api({"id": "c1", "cwd": "/tmp", "createdAt": "t", "active": True})
    body = json.loads(execute_request("x = 1", ctx, {"A": "b"}, 2.5))
    assert body == {"code": "x = 1", "charts": True, "contextId": "c1", "envs": {"A": "b"}, "timeout": 2.5}
    assert json.loads(execute_request("x", "c2", None, None)) == {"code": "x", "charts": True, "contextId": "c2"}


@pytest.mark.parametrize(
    ("code", "envs", "timeout"),
    [("", None, None), ("  ", None, None), ("x", {"A": 1}, None), ("x", None, -1), ("x", None, True)],
)
def test_bad_arguments_raise_before_connecting(code: str, envs: object, timeout: object) -> None:
    with pytest.raises(DaytonaError):
        execute_request(code, None, envs, timeout)  # type: ignore[arg-type]


def test_messages_build_the_result_and_reach_the_callbacks() -> None:
    result = ExecutionResult()
    out: list[OutputMessage] = []
    errors: list[ExecutionError] = []
    for message in [
        {"type": "stdout", "text": "a\n", "name": "", "value": "", "traceback": ""},
        {"type": "stderr", "text": "w\n"},
        {"type": "chart", "chart": {"type": "line", "title": "t"}},
        {"type": "error", "name": "ValueError", "value": "bad", "traceback": "Traceback ...\nValueError: bad\n"},
        {"type": "control", "text": "completed"},
        {"type": "something-new"},
    ]:
        apply_message(result, json.dumps(message), out.append, None, errors.append)
    apply_message(result, b"not json", None, None, None)
    assert (result.stdout, result.stderr, result.charts) == ("a\n", "w\n", [{"type": "line", "title": "t"}])
    assert out == [OutputMessage("a\n")]
    assert errors == [ExecutionError("ValueError", "bad", "Traceback ...\nValueError: bad\n")] and result.error


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (1000, None),
        (None, None),
        (4008, DaytonaTimeoutError),
        (4404, DaytonaNotFoundError),
        (4400, DaytonaBadRequestError),
        (4429, DaytonaRateLimitError),
        (1007, DaytonaBadRequestError),
        (1009, DaytonaBadRequestError),
        (1011, DaytonaConnectionError),
        (1006, DaytonaConnectionError),
    ],
)
def test_close_codes_map_to_the_error_tree(code: int | None, error: type[Exception] | None) -> None:
    found = close_error(code, "why")
    assert (type(found) if found is not None else None) is error
