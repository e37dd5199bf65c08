"""Sandbox lifecycle routes, `/api/sandbox…` as `daytona_api_client` 0.226 calls them.

A thin mapper over daytona_server.lifecycle.service, like the seed's api/v014/workspaces.py: a wire
body in becomes a SandboxRequest, a Sandbox row out becomes a SandboxDto. Every operation that
answers a body answers 200 (the generated client reads the body only for the status it expects).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.responses import Response, StreamingResponse

from ...db.models import Sandbox, User
from ...errors import BadRequest, NotFound
from ...lifecycle import forks
from ...lifecycle.requests import SandboxRequest
from ...lifecycle.service import build_log_key
from ..deps import CurrentUser, ServerState, State
from ..preview import preview_token
from ..schemas import MAX_MINUTES, parse_labels
from .schemas import (
    BuildInfo,
    CreateSandbox,
    CreateSandboxSnapshot,
    ForkSandbox,
    ListSandboxesResponse,
    PortPreviewUrl,
    ResizeSandbox,
    SandboxDto,
    SandboxLabels,
    SandboxVolume,
    SignedPortPreviewUrl,
    UpdateNetworkSettings,
    Url,
)

router = APIRouter(prefix="/sandbox", tags=["sandbox"])
Minutes = Annotated[int, Path(ge=-1, le=MAX_MINUTES, description="Minutes; 0 = never (auto-delete: 0 = at stop)")]
Port = Annotated[int, Path(ge=1, le=65535)]
MAX_PAGE = 200
PREVIEW_TTL_MAX_S = 24 * 3600
Setter = Callable[[User, str, Any], Sandbox]  # a SandboxService setter: (user, sandbox id, value)
FROZEN_HEADER = "X-Daytona-Frozen-Ms"  # how long the source was paused for a consistent copy


def toolbox_proxy_url(request: Request) -> str:
    """Where this caller reaches toolboxes: `<api>/toolbox`, as the caller addressed the API."""
    return str(request.base_url).rstrip("/") + "/api/toolbox"


def to_request(body: CreateSandbox) -> SandboxRequest:
    """The service's request for a `POST /sandbox` body; refuses what this server cannot honour."""
    if body.build_info is not None and body.snapshot:
        raise BadRequest("give either snapshot or buildInfo (a declarative image), not both")
    if body.build_info is not None and body.build_info.context_hashes:
        raise BadRequest(
            "images with local files (Image.add_local_file / add_local_dir) need object storage, which this server"
            " does not offer yet: put the files in the image with run_commands, or upload them after create"
        )
    if body.build_info is not None and not body.build_info.dockerfile_content:
        raise BadRequest("buildInfo needs dockerfileContent")
    if body.auto_pause_interval or body.ttl_minutes:
        raise BadRequest(
            "autoPauseInterval and ttlMinutes are not supported by this server: use autoStopInterval"
            " and autoDeleteInterval"
        )
    return SandboxRequest(
        name=body.name,
        image=body.snapshot,
        os_user=body.user,
        env=body.env or {},
        labels=body.labels or {},
        public=bool(body.public),
        sandbox_class=body.var_class,
        target=body.target,
        cpu=body.cpu,
        gpu=body.gpu,
        memory=body.memory,
        disk=body.disk,
        auto_stop_interval=body.auto_stop_interval,
        auto_archive_interval=body.auto_archive_interval,
        auto_delete_interval=body.auto_delete_interval,
        dockerfile=body.build_info.dockerfile_content if body.build_info else None,
        volumes=[v.model_dump(by_alias=True, exclude_none=True) for v in body.volumes or []],
        unique_name=True,
        network_block_all=body.network_block_all,
        network_allow_list=body.network_allow_list,
        domain_allow_list=body.domain_allow_list,
    )


def to_dto(sandbox: Sandbox, proxy_url: str, dockerfile: str | None = None, refused: int | None = None) -> SandboxDto:
    """The wire shape of a row; `refused` (connections refused, our extension) only for a single sandbox's read."""
    created, updated = sandbox.created_at.isoformat(), sandbox.updated_at.isoformat()
    return SandboxDto(
        id=sandbox.id,
        organization_id=sandbox.owner_id,
        name=sandbox.name,
        snapshot=sandbox.image.removesuffix(":latest"),
        user=sandbox.os_user,
        env=sandbox.env,
        labels=sandbox.labels,
        public=sandbox.public,
        network_block_all=sandbox.network_blocked,
        network_allow_list=sandbox.network_allow_list,
        domain_allow_list=sandbox.domain_allow_list,
        network_refused_count=refused,
        kvm=False,
        target=sandbox.target,
        cpu=sandbox.cpu,
        gpu=sandbox.gpu,
        memory=sandbox.memory,
        disk=sandbox.disk,
        state=sandbox.state,
        error_reason=sandbox.error_reason,
        recoverable=sandbox.state == "error" or None,
        auto_stop_interval=sandbox.auto_stop_interval,
        auto_archive_interval=sandbox.auto_archive_interval,
        auto_delete_interval=sandbox.auto_delete_interval,
        volumes=[SandboxVolume.model_validate(v) for v in sandbox.volumes or []],
        build_info=(
            BuildInfo(dockerfile_content=dockerfile, created_at=created, updated_at=updated, snapshot_ref=sandbox.image)
            if dockerfile
            else None
        ),
        created_at=created,
        updated_at=updated,
        last_activity_at=sandbox.last_activity_at.isoformat(),
        sandbox_class=sandbox.sandbox_class,
        toolbox_proxy_url=proxy_url,
        progress=sandbox.progress,
    )


class Mapper:
    """Maps rows for one request: knows the caller's toolbox URL."""

    def __init__(self, request: Request, state: ServerState) -> None:
        self.proxy_url = toolbox_proxy_url(request)

    def __call__(self, sandbox: Sandbox) -> SandboxDto:
        return to_dto(sandbox, self.proxy_url)


def _cursor(raw: str | None) -> int:
    if not raw:
        return 0
    if not raw.isdigit():
        raise BadRequest("cursor must be a nextCursor value from a previous page")
    return int(raw)


async def _resolve(state: ServerState, user: CurrentUser, id_or_name: str) -> Sandbox:
    return await run_in_threadpool(state.sandboxes.get_by_id_or_name, user, id_or_name)


@router.post("", response_model=SandboxDto, response_model_by_alias=True, summary="Create a sandbox")
async def create_sandbox(body: CreateSandbox, request: Request, user: CurrentUser, state: State) -> SandboxDto:
    sandbox = await run_in_threadpool(state.sandboxes.create, user, to_request(body))
    return Mapper(request, state)(sandbox)


@router.get("", response_model=ListSandboxesResponse, response_model_by_alias=True, summary="List sandboxes")
async def list_sandboxes(
    request: Request,
    user: CurrentUser,
    state: State,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    id: str | None = None,
    name: str | None = None,
    labels: Annotated[str | None, Query(description="JSON object of labels that must all match")] = None,
    states: Annotated[list[str] | None, Query()] = None,
) -> ListSandboxesResponse:
    found = await run_in_threadpool(state.sandboxes.list, user, parse_labels(labels), states)
    found = [
        s
        for s in found
        if s.id.lower().startswith((id or "").lower()) and s.name.lower().startswith((name or "").lower())
    ]
    start = _cursor(cursor)
    page = found[start : start + limit]
    more = start + limit < len(found)
    to_dto_ = Mapper(request, state)
    return ListSandboxesResponse(items=[to_dto_(s) for s in page], next_cursor=str(start + limit) if more else None)


@router.get("/{sandbox_id_or_name}", response_model=SandboxDto, response_model_by_alias=True)
async def get_sandbox(sandbox_id_or_name: str, request: Request, user: CurrentUser, state: State) -> SandboxDto:
    sandbox = await _resolve(state, user, sandbox_id_or_name)
    dockerfile = await run_in_threadpool(state.images.dockerfile_of, sandbox.image_ref) if sandbox.image_ref else None
    refused = await run_in_threadpool(state.sandboxes.network_refused, sandbox)
    return to_dto(sandbox, toolbox_proxy_url(request), dockerfile, refused)


@router.delete("/{sandbox_id_or_name}", response_model=SandboxDto, response_model_by_alias=True)
async def delete_sandbox(sandbox_id_or_name: str, request: Request, user: CurrentUser, state: State) -> SandboxDto:
    sandbox = await _resolve(state, user, sandbox_id_or_name)
    gone = await run_in_threadpool(state.sandboxes.delete, user, sandbox.id)
    await state.agents.forget(sandbox.id)
    return Mapper(request, state)(gone)


@router.post(
    "/{sandbox_id_or_name}/start",
    response_model=SandboxDto,
    response_model_by_alias=True,
    summary="Start a stopped sandbox; an archived one is restored in the background",
)
async def start_sandbox(sandbox_id_or_name: str, request: Request, user: CurrentUser, state: State) -> SandboxDto:
    sandbox = await _resolve(state, user, sandbox_id_or_name)
    if sandbox.state != "started":  # starting a started sandbox changes nothing
        await state.agents.forget(sandbox.id)
        sandbox = await run_in_threadpool(state.sandboxes.start, user, sandbox.id)
    return Mapper(request, state)(sandbox)


@router.post(
    "/{sandbox_id_or_name}/recover",
    response_model=SandboxDto,
    response_model_by_alias=True,
    summary="Start a sandbox that is in error again",
)
async def recover_sandbox(sandbox_id_or_name: str, request: Request, user: CurrentUser, state: State) -> SandboxDto:
    sandbox = await _resolve(state, user, sandbox_id_or_name)
    if sandbox.state != "error":
        raise BadRequest(f"sandbox {sandbox.id} is {sandbox.state}: only a sandbox in error can be recovered")
    await state.agents.forget(sandbox.id)
    return Mapper(request, state)(await run_in_threadpool(state.sandboxes.start, user, sandbox.id))


@router.post(
    "/{sandbox_id_or_name}/stop",
    response_model=SandboxDto,
    response_model_by_alias=True,
    summary="Stop a sandbox, keeping its filesystem",
)
async def stop_sandbox(
    sandbox_id_or_name: str, request: Request, user: CurrentUser, state: State, force: bool = False
) -> SandboxDto:
    sandbox = await _resolve(state, user, sandbox_id_or_name)
    if sandbox.state != "stopped":
        sandbox = await run_in_threadpool(state.sandboxes.stop, user, sandbox.id)
        await state.agents.forget(sandbox.id)
    return Mapper(request, state)(sandbox)


@router.post(
    "/{sandbox_id_or_name}/archive",
    response_model=SandboxDto,
    response_model_by_alias=True,
    summary="Move a stopped sandbox's changes to object storage (state archiving, then archived)",
)
async def archive_sandbox(sandbox_id_or_name: str, request: Request, user: CurrentUser, state: State) -> SandboxDto:
    sandbox = await _resolve(state, user, sandbox_id_or_name)
    return Mapper(request, state)(await run_in_threadpool(state.sandboxes.archive, user, sandbox.id))


@router.post(
    "/{sandbox_id_or_name}/network-settings",
    response_model=SandboxDto,
    response_model_by_alias=True,
    summary="Change the sandbox's egress policy; a running sandbox gets it at once, without a restart",
)
async def update_network_settings(
    sandbox_id_or_name: str, body: UpdateNetworkSettings, request: Request, user: CurrentUser, state: State
) -> SandboxDto:
    sandbox = await _resolve(state, user, sandbox_id_or_name)
    sandbox = await run_in_threadpool(
        state.sandboxes.set_network,
        user,
        sandbox.id,
        body.network_block_all,
        body.network_allow_list,
        body.domain_allow_list,
    )
    return Mapper(request, state)(sandbox)


@router.put("/{sandbox_id_or_name}/labels", response_model=SandboxLabels, response_model_by_alias=True)
async def replace_labels(
    sandbox_id_or_name: str, body: SandboxLabels, user: CurrentUser, state: State
) -> SandboxLabels:
    sandbox = await _resolve(state, user, sandbox_id_or_name)
    sandbox = await run_in_threadpool(state.sandboxes.set_labels, user, sandbox.id, body.labels)
    return SandboxLabels(labels=sandbox.labels)


async def _set(
    state: ServerState, request: Request, user: CurrentUser, id_or_name: str, setter: Setter, value: Any
) -> SandboxDto:
    sandbox = await _resolve(state, user, id_or_name)
    return Mapper(request, state)(await run_in_threadpool(setter, user, sandbox.id, value))


@router.post(
    "/{sandbox_id_or_name}/autostop/{interval}",
    response_model=SandboxDto,
    response_model_by_alias=True,
    summary="Set the auto-stop interval (minutes idle, 0 = never)",
)
async def set_autostop_interval(
    sandbox_id_or_name: str, interval: Minutes, request: Request, user: CurrentUser, state: State
) -> SandboxDto:
    if interval < 0:
        raise BadRequest("auto-stop interval must be 0 (never) or a positive number of minutes")
    return await _set(state, request, user, sandbox_id_or_name, state.sandboxes.set_autostop, interval)


@router.post(
    "/{sandbox_id_or_name}/autoarchive/{interval}",
    response_model=SandboxDto,
    response_model_by_alias=True,
    summary="Set the auto-archive interval (minutes stopped, 0 = never)",
)
async def set_auto_archive_interval(
    sandbox_id_or_name: str, interval: Minutes, request: Request, user: CurrentUser, state: State
) -> SandboxDto:
    if interval < 0:
        raise BadRequest("auto-archive interval must be 0 (never) or a positive number of minutes")
    return await _set(state, request, user, sandbox_id_or_name, state.sandboxes.set_autoarchive, interval)


@router.post(
    "/{sandbox_id_or_name}/autodelete/{interval}",
    response_model=SandboxDto,
    response_model_by_alias=True,
    summary="Set the auto-delete interval (minutes stopped; -1 = never, 0 = as soon as it stops)",
)
async def set_auto_delete_interval(
    sandbox_id_or_name: str, interval: Minutes, request: Request, user: CurrentUser, state: State
) -> SandboxDto:
    return await _set(state, request, user, sandbox_id_or_name, state.sandboxes.set_autodelete, interval)


@router.post(
    "/{sandbox_id_or_name}/public/{is_public}",
    response_model=SandboxDto,
    response_model_by_alias=True,
    summary="Make the sandbox's preview links public or private",
)
async def update_public_status(
    sandbox_id_or_name: str, is_public: bool, request: Request, user: CurrentUser, state: State
) -> SandboxDto:
    return await _set(state, request, user, sandbox_id_or_name, state.sandboxes.set_public, is_public)


@router.post(
    "/{sandbox_id_or_name}/resize",
    response_model=SandboxDto,
    response_model_by_alias=True,
    summary="Change CPU and memory of a stopped sandbox",
)
async def resize_sandbox(
    sandbox_id_or_name: str, body: ResizeSandbox, request: Request, user: CurrentUser, state: State
) -> SandboxDto:
    sandbox = await _resolve(state, user, sandbox_id_or_name)
    if body.gpu is not None and body.gpu != sandbox.gpu:
        raise BadRequest("gpu cannot be changed after creation: create a new sandbox with the GPUs you need")
    resized = await run_in_threadpool(state.sandboxes.resize, user, sandbox.id, body.cpu, body.memory, body.disk)
    return Mapper(request, state)(resized)


@router.post(
    "/{sandbox_id_or_name}/fork",
    response_model=SandboxDto,
    response_model_by_alias=True,
    summary="A new started sandbox with a copy of this running sandbox's files, taken while it keeps running",
)
async def fork_sandbox(
    sandbox_id_or_name: str, body: ForkSandbox, request: Request, response: Response, user: CurrentUser, state: State
) -> SandboxDto:
    sandbox = await _resolve(state, user, sandbox_id_or_name)
    copy, timing = await run_in_threadpool(forks.fork, state.sandboxes, user, sandbox.id, body.name)
    response.headers[FROZEN_HEADER] = f"{timing.frozen_s * 1000:.1f}"
    return Mapper(request, state)(copy)


@router.post(
    "/{sandbox_id_or_name}/snapshot",
    response_model=SandboxDto,
    response_model_by_alias=True,
    summary="Save this running sandbox's files as a snapshot of yours (it keeps running)",
)
async def create_sandbox_snapshot(
    sandbox_id_or_name: str,
    body: CreateSandboxSnapshot,
    request: Request,
    response: Response,
    user: CurrentUser,
    state: State,
) -> SandboxDto:
    sandbox = await _resolve(state, user, sandbox_id_or_name)
    if body.include_memory:
        raise BadRequest("includeMemory needs the gvisor runtime class, which this server does not offer yet")
    _, frozen = await run_in_threadpool(forks.snapshot, state.sandboxes, state.snapshots, user, sandbox.id, body.name)
    response.headers[FROZEN_HEADER] = f"{frozen * 1000:.1f}"
    return Mapper(request, state)(await _resolve(state, user, sandbox.id))


@router.get("/{sandbox_id_or_name}/toolbox-proxy-url", response_model=Url, response_model_by_alias=True)
async def get_toolbox_proxy_url(sandbox_id_or_name: str, request: Request, user: CurrentUser, state: State) -> Url:
    await _resolve(state, user, sandbox_id_or_name)
    return Url(url=toolbox_proxy_url(request))


@router.get(
    "/{sandbox_id_or_name}/ports/{port}/preview-url",
    response_model=PortPreviewUrl,
    response_model_by_alias=True,
    summary="URL (and, for private sandboxes, the token) to reach a port of the sandbox",
)
async def get_port_preview_url(sandbox_id_or_name: str, port: Port, user: CurrentUser, state: State) -> PortPreviewUrl:
    sandbox = await _resolve(state, user, sandbox_id_or_name)
    return PortPreviewUrl(
        sandbox_id=sandbox.id,
        url=state.settings.preview_url(port, sandbox.id),
        token=preview_token(state.preview_secret, sandbox.id),
    )


@router.get(
    "/{sandbox_id_or_name}/ports/{port}/signed-preview-url",
    response_model=SignedPortPreviewUrl,
    response_model_by_alias=True,
    summary="A URL that reaches a port without any header, until it expires or is revoked",
)
async def get_signed_port_preview_url(
    sandbox_id_or_name: str,
    port: Port,
    user: CurrentUser,
    state: State,
    expires_in_seconds: Annotated[int, Query(alias="expiresInSeconds", ge=1, le=PREVIEW_TTL_MAX_S)] = 60,
) -> SignedPortPreviewUrl:
    sandbox = await _resolve(state, user, sandbox_id_or_name)
    token = await run_in_threadpool(state.previews.sign, sandbox.id, port, expires_in_seconds)
    return SignedPortPreviewUrl(
        sandbox_id=sandbox.id, port=port, token=token, url=state.settings.preview_url(port, token)
    )


@router.post(
    "/{sandbox_id_or_name}/ports/{port}/signed-preview-url/{token}/expire",
    summary="Revoke a signed preview URL at once",
)
async def expire_signed_port_preview_url(
    sandbox_id_or_name: str, port: Port, token: str, user: CurrentUser, state: State
) -> None:
    sandbox = await _resolve(state, user, sandbox_id_or_name)
    if not await run_in_threadpool(state.previews.revoke, sandbox.id, port, token):
        raise NotFound(f"no signed preview URL {token} for port {port} of sandbox {sandbox.id}")


@router.get("/{sandbox_id_or_name}/build-logs-url", response_model=Url, response_model_by_alias=True)
async def get_build_logs_url(sandbox_id_or_name: str, request: Request, user: CurrentUser, state: State) -> Url:
    sandbox = await _resolve(state, user, sandbox_id_or_name)
    return Url(url=str(request.base_url).rstrip("/") + f"/api/sandbox/{sandbox.id}/build-logs")


@router.get(
    "/{sandbox_id_or_name}/build-logs",
    summary="The build log of a sandbox's declarative image",
    response_class=StreamingResponse,
)
async def get_build_logs(
    sandbox_id_or_name: str, user: CurrentUser, state: State, follow: bool = False
) -> StreamingResponse:
    sandbox = await _resolve(state, user, sandbox_id_or_name)
    missing = f"sandbox {sandbox.id} has no build log: it was not made from a declarative image"
    chunks = state.sandboxes.builder.logs.follow(build_log_key(sandbox.id), follow, missing)
    return StreamingResponse(iterate_in_threadpool(chunks), media_type="text/plain; charset=utf-8")
