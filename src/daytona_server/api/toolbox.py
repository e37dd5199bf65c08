"""Toolbox proxy: `/api/toolbox/{id}/toolbox/<path>` is forwarded to the sandbox's agent.

The server authenticates, checks ownership and state, records activity, then streams the request
to the agent over its unix socket and streams the answer back. Typed routes below document the
endpoints in the OpenAPI spec; the catch-all forwards the rest unchanged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect
from starlette.responses import Response, StreamingResponse

from .deps import SESSION_COOKIE, CurrentUser, ServerState, State
from .errors import error_response
from .schemas import CodeRunRequest, ExecuteRequest, ExecuteResponse, ProjectDirResponse

router = APIRouter(prefix="/toolbox/{workspace_id}/toolbox", tags=["toolbox"])

# Hop-by-hop headers and the ones the proxy sets itself.
# Credentials for this server (API key, preview token) never reach code in the sandbox.
_SKIP_REQUEST = {
    "host",
    "authorization",
    "x-daytona-preview-token",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
}
_SKIP_RESPONSE = {"connection", "keep-alive", "transfer-encoding", "content-length"}


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI for a JSON body the route forwards unread (the agent validates it)."""
    return {"requestBody": {"content": {"application/json": {"schema": model.model_json_schema()}}, "required": True}}


async def forward(state: ServerState, user: CurrentUser, workspace_id: str, path: str, request: Request) -> Response:
    await run_in_threadpool(state.sandboxes.for_toolbox, user, workspace_id)
    return await relay(state, workspace_id, path, request)


async def relay(
    state: ServerState, workspace_id: str, path: str, request: Request, track: bool = True, raw: bool = False
) -> Response:
    """Stream `request` to the agent's `/<path>` and its answer back; `track` counts it as activity.

    With `raw`, `path` is still percent-encoded and the query string goes on byte for byte.
    """
    client = state.agents.client(workspace_id)
    headers = {k: v for k, v in request.headers.items() if k.lower() not in _SKIP_REQUEST}
    if "cookie" in headers:  # the sandbox's own cookies pass, the dashboard session does not
        kept = [c for c in headers["cookie"].split(";") if c.strip().split("=", 1)[0] != SESSION_COOKIE]
        if kept:
            headers["cookie"] = ";".join(kept)
        else:
            del headers["cookie"]
    length = request.headers.get("content-length")
    if length is not None:
        headers["content-length"] = length
        content = request.stream()
    elif "chunked" in request.headers.get("transfer-encoding", "").lower():
        content = request.stream()  # sent on chunked, as it arrives: the agent decodes chunked bodies
    else:
        content = b""  # type: ignore[assignment]
    if raw:
        query = request.scope.get("query_string", b"").decode("latin-1")
        upstream = client.build_request(
            request.method, "/" + path + (f"?{query}" if query else ""), headers=headers, content=content
        )
    else:  # `path` was built from decoded values: encode it again
        upstream = client.build_request(
            request.method, "/" + quote(path, safe="/"), params=request.query_params, headers=headers, content=content
        )
    end = state.sandboxes.activity.begin(workspace_id) if track else (lambda: None)

    async def release() -> None:
        end()
        await response.aclose()

    try:
        response = await client.send(upstream, stream=True)
    except ClientDisconnect:  # the caller went away mid-upload: nobody to answer
        end()
        return Response(status_code=499)
    except httpx.TransportError as exc:
        end()
        await state.agents.forget(workspace_id)
        return error_response(
            502, f"the agent of sandbox {workspace_id} did not answer ({exc.__class__.__name__}); try again"
        )

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in response.aiter_raw():
                yield chunk
        finally:  # also when the client goes away mid-stream
            await release()

    return StreamingResponse(
        body(),
        status_code=response.status_code,
        headers={
            k: v
            for k, v in response.headers.items()
            if k.lower() not in _SKIP_RESPONSE or (request.method == "HEAD" and k.lower() == "content-length")
        },
        background=BackgroundTask(release),
    )


@router.get("/project-dir", response_model=ProjectDirResponse, summary="The sandbox user's home directory")
async def get_project_dir(workspace_id: str, request: Request, user: CurrentUser, state: State) -> Response:
    return await forward(state, user, workspace_id, "project-dir", request)


@router.post(
    "/process/execute",
    response_model=ExecuteResponse,
    summary="Run a shell command as the sandbox user",
    openapi_extra=json_body(ExecuteRequest),
)
async def execute_command(workspace_id: str, request: Request, user: CurrentUser, state: State) -> Response:
    return await forward(state, user, workspace_id, "process/execute", request)


@router.post(
    "/process/code-run",
    response_model=ExecuteResponse,
    summary="Run python, javascript or typescript code",
    openapi_extra=json_body(CodeRunRequest),
)
async def code_run(workspace_id: str, request: Request, user: CurrentUser, state: State) -> Response:
    return await forward(state, user, workspace_id, "process/code-run", request)


async def proxy(workspace_id: str, path: str, request: Request, user: CurrentUser, state: State) -> Response:
    return await forward(state, user, workspace_id, path, request)


for _method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
    router.add_api_route(
        "/{path:path}",
        proxy,
        methods=[_method],
        operation_id=f"toolbox_forward_{_method.lower()}",
        summary="Any other toolbox endpoint, forwarded to the agent",
    )
