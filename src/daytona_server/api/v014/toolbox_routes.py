"""The typed toolbox endpoints of daytona_api_client 0.14.0, as one table; `toolbox_router` makes the routes.

The agent does the work (daytona_agent: fs.py, git.py, lsp.py, sessions.py); these rows only document
and validate the wire format, plus what the documentation shows beyond it. Bodies are never read
here: uploads stream through to the agent. Paths without a row reach the agent by the catch-all.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ..schemas import CodeRunRequest, ExecuteRequest, ExecuteResponse, ProjectDirResponse
from ..toolbox import QueryParam, ToolboxRoute
from .toolbox_models import (
    Activity,
    Command,
    CompletionList,
    CreateSessionRequest,
    FileInfo,
    GitAddRequest,
    GitBranchRequest,
    GitCheckoutRequest,
    GitCloneRequest,
    GitCommitInfo,
    GitCommitRequest,
    GitCommitResponse,
    GitDeleteBranchRequest,
    GitRemote,
    GitRepoRequest,
    GitStatus,
    ListBranchResponse,
    LspCompletionParams,
    LspDocumentRequest,
    LspServerRequest,
    LspServerStatus,
    LspSymbol,
    Match,
    ReplaceRequest,
    ReplaceResult,
    SearchFilesResponse,
    Session,
    SessionExecuteRequest,
    SessionExecuteResponse,
    SessionSendInputRequest,
)

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
_BINARY: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}
}
_LOGS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "text/plain (next offset in X-Daytona-Log-Offset) or, with format=ndjson, lines"
        ' {"type": "stdout"|"stderr", "data", "offset"}, {"type": "ping"} and a last {"type": "end", ...}',
        "content": {"text/plain": {"schema": {"type": "string"}}, "application/x-ndjson": {}},
    }
}

PATH = QueryParam("path", description="absolute, or relative to the user's home directory")
PATTERN = QueryParam("pattern")
LANGUAGE = QueryParam("language_id", str, alias="languageId", required=True)
PROJECT = QueryParam("path_to_project", str, alias="pathToProject", required=True)
_SESSION = "/process/session/{session_id}"
_COMMAND = _SESSION + "/command/{command_id}"

R = ToolboxRoute
ROUTES: tuple[ToolboxRoute, ...] = (
    # -- language servers ---------------------------------------------------------------------------
    R("POST", "/lsp/start", "lsp_start", "Start a language server", LspServerStatus, LspServerRequest),
    R("POST", "/lsp/stop", "lsp_stop", "Stop a language server", LspServerStatus, LspServerRequest),
    R("POST", "/lsp/did-open", "lsp_did_open", "Open a file (read from disk) in a language server",
      body=LspDocumentRequest),
    R("POST", "/lsp/did-close", "lsp_did_close", "Close a file in a language server", body=LspDocumentRequest),
    R("POST", "/lsp/completions", "lsp_completions", "Completions at a position", CompletionList,
      LspCompletionParams),
    R("GET", "/lsp/document-symbols", "lsp_document_symbols", "Symbols defined in a file", list[LspSymbol],
      query=(LANGUAGE, PROJECT, QueryParam("uri", str, required=True))),
    R("GET", "/lsp/workspace-symbols", "lsp_workspace_symbols", "Symbols across the project by name",
      list[LspSymbol], query=(LANGUAGE, PROJECT, QueryParam(
          "query", str, "", description="Part of the symbol name; empty: all symbols"))),
    R("GET", "/lsp/servers", "lsp_servers", "The sandbox's language servers and their state",
      list[LspServerStatus], query=(QueryParam("language_id", alias="languageId"),
                                    QueryParam("path_to_project", alias="pathToProject"))),
    # -- files --------------------------------------------------------------------------------------
    R("GET", "/files", "list_files", "List a directory", list[FileInfo], query=(PATH,)),
    R("DELETE", "/files", "delete_file", "Delete a file, or a directory with recursive=true",
      query=(PATH, QueryParam("recursive", bool | None))),
    R("POST", "/files/folder", "create_folder", "Create a directory (and its parents)",
      query=(PATH, QueryParam("mode", description='octal, default "755"'))),
    R("GET", "/files/info", "get_file_info", "Metadata of a file or directory", FileInfo, query=(PATH,)),
    R("GET", "/files/download", "download_file", "Download a file (streamed)", query=(PATH,), responses=_BINARY),
    R("POST", "/files/upload", "upload_file",
      "Upload a file (streamed; multipart `file` part or a raw body), replacing it atomically",
      query=(PATH,), openapi_extra=_UPLOAD),
    R("POST", "/files/move", "move_file", "Move or rename; never replaces an existing destination",
      query=(QueryParam("source"), QueryParam("destination"))),
    R("POST", "/files/permissions", "set_file_permissions", "Change mode, owner and/or group",
      query=(PATH, QueryParam("mode"), QueryParam("owner"), QueryParam("group"))),
    R("GET", "/files/find", "find_in_files", "Lines containing a text, recursively", list[Match],
      query=(PATH, PATTERN)),
    R("GET", "/files/search", "search_files", "Paths whose name matches a glob", SearchFilesResponse,
      query=(PATH, PATTERN)),
    R("POST", "/files/replace", "replace_in_files", "Replace a text in files", list[ReplaceResult], ReplaceRequest),
    # -- git ----------------------------------------------------------------------------------------
    R("POST", "/git/clone", "git_clone_repository", "Clone a repository", body=GitCloneRequest),
    R("GET", "/git/status", "git_get_status", "Branch, ahead/behind and changed files", GitStatus, query=(PATH,)),
    R("GET", "/git/branches", "git_list_branches", "Local branches", ListBranchResponse, query=(PATH,)),
    R("POST", "/git/branches", "git_create_branch", "Create a branch and switch to it", body=GitBranchRequest),
    R("DELETE", "/git/branches", "git_delete_branch", "Delete a branch", body=GitDeleteBranchRequest),
    R("POST", "/git/checkout", "git_checkout_branch", "Switch to a branch or a commit", body=GitCheckoutRequest),
    R("POST", "/git/add", "git_add_files", "Stage files", body=GitAddRequest),
    R("POST", "/git/commit", "git_commit_changes", "Commit staged changes", GitCommitResponse, GitCommitRequest),
    R("GET", "/git/history", "git_get_history", "Commits from HEAD, newest first", list[GitCommitInfo],
      query=(PATH,)),
    R("GET", "/git/remotes", "git_list_remotes", "Remotes and their fetch URLs", list[GitRemote], query=(PATH,)),
    R("POST", "/git/push", "git_push_changes", "Push a branch (sets its upstream)", body=GitRepoRequest),
    R("POST", "/git/pull", "git_pull_changes", "Fetch and merge (never rebase)", body=GitRepoRequest),
    # -- sessions -----------------------------------------------------------------------------------
    R("POST", "/process/session", "create_session", "Create a session: a shell that keeps its state between commands",
      Session, CreateSessionRequest),
    R("GET", "/process/session", "list_sessions", "List sessions", list[Session]),
    R("GET", _SESSION, "get_session", "A session and its commands", Session),
    R("DELETE", _SESSION, "delete_session", "Delete a session, killing what runs in it"),
    R("POST", _SESSION + "/exec", "execute_session_command", "Run a command in a session (async: return at once)",
      SessionExecuteResponse, SessionExecuteRequest),
    R("GET", _COMMAND, "get_session_command", "A command of a session", Command),
    R("GET", _COMMAND + "/logs", "get_session_command_logs",
      "A command's output: whole, from an offset, or followed until the command ends",
      query=(QueryParam("offset", int | None, ge=0, description="Byte offset in the log to start from"),
             QueryParam("follow", bool | None, description="Stream until the command has ended"),
             QueryParam("format", description="text (default) or ndjson")),
      responses=_LOGS, response_class=Response),
    R("POST", _COMMAND + "/input", "send_session_command_input", "Write to the stdin of a running command",
      body=SessionSendInputRequest),
    R("GET", "/activity", "get_activity", "Whether session commands are running (idle detection)", Activity),
    # -- project and processes ----------------------------------------------------------------------
    R("GET", "/project-dir", "get_project_dir", "The sandbox user's home directory", ProjectDirResponse),
    R("POST", "/process/execute", "execute_command", "Run a shell command as the sandbox user", ExecuteResponse,
      ExecuteRequest),
    R("POST", "/process/code-run", "code_run", "Run python, javascript or typescript code", ExecuteResponse,
      CodeRunRequest),
)  # fmt: skip
