# Generated from ../_async by scripts/gen_sync_sdk.py: edit the async code, then run `make sdk-sync`.
"""`workspace.process`: run commands and code in a sandbox."""

from __future__ import annotations

from typing import Any

from .._base import execution_result, timeout_seconds
from .._models import CodeLanguage, CodeRunParams, ExecuteResponse
from ._http import SyncHttp

# Extra time the HTTP call waits beyond a command's own timeout before giving up on the server.
HTTP_GRACE_S = 30.0


class Process:
    def __init__(self, http: SyncHttp, workspace_id: str, language: CodeLanguage) -> None:
        self._http = http
        self._workspace_id = workspace_id
        self._language = language
        self._base = f"/toolbox/{workspace_id}/toolbox/process"

    def exec(
        self,
        command: str,
        cwd: str | None = None,
        timeout: float | None = None,
        env: dict[str, str] | None = None,
        check: bool = False,
    ) -> ExecuteResponse:
        """Run `command` through a shell as the sandbox user.

        `timeout` is in seconds (0 or None: no limit); when it passes, the whole process tree is
        killed and ProcessExecutionError is raised. With `check=True` a non-zero exit raises too.
        """
        seconds = timeout_seconds(timeout)
        body: dict[str, Any] = {"command": command, "cwd": cwd, "timeout": seconds, "env": env}
        data = self._http.request(
            "POST",
            f"{self._base}/execute",
            json={k: v for k, v in body.items() if v is not None},
            timeout=seconds + HTTP_GRACE_S if seconds else None,
        )
        return execution_result(data, check, f"command {command!r}")

    execute_command = exec

    def code_run(
        self,
        code: str,
        params: CodeRunParams | None = None,
        timeout: float | None = None,
        input: str | None = None,
        check: bool = False,
    ) -> ExecuteResponse:
        """Run `code` in the sandbox's language (python, javascript or typescript).

        `params` carries argv and env; `input` is fed to the program's stdin.
        """
        seconds = timeout_seconds(timeout)
        body: dict[str, Any] = {
            "code": code,
            "language": self._language.value,
            "argv": params.argv if params else None,
            "env": params.env if params else None,
            "input": input,
            "timeout": seconds,
        }
        data = self._http.request(
            "POST",
            f"{self._base}/code-run",
            json={k: v for k, v in body.items() if v is not None},
            timeout=seconds + HTTP_GRACE_S if seconds else None,
        )
        return execution_result(data, check, f"{self._language.value} code")
