"""Typed toolbox routes `lsp/*`, for the OpenAPI spec: each forwards unchanged to the sandbox's agent.

The agent runs the language servers (daytona_agent/lsp.py); these routes only document the wire
format of daytona_api_client 0.14.0 (LspServerRequest, LspDocumentRequest, LspCompletionParams,
CompletionList, LspSymbol). Included before the toolbox catch-all so that they match first.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from .deps import CurrentUser, State
from .toolbox import forward, json_body

router = APIRouter(prefix="/toolbox/{workspace_id}/toolbox/lsp", tags=["toolbox"])


class _Wire(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow")


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


@router.post(
    "/start",
    response_model=LspServerStatus,
    summary="Start a language server",
    openapi_extra=json_body(LspServerRequest),
)
async def lsp_start(workspace_id: str, request: Request, user: CurrentUser, state: State) -> Response:
    return await forward(state, user, workspace_id, "lsp/start", request)


@router.post(
    "/stop", response_model=LspServerStatus, summary="Stop a language server", openapi_extra=json_body(LspServerRequest)
)
async def lsp_stop(workspace_id: str, request: Request, user: CurrentUser, state: State) -> Response:
    return await forward(state, user, workspace_id, "lsp/stop", request)


@router.post(
    "/did-open",
    summary="Open a file (read from disk) in a language server",
    openapi_extra=json_body(LspDocumentRequest),
)
async def lsp_did_open(workspace_id: str, request: Request, user: CurrentUser, state: State) -> Response:
    return await forward(state, user, workspace_id, "lsp/did-open", request)


@router.post("/did-close", summary="Close a file in a language server", openapi_extra=json_body(LspDocumentRequest))
async def lsp_did_close(workspace_id: str, request: Request, user: CurrentUser, state: State) -> Response:
    return await forward(state, user, workspace_id, "lsp/did-close", request)


@router.post(
    "/completions",
    response_model=CompletionList,
    summary="Completions at a position",
    openapi_extra=json_body(LspCompletionParams),
)
async def lsp_completions(workspace_id: str, request: Request, user: CurrentUser, state: State) -> Response:
    return await forward(state, user, workspace_id, "lsp/completions", request)


@router.get("/document-symbols", response_model=list[LspSymbol], summary="Symbols defined in a file")
async def lsp_document_symbols(
    workspace_id: str,
    request: Request,
    user: CurrentUser,
    state: State,
    language_id: str = Query(alias="languageId"),
    path_to_project: str = Query(alias="pathToProject"),
    uri: str = Query(),
) -> Response:
    return await forward(state, user, workspace_id, "lsp/document-symbols", request)


@router.get("/workspace-symbols", response_model=list[LspSymbol], summary="Symbols across the project by name")
async def lsp_workspace_symbols(
    workspace_id: str,
    request: Request,
    user: CurrentUser,
    state: State,
    language_id: str = Query(alias="languageId"),
    path_to_project: str = Query(alias="pathToProject"),
    query: str = Query(default="", description="Part of the symbol name; empty: all symbols"),
) -> Response:
    return await forward(state, user, workspace_id, "lsp/workspace-symbols", request)


@router.get("/servers", response_model=list[LspServerStatus], summary="The sandbox's language servers and their state")
async def lsp_servers(
    workspace_id: str,
    request: Request,
    user: CurrentUser,
    state: State,
    language_id: str | None = Query(default=None, alias="languageId"),
    path_to_project: str | None = Query(default=None, alias="pathToProject"),
) -> Response:
    return await forward(state, user, workspace_id, "lsp/servers", request)
