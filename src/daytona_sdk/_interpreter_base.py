"""I/O-free pieces of `workspace.code_interpreter` shared by the async and the sync client.

A run is one WebSocket: the client sends `{code, contextId?, envs?, timeout?, charts: true}`, the
server streams `{type: stdout|stderr|error|chart|control, ...}` messages and closes with 1000 when
the run ended, 4008 when it timed out, or 4000 + an HTTP status (4404: no such context) on a refusal.
"""

from __future__ import annotations

import json
from typing import Any

from ._errors import (
    DaytonaBadRequestError,
    DaytonaConnectionError,
    DaytonaError,
    DaytonaTimeoutError,
    error_for_status,
)
from ._interpreter_models import (
    ErrorHandler,
    ExecutionError,
    ExecutionResult,
    InterpreterContext,
    OutputHandler,
    OutputMessage,
)

TIMEOUT_CLOSE = 4008


def context_id(context: InterpreterContext | str | None) -> str | None:
    if context is None or isinstance(context, str):
        return context or None
    if isinstance(context, InterpreterContext):
        return context.id
    raise DaytonaError("context must be an InterpreterContext (from create_context) or its id")


def execute_request(
    code: str, context: InterpreterContext | str | None, envs: dict[str, str] | None, timeout: float | None
) -> str:
    """The run's first message."""
    if not isinstance(code, str) or not code.strip():
        raise DaytonaError("code is required: a non-empty string of python")
    body: dict[str, Any] = {"code": code, "charts": True}
    found = context_id(context)
    if found is not None:
        body["contextId"] = found
    if envs is not None:
        if not isinstance(envs, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in envs.items()):
            raise DaytonaError("envs must be a dict of strings")
        body["envs"] = envs
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0:
            raise DaytonaError("timeout must be a non-negative number of seconds (0 = no timeout)")
        body["timeout"] = timeout
    return json.dumps(body)


def apply_message(
    result: ExecutionResult,
    raw: str | bytes,
    on_stdout: OutputHandler | None,
    on_stderr: OutputHandler | None,
    on_error: ErrorHandler | None,
) -> None:
    """Add one server message to `result` and hand it to its callback."""
    try:
        message = json.loads(raw)
    except ValueError:
        return
    if not isinstance(message, dict):
        return
    kind = message.get("type")
    if kind in ("stdout", "stderr"):
        text = str(message.get("text") or "")
        if kind == "stdout":
            result.stdout += text
            handler = on_stdout
        else:
            result.stderr += text
            handler = on_stderr
        if handler is not None:
            handler(OutputMessage(output=text))
    elif kind == "error":
        error = ExecutionError(
            name=str(message.get("name") or ""),
            value=str(message.get("value") or ""),
            traceback=str(message.get("traceback") or ""),
        )
        result.error = error
        if on_error is not None:
            on_error(error)
    elif kind == "chart" and isinstance(message.get("chart"), dict):
        result.charts.append(message["chart"])


def close_error(code: int | None, reason: str) -> DaytonaError | None:
    """The error a run's close code means, None for a run that ended (1000)."""
    if code in (None, 1000):
        return None
    if code == TIMEOUT_CLOSE:
        return DaytonaTimeoutError(f"interpreter run {reason or 'timed out'} (a larger timeout gives it longer)")
    if 4400 <= code < 4600:
        return error_for_status(code - 4000, reason or f"the interpreter refused the run (close code {code})")
    if code in (1007, 1009):
        return DaytonaBadRequestError(reason or "the server refused the request message", 400)
    return DaytonaConnectionError(f"{reason or 'the interpreter connection closed unexpectedly'} (close code {code})")
