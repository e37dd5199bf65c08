"""Today's typed toolbox endpoints, under `{toolboxProxyUrl}/{id}/…`, as one table; `toolbox_router` makes the routes.

The agent answers both generations (daytona_agent); rows here document and validate today's paths,
reusing the seed's models where the formats agree. Paths without a row reach the agent by the catch-all.
"""

from __future__ import annotations

from ..schemas import ProjectDirResponse
from ..toolbox import QueryParam, ToolboxRoute
from ..v014 import toolbox_routes as v014

PREFIX = "/toolbox/{workspace_id}"

R = ToolboxRoute
_SEED_SAME = {
    "lsp_start", "lsp_stop", "lsp_did_open", "lsp_did_close", "lsp_completions", "lsp_document_symbols",
    "list_files", "delete_file", "create_folder", "get_file_info", "download_file", "move_file",
    "set_file_permissions", "find_in_files", "search_files", "replace_in_files",
    "git_clone_repository", "git_get_status", "git_list_branches", "git_create_branch", "git_delete_branch",
    "git_checkout_branch", "git_add_files", "git_commit_changes", "git_get_history", "git_push_changes",
    "git_pull_changes", "create_session", "list_sessions", "get_session", "delete_session",
    "execute_session_command", "get_session_command", "send_session_command_input",
    "execute_command", "code_run",
}  # fmt: skip

ROUTES: tuple[ToolboxRoute, ...] = (
    *(route for route in v014.ROUTES if route.name in _SEED_SAME),
    R("GET", "/lsp/workspacesymbols", "lsp_workspace_symbols", "Symbols across the project by name",
      list[v014.LspSymbol], query=(v014.LANGUAGE, v014.PROJECT, QueryParam("query", str, ""))),
    R("GET", "/user-home-dir", "get_user_home_dir", "The sandbox user's home directory", ProjectDirResponse),
    R("GET", "/work-dir", "get_work_dir", "The directory processes start in", ProjectDirResponse),
)  # fmt: skip
