"""The toolbox's wire models of daytona_api_client 0.14.0, for the OpenAPI spec: the agent validates bodies.

Files and git (daytona_agent/fs.py, git.py), language servers (lsp.py) and sessions (sessions.py),
plus what the documentation shows beyond 0.14.0 (checkout, remotes, input, follow, activity).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Wire(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow")


# -- files and git ------------------------------------------------------------------------------


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


# -- language servers --------------------------------------------------------------------------


class LspServerRequest(_Wire):
    language_id: str = Field(alias="languageId", description="python, typescript or javascript")
    path_to_project: str = Field(alias="pathToProject", description="Project directory (relative: from the home)")


class LspDocumentRequest(LspServerRequest):
    uri: str = Field(description="file:///abs/path, or file://rel/path relative to the project")


class Position(_Wire):
    line: int = Field(ge=0)
    character: int = Field(ge=0)


class CompletionContext(_Wire):
    trigger_kind: int = Field(alias="triggerKind", description="1 invoked, 2 trigger character, 3 incomplete")
    trigger_character: str | None = Field(default=None, alias="triggerCharacter")


class LspCompletionParams(LspDocumentRequest):
    position: Position
    context: CompletionContext | None = None


class CompletionItem(_Wire):
    label: str
    kind: int | None = None
    detail: str | None = None
    documentation: dict[str, Any] | None = Field(default=None, description="MarkupContent: {kind, value}")
    sort_text: str | None = Field(default=None, alias="sortText")
    filter_text: str | None = Field(default=None, alias="filterText")
    insert_text: str | None = Field(default=None, alias="insertText")


class CompletionList(_Wire):
    is_incomplete: bool = Field(alias="isIncomplete")
    items: list[CompletionItem]


class Range(_Wire):
    start: Position
    end: Position


class LspLocation(_Wire):
    uri: str
    range: Range


class LspSymbol(_Wire):
    name: str
    kind: int = Field(description="LSP SymbolKind: 5 class, 6 method, 12 function, 13 variable, ...")
    location: LspLocation


class LspServerStatus(_Wire):
    language_id: str = Field(alias="languageId")
    path_to_project: str = Field(alias="pathToProject")
    state: str = Field(description="starting, running, stopped or crashed")
    pid: int | None = None
    exit_code: int | None = Field(default=None, alias="exitCode")
    error: str | None = None


# -- sessions ------------------------------------------------------------------------------------


class CreateSessionRequest(_Wire):
    session_id: str = Field(alias="sessionId", description="Letters, digits and . _ ~ : @ + = , - (at most 256)")


class Command(_Wire):
    id: str
    command: str
    exit_code: int | None = Field(default=None, alias="exitCode", description="null while the command runs")
    run_async: bool | None = Field(default=None, alias="async")
    started_at: str | None = Field(default=None, alias="startedAt")
    ended_at: str | None = Field(default=None, alias="endedAt")
    timed_out: bool | None = Field(default=None, alias="timedOut")
    log_size: int | None = Field(default=None, alias="logSize", description="Bytes in the command's log")
    truncated: bool | None = Field(default=None, description="The log reached its cap; the rest was dropped")


class Session(_Wire):
    session_id: str = Field(alias="sessionId")
    commands: list[Command] | None
    created_at: str | None = Field(default=None, alias="createdAt")


class SessionExecuteRequest(_Wire):
    command: str
    var_async: bool | None = Field(default=None, alias="async", description="Return at once with the command id")
    run_async: bool | None = Field(default=None, alias="runAsync", description="The same as `async`")
    timeout: float | None = Field(default=None, ge=0, description="Seconds; then the command's processes are killed")


class SessionExecuteResponse(_Wire):
    cmd_id: str | None = Field(default=None, alias="cmdId")
    output: str | None = Field(default=None, description="stdout and stderr interleaved (sync commands)")
    exit_code: int | None = Field(default=None, alias="exitCode")
    stdout: str | None = None
    stderr: str | None = None
    timed_out: bool | None = Field(default=None, alias="timedOut")


class SessionSendInputRequest(_Wire):
    data: str = Field(description="Text written to the command's stdin (at most 1 MiB)")
    eof: bool | None = Field(default=None, description="Then close the command's stdin")


class Activity(_Wire):
    busy: bool = Field(description="Whether session commands are running")
    running_commands: int = Field(alias="runningCommands")
    last_activity: float = Field(alias="lastActivity", description="Unix time of the last session activity")
