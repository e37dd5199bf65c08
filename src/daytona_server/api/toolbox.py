"""Toolbox proxy: `/api/toolbox/{id}/toolbox/<path>` (the seed's) and `/api/toolbox/{id}/<path>` (today's)
are forwarded to the sandbox's agent's `/<path>`.

The server authenticates, checks ownership and state, records activity, then streams the request
to the agent over the runtime's transport and streams the answer back. A wire format describes its
typed endpoints as a table of `ToolboxRoute`s (v014/ and current/toolbox_routes.py); `toolbox_router` makes them
routes, documented and validated here, and adds the catch-all that forwards every other path.
Calls whose key and sandbox are known from memory skip the routing on the way (api.toolbox_fast).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_from_bytes

import httpx
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect
from starlette.responses import Response, StreamingResponse

from ..errors import BadGateway
from .deps import SESSION_COOKIE, CurrentUser, ServerState, State
from .toolbox_ws import add_websocket_route

PREFIX = "/toolbox/{workspace_id}/toolbox"
ANY_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

# Hop-by-hop headers and the ones the proxy sets itself.
# Credentials for this server (API key, preview token) never reach code in the sandbox.
_SKIP_REQUEST = frozenset(
    {
        b"host",
        b"authorization",
        b"x-daytona-preview-token",
        b"connection",
        b"keep-alive",
        b"transfer-encoding",
        b"content-length",
        b"x-daytona-toolbox-wire",
    }
)
WIRE_HEADER = "x-daytona-toolbox-wire"  # set by the server only: which wire format the caller speaks
WIRE_HEADER_RAW = WIRE_HEADER.encode()
_SKIP_RESPONSE = frozenset({b"connection", b"keep-alive", b"transfer-encoding", b"content-length"})
_SESSION_COOKIE = SESSION_COOKIE.encode()
# Request bodies up to this size are read whole and sent in one write; longer ones stream.
EAGER_REQUEST = 64 * 1024
PATH_PARAM = re.compile(r"\{(\w+)\}")
# Reads that are no sign of use (the dashboard polls them): they never keep a sandbox from auto-stopping.
UNTRACKED = frozenset({("GET", "system/metrics")})


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI for a JSON body the route forwards unread (the agent validates it)."""
    return {"requestBody": {"content": {"application/json": {"schema": model.model_json_schema()}}, "required": True}}


@dataclass(frozen=True)
class QueryParam:
    """A query parameter a toolbox route validates and documents; the agent reads it from the URL."""

    name: str
    type: Any = str | None
    default: Any = None
    alias: str | None = None
    description: str | None = None
    ge: int | None = None
    required: bool = False

    def parameter(self) -> inspect.Parameter:
        """The endpoint parameter FastAPI reads this query parameter from."""
        if self.required:
            query = Query(alias=self.alias, description=self.description, ge=self.ge)
        else:
            query = Query(default=self.default, alias=self.alias, description=self.description, ge=self.ge)
        return inspect.Parameter(self.name, inspect.Parameter.KEYWORD_ONLY, default=query, annotation=self.type)


@dataclass(frozen=True)
class ToolboxRoute:
    """One typed toolbox endpoint: documented and validated here, answered by the agent.

    `path` is under the toolbox prefix, with its `{parameters}`; the agent serves `agent_path`
    (default: the same path) with the parameters filled in. `name` begins the operation id.
    """

    method: str
    path: str
    name: str
    summary: str
    response: Any = None
    body: type[BaseModel] | None = None
    query: tuple[QueryParam, ...] = ()
    status: int = 200
    responses: dict[int | str, dict[str, Any]] | None = None
    openapi_extra: dict[str, Any] | None = None
    response_class: type[Response] | None = None
    agent_path: str | None = None


async def forward_to_agent(
    state: ServerState, user: CurrentUser, workspace_id: str, path: str, request: Request, wire: str = "v014"
) -> Response:
    """Check that `user` may use the started sandbox's toolbox, then relay `request` to its agent's `/<path>`.

    `wire` tells the agent which generation's answer to give where the two differ (daytona_agent.wire).
    """
    track = (request.method, path) not in UNTRACKED
    if not state.sandboxes.toolbox_allowed(user, workspace_id, track):
        await run_in_threadpool(state.sandboxes.for_toolbox, user, workspace_id, track)
    return await relay_to_agent(state, workspace_id, path, request, track=track, wire=wire)


async def relay_to_agent(
    state: ServerState,
    workspace_id: str,
    path: str,
    request: Request,
    track: bool = True,
    raw: bool = False,
    wire: str | None = None,
) -> Response:
    """Send `request` to the agent's `/<path>` and its answer back; `track` counts it as activity.

    Short bodies go whole both ways (one write to the agent, one Content-Length answer); long and
    chunked ones stream. With `raw` (preview links), `path` is still percent-encoded; the query
    string goes on byte for byte in either case.
    """
    link = state.agents.link(workspace_id)
    headers, length, chunked = _agent_headers(request.scope["headers"], wire)
    content: bytes | AsyncIterator[bytes] = b""
    if length is not None:
        headers.append((b"content-length", length))
        if length.isdigit() and int(length) <= EAGER_REQUEST:
            try:
                content = await request.body()
            except ClientDisconnect:
                return Response(status_code=499)
        else:
            content = request.stream()
    elif chunked:  # sent on chunked, as it arrives: the agent decodes chunked bodies
        headers.append((b"transfer-encoding", b"chunked"))
        content = request.stream()
    query = request.scope.get("query_string", b"")
    target = _printable(path.encode("latin-1")) if raw else quote(path, safe="/").encode()
    target = b"/" + target + (b"?" + _printable(query) if query else b"")
    end = state.sandboxes.activity.begin(workspace_id) if track else _nothing
    try:
        reply = await link.exchange(request.method, target, headers, content)
    except ClientDisconnect:  # the caller went away mid-upload: nobody to answer
        end()
        return Response(status_code=499)
    except httpx.TransportError as exc:
        end()
        await state.agents.forget(workspace_id)
        raise BadGateway(
            f"the agent of sandbox {workspace_id} did not answer ({exc.__class__.__name__}); try again"
        ) from None
    except BaseException:
        end()
        raise
    head = request.method == "HEAD"
    answer = [(k, v) for k, v in reply.headers if k not in _SKIP_RESPONSE or (head and k == b"content-length")]
    if reply.body is not None:  # read whole: the agent's part is done
        end()
        return _Relayed(reply.status, answer, reply.body, head)

    async def release() -> None:
        end()
        await reply.aclose()

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in reply.aiter_raw():
                yield chunk
        finally:  # also when the client goes away mid-stream
            await release()

    streamed = StreamingResponse(body(), status_code=reply.status, background=BackgroundTask(release))
    streamed.raw_headers = answer
    return streamed


def _nothing() -> None:
    pass


def _agent_headers(
    fields: Iterable[tuple[bytes, bytes]], wire: str | None
) -> tuple[list[tuple[bytes, bytes]], bytes | None, bool]:
    """The caller's header fields for the agent (see _SKIP_REQUEST), its Content-Length, and whether it is chunked."""
    headers = [(b"host", b"agent")]
    length: bytes | None = None
    chunked = False
    for name, value in fields:
        if name in _SKIP_REQUEST:
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            continue
        if name == b"cookie":  # the sandbox's own cookies pass, the dashboard session does not
            value = b";".join(c for c in value.split(b";") if c.strip().split(b"=", 1)[0] != _SESSION_COOKIE)
            if not value:
                continue
        headers.append((name, value))
    if wire is not None:
        headers.append((WIRE_HEADER_RAW, wire.encode()))
    return headers, length, chunked


def _printable(part: bytes) -> bytes:
    """A path or query string as the caller sent it, with what cannot stand in a request line escaped."""
    if all(0x20 < c < 0x7F for c in part):
        return part
    return quote_from_bytes(part, safe="/?:@!$&'()*+,;=%~-._").encode()


class _Relayed(Response):
    """An answer of the agent read whole, sent on as it came, with its Content-Length."""

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes, head: bool) -> None:
        self.status_code = status
        self.background = None
        self.body = body
        if not head and status >= 200 and status not in (204, 304):
            headers.append((b"content-length", str(len(body)).encode()))
        self.raw_headers = headers


def _endpoint(route: ToolboxRoute, wire: str) -> Callable[..., Awaitable[Response]]:
    """The FastAPI endpoint of `route`: its signature declares the path and query parameters to check."""
    agent_path = (route.agent_path or route.path).lstrip("/")

    async def endpoint(request: Request, user: CurrentUser, state: State, workspace_id: str, **_: Any) -> Response:
        path = agent_path.format(**request.path_params)
        return await forward_to_agent(state, user, workspace_id, path, request, wire)

    keyword = inspect.Parameter.POSITIONAL_OR_KEYWORD
    path_params = ["workspace_id", *PATH_PARAM.findall(route.path)]
    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            *(inspect.Parameter(name, keyword, annotation=str) for name in path_params),
            inspect.Parameter("request", keyword, annotation=Request),
            inspect.Parameter("user", keyword, annotation=CurrentUser),
            inspect.Parameter("state", keyword, annotation=State),
            *(param.parameter() for param in route.query),
        ],
        return_annotation=Response,
    )
    endpoint.__name__ = endpoint.__qualname__ = route.name
    return endpoint


def _forward_any(wire: str) -> Callable[..., Awaitable[Response]]:
    async def forward_any(workspace_id: str, path: str, request: Request, user: CurrentUser, state: State) -> Response:
        # The catch-all: any toolbox path without a typed route goes to the agent unchanged.
        return await forward_to_agent(state, user, workspace_id, path, request, wire)

    return forward_any


def toolbox_router(
    routes: Iterable[ToolboxRoute], prefix: str = PREFIX, operation_prefix: str = "", wire: str = "v014"
) -> APIRouter:
    """The routes of a wire format's toolbox table, in order, then the catch-all for every other path.

    `prefix` holds `{workspace_id}`; `operation_prefix` keeps operation ids apart between wire formats;
    `wire` names the format to the agent.
    """
    forward_any = _forward_any(wire)
    router = APIRouter(prefix=prefix, tags=["toolbox"])
    for route in routes:
        options: dict[str, Any] = {"response_model": route.response, "status_code": route.status}
        if route.body is not None:
            options["openapi_extra"] = json_body(route.body)
        if route.openapi_extra is not None:
            options["openapi_extra"] = route.openapi_extra
        if route.responses is not None:
            options["responses"] = route.responses
        if route.response_class is not None:
            options["response_class"] = route.response_class
        router.add_api_route(
            route.path,
            _endpoint(route, wire),
            methods=[route.method],
            name=operation_prefix + route.name,
            summary=route.summary,
            **options,
        )
    add_websocket_route(router, wire)
    for method in ANY_METHODS:
        router.add_api_route(
            "/{path:path}",
            forward_any,
            methods=[method],
            operation_id=f"{operation_prefix}toolbox_forward_{method.lower()}",
            summary="Any other toolbox endpoint, forwarded to the agent",
        )
    return router
