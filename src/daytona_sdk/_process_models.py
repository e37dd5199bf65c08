"""Models of sessions and streamed output, with the names of the Daytona documentation.

`SessionExecuteRequest`, `SessionExecuteResponse`, `Session`, `Command` and `CreateSessionRequest`
match `daytona_api_client` 0.14.0 (same field names, same JSON aliases); the rest is ours.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

OutputCallback = Callable[[str], None]


class SessionExecuteRequest(BaseModel):
    """A command for `execute_session_command`.

    `run_async=True` (or `var_async=True`, the older client's name, sent as `async`) returns at once
    with the command's id; otherwise the call waits for the command and returns its output.
    """

    model_config = ConfigDict(populate_by_name=True)

    command: str
    run_async: bool | None = Field(default=None, alias="runAsync")
    var_async: bool | None = Field(default=None, alias="async")

    @model_validator(mode="after")
    def _agree(self) -> SessionExecuteRequest:
        if self.run_async is not None and self.var_async is not None and self.run_async != self.var_async:
            raise ValueError("run_async and var_async disagree: set only one of them")
        return self

    @property
    def is_async(self) -> bool:
        return bool(self.run_async if self.run_async is not None else self.var_async)


class CreateSessionRequest(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    session_id: str = Field(alias="sessionId")


@dataclass
class Command:
    """A command run in a session; `exit_code` is None while it runs."""

    id: str
    command: str
    exit_code: int | None = None
    run_async: bool = False
    started_at: str | None = None
    ended_at: str | None = None
    timed_out: bool = False
    truncated: bool = False
    log_size: int = 0

    @property
    def running(self) -> bool:
        return self.exit_code is None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Command:
        code = data.get("exitCode")
        return cls(
            id=data["id"],
            command=data.get("command", ""),
            exit_code=int(code) if code is not None else None,
            run_async=bool(data.get("async")),
            started_at=data.get("startedAt"),
            ended_at=data.get("endedAt"),
            timed_out=bool(data.get("timedOut")),
            truncated=bool(data.get("truncated")),
            log_size=int(data.get("logSize") or 0),
        )


@dataclass
class Session:
    """A session (a shell that keeps its state) and the commands run in it, oldest first."""

    session_id: str
    commands: list[Command] = field(default_factory=list)
    created_at: str | None = None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Session:
        return cls(
            session_id=data["sessionId"],
            commands=[Command.from_api(c) for c in data.get("commands") or []],
            created_at=data.get("createdAt"),
        )


@dataclass
class SessionExecuteResponse:
    """What `execute_session_command` returns: the command's id, and for a sync command its output
    (`output`, also as `result`; `stdout` and `stderr` apart) and exit code."""

    cmd_id: str
    output: str | None = None
    exit_code: int | None = None
    stdout: str | None = None
    stderr: str | None = None
    timed_out: bool = False

    @property
    def command_id(self) -> str:
        return self.cmd_id

    @property
    def result(self) -> str | None:
        return self.output

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> SessionExecuteResponse:
        code = data.get("exitCode")
        return cls(
            cmd_id=data["cmdId"],
            output=data.get("output"),
            exit_code=int(code) if code is not None else None,
            stdout=data.get("stdout"),
            stderr=data.get("stderr"),
            timed_out=bool(data.get("timedOut")),
        )


@dataclass
class LogChunk:
    """A piece of a command's output: which stream, the text, and the log offset to resume from."""

    stream: str
    data: str
    offset: int


@dataclass
class CommandLogs:
    """A read of a command's log from some offset: the text, and where the next read starts."""

    output: str
    stdout: str
    stderr: str
    offset: int
    done: bool
    exit_code: int | None
    truncated: bool
