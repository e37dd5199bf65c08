"""Python SDK for Daytona-compatible sandbox servers.

    from daytona_sdk import Daytona, DaytonaConfig
    daytona = Daytona(DaytonaConfig(api_key="...", server_url="http://127.0.0.1:3000/api"))
    workspace = daytona.create()
    print(workspace.process.code_run('print("Hello")').result)
    daytona.remove(workspace)

`AsyncDaytona` is the same client for asyncio. `Sandbox*` names are aliases of the `Workspace*` ones.
"""

from ._async.daytona import AsyncDaytona
from ._async.process import AsyncProcess
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
from ._models import (
    CodeLanguage,
    CodeRunParams,
    CreateWorkspaceParams,
    ExecuteResponse,
    InfoResources,
    WorkspaceInfo,
    WorkspaceResources,
    WorkspaceState,
    WorkspaceTargetRegion,
)
from ._sync.daytona import Daytona
from ._sync.process import Process
from ._sync.workspace import Workspace

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
    "AsyncDaytona",
    "AsyncProcess",
    "AsyncSandbox",
    "AsyncWorkspace",
    "CodeLanguage",
    "CodeRunParams",
    "CreateSandboxParams",
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
    "InfoResources",
    "Process",
    "ProcessExecutionError",
    "Sandbox",
    "SandboxInfo",
    "SandboxResources",
    "SandboxState",
    "SandboxTargetRegion",
    "Workspace",
    "WorkspaceInfo",
    "WorkspaceResources",
    "WorkspaceState",
    "WorkspaceTargetRegion",
]
