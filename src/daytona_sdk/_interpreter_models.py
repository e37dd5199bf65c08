"""What `workspace.code_interpreter` takes and gives, named as today's Daytona SDK names them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class OutputMessage:
    """A piece of stdout or stderr, as the code wrote it."""

    output: str


@dataclass
class ExecutionError:
    """An exception the code raised: its class name, its message and the formatted traceback."""

    name: str
    value: str
    traceback: str = ""


@dataclass
class ExecutionResult:
    """A run's whole output; `error` is set when the code raised; `charts` are the matplotlib figures
    it showed, as `code_run` describes them (type, title, elements, png...)."""

    stdout: str = ""
    stderr: str = ""
    error: ExecutionError | None = None
    charts: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class InterpreterContext:
    """An isolated interpreter context: its own python process, variables and working directory."""

    id: str
    cwd: str
    language: str = "python"
    active: bool = True
    created_at: str = ""

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> InterpreterContext:
        return cls(
            id=str(data["id"]),
            cwd=str(data.get("cwd") or ""),
            language=str(data.get("language") or "python"),
            active=bool(data.get("active", True)),
            created_at=str(data.get("createdAt") or ""),
        )


OutputHandler = Callable[[OutputMessage], None]
ErrorHandler = Callable[[ExecutionError], None]
