"""Typed toolbox routes `files/*` and `git/*`, for the OpenAPI spec: each forwards unchanged to the agent.

The agent does the work (daytona_agent/fs.py, git.py); these routes only document the wire format
of daytona_api_client 0.14.0 (FileInfo, Match, ReplaceRequest, GitStatus, ...) plus the endpoints
the documentation shows beyond it (checkout, delete branch, remotes). Bodies are never read here:
uploads stream through to the agent. Included before the toolbox catch-all so that they match first.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from .deps import CurrentUser, State
from .toolbox import forward, json_body

router = APIRouter(prefix="/toolbox/{workspace_id}/toolbox", tags=["toolbox"])


class _Wire(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow")


class FileInfo(_Wire):
    name: str
    is_dir: bool = Field(alias="isDir")
    size: int
    mod_time: str = Field(alias="modTime", description="ISO 8601, UTC")
    mode: str = Field(description='as `ls -l` shows it, e.g. "-rw-r--r--"')
    permissions: str = Field(description='octal, e.g. "0644"')
    owner: str
    group: str


class Match(_Wire):
    file: str
    line: int
    content: str


class ReplaceRequest(_Wire):
    files: list[str]
    pattern: str = Field(description="plain text, not a regular expression")
    new_value: str = Field(alias="newValue")


class ReplaceResult(_Wire):
    file: str
    success: bool
    error: str | None = None


class SearchFilesResponse(_Wire):
    files: list[str]


class FileStatus(_Wire):
    name: str
    staging: str = Field(description="Unmodified, Untracked, Modified, Added, Deleted, Renamed, Copied, ...")
    worktree: str
    extra: str = Field(description="the original path of a renamed file")


class GitStatus(_Wire):
    current_branch: str = Field(alias="currentBranch", description='"HEAD" when detached')
    file_status: list[FileStatus] = Field(alias="fileStatus")
    file_status_compat: list[FileStatus] = Field(
        alias="FileStatus[]", description="the same list, under the name daytona_api_client 0.14.0 reads"
    )
    ahead: int
    behind: int
    branch_published: bool = Field(alias="branchPublished")


class ListBranchResponse(_Wire):
    branches: list[str]


class GitCommitInfo(_Wire):
    hash: str
    author: str
    email: str
    message: str
    timestamp: str = Field(description="ISO 8601 with the author's offset")


class GitCommitResponse(_Wire):
    hash: str


class GitRemote(_Wire):
    name: str
    url: str = Field(description="credentials in it are masked")


class GitCloneRequest(_Wire):
    url: str
    path: str
    username: str | None = None
    password: str | None = Field(default=None, description="password or token: used for this call only")
    branch: str | None = None
    commit_id: str | None = Field(default=None, description="leave HEAD detached at this commit")


class GitRepoRequest(_Wire):
    path: str
    username: str | None = None
    password: str | None = None
    remote: str | None = Field(default=None, description="default: the branch's upstream remote, else origin")
    branch: str | None = Field(default=None, description="default: the current branch")


class GitAddRequest(_Wire):
    path: str
    files: list[str] = Field(description='paths relative to the repository; ["."] for everything')


class GitCommitRequest(_Wire):
    path: str
    message: str
    author: str
    email: str
    allow_empty: bool | None = None


class GitBranchRequest(_Wire):
    path: str
    name: str


class GitDeleteBranchRequest(GitBranchRequest):
    force: bool | None = Field(default=None, description="also when its commits are merged nowhere")


class GitCheckoutRequest(_Wire):
    path: str
    branch: str = Field(description="a branch (a remote-only one gets a tracking branch) or a commit")


_UPLOAD = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
            },
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
_BINARY = {200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}}

PATH = Query(default=None, description="absolute, or relative to the user's home directory")


# -- files --------------------------------------------------------------------------------------


@router.get("/files", response_model=list[FileInfo], summary="List a directory")
async def list_files(
    workspace_id: str, request: Request, user: CurrentUser, state: State, path: str | None = PATH
) -> Response:
    return await forward(state, user, workspace_id, "files", request)


@router.delete("/files", summary="Delete a file, or a directory with recursive=true")
async def delete_file(
    workspace_id: str,
    request: Request,
    user: CurrentUser,
    state: State,
    path: str | None = PATH,
    recursive: bool | None = Query(default=None),
) -> Response:
    return await forward(state, user, workspace_id, "files", request)


@router.post("/files/folder", summary="Create a directory (and its parents)")
async def create_folder(
    workspace_id: str,
    request: Request,
    user: CurrentUser,
    state: State,
    path: str | None = PATH,
    mode: str | None = Query(default=None, description='octal, default "755"'),
) -> Response:
    return await forward(state, user, workspace_id, "files/folder", request)


@router.get("/files/info", response_model=FileInfo, summary="Metadata of a file or directory")
async def get_file_info(
    workspace_id: str, request: Request, user: CurrentUser, state: State, path: str | None = PATH
) -> Response:
    return await forward(state, user, workspace_id, "files/info", request)


@router.get("/files/download", summary="Download a file (streamed)", responses=_BINARY)  # type: ignore[arg-type]
async def download_file(
    workspace_id: str, request: Request, user: CurrentUser, state: State, path: str | None = PATH
) -> Response:
    return await forward(state, user, workspace_id, "files/download", request)


@router.post(
    "/files/upload",
    summary="Upload a file (streamed; multipart `file` part or a raw body), replacing it atomically",
    openapi_extra=_UPLOAD,
)
async def upload_file(
    workspace_id: str, request: Request, user: CurrentUser, state: State, path: str | None = PATH
) -> Response:
    return await forward(state, user, workspace_id, "files/upload", request)


@router.post("/files/move", summary="Move or rename; never replaces an existing destination")
async def move_file(
    workspace_id: str,
    request: Request,
    user: CurrentUser,
    state: State,
    source: str | None = Query(default=None),
    destination: str | None = Query(default=None),
) -> Response:
    return await forward(state, user, workspace_id, "files/move", request)


@router.post("/files/permissions", summary="Change mode, owner and/or group")
async def set_file_permissions(
    workspace_id: str,
    request: Request,
    user: CurrentUser,
    state: State,
    path: str | None = PATH,
    mode: str | None = Query(default=None),
    owner: str | None = Query(default=None),
    group: str | None = Query(default=None),
) -> Response:
    return await forward(state, user, workspace_id, "files/permissions", request)


@router.get("/files/find", response_model=list[Match], summary="Lines containing a text, recursively")
async def find_in_files(
    workspace_id: str,
    request: Request,
    user: CurrentUser,
    state: State,
    path: str | None = PATH,
    pattern: str | None = Query(default=None),
) -> Response:
    return await forward(state, user, workspace_id, "files/find", request)


@router.get("/files/search", response_model=SearchFilesResponse, summary="Paths whose name matches a glob")
async def search_files(
    workspace_id: str,
    request: Request,
    user: CurrentUser,
    state: State,
    path: str | None = PATH,
    pattern: str | None = Query(default=None),
) -> Response:
    return await forward(state, user, workspace_id, "files/search", request)


@router.post(
    "/files/replace",
    response_model=list[ReplaceResult],
    summary="Replace a text in files",
    openapi_extra=json_body(ReplaceRequest),
)
async def replace_in_files(workspace_id: str, request: Request, user: CurrentUser, state: State) -> Response:
    return await forward(state, user, workspace_id, "files/replace", request)


# -- git ----------------------------------------------------------------------------------------


@router.post("/git/clone", summary="Clone a repository", openapi_extra=json_body(GitCloneRequest))
async def git_clone_repository(workspace_id: str, request: Request, user: CurrentUser, state: State) -> Response:
    return await forward(state, user, workspace_id, "git/clone", request)


@router.get("/git/status", response_model=GitStatus, summary="Branch, ahead/behind and changed files")
async def git_get_status(
    workspace_id: str, request: Request, user: CurrentUser, state: State, path: str | None = PATH
) -> Response:
    return await forward(state, user, workspace_id, "git/status", request)


@router.get("/git/branches", response_model=ListBranchResponse, summary="Local branches")
async def git_list_branches(
    workspace_id: str, request: Request, user: CurrentUser, state: State, path: str | None = PATH
) -> Response:
    return await forward(state, user, workspace_id, "git/branches", request)


@router.post("/git/branches", summary="Create a branch and switch to it", openapi_extra=json_body(GitBranchRequest))
async def git_create_branch(workspace_id: str, request: Request, user: CurrentUser, state: State) -> Response:
    return await forward(state, user, workspace_id, "git/branches", request)


@router.delete("/git/branches", summary="Delete a branch", openapi_extra=json_body(GitDeleteBranchRequest))
async def git_delete_branch(workspace_id: str, request: Request, user: CurrentUser, state: State) -> Response:
    return await forward(state, user, workspace_id, "git/branches", request)


@router.post("/git/checkout", summary="Switch to a branch or a commit", openapi_extra=json_body(GitCheckoutRequest))
async def git_checkout_branch(workspace_id: str, request: Request, user: CurrentUser, state: State) -> Response:
    return await forward(state, user, workspace_id, "git/checkout", request)


@router.post("/git/add", summary="Stage files", openapi_extra=json_body(GitAddRequest))
async def git_add_files(workspace_id: str, request: Request, user: CurrentUser, state: State) -> Response:
    return await forward(state, user, workspace_id, "git/add", request)


@router.post(
    "/git/commit",
    response_model=GitCommitResponse,
    summary="Commit staged changes",
    openapi_extra=json_body(GitCommitRequest),
)
async def git_commit_changes(workspace_id: str, request: Request, user: CurrentUser, state: State) -> Response:
    return await forward(state, user, workspace_id, "git/commit", request)


@router.get("/git/history", response_model=list[GitCommitInfo], summary="Commits from HEAD, newest first")
async def git_get_history(
    workspace_id: str, request: Request, user: CurrentUser, state: State, path: str | None = PATH
) -> Response:
    return await forward(state, user, workspace_id, "git/history", request)


@router.get("/git/remotes", response_model=list[GitRemote], summary="Remotes and their fetch URLs")
async def git_list_remotes(
    workspace_id: str, request: Request, user: CurrentUser, state: State, path: str | None = PATH
) -> Response:
    return await forward(state, user, workspace_id, "git/remotes", request)


@router.post("/git/push", summary="Push a branch (sets its upstream)", openapi_extra=json_body(GitRepoRequest))
async def git_push_changes(workspace_id: str, request: Request, user: CurrentUser, state: State) -> Response:
    return await forward(state, user, workspace_id, "git/push", request)


@router.post("/git/pull", summary="Fetch and merge (never rebase)", openapi_extra=json_body(GitRepoRequest))
async def git_pull_changes(workspace_id: str, request: Request, user: CurrentUser, state: State) -> Response:
    return await forward(state, user, workspace_id, "git/pull", request)
