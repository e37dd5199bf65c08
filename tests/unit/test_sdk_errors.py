"""HTTP answers map to one error tree; transport failures are retried only when safe."""

from __future__ import annotations

import httpx
import pytest

import daytona_sdk
from daytona_sdk import (
    Daytona,
    DaytonaApiError,
    DaytonaConfig,
    DaytonaConflictError,
    DaytonaError,
    DaytonaNotFoundError,
    DaytonaServerError,
)
from daytona_sdk._base import should_retry


def client_answering(handler: httpx.MockTransport) -> Daytona:
    return Daytona(DaytonaConfig(api_key="k", server_url="http://server/api"), transport=handler)


@pytest.mark.parametrize(
    ("status", "cls"), [(404, DaytonaNotFoundError), (409, DaytonaConflictError), (500, DaytonaServerError)]
)
def test_status_maps_to_exception_with_server_message(status: int, cls: type[DaytonaApiError]) -> None:
    transport = httpx.MockTransport(
        lambda request: httpx.Response(status, json={"statusCode": status, "message": "the reason", "error": "x"})
    )
    with client_answering(transport) as daytona, pytest.raises(cls) as caught:
        daytona.get_current_workspace("w")
    assert caught.value.status_code == status
    assert caught.value.message == "the reason"
    assert isinstance(caught.value, DaytonaError)


def test_non_json_error_body_is_kept_as_message() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(502, text="bad gateway from proxy"))
    with client_answering(transport) as daytona, pytest.raises(DaytonaServerError, match="bad gateway from proxy"):
        daytona.get_current_workspace("w")


def test_retries_idempotent_requests_on_503_then_succeeds() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if len(calls) < 3:
            return httpx.Response(503, json={"message": "busy"}, headers={"Retry-After": "0"})
        return httpx.Response(200, json=[])

    with client_answering(httpx.MockTransport(handler)) as daytona:
        assert daytona.list() == []
    assert calls == ["GET", "GET", "GET"]


def test_post_is_not_repeated_after_it_reached_the_server() -> None:
    assert should_retry("POST", 0, None, 503) is False
    assert should_retry("POST", 0, httpx.ReadError("reset"), None) is False
    assert should_retry("POST", 0, httpx.ConnectError("refused"), None) is True
    assert should_retry("GET", 3, httpx.ConnectError("refused"), None) is False


def test_public_names_are_pinned() -> None:
    assert sorted(daytona_sdk.__all__) == sorted(
        [
            "AsyncDaytona", "AsyncProcess", "AsyncSandbox", "AsyncWorkspace", "CodeLanguage", "CodeRunParams",
            "CreateSandboxParams", "CreateWorkspaceParams", "Daytona", "DaytonaApiError",
            "DaytonaAuthenticationError", "DaytonaBadRequestError", "DaytonaConfig", "DaytonaConflictError",
            "DaytonaConnectionError", "DaytonaError", "DaytonaForbiddenError", "DaytonaNotFoundError",
            "DaytonaRateLimitError", "DaytonaServerError", "DaytonaTimeoutError", "ExecuteResponse",
            "InfoResources", "PreviewLink", "Process", "ProcessExecutionError", "Sandbox", "SandboxInfo",
            "SandboxResources", "SandboxState", "SandboxTargetRegion", "Workspace", "WorkspaceInfo",
            "WorkspaceResources", "WorkspaceState", "WorkspaceTargetRegion",
            "AsyncLspServer", "CompletionItem", "CompletionList", "LspLanguageId", "LspLocation", "LspServer",
            "LspServerStatus", "LspSymbol", "Position", "Range",
            "Command", "CommandLogs", "CreateSessionRequest", "LogChunk", "Session", "SessionExecuteRequest",
            "SessionExecuteResponse",
            "AsyncFileSystem", "AsyncGit", "FileInfo", "FileStatus", "FileSystem", "Git", "GitCommitInfo",
            "GitCommitResponse", "GitRemote", "GitStatus", "ListBranchResponse", "Match", "ReplaceResult",
            "SearchFilesResponse",
            "AsyncImages", "Image", "Images",
            "AsyncSnapshots", "AsyncVolumes", "Snapshot", "Snapshots", "Volume", "VolumeMount", "Volumes",
            "NetworkInfo",
            "AsyncPtyHandle", "PtyHandle", "PtyResult", "PtySessionInfo", "PtySize",
            "AsyncCodeInterpreter", "CodeInterpreter", "ExecutionError", "ExecutionResult", "InterpreterContext",
            "OutputMessage",
        ]
    )  # fmt: skip
    for name in daytona_sdk.__all__:
        assert getattr(daytona_sdk, name) is not None
    assert daytona_sdk.Sandbox is daytona_sdk.Workspace
