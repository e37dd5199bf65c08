"""Typed toolbox routes `process/session/*` and `activity`, for the OpenAPI spec; each forwards unchanged.

The agent runs the sessions (daytona_agent/sessions.py); these routes only document the wire format
of daytona_api_client 0.14.0 (CreateSessionRequest, Session, Command, SessionExecuteRequest,
SessionExecuteResponse) and our additions (input, follow, offsets, activity). Included before the
toolbox catch-all so that they match first.
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


@router.post(
    "/process/session",
    response_model=Session,
    summary="Create a session: a shell that keeps its state between commands",
    openapi_extra=json_body(CreateSessionRequest),
)
async def create_session(workspace_id: str, request: Request, user: CurrentUser, state: State) -> Response:
    return await forward(state, user, workspace_id, "process/session", request)


@router.get("/process/session", response_model=list[Session], summary="List sessions")
async def list_sessions(workspace_id: str, request: Request, user: CurrentUser, state: State) -> Response:
    return await forward(state, user, workspace_id, "process/session", request)


@router.get("/process/session/{session_id}", response_model=Session, summary="A session and its commands")
async def get_session(
    workspace_id: str, session_id: str, request: Request, user: CurrentUser, state: State
) -> Response:
    return await forward(state, user, workspace_id, f"process/session/{session_id}", request)


@router.delete("/process/session/{session_id}", summary="Delete a session, killing what runs in it")
async def delete_session(
    workspace_id: str, session_id: str, request: Request, user: CurrentUser, state: State
) -> Response:
    return await forward(state, user, workspace_id, f"process/session/{session_id}", request)


@router.post(
    "/process/session/{session_id}/exec",
    response_model=SessionExecuteResponse,
    summary="Run a command in a session (async: return at once)",
    openapi_extra=json_body(SessionExecuteRequest),
)
async def execute_session_command(
    workspace_id: str, session_id: str, request: Request, user: CurrentUser, state: State
) -> Response:
    return await forward(state, user, workspace_id, f"process/session/{session_id}/exec", request)


@router.get(
    "/process/session/{session_id}/command/{command_id}", response_model=Command, summary="A command of a session"
)
async def get_session_command(
    workspace_id: str, session_id: str, command_id: str, request: Request, user: CurrentUser, state: State
) -> Response:
    return await forward(state, user, workspace_id, f"process/session/{session_id}/command/{command_id}", request)


@router.get(
    "/process/session/{session_id}/command/{command_id}/logs",
    summary="A command's output: whole, from an offset, or followed until the command ends",
    response_class=Response,
    responses={
        200: {
            "description": "text/plain (next offset in X-Daytona-Log-Offset) or, with format=ndjson, lines"
            ' {"type": "stdout"|"stderr", "data", "offset"}, {"type": "ping"} and a last {"type": "end", ...}',
            "content": {"text/plain": {"schema": {"type": "string"}}, "application/x-ndjson": {}},
        }
    },
)
async def get_session_command_logs(
    workspace_id: str,
    session_id: str,
    command_id: str,
    request: Request,
    user: CurrentUser,
    state: State,
    offset: int | None = Query(default=None, ge=0, description="Byte offset in the log to start from"),
    follow: bool | None = Query(default=None, description="Stream until the command has ended"),
    format: str | None = Query(default=None, description="text (default) or ndjson"),
) -> Response:
    path = f"process/session/{session_id}/command/{command_id}/logs"
    return await forward(state, user, workspace_id, path, request)


@router.post(
    "/process/session/{session_id}/command/{command_id}/input",
    summary="Write to the stdin of a running command",
    openapi_extra=json_body(SessionSendInputRequest),
)
async def send_session_command_input(
    workspace_id: str, session_id: str, command_id: str, request: Request, user: CurrentUser, state: State
) -> Response:
    path = f"process/session/{session_id}/command/{command_id}/input"
    return await forward(state, user, workspace_id, path, request)


@router.get("/activity", response_model=Activity, summary="Whether session commands are running (idle detection)")
async def get_activity(workspace_id: str, request: Request, user: CurrentUser, state: State) -> Response:
    return await forward(state, user, workspace_id, "activity", request)
