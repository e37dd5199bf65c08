"""Python SDK for Daytona-compatible sandbox servers.

    from daytona_sdk import Daytona, DaytonaConfig
    daytona = Daytona(DaytonaConfig(api_key="...", server_url="http://127.0.0.1:3000/api"))
    workspace = daytona.create()
    print(workspace.process.code_run('print("Hello")').result)
    daytona.remove(workspace)

`AsyncDaytona` is the same client for asyncio. `Sandbox*` names are aliases of the `Workspace*` ones.
"""

from ._async.daytona import AsyncDaytona
from ._async.filesystem import AsyncFileSystem
from ._async.git import AsyncGit
from ._async.images import AsyncImages
from ._async.interpreter import AsyncCodeInterpreter
from ._async.lsp_server import AsyncLspServer
from ._async.process import AsyncProcess
from ._async.pty import AsyncPtyHandle
from ._async.snapshots import AsyncSnapshots
from ._async.volumes import AsyncVolumes
from ._async.workspace import AsyncWorkspace
from ._config import DaytonaConfig
from ._errors import (
    DaytonaApiError,
    DaytonaAuthenticationError,
    DaytonaBadRequestError,
    DaytonaConflictError,
    DaytonaConnectionError,
    DaytonaError,
    DaytonaForbiddenError,
    DaytonaNotFoundError,
    DaytonaRateLimitError,
    DaytonaServerError,
    DaytonaTimeoutError,
    ProcessExecutionError,
)
from ._fs_git_models import (
    FileInfo,
    FileStatus,
    GitCommitInfo,
    GitCommitResponse,
    GitRemote,
    GitStatus,
    ListBranchResponse,
    Match,
    ReplaceResult,
    SearchFilesResponse,
)
from ._image_models import Image
from ._interpreter_models import ExecutionError, ExecutionResult, InterpreterContext, OutputMessage
from ._lsp_models import (
    CompletionItem,
    CompletionList,
    LspLanguageId,
    LspLocation,
    LspServerStatus,
    LspSymbol,
    Position,
    Range,
)
from ._models import (
    CodeLanguage,
    CodeRunParams,
    CreateWorkspaceParams,
    ExecuteResponse,
    InfoResources,
    NetworkInfo,
    PreviewLink,
    WorkspaceInfo,
    WorkspaceResources,
    WorkspaceState,
    WorkspaceTargetRegion,
)
from ._process_models import (
    Command,
    CommandLogs,
    CreateSessionRequest,
    LogChunk,
    Session,
    SessionExecuteRequest,
    SessionExecuteResponse,
)
from ._pty_models import PtyResult, PtySessionInfo, PtySize
from ._sync.daytona import Daytona
from ._sync.filesystem import FileSystem
from ._sync.git import Git
from ._sync.images import Images
from ._sync.interpreter import CodeInterpreter
from ._sync.lsp_server import LspServer
from ._sync.process import Process
from ._sync.pty import PtyHandle
from ._sync.snapshots import Snapshots
from ._sync.volumes import Volumes
from ._sync.workspace import Workspace
from ._template_models import Snapshot, Volume, VolumeMount

__version__ = "0.1.0"

# The documentation's newer names.
Sandbox = Workspace
AsyncSandbox = AsyncWorkspace
CreateSandboxParams = CreateWorkspaceParams
SandboxResources = WorkspaceResources
SandboxInfo = WorkspaceInfo
SandboxState = WorkspaceState
SandboxTargetRegion = WorkspaceTargetRegion

__all__ = [
    "AsyncCodeInterpreter",
    "AsyncDaytona",
    "AsyncFileSystem",
    "AsyncGit",
    "AsyncImages",
    "AsyncLspServer",
    "AsyncProcess",
    "AsyncPtyHandle",
    "AsyncSandbox",
    "AsyncSnapshots",
    "AsyncVolumes",
    "AsyncWorkspace",
    "CodeInterpreter",
    "CodeLanguage",
    "CodeRunParams",
    "Command",
    "CommandLogs",
    "CompletionItem",
    "CompletionList",
    "CreateSandboxParams",
    "CreateSessionRequest",
    "CreateWorkspaceParams",
    "Daytona",
    "DaytonaApiError",
    "DaytonaAuthenticationError",
    "DaytonaBadRequestError",
    "DaytonaConfig",
    "DaytonaConflictError",
    "DaytonaConnectionError",
    "DaytonaError",
    "DaytonaForbiddenError",
    "DaytonaNotFoundError",
    "DaytonaRateLimitError",
    "DaytonaServerError",
    "DaytonaTimeoutError",
    "ExecuteResponse",
    "ExecutionError",
    "ExecutionResult",
    "FileInfo",
    "FileStatus",
    "FileSystem",
    "Git",
    "GitCommitInfo",
    "GitCommitResponse",
    "GitRemote",
    "GitStatus",
    "Image",
    "Images",
    "InfoResources",
    "InterpreterContext",
    "ListBranchResponse",
    "LogChunk",
    "LspLanguageId",
    "LspLocation",
    "LspServer",
    "LspServerStatus",
    "LspSymbol",
    "Match",
    "NetworkInfo",
    "OutputMessage",
    "Position",
    "PreviewLink",
    "Process",
    "ProcessExecutionError",
    "PtyHandle",
    "PtyResult",
    "PtySessionInfo",
    "PtySize",
    "Range",
    "ReplaceResult",
    "Sandbox",
    "SandboxInfo",
    "SandboxResources",
    "SandboxState",
    "SandboxTargetRegion",
    "SearchFilesResponse",
    "Session",
    "SessionExecuteRequest",
    "SessionExecuteResponse",
    "Snapshot",
    "Snapshots",
    "Volume",
    "VolumeMount",
    "Volumes",
    "Workspace",
    "WorkspaceInfo",
    "WorkspaceResources",
    "WorkspaceState",
    "WorkspaceTargetRegion",
]
